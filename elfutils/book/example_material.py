"""The example material of the training and latent-space chapters (2dm-1, IrF2): its image as a profile
renders it, and where it came from. Book machinery: it reads the profile's cached image stack."""

from __future__ import annotations

import numpy as np

from elfutils.constants import LATENT_WALK_MATERIAL
from elfutils.nn.latent import path_ticks


def example_image(profile, material_id: str = LATENT_WALK_MATERIAL) -> tuple[np.ndarray, dict]:
    """The image of ``material_id`` (default 2dm-1, IrF2) as the profile renders it, and where it came from.

    Taken from the profile's image stack when the material is in its dataset (then it is one of the images the
    model was trained or validated on); otherwise the material's band structure is rendered with the profile's
    settings from the store or, failing that, from the real 2Dmatpedia band file shipped in ``data/``.

    Returns:
        (uint8 (S, S) image, info) with info keys material_id, formula, source (file or store description),
        in_dataset (bool), split ("in the training set", "in the validation set" or "not in the dataset"),
        ticks (:func:`path_ticks`).

    Raises:
        KeyError: the material is in none of these places.
    """
    from elfutils.book import pipeline
    from elfutils.book.profiles import get_profile
    from elfutils.data.dataset import real_band_files
    from elfutils.data.readers import read_band_file
    from elfutils.images.render import render_band_image
    from elfutils.nn.training import split_indices

    p = get_profile(profile)
    stack, ids, formulas = pipeline.images(p)
    records = {r.material_id: r for r in pipeline.load_dataset(p)}
    if material_id in ids:
        i = ids.index(material_id)
        _, val = split_indices(len(ids), p.elf_config())
        split = "in the validation set" if i in set(val.tolist()) else "in the training set"
        record = records[material_id]
        return stack[i], {"material_id": material_id, "formula": formulas[i], "source": _source(record),
                          "in_dataset": True, "split": split, "ticks": path_ticks(record, p.x_axis)}
    record = None
    from elfutils.data.store import BandStore

    store = BandStore(p.store_path())
    if material_id in store.ids():
        record = store.get(material_id)
    else:
        files = [f for f in real_band_files() if f.stem == material_id]
        if files:
            record = read_band_file(files[0])
    if record is None:
        raise KeyError(f"{material_id} is neither in profile {p.name!r}'s dataset, nor in the store, nor "
                       "among the real 2Dmatpedia band files")
    image = render_band_image(record, **p.render_params())
    return image, {"material_id": material_id, "formula": record.formula, "source": _source(record),
                   "in_dataset": False, "split": "not in the dataset", "ticks": path_ticks(record, p.x_axis)}



def _source(record) -> str:
    """Where a band record came from, in words."""
    from pathlib import Path

    source = str(record.source or "")
    if source.endswith((".json", ".json.gz")) and Path(source).name.startswith("2dm-"):
        return f"the 2Dmatpedia band file {Path(source).name} (VASP)"
    method = (record.metadata or {}).get("method")
    if source.startswith("gpaw:") or method:
        return f"our band store ({method or 'GPAW'})"
    return source or "unknown"



"""The evaluation stage: how good the fingerprint is (the fingerprint-quality chapter), measured on the
profile's dataset, its model and the 12 real VASP files against their GPAW twins."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from elfutils.book.cache import cached_stage, code_hash, file_hash, stage_key
from elfutils.book.profiles import Profile, get_profile
from elfutils.book.stages import dataset, fingerprints, images, model, structural_fingerprints
from elfutils.io import atomic_write_json
from elfutils.paths import cache_dir


def fingerprint_quality_key(profile: str | Profile = "default") -> str:
    from elfutils.analysis import fingerprint_quality as fq
    from elfutils.data.dataset import POOL_FILE, dft_store_path
    from elfutils.paths import data_dir

    p = get_profile(profile)
    twins = dft_store_path().with_name(fq.TWIN_STORE)
    return stage_key("fingerprint_quality", {
        "fingerprints": fingerprints.fingerprints_key(p), "cnnf": structural_fingerprints.cnnf_rows_key(),
        "sample": fq.ROBUSTNESS_SAMPLE,
        "pool": file_hash(data_dir() / POOL_FILE),
        "twins": [[f.name, file_hash(f)] for f in sorted(twins.glob("part-*"))],
        "code": [code_hash(m) for m in ("analysis.fingerprint_quality", "analysis.evaluation",
                                        "analysis.perturbation", "images.render", "analysis.cluster")],
        "params": [p.minkowski_p, p.min_cluster_size, p.min_samples, p.seed, p.render_params()]})


def fingerprint_quality(profile: str | Profile = "default") -> dict:
    """:func:`elfutils.analysis.fingerprint_quality.measure` on the profile's dataset, its model and the 12
    real VASP files against their GPAW twins (JSON, cached)."""
    from elfutils.analysis import fingerprint_quality as fq
    from elfutils.analysis.cluster_statistics import FLAT_BAND_MAX_WIDTH_EV, FLAT_BAND_WINDOW_EV
    from elfutils.analysis.fingerprints import fingerprint_matrix
    from elfutils.data.dataset import dft_store_path, flatness_labels, real_band_files
    from elfutils.data.energy_zero import METAL_GAP_EV
    from elfutils.data.readers import read_band_file
    from elfutils.data.store import BandStore
    from elfutils.images.render import render_band_image

    p = get_profile(profile)
    key = fingerprint_quality_key(p)
    [path] = fingerprint_quality_files(p)

    def compute():
        stack, ids, _ = images.images(p)
        by_id = {r.material_id: r for r in dataset.load_dataset(p)}
        records = [by_id[m] for m in ids]
        elf = fingerprint_matrix(fingerprints.fingerprints(p).set_index("material_id").loc[ids].reset_index())
        net, _, _ = model.model(p)
        render = p.render_params()
        twins = BandStore(dft_store_path().with_name(fq.TWIN_STORE))
        files = [f for f in real_band_files() if f.stem in set(twins.ids())]
        result = fq.measure(
            records, stack, elf, lambda im: fingerprints._encode(net, im), render,
            flatness_labels(), structural_fingerprints.structural_fingerprints(p),
            np.stack([render_band_image(read_band_file(f), **render) for f in files]),
            [f.stem for f in files],
            np.stack([render_band_image(twins.get(f.stem), **render) for f in files]),
            [f.stem for f in files], p=p.minkowski_p, min_cluster_size=p.min_cluster_size,
            min_samples=p.min_samples, metal_gap_ev=METAL_GAP_EV, flat_window_ev=FLAT_BAND_WINDOW_EV,
            flat_max_width_ev=FLAT_BAND_MAX_WIDTH_EV, seed=p.seed)
        atomic_write_json(path, result)
        return json.loads(path.read_text())  # as a later load sees it (sorted keys): one order for the book

    return cached_stage("fingerprint_quality", p, key, path.exists, lambda: json.loads(path.read_text()),
                         compute, files=[path])


def fingerprint_quality_files(profile: str | Profile = "default") -> list[Path]:
    return [cache_dir() / "fingerprint-quality" / f"{fingerprint_quality_key(profile)}.json"]

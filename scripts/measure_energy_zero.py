"""Does the energy zero decide whether a band structure finds its twin computed by another code?

    .venv/bin/python scripts/measure_energy_zero.py           # ~3 min on 2 cores; prints the ranks
    .venv/bin/python scripts/measure_energy_zero.py --write   # and records them in
                                                               # benchmarks/results/energy-zero-twins.json

Each of the 12 real 2Dmatpedia VASP files (read with the project's zero) is encoded by the committed model and
searched (Minkowski p = 0.2) among the 1950 dataset materials plus our GPAW twins of those 12 (same structures
and k-points, ``data/bands/gpaw-pbe-fixtures.elfstore``). The twins are drawn twice: with GPAW's own Fermi
level (``gpaw_fermi_level``, mid-gap for an insulator, as a GPAW file gives it) and with that same record
brought to the project's zero by :func:`elfutils.data.energy_zero.to_project_zero`. Printed: the twin's rank
per material, and for the gapped ones how many come first and the median rank.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from elfutils.analysis.cluster import minkowski_distances
from elfutils.data.dataset import dft_store_path, real_band_files
from elfutils.data.energy_zero import METAL_GAP_EV, to_project_zero
from elfutils.data.readers import read_band_file
from elfutils.data.store import BandStore
from elfutils.images.render import render_band_image
from elfutils.nn.checkpoint import load_model
from elfutils.nn.training import encode_images
from elfutils.paths import PROJECT_ROOT, models_dir

OUT = PROJECT_ROOT / "benchmarks" / "results" / "energy-zero-twins.json"


def encode(model, records) -> np.ndarray:
    return encode_images(model, np.stack([render_band_image(r) for r in records]), batch_size=32)


def with_gpaw_fermi(record):
    """The record as a GPAW file would give it: E_F where GPAW's smearing put it, no zero convention."""
    metadata = {k: v for k, v in record.metadata.items() if k != "energy_zero"}
    return dataclasses.replace(record, efermi=float(record.metadata["gpaw_fermi_level"]), metadata=metadata)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true",
                        help=f"record the result in {OUT.relative_to(PROJECT_ROOT)} (committed; the README "
                             "quotes it)")
    args = parser.parse_args(argv)
    model, _, _ = load_model(models_dir() / "elf-resnet18" / "best.safetensors")
    dataset = BandStore(dft_store_path())
    twins = BandStore(dft_store_path().with_name("gpaw-pbe-fixtures.elfstore"))
    ids, twin_ids = dataset.ids(), twins.ids()
    X = encode(model, [dataset.get(m) for m in ids])
    names = np.array([f"dataset:{m}" for m in ids] + [f"twin:{m}" for m in twin_ids])
    files = [f for f in real_band_files() if f.stem in twin_ids]
    queries = encode(model, [read_band_file(f) for f in files])
    gapped = [m for m in twin_ids if twins.get(m).metadata.get("band_gap", 0.0) >= METAL_GAP_EV]
    result = {"what": __doc__.splitlines()[0], "n_dataset": len(ids), "gapped": gapped, "runs": {}}
    for how, prepare in (("gpaw_own_fermi", with_gpaw_fermi),
                         ("project_zero", lambda r: to_project_zero(with_gpaw_fermi(r)))):
        T = encode(model, [prepare(twins.get(m)) for m in twin_ids])
        D = minkowski_distances(queries, np.vstack([X, T]), p=0.2)
        ranks = {f.stem: int(np.flatnonzero(names[np.argsort(D[i],
                                                             kind="stable")] == f"twin:{f.stem}")[0]) + 1
                 for i, f in enumerate(files)}
        g = np.array([ranks[m] for m in gapped])
        result["runs"][how] = {"ranks": ranks, "gapped_first": int((g == 1).sum()),
                               "gapped_top5": int((g <= 5).sum()), "gapped_median_rank": float(np.median(g))}
        print(f"{how:>15}: gapped twins first {int((g == 1).sum())} of {len(g)}, in the top 5 "
              f"{int((g <= 5).sum())}, median rank {np.median(g):g}; all ranks {ranks}")
    result["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    if args.write:
        Path(OUT).write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {OUT}")
    else:
        print(f"not recorded (--write records it in {OUT.relative_to(PROJECT_ROOT)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How good is an elf fingerprint on our dataset? Representations x tasks, with elfutils.analysis.evaluation.

    # ~5 min on 2 cores; writes benchmarks/results/fingerprint-evaluation.json
    .venv/bin/python scripts/evaluate_fingerprints.py

On the 1950 materials of the default dataset, the same seeded 5 folds for every representation, k = 10
neighbours: band gap (R², MAE), metal vs gapped (balanced accuracy), Bhattacharya et al.'s flatness_score (R²)
and binary_flatness (ROC-AUC), flat bands near E_F (R²), spin-polarised or not (ROC-AUC); and the 12 real
2Dmatpedia VASP files searched among the dataset plus their GPAW twins (recall@1, @5, median rank).
Representations: elf (committed model) with Minkowski p = 0.2 and with Euclidean distance; raw pixels
block-averaged 8 x 8; PCA of the pixels to 98 numbers; a DOS-like histogram of the path eigenvalues in ±4 eV
(98 bins; matminer's band/DOS featurizers need a DOS or a full BandStructure object with a structure, which a
band image's source does not always have); the structural CNNF of the flat-band sublattice; random vectors.
Baselines use Euclidean distance. A first measurement for the evaluation chapter (not yet in the book).
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd

from elfutils.analysis import evaluation as ev
from elfutils.analysis.cluster_statistics import FLAT_BAND_MAX_WIDTH_EV, FLAT_BAND_WINDOW_EV
from elfutils.data.dataset import POOL_FILE, dft_store_path, real_band_files
from elfutils.data.energy_zero import METAL_GAP_EV
from elfutils.data.readers import read_band_file
from elfutils.data.store import BandStore
from elfutils.images.render import render_band_image
from elfutils.nn.checkpoint import load_model
from elfutils.nn.training import encode_images
from elfutils.paths import PROJECT_ROOT, data_dir, models_dir

OUT = PROJECT_ROOT / "benchmarks" / "results" / "fingerprint-evaluation.json"


def main() -> int:
    t0 = time.perf_counter()
    store = BandStore(dft_store_path())
    ids = store.ids()
    records = [store.get(m) for m in ids]
    images = np.stack([render_band_image(r) for r in records])
    model, _, _ = load_model(models_dir() / "elf-resnet18" / "best.safetensors")
    elf = encode_images(model, images, batch_size=32)
    pixels = ev.block_average(images, 8)
    pool = pd.read_csv(data_dir() / POOL_FILE).set_index("ID")
    cnnf = pd.read_parquet(data_dir() / "structure-fingerprints/cnnf-rows.parquet").set_index("material_id")
    cnnf_x = cnnf.reindex(ids).to_numpy(dtype=float)
    has_cnnf = np.isfinite(cnnf_x).all(axis=1)
    cnnf_x[~has_cnnf] = 0.0  # 1 sublattice CNNF could not fingerprint: a zero row (named in the output)

    gap = np.array([float(r.metadata.get("band_gap", r.band_gap())) for r in records])
    properties = {
        "band gap": (gap, "number"),
        "metal vs gapped": ((gap >= METAL_GAP_EV).astype(float), "yes/no"),
        "flatness_score": (pool["flatness_score"].reindex(ids).to_numpy(float), "number"),
        "binary_flatness": (pool["binary_flatness"].reindex(ids).to_numpy(float), "yes/no"),
        "flat bands near E_F": (np.array([r.flat_band_count(FLAT_BAND_WINDOW_EV, FLAT_BAND_MAX_WIDTH_EV)
                                          for r in records], float), "number"),
        "spin-polarised": (np.array([bool(r.metadata.get("spin_polarized")) for r in records], float),
                           "yes/no"),
    }
    representations = {
        "elf, p = 0.2": (elf, 0.2), "elf, Euclidean": (elf, 2.0), "raw pixels (8x8 blocks)": (pixels, 2.0),
        "PCA of pixels (98)": (ev.pca_features(images.reshape(len(images), -1).astype(np.float32)), 2.0),
        "eigenvalue histogram (98)": (np.stack([ev.eigenvalue_histogram(r) for r in records]), 2.0),
        "CNNF (structure)": (cnnf_x, 2.0), "random (98)": (ev.random_features(len(ids)), 2.0),
    }
    folds = ev.seeded_folds(len(ids))
    results = {}
    for name, (X, p) in representations.items():
        results[name] = ev.evaluate(X, properties, folds=folds, p=p)
        print(name, {k: {m: round(v, 3) for m, v in s.items()} for k, s in results[name].items()}, flush=True)

    # the 12 VASP files among the dataset + their GPAW twins: elf only (the baselines need the same rendering)
    twins = BandStore(dft_store_path().with_name("gpaw-pbe-fixtures.elfstore"))
    twin_ids = twins.ids()
    files = [f for f in real_band_files() if f.stem in twin_ids]
    query_images = np.stack([render_band_image(read_band_file(f)) for f in files])
    twin_images = np.stack([render_band_image(twins.get(m)) for m in twin_ids])
    truth = [len(ids) + twin_ids.index(f.stem) for f in files]
    retrieval = {}
    for name, encode in (("elf, p = 0.2", (lambda im: encode_images(model, im), 0.2)),
                         ("elf, Euclidean", (lambda im: encode_images(model, im), 2.0)),
                         ("raw pixels (8x8 blocks)", (lambda im: ev.block_average(im, 8), 2.0))):
        fn, p = encode
        candidates = np.vstack([fn(images) if name.startswith("raw") else elf, fn(twin_images)])
        ranks = ev.retrieval_ranks(fn(query_images), candidates, truth, p=p)
        retrieval[name] = {"recall@1": ev.recall_at(ranks, 1), "recall@5": ev.recall_at(ranks, 5),
                           "median_rank": float(np.median(ranks)), "ranks": dict(zip([f.stem for f in files],
                                                                                     ranks.tolist(),
                                                                                     strict=True))}
        print("twins", name, retrieval[name], flush=True)
    OUT.write_text(json.dumps({"what": __doc__.splitlines()[0], "n": len(ids), "k": ev.KNN_K,
                               "folds": ev.N_FOLDS, "no_cnnf": [m for m, ok in zip(ids, has_cnnf,
                                                                                   strict=True) if not ok],
                               "tasks": results, "twins": retrieval, "seconds": time.perf_counter() - t0,
                               "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

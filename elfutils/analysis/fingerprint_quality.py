"""How good is an elf fingerprint on a dataset: the measurements of the evaluation chapter, from plain inputs.

:func:`measure` takes the dataset's band records, images and elf fingerprints, an ``encode`` function (images
-> fingerprints, the same model), the flatness labels, the structural fingerprints, and the cross-code twins;
it returns one JSON-able dict:

* ``tasks`` -- k-nearest-neighbour prediction of six properties (5 seeded folds shared by every
  representation) for elf (Minkowski p = 0.2 and Euclidean), raw pixels, PCA of the pixels, a DOS-like
  eigenvalue histogram, the structural CNNF and random vectors;
* ``twins`` -- the same material computed by another code (2Dmatpedia's VASP against our GPAW): rank of the
  twin among the dataset plus the twins;
* ``robustness`` -- :func:`elfutils.analysis.perturbation.robustness` on a seeded sample;
* ``hdbscan`` -- :func:`elfutils.analysis.evaluation.hdbscan_distance_study`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from elfutils.analysis import evaluation as ev
from elfutils.analysis.perturbation import robustness
from elfutils.constants import SEED

ROBUSTNESS_SAMPLE = 300  # materials perturbed (the minimum; each costs 12 renders and encodes)
TWIN_STORE = "gpaw-pbe-fixtures.elfstore"  # our GPAW runs of the 12 real VASP files, same k-points
PIXEL_BLOCK = 8  # raw-pixel baseline: 8 x 8 block averages (784 numbers for 224 px)


def properties(records, pool: pd.DataFrame, metal_gap_ev: float, flat_window_ev: float,
               flat_max_width_ev: float) -> dict:
    """The six properties the fingerprints are asked to predict: name -> (values, "number" | "yes/no")."""
    ids = [r.material_id for r in records]
    gap = np.array([float(r.metadata.get("band_gap", r.band_gap())) for r in records])
    flat = np.array([r.flat_band_count(flat_window_ev, flat_max_width_ev) for r in records], float)
    spin = np.array([bool(r.metadata.get("spin_polarized")) for r in records], float)
    return {
        "band gap": (gap, "number"),
        "metal vs gapped": ((gap >= metal_gap_ev).astype(float), "yes/no"),
        "flatness_score": (pool["flatness_score"].reindex(ids).to_numpy(float), "number"),
        "binary_flatness": (pool["binary_flatness"].reindex(ids).to_numpy(float), "yes/no"),
        "flat bands near E_F": (flat, "number"),
        "spin-polarised": (spin, "yes/no"),
    }


def band_representations(records, images: np.ndarray, elf: np.ndarray, p: float, seed: int = SEED) -> dict:
    """name -> (features, Minkowski p of its distance): elf and the baselines made from the band structures
    alone (raw pixels, PCA of the pixels, an eigenvalue histogram, random vectors)."""
    flat_pixels = images.reshape(len(images), -1).astype(np.float32)
    return {
        f"elf, p = {p:g}": (elf, p),
        "elf, Euclidean": (elf, 2.0),
        f"raw pixels ({PIXEL_BLOCK}x{PIXEL_BLOCK} blocks)": (ev.block_average(images, PIXEL_BLOCK), 2.0),
        "PCA of pixels (98)": (ev.pca_features(flat_pixels, min(98, len(images) - 1), seed=seed), 2.0),
        "eigenvalue histogram (98)": (np.stack([ev.eigenvalue_histogram(r) for r in records]), 2.0),
        "random (98)": (ev.random_features(len(records), seed=seed), 2.0),
    }


def representations(records, images: np.ndarray, elf: np.ndarray, cnnf: pd.DataFrame,
                    p: float, seed: int = SEED) -> tuple[dict, list[str]]:
    """:func:`band_representations` and the structural CNNF (before the random vectors), and the ids CNNF
    could not fingerprint (zero rows)."""
    ids = [r.material_id for r in records]
    cnnf_x = cnnf.reindex(ids).to_numpy(dtype=float)
    has_cnnf = np.isfinite(cnnf_x).all(axis=1)
    cnnf_x[~has_cnnf] = 0.0
    reps = band_representations(records, images, elf, p, seed=seed)
    random = reps.popitem()
    reps["CNNF (structure)"] = (cnnf_x, 2.0)
    reps[random[0]] = random[1]
    return reps, [m for m, ok in zip(ids, has_cnnf, strict=True) if not ok]


def same_material_ranks(queries, candidates, query_ids, candidate_ids, p: float) -> np.ndarray:
    """Rank (1 = nearest) of each query's nearest candidate with the query's material id: the dataset may
    hold the material too (computed by us), besides its twin; either one found counts. Ties count against
    the match (a different material as close ranks before it)."""
    D = ev.distances(np.asarray(queries, float), np.asarray(candidates, float), p=p)
    same = np.asarray(query_ids)[:, None] == np.asarray(candidate_ids)[None, :]
    best = np.where(same, D, np.inf).min(axis=1)
    return 1 + (np.where(same, np.inf, D) <= best[:, None]).sum(axis=1)


def twin_retrieval(elf: np.ndarray, ids, queries: np.ndarray, query_ids, twins: np.ndarray, twin_ids,
                   encode: Callable, images: np.ndarray, p: float) -> dict:
    """Each query image (a VASP file) searched among the dataset plus the twins' images (GPAW): recall@1,
    recall@5, median rank and the ranks (:func:`same_material_ranks`), for elf (p and Euclidean) and raw
    pixels."""
    out = {}
    q_elf, t_elf = encode(queries), encode(twins)
    candidate_ids = [*ids, *twin_ids]
    for name, (qx, cx, dist_p) in {
        f"elf, p = {p:g}": (q_elf, np.vstack([elf, t_elf]), p),
        "elf, Euclidean": (q_elf, np.vstack([elf, t_elf]), 2.0),
        f"raw pixels ({PIXEL_BLOCK}x{PIXEL_BLOCK} blocks)": (
            ev.block_average(queries, PIXEL_BLOCK),
            np.vstack([ev.block_average(images, PIXEL_BLOCK), ev.block_average(twins, PIXEL_BLOCK)]), 2.0),
    }.items():
        ranks = same_material_ranks(qx, cx, query_ids, candidate_ids, dist_p)
        out[name] = {"recall@1": ev.recall_at(ranks, 1), "recall@5": ev.recall_at(ranks, 5),
                     "median_rank": float(np.median(ranks)),
                     "ranks": dict(zip(map(str, query_ids), (int(r) for r in ranks), strict=True))}
    return out


def measure(records, images, elf, encode: Callable, render_params: dict, pool: pd.DataFrame,
            cnnf: pd.DataFrame, twin_queries, query_ids, twin_images, twin_ids, *, p: float,
            min_cluster_size: int,
            min_samples: int, metal_gap_ev: float, flat_window_ev: float, flat_max_width_ev: float,
            seed: int = SEED, sample: int = ROBUSTNESS_SAMPLE) -> dict:
    """Everything the chapter shows (see the module docstring)."""
    folds = ev.seeded_folds(len(records), seed=seed)
    props = properties(records, pool, metal_gap_ev, flat_window_ev, flat_max_width_ev)
    reps, no_cnnf = representations(records, images, elf, cnnf, p, seed)
    tasks = {name: ev.evaluate(X, props, folds=folds, p=dist_p) for name, (X, dist_p) in reps.items()}
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(records), min(sample, len(records)), replace=False))
    return {
        "n": len(records), "k": ev.KNN_K, "folds": ev.N_FOLDS, "no_cnnf": no_cnnf,
        "tasks": tasks,
        "twins": twin_retrieval(elf, [r.material_id for r in records], twin_queries, query_ids, twin_images,
                                twin_ids, encode, images, p),
        "robustness": robustness([records[i] for i in chosen], chosen, elf, encode, render_params, p=p),
        "robustness_sample": len(chosen),
        "hdbscan": ev.hdbscan_distance_study(elf, min_cluster_size, min_samples, p),
    }

"""The atlas chapter's candidate lists: which materials outside the flat-band pool a representation puts
forward, and what kind of materials they are.

* :func:`vote_scores` -- every material's share of flat-labelled materials among its k nearest labelled
  neighbours: out of fold for a labelled material (the same numbers as
  :func:`elfutils.analysis.evaluation.knn_cross_predict`), from all labelled materials for an unlabelled one;
* :func:`ranked_candidates` -- the materials outside the pool, highest vote first (:func:`vote_lists` for
  several representations at once);
* :func:`candidate_profile` -- what a candidate list holds: its labelled flat share, band gaps, anion
  families, how many have a flat band near E_F in our own bands, and how many are wide-gap ionic insulators
  (:func:`wide_gap_ionic`): halides and oxides with a gap of at least ``WIDE_GAP_EV``, whose only bands near
  E_F are valence bands, the weakly overlapping anion p states of any ionic insulator, not a flat band from a
  lattice or from d or f electrons;
* :func:`representation` -- a baseline of the fingerprint-quality chapter, built by name for the atlas;
* :func:`twodmatpedia_counts` -- how much of 2Dmatpedia the data covers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from elfutils.analysis import evaluation as ev

# Bhattacharya et al. (npj Comput. Mater. 2023), whose labels these are: the test accuracy of the CNN that
# scores blocks of a VASP band image (their trained model is named for it, "..._92_1perc.mat")
LABEL_CNN_ACCURACY = 0.92
WIDE_GAP_EV = 3.0  # ours: a gap this wide puts every band within ±1 eV of the zero in the valence band
IONIC_FAMILIES = ("halide", "oxide")  # anion families (elfutils.analysis.chemistry) of the ionic insulators


def vote_scores(X, labels, folds, k: int = ev.KNN_K, p: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """(vote, distance) per material: the share of flat-labelled materials (``labels`` 1) among its ``k``
    nearest labelled neighbours and their mean distance (Minkowski ``p``). A labelled material's neighbours
    come from the other ``folds`` only; an unlabelled one (NaN) is never a neighbour and takes its neighbours
    from every labelled material."""
    X, labels, folds = np.asarray(X, float), np.asarray(labels, float), np.asarray(folds)
    if not len(X) == len(labels) == len(folds):
        raise ValueError(f"X, labels and folds differ in length: {len(X)}, {len(labels)}, {len(folds)}")
    known = np.isfinite(labels)
    if not known.any():
        raise ValueError("no labelled material to vote")
    vote, dist = np.full(len(X), np.nan), np.full(len(X), np.nan)
    groups = [((folds == f) & known, (folds != f) & known) for f in np.unique(folds)]
    groups.append((~known, known))
    for test, train in ((np.flatnonzero(a), np.flatnonzero(b)) for a, b in groups):
        if not len(test) or not len(train):
            continue
        D = ev.distances(X[test], X[train], p=p)
        kk = min(k, len(train))
        nearest = np.argpartition(D, kk - 1, axis=1)[:, :kk]
        vote[test] = labels[train][nearest].mean(axis=1)
        dist[test] = np.take_along_axis(D, nearest, axis=1).mean(axis=1)
    return vote, dist


def ranked_candidates(vote, distance, in_pool, n: int) -> np.ndarray:
    """Indices of the ``n`` materials outside the pool with the highest vote (ties: nearer neighbours
    first, then the given order)."""
    vote, distance = np.asarray(vote, float), np.asarray(distance, float)
    outside = np.flatnonzero(~np.asarray(in_pool, bool) & np.isfinite(vote))
    order = np.lexsort((outside, distance[outside], -vote[outside]))
    return outside[order][:n]


def vote_lists(features: dict, labels, in_pool, folds, k: int = ev.KNN_K, n: int = 100) -> tuple[dict, dict]:
    """For each representation (name -> (features, Minkowski p)): the indices of its ``n`` candidates outside
    the pool (:func:`vote_scores`, :func:`ranked_candidates`) and, as a check against the atlas stage, the
    expected precision of its top ``n`` labelled materials outside the pool
    (:func:`elfutils.analysis.atlas.expected_precision_at`, the stage's ``top_precision``)."""
    from elfutils.analysis.atlas import expected_precision_at

    labels, in_pool = np.asarray(labels, float), np.asarray(in_pool, bool)
    scored = ~in_pool & np.isfinite(labels)
    lists, precision = {}, {}
    for name, (X, p) in features.items():
        vote, dist = vote_scores(X, labels, folds, k=k, p=p)
        lists[name] = ranked_candidates(vote, dist, in_pool, n)
        precision[name] = (expected_precision_at(vote[scored], labels[scored], n) if scored.any()
                           else float("nan"))
    return lists, precision


def wide_gap_ionic(gaps, formulas, wide_gap_ev: float = WIDE_GAP_EV) -> np.ndarray:
    """Per material: a halide or oxide (:func:`elfutils.analysis.chemistry.chemistry_table`) with a band gap
    of at least ``wide_gap_ev``: an ionic insulator whose only bands near E_F are anion p valence bands."""
    from elfutils.analysis.chemistry import chemistry_table

    families = chemistry_table(list(formulas)).family.to_numpy()
    return np.isin(families, IONIC_FAMILIES) & (np.asarray(gaps, float) >= wide_gap_ev)


def candidate_profile(index, gaps, formulas, flat_labels, flat_counts,
                      wide_gap_ev: float = WIDE_GAP_EV) -> dict:
    """What the materials at ``index`` are (arrays over all materials, ``index`` picks the list).

    Returns
    -------
    dict: n, n_labelled, flat_share (of the labelled, ``binary_flatness`` 1), median_gap (eV),
    ionic_share (halides and oxides), wide_gap_ionic_share (:func:`wide_gap_ionic`), with_flat_band (share
    with at least one flat band near E_F in our band structure, ``flat_counts``), metal_share (gap 0); NaN
    shares for an empty list
    """
    from elfutils.analysis.chemistry import chemistry_table

    index = np.asarray(index, int)
    if not len(index):
        nan = float("nan")
        return {"n": 0, "n_labelled": 0, "flat_share": nan, "median_gap": nan, "ionic_share": nan,
                "wide_gap_ionic_share": nan, "with_flat_band": nan, "metal_share": nan}
    gaps = np.asarray(gaps, float)[index]
    formulas = [formulas[i] for i in index]
    labels = np.asarray(flat_labels, float)[index]
    families = chemistry_table(formulas).family.to_numpy()
    labelled = np.isfinite(labels)
    return {"n": len(index), "n_labelled": int(labelled.sum()),
            "flat_share": float(labels[labelled].mean()) if labelled.any() else float("nan"),
            "median_gap": float(np.median(gaps)),
            "ionic_share": float(np.isin(families, IONIC_FAMILIES).mean()),
            "wide_gap_ionic_share": float(wide_gap_ionic(gaps, formulas, wide_gap_ev).mean()),
            "with_flat_band": float((np.asarray(flat_counts)[index] > 0).mean()),
            "metal_share": float((gaps <= 0).mean())}


def representation(name: str, records, images, seed: int) -> tuple[np.ndarray, float]:
    """(features, Minkowski p) of the band-structure baseline called ``name`` in
    :func:`elfutils.analysis.fingerprint_quality.band_representations`, built alone (the atlas is too large
    to build all of them for one)."""
    from elfutils.analysis import fingerprint_quality as fq

    builders = {
        "raw pixels": lambda: ev.block_average(images, fq.PIXEL_BLOCK),
        "PCA of pixels": lambda: ev.pca_features(
            np.asarray(images, np.float32).reshape(len(images), -1), min(98, len(images) - 1), seed=seed),
        "eigenvalue histogram": lambda: np.stack([ev.eigenvalue_histogram(r) for r in records]),
        "random": lambda: ev.random_features(len(images), seed=seed),
    }
    for prefix, build in builders.items():
        if name.startswith(prefix):
            return build(), 2.0
    raise ValueError(f"no baseline called {name!r}; known: {', '.join(builders)}")


def twodmatpedia_counts() -> dict:
    """How much of 2Dmatpedia the data covers: db_rows_at_least (the rows of 2Dmatpedia's ``db.json`` reach
    at least this far: one more than the highest row an ID of ours points to), structures (relaxed
    structures in ``structures.jsonl``), with_id (those that carry a 2Dmatpedia ID)."""
    from elfutils.data.dataset import STRUCTURES_FILE, structure_records
    from elfutils.paths import data_dir

    rows = pd.read_csv(data_dir() / "2dmatpedia-structures" / "id_to_db_row.csv", usecols=["db_row"])
    with open(data_dir() / STRUCTURES_FILE, encoding="utf-8") as fh:
        structures = sum(1 for line in fh if line.strip())
    return {"db_rows_at_least": int(rows.db_row.max()) + 1, "structures": structures,
            "with_id": len(structure_records())}

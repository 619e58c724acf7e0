"""Finding flat-band materials among all of 2Dmatpedia, from plain inputs (the atlas chapter's measurements).

* :func:`flat_band_search` -- a k-nearest-neighbour vote in fingerprint space, cross-validated on seeded folds
  shared by every representation: ROC-AUC over every labelled material, and the precision of the top
  candidates *outside* the flat-band pool (the materials nobody pre-selected);
* :func:`exemplar_candidates` -- the materials outside the pool that lie closest to flat-band exemplars;
* :func:`cluster_flat_shares` -- clusters ranked by their share of flat-band materials;
* :func:`neighbour_overlap` and :func:`clusters_kept_together` -- does another model see the same
  neighbourhoods (the flat-band model against one trained on the atlas).

Labels are Bhattacharya et al.'s ``binary_flatness`` (1 = flat); NaN marks a material without a label, which
neither votes nor is scored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from elfutils.analysis import evaluation as ev

TOP_CANDIDATES = 100  # the "precision of the top 100 non-pool candidates"
EXEMPLARS_PER_CLUSTER = 1  # HDBSCAN's most probable member of each flat-band cluster


def expected_precision_at(scores, truth, n: int) -> float:
    """Precision of the ``n`` highest ``scores`` (a 0/1 ``truth`` per item), ties broken at random: the
    items tied at the cut count with the share of them that fits, so a coarse score (a vote share of k
    neighbours) is neither flattered nor punished by the order of the table."""
    scores, truth = np.asarray(scores, float), np.asarray(truth, float)
    if n < 1 or not len(scores):
        raise ValueError(f"need n >= 1 and at least one item, got n = {n} and {len(scores)} items")
    n = min(n, len(scores))
    cut = np.sort(scores)[::-1][n - 1]
    above, tied = scores > cut, scores == cut
    room = n - int(above.sum())
    hits = truth[above].sum() + room * truth[tied].mean()
    return float(hits / n)


def flat_band_search(representations: dict, labels, in_pool, folds, k: int = ev.KNN_K,
                     top: int = TOP_CANDIDATES) -> dict:
    """For each representation (name -> (features, Minkowski p)): out-of-fold vote shares of the ``k``
    nearest labelled neighbours, their ROC-AUC against ``labels`` over every labelled material, and the
    expected precision of the ``top`` highest-scored labelled materials outside the pool (``in_pool``
    False). Returns name -> {"roc_auc", "balanced_accuracy", "top_precision", "n", "n_flat",
    "n_outside", "n_flat_outside", "scores"} (scores: a list, NaN where unlabelled)."""
    labels = np.asarray(labels, float)
    outside = ~np.asarray(in_pool, bool) & np.isfinite(labels)
    out = {}
    for name, (X, p) in representations.items():
        scores = ev.knn_cross_predict(X, labels, folds, k=k, p=p)
        scored = ev.score_predictions(labels, scores, "yes/no")
        out[name] = {
            **scored,
            "top_precision": expected_precision_at(scores[outside], labels[outside], top),
            "n_flat": int(np.nansum(labels)),
            "n_outside": int(outside.sum()),
            "n_flat_outside": int(labels[outside].sum()),
            "scores": [None if not np.isfinite(s) else float(s) for s in scores],
        }
    return out


def exemplar_candidates(X, ids, in_pool, exemplar_ids, p: float, n: int = TOP_CANDIDATES) -> pd.DataFrame:
    """The ``n`` materials outside the pool closest to a flat-band exemplar (rows of ``X``; Minkowski
    ``p``), nearest first: material_id, exemplar_id, distance. Each material appears once, with its nearest
    exemplar."""
    X, ids = np.asarray(X, float), np.asarray(ids)
    where = {m: i for i, m in enumerate(ids)}
    missing = [e for e in exemplar_ids if e not in where]
    if missing:
        raise ValueError(f"exemplars without a fingerprint: {', '.join(map(str, missing[:5]))}")
    outside = np.flatnonzero(~np.asarray(in_pool, bool))
    if not len(exemplar_ids) or not len(outside):
        return pd.DataFrame({"material_id": [], "exemplar_id": [], "distance": []})
    ex = np.array([where[e] for e in exemplar_ids], int)
    D = ev.distances(X[outside], X[ex], p=p)
    nearest = D.argmin(axis=1)
    order = np.argsort(D[np.arange(len(outside)), nearest], kind="stable")[:n]
    return pd.DataFrame({"material_id": ids[outside[order]],
                         "exemplar_id": ids[ex[nearest[order]]],
                         "distance": D[order, nearest[order]]})


def cluster_flat_shares(cluster_labels, in_pool, labels) -> pd.DataFrame:
    """One row per HDBSCAN cluster (noise, -1, left out): size, members of the flat-band pool and their share,
    members labelled flat (``binary_flatness``) among the labelled and their share; ranked by the pool
    share, then size."""
    df = pd.DataFrame({"cluster": np.asarray(cluster_labels, int), "in_pool": np.asarray(in_pool, bool),
                       "flat": np.asarray(labels, float)})
    df = df[df.cluster >= 0]
    table = df.groupby("cluster").agg(size=("in_pool", "size"), n_pool=("in_pool", "sum"),
                                      n_labelled=("flat", "count"), n_flat=("flat", "sum"))
    table["pool_share"] = table.n_pool / table["size"]
    table["flat_share"] = table.n_flat / table.n_labelled.where(table.n_labelled > 0)
    table = table.astype({"n_pool": int, "n_flat": int})
    return table.sort_values(["pool_share", "size"], ascending=[False, False]).reset_index()


def neighbour_overlap(a, b, k: int = ev.KNN_K, p: float = 2.0) -> np.ndarray:
    """Per item, the share of its ``k`` nearest neighbours under fingerprints ``a`` that are also among its
    ``k`` nearest under ``b`` (same items, same order; Minkowski ``p`` for both)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) != len(b):
        raise ValueError(f"the two fingerprint sets differ in length: {len(a)} against {len(b)}")
    if len(a) <= k:
        raise ValueError(f"need more than k = {k} items, got {len(a)}")
    from elfutils.analysis.neighbors import exact_knn

    na, nb = exact_knn(a, k, p=p)[0], exact_knn(b, k, p=p)[0]
    return np.array([len(set(x) & set(y)) / k for x, y in zip(na, nb, strict=True)])


def clusters_kept_together(reference, other) -> pd.DataFrame:
    """For each cluster of ``reference`` (labels; -1 = noise, left out): its size and the share of its
    members that ``other`` puts into one cluster (its most common non-noise label; noise counts against)."""
    ref, oth = np.asarray(reference, int), np.asarray(other, int)
    if ref.shape != oth.shape:
        raise ValueError(f"label arrays differ in shape: {ref.shape} against {oth.shape}")
    rows = []
    for c in np.unique(ref[ref >= 0]):
        members = oth[ref == c]
        clustered = members[members >= 0]
        top = np.bincount(clustered).max() if len(clustered) else 0
        rows.append({"cluster": int(c), "size": len(members), "kept_share": top / len(members)})
    return pd.DataFrame(rows, columns=["cluster", "size", "kept_share"])

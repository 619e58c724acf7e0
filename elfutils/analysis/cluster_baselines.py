"""Do the elf clusters carry more than the band gap? Baseline clusterings with the same number of clusters.

The book reads chemistry and homogeneity off HDBSCAN's clusters (anion families dominating clusters:
:func:`elfutils.analysis.chemistry.cluster_chemistry`; a narrow band-gap spread within a cluster: Fig. 3).
Both are only evidence about the fingerprint if a clustering that knows less does worse. Here the same
materials HDBSCAN clustered (its noise, -1, stays out) are clustered again, into as many clusters, from:

* the band gap alone, by k-means (``"band gap alone, k-means"``);
* the band gap alone, cut into runs of increasing gap with exactly HDBSCAN's cluster sizes
  (``"band gap alone, HDBSCAN's sizes"``): the "dominated cluster" count depends on the sizes, so this one
  differs from the elf clustering in nothing but what groups the materials;
* the raw pixels, block-averaged, by k-means (``"raw pixels, k-means"``).

:func:`chemistry_scores` gives every clustering the chapters' chemistry score, :func:`concentration` says how
much of a clustering its largest clusters hold, and :func:`gap_spread` the band-gap spread within its
clusters. :func:`motif_memberships` asks where the materials of one lattice motif land among the clusters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from elfutils.analysis.chemistry import cluster_chemistry
from elfutils.constants import N_PERMUTATIONS, SEED

ELF_NAME = "elf, HDBSCAN"
GAP_KMEANS = "band gap alone, k-means"
GAP_SIZED = "band gap alone, HDBSCAN's sizes"
PIXELS_KMEANS = "raw pixels, k-means"


def _labels(labels) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one label per material, not an array of shape {labels.shape}")
    return labels.astype(int)


def concentration(labels) -> dict:
    """How much of a clustering its largest clusters hold.

    Returns
    -------
    dict: n (materials), n_clustered (label >= 0), n_clusters, largest and second (sizes of the two
    largest clusters), largest_share and largest_two_share (of the clustered materials),
    largest_share_of_all (of all materials), unclassified_share
    """
    labels = _labels(labels)
    clustered = labels[labels >= 0]
    sizes = np.sort(np.bincount(clustered))[::-1] if len(clustered) else np.zeros(0, int)
    sizes = sizes[sizes > 0]
    top = [int(s) for s in sizes[:2]] + [0] * (2 - min(2, len(sizes)))
    n, m = len(labels), len(clustered)
    return {"n": n, "n_clustered": m, "n_clusters": len(sizes), "largest": top[0], "second": top[1],
            "largest_share": top[0] / m if m else np.nan,
            "largest_two_share": (top[0] + top[1]) / m if m else np.nan,
            "largest_share_of_all": top[0] / n if n else np.nan,
            "unclassified_share": (n - m) / n if n else np.nan}


def sized_runs(values, sizes) -> np.ndarray:
    """Labels that cut ``values`` (sorted ascending, ties in their given order) into consecutive runs of
    the given ``sizes``: run 0 takes the ``sizes[0]`` smallest values, and so on."""
    values = np.asarray(values, float)
    sizes = np.asarray(sizes, int)
    if sizes.sum() != len(values) or (sizes < 1).any():
        raise ValueError(f"sizes must be positive and add up to the {len(values)} values, "
                         f"not {sizes.sum()} in {len(sizes)} runs")
    labels = np.empty(len(values), int)
    labels[np.argsort(values, kind="stable")] = np.repeat(np.arange(len(sizes)), sizes)
    return labels


def kmeans_labels(features, n_clusters: int, seed: int = SEED) -> np.ndarray:
    """k-means (scikit-learn, 10 seeded starts) of the rows of ``features`` into ``n_clusters``."""
    from sklearn.cluster import KMeans

    features = np.asarray(features, float)
    if features.ndim == 1:
        features = features[:, None]
    if not 1 <= n_clusters <= len(features):
        raise ValueError(f"n_clusters must be between 1 and the {len(features)} rows, not {n_clusters}")
    return KMeans(n_clusters=n_clusters, n_init=10, random_state=seed).fit_predict(features)


def baseline_clusterings(labels, gaps, pixels=None, seed: int = SEED) -> dict[str, np.ndarray]:
    """The elf clustering and its baselines (module docstring), each a label per material; every baseline
    clusters only the materials ``labels`` clusters, into as many clusters, and keeps -1 for the rest.

    Parameters
    ----------
    labels : (N,) HDBSCAN labels of the elf fingerprints, -1 unclassified
    gaps : (N,) band gap per material, eV
    pixels : (N, d) raw-pixel features (e.g. :func:`elfutils.analysis.evaluation.block_average`); None
        leaves the pixel baseline out
    """
    labels = _labels(labels)
    gaps = np.asarray(gaps, float)
    pixels = None if pixels is None else np.asarray(pixels, float)
    if len(gaps) != len(labels) or (pixels is not None and len(pixels) != len(labels)):
        raise ValueError(f"labels, gaps and pixels differ in length: {len(labels)}, {len(gaps)}, "
                         f"{'-' if pixels is None else len(pixels)}")
    ok = labels >= 0
    if not np.isfinite(gaps[ok]).all():
        raise ValueError("every clustered material needs a finite band gap")
    sizes = np.bincount(labels[ok])
    sizes = sizes[sizes > 0]
    # the elf clusters ordered by their median gap, so the gap runs take their sizes in that order
    medians = pd.Series(gaps[ok]).groupby(labels[ok]).median()
    by_gap = np.bincount(labels[ok])[medians.sort_values(kind="stable").index.to_numpy()]
    out = {ELF_NAME: labels}
    fits = [(GAP_KMEANS, lambda: kmeans_labels(gaps[ok], len(sizes), seed)),
            (GAP_SIZED, lambda: sized_runs(gaps[ok], by_gap))]
    if pixels is not None:
        fits.append((PIXELS_KMEANS, lambda: kmeans_labels(pixels[ok], len(sizes), seed)))
    for name, fit in fits:
        full = np.full(len(labels), -1)
        if len(sizes):
            full[ok] = fit()
        out[name] = full
    return out


def gap_spread(labels, gaps) -> float:
    """The median over clusters of the band gap's interquartile range within a cluster, eV (noise left
    out)."""
    labels, gaps = _labels(labels), np.asarray(gaps, float)
    ok = (labels >= 0) & np.isfinite(gaps)
    if not ok.any():
        return float("nan")
    grouped = pd.Series(gaps[ok]).groupby(labels[ok])
    return float((grouped.quantile(0.75) - grouped.quantile(0.25)).median())


def chemistry_scores(clusterings: dict, families, gaps=None, n_permutations: int = N_PERMUTATIONS,
                     seed: int = SEED) -> pd.DataFrame:
    """Every clustering (name -> labels) scored as the chapters score the elf clusters'
    chemistry (:func:`elfutils.analysis.chemistry.cluster_chemistry` against ``families``), with its
    :func:`concentration` and, where ``gaps`` are given, its :func:`gap_spread`.

    Returns
    -------
    DataFrame indexed by clustering: n_clusters, n_dominated, expected_dominated, p_value, ami,
    largest_two_share (and gap_iqr)
    """
    rows = {}
    for name, labels in clusterings.items():
        chem = cluster_chemistry(labels, families, n_permutations=n_permutations, seed=seed)
        row = {k: chem[k] for k in ("n_clusters", "n_dominated", "expected_dominated", "p_value", "ami")}
        row["largest_two_share"] = concentration(labels)["largest_two_share"]
        if gaps is not None:
            row["gap_iqr"] = gap_spread(labels, gaps)
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "clustering"
    return table


def motif_memberships(labels, motifs, wanted) -> pd.DataFrame:
    """Where the materials of each ``wanted`` lattice motif land among the clusters.

    Parameters
    ----------
    labels : (N,) cluster per material, -1 unclassified
    motifs : (N,) motif name per material (None where none is named;
        :func:`elfutils.analysis.structure.name_motif`)
    wanted : motif names

    Returns
    -------
    DataFrame indexed by motif: n (materials with it), n_unclassified, n_clusters (clusters they fall in),
    top_cluster, top_cluster_share (of the motif's materials in its most common cluster),
    top_cluster_clustered_share (the same among the motif's clustered materials), top_cluster_motif_share
    (the motif's share of that cluster's members)
    """
    labels = _labels(labels)
    motifs = np.asarray(motifs, dtype=object)
    if motifs.shape != labels.shape:
        raise ValueError(f"labels and motifs differ in length: {labels.shape} vs {motifs.shape}")
    rows = {}
    for motif in wanted:
        mine = labels[motifs == motif]
        clustered = mine[mine >= 0]
        if len(clustered):
            values, counts = np.unique(clustered, return_counts=True)
            top = int(values[np.argmax(counts)])
            share, purity = counts.max() / len(mine), counts.max() / int((labels == top).sum())
            among_clustered = counts.max() / len(clustered)
        else:
            top, share, purity, among_clustered = -1, np.nan, np.nan, np.nan
        rows[motif] = {"n": len(mine), "n_unclassified": int((mine < 0).sum()),
                       "n_clusters": len(np.unique(clustered)), "top_cluster": top,
                       "top_cluster_share": share, "top_cluster_clustered_share": among_clustered,
                       "top_cluster_motif_share": purity}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "motif"
    return table

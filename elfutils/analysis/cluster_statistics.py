"""Statistics of a clustering against properties of its materials: are clusters pure in metal/gapped character
(:func:`gap_purity`), how much of a number's spread lies between clusters (:func:`cluster_variance_share`), do
neighbours on the map share a class (:func:`neighbour_agreement`). Each comes with its chance baseline."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from elfutils.choices import CHOICES
from elfutils.constants import N_PERMUTATIONS, SEED
from elfutils.data.energy_zero import METAL_GAP_EV

# our choices (elfutils.choices): the metals of the energy zero and the dataset card (one name for them), the
# flat bands
FLAT_BAND_WINDOW_EV = CHOICES.flat_band_window_ev  # "near E_F" (BandStructure.flat_band_count)
FLAT_BAND_MAX_WIDTH_EV = CHOICES.flat_band_max_width_ev  # this narrow along the whole path: flat


def gap_purity(labels, gaps, metal_gap: float = METAL_GAP_EV, n_permutations: int = N_PERMUTATIONS,
               seed: int = SEED) -> dict:
    """How cleanly clusters separate metals (gap < ``metal_gap``) from gapped materials.

    A cluster is *gap-pure* when all its members are metals or all are gapped. The same count for
    clusters of the same sizes filled at random (the labels of the clustered materials permuted,
    ``n_permutations`` times, seeded) is the baseline.

    Returns
    -------
    dict: n_clusters, n_pure, fraction_pure, expected_pure (mean under permutation), p_value (share of
    permutations with at least as many pure clusters), metal_fraction (among the clustered materials);
    table (per cluster: size, n_metal, median_gap, pure)
    """
    labels = np.asarray(labels)
    gaps = np.asarray(gaps, dtype=float)
    ok = (labels >= 0) & np.isfinite(gaps)
    lab, metal = labels[ok], gaps[ok] < metal_gap
    rows = []
    for c in np.unique(lab):
        m = metal[lab == c]
        rows.append((int(c), len(m), int(m.sum()), float(np.median(gaps[ok][lab == c])),
                     bool(m.all() or not m.any())))
    per = pd.DataFrame(rows, columns=["cluster", "size", "n_metal", "median_gap", "pure"])
    n = len(per)
    if n == 0:
        return {"n_clusters": 0, "n_pure": 0, "fraction_pure": np.nan, "expected_pure": np.nan,
                "p_value": np.nan, "metal_fraction": np.nan, "table": per}
    rng = np.random.default_rng(seed)
    pure_counts = np.empty(n_permutations)
    for i in range(n_permutations):
        shuffled = rng.permutation(metal)
        pure = 0
        for c in per.cluster:
            m = shuffled[lab == c]
            pure += bool(m.all() or not m.any())
        pure_counts[i] = pure
    n_pure = int(per.pure.sum())
    return {"n_clusters": n, "n_pure": n_pure, "fraction_pure": n_pure / n,
            "expected_pure": float(pure_counts.mean()), "p_value": float((pure_counts >= n_pure).mean()),
            "metal_fraction": float(metal.mean()), "table": per}


def cluster_variance_share(labels, values, n_permutations: int = N_PERMUTATIONS, seed: int = SEED) -> dict:
    """How much of the spread of a number per material (e.g. the count of flat bands near E_F) lies between
    clusters: eta squared = between-cluster sum of squares / total sum of squares, over the clustered
    materials, against the same for the values shuffled over the clusters (``n_permutations``, seeded).

    Returns
    -------
    dict: eta2, expected_eta2 (mean under shuffling), p_value (share of shufflings at least as large, +1
    smoothed), n (clustered materials with a finite value); NaN when there is no spread or no cluster
    """
    labels = np.asarray(labels)
    values = np.asarray(values, dtype=float)
    ok = (labels >= 0) & np.isfinite(values)
    lab, v = labels[ok], values[ok]
    nan = {"eta2": np.nan, "expected_eta2": np.nan, "p_value": np.nan, "n": int(ok.sum())}
    total = float(((v - v.mean()) ** 2).sum()) if len(v) else 0.0
    if total == 0.0 or len(np.unique(lab)) < 2:
        return nan
    _, inverse = np.unique(lab, return_inverse=True)
    sizes = np.bincount(inverse)

    def eta2(x):
        means = np.bincount(inverse, weights=x) / sizes
        return float((sizes * (means - x.mean()) ** 2).sum() / total)

    observed = eta2(v)
    rng = np.random.default_rng(seed)
    shuffled = np.array([eta2(rng.permutation(v)) for _ in range(n_permutations)])
    return {"eta2": observed, "expected_eta2": float(shuffled.mean()),
            "p_value": float((np.sum(shuffled >= observed) + 1) / (n_permutations + 1)), "n": int(ok.sum())}


def neighbour_agreement(xy, classes) -> tuple[float, float]:
    """Share of materials whose nearest neighbour on the map has the same class, and the share expected
    if classes were scattered at random (sum of squared class fractions)."""
    from scipy.spatial import cKDTree

    xy = np.asarray(xy, dtype=float)
    classes = np.asarray(classes)
    if len(xy) < 2:
        return np.nan, np.nan
    _, idx = cKDTree(xy).query(xy, k=2)
    same = float((classes[idx[:, 1]] == classes).mean())
    fractions = np.array(list(Counter(classes.tolist()).values())) / len(classes)
    return same, float((fractions**2).sum())

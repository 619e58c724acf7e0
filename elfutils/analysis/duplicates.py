"""Candidate duplicate entries (Results, "Duplicate detection"; Table 1).

A candidate duplicate is a pair of materials with the same reduced formula whose fingerprints are closer
(Minkowski, p = 0.2) than a threshold. The paper gives no threshold; ours comes from the distribution of the
nearest-neighbour (NN) distances of all materials, whatever their formula:

* ``"mad"`` (default): a low outlier of log NN distance, ``log t = median - k * 1.4826 * MAD`` of the log NN
  distances with k = 3 -- a pair counts when its band structures are far closer than materials usually are
  to their nearest neighbour. Robust: it does not move with the number of duplicates (up to half the data).
* ``"percentile"``: the q-th percentile (default 5) of the NN distances. Simple, but it cuts through the
  duplicates themselves when they are more than q% of the materials.

An explicit threshold overrides both.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from elfutils.constants import MINKOWSKI_P, PAPER_TABLE1_DUPLICATES

DUPLICATE_MAD_K = 3.0  # our choice (see module docstring), not the paper's
DUPLICATE_NN_PERCENTILE = 5.0  # ditto, for method="percentile"


@cache
def reduced_formula(formula: str) -> str:
    """Reduced formula in pymatgen's canonical order ("I3N" -> "NI3", "Zn2Se2" -> "ZnSe")."""
    from pymatgen.core import Composition

    try:
        return Composition(str(formula)).reduced_formula
    except (ValueError, KeyError, TypeError):
        return str(formula).strip()


def nearest_neighbour_distances(distances) -> np.ndarray:
    """Distance of each material to its nearest other material.

    Parameters
    ----------
    distances : array (N, N)

    Returns
    -------
    ndarray (N,)
    """
    D = np.array(distances, dtype=np.float64)
    np.fill_diagonal(D, np.inf)
    return D.min(axis=1)


def nn_threshold(distances, method: str = "mad", k: float = DUPLICATE_MAD_K,
                 percentile: float = DUPLICATE_NN_PERCENTILE) -> tuple[float, str]:
    """Duplicate threshold from the nearest-neighbour distances (see module docstring).

    Returns
    -------
    threshold : float
    rule : str, a one-line description of how it was chosen
    """
    nn = nearest_neighbour_distances(distances)
    if method == "percentile":
        if not 0 <= percentile <= 100:
            raise ValueError(f"percentile must be in [0, 100], got {percentile}")
        rule = f"{percentile:g}th percentile of nearest-neighbour distances"
        return float(np.percentile(nn, percentile)), rule
    if method != "mad":
        raise ValueError(f"method must be 'mad' or 'percentile', got {method!r}")
    if not k >= 0:
        raise ValueError(f"k must be >= 0, got {k}")
    logs = np.log(nn[nn > 0])
    if logs.size == 0:
        return 0.0, "all nearest-neighbour distances are 0"
    median = np.median(logs)
    mad = 1.4826 * np.median(np.abs(logs - median))
    return float(np.exp(median - k * mad)), f"median - {k:g} MAD of log nearest-neighbour distances"


def same_formula_pairs(df: pd.DataFrame, distances) -> pd.DataFrame:
    """Every pair of materials sharing a reduced formula, with their fingerprint distance.

    Returns
    -------
    DataFrame sorted by distance: formula (reduced), material_id_a, material_id_b, formula_a, formula_b,
    distance
    """
    D = np.asarray(distances)
    reduced = df["formula"].map(reduced_formula).to_numpy()
    ids = df["material_id"].astype(str).to_numpy()
    forms = df["formula"].astype(str).to_numpy()
    rows = []
    for formula, idx in pd.Series(np.arange(len(df))).groupby(reduced):
        idx = idx.to_numpy()
        if len(idx) < 2:
            continue
        i, j = np.triu_indices(len(idx), k=1)
        a, b = idx[i], idx[j]
        rows.append(
            pd.DataFrame(
                {
                    "formula": formula,
                    "material_id_a": ids[a],
                    "material_id_b": ids[b],
                    "formula_a": forms[a],
                    "formula_b": forms[b],
                    "distance": D[a, b],
                }
            )
        )
    columns = ["formula", "material_id_a", "material_id_b", "formula_a", "formula_b", "distance"]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.concat(rows, ignore_index=True).sort_values(["distance", "formula"], ignore_index=True)


def _pair_key(a, b) -> frozenset:
    return frozenset((str(a), str(b)))


@dataclass
class DuplicateResult:
    """Outcome of :func:`find_duplicates`.

    candidates : DataFrame, the candidate pairs ranked by distance (rank 1 = closest), with
        ``in_paper_table1``
    threshold : float, the distance threshold used
    threshold_rule : str, how it was chosen
    all_pairs : DataFrame, every same-formula pair with its distance (for histograms)
    table1 : DataFrame, the paper's Table 1 pairs: present in the data, distance, rank, found
    """

    candidates: pd.DataFrame
    threshold: float
    threshold_rule: str
    all_pairs: pd.DataFrame
    table1: pd.DataFrame

    @property
    def candidate_entries(self) -> int:
        """Distinct materials in the candidate pairs: what the paper counts ("up to 40 potential duplicate
        entries"); n pairs can hold up to 2n entries."""
        return len(set(self.candidates["material_id_a"]) | set(self.candidates["material_id_b"]))


def find_duplicates(
    df: pd.DataFrame,
    threshold: float | None = None,
    method: str = "mad",
    k: float = DUPLICATE_MAD_K,
    percentile: float = DUPLICATE_NN_PERCENTILE,
    p: float = MINKOWSKI_P,
    distances=None,
) -> DuplicateResult:
    """Candidate duplicate pairs: same reduced formula and fingerprint distance <= threshold.

    Parameters
    ----------
    df : fingerprint table (material_id, formula, f0..f97)
    threshold : float, optional; default from the nearest-neighbour distances by ``method`` ("mad" with
        ``k``, or "percentile" with ``percentile``)
    distances : array (N, N), optional precomputed Minkowski distances of ``df``
    """
    from elfutils.analysis.cluster import _check_distances, minkowski_distances
    from elfutils.analysis.fingerprints import fingerprint_matrix

    X = fingerprint_matrix(df)
    D = minkowski_distances(X, p=p) if distances is None else _check_distances(distances, len(X))
    if threshold is None:
        threshold, rule = nn_threshold(D, method, k, percentile)
    else:
        if not threshold >= 0:
            raise ValueError(f"threshold must be >= 0, got {threshold}")
        rule = "given"
    pairs = same_formula_pairs(df, D)
    paper = {_pair_key(a, b) for a, b in PAPER_TABLE1_DUPLICATES.values()}
    pairs["in_paper_table1"] = [
        _pair_key(a, b) in paper for a, b in zip(pairs["material_id_a"], pairs["material_id_b"], strict=True)
    ]
    candidates = pairs[pairs["distance"] <= threshold].copy()
    candidates.insert(0, "rank", np.arange(1, len(candidates) + 1))
    return DuplicateResult(
        candidates.reset_index(drop=True),
        float(threshold),
        rule,
        pairs,
        table1_check(df, D, pairs, threshold),
    )


def table1_check(df: pd.DataFrame, distances, pairs: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """For each pair of the paper's Table 1: are both materials in the data, and is the pair found?

    Parameters
    ----------
    df : fingerprint table; distances : array (N, N) of its fingerprints
    pairs : :func:`same_formula_pairs` of ``df``

    Returns
    -------
    DataFrame: formula, material_id_a, material_id_b, present (both in the data), same_formula (in our
    data), distance (NaN if absent), rank among all same-formula pairs by distance (NaN if not one),
    found (same formula and distance <= threshold)
    """
    D = np.asarray(distances)
    index = {m: i for i, m in enumerate(df["material_id"].astype(str))}
    rank_of = {
        _pair_key(a, b): r for r, (a, b) in enumerate(zip(pairs["material_id_a"], pairs["material_id_b"],
                                                          strict=True), 1)
    }
    rows = []
    for formula, (a, b) in PAPER_TABLE1_DUPLICATES.items():
        present = a in index and b in index
        distance = float(D[index[a], index[b]]) if present else np.nan
        rank = rank_of.get(_pair_key(a, b), np.nan)
        same = present and not np.isnan(rank)
        rows.append(
            {
                "formula": formula,
                "material_id_a": a,
                "material_id_b": b,
                "present": present,
                "same_formula": same,
                "distance": distance,
                "rank": rank,
                "found": bool(same and distance <= threshold),
            }
        )
    return pd.DataFrame(rows)

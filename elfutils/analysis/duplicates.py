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
    return threshold_from_nn(nearest_neighbour_distances(distances), method, k, percentile)


def threshold_from_nn(nn, method: str = "mad", k: float = DUPLICATE_MAD_K,
                      percentile: float = DUPLICATE_NN_PERCENTILE) -> tuple[float, str]:
    """:func:`nn_threshold` from the nearest-neighbour distances themselves (the graph path has them without
    the matrix)."""
    nn = np.asarray(nn, dtype=np.float64)
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


def same_formula_pairs(df: pd.DataFrame, distances=None, *, X=None, graph=None,
                       p: float = MINKOWSKI_P) -> pd.DataFrame:
    """Every pair of materials sharing a reduced formula, with their fingerprint distance.

    Parameters
    ----------
    df : fingerprint table
    distances : array (N, N) of its fingerprints; or, without the matrix (the graph path):
    X : array (N, d), the fingerprints, whose pairs' distances are then computed exactly, group by group
    graph : :class:`elfutils.analysis.neighbors.KnnGraph`, optional with ``X``; a formula shared by more than
        :data:`FORMULA_GROUP_EXACT_MAX` materials contributes only its pairs that are graph neighbours

    Returns
    -------
    DataFrame sorted by distance: formula (reduced), material_id_a, material_id_b, formula_a, formula_b,
    distance
    """
    distance_of = _distance_lookup(distances, X, p)
    reduced = df["formula"].map(reduced_formula).to_numpy()
    ids = df["material_id"].astype(str).to_numpy()
    forms = df["formula"].astype(str).to_numpy()
    neighbours = None if graph is None else graph.edges()[:2]
    rows = []
    for formula, idx in pd.Series(np.arange(len(df))).groupby(reduced):
        idx = idx.to_numpy()
        if len(idx) < 2:
            continue
        if neighbours is not None and len(idx) > FORMULA_GROUP_EXACT_MAX:
            a, b = neighbours
            inside = np.isin(a, idx) & np.isin(b, idx)
            a, b = a[inside], b[inside]
        else:
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
                    "distance": distance_of(a, b),
                }
            )
        )
    columns = ["formula", "material_id_a", "material_id_b", "formula_a", "formula_b", "distance"]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.concat(rows, ignore_index=True).sort_values(["distance", "formula"], ignore_index=True)


FORMULA_GROUP_EXACT_MAX = 1000  # graph path: larger formula groups give only their neighbour pairs
DUPLICATE_GRAPH_K = 5  # the threshold needs only each material's nearest neighbour: a small graph is cheaper


def _distance_lookup(distances, X, p):
    """``f(a, b)`` -> distances of the pairs (a[e], b[e]): from the matrix, or computed exactly from X."""
    if distances is not None:
        D = np.asarray(distances)
        return lambda a, b: D[a, b]
    if X is None:
        raise ValueError("same_formula_pairs needs the distance matrix or the fingerprints")
    from elfutils.analysis.neighbors import pair_distances_exact

    return lambda a, b: pair_distances_exact(X, a, b, p) if len(a) else np.zeros(0)


def _pair_key(a, b) -> frozenset:
    return frozenset((str(a), str(b)))


NN_UNIT_COLUMN = "distance (× median NN)"  # a distance over the median nearest-neighbour distance


@dataclass
class DuplicateResult:
    """Outcome of :func:`find_duplicates`.

    candidates : DataFrame, the candidate pairs ranked by distance (rank 1 = closest), with
        ``in_paper_table1``
    threshold : float, the distance threshold used
    threshold_rule : str, how it was chosen
    all_pairs : DataFrame, every same-formula pair with its distance (for histograms)
    table1 : DataFrame, the paper's Table 1 pairs: present in the data, distance, rank, found
    median_nn : float, the median distance from a material to its nearest neighbour: the unit in which a
        reader can judge a distance (raw Minkowski distances of fingerprints run to ~1e10)
    """

    candidates: pd.DataFrame
    threshold: float
    threshold_rule: str
    all_pairs: pd.DataFrame
    table1: pd.DataFrame
    median_nn: float = float("nan")

    def in_nn_units(self, distance):
        """``distance`` (a number or an array) over :attr:`median_nn`."""
        out = np.asarray(distance, dtype=float) / self.median_nn
        return out if out.ndim else float(out)

    def readable(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (pairs with a ``distance`` column) with the distance in units of :attr:`median_nn`, in a
        column named :data:`NN_UNIT_COLUMN` where ``distance`` was."""
        out = frame.copy()
        if "distance" in out:
            out["distance"] = self.in_nn_units(out["distance"].to_numpy(dtype=float)).round(3)
            out = out.rename(columns={"distance": NN_UNIT_COLUMN})
        return out

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
    scale: str = "auto",
    graph=None,
) -> DuplicateResult:
    """Candidate duplicate pairs: same reduced formula and fingerprint distance <= threshold.

    Parameters
    ----------
    df : fingerprint table (material_id, formula, f0..f97)
    threshold : float, optional; default from the nearest-neighbour distances by ``method`` ("mad" with
        ``k``, or "percentile" with ``percentile``)
    distances : array (N, N), optional precomputed Minkowski distances of ``df`` (implies the dense path)
    scale : "auto", "dense" or "graph" (:func:`elfutils.analysis.neighbors.resolve_scale`). The graph path
        takes the nearest-neighbour distances from the k-nearest-neighbour graph (``graph``, or built) and
        computes the same-formula pairs' distances exactly: the same candidates without the N x N matrix.
    """
    from elfutils.analysis.cluster import _check_distances, minkowski_distances
    from elfutils.analysis.fingerprints import fingerprint_matrix
    from elfutils.analysis.neighbors import knn_graph, resolve_scale

    X = fingerprint_matrix(df)
    dense = distances is not None or (graph is None and resolve_scale(len(X), scale) == "dense")
    if dense:
        D = minkowski_distances(X, p=p) if distances is None else _check_distances(distances, len(X))
        nn = nearest_neighbour_distances(D)
        pairs = same_formula_pairs(df, D)
    else:
        D = None
        graph = graph if graph is not None else knn_graph(X, DUPLICATE_GRAPH_K, p)
        nn = graph.distances[:, 0]
        pairs = same_formula_pairs(df, X=X, graph=graph, p=p)
    if threshold is None:
        threshold, rule = threshold_from_nn(nn, method, k, percentile)
    else:
        if not threshold >= 0:
            raise ValueError(f"threshold must be >= 0, got {threshold}")
        rule = "given"
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
        table1_check(df, D, pairs, threshold, X=None if dense else X, p=p),
        float(np.median(nn)) if len(nn) else float("nan"),
    )


def table1_check(df: pd.DataFrame, distances, pairs: pd.DataFrame, threshold: float, *, X=None,
                 p: float = MINKOWSKI_P) -> pd.DataFrame:
    """For each pair of the paper's Table 1: are both materials in the data, and is the pair found?

    Parameters
    ----------
    df : fingerprint table; distances : array (N, N) of its fingerprints, or None with ``X`` (the
        fingerprints; the pairs' distances are then computed exactly)
    pairs : :func:`same_formula_pairs` of ``df``

    Returns
    -------
    DataFrame: formula, material_id_a, material_id_b, present (both in the data), same_formula (in our
    data), distance (NaN if absent), rank among all same-formula pairs by distance (NaN if not one),
    found (same formula and distance <= threshold)
    """
    distance_of = _distance_lookup(distances, X, p)
    index = {m: i for i, m in enumerate(df["material_id"].astype(str))}
    rank_of = {
        _pair_key(a, b): r for r, (a, b) in enumerate(zip(pairs["material_id_a"], pairs["material_id_b"],
                                                          strict=True), 1)
    }
    rows = []
    for formula, (a, b) in PAPER_TABLE1_DUPLICATES.items():
        present = a in index and b in index
        distance = float(distance_of(np.array([index[a]]), np.array([index[b]]))[0]) if present else np.nan
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

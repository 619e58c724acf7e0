"""Similarity search in fingerprint space (Results: candidates flagged by their similarity to well-studied
exemplars, e.g. ZnMoO4 and Tl2SiSe3 next to Bi2O3 in cluster 46).

Nearest materials by the same Minkowski distance (p = 0.2) the clustering uses, plus the HDBSCAN cluster a
query would join (:meth:`elfutils.analysis.cluster.FingerprintHDBSCAN.predict`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from elfutils.analysis.fingerprints import as_matrix, fingerprint_matrix
from elfutils.constants import FINGERPRINT_LENGTH, MINKOWSKI_P, SEED


def find_similar(
    queries,
    table: pd.DataFrame,
    k: int = 10,
    p: float = MINKOWSKI_P,
    clusterer=None,
    query_ids=None,
    exclude_ids: bool = True,
    index=None,
    query_files=None,
    reference=None,
) -> pd.DataFrame:
    """The k nearest materials of each query fingerprint.

    Parameters
    ----------
    queries : array (98,) or (M, 98), or a fingerprint table (its ``material_id`` names the queries)
    table : fingerprint table to search (material_id, formula, f0..f97; an ``hdbscan_label`` column, e.g.
        from :func:`elfutils.analysis.cluster.fit_pipeline` merged in, is carried along)
    k : number of neighbours per query
    clusterer : fitted :class:`elfutils.analysis.cluster.FingerprintHDBSCAN` on ``table``, optional; adds the
    cluster
        each query would join and its membership probability
    query_ids : names of the queries (default the table's ids, else "query0", ...)
    exclude_ids : leave a query's own material out of its neighbours when it is in ``table`` (a dataset member
        searching its peers); False keeps it, marked in ``same_id`` (a user's file of a material that the
        dataset also holds: that twin is usually the best answer)
    index : :class:`elfutils.analysis.neighbors.SimilarityIndex` of ``table``, optional; searches through it
        (approximate, for large tables) instead of comparing each query with every material
    query_files : where each query came from (e.g. its path), optional: a ``query_file`` column beside
        ``query``, which tells apart two queries of one material (same id)
    reference : the table's :func:`pair_distances` (:attr:`Calibration.reference`) when already at hand, else
        computed here

    Returns
    -------
    DataFrame with M * k rows: query[, query_file], rank (1 = nearest), material_id, formula, distance,
    same_id, closer_pairs_percent (the share of the table's own pairs of materials that are closer than this
    distance: a scale a reader can judge, where the raw Minkowski p = 0.2 value is astronomically large)
    [, hdbscan_label] [, query_cluster, query_probability], ordered by query then rank.
    """
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if isinstance(queries, pd.DataFrame):
        if query_ids is None and "material_id" in queries.columns:
            query_ids = queries["material_id"].astype(str).tolist()
        Q = fingerprint_matrix(queries)
    else:
        Q = np.asarray(queries, dtype=np.float64)
        Q = as_matrix(Q[None, :] if Q.ndim == 1 else Q, FINGERPRINT_LENGTH)
    if query_ids is None:
        query_ids = [f"query{i}" for i in range(len(Q))]
    query_ids = [str(q) for q in query_ids]
    if len(query_ids) != len(Q):
        raise ValueError(f"{len(query_ids)} query ids for {len(Q)} query fingerprints")
    if query_files is not None and len(query_files) != len(Q):
        raise ValueError(f"{len(query_files)} query files for {len(Q)} query fingerprints")

    X = fingerprint_matrix(table)
    ids = table["material_id"].astype(str).to_numpy()
    formulas = table["formula"].astype(str).to_numpy()
    nearest, distances = _nearest(Q, X, ids, query_ids, min(k, len(X)), p, exclude_ids, index)
    if reference is None:  # once for all queries: the scale of closer_pairs_percent
        reference = pair_distances(X, p)
    rows = []
    for qi, query in enumerate(query_ids):
        found = nearest[qi] >= 0
        order, dist = nearest[qi][found], distances[qi][found]
        rows.append(
            pd.DataFrame(
                {
                    "query": query,
                    "rank": np.arange(1, len(order) + 1),
                    "material_id": ids[order],
                    "formula": formulas[order],
                    "distance": dist,
                    "same_id": ids[order] == query,
                    "closer_pairs_percent": closer_pairs_percent(dist, X, p, reference=reference),
                }
            )
        )
        if "hdbscan_label" in table.columns:
            rows[-1]["hdbscan_label"] = table["hdbscan_label"].to_numpy()[order]
        if query_files is not None:
            rows[-1].insert(1, "query_file", str(query_files[qi]))
    result = pd.concat(rows, ignore_index=True)
    if clusterer is not None:
        labels, probs = clusterer.predict(Q)
        by_query = dict(zip(query_ids, zip(labels, probs, strict=True), strict=True))
        result["query_cluster"] = [int(by_query[q][0]) for q in result["query"]]
        result["query_probability"] = [float(by_query[q][1]) for q in result["query"]]
    return result


def _nearest(Q, X, ids, query_ids, k, p, exclude_ids, index):
    """(indices, distances), each (M, k), nearest first; -1 / inf pad rows with fewer than k found."""
    if index is None:  # exact: every query against every material
        from elfutils.analysis.cluster import minkowski_distances

        D = minkowski_distances(Q, X, p=p)
        if exclude_ids:
            D[np.asarray(query_ids)[:, None] == ids[None, :]] = np.inf
        nearest = np.argsort(D, axis=1, kind="stable")[:, :k]
        dist = np.take_along_axis(D, nearest, axis=1)
        return np.where(np.isfinite(dist), nearest, -1), dist
    if len(index) != len(X):
        raise ValueError(f"the similarity index holds {len(index)} materials, the table {len(X)}")
    extra = 1 if exclude_ids else 0  # a query's own material takes one place, dropped below
    nearest, dist = index.query(Q, k=min(k + extra, len(X)))
    if exclude_ids:
        own = (nearest >= 0) & (ids[np.maximum(nearest, 0)] == np.asarray(query_ids)[:, None])
        dist = np.where(own, np.inf, dist)
        order = np.argsort(dist, axis=1, kind="stable")
        nearest, dist = np.take_along_axis(nearest, order, 1), np.take_along_axis(dist, order, 1)
        nearest = np.where(np.isfinite(dist), nearest, -1)
    return nearest[:, :k], dist[:, :k]


PAIR_SAMPLE = 100_000  # pairs of table materials behind closer_pairs_percent (seeded; exact below that)


def pair_distances(X: np.ndarray, p: float = MINKOWSKI_P, n_pairs: int = PAIR_SAMPLE,
                   seed: int = SEED) -> np.ndarray:
    """Sorted distances of distinct pairs of rows of ``X``: every pair when there are at most ``n_pairs``,
    else a seeded sample of that many (so the cost does not grow with N squared)."""
    n = len(X)
    if n < 2:
        return np.zeros(0)
    if n * (n - 1) // 2 <= n_pairs:
        i, j = np.triu_indices(n, k=1)
    else:
        rng = np.random.default_rng(seed)
        i = rng.integers(0, n, n_pairs)
        j = (i + rng.integers(1, n, n_pairs)) % n  # never i itself
    diff = np.abs(X[i] - X[j]) ** p
    return np.sort(diff.sum(axis=1) ** (1.0 / p))


def closer_pairs_percent(distances, X: np.ndarray, p: float = MINKOWSKI_P, reference=None) -> np.ndarray:
    """For each distance, the percentage of the table's pairs of materials (:func:`pair_distances`, or the
    ``reference`` already computed from them) that are closer: 0.1 means closer than 99.9 % of all pairs."""
    ref = pair_distances(X, p) if reference is None else reference
    if len(ref) == 0:
        return np.full(len(np.atleast_1d(distances)), np.nan)
    return 100.0 * np.searchsorted(ref, np.asarray(distances, dtype=float), side="left") / len(ref)


NEAREST_SAMPLE = 200  # table materials whose own nearest neighbour calibrates closer_pairs_percent (seeded)


def nearest_neighbour_percent(X: np.ndarray, p: float = MINKOWSKI_P, reference=None, index=None,
                              n_sample: int = NEAREST_SAMPLE, seed: int = SEED) -> np.ndarray:
    """:func:`closer_pairs_percent` of the nearest neighbour of each of a seeded sample of the table's own
    materials (at most ``n_sample``; through ``index``, a
    :class:`~elfutils.analysis.neighbors.SimilarityIndex` of ``X``, when given): what a good match scores in
    this table. For the embedded dataset the median is about 0.8, i.e. a material's closest look-alike is
    closer than 99 % of the dataset's pairs."""
    n = len(X)
    if n < 2:
        return np.zeros(0)
    rows = np.sort(np.random.default_rng(seed).choice(n, size=min(n_sample, n), replace=False))
    if index is None:
        from elfutils.analysis.cluster import minkowski_distances

        D = minkowski_distances(X[rows], X, p=p)
        D[np.arange(len(rows)), rows] = np.inf
        nearest = D.min(axis=1)
    else:
        found, dist = index.query(X[rows], k=min(2, n))
        dist = np.where(found == rows[:, None], np.inf, dist)  # the material itself
        nearest = dist.min(axis=1)
    return closer_pairs_percent(nearest, X, p, reference=reference)


@dataclass(frozen=True)
class Calibration:
    """How to read a search of one table: ``reference``, its :func:`pair_distances` (the scale of
    closer_pairs_percent), and ``own_nearest``, its :func:`nearest_neighbour_percent` (what a good match
    scores). The same for every search of the table, so worth keeping."""

    reference: np.ndarray
    own_nearest: np.ndarray

    def save(self, path) -> None:
        """Write both arrays as one npz, atomically."""
        from elfutils.io import atomic_write

        atomic_write(path, lambda fh: np.savez(fh, reference=self.reference, own_nearest=self.own_nearest))

    @classmethod
    def load(cls, path) -> Calibration:
        """A calibration written by :meth:`save` (``allow_pickle=False``); ValueError when the file is not
        one (missing, damaged or foreign)."""
        try:
            with np.load(path, allow_pickle=False) as kept:
                return cls(kept["reference"], kept["own_nearest"])
        except Exception as exc:  # a truncated npz raises BadZipFile or EOFError, not only OSError
            raise ValueError(f"{path}: not a saved search calibration ({exc})") from None


def calibrate(X: np.ndarray, p: float = MINKOWSKI_P, index=None) -> Calibration:
    """The :class:`Calibration` of a fingerprint matrix (through ``index`` as :func:`find_similar` would
    search it)."""
    reference = pair_distances(X, p)
    return Calibration(reference, nearest_neighbour_percent(X, p, reference=reference, index=index))


def encode_band_files(paths, model_path, device: str | None = None, zero: str | None = None,
                      figure=None) -> pd.DataFrame:
    """Band files -> fingerprint table, through the model's card: each file read with the card's energy-zero
    convention (``zero`` overrides it: "project" or "file"), drawn with the card's render settings and encoded
    (:class:`elfutils.nn.fingerprinter.Fingerprinter`). ``figure``: the energy range and path of
    band-structure figures (:class:`elfutils.data.figure_reader.FigureOptions`), as ``read_band_file`` takes
    them."""
    from elfutils.nn.fingerprinter import load_fingerprinter

    model = load_fingerprinter(model_path, device=device)
    return encode_records(read_query_files(paths, model, zero, figure), model, paths)


def read_query_files(paths, model, zero: str | None = None, figure=None) -> list:
    """Each band file read as ``model`` (a :class:`~elfutils.nn.fingerprinter.Fingerprinter`) needs it: with
    its card's energy-zero convention unless ``zero`` says otherwise; ``figure`` as ``read_band_file`` takes
    it."""
    from elfutils.data.readers import read_band_file

    return [read_band_file(p, zero=zero or model.settings.energy_zero, figure=figure) for p in paths]


def encode_records(records, model, paths=None) -> pd.DataFrame:
    """Records -> fingerprint table (material_id, formula, f0..), encoded by ``model``; a record without an id
    is named by its path."""
    from elfutils.analysis.fingerprints import make_table

    fingerprints = np.asarray(model.fingerprints(records), dtype=np.float64).reshape(len(records), -1)
    paths = paths if paths is not None else [""] * len(records)
    ids = [getattr(bs, "material_id", "") or str(p) for bs, p in zip(records, paths, strict=True)]
    formulas = [getattr(bs, "formula", "") or "" for bs in records]
    return make_table(ids, formulas, fingerprints)

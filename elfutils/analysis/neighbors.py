"""Nearest neighbours under the Minkowski distance (p = 0.2) without an N x N matrix.

The paper's analyses start from all pairwise distances: 30 MB for our 1950 materials, 80 GB for 100 000.
Above :data:`DENSE_MAX_N` materials (or when asked) they start from these instead:

* :func:`exact_knn` -- brute force in row chunks: a compiled kernel, float32 coordinates, float64 sums,
  memory ``chunk x N``. The reference for every approximate answer, and the graph up to
  :data:`EXACT_GRAPH_MAX_N` materials.
* :func:`knn_graph` -- each material's k nearest others; NN-descent (pynndescent, which accepts any
  Minkowski p) above :data:`EXACT_GRAPH_MAX_N`, with extra candidates for recall.
* :class:`SimilarityIndex` -- queries against a fixed table (``elf similar``): an inverted file. Materials
  are grouped by the nearest of ~sqrt(N) (at most 256) seeded centres; a query scans, exactly, the cells of
  its nearest centres. Saved as plain arrays (no pickle, nothing executed on load) and tied to the table by
  a sha256.

p < 1 is not a metric (no triangle inequality), so no method here prunes with distance bounds: the cells
and NN-descent only choose *which* materials to compare, the distances are always computed exactly.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from elfutils.constants import MINKOWSKI_P, SEED

DENSE_MAX_N = 5000  # auto: the exact N x N matrix up to here (every book dataset), the neighbour graph above
EXACT_GRAPH_MAX_N = 20_000  # graph by brute force up to here, NN-descent above (benchmarks/bench_scale.py)
GRAPH_K = 30  # neighbours per material; k = 15 missed spanning-tree edges on noisy seeded sets
NNDESCENT_EXTRA = 16  # candidates NN-descent keeps beyond k, dropped afterwards (recall@10 0.98 -> 0.998)
CHUNK_ENTRIES = 16_000_000  # distances held at once by the brute force (128 MB of float64)
INDEX_PROBE = 12  # cells a query scans in SimilarityIndex (recall in benchmarks/bench_scale.py)
INDEX_MAX_CELLS = 256  # more cells cost N x cells to build; at 1e6 fingerprints 256 keep a query ~40 ms
INDEX_FORMAT = 1
SCALES = ("auto", "dense", "graph")


def resolve_scale(n: int, scale: str = "auto") -> str:
    """``"dense"`` (the exact N x N matrix) or ``"graph"`` (neighbour graph) for ``n`` materials."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}; got {scale!r}")
    if scale == "auto":
        return "dense" if n <= DENSE_MAX_N else "graph"
    return scale


# --- the kernels (numba caches them on disk) ---------------------------------------------------------------
@numba.njit(parallel=True, fastmath=True, cache=True)
def _pow_sums(Q, X, p):
    """sum_k |q_k - x_k|^p for every pair of rows of Q and X."""
    out = np.empty((Q.shape[0], X.shape[0]), dtype=np.float64)
    for i in numba.prange(Q.shape[0]):
        for j in range(X.shape[0]):
            s = 0.0
            for d in range(Q.shape[1]):
                s += np.abs(Q[i, d] - X[j, d]) ** p
            out[i, j] = s
    return out


@numba.njit(parallel=True, fastmath=True, cache=True)
def _pair_pow_sums(X, rows, cols, p):
    """The same for listed pairs of rows of X (graph edges)."""
    out = np.empty(rows.shape[0], dtype=np.float64)
    for e in numba.prange(rows.shape[0]):
        s = 0.0
        for d in range(X.shape[1]):
            s += np.abs(X[rows[e], d] - X[cols[e], d]) ** p
        out[e] = s
    return out


@numba.njit(parallel=True, fastmath=True, cache=True)
def _scan_cells(q, X, starts, ends, p):
    """One query against the rows ``starts[c]:ends[c]`` of X, cell after cell."""
    sizes = ends - starts
    offsets = np.zeros(sizes.shape[0] + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(sizes)
    out = np.empty(offsets[-1], dtype=np.float64)
    for c in numba.prange(starts.shape[0]):
        for j in range(sizes[c]):
            s = 0.0
            for d in range(X.shape[1]):
                s += np.abs(q[d] - X[starts[c] + j, d]) ** p
            out[offsets[c] + j] = s
    return out


def _as_float32(X) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(X, dtype=np.float32))


def pair_distances_exact(X, rows, cols, p: float = MINKOWSKI_P) -> np.ndarray:
    """Minkowski distance of each listed pair ``(X[rows[e]], X[cols[e]])``."""
    X32 = _as_float32(X)
    sums = _pair_pow_sums(X32, np.asarray(rows, np.int64), np.asarray(cols, np.int64), np.float32(p))
    return sums ** (1.0 / p)


# --- exact neighbours --------------------------------------------------------------------------------------
def exact_knn(X, k: int, p: float = MINKOWSKI_P, queries=None) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest rows of ``X`` for each query, by brute force in chunks (memory ``chunk x N``).

    Parameters
    ----------
    X : array (N, d)
    k : int, neighbours per query (at most N, or N - 1 without ``queries``)
    queries : array (M, d), optional; without it each row of X is a query and is left out of its own list

    Returns
    -------
    indices : ndarray (M, k) int64, nearest first (ties by index)
    distances : ndarray (M, k) float64
    """
    X32 = _as_float32(X)
    self_query = queries is None
    Q32 = X32 if self_query else _as_float32(queries)
    if Q32.ndim != 2 or X32.ndim != 2 or Q32.shape[1] != X32.shape[1]:  # the kernel would read past a row
        raise ValueError(f"queries of shape {Q32.shape} against rows of shape {X32.shape}")
    n = len(X32)
    k = int(k)
    if not 1 <= k <= n - int(self_query):
        raise ValueError(f"k must be in 1..{n - int(self_query)} for {n} materials, got {k}")
    chunk = max(1, CHUNK_ENTRIES // max(n, 1))
    indices = np.empty((len(Q32), k), dtype=np.int64)
    distances = np.empty((len(Q32), k))
    for start in range(0, len(Q32), chunk):
        sums = _pow_sums(Q32[start:start + chunk], X32, np.float32(p))
        rows = np.arange(len(sums))
        if self_query:
            sums[rows, start + rows] = np.inf
        part = np.argpartition(sums, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (len(sums), 1))
        part_sums = sums[rows[:, None], part]
        order = np.lexsort((part, part_sums), axis=1)
        indices[start:start + len(sums)] = np.take_along_axis(part, order, axis=1)
        distances[start:start + len(sums)] = np.take_along_axis(part_sums, order, axis=1) ** (1.0 / p)
    return indices, distances


# --- the neighbour graph -----------------------------------------------------------------------------------
@dataclass
class KnnGraph:
    """Each material's k nearest other materials, nearest first: ``indices`` and ``distances`` (N, k)."""

    indices: np.ndarray
    distances: np.ndarray
    method: str

    @property
    def k(self) -> int:
        return self.indices.shape[1]

    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The graph as distinct undirected edges: (a, b, distance) with a < b, each pair once (a pair that
        lists each other appears once)."""
        n = len(self.indices)
        rows = np.repeat(np.arange(n), self.k)
        cols = self.indices.ravel()
        a, b = np.minimum(rows, cols), np.maximum(rows, cols)
        _, first = np.unique(a * n + b, return_index=True)
        return a[first], b[first], self.distances.ravel()[first]


def knn_graph(X, k: int = GRAPH_K, p: float = MINKOWSKI_P, method: str = "auto",
              seed: int = SEED) -> KnnGraph:
    """The k-nearest-neighbour graph of the rows of X under Minkowski p.

    ``method``: "exact" (brute force), "nndescent" (pynndescent with :data:`NNDESCENT_EXTRA` extra
    candidates; its edges' distances are then recomputed exactly), or "auto" (exact up to
    :data:`EXACT_GRAPH_MAX_N` rows).
    """
    n = len(X)
    k = min(int(k), n - 1)
    if k < 1:
        raise ValueError(f"need at least 2 materials for a neighbour graph, got {n}")
    if method == "auto":
        method = "exact" if n <= EXACT_GRAPH_MAX_N else "nndescent"
    if method == "exact":
        return KnnGraph(*exact_knn(X, k, p), method="exact")
    if method != "nndescent":
        raise ValueError(f"method must be 'auto', 'exact' or 'nndescent', got {method!r}")
    return KnnGraph(*_nndescent_knn(X, k, p, seed), method="nndescent")


def _nndescent_knn(X, k: int, p: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    import warnings

    from pynndescent import NNDescent

    X32 = _as_float32(X)
    n_candidates = min(k + 1 + NNDESCENT_EXTRA, len(X32) - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's and pynndescent's notes on threading and defaults
        found, _ = NNDescent(X32, metric="minkowski", metric_kwds={"p": p}, n_neighbors=n_candidates,
                             random_state=seed, compressed=True).neighbor_graph
    rows = np.repeat(np.arange(len(X32)), found.shape[1]).reshape(found.shape)
    usable = (found >= 0) & (found != rows)
    sums = np.full(found.shape, np.inf)
    sums[usable] = pair_distances_exact(X32, rows[usable], found[usable], p) ** p
    order = np.lexsort((found, sums), axis=1)[:, :k]
    indices = np.take_along_axis(found, order, axis=1).astype(np.int64)
    distances = np.take_along_axis(sums, order, axis=1) ** (1.0 / p)
    if not np.isfinite(distances).all():
        raise RuntimeError(f"NN-descent found fewer than {k} neighbours for some materials")
    return indices, distances


def neighbour_recall(approximate, exact) -> float:
    """Mean share of each row's exact neighbours that the approximate list also holds (recall@k, with k the
    exact lists' width)."""
    approximate, exact = np.asarray(approximate), np.asarray(exact)
    if len(approximate) != len(exact):
        raise ValueError(f"{len(approximate)} approximate rows against {len(exact)} exact ones")
    k = exact.shape[1]
    hits = [len(np.intersect1d(a[:k], e)) for a, e in zip(approximate, exact, strict=True)]
    return float(np.mean(hits) / k)


# --- the search index --------------------------------------------------------------------------------------
class IndexMismatch(ValueError):
    """A saved index that belongs to other fingerprints, another p or another format."""


def fingerprint_sha256(X) -> str:
    return hashlib.sha256(_as_float32(X).tobytes()).hexdigest()


class SimilarityIndex:
    """Nearest materials of a fixed fingerprint table for many queries (an inverted file, see module
    docstring).

    Build with :meth:`build`; :meth:`query` scans ``n_probe`` cells; :meth:`save` / :meth:`load` keep it
    beside the table.
    """

    def __init__(self, X, centres, order, offsets, p: float, seed: int):
        self.X = _as_float32(X)
        self.centres = _as_float32(centres)
        self.order = np.asarray(order, dtype=np.int64)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.p = float(p)
        self.seed = int(seed)
        self._cells = np.ascontiguousarray(self.X[self.order])  # rows in cell order: cells are slices

    @classmethod
    def build(cls, X, p: float = MINKOWSKI_P, n_cells: int | None = None, seed: int = SEED):
        """Cells around ``n_cells`` (default ~sqrt(N), at most :data:`INDEX_MAX_CELLS`) seeded random
        materials; each material joins the cell of its nearest centre."""
        X32 = _as_float32(X)
        n = len(X32)
        if n < 1:
            raise ValueError("cannot index an empty fingerprint table")
        n_cells = int(n_cells or min(max(1, round(np.sqrt(n))), INDEX_MAX_CELLS))
        n_cells = min(n_cells, n)
        centres = _seeded_centres(X32, n_cells, seed)
        cell, _ = exact_knn(centres, 1, p, queries=X32)
        order = np.argsort(cell[:, 0], kind="stable")
        offsets = np.searchsorted(cell[order, 0], np.arange(n_cells + 1))
        return cls(X32, centres, order, offsets, p, seed)

    def __len__(self) -> int:
        return len(self.X)

    def query(self, queries, k: int = 10, n_probe: int = INDEX_PROBE) -> tuple[np.ndarray, np.ndarray]:
        """The (approximately) k nearest table rows of each query.

        Returns
        -------
        indices : ndarray (M, k) int64 into the table, nearest first; -1 where the probed cells held fewer
            than k materials
        distances : ndarray (M, k) float64 (exact for the rows found; inf with -1)
        """
        Q = np.atleast_2d(_as_float32(queries))
        n_probe = max(1, min(int(n_probe), len(self.centres)))
        cells, _ = exact_knn(self.centres, n_probe, self.p, queries=Q)
        indices = np.full((len(Q), k), -1, dtype=np.int64)
        distances = np.full((len(Q), k), np.inf)
        for i, probe in enumerate(cells):
            starts, ends = self.offsets[probe], self.offsets[probe + 1]
            sums = _scan_cells(Q[i], self._cells, starts, ends, np.float32(self.p))
            rows = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)])
            take = min(k, len(rows))
            best = np.argpartition(sums, take - 1)[:take] if take < len(rows) else np.arange(len(rows))
            best = best[np.lexsort((self.order[rows[best]], sums[best]))]
            indices[i, :take] = self.order[rows[best]]
            distances[i, :take] = sums[best] ** (1.0 / self.p)
        return indices, distances

    # -- persistence: plain arrays and a JSON header --------------------------------------------------------
    def _header(self) -> dict:
        return {"format": INDEX_FORMAT, "kind": "elf similarity index (inverted file)", "p": self.p,
                "seed": self.seed, "n": len(self.X), "dim": int(self.X.shape[1]),
                "n_cells": len(self.centres), "fingerprints_sha256": fingerprint_sha256(self.X)}

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (npz) atomically: centres, cell order and offsets, and a JSON header that ties the
        index to its fingerprints (the fingerprints themselves stay in their table)."""
        from elfutils.io import atomic_write

        header = np.array(json.dumps(self._header()))
        return atomic_write(path, lambda fh: np.savez(fh, header=header, centres=self.centres,
                                                      order=self.order, offsets=self.offsets))

    @classmethod
    def load(cls, path: str | Path, X, p: float = MINKOWSKI_P) -> SimilarityIndex:
        """The index saved at ``path`` for fingerprints ``X``; :class:`IndexMismatch` when it was built for
        other fingerprints, another p or format, or when any of its arrays is damaged (rebuild then).

        Every array is checked before a compiled kernel sees it: the kernels index without bounds checks,
        so an offset out of range would read past the table (a crash), and NaN centres or a repeated row
        in ``order`` would give wrong neighbours silently."""
        header, centres, order, offsets = _read_index(path)
        X32 = _as_float32(X)
        problem = (_header_problem(header, X32, p) or _centres_problem(centres, header, X32)
                   or _order_problem(order, len(X32)) or _offsets_problem(offsets, len(centres), len(X32)))
        if problem:
            raise IndexMismatch(f"{path}: {problem}")
        return cls(X32, centres, order, offsets, p, header["seed"])


def _read_index(path) -> tuple[object, np.ndarray, np.ndarray, np.ndarray]:
    """(header, centres, order, offsets) as stored, unchecked; IndexMismatch for an unreadable file."""
    try:
        with np.load(path, allow_pickle=False) as f:
            header = json.loads(str(f["header"]))
            return header, f["centres"], f["order"], f["offsets"]
    except Exception as exc:  # whatever a damaged file raises (BadZipFile, EOFError, ...) means: rebuild
        problem = f"not a readable elf similarity index ({type(exc).__name__}: {exc})"
        raise IndexMismatch(f"{path}: {problem}") from None


def _header_problem(header, X32: np.ndarray, p: float) -> str | None:
    if not isinstance(header, dict):
        return "its header is not a JSON object"
    expected = {"format": INDEX_FORMAT, "p": float(p), "n": len(X32), "dim": int(X32.shape[1]),
                "fingerprints_sha256": fingerprint_sha256(X32)}
    wrong = [key for key, value in expected.items() if header.get(key) != value]
    if wrong:
        return f"built for other {', '.join(wrong)}"
    for key in ("n_cells", "seed"):
        if type(header.get(key)) is not int or header[key] < 0:
            return f"header {key} is {header.get(key)!r}, not an integer >= 0"
    if not 1 <= header["n_cells"] <= len(X32):
        return f"header n_cells {header['n_cells']} is not in 1..{len(X32)}"
    return None


def _centres_problem(centres: np.ndarray, header: dict, X32: np.ndarray) -> str | None:
    """The centres are the table rows the seed picks (see :meth:`SimilarityIndex.build`), so they are
    checked exactly: a perturbed centre would send queries to the wrong cells."""
    shape = (header["n_cells"], X32.shape[1])
    if centres.shape != shape or centres.dtype.kind != "f":
        return f"centres are {centres.dtype} {centres.shape}, expected float {shape}"
    if not np.isfinite(centres).all():
        return "centres hold NaN or infinite values"
    if not np.array_equal(centres, _seeded_centres(X32, header["n_cells"], header["seed"])):
        return "centres are not the table rows its seed picks"
    return None


def _order_problem(order: np.ndarray, n: int) -> str | None:
    if order.shape != (n,) or order.dtype.kind not in "iu":
        return f"order is {order.dtype} {order.shape}, expected integers ({n},)"
    if order.size and (order.min() < 0 or order.max() >= n):
        return f"order holds rows outside 0..{n - 1}"
    if (np.bincount(order.astype(np.int64), minlength=n) != 1).any():
        return "order repeats some rows and misses others (not a permutation)"
    return None


def _offsets_problem(offsets: np.ndarray, n_cells: int, n: int) -> str | None:
    if offsets.shape != (n_cells + 1,) or offsets.dtype.kind not in "iu":
        return f"offsets are {offsets.dtype} {offsets.shape}, expected integers ({n_cells + 1},)"
    if offsets[0] != 0 or offsets[-1] != n or (np.diff(offsets.astype(np.int64)) < 0).any():
        return f"offsets do not rise from 0 to {n}"
    return None


def _seeded_centres(X32: np.ndarray, n_cells: int, seed: int) -> np.ndarray:
    """The ``n_cells`` table rows that seed ``seed`` picks as centres."""
    return X32[np.sort(np.random.default_rng(seed).choice(len(X32), n_cells, replace=False))]


def index_path(table_path: str | Path) -> Path:
    """Where the index of a fingerprint table is cached: beside it, ``<table>.elfindex.npz``."""
    table_path = Path(table_path)
    return table_path.with_name(table_path.name + ".elfindex.npz")


def cached_index(table_path: str | Path, X, p: float = MINKOWSKI_P) -> tuple[SimilarityIndex, str]:
    """The table's saved index, or a new one built and saved beside it.

    Returns
    -------
    index : SimilarityIndex
    status : "loaded", "built" (none was there) or "rebuilt (<why>)"
    """
    path = index_path(table_path)
    status = "built"
    if path.exists():
        try:
            return SimilarityIndex.load(path, X, p), "loaded"
        except IndexMismatch as exc:
            status = f"rebuilt ({exc})"
    index = SimilarityIndex.build(X, p)
    try:
        index.save(path)
    except OSError as exc:  # a read-only folder: search anyway, say why nothing was cached
        status += f"; not cached ({exc})"
    return index, status

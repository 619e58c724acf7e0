"""The paper's multi-stage clustering module (Results and Methods, "Multi-stage clustering module";
Fig. 2, 3).

1. HDBSCAN on the 98-number fingerprints with the Minkowski distance, p = 0.2 (Nc = 5, Ns = 2).
2. UMAP of the same distances to 2-D (NN = 10, MD = 0.1); t-SNE as the alternative embedding.
3. DBSCAN on the UMAP coordinates of the materials HDBSCAN clustered (S_min = 5) for the shaded groups.

Why a precomputed distance matrix everywhere: Minkowski with p < 1 is not a metric (the triangle inequality
fails), so the KD-/ball-tree algorithms hdbscan picks for ``metric='minkowski'`` prune with bounds that do not
hold. With p = 0.2 they run without complaint but give different probabilities, and on spread-out data no
clusters at all where the exact computation finds them (checked against hdbscan 0.8.44). The exact pairwise
matrix (scipy ``pdist``, ~4 s for 2000 x 98) costs little at this size and is reused by UMAP, t-SNE, DBCV and
the parameter study, so every stage sees the same distances.

Above a few thousand materials that matrix stops fitting (80 GB for 100 000): there every stage runs from
the k-nearest-neighbour graph instead (``scale="graph"``, chosen automatically;
:mod:`elfutils.analysis.neighbors`, :mod:`elfutils.analysis.graph_hdbscan`), with the same answers
where both paths run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from elfutils.analysis.fingerprints import as_matrix, write_table
from elfutils.constants import (
    DBSCAN_MIN_SAMPLES,
    FINGERPRINT_LENGTH,
    HDBSCAN_MIN_CLUSTER_SIZE,
    HDBSCAN_MIN_SAMPLES,
    MINKOWSKI_P,
    SEED,
    UMAP_MIN_DIST,
    UMAP_N_NEIGHBORS,
)
from elfutils.io import atomic_write


# --- distances ---------------------------------------------------------------------------------------------
def minkowski_distances(X, Y=None, p: float = MINKOWSKI_P) -> np.ndarray:
    """Pairwise Minkowski distances ``(sum_k |x_k - y_k|^p)^(1/p)``.

    Parameters
    ----------
    X : array, shape (N, d)
    Y : array, shape (M, d), optional
        Without it, the symmetric ``(N, N)`` matrix of X with itself (computed once per pair).
    p : float > 0

    Returns
    -------
    ndarray, shape (N, N) or (N, M)
    """
    from scipy.spatial.distance import cdist, pdist, squareform

    if not p > 0:
        raise ValueError(f"p (Minkowski exponent) must be > 0, got {p}")
    X = np.asarray(X, dtype=np.float64)
    if Y is None:
        return squareform(pdist(X, "minkowski", p=p))
    return cdist(X, np.asarray(Y, dtype=np.float64), "minkowski", p=p)


def _check_distances(D, n: int) -> np.ndarray:
    D = np.asarray(D, dtype=np.float64)
    if D.shape != (n, n):
        raise ValueError(f"distances must be a ({n}, {n}) matrix for {n} materials; got shape {D.shape}")
    if not np.isfinite(D).all():
        raise ValueError("distances contain NaN or inf")
    return D


# --- HDBSCAN -----------------------------------------------------------------------------------------------
class FingerprintHDBSCAN:
    """HDBSCAN on fingerprints with the Minkowski distance, estimator-style.

    Parameters
    ----------
    min_cluster_size : int >= 2
        Nc, the smallest group HDBSCAN calls a cluster (paper: 5).
    min_samples : int >= 1
        Ns, neighbours defining a point's core distance (paper: 2).
    p : float > 0
        Minkowski exponent (paper: 0.2).
    cluster_selection_method : {"eom", "leaf"}
        hdbscan's default "eom" (excess of mass); the paper does not say otherwise.
    n_features : int or None
        Required fingerprint length (98); ``None`` for other vectors (structural fingerprints).
    scale : {"auto", "dense", "graph"}
        "dense": hdbscan on the exact N x N matrix; "graph": the same tree from the k-nearest-neighbour graph
        (:mod:`elfutils.analysis.graph_hdbscan`), memory ~N x k; "auto": dense up to
        :data:`elfutils.analysis.neighbors.DENSE_MAX_N` materials.

    Attributes
    ----------
    labels_ : ndarray (N,) int, cluster per material, -1 unclassified
    probabilities_ : ndarray (N,) membership probability (0 for unclassified)
    n_clusters_, n_unclassified_ : int
    condensed_tree_ : hdbscan CondensedTree (Fig. 2a; see :func:`cluster_tree_table`)
    core_distances_ : ndarray (N,) distance to the Ns-th nearest other material
    distances_ : ndarray (N, N) the Minkowski distances used (None on the graph path)
    scale_ : "dense" or "graph", the path taken; graph_ : the neighbour graph used (graph path), n_bridges_ :
        edges added to join its pieces
    mean_intra_distance_ : ndarray (N,) mean distance to the other members of the own cluster (NaN if noise);
        breaks ties of equal probability in :func:`exemplar_table`
    material_ids_, formulas_ : ndarray (N,) when fitted on a table, else None
    """

    def __init__(
        self,
        min_cluster_size: int = HDBSCAN_MIN_CLUSTER_SIZE,
        min_samples: int = HDBSCAN_MIN_SAMPLES,
        p: float = MINKOWSKI_P,
        cluster_selection_method: str = "eom",
        n_features: int | None = FINGERPRINT_LENGTH,
        scale: str = "auto",
    ):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.p = p
        self.cluster_selection_method = cluster_selection_method
        self.n_features = n_features
        self.scale = scale

    def _check_params(self) -> None:
        problems = []
        if not _is_int(self.min_cluster_size) or self.min_cluster_size < 2:
            problems.append(f"min_cluster_size (Nc) must be an integer >= 2, got {self.min_cluster_size!r}")
        if not _is_int(self.min_samples) or self.min_samples < 1:
            problems.append(f"min_samples (Ns) must be an integer >= 1, got {self.min_samples!r}")
        if not isinstance(self.p, (int, float, np.number)) or not self.p > 0:
            problems.append(f"p (Minkowski exponent) must be > 0, got {self.p!r}")
        if self.cluster_selection_method not in ("eom", "leaf"):
            problems.append(
                f"cluster_selection_method must be 'eom' or 'leaf', got {self.cluster_selection_method!r}"
            )
        if problems:
            raise ValueError("; ".join(problems))

    def fit(self, X, distances=None, graph=None) -> FingerprintHDBSCAN:
        """Cluster.

        Parameters
        ----------
        X : DataFrame (fingerprint table) or array, shape (N, n_features)
        distances : array (N, N), optional
            Precomputed Minkowski distances of X (the parameter study passes them to avoid recomputing);
            implies the dense path.
        graph : :class:`elfutils.analysis.neighbors.KnnGraph`, optional; the graph path's neighbours, if
            already computed
        """
        from elfutils.analysis.neighbors import resolve_scale

        self._check_params()
        table = X if isinstance(X, pd.DataFrame) else None
        X = as_matrix(X, self.n_features)
        n = len(X)
        if n <= self.min_samples:
            raise ValueError(f"need more than min_samples={self.min_samples} materials, got {n}")
        self.scale_ = "dense" if distances is not None else resolve_scale(n, self.scale)
        if graph is not None:
            self.scale_ = "graph"
        if self.scale_ == "dense":
            self._fit_dense(X, distances)
        else:
            self._fit_graph(X, graph)
        self.n_clusters_ = int(self.labels_.max() + 1) if (self.labels_ >= 0).any() else 0
        self.n_unclassified_ = int((self.labels_ < 0).sum())
        self.X_ = X
        self.material_ids_ = _column(table, "material_id")
        self.formulas_ = _column(table, "formula")
        self._prepare_prediction()
        return self

    def _fit_dense(self, X, distances) -> None:
        import hdbscan

        n = len(X)
        D = minkowski_distances(X, p=self.p) if distances is None else _check_distances(distances, n)
        model = hdbscan.HDBSCAN(
            min_cluster_size=int(self.min_cluster_size),
            min_samples=int(self.min_samples),
            metric="precomputed",  # see module docstring: p < 1 breaks the tree algorithms
            cluster_selection_method=self.cluster_selection_method,
        ).fit(D)
        self.labels_ = model.labels_.astype(int)
        self.probabilities_ = model.probabilities_.astype(float)
        self.condensed_tree_ = model.condensed_tree_
        self.hdbscan_ = model
        self.distances_ = D
        self.graph_, self.n_bridges_ = None, 0
        # hdbscan's own convention for precomputed input: the Ns-th smallest distance to another point
        k = min(n - 1, int(self.min_samples))
        self.core_distances_ = np.partition(D, k, axis=1)[:, k]
        self.mean_intra_distance_ = _mean_intra_distance(D, self.labels_)

    def _fit_graph(self, X, graph) -> None:
        from hdbscan.plots import CondensedTree

        from elfutils.analysis import graph_hdbscan
        from elfutils.analysis.neighbors import GRAPH_K, knn_graph

        if graph is None:
            graph = knn_graph(X, max(GRAPH_K, int(self.min_samples)), self.p)
        if len(graph.indices) != len(X):
            raise ValueError(f"the neighbour graph has {len(graph.indices)} rows for {len(X)} materials")
        self.core_distances_ = graph_hdbscan.core_distances(graph, int(self.min_samples))
        tree, self.n_bridges_ = graph_hdbscan.spanning_tree(X, graph, self.core_distances_, self.p)
        labels, probabilities, condensed = graph_hdbscan.tree_labels(
            tree, int(self.min_cluster_size), self.cluster_selection_method
        )
        self.labels_ = np.asarray(labels).astype(int)
        self.probabilities_ = np.asarray(probabilities).astype(float)
        self.condensed_tree_ = CondensedTree(condensed, self.labels_)
        self.hdbscan_ = None
        self.distances_ = None
        self.graph_ = graph
        self.mean_intra_distance_ = graph_hdbscan.mean_intra_distance(X, self.labels_, self.p)

    def fit_predict(self, X, distances=None) -> np.ndarray:
        return self.fit(X, distances).labels_

    # -- assignment of new points ---------------------------------------------------------------------------
    def _prepare_prediction(self) -> None:
        raw = self.condensed_tree_._raw_tree
        n = len(self.labels_)
        points = raw[raw["child"] < n]
        self._point_parent = np.empty(n, dtype=np.int64)
        self._point_lambda = np.empty(n)
        self._point_parent[points["child"]] = points["parent"]
        self._point_lambda[points["child"]] = points["lambda_val"]
        clusters = raw[raw["child_size"] > 1]
        self._cluster_parent = {int(c): (int(p), float(lam)) for p, c, lam in
                                zip(clusters["parent"], clusters["child"], clusters["lambda_val"],
                                    strict=True)}
        self._root = int(raw["parent"].min()) if len(raw) else n
        # condensed-tree cluster id -> final label. The selected cluster of label c is the ancestor of its
        # points whose subtree holds exactly the c points (a condensed-tree node's size is its subtree's).
        # Derived from labels_ rather than CondensedTree._select_clusters(), whose Python re-implementation
        # can break stability ties differently from the fit (seen with Nc = 2).
        size = {int(c): int(s) for c, s in zip(clusters["child"], clusters["child_size"], strict=True)}
        size[self._root] = n
        self._selected = []
        for c in range(self.n_clusters_):
            members = np.flatnonzero(self.labels_ == c)
            node = int(self._point_parent[members[0]])
            while size[node] < len(members) and node != self._root:
                node = self._cluster_parent[node][0]
            self._selected.append(node)
        children: dict[int, list[int]] = {}
        for child, (parent, _) in self._cluster_parent.items():
            children.setdefault(parent, []).append(child)
        node_label: dict[int, int] = {}
        for label, node in enumerate(self._selected):
            stack = [node]
            while stack:
                current = stack.pop()
                node_label[current] = label
                stack.extend(children.get(current, []))
        self._node_label = node_label
        clustered = self.labels_ >= 0
        mapped = np.array([node_label.get(int(c), -1) for c in self._point_parent[clustered]])
        if len(self._selected) != self.n_clusters_ or not np.array_equal(mapped, self.labels_[clustered]):
            raise RuntimeError("hdbscan's condensed tree does not match its labels; cannot build predict()")
        self._max_lambda = np.array(
            [self._point_lambda[self.labels_ == c].max() for c in range(self.n_clusters_)]
        )

    def predict(self, X_new) -> tuple[np.ndarray, np.ndarray]:
        """Assign new fingerprints to the fitted clusters without refitting.

        hdbscan's ``approximate_predict`` needs a KD/ball tree and refuses ``metric='precomputed'``, so this
        is the same rule done by brute force on exact distances: the new point's core distance is its
        distance to the Ns-th nearest fitted material; it attaches to the fitted material at the smallest
        mutual-reachability distance m, i.e. at density lambda = 1/m. It joins that neighbour's cluster if the
        cluster (or one of its ancestors that is a selected cluster) still exists at lambda -- walking up the
        condensed tree while a cluster was born at a lambda above the new point's -- and is noise if the walk
        ends above every selected cluster. Probability = min(lambda, lambda_max) / lambda_max of the cluster,
        as in hdbscan. Unlike hdbscan it also maps points of sub-clusters below a selected non-leaf cluster
        to that cluster (hdbscan's version returns noise there).

        Parameters
        ----------
        X_new : array (M, n_features) or fingerprint table

        Returns
        -------
        labels : ndarray (M,) int, -1 for noise
        probabilities : ndarray (M,)
        """
        if not hasattr(self, "labels_"):
            raise RuntimeError("FingerprintHDBSCAN is not fitted; call fit first")
        Q = as_matrix(X_new, self.X_.shape[1])
        D = minkowski_distances(Q, self.X_, p=self.p)
        k = min(int(self.min_samples), D.shape[1]) - 1
        core_q = np.partition(D, k, axis=1)[:, k]
        mr = np.maximum(np.maximum(D, core_q[:, None]), self.core_distances_[None, :])
        labels = np.full(len(Q), -1)
        probs = np.zeros(len(Q))
        for i, nn in enumerate(mr.argmin(axis=1)):
            m = mr[i, nn]
            lam = 1.0 / m if m > 0 else np.inf
            node = int(self._point_parent[nn])
            if self._point_lambda[nn] > lam:
                # the neighbour stays in `node` to a higher density than the new point reaches: go up to the
                # cluster that still exists at the new point's density
                while node != self._root:
                    parent, birth_lambda = self._cluster_parent[node]
                    if birth_lambda < lam:
                        break
                    node = parent
            label = self._node_label.get(node, -1)
            if label >= 0:
                lam_max = self._max_lambda[label]
                labels[i] = label
                if np.isinf(lam_max):  # exact duplicates inside the cluster
                    probs[i] = 1.0 if np.isinf(lam) else 0.0
                else:
                    probs[i] = min(lam, lam_max) / lam_max if lam_max > 0 else 1.0
        return labels, probs

    # -- persistence: plain arrays and a JSON header, as the checkpoints ------------------------------------
    _SAVED_ARRAYS = ("labels_", "probabilities_", "core_distances_", "X_", "mean_intra_distance_")
    _SAVED_PARAMS = ("min_cluster_size", "min_samples", "p", "cluster_selection_method", "n_features",
                     "scale")

    def save(self, path: str | Path) -> Path:
        """Write the fitted model for later ``predict`` calls: an npz of arrays (the fingerprints, labels,
        probabilities, core distances and the condensed tree's columns) with a JSON header of the parameters,
        written atomically. Nothing in it is executed on load. The (N, N) distance matrix and the neighbour
        graph are not kept: ``distances_`` and ``graph_`` are None after :meth:`load`.
        """
        if not hasattr(self, "labels_"):
            raise RuntimeError("FingerprintHDBSCAN is not fitted; call fit first")
        raw = self.condensed_tree_._raw_tree
        header = {"format": 1, "kind": "elf FingerprintHDBSCAN", "scale_": self.scale_,
                  "n_bridges_": int(self.n_bridges_),
                  **{name: getattr(self, name) for name in self._SAVED_PARAMS}}
        arrays = {name: getattr(self, name) for name in self._SAVED_ARRAYS}
        arrays.update({f"tree_{column}": np.asarray(raw[column]) for column in raw.dtype.names})
        for name in ("material_ids_", "formulas_"):
            if getattr(self, name) is not None:
                arrays[name] = np.asarray(getattr(self, name), dtype=str)
        payload = np.array(json.dumps(header, default=lambda v: v.item()))  # numpy scalars as numbers
        return atomic_write(path, lambda fh: np.savez(fh, header=payload, **arrays))

    @classmethod
    def load(cls, path: str | Path) -> FingerprintHDBSCAN:
        """A model written by :meth:`save` (``allow_pickle=False``: a file with objects in it is refused)."""
        from hdbscan.plots import CondensedTree

        try:
            with np.load(path, allow_pickle=False) as f:
                header = json.loads(str(f["header"]))
                arrays = {name: f[name] for name in f.files if name != "header"}
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"{path}: not a saved FingerprintHDBSCAN ({exc})") from None
        if header.get("kind") != "elf FingerprintHDBSCAN" or header.get("format") != 1:
            raise ValueError(f"{path}: not a saved FingerprintHDBSCAN (format {header.get('format')!r})")
        model = cls(**{name: header[name] for name in cls._SAVED_PARAMS})
        for name in cls._SAVED_ARRAYS:
            setattr(model, name, arrays[name])
        columns = [name[len("tree_"):] for name in arrays if name.startswith("tree_")]
        dtype = [(c, arrays[f"tree_{c}"].dtype) for c in columns]
        raw = np.empty(len(arrays[f"tree_{columns[0]}"]), dtype=dtype)
        for c in columns:
            raw[c] = arrays[f"tree_{c}"]
        model.labels_ = model.labels_.astype(int)
        model.condensed_tree_ = CondensedTree(raw, model.labels_)
        model.material_ids_ = arrays.get("material_ids_")
        model.formulas_ = arrays.get("formulas_")
        model.scale_, model.n_bridges_ = header["scale_"], header["n_bridges_"]
        model.distances_ = model.graph_ = model.hdbscan_ = None
        model.n_clusters_ = int(model.labels_.max() + 1) if (model.labels_ >= 0).any() else 0
        model.n_unclassified_ = int((model.labels_ < 0).sum())
        model._prepare_prediction()
        return model


def _column(table: pd.DataFrame | None, name: str) -> np.ndarray | None:
    if table is None or name not in table.columns:
        return None
    return table[name].astype(str).to_numpy()


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _mean_intra_distance(D: np.ndarray, labels: np.ndarray) -> np.ndarray:
    out = np.full(len(labels), np.nan)
    for c in np.unique(labels[labels >= 0]):
        idx = np.flatnonzero(labels == c)
        out[idx] = D[np.ix_(idx, idx)].sum(axis=1) / max(len(idx) - 1, 1)
    return out


# --- results as tables -------------------------------------------------------------------------------------
def cluster_tree_table(model: FingerprintHDBSCAN) -> pd.DataFrame:
    """The cluster-level condensed tree (Fig. 2a) as a tidy table, one row per cluster split.

    Returns
    -------
    DataFrame with columns
        parent, child : condensed-tree node ids (the root is the smallest parent)
        lambda : 1/distance at which ``child`` splits off ``parent``
        distance : 1/lambda (Minkowski distance scale of the split)
        size : number of materials in ``child``
        selected : whether ``child`` is one of the final clusters
        label : the final cluster label of ``child`` (-1 for nodes above the selected clusters)
    """
    raw = model.condensed_tree_._raw_tree
    rows = raw[raw["child_size"] > 1]
    selected = set(model._selected)
    lam = rows["lambda_val"].astype(float)
    with np.errstate(divide="ignore"):
        dist = np.where(lam > 0, 1.0 / np.where(lam > 0, lam, 1.0), np.inf)
    return pd.DataFrame(
        {
            "parent": rows["parent"].astype(int),
            "child": rows["child"].astype(int),
            "lambda": lam,
            "distance": dist,
            "size": rows["child_size"].astype(int),
            "selected": [int(c) in selected for c in rows["child"]],
            "label": [model._node_label.get(int(c), -1) for c in rows["child"]],
        }
    )


def exemplar_table(model: FingerprintHDBSCAN, material_ids=None, formulas=None) -> pd.DataFrame:
    """Materials of each cluster ordered by membership probability: rank 1 is the cluster's top exemplar.

    Equal probabilities (hdbscan gives 1.0 to every point that stays until the cluster dissolves) are
    ordered by mean distance to the other members, smallest first, then by material id.

    Parameters
    ----------
    material_ids, formulas : sequences (N,), optional; default those of the fitted table (or row numbers)

    Returns
    -------
    DataFrame with columns cluster, rank, material_id, formula, probability (unclassified left out)
    """
    n = len(model.labels_)
    ids = material_ids if material_ids is not None else model.material_ids_
    ids = np.asarray(ids if ids is not None else [str(i) for i in range(n)]).astype(str)
    forms = formulas if formulas is not None else model.formulas_
    forms = np.asarray(forms if forms is not None else [""] * n).astype(str)
    table = pd.DataFrame(
        {
            "cluster": model.labels_,
            "material_id": ids,
            "formula": forms,
            "probability": model.probabilities_,
            "_spread": model.mean_intra_distance_,
        }
    )
    table = table[table["cluster"] >= 0].sort_values(
        ["cluster", "probability", "_spread", "material_id"], ascending=[True, False, True, True]
    )
    table.insert(1, "rank", table.groupby("cluster").cumcount() + 1)
    return table.drop(columns="_spread").reset_index(drop=True)


def write_exemplars(table: pd.DataFrame, path: str | Path) -> Path:
    """Write an exemplar table as CSV (atomically)."""
    return write_table(table, Path(path))


# --- embeddings --------------------------------------------------------------------------------------------
def _check_umap_params(n_neighbors, min_dist, n: int) -> None:
    if not _is_int(n_neighbors) or n_neighbors < 2:
        raise ValueError(f"n_neighbors (NN) must be an integer >= 2, got {n_neighbors!r}")
    if not min_dist >= 0:
        raise ValueError(f"min_dist (MD) must be >= 0, got {min_dist!r}")
    if n <= n_neighbors:
        raise ValueError(f"UMAP needs more than n_neighbors={n_neighbors} materials, got {n}")


def umap_embedding(
    distances,
    n_neighbors: int = UMAP_N_NEIGHBORS,
    min_dist: float = UMAP_MIN_DIST,
    random_state: int = SEED,
) -> np.ndarray:
    """UMAP of a precomputed distance matrix to 2-D (Fig. 2: NN = 10, MD = 0.1).

    Passing the Minkowski-0.2 matrix makes UMAP use the same metric as HDBSCAN. A fixed ``random_state``
    makes UMAP single-threaded and reproducible.

    Returns
    -------
    ndarray, shape (N, 2)
    """
    import umap

    D = np.asarray(distances, dtype=np.float64)
    _check_umap_params(n_neighbors, min_dist, len(D))
    reducer = umap.UMAP(
        n_neighbors=n_neighbors, min_dist=min_dist, metric="precomputed", random_state=random_state,
        n_components=2,
    )
    import warnings

    with warnings.catch_warnings():
        # "using precomputed metric; inverse_transform will be unavailable" and the random_state/n_jobs note
        warnings.simplefilter("ignore", UserWarning)
        return reducer.fit_transform(D).astype(float)


def umap_from_graph(
    X,
    graph,
    n_neighbors: int = UMAP_N_NEIGHBORS,
    min_dist: float = UMAP_MIN_DIST,
    random_state: int = SEED,
) -> np.ndarray:
    """UMAP to 2-D from a neighbour graph (:class:`elfutils.analysis.neighbors.KnnGraph`) instead of the
    N x N matrix: UMAP only reads each point's ``n_neighbors`` nearest (itself first), which the graph holds.

    Returns
    -------
    ndarray, shape (N, 2)
    """
    import warnings

    import umap

    _check_umap_params(n_neighbors, min_dist, len(graph.indices))
    if graph.k < n_neighbors - 1:
        raise ValueError(f"a graph of {graph.k} neighbours cannot give UMAP n_neighbors={n_neighbors}")
    n = len(graph.indices)
    indices = np.column_stack([np.arange(n), graph.indices[:, : n_neighbors - 1]])
    distances = np.column_stack([np.zeros(n), graph.distances[:, : n_neighbors - 1]])
    reducer = umap.UMAP(
        n_neighbors=n_neighbors, min_dist=min_dist, random_state=random_state, n_components=2,
        metric="minkowski", metric_kwds={"p": MINKOWSKI_P}, precomputed_knn=(indices, distances),
    )
    with warnings.catch_warnings():
        # "no search index: transform unavailable" and the random_state/n_jobs note
        warnings.simplefilter("ignore", UserWarning)
        return reducer.fit_transform(np.asarray(X, dtype=np.float32)).astype(float)


def tsne_embedding(
    distances, perplexity: float = 30.0, random_state: int = SEED, max_iter: int = 1000
) -> np.ndarray:
    """t-SNE of a precomputed distance matrix to 2-D (Methods: the alternative to UMAP; Supplementary Note 1).

    Distances are divided by their median first: t-SNE's per-point bandwidth search makes the result
    independent of the scale, but Minkowski-0.2 distances of ~1e10 start that search far out of range.
    Perplexity is capped at (N - 1) / 3 for small sets; ``max_iter`` is sklearn's (>= 250).

    Returns
    -------
    ndarray, shape (N, 2)
    """
    from sklearn.manifold import TSNE

    D = np.asarray(distances, dtype=np.float64)
    positive = D[D > 0]
    D = D / (np.median(positive) if positive.size else 1.0)
    perplexity = float(min(perplexity, max((len(D) - 1) / 3.0, 1.0)))
    tsne = TSNE(
        n_components=2,
        metric="precomputed",
        init="random",
        perplexity=perplexity,
        random_state=random_state,
        max_iter=max_iter,
    )
    return tsne.fit_transform(D).astype(float)


# --- DBSCAN on the UMAP plane ------------------------------------------------------------------------------
def k_distances(coords, min_samples: int = DBSCAN_MIN_SAMPLES) -> np.ndarray:
    """Sorted distance of each point to its (min_samples - 1)-th other neighbour (DBSCAN counts the point).

    Returns
    -------
    ndarray, shape (N,), ascending
    """
    from sklearn.neighbors import NearestNeighbors

    coords = np.asarray(coords, dtype=float)
    if len(coords) < min_samples:
        raise ValueError(f"need at least min_samples={min_samples} points for the k-distance curve")
    dist, _ = NearestNeighbors(n_neighbors=min_samples).fit(coords).kneighbors(coords)
    return np.sort(dist[:, -1])


def knee_eps(coords, min_samples: int = DBSCAN_MIN_SAMPLES) -> float:
    """Data-driven DBSCAN eps: the knee of the sorted k-distance curve.

    The paper's two values (eps = 0.8 in Results, 25 in Methods) are in the units of their own UMAP plot and
    cannot carry over to another embedding. The knee is the standard choice (Ester et al. 1996; Kneedle):
    both axes of the ascending k-distance curve are scaled to [0, 1] and the knee is the point farthest
    below the straight line joining its ends -- where the slowly rising in-group distances turn into the
    steep rise of the between-group ones.
    """
    y = k_distances(coords, min_samples)
    if y[-1] == y[0]:
        return float(y[0]) if y[0] > 0 else 1.0
    x = np.linspace(0.0, 1.0, len(y))
    yn = (y - y[0]) / (y[-1] - y[0])
    return float(y[np.argmax(x - yn)])


def dbscan_groups(
    coords, clustered=None, eps: float | str = "knee", min_samples: int = DBSCAN_MIN_SAMPLES
) -> tuple[np.ndarray, float]:
    """DBSCAN on the UMAP plane, on the materials HDBSCAN clustered only (Results).

    Parameters
    ----------
    coords : array (N, 2)
    clustered : bool array (N,), optional; default all
    eps : float or "knee" (see :func:`knee_eps`)
    min_samples : int, S_min (paper: 5)

    Returns
    -------
    groups : ndarray (N,) int, -1 for DBSCAN noise and for materials left out
    eps : float, the eps used
    """
    from sklearn.cluster import DBSCAN

    coords = np.asarray(coords, dtype=float)
    mask = np.ones(len(coords), bool) if clustered is None else np.asarray(clustered, bool)
    if not _is_int(min_samples) or min_samples < 1:
        raise ValueError(f"min_samples (S_min) must be an integer >= 1, got {min_samples!r}")
    groups = np.full(len(coords), -1)
    if mask.sum() < min_samples:
        return groups, float("nan")
    if isinstance(eps, str):
        if eps != "knee":
            raise ValueError(f"eps must be a positive number or 'knee', got {eps!r}")
        eps = knee_eps(coords[mask], min_samples)
    elif not eps > 0:
        raise ValueError(f"eps must be a positive number or 'knee', got {eps!r}")
    groups[mask] = DBSCAN(eps=float(eps), min_samples=min_samples).fit_predict(coords[mask])
    return groups, float(eps)


# --- the whole module --------------------------------------------------------------------------------------
def fit_pipeline(
    df: pd.DataFrame,
    min_cluster_size: int = HDBSCAN_MIN_CLUSTER_SIZE,
    min_samples: int = HDBSCAN_MIN_SAMPLES,
    p: float = MINKOWSKI_P,
    n_neighbors: int = UMAP_N_NEIGHBORS,
    min_dist: float = UMAP_MIN_DIST,
    eps: float | str = "knee",
    dbscan_min_samples: int = DBSCAN_MIN_SAMPLES,
    random_state: int = SEED,
    return_model: bool = False,
    scale: str = "auto",
):
    """HDBSCAN -> UMAP -> DBSCAN on a fingerprint table (Fig. 2).

    Returns
    -------
    DataFrame (N rows) with material_id, formula, hdbscan_label, probability, umap_x, umap_y, dbscan_group
    (-1: DBSCAN noise or not clustered by HDBSCAN). ``table.attrs`` holds ``dbscan_eps``, ``n_clusters``,
    ``n_unclassified``, ``scale`` (the path taken; ``scale`` picks it, see :class:`FingerprintHDBSCAN`).
    With ``return_model=True``, ``(table, model)`` with the fitted :class:`FingerprintHDBSCAN` (for
    :func:`exemplar_table`, :func:`cluster_tree_table`, ``predict``).
    """
    model = FingerprintHDBSCAN(min_cluster_size, min_samples, p, scale=scale).fit(df)
    if model.scale_ == "dense":
        xy = umap_embedding(model.distances_, n_neighbors, min_dist, random_state)
    else:
        xy = umap_from_graph(model.X_, model.graph_, n_neighbors, min_dist, random_state)
    groups, used_eps = dbscan_groups(xy, model.labels_ >= 0, eps, dbscan_min_samples)
    table = pd.DataFrame(
        {
            "material_id": model.material_ids_,
            "formula": model.formulas_,
            "hdbscan_label": model.labels_,
            "probability": model.probabilities_,
            "umap_x": xy[:, 0],
            "umap_y": xy[:, 1],
            "dbscan_group": groups,
        }
    )
    table.attrs.update(
        dbscan_eps=used_eps, n_clusters=model.n_clusters_, n_unclassified=model.n_unclassified_,
        scale=model.scale_,
    )
    return (table, model) if return_model else table

"""Cluster-validity indices and the HDBSCAN parameter study of Fig. 7
(Methods, "Multi-stage clustering module").

DBCV (Moulavi et al. 2014): higher is better, in [-1, 1]. Computed here rather than with
``hdbscan.validity.validity_index`` because that function forms ``(1/distance)**d`` directly: with d = 98 and
Minkowski-0.2 distances of ~1e10 every term underflows to 0, and it then silently falls back to core distances
of 0 (raw distances); distances below 1 overflow instead. Here the all-points core distance is evaluated in
log space (log-sum-exp); everything else follows hdbscan's implementation (its internal-MST helper is reused,
noise counts in the denominator) and the two agree where hdbscan's is numerically safe (see the tests).

S_Dbw (Halkidi & Vazirgiannis 2001): lower is better. The only PyPI package for it (``s-dbw`` 0.4.0) has not
been released since 2019, so it is written out here once, following the paper's definitions, with Euclidean
distances (the index is built on per-dimension variances, i.e. Euclidean geometry). Noise points (label -1)
are left out entirely. The caption of the paper's Fig. 7 reads "a higher score indicating a better solution"
for both DBCV and S_Dbw; for S_Dbw it is the other way round by definition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from elfutils.constants import FINGERPRINT_LENGTH, MINKOWSKI_P, PARAMETER_STUDY_RANGE


# --- DBCV --------------------------------------------------------------------------------------------------
def all_points_core_distance(distances: np.ndarray, d: float) -> np.ndarray:
    """DBCV's all-points core distance of each member of one cluster, computed in log space.

    ``core_i = ( sum_{j != i, D_ij > 0} D_ij^(-d) / (n - 1) )^(-1/d)``
    (zero distances skipped, as hdbscan does).

    Parameters
    ----------
    distances : array (n, n), distances within one cluster
    d : dimension of the data (98 for the fingerprints)

    Returns
    -------
    ndarray (n,); 0 for a point whose distances to the others are all 0
    """
    from scipy.special import logsumexp

    D = np.asarray(distances, dtype=np.float64)
    n = len(D)
    if n < 2:
        return np.zeros(n)
    positive = D > 0
    with np.errstate(divide="ignore"):
        logs = np.where(positive, -d * np.log(np.where(positive, D, 1.0)), -np.inf)
    has_any = positive.any(axis=1)
    log_mean = logsumexp(np.where(has_any[:, None], logs, 0.0), axis=1) - np.log(n - 1)
    return np.where(has_any, np.exp(-log_mean / d), 0.0)


def dbcv(distances, labels, d: float = FINGERPRINT_LENGTH, per_cluster: bool = False):
    """Density-based clustering validation index from a precomputed distance matrix.

    Parameters
    ----------
    distances : array (N, N)
    labels : array (N,) int, -1 for noise (noise counts in N, lowering the score, as in DBCV)
    d : dimension of the original data
    per_cluster : also return the index of each cluster

    Returns
    -------
    float (NaN with fewer than 2 clusters), and with ``per_cluster`` an array (n_clusters,)
    """
    from hdbscan.validity import internal_minimum_spanning_tree

    D = np.asarray(distances, dtype=np.float64)
    labels = np.asarray(labels)
    clusters = np.unique(labels[labels >= 0])
    if len(clusters) < 2:
        return (float("nan"), np.full(len(clusters), np.nan)) if per_cluster else float("nan")

    sparseness = np.empty(len(clusters))
    nodes, cores, owners = [], [], []
    for k, c in enumerate(clusters):
        idx = np.flatnonzero(labels == c)
        Dc = D[np.ix_(idx, idx)]
        core = all_points_core_distance(Dc, d)
        mr = np.maximum(Dc, np.maximum(core[:, None], core[None, :]))
        internal, edges = internal_minimum_spanning_tree(mr)
        sparseness[k] = edges[:, 2].max()
        internal = np.asarray(internal, dtype=int)
        nodes.append(idx[internal])
        cores.append(core[internal])
        owners.append(np.full(len(internal), k))
    nodes, cores, owners = np.concatenate(nodes), np.concatenate(cores), np.concatenate(owners)

    # density separation: min mutual-reachability distance between internal nodes of two clusters
    mr = np.maximum(D[np.ix_(nodes, nodes)], np.maximum(cores[:, None], cores[None, :]))
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])  # owners are grouped by cluster
    separation = np.minimum.reduceat(np.minimum.reduceat(mr, starts, axis=0), starts, axis=1)
    np.fill_diagonal(separation, np.inf)
    min_sep = separation.min(axis=1)

    scores = (min_sep - sparseness) / np.maximum(min_sep, sparseness)
    sizes = np.array([(labels == c).sum() for c in clusters])
    total = float((sizes * scores).sum() / len(labels))
    return (total, scores) if per_cluster else total


# --- S_Dbw -------------------------------------------------------------------------------------------------
def s_dbw(X, labels) -> float:
    """S_Dbw = Scat + Dens_bw (Halkidi & Vazirgiannis, ICDM 2001). Lower is better.

    With clusters C_1..C_c of the non-noise points S, centres v_i (means), and sigma(.) the per-dimension
    (population) variance vector, ``||x|| = sqrt(x . x)``:

    * ``Scat = (1/c) sum_i ||sigma(C_i)|| / ||sigma(S)||``
    * ``stdev = (1/c) sqrt(sum_i ||sigma(C_i)||)``
    * ``density_ij(u)`` = number of points of ``C_i u C_j`` within Euclidean distance ``stdev`` of u
    * ``Dens_bw = 1/(c(c-1)) sum_{i != j} density_ij(u_ij) / max(density_ij(v_i), density_ij(v_j))`` with
      ``u_ij`` the midpoint of v_i and v_j. A zero denominator (no point near either centre, possible only for
      hollow clusters) is taken as 1.

    Parameters
    ----------
    X : array (N, d) point coordinates
    labels : array (N,) int, -1 = noise (excluded)

    Returns
    -------
    float; NaN with fewer than 2 clusters
    """
    from scipy.spatial.distance import cdist

    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    keep = labels >= 0
    X, labels = X[keep], labels[keep]
    clusters = np.unique(labels)
    c = len(clusters)
    if c < 2:
        return float("nan")
    members = [X[labels == k] for k in clusters]
    centres = np.array([m.mean(axis=0) for m in members])
    sigma_norms = np.array([np.linalg.norm(m.var(axis=0)) for m in members])
    sigma_all = np.linalg.norm(X.var(axis=0))
    scat = sigma_norms.mean() / sigma_all if sigma_all > 0 else 0.0
    stdev = np.sqrt(sigma_norms.sum()) / c

    # near_centre[j, i]: points of C_j within stdev of v_i; near_mid[j, i]: points of C_j within stdev of u_ij
    near_centre = np.empty((c, c))
    near_mid = np.empty((c, c))
    for j, m in enumerate(members):
        near_centre[j] = (cdist(m, centres) <= stdev).sum(axis=0)
        near_mid[j] = (cdist(m, (centres + centres[j]) / 2.0) <= stdev).sum(axis=0)
    dens_mid = near_mid + near_mid.T  # points of C_i u C_j near u_ij
    own = np.diag(near_centre)
    dens_vi = own[:, None] + near_centre.T  # [i, j]: points of C_i u C_j near v_i
    denom = np.maximum(np.maximum(dens_vi, dens_vi.T), 1.0)
    ratio = dens_mid / denom
    np.fill_diagonal(ratio, 0.0)
    dens_bw = ratio.sum() / (c * (c - 1))
    return float(scat + dens_bw)


# --- parameter study (Fig. 7) ------------------------------------------------------------------------------
def _study_one(X, D, nc, ns, p, d):
    from elfutils.analysis.cluster import FingerprintHDBSCAN

    model = FingerprintHDBSCAN(nc, ns, p, n_features=None).fit(X, distances=D)
    labels = model.labels_
    return {
        "min_cluster_size": nc,
        "min_samples": ns,
        "n_clusters": model.n_clusters_,
        "n_unclassified": model.n_unclassified_,
        "dbcv": dbcv(D, labels, d),
        "s_dbw": s_dbw(X, labels),
    }


def parameter_study(
    X,
    min_cluster_sizes=PARAMETER_STUDY_RANGE,
    min_samples_values=PARAMETER_STUDY_RANGE,
    p: float = MINKOWSKI_P,
    distances=None,
    n_jobs: int = 1,
    progress: bool = True,
) -> pd.DataFrame:
    """HDBSCAN over a grid of (Nc, Ns) with the four Fig. 7 metrics.

    The Minkowski distance matrix is computed once and shared by every fit and by DBCV; S_Dbw uses the
    fingerprint coordinates (Euclidean, see module docstring). Roughly 0.5 s per grid point for 2000
    materials.

    Parameters
    ----------
    X : fingerprint table or array (N, d)
    min_cluster_sizes, min_samples_values : iterables of int (paper: 2..11 each)
    distances : array (N, N), optional precomputed Minkowski distances
    n_jobs : worker processes (joblib); 1 runs in-process

    Returns
    -------
    Tidy DataFrame, one row per (min_cluster_size, min_samples): n_clusters, n_unclassified, dbcv, s_dbw.
    Pivot with ``df.pivot(index="min_samples", columns="min_cluster_size", values="dbcv")`` for a heat map.
    """
    from tqdm.auto import tqdm

    from elfutils.analysis.cluster import _check_distances, minkowski_distances
    from elfutils.analysis.fingerprints import as_matrix

    X = as_matrix(X, None)
    D = minkowski_distances(X, p=p) if distances is None else _check_distances(distances, len(X))
    grid = [(int(nc), int(ns)) for nc in min_cluster_sizes for ns in min_samples_values]
    d = X.shape[1]
    if n_jobs == 1:
        rows = [_study_one(X, D, nc, ns, p, d) for nc, ns in tqdm(grid, desc="Nc x Ns", disable=not progress)]
    else:
        from joblib import Parallel, delayed

        rows = Parallel(n_jobs=n_jobs)(delayed(_study_one)(X, D, nc, ns, p, d) for nc, ns in grid)
    return pd.DataFrame(rows)

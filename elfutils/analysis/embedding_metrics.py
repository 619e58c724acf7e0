"""How faithfully a 2-D embedding (UMAP, t-SNE) keeps the fingerprint-space neighbourhoods (Supplementary
Note 1): trustworthiness, the share of k nearest neighbours kept, and whether a clustered material's nearest
neighbour on the map is in its own HDBSCAN cluster (:func:`embedding_agreement`, :func:`agreement_by_k`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from elfutils import constants as C


def square_distances(distances) -> np.ndarray:
    D = np.asarray(distances, dtype=np.float64)
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"distances must be a square (N, N) matrix, got shape {D.shape}")
    return D


def effective_k(n: int, k: int) -> int:
    """k capped so that trustworthiness is defined (scikit-learn needs k < N / 2); at least 1."""
    if n < 4:
        raise ValueError(f"need at least 4 materials to compare neighbourhoods, got {n}")
    return max(1, min(int(k), math.ceil(n / 2) - 1))


def knn_indices(distances, k: int) -> np.ndarray:
    """(N, k) indices of each point's k nearest other points (ties broken by index)."""
    D = square_distances(distances).copy()
    np.fill_diagonal(D, np.inf)
    return np.argsort(D, axis=1, kind="stable")[:, :k]


def _pairwise(embedding) -> np.ndarray:
    from scipy.spatial.distance import cdist

    E = np.asarray(embedding, dtype=np.float64)
    return cdist(E, E)


def knn_preserved(distances, embedding, k: int = C.UMAP_N_NEIGHBORS) -> float:
    """Mean share of each material's k nearest neighbours in fingerprint space (``distances``) that are also
    among its k nearest on the embedding (1 = every neighbourhood kept; ~k/N for a random map)."""
    D = square_distances(distances)
    E = np.asarray(embedding, dtype=np.float64)
    if len(E) != len(D):
        raise ValueError(f"{len(E)} embedded points for {len(D)} materials")
    a, b = knn_indices(D, k), knn_indices(_pairwise(E), k)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b, strict=True)]))


def same_cluster_neighbour(distances, labels) -> float:
    """Share of the clustered materials (label >= 0) whose nearest other material under ``distances`` has
    the same label; NaN when nothing is clustered."""
    D = square_distances(distances)
    labels = np.asarray(labels)
    nearest = knn_indices(D, 1)[:, 0]
    clustered = labels >= 0
    if not clustered.any():
        return float("nan")
    return float(np.mean(labels[nearest[clustered]] == labels[clustered]))


def embedding_agreement(distances, embeddings: dict, labels=None,
                        k: int = C.UMAP_N_NEIGHBORS) -> pd.DataFrame:
    """How well each 2-D embedding keeps the fingerprint-space neighbourhoods.

    Parameters
    ----------
    distances : array (N, N), fingerprint distances (Minkowski p = 0.2)
    embeddings : {name: array (N, 2)}, same row order
    labels : array (N,) HDBSCAN labels (-1 unclassified), optional
    k : neighbourhood size (capped by :func:`effective_k`)

    Returns
    -------
    DataFrame indexed by name, with a first row "fingerprint space" (the reference: 1, 1, and the share for
    the distances themselves): trustworthiness (scikit-learn; 1 = no false neighbours on the map),
    knn_preserved (:func:`knn_preserved`), same_cluster_neighbour (:func:`same_cluster_neighbour`, when
    labels are given). ``attrs['k']`` is the k used.
    """
    from sklearn.manifold import trustworthiness

    D = square_distances(distances)
    k = effective_k(len(D), k)
    rows = {"fingerprint space": {"trustworthiness": 1.0, "knn_preserved": 1.0}}
    if labels is not None:
        rows["fingerprint space"]["same_cluster_neighbour"] = same_cluster_neighbour(D, labels)
    for name, E in embeddings.items():
        E = np.asarray(E, dtype=np.float64)
        if E.shape != (len(D), 2):
            raise ValueError(f"embedding {name!r} must have shape ({len(D)}, 2), got {E.shape}")
        row = {"trustworthiness": float(trustworthiness(D, E, n_neighbors=k, metric="precomputed")),
               "knn_preserved": knn_preserved(D, E, k)}
        if labels is not None:
            row["same_cluster_neighbour"] = same_cluster_neighbour(_pairwise(E), labels)
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.attrs["k"] = k
    return table


def agreement_by_k(distances, embeddings: dict, ks=(5, 10, 20, 50)) -> pd.DataFrame:
    """Trustworthiness and share of neighbours kept for several neighbourhood sizes.

    Returns
    -------
    Tidy DataFrame: k, embedding, trustworthiness, knn_preserved (k values above :func:`effective_k` are
    dropped; duplicates after capping too)
    """
    from sklearn.manifold import trustworthiness

    D = square_distances(distances)
    usable = sorted({effective_k(len(D), k) for k in ks})
    rows = []
    for k in usable:
        for name, E in embeddings.items():
            E = np.asarray(E, dtype=np.float64)
            rows.append({"k": k, "embedding": name,
                         "trustworthiness": float(trustworthiness(D, E, n_neighbors=k, metric="precomputed")),
                         "knn_preserved": knn_preserved(D, E, k)})
    return pd.DataFrame(rows)

"""How good is a fingerprint? Retrieval of the same material, and what its neighbours know, for any
representation (elf, raw pixels, PCA of the pixels, a DOS-like histogram, random vectors, ...).

Everything here takes plain arrays, so every representation is measured by the same code on the same materials
and the same seeded folds:

* :func:`retrieval_ranks` / :func:`recall_at` — where the true twin of each query ranks among candidates;
* :func:`seeded_folds`, :func:`knn_cross_predict` — out-of-fold k-nearest-neighbour predictions of a property
  (the mean of the neighbours' values, or their vote share for a yes/no property);
* :func:`score_predictions` — R² and MAE for numbers, ROC-AUC and balanced accuracy for yes/no;
* baselines: :func:`block_average` (raw pixels), :func:`pca_features`, :func:`eigenvalue_histogram`,
  :func:`random_features`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from elfutils.choices import CHOICES
from elfutils.constants import ENERGY_WINDOW_EV, FINGERPRINT_LENGTH, MINKOWSKI_P, SEED

KNN_K = CHOICES.knn_k  # neighbours that vote or average in the cross-validated predictions (our choice)
N_FOLDS = CHOICES.n_folds


def distances(queries, candidates=None, p: float = MINKOWSKI_P) -> np.ndarray:
    """Minkowski distances (p = 0.2 by default, the clustering's; p = 2 is Euclidean) between the rows."""
    from elfutils.analysis.cluster import minkowski_distances

    return minkowski_distances(queries, candidates, p=p)


def retrieval_ranks(queries, candidates, truth: Sequence[int], p: float = MINKOWSKI_P) -> np.ndarray:
    """For each query row, the rank (1 = nearest) of its true match ``candidates[truth[i]]`` among all
    candidates; ties count against the truth (a candidate as close as the truth ranks before it)."""
    D = distances(np.asarray(queries, float), np.asarray(candidates, float), p=p)
    truth = np.asarray(truth, dtype=int)
    own = D[np.arange(len(D)), truth]
    return 1 + (D < own[:, None]).sum(axis=1) + ((D == own[:, None]).sum(axis=1) - 1)


def recall_at(ranks, k: int) -> float:
    """Share of queries whose true match ranks within the first ``k``."""
    return float((np.asarray(ranks) <= k).mean())


def seeded_folds(n: int, n_folds: int = N_FOLDS, seed: int = SEED) -> np.ndarray:
    """Fold number (0..n_folds-1) of each of ``n`` items: a seeded permutation dealt round-robin, so every
    representation is scored on the same folds."""
    if n < n_folds:
        raise ValueError(f"{n} items cannot make {n_folds} folds")
    folds = np.empty(n, dtype=int)
    folds[np.random.default_rng(seed).permutation(n)] = np.arange(n) % n_folds
    return folds


def knn_cross_predict(X, y, folds, k: int = KNN_K, p: float = MINKOWSKI_P) -> np.ndarray:
    """Out-of-fold predictions: each item gets the mean of ``y`` over its ``k`` nearest neighbours among the
    items of the other folds (for a 0/1 ``y``, the neighbours' vote share: a score for ROC-AUC). NaN in ``y``
    marks an item without a value: it is neither predicted from nor counted."""
    X, y, folds = np.asarray(X, float), np.asarray(y, float), np.asarray(folds)
    known = np.isfinite(y)
    out = np.full(len(y), np.nan)
    for fold in np.unique(folds):
        test = np.flatnonzero((folds == fold) & known)
        train = np.flatnonzero((folds != fold) & known)
        if not len(test) or not len(train):
            continue
        D = distances(X[test], X[train], p=p)
        kk = min(k, len(train))
        nearest = np.argpartition(D, kk - 1, axis=1)[:, :kk]
        out[test] = y[train][nearest].mean(axis=1)
    return out


def score_predictions(y, predicted, kind: str) -> dict[str, float]:
    """``kind`` "number": R² and MAE; "yes/no": ROC-AUC (the vote share as score) and balanced accuracy (a
    vote share of one half or more counts as yes). Items without a value or prediction are left out."""
    from sklearn.metrics import balanced_accuracy_score, mean_absolute_error, r2_score, roc_auc_score

    y, predicted = np.asarray(y, float), np.asarray(predicted, float)
    ok = np.isfinite(y) & np.isfinite(predicted)
    y, predicted = y[ok], predicted[ok]
    if kind == "number":
        return {"r2": float(r2_score(y, predicted)), "mae": float(mean_absolute_error(y, predicted)),
                "n": int(ok.sum())}
    if kind == "yes/no":
        if len(np.unique(y)) < 2:
            return {"roc_auc": float("nan"), "balanced_accuracy": float("nan"), "n": int(ok.sum())}
        return {"roc_auc": float(roc_auc_score(y, predicted)),
                "balanced_accuracy": float(balanced_accuracy_score(y.astype(bool), predicted >= 0.5)),
                "n": int(ok.sum())}
    raise ValueError(f"kind must be 'number' or 'yes/no', not {kind!r}")


def evaluate(X, properties: dict[str, tuple[Sequence[float], str]], folds=None, k: int = KNN_K,
             p: float = MINKOWSKI_P) -> dict[str, dict[str, float]]:
    """Every property (name -> (values, kind)) predicted from ``X`` by :func:`knn_cross_predict` on the same
    folds (default :func:`seeded_folds`) and scored by :func:`score_predictions`."""
    folds = seeded_folds(len(X)) if folds is None else folds
    return {name: score_predictions(values, knn_cross_predict(X, values, folds, k=k, p=p), kind)
            for name, (values, kind) in properties.items()}


# --- baseline representations ---------------------------------------------------------------------------
def block_average(images, block: int = 8) -> np.ndarray:
    """Raw pixels, block-averaged: (N, S, S) images -> (N, (S/block)^2) line densities."""
    images = np.asarray(images, dtype=np.float32)
    n, s, _ = images.shape
    if s % block:
        raise ValueError(f"image side {s} is not a multiple of the block {block}")
    return images.reshape(n, s // block, block, s // block, block).mean(axis=(2, 4)).reshape(n, -1)


def pca_features(features, n_components: int = FINGERPRINT_LENGTH, seed: int = SEED) -> np.ndarray:
    """The rows projected on their first ``n_components`` principal components (fitted on the rows themselves:
    no labels are used, so nothing leaks into the cross-validation)."""
    from sklearn.decomposition import PCA

    features = np.asarray(features, dtype=np.float64)
    n = min(n_components, *features.shape)
    return PCA(n_components=n, random_state=seed).fit_transform(features)


def eigenvalue_histogram(bs, window: float = ENERGY_WINDOW_EV, bins: int = FINGERPRINT_LENGTH) -> np.ndarray:
    """A hand-made, DOS-like band fingerprint (in the spirit of the paper's refs. 48-49): the histogram of
    every
    eigenvalue on the path within ±``window`` eV of the zero, in ``bins`` bins, per k-point and spin channel
    (so band counts, not path lengths, set the scale)."""
    rel = bs.relative_energies()
    counts, _ = np.histogram(rel[np.abs(rel) <= window], bins=bins, range=(-window, window))
    return counts / (bs.nkpoints * bs.nspin)


def random_features(n: int, d: int = FINGERPRINT_LENGTH, seed: int = SEED) -> np.ndarray:
    """``n`` random ``d``-number vectors: what a fingerprint that knows nothing scores."""
    return np.random.default_rng(seed).random((n, d))


def hdbscan_distance_study(X, min_cluster_size: int, min_samples: int, p: float = MINKOWSKI_P) -> dict:
    """HDBSCAN three ways on the same fingerprints: the exact Minkowski-p matrix (ours), the exact Euclidean
    matrix, and ``hdbscan.HDBSCAN(metric="minkowski", p=p)`` left to choose its own algorithm.

    For 98 features hdbscan 0.8 picks its Prim/KD-tree path, which builds the tree and the distance function
    without passing ``p`` on (``KDTree(X, metric=metric, **kwargs)``: p is not in kwargs), so it computes
    Euclidean distances whatever p says; the ARIs show it.

    Returns
    -------
    dict: per way (n_clusters, n_unclassified), and the pairwise ARIs of the labels
    """
    import warnings

    import hdbscan
    from sklearn.metrics import adjusted_rand_score

    from elfutils.analysis.cluster import FingerprintHDBSCAN

    X = np.asarray(X, dtype=np.float64)
    labels = {
        f"exact Minkowski p = {p:g}": FingerprintHDBSCAN(min_cluster_size, min_samples, p=p, n_features=None,
                                                         scale="dense").fit(X).labels_,
        "exact Euclidean": FingerprintHDBSCAN(min_cluster_size, min_samples, p=2.0, n_features=None,
                                              scale="dense").fit(X).labels_,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        library = hdbscan.HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples,
                                  metric="minkowski", p=p)
        labels[f'hdbscan metric="minkowski", p = {p:g}'] = library.fit(X).labels_
    ways = {name: {"n_clusters": int(lab.max() + 1), "n_unclassified": int((lab < 0).sum())}
            for name, lab in labels.items()}
    names = list(labels)
    ari = {f"{a} vs {b}": float(adjusted_rand_score(labels[a], labels[b]))
           for i, a in enumerate(names) for b in names[i + 1:]}
    return {"ways": ways, "ari": ari}

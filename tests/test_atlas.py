"""The atlas chapter's measurements (elfutils.analysis.atlas) on seeded synthetic fingerprints."""

import numpy as np
import pytest

from elfutils.analysis import atlas
from elfutils.analysis import evaluation as ev


def _two_populations(n=400, d=16, separation=3.0, seed=0):
    """Flat (1) and not flat (0) materials in two Gaussian blobs; a quarter of each is 'in the pool'."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 2).astype(float)
    X = rng.normal(size=(n, d)) + separation * labels[:, None] * np.eye(d)[0]
    in_pool = rng.random(n) < 0.25
    return X, labels, in_pool


def test_expected_precision_counts_ties_by_their_share():
    scores = np.array([0.9, 0.5, 0.5, 0.5, 0.5, 0.1])
    truth = np.array([1, 1, 0, 0, 0, 1])
    # top 3: the 0.9 (a hit) and two of the four tied at 0.5, of which a quarter are hits
    assert atlas.expected_precision_at(scores, truth, 3) == pytest.approx((1 + 2 * 0.25) / 3)
    assert atlas.expected_precision_at(scores, truth, 1) == 1.0
    assert atlas.expected_precision_at(scores, truth, 100) == pytest.approx(truth.mean())
    with pytest.raises(ValueError, match=r"^need n >= 1 and at least one item, got n = 0 and 6 items$"):
        atlas.expected_precision_at(scores, truth, 0)


def test_flat_band_search_separates_a_real_signal_from_random_features():
    X, labels, in_pool = _two_populations()
    labels[:10] = np.nan  # unlabelled materials neither vote nor count
    reps = {"signal": (X, 2.0), "random": (ev.random_features(len(X), d=16, seed=1), 2.0)}
    folds = ev.seeded_folds(len(X), seed=0)
    result = atlas.flat_band_search(reps, labels, in_pool, folds, k=10, top=50)
    assert result["signal"]["roc_auc"] > 0.9
    assert 0.35 < result["random"]["roc_auc"] < 0.65
    assert result["signal"]["top_precision"] > 0.9 > result["random"]["top_precision"]
    assert result["signal"]["n"] == len(X) - 10
    assert result["signal"]["n_outside"] == int((~in_pool & np.isfinite(labels)).sum())
    assert all(s is None for s in result["signal"]["scores"][:10])
    # the same folds for both: rerunning gives the same numbers
    again = atlas.flat_band_search(reps, labels, in_pool, folds, k=10, top=50)
    assert again["signal"]["roc_auc"] == result["signal"]["roc_auc"]


def test_exemplar_candidates_are_outsiders_nearest_an_exemplar_first():
    X = np.array([[0.0], [10.0], [0.5], [9.0], [3.0], [20.0]])
    ids = ["e1", "e2", "a", "b", "c", "d"]
    in_pool = np.array([True, True, False, False, False, False])
    table = atlas.exemplar_candidates(X, ids, in_pool, ["e1", "e2"], p=2.0, n=3)
    assert table.material_id.tolist() == ["a", "b", "c"]
    assert table.exemplar_id.tolist() == ["e1", "e2", "e1"]
    assert table.distance.tolist() == pytest.approx([0.5, 1.0, 3.0])
    assert atlas.exemplar_candidates(X, ids, in_pool, [], p=2.0).empty
    with pytest.raises(ValueError, match="without a fingerprint"):
        atlas.exemplar_candidates(X, ids, in_pool, ["nope"], p=2.0)


def test_cluster_flat_shares_ranks_by_pool_share_and_skips_noise():
    clusters = np.array([0, 0, 0, 1, 1, -1, -1])
    in_pool = np.array([True, False, False, True, True, True, True])
    labels = np.array([1, 0, np.nan, 1, 0, 1, 1])
    table = atlas.cluster_flat_shares(clusters, in_pool, labels)
    assert table.cluster.tolist() == [1, 0]
    assert table.pool_share.tolist() == pytest.approx([1.0, 1 / 3])
    assert table.n_labelled.tolist() == [2, 2]
    assert table.flat_share.tolist() == pytest.approx([0.5, 0.5])


def test_neighbour_overlap_is_one_for_a_rescaled_copy_and_low_for_noise():
    X, _, _ = _two_populations(n=200)
    assert atlas.neighbour_overlap(X, 3.0 * X + 1.0, k=10).min() == 1.0
    noise = np.random.default_rng(5).normal(size=X.shape)
    assert atlas.neighbour_overlap(X, noise, k=10).mean() < 0.2
    with pytest.raises(ValueError, match=r"^the two fingerprint sets differ in length: 200 against 199$"):
        atlas.neighbour_overlap(X, X[:-1])


def test_clusters_kept_together_counts_noise_against():
    reference = np.array([0, 0, 0, 0, 1, 1, -1])
    other = np.array([5, 5, 5, -1, 2, 3, 0])
    kept = atlas.clusters_kept_together(reference, other)
    assert kept.kept_share.tolist() == pytest.approx([0.75, 0.5])
    assert kept["size"].tolist() == [4, 2]

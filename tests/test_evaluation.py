"""The fingerprint-evaluation metrics on synthetic data with known answers: a representation that copies the
label is perfect, random vectors score chance."""

from __future__ import annotations

import numpy as np
import pytest

from elfutils.analysis import evaluation as ev


def test_a_copy_of_each_candidate_finds_it_first_and_random_ones_rank_at_chance():
    rng = np.random.default_rng(1)
    candidates = rng.normal(size=(300, 20))
    ranks = ev.retrieval_ranks(candidates + 1e-6, candidates, np.arange(300))
    assert ev.recall_at(ranks, 1) == 1.0 and np.median(ranks) == 1
    random_ranks = ev.retrieval_ranks(rng.normal(size=(300, 20)), candidates, np.arange(300))
    assert ev.recall_at(random_ranks, 10) == pytest.approx(10 / 300, abs=0.03)
    assert np.median(random_ranks) == pytest.approx(150, rel=0.2)


def test_ties_count_against_the_truth():
    candidates = np.zeros((4, 3))
    assert ev.retrieval_ranks(np.zeros((1, 3)), candidates, [2]).tolist() == [4]


def test_folds_are_seeded_balanced_and_shared():
    a, b = ev.seeded_folds(103), ev.seeded_folds(103)
    assert np.array_equal(a, b) and sorted(np.bincount(a)) == [20, 20, 21, 21, 21]
    assert not np.array_equal(a, ev.seeded_folds(103, seed=5))
    with pytest.raises(ValueError):
        ev.seeded_folds(3)


def test_a_label_copying_representation_is_perfect_and_random_is_chance():
    rng = np.random.default_rng(0)
    n = 600
    label = rng.integers(0, 2, n).astype(float)
    gap = np.where(label == 1, rng.uniform(2, 3, n), rng.uniform(0, 0.5, n))
    copy = np.c_[label, gap]  # knows both properties exactly
    properties = {"flat": (label, "yes/no"), "gap": (gap, "number")}
    perfect = ev.evaluate(copy, properties, p=2.0)
    assert perfect["flat"]["roc_auc"] == 1.0 and perfect["flat"]["balanced_accuracy"] == 1.0
    assert perfect["gap"]["r2"] > 0.9
    chance = ev.evaluate(ev.random_features(n), properties)
    assert chance["flat"]["roc_auc"] == pytest.approx(0.5, abs=0.07)
    assert chance["gap"]["r2"] < 0.05
    assert chance["flat"]["n"] == n


def test_missing_values_are_neither_predicted_nor_used():
    X = np.arange(20, dtype=float)[:, None]
    y = np.where(np.arange(20) % 2, np.nan, np.arange(20, dtype=float))
    predicted = ev.knn_cross_predict(X, y, ev.seeded_folds(20), k=2, p=1.0)
    assert np.isnan(predicted[1::2]).all() and np.isfinite(predicted[::2]).all()
    assert ev.score_predictions(y, predicted, "number")["n"] == 10


def test_baseline_representations(fixture_records):
    images = np.zeros((2, 16, 16), np.uint8)
    images[0, :8, :8] = 1
    blocks = ev.block_average(images, block=8)
    assert blocks.shape == (2, 4) and blocks[0].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert ev.pca_features(np.random.default_rng(0).random((30, 50)), 5).shape == (30, 5)
    bs = next(iter(fixture_records.values()))
    hist = ev.eigenvalue_histogram(bs)
    rel = bs.relative_energies()
    in_window = (np.abs(rel) <= 4).sum()
    assert hist.shape == (98,) and hist.sum() == pytest.approx(in_window / (bs.nkpoints * bs.nspin))
    with pytest.raises(ValueError, match="kind"):
        ev.score_predictions([1, 0], [1, 0], "colour")

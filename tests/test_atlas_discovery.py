"""elfutils.analysis.atlas_discovery: the atlas chapter's candidate lists and what they hold."""

from __future__ import annotations

import numpy as np
import pytest

from elfutils.analysis import atlas_discovery as ad
from elfutils.analysis import evaluation as ev


def _toy(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0, 1, (40, 3)), rng.normal(6, 1, (40, 3))])
    labels = np.r_[np.zeros(40), np.ones(40)]
    labels[[3, 50, 77]] = np.nan  # unlabelled
    return X, labels, ev.seeded_folds(len(X), seed=seed)


def test_labelled_votes_are_the_out_of_fold_ones_and_the_unlabelled_get_one_too():
    X, labels, folds = _toy()
    vote, dist = ad.vote_scores(X, labels, folds, k=5, p=2.0)
    known = np.isfinite(labels)
    np.testing.assert_allclose(vote[known], ev.knn_cross_predict(X, labels, folds, k=5, p=2.0)[known])
    assert np.isfinite(vote).all() and (dist > 0).all()
    assert vote[3] == 0.0 and vote[50] == 1.0 and vote[77] == 1.0  # their neighbourhoods


def test_vote_scores_name_bad_inputs():
    X, labels, folds = _toy()
    with pytest.raises(ValueError, match="differ in length"):
        ad.vote_scores(X[:-1], labels, folds)
    with pytest.raises(ValueError, match="no labelled"):
        ad.vote_scores(X, np.full(len(X), np.nan), folds)


def test_candidates_are_outside_the_pool_highest_vote_then_nearest_first():
    vote = np.array([0.9, 0.9, 0.5, 1.0, np.nan, 0.9])
    dist = np.array([2.0, 1.0, 0.1, 5.0, 0.0, 1.0])
    in_pool = np.array([False, False, False, True, False, False])
    assert ad.ranked_candidates(vote, dist, in_pool, 10).tolist() == [1, 5, 0, 2]
    assert ad.ranked_candidates(vote, dist, in_pool, 2).tolist() == [1, 5]


def test_wide_gap_halides_and_oxides_are_the_wide_gap_ionic_ones():
    formulas = ["NaCl", "MgO", "MoS2", "NaCl", "Bi2O3"]
    gaps = [5.0, 4.5, 1.8, 0.5, 2.9]
    assert ad.wide_gap_ionic(gaps, formulas).tolist() == [True, True, False, False, False]


def test_candidate_profile_describes_the_list():
    formulas = ["NaCl", "MgO", "MoS2", "Fe", "CrI3"]
    gaps = np.array([5.0, 4.5, 1.8, 0.0, 1.1])
    labels = np.array([0.0, 0.0, 1.0, np.nan, 1.0])
    counts = np.array([2, 1, 0, 0, 3])
    out = ad.candidate_profile([0, 1, 2, 3], gaps, formulas, labels, counts)
    assert (out["n"], out["n_labelled"]) == (4, 3)
    assert out["flat_share"] == pytest.approx(1 / 3)
    assert out["median_gap"] == pytest.approx(3.15)
    assert out["ionic_share"] == pytest.approx(0.5) and out["wide_gap_ionic_share"] == pytest.approx(0.5)
    assert out["with_flat_band"] == pytest.approx(0.5) and out["metal_share"] == pytest.approx(0.25)
    empty = ad.candidate_profile([], gaps, formulas, labels, counts)
    assert empty["n"] == 0 and np.isnan(empty["flat_share"])


def test_representation_builds_the_named_baseline_and_names_an_unknown_one():
    images = np.zeros((3, 16, 16), np.uint8)
    images[:, 8, :] = 1
    X, p = ad.representation("raw pixels (8x8 blocks)", [], images, seed=0)
    assert X.shape == (3, 4) and p == 2.0
    assert ad.representation("random (98)", [], images, seed=0)[0].shape == (3, 98)
    with pytest.raises(ValueError, match="'CNNF'"):
        ad.representation("CNNF", [], images, seed=0)


def test_twodmatpedia_counts_are_consistent():
    counts = ad.twodmatpedia_counts()
    assert counts["db_rows_at_least"] >= counts["with_id"] > 0
    assert counts["structures"] >= counts["with_id"]

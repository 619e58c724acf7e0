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
    with pytest.raises(ValueError, match=r"^3 items cannot make 5 folds$"):
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


# --- perturbations, cross-code ranks and the distance study (elfutils.analysis.perturbation, ...quality) ----
def test_resampled_path_keeps_branches_ends_and_labels(fixture_records):
    from elfutils.analysis.perturbation import resample_path

    bs = fixture_records["2dm-21"]
    new = resample_path(bs, 15)
    assert new.energies.shape[2] == 15 * len(bs.branches) == len(new.distances)
    assert [(b.start_label, b.end_label) for b in new.branches] == [(b.start_label, b.end_label)
                                                                    for b in bs.branches]
    for old, b in zip(bs.branches, new.branches, strict=True):
        np.testing.assert_allclose(new.energies[:, :, b.start], bs.energies[:, :, old.start])
        np.testing.assert_allclose(new.energies[:, :, b.end], bs.energies[:, :, old.end])
    with pytest.raises(ValueError, match="per_segment"):
        resample_path(bs, 1)


def test_zero_shift_and_spin_swap(fixture_records):
    from elfutils.analysis.perturbation import shift_zero, swap_spins

    bs = fixture_records["2dm-21"]
    moved = shift_zero(bs, 0.1)
    assert moved.efermi == pytest.approx(bs.efermi + 0.1)
    np.testing.assert_array_equal(moved.energies, bs.energies)
    assert np.array_equal(swap_spins(swap_spins(bs)).energies, bs.energies)


def test_robustness_of_an_unchanged_file_is_perfect_and_spin_order_never_shows(fixture_records):
    from elfutils.analysis.perturbation import PERTURBATIONS, Perturbation, perturbed_images, robustness

    records = list(fixture_records.values())
    render = {"size": 64}
    def encode(images):  # a representation without a model
        return ev.block_average(images, 8)

    reference = encode(perturbed_images(records, Perturbation("none", "0"), render))
    truth = np.arange(len(records))
    rows = robustness(records, truth, reference, encode, render,
                      perturbations=(Perturbation("none", "0"), *PERTURBATIONS), p=2.0)
    assert len(rows) == len(PERTURBATIONS) + 1
    assert rows[0]["recall@1"] == 1.0 and rows[0]["changed"] == 0
    spin = next(r for r in rows if r["family"] == "spin channels")
    assert spin["changed"] == 0 and spin["recall@1"] == 1.0  # both channels are drawn into one image
    shifted = next(r for r in rows if r["size"] == "+0.2 eV")
    assert shifted["changed"] == len(records)
    assert all(0.0 <= r["recall@1"] <= r["recall@5"] <= 1.0 for r in rows)


def test_same_material_ranks_count_either_copy_and_ties_against():
    from elfutils.analysis.fingerprint_quality import same_material_ranks

    candidates = np.array([[0.0], [1.0], [2.0], [3.0]])
    ranks = same_material_ranks(np.array([[2.0], [0.9], [1.5]]), candidates, ["a", "b", "c"],
                                ["x", "b", "a", "c"], p=2.0)
    assert ranks.tolist() == [1, 1, 4]  # a: exact; b: nearest; c (its copy 1.5 away): 3 others as close
    ranks = same_material_ranks(np.array([[1.5]]), candidates, ["q"], ["q", "x", "y", "q"], p=2.0)
    assert ranks.tolist() == [3]  # nearest copy at 1.5 away (either), 1.0 and 2.0 are as close


def test_hdbscan_minkowski_path_is_euclidean():
    """What the evaluation chapter reports: hdbscan's own minkowski path ignores p (the labels are the exact
    Euclidean ones), while the exact p = 0.2 matrix is a different clustering."""
    from elfutils.analysis.evaluation import hdbscan_distance_study
    from elfutils.analysis.fingerprints import fingerprint_matrix, synthetic_fingerprints

    df, _ = synthetic_fingerprints(n_groups=6, per_group=20, n_noise=30, spread=0.05)
    study = hdbscan_distance_study(fingerprint_matrix(df), 5, 2, p=0.2)
    assert set(study["ways"]) == {"exact Minkowski p = 0.2", "exact Euclidean",
                                  'hdbscan metric="minkowski", p = 0.2'}
    assert study["ari"]['exact Euclidean vs hdbscan metric="minkowski", p = 0.2'] == pytest.approx(1.0)

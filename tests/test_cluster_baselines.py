"""elfutils.analysis.cluster_baselines: clusterings that know only the band gap or the pixels, scored like
the elf clusters."""

from __future__ import annotations

import numpy as np
import pytest

from elfutils.analysis import cluster_baselines as cb


def test_concentration_counts_the_two_largest_clusters_among_the_clustered():
    labels = np.array([0] * 6 + [1] * 3 + [2] + [-1] * 10)
    c = cb.concentration(labels)
    assert (c["n"], c["n_clustered"], c["n_clusters"], c["largest"], c["second"]) == (20, 10, 3, 6, 3)
    assert c["largest_two_share"] == pytest.approx(0.9)
    assert c["largest_share_of_all"] == pytest.approx(0.3)
    assert c["unclassified_share"] == pytest.approx(0.5)
    assert np.isnan(cb.concentration([-1, -1])["largest_share"])


def test_sized_runs_cut_sorted_values_into_the_given_sizes():
    labels = cb.sized_runs([5.0, 0.0, 3.0, 1.0, 4.0], [2, 3])
    assert labels.tolist() == [1, 0, 1, 0, 1]
    with pytest.raises(ValueError, match="add up to the 5 values"):
        cb.sized_runs([1, 2, 3, 4, 5], [2, 2])


def test_baselines_cluster_only_what_hdbscan_clustered_into_as_many_clusters():
    rng = np.random.default_rng(0)
    labels = np.array([0] * 10 + [1] * 10 + [2] * 5 + [-1] * 5)
    gaps = np.concatenate([rng.normal(0.0, 0.01, 10), rng.normal(3.0, 0.01, 10), rng.normal(6.0, 0.01, 5),
                           rng.normal(1.0, 1.0, 5)])
    pixels = rng.random((30, 4))
    out = cb.baseline_clusterings(labels, gaps, pixels, seed=0)
    assert list(out) == [cb.ELF_NAME, cb.GAP_KMEANS, cb.GAP_SIZED, cb.PIXELS_KMEANS]
    for name, lab in out.items():
        assert (lab[labels < 0] == -1).all() and (lab[labels >= 0] >= 0).all(), name
        assert len(np.unique(lab[labels >= 0])) == 3, name
    # the gap runs take HDBSCAN's sizes in the order of the clusters' median gaps
    assert sorted(np.bincount(out[cb.GAP_SIZED][labels >= 0]).tolist()) == [5, 10, 10]
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(labels[:25], out[cb.GAP_SIZED][:25]) == pytest.approx(1.0)
    assert adjusted_rand_score(labels[:25], out[cb.GAP_KMEANS][:25]) == pytest.approx(1.0)
    assert list(cb.baseline_clusterings(labels, gaps, seed=0)) == [cb.ELF_NAME, cb.GAP_KMEANS, cb.GAP_SIZED]


def test_baselines_name_bad_inputs():
    with pytest.raises(ValueError, match="differ in length"):
        cb.baseline_clusterings([0, 1], [0.0, 1.0, 2.0], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="finite band gap"):
        cb.baseline_clusterings([0, 0], [0.0, np.nan], np.zeros((2, 2)))


def test_gap_spread_is_the_median_within_cluster_iqr():
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, -1])
    gaps = np.array([0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 100], float)
    assert cb.gap_spread(labels, gaps) == pytest.approx(1.0)  # IQRs 2 and 0


def test_chemistry_scores_a_clustering_that_follows_the_families_above_one_that_does_not():
    families = np.array(["halide", "oxide", "pnictide", "other"]).repeat(10)
    following = np.arange(4).repeat(10)
    scrambled = np.tile(np.arange(4), 10)
    table = cb.chemistry_scores({"following": following, "scrambled": scrambled}, families,
                                gaps=np.zeros(40), n_permutations=50, seed=0)
    assert table.loc["following", "ami"] == pytest.approx(1.0)
    assert table.loc["following", "n_dominated"] == 4 and table.loc["scrambled", "n_dominated"] == 0
    assert table.loc["scrambled", "ami"] < 0.05
    assert set(table.columns) >= {"n_clusters", "expected_dominated", "p_value", "largest_two_share",
                                  "gap_iqr"}


def test_motif_memberships_find_the_clusters_a_motif_falls_in():
    labels = np.array([0, 0, 0, 1, -1, 2, 2, 2])
    motifs = np.array(["kagome", "kagome", None, "kagome", "kagome", "dice", None, None], dtype=object)
    table = cb.motif_memberships(labels, motifs, ["kagome", "dice", "lieb"])
    kagome = table.loc["kagome"]
    assert (kagome.n, kagome.n_unclassified, kagome.n_clusters, kagome.top_cluster) == (4, 1, 2, 0)
    assert kagome.top_cluster_share == pytest.approx(0.5)
    assert kagome.top_cluster_clustered_share == pytest.approx(2 / 3)
    assert kagome.top_cluster_motif_share == pytest.approx(2 / 3)
    assert table.loc["dice", "top_cluster_motif_share"] == pytest.approx(1 / 3)
    assert table.loc["lieb", "n"] == 0 and np.isnan(table.loc["lieb", "top_cluster_share"])

"""Similarity search in fingerprint space."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from elfutils.analysis.cluster import FingerprintHDBSCAN
from elfutils.analysis.fingerprints import (
    fingerprint_matrix,
    make_table,
    synthetic_fingerprints,
    write_fingerprints,
)
from elfutils.analysis.similar import find_similar
from elfutils.constants import MINKOWSKI_P


@pytest.fixture(scope="module")
def planted():
    return synthetic_fingerprints(3, 12, n_noise=6, seed=5)


def _near(table, truth, group, scale=0.005, seed=0):
    X = fingerprint_matrix(table)
    member = np.flatnonzero(truth == group)[0]
    return X[member] + np.random.default_rng(seed).normal(scale=scale, size=X.shape[1])


def test_nearest_are_the_querys_group(planted):
    table, truth = planted
    result = find_similar(_near(table, truth, 1), table, k=5)
    assert list(result.columns) == ["query", "rank", "material_id", "formula", "distance", "same_id",
                                    "closer_pairs_percent"]
    assert result["rank"].tolist() == [1, 2, 3, 4, 5]
    assert not result["same_id"].any()
    # group members are closer than most pairs of the table (4 groups of 15 + 10 noise: ~20 % of pairs share
    # a group), and the percentages grow with the distance
    assert (result["closer_pairs_percent"] < 25).all()
    assert result["closer_pairs_percent"].is_monotonic_increasing
    assert result["distance"].is_monotonic_increasing
    assert set(result["formula"]) == {"G1"}
    X = fingerprint_matrix(table)
    expected = cdist(_near(table, truth, 1)[None], X, "minkowski", p=MINKOWSKI_P)[0]
    index = {m: i for i, m in enumerate(table["material_id"])}
    np.testing.assert_allclose(result["distance"], expected[[index[m] for m in result["material_id"]]])


def test_several_queries_and_cluster_they_join(planted):
    table, truth = planted
    model = FingerprintHDBSCAN().fit(table)
    queries = np.vstack([_near(table, truth, g, seed=g) for g in range(3)])
    result = find_similar(queries, table, k=3, clusterer=model, query_ids=["a", "b", "c"])
    assert len(result) == 9 and result["query"].tolist() == ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    for g, q in enumerate("abc"):
        rows = result[result["query"] == q]
        expected_cluster = model.labels_[np.flatnonzero(truth == g)[0]]
        assert (rows["query_cluster"] == expected_cluster).all() and (rows["query_probability"] > 0).all()


def test_table_query_excludes_itself_and_carries_labels(planted):
    table, _ = planted
    labelled = table.assign(hdbscan_label=np.arange(len(table)) % 3)
    result = find_similar(table.iloc[:2], labelled, k=4)
    assert set(result["query"]) == {"m0", "m1"}
    assert not (result["query"] == result["material_id"]).any()
    assert "hdbscan_label" in result.columns


def test_invalid_queries(planted):
    table, _ = planted
    with pytest.raises(ValueError, match="must have 98 numbers per material; got 5"):
        find_similar(np.zeros(5), table)
    with pytest.raises(ValueError, match="k must be an integer >= 1, got 0"):
        find_similar(np.zeros(98), table, k=0)


def test_cli_similar_with_query_table(tmp_path, planted, capsys):
    from elfutils.cli import main

    table, truth = planted
    src = write_fingerprints(table, tmp_path / "fp.parquet")
    query = write_fingerprints(make_table(["q"], ["G2"], _near(table, truth, 2)[None]), tmp_path / "q.csv")
    out = tmp_path / "similar.csv"
    assert main(["similar", str(query), "--fingerprints", str(src), "--k", "4", "--out", str(out)]) == 0
    result = pd.read_csv(out)
    assert len(result) == 4 and set(result["formula"]) == {"G2"}
    assert result["query_cluster"].nunique() == 1 and result["query_cluster"].iloc[0] >= 0
    assert main(["similar", str(tmp_path / "x.json"), "--fingerprints", str(src)]) == 2  # no model given


def test_a_query_with_a_dataset_id_sees_its_twin_marked_unless_excluded(planted):
    table, _ = planted
    query = table.iloc[[3]]
    shown = find_similar(query, table, k=3, exclude_ids=False)
    assert shown["material_id"].iloc[0] == query["material_id"].iloc[0] and shown["same_id"].iloc[0]
    assert shown["distance"].iloc[0] == 0 and shown["closer_pairs_percent"].iloc[0] == 0
    hidden = find_similar(query, table, k=3)
    assert query["material_id"].iloc[0] not in set(hidden["material_id"]) and not hidden["same_id"].any()


def test_closer_pairs_percent_is_the_share_of_closer_pairs():
    from elfutils.analysis.similar import closer_pairs_percent, pair_distances

    X = np.arange(5, dtype=float)[:, None] * np.ones((1, 3))  # pair distances: multiples of one step
    ref = pair_distances(X, p=1.0)
    assert len(ref) == 10 and ref[0] == 3.0 and ref[-1] == 12.0  # 4 steps of 3 numbers, p = 1
    np.testing.assert_allclose(closer_pairs_percent([0.0, 3.5, 100.0], X, p=1.0), [0.0, 40.0, 100.0])
    big = np.random.default_rng(0).normal(size=(2000, 4))
    assert len(pair_distances(big, p=0.2, n_pairs=5000)) == 5000  # sampled beyond n_pairs


def test_a_tables_calibration_is_what_each_search_would_work_out(planted):
    """The kept calibration (pair distances, own nearest neighbours) gives the search and its footer the
    numbers they would compute themselves."""
    from elfutils.analysis.similar import calibrate, nearest_neighbour_percent, pair_distances

    table, _ = planted
    X = fingerprint_matrix(table)
    cal = calibrate(X)
    np.testing.assert_array_equal(cal.reference, pair_distances(X))
    np.testing.assert_array_equal(cal.own_nearest, nearest_neighbour_percent(X))
    queries = X[:3] * 1.01
    pd.testing.assert_frame_equal(find_similar(queries, table, k=4, reference=cal.reference),
                                  find_similar(queries, table, k=4))

"""DBCV, S_Dbw and the (Nc, Ns) parameter study of Fig. 7."""

from __future__ import annotations

import numpy as np
import pytest
from hdbscan.validity import validity_index
from scipy.spatial.distance import cdist

from elfutils.analysis.cluster import minkowski_distances
from elfutils.analysis.fingerprints import fingerprint_matrix, synthetic_fingerprints
from elfutils.analysis.validity import all_points_core_distance, dbcv, parameter_study, s_dbw


def test_s_dbw_hand_checked_overlapping_clusters():
    """Two clusters of 3 points on the x axis, plus one noise point (excluded).

    A = {0, 1, 2}, B = {1.5, 2.5, 3.5} (y = 0). Centres v_A = 1, v_B = 2.5.
    Variance vectors: sigma(A) = sigma(B) = (2/3, 0), norm 2/3.
    All six points: mean 1.75, squared deviations 3.0625, .5625, .0625, .0625, .5625, 3.0625
    -> sigma(S) = (59/48, 0).
    Scat = (1/2)(2/3 + 2/3) / (59/48) = 32/59.
    stdev = (1/2) sqrt(2/3 + 2/3) = 0.577.
    Midpoint u = 1.75: points of A u B within 0.577 are 2 (0.25) and 1.5 (0.25) -> 2.
    density(v_A = 1): 1 (0) and 1.5 (0.5) -> 2; density(v_B = 2.5): 2.5 (0) and 2 (0.5) -> 2.
    Dens_bw = 1/(2*1) * (2/2 + 2/2) = 1.  S_Dbw = 1 + 32/59 = 91/59.
    """
    X = np.array([[0, 0], [1, 0], [2, 0], [1.5, 0], [2.5, 0], [3.5, 0], [50, 50]], dtype=float)
    labels = np.array([0, 0, 0, 1, 1, 1, -1])
    assert s_dbw(X, labels) == pytest.approx(91 / 59)


def test_s_dbw_hand_checked_separated_clusters():
    """A = {-1, 0, 1}, B = {9, 10, 11} on the x axis.

    sigma(A) = sigma(B) = (2/3, 0); sigma(S): mean 5, squared deviations 36, 25, 16, 16, 25, 36 -> 77/3.
    Scat = (2/3) / (77/3) = 2/77. stdev = 0.577; nothing lies within it of the midpoint 5 -> Dens_bw = 0.
    """
    X = np.array([[-1, 0], [0, 0], [1, 0], [9, 0], [10, 0], [11, 0]], dtype=float)
    assert s_dbw(X, [0, 0, 0, 1, 1, 1]) == pytest.approx(2 / 77)


def test_s_dbw_needs_two_clusters():
    assert np.isnan(s_dbw(np.zeros((4, 2)), [0, 0, -1, -1]))


def test_dbcv_hand_checked():
    """1-D, d = 1: A = {0, 1, 2}, B = {10, 11, 12}, one noise point at 100.

    All-points core distances in A: point 0 -> ((1/1 + 1/2)/2)^-1 = 4/3, point 1 -> 1, point 2 -> 4/3.
    Mutual reachability: 0-1 = 1-2 = 4/3, 0-2 = 2; MST = {0-1, 1-2}; only point 1 is internal, there are no
    internal edges, so (as in hdbscan and the authors' MATLAB code) sparseness = max MST edge = 4/3.
    Separation A-B between internal points 1 and 11: max(10, 1, 1) = 10.
    V_A = V_B = (10 - 4/3)/10 = 13/15; DBCV = (3/7 + 3/7) * 13/15 = 26/35 (noise counts in the total).
    """
    x = np.array([0, 1, 2, 10, 11, 12, 100.0])[:, None]
    labels = np.array([0, 0, 0, 1, 1, 1, -1])
    D = cdist(x, x)
    np.testing.assert_allclose(all_points_core_distance(D[:3, :3], d=1), [4 / 3, 1, 4 / 3])
    score, per_cluster = dbcv(D, labels, d=1, per_cluster=True)
    assert score == pytest.approx(26 / 35)
    np.testing.assert_allclose(per_cluster, [13 / 15, 13 / 15])


def test_dbcv_matches_hdbscan_where_hdbscan_is_safe():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(loc=c, size=(25, 4)) for c in (0, 6, 12)] + [rng.uniform(-5, 20, size=(8, 4))])
    labels = np.r_[np.repeat([0, 1, 2], 25), -np.ones(8, int)]
    assert dbcv(cdist(X, X), labels, d=4) == pytest.approx(validity_index(X, labels), rel=1e-9)


def test_dbcv_is_scale_free_on_minkowski_distances():
    """Minkowski-0.2 distances of 98-D fingerprints are ~1e9: (1/D)^98 underflows in the naive formula."""
    table, truth = synthetic_fingerprints(3, 12, n_noise=6, seed=2)
    D = minkowski_distances(fingerprint_matrix(table))
    assert D.max() > 1e8
    score = dbcv(D, truth, d=98)
    assert 0.5 < score <= 1
    for scale in (1e-12, 1e12):
        assert dbcv(D * scale, truth, d=98) == pytest.approx(score, rel=1e-9)


def test_dbcv_needs_two_clusters():
    assert np.isnan(dbcv(np.zeros((3, 3)), np.array([0, 0, -1])))


def test_parameter_study_grid():
    table, _ = synthetic_fingerprints(3, 12, n_noise=6, seed=3)
    study = parameter_study(table, range(2, 5), range(2, 4), progress=False)
    columns = ["min_cluster_size", "min_samples", "n_clusters", "n_unclassified", "dbcv", "s_dbw"]
    assert list(study.columns) == columns
    assert len(study) == 6
    grid = {(a, b) for a in range(2, 5) for b in (2, 3)}
    assert set(zip(study["min_cluster_size"], study["min_samples"], strict=True)) == grid
    assert (study["n_clusters"] >= 3).all()  # the three planted groups at least
    assert study["dbcv"].between(-1, 1).all() and (study["s_dbw"] > 0).all()
    heat = study.pivot(index="min_samples", columns="min_cluster_size", values="n_unclassified")
    assert heat.shape == (2, 3)

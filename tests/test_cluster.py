"""Fingerprint tables and the multi-stage clustering module (HDBSCAN, UMAP, DBSCAN, t-SNE)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from elfutils.analysis.cluster import (
    FingerprintHDBSCAN,
    cluster_tree_table,
    dbscan_groups,
    exemplar_table,
    fit_pipeline,
    knee_eps,
    minkowski_distances,
    tsne_embedding,
    write_exemplars,
)
from elfutils.analysis.fingerprints import (
    fingerprint_matrix,
    make_table,
    read_fingerprints,
    synthetic_fingerprints,
    write_fingerprints,
)
from elfutils.constants import MINKOWSKI_P, UMAP_MIN_DIST, UMAP_N_NEIGHBORS

N_GROUPS, PER_GROUP = 4, 15


@pytest.fixture(scope="module")
def planted():
    return synthetic_fingerprints(N_GROUPS, PER_GROUP, n_noise=10, seed=0)


@pytest.fixture(scope="module")
def fitted(planted):
    table, _ = planted
    return FingerprintHDBSCAN().fit(table)


@pytest.fixture(scope="module")
def pipeline(planted):
    table, _ = planted
    return fit_pipeline(table, return_model=True)


# --- fingerprint tables ----------------------------------------------------------------------------------
def test_fingerprint_matrix_rejects_wrong_length():
    table = make_table(["a", "b"], ["X", "Y"], np.zeros((2, 97)))
    with pytest.raises(ValueError, match=r"must have 98 numbers per material.*got 97"):
        fingerprint_matrix(table)


def test_fingerprint_matrix_names_nan_row(planted):
    table = planted[0].copy()
    table.loc[3, "f7"] = np.nan
    with pytest.raises(ValueError, match=r"row 3 \(material m3\) contains NaN"):
        fingerprint_matrix(table)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_fingerprint_table_round_trip(tmp_path, planted, suffix):
    table = planted[0]
    path = write_fingerprints(table, tmp_path / f"fp{suffix}")
    back = read_fingerprints(path)
    np.testing.assert_allclose(fingerprint_matrix(back), fingerprint_matrix(table))
    assert back["material_id"].tolist() == table["material_id"].tolist()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind


def test_read_fingerprints_reports_missing_column(tmp_path, planted):
    path = tmp_path / "bad.csv"
    planted[0].drop(columns="formula").to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['formula'\]"):
        read_fingerprints(path)


# --- HDBSCAN ------------------------------------------------------------------------------------------------
def test_minkowski_p_is_the_one_used(fitted, planted):
    """Methods: "Minkowski distance with exponent p = 0.2" -- the paper's number, not the constant that holds
    it, so a changed constant fails here."""
    assert MINKOWSKI_P == 0.2
    X = fingerprint_matrix(planted[0])
    np.testing.assert_allclose(fitted.distances_, cdist(X, X, "minkowski", p=0.2), rtol=1e-10)
    assert not np.allclose(minkowski_distances(X, p=1.0), fitted.distances_)


def test_the_pipeline_runs_with_the_papers_parameters(planted, monkeypatch):
    """By value, from the paper (Results and Methods): HDBSCAN on Minkowski p = 0.2 with Nc = 5, Ns = 2, then
    UMAP with NN = 10 and MD = 0.1 -- what fit_pipeline's defaults actually hand to HDBSCAN and to UMAP."""
    import umap

    made = []
    real_umap = umap.UMAP

    def spy(**kwargs):
        made.append(kwargs)
        return real_umap(**kwargs)

    monkeypatch.setattr(umap, "UMAP", spy)
    _, model = fit_pipeline(planted[0], return_model=True)
    assert (model.p, model.min_cluster_size, model.min_samples) == (0.2, 5, 2)
    assert len(made) == 1 and (made[0]["n_neighbors"], made[0]["min_dist"]) == (10, 0.1)
    assert (UMAP_N_NEIGHBORS, UMAP_MIN_DIST) == (10, 0.1)


def test_hdbscan_finds_planted_groups(fitted, planted):
    _, truth = planted
    assert fitted.n_clusters_ == N_GROUPS
    for g in range(N_GROUPS):
        labels = fitted.labels_[truth == g]
        assert len(set(labels)) == 1 and labels[0] >= 0  # each group is one whole cluster
    assert len({fitted.labels_[truth == g][0] for g in range(N_GROUPS)}) == N_GROUPS
    assert fitted.n_unclassified_ == int((fitted.labels_ == -1).sum())
    assert fitted.probabilities_[fitted.labels_ == -1].max(initial=0) == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"min_cluster_size": 1}, r"min_cluster_size \(Nc\) must be an integer >= 2, got 1"),
        ({"min_samples": 0}, r"min_samples \(Ns\) must be an integer >= 1, got 0"),
        ({"p": 0}, r"p \(Minkowski exponent\) must be > 0, got 0"),
        ({"p": -0.2}, r"p \(Minkowski exponent\) must be > 0, got -0.2"),
        ({"min_cluster_size": 2.5}, r"min_cluster_size \(Nc\) must be an integer >= 2, got 2.5"),
    ],
)
def test_invalid_parameters_rejected(planted, kwargs, message):
    with pytest.raises(ValueError, match=message):
        FingerprintHDBSCAN(**kwargs).fit(planted[0])


def test_every_invalid_parameter_is_named(planted):
    with pytest.raises(ValueError) as info:
        FingerprintHDBSCAN(min_cluster_size=1, min_samples=0, p=0).fit(planted[0])
    for name in ("min_cluster_size (Nc)", "min_samples (Ns)", "p (Minkowski exponent)"):
        assert name in str(info.value)


def test_fit_rejects_bad_fingerprints():
    with pytest.raises(ValueError, match="must have 98 numbers per material; got 10"):
        FingerprintHDBSCAN().fit(np.zeros((20, 10)))
    X = np.zeros((20, 98))
    X[5, 0] = np.nan
    with pytest.raises(ValueError, match="row 5 contains NaN"):
        FingerprintHDBSCAN().fit(X)


def test_exemplars_ordered_by_probability(fitted, tmp_path):
    table = exemplar_table(fitted)
    assert list(table.columns) == ["cluster", "rank", "material_id", "formula", "probability"]
    assert len(table) == int((fitted.labels_ >= 0).sum())
    for _, group in table.groupby("cluster"):
        assert group["rank"].tolist() == list(range(1, len(group) + 1))
        assert group["probability"].is_monotonic_decreasing
    path = write_exemplars(table, tmp_path / "exemplars.csv")
    pd.testing.assert_frame_equal(pd.read_csv(path, dtype={"material_id": str, "formula": str}), table)


def test_cluster_tree_table(fitted):
    tree = cluster_tree_table(fitted)
    assert list(tree.columns) == ["parent", "child", "lambda", "distance", "size", "selected", "label"]
    selected = tree[tree["selected"]]
    assert sorted(selected["label"]) == list(range(fitted.n_clusters_))
    for _, row in selected.iterrows():
        assert row["size"] == (fitted.labels_ == row["label"]).sum()
    np.testing.assert_allclose(tree["distance"], 1 / tree["lambda"])
    assert tree["parent"].min() == len(fitted.labels_)  # the root


def test_predict_assigns_new_points(fitted, planted):
    table, truth = planted
    X = fingerprint_matrix(table)
    rng = np.random.default_rng(1)
    members = [np.flatnonzero(truth == g)[0] for g in range(N_GROUPS)]
    near = X[members] + rng.normal(scale=0.005, size=(N_GROUPS, X.shape[1]))
    labels, probs = fitted.predict(near)
    assert labels.tolist() == fitted.labels_[members].tolist()
    assert ((probs > 0) & (probs <= 1)).all()
    far_labels, far_probs = fitted.predict(rng.uniform(5, 6, size=(2, X.shape[1])))
    assert far_labels.tolist() == [-1, -1] and far_probs.tolist() == [0, 0]


# --- embeddings and DBSCAN ----------------------------------------------------------------------------------
def test_knee_eps_and_dbscan_on_blobs():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    coords = np.vstack([c + rng.normal(scale=0.3, size=(30, 2)) for c in centres])
    eps = knee_eps(coords, 5)
    assert 0.1 < eps < 5
    groups, used = dbscan_groups(coords, eps="knee", min_samples=5)
    assert used == pytest.approx(eps)
    truth = np.repeat([0, 1, 2], 30)
    for g in range(3):
        core = groups[truth == g]
        assert (core == np.bincount(core[core >= 0]).argmax()).mean() > 0.9
    # only the clustered materials take part; the rest stay -1
    mask = truth != 2
    groups, _ = dbscan_groups(coords, mask, eps=1.0)
    assert (groups[~mask] == -1).all() and len(set(groups[mask]) - {-1}) == 2
    with pytest.raises(ValueError, match="eps must be a positive number or 'knee'"):
        dbscan_groups(coords, eps=-1.0)


def test_pipeline_table(pipeline, planted):
    table, model = pipeline
    assert list(table.columns) == [
        "material_id", "formula", "hdbscan_label", "probability", "umap_x", "umap_y", "dbscan_group",
    ]
    assert len(table) == len(planted[0])
    assert np.isfinite(table[["umap_x", "umap_y"]].to_numpy()).all()
    assert (table.loc[table["hdbscan_label"] == -1, "dbscan_group"] == -1).all()
    assert table.attrs["dbscan_eps"] > 0 and table.attrs["n_clusters"] == model.n_clusters_
    # each planted group lands in a single DBSCAN group on the UMAP
    truth = planted[1]
    for g in range(N_GROUPS):
        assert table["dbscan_group"][truth == g].nunique() == 1


def test_tsne_embedding(fitted):
    xy = tsne_embedding(fitted.distances_, perplexity=10, max_iter=250)
    assert xy.shape == (len(fitted.labels_), 2) and np.isfinite(xy).all()


def test_cli_cluster(tmp_path, planted):
    from elfutils.cli import main

    src = write_fingerprints(planted[0], tmp_path / "fp.csv")
    out, ex, tree = tmp_path / "clusters.parquet", tmp_path / "ex.csv", tmp_path / "tree.csv"
    args = ["cluster", str(src), "--out", str(out), "--exemplars", str(ex), "--tree", str(tree), "--eps", "2"]
    code = main(args)
    assert code == 0
    result = pd.read_parquet(out)
    assert result["hdbscan_label"].max() + 1 == N_GROUPS
    assert len(pd.read_csv(ex)) == (result["hdbscan_label"] >= 0).sum()
    assert pd.read_csv(tree)["selected"].sum() == N_GROUPS
    assert main(["cluster", str(src), "--out", str(out), "--min-cluster-size", "1"]) == 2


def test_save_and_load_keep_predict(fitted, planted, tmp_path):
    path = fitted.save(tmp_path / "hdbscan.npz")
    loaded = FingerprintHDBSCAN.load(path)
    assert loaded.distances_ is None and loaded.n_clusters_ == fitted.n_clusters_
    np.testing.assert_array_equal(loaded.labels_, fitted.labels_)
    X = fingerprint_matrix(planted[0])[:20] + 0.001
    for a, b in zip(loaded.predict(X), fitted.predict(X), strict=True):
        np.testing.assert_array_equal(a, b)
    pd.testing.assert_frame_equal(exemplar_table(loaded), exemplar_table(fitted))


def test_a_saved_model_holds_no_pickle(fitted, tmp_path):
    """The file is arrays and JSON: loading needs no pickle, and a file that holds objects is refused."""
    path = fitted.save(tmp_path / "hdbscan.npz")
    with np.load(path, allow_pickle=False) as f:
        assert all(f[name].dtype != object for name in f.files)
    evil = tmp_path / "evil.npz"
    np.savez(evil, header=np.array([{"kind": "elf FingerprintHDBSCAN"}], dtype=object))
    with pytest.raises(ValueError, match="not a saved FingerprintHDBSCAN"):
        FingerprintHDBSCAN.load(evil)

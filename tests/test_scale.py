"""The scalable path (neighbour graph, graph HDBSCAN, index) against the exact one on a seeded set.

The set: 40 planted groups of 25 plus 200 uniform-noise materials (1200), coordinates rounded through float32
as the network's fingerprints are, so both paths see the same numbers.
"""

import numpy as np
import pytest
from scipy.sparse.csgraph import minimum_spanning_tree
from sklearn.metrics import adjusted_rand_score

from elfutils.analysis import neighbors
from elfutils.analysis.cluster import FingerprintHDBSCAN, fit_pipeline, minkowski_distances
from elfutils.analysis.duplicates import find_duplicates
from elfutils.analysis.fingerprints import fingerprint_matrix, make_table, synthetic_fingerprints
from elfutils.analysis.graph_hdbscan import core_distances, spanning_tree
from elfutils.analysis.similar import find_similar


@pytest.fixture(scope="module")
def seeded():
    df, _ = synthetic_fingerprints(n_groups=40, per_group=25, n_noise=200, spread=0.05)
    X = fingerprint_matrix(df).astype(np.float32).astype(np.float64)
    df = make_table(df["material_id"], df["formula"], X)
    return df, X


@pytest.fixture(scope="module")
def exact(seeded):
    _, X = seeded
    D = minkowski_distances(X)
    off_diagonal = D + np.diag(np.full(len(D), np.inf))
    return D, np.argsort(off_diagonal, axis=1, kind="stable")


def test_exact_knn_matches_the_matrix(seeded, exact):
    _, X = seeded
    D, order = exact
    idx, dist = neighbors.exact_knn(X, 10)
    assert neighbors.neighbour_recall(idx, order[:, :10]) == 1.0
    np.testing.assert_allclose(dist, np.take_along_axis(D, idx, axis=1), rtol=1e-6)
    q_idx, _ = neighbors.exact_knn(X, 5, queries=X[:7])  # as queries, a row finds itself first
    assert (q_idx[:, 0] == np.arange(7)).all()


def test_nndescent_graph_recall(seeded, exact):
    _, X = seeded
    graph = neighbors.knn_graph(X, 10, method="nndescent")
    assert graph.method == "nndescent" and graph.indices.shape == (len(X), 10)
    assert (graph.indices != np.arange(len(X))[:, None]).all()  # never itself
    assert neighbors.neighbour_recall(graph.indices, exact[1][:, :10]) >= 0.99


def test_graph_spanning_tree_is_the_exact_one(seeded, exact):
    _, X = seeded
    D, _ = exact
    graph = neighbors.knn_graph(X, neighbors.GRAPH_K, method="exact")
    core = core_distances(graph, 2)
    mr = np.maximum(D, np.maximum(core[:, None], core[None, :]))
    np.fill_diagonal(mr, 0)
    exact_weight = minimum_spanning_tree(mr).sum()
    tree, n_bridges = spanning_tree(X, graph, core)
    assert len(tree) == len(X) - 1 and n_bridges == 0
    assert tree[:, 2].sum() == pytest.approx(exact_weight, rel=1e-6)


def test_graph_hdbscan_agrees_with_dense(seeded, exact):
    df, _ = seeded
    dense = FingerprintHDBSCAN(scale="dense").fit(df, distances=exact[0])
    graph = FingerprintHDBSCAN(scale="graph").fit(df)
    assert graph.scale_ == "graph" and graph.distances_ is None
    assert dense.n_clusters_ >= 30
    assert abs(graph.n_clusters_ - dense.n_clusters_) <= 1
    assert adjusted_rand_score(dense.labels_, graph.labels_) >= 0.95
    np.testing.assert_allclose(graph.core_distances_, dense.core_distances_, rtol=1e-6)
    labels, _ = graph.predict(fingerprint_matrix(df)[:50])  # the fitted tree answers queries
    assert (labels[graph.labels_[:50] >= 0] == graph.labels_[:50][graph.labels_[:50] >= 0]).mean() >= 0.9


def test_disconnected_graph_is_joined():
    """Two groups far apart and a graph of 3 neighbours: the graph falls in pieces; the tree still spans
    all materials, through the cheapest crossing edge (checked against the exact tree's weight)."""
    rng = np.random.default_rng(0)
    groups = [rng.normal(centre, 0.01, (size, 98)) for centre, size in ((0, 40), (5, 30), (-5, 8))]
    X = np.vstack(groups)
    X = X.astype(np.float32).astype(np.float64)
    graph = neighbors.knn_graph(X, 3, method="exact")
    core = core_distances(graph, 2)
    tree, n_bridges = spanning_tree(X, graph, core)
    assert n_bridges >= 2 and len(tree) == len(X) - 1
    D = minkowski_distances(X)
    mr = np.maximum(D, np.maximum(core[:, None], core[None, :]))
    np.fill_diagonal(mr, 0)
    assert tree[:, 2].sum() == pytest.approx(minimum_spanning_tree(mr).sum(), rel=1e-6)
    model = FingerprintHDBSCAN(scale="graph").fit(X, graph=graph)
    truth = np.repeat([0, 1, 2], [40, 30, 8])
    assert adjusted_rand_score(truth, model.labels_) == 1.0


def test_pipeline_on_the_graph(seeded):
    df, _ = seeded
    table = fit_pipeline(df, scale="graph")
    assert table.attrs["scale"] == "graph"
    assert list(table.columns) == ["material_id", "formula", "hdbscan_label", "probability", "umap_x",
                                   "umap_y", "dbscan_group"]
    assert np.isfinite(table[["umap_x", "umap_y"]].to_numpy()).all()
    # the map keeps the planted groups together: members of one group sit closer than random pairs
    xy = table[["umap_x", "umap_y"]].to_numpy()
    same = np.linalg.norm(xy[0:25] - xy[0:25].mean(axis=0), axis=1).mean()
    assert same < 0.2 * np.linalg.norm(xy - xy.mean(axis=0), axis=1).mean()
    assert fit_pipeline(df.iloc[:300], scale="auto").attrs["scale"] == "dense"


def test_duplicates_same_on_both_paths(seeded):
    df, X = seeded
    planted = df.copy()
    rng = np.random.default_rng(1)
    twins = rng.choice(len(df), 12, replace=False)
    for n, (i, j) in enumerate(zip(twins[::2], twins[1::2], strict=True)):  # near copies, same formula
        planted.loc[j, [f"f{c}" for c in range(98)]] = (X[i] + 1e-4 * (n + 1)).astype(np.float32)
        planted.loc[j, "formula"] = planted.loc[i, "formula"]
    dense = find_duplicates(planted, scale="dense")
    graph = find_duplicates(planted, scale="graph")
    pairs = ["material_id_a", "material_id_b"]
    assert len(dense.candidates) >= 6
    assert (dense.candidates[pairs].to_numpy() == graph.candidates[pairs].to_numpy()).all()
    np.testing.assert_allclose(graph.candidates["distance"], dense.candidates["distance"], rtol=1e-5)
    assert graph.threshold == pytest.approx(dense.threshold, rel=1e-5)


def test_similarity_index_recall_and_storage(seeded, exact, tmp_path):
    _, X = seeded
    index = neighbors.SimilarityIndex.build(X)
    found, dist = index.query(X[:300], k=10)
    truth = np.argsort(exact[0][:300], axis=1, kind="stable")[:, :10]  # a query finds itself first
    assert neighbors.neighbour_recall(found, truth) >= 0.95
    np.testing.assert_allclose(dist[:, 0], 0, atol=1e-3)

    table_path = tmp_path / "fingerprints.parquet"
    first, status = neighbors.cached_index(table_path, X)
    assert status == "built" and neighbors.index_path(table_path).exists()
    again, status = neighbors.cached_index(table_path, X)
    assert status == "loaded"
    assert (again.query(X[:20])[0] == first.query(X[:20])[0]).all()
    changed = X.copy()
    changed[0, 0] += 1.0
    _, status = neighbors.cached_index(table_path, changed)  # other fingerprints: rebuilt, never reused
    assert status.startswith("rebuilt") and "fingerprints_sha256" in status


def test_index_file_never_unpickles(seeded, tmp_path):
    _, X = seeded
    path = tmp_path / "evil.elfindex.npz"
    np.savez(path, header=np.array([{"format": 1}], dtype=object), centres=X[:3], order=np.arange(len(X)),
             offsets=np.array([0, len(X)]))
    with pytest.raises(neighbors.IndexMismatch, match="not a readable"):
        neighbors.SimilarityIndex.load(path, X)


def test_find_similar_through_the_index(seeded):
    df, X = seeded
    queries = df.iloc[:40]
    exact = find_similar(queries, df, k=5)
    fast = find_similar(queries, df, k=5, index=neighbors.SimilarityIndex.build(X))
    assert list(fast.columns) == list(exact.columns)
    assert not fast["same_id"].any()  # a query's own material is left out on both paths
    overlap = [len(set(a) & set(b)) / 5 for (_, a), (_, b) in
               zip(exact.groupby("query")["material_id"], fast.groupby("query")["material_id"], strict=True)]
    assert np.mean(overlap) >= 0.95


def test_resolve_scale():
    assert neighbors.resolve_scale(neighbors.DENSE_MAX_N) == "dense"
    assert neighbors.resolve_scale(neighbors.DENSE_MAX_N + 1) == "graph"
    assert neighbors.resolve_scale(10, "graph") == "graph"
    with pytest.raises(ValueError, match="scale must be one of"):
        neighbors.resolve_scale(10, "huge")


def test_cluster_and_duplicates_commands_take_the_graph_path(seeded, tmp_path, capsys):
    from elfutils.cli import main as elf

    df, _ = seeded
    table = tmp_path / "fingerprints.parquet"
    df.iloc[:400].to_parquet(table)
    out = tmp_path / "clusters.csv"
    assert elf(["cluster", str(table), "--out", str(out), "--scale", "graph"]) == 0
    assert "graph path" in capsys.readouterr().out
    dense_out = tmp_path / "dense.csv"
    assert elf(["cluster", str(table), "--out", str(dense_out)]) == 0  # auto: 400 materials -> dense
    assert "dense path" in capsys.readouterr().out
    import pandas as pd

    graph_labels = pd.read_csv(out)["hdbscan_label"]
    dense_labels = pd.read_csv(dense_out)["hdbscan_label"]
    assert adjusted_rand_score(dense_labels, graph_labels) >= 0.95
    pairs = tmp_path / "pairs.csv"
    assert elf(["duplicates", str(table), "--out", str(pairs), "--scale", "graph"]) == 0
    assert "candidate pairs" in capsys.readouterr().out


def test_scale_results_table_and_figure():
    """The reproducibility page's view of benchmarks/results/scale.json: one row per stage run, failures
    kept with their error, and a line per stage and path in the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from elfutils.book.plots.studies import plot_cost_against_n
    from elfutils.book.scale_results import scale_table

    result = {"cluster": [{"scale": "graph", "n": 10_000, "wall_s": 60.0, "peak_mb": 900.0, "n_clusters": 80},
                          {"scale": "graph", "n": 100_000, "wall_s": 600.0, "peak_mb": 3000.0},
                          {"scale": "dense", "n": 10_000, "wall_s": 90.0, "peak_mb": 2500.0}],
              "similar": [{"n": 1_000_000, "ms_per_query": 40.0, "recall_at_10": 0.97, "wall_s": 300.0,
                           "peak_mb": 2000.0}],
              "encode": [{"m": 500, "error": "RuntimeError: no model"}]}
    table = scale_table(result)
    assert len(table) == 5
    assert set(table[table.stage == "cluster"].path) == {"graph", "dense"}
    assert table[table.stage == "similar"].path.iloc[0] == "index"
    assert table[table.stage == "encode"].error.iloc[0].startswith("RuntimeError")
    fig, axes = plt.subplots(1, 2)
    plot_cost_against_n(table, axes)
    assert len(axes[0].lines) == 3  # cluster graph, cluster dense, similar index (the failure is not drawn)
    plt.close(fig)

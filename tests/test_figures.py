"""Plot helpers of the book's figures (elfutils.book.plots) on tiny synthetic data: each returns a figure
with
the artists it promises, and the small computations behind the figures give the planted answers."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.patches import ConnectionPatch, Polygon, Rectangle

from elfutils.analysis import cluster_statistics
from elfutils.analysis.cluster import FingerprintHDBSCAN, cluster_tree_table, exemplar_table
from elfutils.analysis.fingerprints import synthetic_fingerprints
from elfutils.book import measurements, pipeline, plots, stages
from elfutils.data.bands import BandStructure, Branch


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted():
    table, _ = synthetic_fingerprints(n_groups=4, per_group=8, n_noise=6, seed=1)
    return table, FingerprintHDBSCAN(min_cluster_size=4, min_samples=2).fit(table)


@pytest.fixture()
def map_table():
    """Three planted clusters on a 2-D 'UMAP' (two of them in one DBSCAN group) and six unclassified."""
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0]])
    xy = np.vstack([c + rng.normal(scale=0.3, size=(6, 2)) for c in centres]
                   + [rng.uniform(-3, 13, size=(6, 2))])
    labels = np.r_[np.repeat([0, 1, 2], 6), -np.ones(6, int)]
    groups = np.r_[np.zeros(12, int), np.ones(6, int), -np.ones(6, int)]
    prob = np.where(labels >= 0, np.tile(np.linspace(1.0, 0.5, 6), 4), 0.0)
    table = pd.DataFrame({"material_id": [f"m{i}" for i in range(24)],
                          "formula": [f"F{i % 5}" for i in range(24)], "hdbscan_label": labels,
                          "probability": prob, "umap_x": xy[:, 0], "umap_y": xy[:, 1],
                          "dbscan_group": groups})
    table.attrs.update(dbscan_eps=1.0, n_clusters=3, n_unclassified=6)
    return table


@pytest.fixture()
def map_exemplar_table(map_table):
    clustered = map_table[map_table.hdbscan_label >= 0].sort_values(["hdbscan_label", "probability"],
                                                                  ascending=[True, False])
    out = pd.DataFrame({"cluster": clustered.hdbscan_label, "material_id": clustered.material_id,
                        "formula": clustered.formula, "probability": clustered.probability})
    out.insert(1, "rank", out.groupby("cluster").cumcount() + 1)
    return out.reset_index(drop=True)


def band_structure(material_id="m0", nbands=6):
    """Two branches with a jump (Γ-K | M-Γ), 11 k-points each, bands at -5..+5 eV around E_F = 1."""
    nk = 22
    k = np.linspace(0, 1, nk)
    energies = np.array([np.linspace(-5, 5, nbands)[b] + 0.3 * np.cos(2 * np.pi * k) for b in range(nbands)])
    branches = (Branch(0, 10, "\\Gamma", "K"), Branch(11, 21, "M", "\\Gamma"))
    return BandStructure(material_id, "X2", np.zeros((nk, 3)), np.cumsum(np.r_[0, np.full(nk - 1, 0.1)]),
                         branches, energies[None] + 1.0, efermi=1.0)


# --- colours and tree ---------------------------------------------------------------------------------------
def test_cluster_colors_are_distinct_then_cycle():
    colors = plots.style.cluster_colors(60)
    assert len(set(colors)) == 60
    assert plots.style.cluster_colors(61)[60] == colors[0]
    assert plots.style.cluster_colors(0) == []
    assert len(plots.style.group_colors(3)) == 3


def test_tree_layout_has_one_leaf_per_selected_cluster(fitted):
    _, model = fitted
    tree = cluster_tree_table(model)
    layout = plots.maps.tree_layout(tree)
    labels = [label for label, _, _ in layout["leaves"]]
    assert sorted(labels) == list(range(model.n_clusters_))
    assert [x for _, x, _ in layout["leaves"]] == list(range(model.n_clusters_))
    sizes = {label: size for label, _, size in layout["leaves"]}
    assert sizes == {c: int((model.labels_ == c).sum()) for c in range(model.n_clusters_)}
    assert all(y >= layout["baseline"] for (_, y0), (_, y1) in layout["edges"] for y in (y0, y1))


@pytest.mark.parametrize("orientation", ["left", "top"])
def test_condensed_tree_draws_sized_squares_edges_and_group_shades(fitted, orientation):
    _, model = fitted
    tree = cluster_tree_table(model)
    n = model.n_clusters_
    ax = plots.maps.plot_condensed_tree(tree, leaf_groups={c: 0 if c < 2 else 1 for c in range(n)},
                                     orientation=orientation)
    squares = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(squares) == 1 and len(squares[0].get_offsets()) == n
    assert any(isinstance(c, LineCollection) for c in ax.collections)
    shades = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(shades) == 2  # leaves {0, 1} and the rest: two runs (leaves are ordered by label here)
    sizes = squares[0].get_sizes()
    leaf_sizes = [size for _, _, size in plots.maps.tree_layout(tree)["leaves"]]
    assert np.argmax(sizes) == np.argmax(leaf_sizes)
    distance_axis = ax.xaxis if orientation == "left" else ax.yaxis
    assert distance_axis.get_scale() == "log"
    leaf_ticks = (ax.get_yticklabels() if orientation == "left" else ax.get_xticklabels())
    assert sorted(int(t.get_text()) for t in leaf_ticks) == list(range(n))


def test_condensed_tree_rejects_unknown_orientation(fitted):
    with pytest.raises(ValueError, match="orientation must be 'left' or 'top', got 'down'"):
        plots.maps.plot_condensed_tree(cluster_tree_table(fitted[1]), orientation="down")


def test_condensed_tree_without_clusters_says_so():
    empty = pd.DataFrame(columns=["parent", "child", "lambda", "distance", "size", "selected", "label"])
    ax = plots.maps.plot_condensed_tree(empty)
    assert [t.get_text() for t in ax.texts] == ["no clusters"]


# --- the map ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("regions", ["kde", "hull"])
def test_map_draws_clusters_noise_and_group_regions(map_table, regions):
    ax = plots.maps.plot_fingerprint_map(map_table, regions=regions)
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(points) == 1 + 3  # unclassified + one per cluster
    assert len(points[0].get_offsets()) == 6
    if regions == "hull":
        assert len([p for p in ax.patches if isinstance(p, Polygon)]) == 2
    else:
        assert len(ax.collections) >= len(points) + 2  # one filled contour per DBSCAN group
    assert sorted(t.get_text() for t in ax.texts) == ["0", "1", "2"]


def test_map_rejects_unknown_region_style(map_table):
    with pytest.raises(ValueError, match="regions must be 'kde', 'hull' or 'none', got 'blob'"):
        plots.maps.plot_fingerprint_map(map_table, regions="blob")


def test_map_without_clusters_draws_only_grey_points(map_table):
    table = map_table.assign(hdbscan_label=-1, dbscan_group=-1)
    ax = plots.maps.plot_fingerprint_map(table)
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(points) == 1 and len(points[0].get_offsets()) == len(table)
    fig = plots.maps.fingerprint_map_figure(table, plots.maps.map_exemplars(table, table.iloc[:0]), {})
    assert len(fig.axes) == 1


def test_map_exemplars_take_one_per_group_then_largest_clusters(map_table, map_exemplar_table):
    picks = plots.maps.map_exemplars(map_table, map_exemplar_table, n=2)
    assert list(picks.dbscan_group) == [0, 1]  # group 0 (12 materials) first, then group 1
    assert (picks["rank"] == 1).all()
    picks = plots.maps.map_exemplars(map_table, map_exemplar_table, n=5)
    assert sorted(picks.cluster) == [0, 1, 2]  # only three clusters to take from
    assert plots.maps.map_exemplars(map_table, map_exemplar_table.iloc[:0]).empty


def test_map_figure_places_one_inset_and_leader_line_per_exemplar(map_table, map_exemplar_table):
    picks = plots.maps.map_exemplars(map_table, map_exemplar_table, n=3)
    images = {m: np.eye(16, dtype=np.uint8) for m in picks.material_id[:2]}  # the third has no image
    fig = plots.maps.fingerprint_map_figure(map_table, picks, images, figsize=(8, 7))
    assert len(fig.axes) == 1 + 2
    assert len([a for a in fig.artists if isinstance(a, ConnectionPatch)]) == 2
    captions = [a.get_title() + a.get_xlabel() for a in fig.axes[1:]]
    assert all("cluster" in c and c.count("\n") == 1 for c in captions)


def test_map_values_colour_a_number_and_mark_low_values(map_table):
    gaps = np.linspace(0, 3, len(map_table))
    ax = plots.maps.plot_map_values(map_table, gaps, low=0.5, low_label="metal", label="gap")
    assert len(ax.figure.axes) == 2  # the map and its colour bar
    assert "metal" in [t.get_text() for t in ax.get_legend().get_texts()]
    with pytest.raises(ValueError, match="one number per material"):
        plots.maps.plot_map_values(map_table, gaps[:3])


def test_k_distance_plot_marks_eps():
    ax = plots.maps.plot_k_distance(np.linspace(0, 1, 20), 0.4, min_samples=5)
    assert len(ax.lines) == 2 and ax.lines[1].get_ydata()[0] == 0.4


# --- trends -------------------------------------------------------------------------------------------------
def test_gap_purity_counts_pure_clusters_against_a_shuffled_baseline():
    labels = np.repeat([0, 1, 2, -1], 10)
    gaps = np.r_[np.zeros(10), np.full(10, 2.0), np.tile([0.0, 2.0], 5), np.zeros(10)]
    out = cluster_statistics.gap_purity(labels, gaps, n_permutations=200, seed=0)
    assert out["n_clusters"] == 3 and out["n_pure"] == 2
    assert out["fraction_pure"] == pytest.approx(2 / 3)
    assert out["expected_pure"] < 0.1 and out["p_value"] < 0.05
    assert out["metal_fraction"] == pytest.approx(0.5)
    assert list(out["table"].pure) == [True, True, False]
    none = cluster_statistics.gap_purity(-np.ones(5, int), np.zeros(5))
    assert none["n_clusters"] == 0 and np.isnan(none["fraction_pure"])


def test_cluster_variance_share_is_large_for_values_set_by_the_cluster():
    labels = np.repeat([0, 1, 2, -1], 10)
    by_cluster = np.repeat([0.0, 5.0, 10.0, 99.0], 10) + np.tile(np.linspace(-0.5, 0.5, 10), 4)
    share = cluster_statistics.cluster_variance_share(labels, by_cluster, n_permutations=200)
    assert share["n"] == 30 and share["eta2"] > 0.95 and share["p_value"] < 0.01  # the -1 rows are left out
    assert share["expected_eta2"] < 0.3
    unrelated = cluster_statistics.cluster_variance_share(labels, np.tile(np.arange(10.0), 4),
                                                          n_permutations=200)
    assert unrelated["eta2"] == pytest.approx(0.0) and unrelated["p_value"] == 1.0
    flat = cluster_statistics.cluster_variance_share(labels, np.ones(40))
    assert np.isnan(flat["eta2"]) and np.isnan(flat["p_value"])


def test_neighbour_agreement_of_separated_classes_is_one():
    xy = np.r_[np.zeros((5, 2)) + np.arange(5)[:, None] * 0.01, np.ones((5, 2)) * 10]
    same, random = cluster_statistics.neighbour_agreement(xy, np.r_[np.zeros(5), np.ones(5)])
    assert same == 1.0 and random == pytest.approx(0.5)


def test_co_cluster_check_reports_presence_clusters_and_neighbour_rank():
    table = pd.DataFrame({"material_id": ["A", "B", "C", "D"], "hdbscan_label": [3, 3, -1, 5]})
    distances = np.array([[0, 1, 5, 2], [1, 0, 1, 1], [5, 1, 0, 1], [2, 1, 1, 0]], float)
    named = {"A": ("Aa", 20, {"B": "Bb", "D": "Dd", "Z": "Zz"})}
    out = measurements.co_cluster_check(table, distances, named)
    assert list(out.in_data) == [True, True, False]
    assert list(out.same_cluster) == [True, False, False]
    assert list(out.partner_cluster[:2]) == [3, 5]
    assert list(out.neighbour_rank[:2]) == [1, 2]
    assert np.isnan(out.neighbour_rank[2])


# --- interactive --------------------------------------------------------------------------------------------
def test_interactive_map_has_a_trace_per_cluster_and_hover_fields(map_table):
    fig = plots.web.interactive_map(map_table, extra={"gap": np.arange(len(map_table))})
    assert [t.name for t in fig.data] == ["unclassified", "cluster 0 (6)", "cluster 1 (6)", "cluster 2 (6)"]
    template = fig.data[1].hovertemplate
    assert all(word in template for word in ("cluster", "probability", "gap"))
    assert fig.data[1].customdata.shape == (6, 6)


def test_search_html_needs_no_cdn_and_lists_every_material(map_table):
    html = plots.web.map_search_html(plots.web.interactive_map(map_table), map_table, div_id="m-test")
    assert 'id="m-test"' in html and "plotly-graph-div" in html
    assert "cdn.plot.ly" not in html and "<script src" not in html
    assert html.count("<option ") == len(map_table)
    assert "Plotly.relayout" in html


def test_csv_download_link_holds_the_table():
    table = pd.DataFrame({"cluster": [0, 0], "rank": [1, 2], "material_id": ["a", "b"]})
    html = plots.web.csv_download_html(table, "x.csv")
    payload = html.split("base64,", 1)[1].split('"', 1)[0]
    assert pd.read_csv(io.BytesIO(base64.b64decode(payload))).equals(table)
    assert 'download="x.csv"' in html and "overflow-y:auto" in html


# --- band structures ----------------------------------------------------------------------------------------
def test_plot_bands_draws_lines_per_band_and_branch_with_path_labels():
    bs = band_structure(nbands=6)
    ax = plots.bands.plot_bands(bs, window=4.0)
    (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    inside = 4  # bands at -5, -3, -1, 1, 3, 5 eV (+-0.3): the two outer ones stay outside +-4
    assert len(lines.get_segments()) == inside * len(bs.branches)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Γ", "K|M", "Γ"]
    assert ax.get_ylim() == (-4.0, 4.0)


def test_exemplar_grid_has_a_row_per_cluster():
    rows = [("cluster 0", [(band_structure(), "a"), (band_structure(), "b")]),
            ("cluster 1", [(band_structure(), "c")])]
    fig = plots.bands.exemplar_band_grid(rows, ncols=3)
    visible = [a for a in fig.axes if a.axison]
    assert len(fig.axes) == 6 and len(visible) == 3
    empty = plots.bands.exemplar_band_grid([], ncols=3)
    assert "no clusters" in [t.get_text() for t in empty.axes[0].texts]


# --- structure overlay --------------------------------------------------------------------------------------
def test_structure_overlay_colours_localised_and_largest_clusters(map_table):
    cnnf = np.r_[np.zeros(8, int), np.ones(4, int), np.full(6, 2), -np.ones(6, int)]
    placed = map_table.assign(cnnf_cluster=cnnf)
    localisation = pd.DataFrame({"cnnf_cluster": [0, 1, 2], "size": [8, 4, 6], "largest_group": [8, 2, 6],
                                 "group_fraction": [1, 0.5, 1], "localised": [True, False, True]})
    ax = plots.structures.plot_structure_overlay(placed, localisation, motifs={0: "kagome"}, n_colored=2)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "no CNNF cluster" and labels[1] == "other CNNF clusters"
    assert "★ CNNF 0 (8): kagome" in labels and "★ CNNF 2 (6)" in labels
    assert not any("CNNF 1 " in label for label in labels)  # neither localised nor among the 2 shown


# --- duplicates ---------------------------------------------------------------------------------------------
def test_layer_top_view_draws_every_atom_and_bond_of_the_repeated_cells():
    from pymatgen.core import Lattice, Structure

    from elfutils.analysis.structure import layer_bonds

    honeycomb = Structure(Lattice.hexagonal(4.0, 20.0), ["B", "N"], [[1 / 3, 2 / 3, 0.5], [2 / 3, 1 / 3,
                                                                                           0.5]])
    ax = plots.structures.plot_layer(honeycomb, repeat=2, title="BN")
    atoms = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sorted(c.get_label() for c in atoms) == ["B", "N"]
    assert sum(len(c.get_offsets()) for c in atoms) == 2 * 2 * 2  # atoms x cells
    n_bonds = sum(len(b) for b in layer_bonds(honeycomb))
    assert n_bonds == 6  # three per atom, each seen from both ends
    assert len(ax.lines) == n_bonds * 2 * 2 + 1  # bonds x cells, plus the dashed unit cell
    assert ax.get_title() == "BN"


def test_distance_distribution_shows_both_histograms_and_threshold():
    ax = plots.studies.plot_distance_distribution(np.logspace(0, 2, 30), [1.5, 50.0], threshold=2.0)
    assert ax.get_xscale() == "log"
    assert len(ax.lines) == 1 and ax.lines[0].get_xdata()[0] == 2.0
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("same-formula" in label for label in labels)


def test_pair_overlay_colours_shared_and_own_pixels():
    a = np.array([[1, 1, 0, 0]])
    b = np.array([[1, 0, 1, 0]])
    rgb = plots.bands.pair_overlay(a, b)
    assert rgb[0, 0].tolist() == [0, 0, 0] and rgb[0, 3].tolist() == [1, 1, 1]
    assert rgb[0, 1, 0] > rgb[0, 1, 2] and rgb[0, 2, 2] > rgb[0, 2, 0]


def test_pair_images_figure_draws_three_images_per_pair():
    pairs = pd.DataFrame({"rank": [1, 2, 3], "formula": ["X", "Y", "Z"], "material_id_a": ["a", "c", "e"],
                          "material_id_b": ["b", "d", "missing"], "distance": [0.1, 0.2, 0.3]})
    images = {m: np.eye(8, dtype=np.uint8) for m in "abcde"}
    fig = plots.bands.pair_images_figure(pairs, images, pairs_per_row=2, title="closest pairs")
    assert sum(len(a.images) for a in fig.axes) == 6  # the pair without an image is left out
    assert fig.get_suptitle() == "closest pairs"
    none = plots.bands.pair_images_figure(pairs.iloc[:0], images)
    assert "no candidate pairs" in [t.get_text() for t in none.axes[0].texts]


# --- inputs -------------------------------------------------------------------------------------------------
def test_load_clustering_rereads_when_the_key_changes_while_reading(monkeypatch):

    keys = iter(["k1", "k2", "k2", "k2"])
    calls = []
    monkeypatch.setattr(stages.clustering, "clustering_key", lambda p: next(keys))
    monkeypatch.setattr(stages.clustering, "clustering", lambda p: calls.append("t") or "table")
    monkeypatch.setattr(stages.clustering, "cluster_tree", lambda p: "tree")
    monkeypatch.setattr(stages.clustering, "exemplars", lambda p: "exemplars")
    assert pipeline.load_clustering("smoke") == ("table", "tree", "exemplars")
    assert calls == ["t", "t"]


def test_exemplar_table_feeds_map_exemplars(fitted):
    """The real exemplar table of a fitted model has what map_exemplars needs."""
    table, model = fitted
    exemplars = exemplar_table(model)
    clusters = pd.DataFrame({"material_id": model.material_ids_, "formula": model.formulas_,
                             "hdbscan_label": model.labels_, "probability": model.probabilities_,
                             "umap_x": np.arange(len(table)), "umap_y": np.zeros(len(table)),
                             "dbscan_group": np.where(model.labels_ >= 0, 0, -1)})
    picks = plots.maps.map_exemplars(clusters, exemplars, n=3)
    assert len(picks) == min(3, model.n_clusters_) and picks.material_id.isin(model.material_ids_).all()

"""The chapters' helpers: the Fig. 7 choice rule (analysis.parameter_selection), embedding agreement
(analysis.embedding_metrics), group closeness (analysis.closeness), the measurements of a profile
(book.measurements), their figures (book.plots) and the "paper vs this reproduction" table on stubbed stage
outputs."""

from __future__ import annotations

import dataclasses
import math
import types

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from elfutils import constants
from elfutils.analysis import closeness, embedding_metrics, parameter_selection
from elfutils.book import measurements, plots, tables, verdict_text
from elfutils.book import paper_quantities as pq
from elfutils.book.profiles import get_profile


# --- Fig. 7 rule -------------------------------------------------------------------------------------------
def study(rows) -> pd.DataFrame:
    cols = ["min_cluster_size", "min_samples", "n_clusters", "n_unclassified", "dbcv", "s_dbw"]
    return pd.DataFrame(rows, columns=cols)


@pytest.fixture
def grid():
    # Nc 2..5 x Ns 2..3. Many clusters at small Nc; DBCV best around Nc 4..5; unclassified grows with Ns.
    return study([
        (2, 2, 90, 100, 0.10, 0.5), (2, 3, 80, 150, 0.12, 0.5),
        (3, 2, 60, 120, 0.20, 0.6), (3, 3, 50, 170, 0.22, 0.6),
        (4, 2, 40, 140, 0.35, 0.7), (4, 3, 35, 190, 0.40, 0.7),
        (5, 2, 30, 160, 0.30, 0.8), (5, 3, 1, 400, np.nan, np.nan),
    ])


def test_rule_keeps_large_dbcv_and_bounded_counts_then_fewest_unclassified(grid):
    judged = parameter_selection.apply_selection_rule(grid)
    valid = grid.dropna()
    assert judged.attrs["dbcv_threshold"] == pytest.approx(np.median(valid.dbcv))
    assert judged.attrs["cluster_bound"] == pytest.approx(np.median(valid.n_clusters))
    assert judged.valid.tolist() == [True] * 7 + [False]
    # candidates: DBCV >= 0.22 and clusters <= 50 -> (3,3) 170, (4,2) 140, (4,3) 190, (5,2) 160
    candidates = judged[judged.candidate].sort_values("order")
    assert list(zip(candidates.min_cluster_size, candidates.min_samples, strict=True)) == [(4, 2), (5, 2),
                                                                                           (3, 3), (4, 3)]
    chosen = parameter_selection.suggest_parameters(grid)
    assert (chosen.min_cluster_size, chosen.min_samples) == (4, 2)
    assert "fewest unclassified" in judged.attrs["rule"]


def test_rule_ties_go_to_higher_dbcv_then_smaller_parameters():
    tied = study([(2, 2, 3, 10, 0.5, 1), (3, 2, 3, 10, 0.6, 1), (4, 2, 3, 10, 0.6, 1), (5, 2, 3, 50, 0.9, 1)])
    rule = parameter_selection.SelectionRule(dbcv_quantile=0.0, cluster_quantile=1.0)
    chosen = parameter_selection.suggest_parameters(tied, rule)
    assert (chosen.min_cluster_size, chosen.min_samples) == (3, 2)


def test_rule_without_any_valid_point_suggests_nothing():
    flat = study([(2, 1, 1, 5, np.nan, np.nan), (3, 1, 0, 48, np.nan, np.nan)])
    judged = parameter_selection.apply_selection_rule(flat)
    assert not judged.candidate.any() and math.isnan(judged.attrs["dbcv_threshold"])
    assert parameter_selection.suggest_parameters(flat) is None
    assert verdict_text.paper_choice_verdict(judged) == "Our grid does not hold the paper's choice."


def test_rule_rejects_bad_settings_and_tables(grid):
    with pytest.raises(ValueError, match=r"dbcv_quantile must lie in \[0, 1\], got 1.5"):
        parameter_selection.SelectionRule(dbcv_quantile=1.5)
    with pytest.raises(ValueError, match="min_clusters must be >= 2"):
        parameter_selection.SelectionRule(min_clusters=1)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['dbcv'\]"):
        parameter_selection.apply_selection_rule(grid.drop(columns="dbcv"))


def test_verdict_on_the_papers_choice(grid):
    judged = parameter_selection.apply_selection_rule(grid)
    assert "candidate 2 of 4" in verdict_text.paper_choice_verdict(judged)
    assert verdict_text.paper_choice_verdict(judged, paper=(4, 2)).startswith("The rule picks")
    few = grid.copy()
    few.loc[(few.min_cluster_size == 5) & (few.min_samples == 2), ["n_clusters", "dbcv"]] = [1, np.nan]
    few_judged = parameter_selection.apply_selection_rule(few)
    assert "gives 1 cluster," in verdict_text.paper_choice_verdict(few_judged)
    assert "DBCV is below" in verdict_text.paper_choice_verdict(judged, paper=(2, 2))


def test_extremes_grid_point_and_number_text(grid):
    ext = parameter_selection.study_extremes(grid, "dbcv")
    assert (ext["max"], ext["max_nc"], ext["max_ns"]) == (0.40, 4, 3)
    assert (ext["min"], ext["min_nc"], ext["min_ns"]) == (0.10, 2, 2)
    assert math.isnan(parameter_selection.study_extremes(grid.assign(dbcv=np.nan), "dbcv")["min"])
    assert parameter_selection.grid_point(grid, 9, 9) is None
    assert tables.number_text(np.nan) == "undefined" and tables.number_text(None) == "undefined"
    assert tables.number_text(0.12345, ".2f") == "0.12" and tables.number_text(np.int64(3), ".0f") == "3"


def test_readable_shows_missing_cells_as_a_dash_and_leaves_out_empty_columns():
    frame = pd.DataFrame({"seconds": [41.563, np.nan], "n_items": [3, None], "empty": [np.nan, np.nan],
                          "at": [pd.NaT, pd.Timestamp("2026-01-01")],
                          "count": pd.array([1, None], dtype="Int64"), "ok": [True, False]},
                         index=pd.Index(["a", None], name="stage"))
    shown = tables.readable(frame)
    html, text = shown._repr_html_(), repr(shown)
    for missing in ("NaN", "nan", "None", "NaT", "&lt;NA&gt;", "empty"):
        assert missing not in html, missing
    assert "<NA>" not in text and "NaN" not in text and "–" in text
    assert "41.563" in html and "True" in html and html.count("<td>–</td>") == 4
    assert list(shown.frame.columns) == ["seconds", "n_items", "at", "count", "ok"] and len(shown) == 2
    assert frame["empty"].isna().all()  # display only: the table itself is unchanged
    assert "empty" in tables.readable(frame, drop_empty=False).frame
    assert "–" in repr(tables.readable(pd.Series([1.0, None], name="v")))
    assert len(tables.readable(frame.iloc[:0])) == 0


def test_paths_are_shown_relative_to_the_project():
    import sys

    from elfutils.book.environment import PROJECT_ROOT, machine_info, project_path
    from elfutils.paths import cache_dir

    assert project_path(PROJECT_ROOT / ".venv" / "bin" / "python") == ".venv/bin/python"
    assert project_path("/nowhere/else/best.safetensors") == "best.safetensors"
    inside = project_path(cache_dir() / "models" / "k" / "best.safetensors")
    assert inside.endswith("models/k/best.safetensors") and not inside.startswith("/")
    assert machine_info()["interpreter"] == project_path(sys.executable)


def test_figures_draw_every_panel_with_undefined_cells(grid):
    judged = parameter_selection.apply_selection_rule(grid)
    fig = plots.studies.parameter_study_figure(judged)
    assert len(fig.axes) >= 4
    ax = plots.studies.study_heatmap(judged, "s_dbw", legend=True)
    assert ax.get_title() == "S_Dbw (lower is better)"
    assert {t.get_text() for t in ax.texts} >= {"0.50", "0.80"}
    assert ax.get_legend() is not None
    empty = plots.studies.study_heatmap(judged.assign(dbcv=np.nan), "dbcv")  # nothing to colour: a panel
    assert not empty.texts
    with pytest.raises(ValueError, match="column must be one of"):
        plots.studies.study_heatmap(judged, "silhouette")
    plt.close("all")


# --- embeddings -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    X = np.vstack([c + rng.normal(size=(15, 2)) for c in centres])
    return X, np.repeat([0, 1, 2], 15)


def test_a_faithful_map_scores_one_and_a_shuffled_one_does_not(blobs):
    X, labels = blobs
    D = cdist(X, X)
    shuffled = np.random.default_rng(1).permutation(X)
    table = embedding_metrics.embedding_agreement(D, {"same": X, "scaled": 3 * X + 7, "shuffled": shuffled},
                                                  labels, k=5)
    assert table.attrs["k"] == 5
    assert list(table.index) == ["fingerprint space", "same", "scaled", "shuffled"]
    for name in ("same", "scaled"):
        assert table.loc[name, "trustworthiness"] == pytest.approx(1.0)
        assert table.loc[name, "knn_preserved"] == pytest.approx(1.0)
        assert table.loc[name, "same_cluster_neighbour"] == pytest.approx(1.0)
    assert table.loc["shuffled", "knn_preserved"] < 0.3
    assert table.loc["shuffled", "trustworthiness"] < 0.75


def test_neighbourhood_helpers(blobs):
    X, _labels = blobs
    D = cdist(X, X)
    assert embedding_metrics.effective_k(45, 100) == 22  # scikit-learn needs k < N / 2
    with pytest.raises(ValueError, match="at least 4 materials"):
        embedding_metrics.effective_k(3, 2)
    nearest = embedding_metrics.knn_indices(np.array([[0, 1, 5], [1, 0, 2], [5, 2, 0]]), 1)
    assert nearest[:, 0].tolist() == [1, 0, 1]
    assert math.isnan(embedding_metrics.same_cluster_neighbour(D, np.full(len(X), -1)))
    with pytest.raises(ValueError, match=r"embedding 'bad' must have shape \(45, 2\)"):
        embedding_metrics.embedding_agreement(D, {"bad": X[:10]})
    with pytest.raises(ValueError, match="square"):
        embedding_metrics.knn_preserved(D[:5], X)
    by_k = embedding_metrics.agreement_by_k(D, {"same": X}, ks=(3, 5, 500))
    assert by_k.k.tolist() == [3, 5, 22] and (by_k.trustworthiness > 0.999).all()


def test_embeddings_and_band_images_figures(blobs):
    X, labels = blobs
    fig = plots.maps.embeddings_figure(np.r_[labels[:-1], -1], {"a": X, "b": -X})
    assert len(fig.axes) == 2
    colours = plots.maps.cluster_colours(np.r_[labels, -1])
    assert colours[-1] == plots.style.NOISE_COLOR and len({colours[c] for c in (0, 1, 2)}) == 3
    assert [colours[c] for c in (0, 1, 2)] == plots.style.cluster_colors(3)  # one palette across the chapters
    fig = plots.bands.band_images_figure([np.eye(8, dtype=np.uint8)] * 3, ["q", "a", "b"], ncols=2)
    assert len(fig.axes) == 4
    with pytest.raises(ValueError, match="3 images but 2 titles"):
        plots.bands.band_images_figure([np.eye(8)] * 3, ["q", "a"])
    plt.close("all")


# --- similarity search ------------------------------------------------------------------------------------
def test_choose_query_prefers_a_twin_from_another_calculation(tmp_path):
    files = [tmp_path / f"2dm-{i}.json" for i in (1, 4, 21)]
    for f in files:
        f.write_text("{}")

    def rec(mid, source):
        return types.SimpleNamespace(material_id=mid, source=str(source))

    gpaw = [rec("2dm-4", files[1]), rec("2dm-21", "gpaw:2dm-21")]
    chosen = measurements.choose_query(files, gpaw)
    assert chosen["material_id"] == "2dm-21" and chosen["twin_in_dataset"] and not chosen["twin_is_same_file"]
    same = measurements.choose_query(files, [rec("2dm-4", files[1])])
    assert same["material_id"] == "2dm-4" and same["twin_is_same_file"]
    none = measurements.choose_query(files, [rec("2dm-99", "gpaw:2dm-99")])
    assert none["material_id"] == "2dm-1" and not none["twin_in_dataset"] and none["twin_source"] == ""
    with pytest.raises(ValueError, match="no band files"):
        measurements.choose_query([], gpaw)


def test_rank_of():
    result = pd.DataFrame({"rank": [1, 2], "material_id": ["a", "b"], "distance": [0.0, 2.5]})
    assert measurements.rank_of(result, "b") == (2, 2.5)
    rank, distance = measurements.rank_of(result, "z")
    assert rank is None and math.isnan(distance)


# --- paper vs this reproduction ---------------------------------------------------------------------------
def test_line_fraction_bce():
    from elfutils.nn.latent import line_fraction_bce

    assert line_fraction_bce(0.5) == pytest.approx(math.log(2))
    assert line_fraction_bce(0.0) == 0.0
    with pytest.raises(ValueError, match=r"a line-pixel fraction lies in \[0, 1\], got 1.2"):
        line_fraction_bce(1.2)


def fake_duplicates(found: bool):
    pairs = list(constants.PAPER_TABLE1_DUPLICATES.items())
    table1 = pd.DataFrame({"formula": [f for f, _ in pairs], "material_id_a": [a for _, (a, _) in pairs],
                           "material_id_b": [b for _, (_, b) in pairs],
                           "present": [True, True] + [False] * (len(pairs) - 2),
                           "found": [found, False] + [False] * (len(pairs) - 2)})
    from elfutils.analysis.duplicates import DuplicateResult

    candidates = pd.DataFrame({"rank": [1, 2, 3], "material_id_a": ["a", "b", "c"],
                               "material_id_b": ["d", "e", "d"]})  # 5 entries
    return DuplicateResult(candidates, 1.5e8, "rule text", pd.DataFrame({"distance": np.arange(7.0)}), table1,
                           median_nn=3e8)


def fake_walks(material_id="2dm-1", formula="IrF2", channel=constants.LATENT_WALK_CHANNEL):
    """A Fig. 6 study whose walks change one more pixel of a 10 x 10 image per step (a known answer)."""
    from elfutils.nn.latent import LatentWalk, walk_deltas

    walks, scaled, sigma = [], [], [0.5, 2.0]
    for (position, (low, high)), s in zip(constants.LATENT_WALK_SPECS, sigma, strict=True):
        deltas = walk_deltas(low, high)
        images = np.zeros((len(deltas), 10, 10))
        for k in range(len(deltas)):
            images[k].flat[:k] = 1.0  # step k changes k pixels: k% of 100
        walks.append(LatentWalk(channel, position, deltas, images, z0=0.1))
        scaled.append(LatentWalk(channel, position, s * deltas, 2 * images.clip(0, 0.5), z0=0.1, scale=s))
    info = {"material_id": material_id, "formula": formula, "split": "in the training set", "source": "x"}
    return measurements.LatentWalkStudy(info, walks, scaled, sigma)


def outcomes(profile="default", **changes):
    n = constants.PAPER_N_MATERIALS
    labels = np.r_[np.arange(constants.PAPER_N_CLUSTERS).repeat(9),
                   -np.ones(n - 9 * constants.PAPER_N_CLUSTERS, int)]
    clustering = pd.DataFrame({"material_id": [f"m{i}" for i in range(n)], "hdbscan_label": labels})
    clustering.attrs.update(n_clusters=constants.PAPER_N_CLUSTERS, n_unclassified=int((labels < 0).sum()),
                            dbscan_eps=0.9)
    history = [{"epoch": e, "train_bce": 0.3, "val_bce": 0.305} for e in range(1, constants.EPOCHS + 1)]
    card = {"config": {"image_size": 224, "latent_channels": 2, "epochs": constants.EPOCHS},
            "history": history, "n_val": 200}
    grid = study([(nc, ns, 100 // nc, 10 * ns + nc, 0.1 * nc / ns, 1.0) for nc in range(2, 12)
                  for ns in range(2, 12)])
    cnnf = pd.Series(np.r_[np.arange(45), np.arange(45), -np.ones(10, int)],
                     index=[f"m{i}" for i in range(100)])
    localisation = pd.DataFrame({"cnnf_cluster": range(45), "localised": [True] * 18 + [False] * 27})
    localisation.attrs["radius"] = 0.4
    embeddings = pd.DataFrame({"trustworthiness": [1.0, 0.9, 0.92], "knn_preserved": [1.0, 0.5, 0.6]},
                              index=["fingerprint space", "UMAP", "t-SNE"])
    embeddings.attrs["k"] = 10
    fig4 = pd.DataFrame({"formula": ["InAs", "TlBi"], "paper": ["symmetric", "skewed"],
                         "smallest_angle": [88.8, 57.1], "agrees": [True, True]}, index=["2dm-2474",
                                                                                         "2dm-2650"])
    square_octagon = {"n": 6, "n_clusters": 1, "ratio": 0.57, "p_value": 0.003}
    chemistry = {"n_clusters": 49, "n_dominated": 20, "expected_dominated": 4.2, "p_value": 0.001,
                 "ami": 0.31,
                 "table": pd.DataFrame({"cluster": [0, 1, 2], "size": [5, 6, 7], "share": [1.0, 0.8, 0.5],
                                        "dominant": ["halide", "transition-metal chalcogenide", "oxide"]})}
    nc4 = {"present": ["2dm-553"], "absent": {"2dm-321": "f-element compound (Nd)"}, "labels": {},
           "same_cluster": None, "n_clusters": None}
    flat_bands = {"eta2": 0.27, "expected_eta2": 0.11, "p_value": 0.001, "top": {12: 3.4, 15: 2.2, 1: 2.0,
                                                                                 3: 0.1}}
    base = dict(profile=get_profile(profile), n_materials=n, clustering=clustering, n_pool=2132,
                n_structures=2002, n_computed=2002, model_card=card, pixel_fraction=0.1, study=grid,
                duplicates=fake_duplicates(True), cnnf_labels=cnnf, cnnf_localisation=localisation,
                embeddings=embeddings, fig4_geometry=fig4, square_octagon=square_octagon, chemistry=chemistry,
                nc4=nc4, flat_bands=flat_bands,
                architecture_study=pd.DataFrame({"variant": ["r18 7x7x2", "r34 7x7x2", "r18 7x7x1"],
                                                 "backbone": ["resnet18", "resnet34", "resnet18"],
                                                 "latent_channels": [2, 2, 1], "val_bce": [0.30, 0.31, 0.29],
                                                 "epochs": [2, 2, 2]}),
                latent_walks=fake_walks())
    return pq.Outcomes(**{**base, **changes})


def test_table_names_every_paper_constant_once_with_paper_and_our_values():
    table = pq.paper_vs_ours(outcomes())
    assert list(table.columns) == pq.COLUMNS
    named = {c.strip() for cell in table.constant for c in cell.split(",") if c.strip()}
    paper_constants = {n for n in dir(constants) if n.startswith("PAPER_")}
    assert paper_constants <= named, f"rows missing for {sorted(paper_constants - named)}"
    assert named <= set(dir(constants)), f"unknown constant names {sorted(named - set(dir(constants)))}"
    assert table.explanation.str.len().gt(0).all() and table.ours.notna().all()
    row = table.set_index("constant")
    assert row.loc["PAPER_N_CLUSTERS", "ours"] == constants.PAPER_N_CLUSTERS
    assert row.loc["PAPER_N_CLUSTERS", "explanation"] == "same"
    assert row.loc["PAPER_N_MATERIALS", "explanation"] == "same"
    assert row.loc["PAPER_TRAIN_BCE", "ours"] == 0.3
    assert row.loc["PAPER_VALIDATION_TOLERANCE", "ours"] == "within: +1.7%"
    assert "within 30 of 30 epochs, largest gap +1.7% at epoch 1" in row.loc["PAPER_VALIDATION_TOLERANCE",
                                                                                  "explanation"]
    assert row.loc["PAPER_N_CNNF_CLUSTERS", "ours"] == 45
    assert row.loc["PAPER_N_CNNF_LOCALISED", "ours"] == "18 of 45"
    assert row.loc["PAPER_MAX_DUPLICATES", "ours"] == 5  # entries (materials), as the paper counts
    assert "in 3 candidate pairs" in row.loc["PAPER_MAX_DUPLICATES", "explanation"]
    assert row.loc["PAPER_TABLE1_DUPLICATES", "ours"] == "1 of 2 present"
    assert "present but not within the threshold: Tl2Te" in row.loc["PAPER_TABLE1_DUPLICATES", "explanation"]
    assert row.loc["HDBSCAN_MIN_CLUSTER_SIZE, HDBSCAN_MIN_SAMPLES", "ours"] == "(5, 2)"
    rule = table[table.quantity.str.startswith("(Nc, Ns) by the paper's reasoning")].iloc[0]
    assert rule.ours == "(7, 2)" and "fewest unclassified" in rule.explanation
    assert row.loc["PAPER_CHEMISTRY_CLUSTERS", "ours"] == "20 of 49"
    assert "1 halide-dominated and 1 transition-metal" in row.loc["PAPER_CHEMISTRY_CLUSTERS", "explanation"]
    nc4_row = row.loc["PAPER_NC4_CLUSTER, PAPER_NC4_MIN_CLUSTER_SIZE"]
    assert nc4_row.ours == "1 of 4 in our data"
    assert "NdF3 (2dm-321): f-element compound (Nd)" in nc4_row.explanation
    assert row.loc["PAPER_FLAT_BAND_CLUSTERS", "ours"] == "richest: 12 (3.4), 15 (2.2), 1 (2.0)"
    assert "0.27 of the count's spread against 0.11" in row.loc["PAPER_FLAT_BAND_CLUSTERS", "explanation"]
    assert row.loc["PAPER_FIG4_SKEWED", "ours"] == "2 of 2 agree"
    assert "TlBi 57°" in row.loc["PAPER_FIG4_SKEWED", "explanation"]
    assert "0.57 x that of all pairs (permutation p = 0.003)" in row.loc["PAPER_FIG4_SKEWED", "explanation"]
    arch = table.set_index("quantity")
    assert arch.loc["deeper trunk vs ResNet18, validation BCE", "ours"] == "resnet34: +3.3%"
    assert arch.loc["encoder trunks compared", "ours"] == "resnet18, resnet34"
    assert "after 2 epochs each" in arch.loc["deeper trunk vs ResNet18, validation BCE", "explanation"]
    embed = table[table.section == "Embeddings"].iloc[0]
    assert "t-SNE 0.920" in embed.ours and "favours t-SNE by 0.020" in embed.explanation


def test_table_explains_differences_with_the_computed_numbers():
    small = pd.DataFrame({"material_id": [f"m{i}" for i in range(48)],
                          "hdbscan_label": np.r_[np.arange(7).repeat(4), -np.ones(20, int)]})
    small.attrs.update(n_clusters=7, n_unclassified=20, dbscan_eps=0.9)
    smoke = outcomes("smoke", n_materials=48, pixel_fraction=0.12, clustering=small,
                     model_card={"config": {"image_size": 224, "epochs": 2},
                                 "history": [{"train_bce": 0.4, "val_bce": 0.3}] * 2, "n_val": 5})
    row = pq.paper_vs_ours(smoke).set_index("constant")
    assert "the smoke profile encodes 48" in row.loc["PAPER_N_MATERIALS", "explanation"]
    assert "2002 of them have a 2Dmatpedia structure" in row.loc["PAPER_N_MATERIALS", "explanation"]
    from elfutils.nn.latent import line_fraction_bce

    assert f"scores {line_fraction_bce(0.12):.3f}" in row.loc["PAPER_TRAIN_BCE", "explanation"]
    assert "trained for 2 epochs, not 30" in row.loc["PAPER_TRAIN_BCE", "explanation"]
    assert row.loc["PAPER_VALIDATION_TOLERANCE", "ours"] == "outside: -25.0%"
    assert "set by the smoke profile" in row.loc["HDBSCAN_MIN_CLUSTER_SIZE, HDBSCAN_MIN_SAMPLES",
                                                 "explanation"]
    explained = row.loc["PAPER_N_CLUSTERS", "explanation"]
    assert "per 1000 materials the paper has 23.5, we have 145.8" in explained
    assert "paper 78.1%, ours 41.7%" in row.loc["PAPER_N_UNCLASSIFIED", "explanation"]


def test_table_copes_with_missing_stages_and_no_clusters():
    clustering = pd.DataFrame({"material_id": ["a", "b", "c"], "hdbscan_label": [-1, -1, -1]})
    bare = pq.Outcomes(profile=get_profile("smoke"), n_materials=3, clustering=clustering)
    table = pq.paper_vs_ours(bare)
    row = table.set_index("constant")
    assert row.loc["PAPER_N_CLUSTERS", "ours"] == 0 and row.loc["PAPER_N_UNCLASSIFIED", "ours"] == 3
    for name in ("PAPER_TRAIN_BCE", "PAPER_N_CNNF_CLUSTERS", "PAPER_N_CNNF_LOCALISED", "PAPER_MAX_DUPLICATES",
                 "PAPER_TABLE1_DUPLICATES", "PAPER_FIG4_SKEWED", "PAPER_CHEMISTRY_CLUSTERS",
                 "PAPER_NC4_CLUSTER, PAPER_NC4_MIN_CLUSTER_SIZE", "PAPER_FLAT_BAND_CLUSTERS"):
        assert row.loc[name, "ours"] == "not computed"
    assert (table.ours == "not computed").sum() >= 7
    flat = study([(2, 1, 0, 3, np.nan, np.nan)])
    rule = pq.paper_vs_ours(pq.Outcomes(profile=get_profile("smoke"), n_materials=3,
                                                clustering=clustering, study=flat))
    assert (rule.ours == "none qualifies").sum() == 1
    with pytest.raises(ValueError, match="no section 'Nope'"):
        pq.section_rows(table, "Nope")
    assert list(pq.section_rows(table, "Data").index) == ["flat-band materials encoded"]


def test_collect_wires_the_cached_stages(monkeypatch, tmp_path, fixture_records):
    """collect() on stubbed pipeline stages: the right stage outputs land in the right fields."""
    from elfutils.analysis.fingerprints import synthetic_fingerprints
    from elfutils.book import pipeline
    from elfutils.nn import checkpoint

    table, truth = synthetic_fingerprints(3, 10, n_noise=4, seed=2)
    clusters = table[["material_id", "formula"]].assign(hdbscan_label=truth, umap_x=np.arange(len(table)),
                                                        umap_y=np.sin(np.arange(len(table))))
    clusters.attrs.update(n_clusters=3, n_unclassified=int((truth < 0).sum()), dbscan_eps=0.5)
    tsne = table[["material_id", "formula"]].assign(tsne_x=np.cos(np.arange(len(table))), tsne_y=0.0)
    (tmp_path / "best.safetensors").write_bytes(b"")
    (tmp_path / "last.safetensors").write_bytes(b"")
    cards = {"best.safetensors": {"history": [{"train_bce": 0.5, "val_bce": 0.5}]},
             "last.safetensors": {"history": [{"train_bce": 0.5, "val_bce": 0.5}, {"train_bce": 0.4,
                                                                                   "val_bce": 0.41}]}}
    monkeypatch.setattr(checkpoint, "read_card", lambda path: cards[path.name])
    monkeypatch.setattr(pipeline, "fingerprints", lambda p: table)
    monkeypatch.setattr(pipeline, "clustering", lambda p: clusters)
    monkeypatch.setattr(pipeline, "images", lambda p: (np.full((len(table), 4, 4), 1, np.uint8) *
                                                       (np.arange(16).reshape(4, 4) < 4), [], []))
    monkeypatch.setattr(pipeline, "model_file", lambda p: (tmp_path / "best.safetensors", "stub"))
    monkeypatch.setattr(pipeline, "parameter_study", lambda p: study([(2, 1, 3, 4, 0.2, 0.5)]))
    monkeypatch.setattr(pipeline, "tsne", lambda p: tsne)
    cnnf = pd.DataFrame(np.random.default_rng(0).random((12, 4)), index=table.material_id[:12])
    monkeypatch.setattr(pipeline, "structural_fingerprints", lambda p: cnnf)
    records = [dataclasses.replace(fixture_records[f], material_id=m) for f, m in (("2dm-1", "m0"),
                                                                                   ("2dm-21", "m1"))]
    monkeypatch.setattr(pipeline, "load_dataset", lambda p: records)
    monkeypatch.setattr(pipeline, "architecture_study", lambda p: outcomes().architecture_study)
    walks = fake_walks()
    monkeypatch.setattr(measurements, "latent_walk_study", lambda p: walks)
    got = pq.collect("smoke")
    assert got.n_materials == len(table) and got.clustering is clusters
    assert got.pixel_fraction == pytest.approx(0.25)
    assert len(got.model_card["history"]) == 2  # the whole run, from last.safetensors
    assert list(got.embeddings.index) == ["fingerprint space", "UMAP", "t-SNE"]
    assert got.cnnf_labels.index.tolist() == table.material_id[:12].tolist()
    assert got.n_pool > 2000 and got.n_structures <= got.n_pool
    assert got.chemistry["n_clusters"] == 3  # synthetic formulas: every class "unknown" or nitrogen's
    assert got.nc4["present"] == [] and got.nc4["same_cluster"] is None
    assert np.isfinite(got.flat_bands["counts"]).sum() == 2 and set(got.flat_bands["top"]) <= {0, 1, 2}
    assert got.architecture_study is not None and got.latent_walks is walks
    assert len(pq.paper_vs_ours(got)) == len(pq.paper_vs_ours(outcomes()))


def test_fig6_rows_report_the_walks_measured_change_and_their_size_in_sigma():
    table = pq.paper_vs_ours(outcomes(), pq.entries_of("fig6_latent_space")).set_index("quantity")
    assert table.loc["material walked", "ours"] == "2dm-1 (IrF2)"
    assert table.loc["material walked", "explanation"].startswith("same material")
    assert table.loc["latent channel walked", "explanation"] == "same"
    walk_b = table.loc["walk b: position, Δ range"]
    assert walk_b.paper == "(3,0), Δ 0.25 to 1.1" and walk_b.ours == "(3,0), Δ 0.25 to 1.1 in 5 steps"
    # the largest of 5 steps changes 5 of 100 pixels; Δ = 1.1 is 1.1 / 2.0 = 0.55 σ
    assert "5.00% of the pixels change at Δ = 1.1 (0.55 σ" in walk_b.explanation
    other = pq.paper_vs_ours(outcomes(latent_walks=fake_walks("2dm-7", "MoS2", channel=0)),
                             pq.entries_of("fig6_latent_space")).set_index("quantity")
    assert other.loc["material walked", "explanation"].startswith("another material")
    assert other.loc["latent channel walked", "explanation"] == "another channel"
    missing = pq.paper_vs_ours(outcomes(latent_walks=None), pq.entries_of("fig6_latent_space"))
    assert (missing.ours == pq.NOT_COMPUTED).all()


def test_every_registry_entry_belongs_to_a_chapter_of_the_book():
    from pathlib import Path

    chapters = {p.stem for p in (Path(__file__).parents[1] / "book").glob("*.py")}
    for q in pq.REGISTRY:
        assert q.chapters and set(q.chapters) <= chapters, (q.quantity, q.chapters)
        assert set(q.needs) <= set(pq.OPTIONAL_FIELDS), (q.quantity, q.needs)
    quantities = [q.quantity for q in pq.REGISTRY]
    assert len(quantities) == len(set(quantities)), "a quantity is registered twice"
    assert [q.quantity for q in pq.entries_of("table1_duplicates")] == [
        "flat-band materials encoded", "candidate duplicate entries", "Table 1 pairs found"]
    with pytest.raises(ValueError, match="no paper quantities for chapter 'nope'"):
        pq.entries_of("nope")


def test_the_paper_vs_reproduction_page_shows_every_section_of_the_registry():
    """A section the page never shows would be counted in its row total but read by nobody."""
    from pathlib import Path

    source = (Path(__file__).parents[1] / "book" / "paper_vs_reproduction.py").read_text()
    for section in dict.fromkeys(q.section for q in pq.REGISTRY):
        assert f'show_section(comparison, "{section}")' in source, section


def test_a_chapters_table_reads_only_the_stages_its_entries_need(monkeypatch):
    """An entry that reads an outcome the chapter's collect() did not compute would say "not computed" in the
    book: each chapter's entries, given only their declared needs, say something else wherever the full
    outcomes do."""
    full = outcomes()
    for chapter in sorted({c for q in pq.REGISTRY for c in q.chapters}):
        entries = pq.entries_of(chapter)
        needs = {n for q in entries for n in q.needs}
        partial = dataclasses.replace(full, **{n: None for n in pq.OPTIONAL_FIELDS if n not in needs})
        pd.testing.assert_frame_equal(pq.paper_vs_ours(partial, entries), pq.paper_vs_ours(full, entries))


def test_collect_computes_only_what_is_asked(monkeypatch):
    from elfutils.book import pipeline

    table = pd.DataFrame({"material_id": ["a", "b"], "formula": ["X", "Y"]})
    clusters = table.assign(hdbscan_label=[0, 0])
    monkeypatch.setattr(pipeline, "fingerprints", lambda p: table)
    monkeypatch.setattr(pipeline, "clustering", lambda p: clusters)

    def untouchable(p):
        raise AssertionError("a stage the chapter does not need was run")

    for stage in ("images", "model_file", "parameter_study", "tsne", "structural_fingerprints",
                  "load_dataset"):
        monkeypatch.setattr(pipeline, stage, untouchable)
    got = pq.collect("smoke", needs={"n_pool", "n_structures"})
    assert got.n_pool > 2000 and got.n_structures <= got.n_pool
    assert got.study is None and got.model_card is None
    # an outcome the caller already has is taken as it is, not computed again
    monkeypatch.setattr(measurements, "latent_walk_study", untouchable)
    walks = fake_walks()
    assert pq.collect("smoke", needs={"latent_walks"}, known={"latent_walks": walks}).latent_walks is walks
    with pytest.raises(ValueError, match="unknown outcome"):
        pq.collect("smoke", needs={"everything"})
    with pytest.raises(ValueError, match="unknown outcome"):
        pq.collect("smoke", needs=(), known={"everything": 1})


def test_show_section_is_styled_for_the_book():
    table = pd.DataFrame({"section": ["Data", "Data"], "quantity": ["a", "b"], "paper": [1, None],
                          "ours": [2, 3], "explanation": ["why", "because"]})
    html = pq.show_section(table, "Data").to_html()
    assert 'class="dataframe elf-comparison"' in html and "because" in html and "–" in html


# --- Fig. 4: is a group of materials closer than random ones? ----------------------------------------------
def test_group_closeness_finds_a_planted_tight_group_and_not_a_random_one():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 5))
    X[:8] = X[0] + 0.05 * rng.normal(size=(8, 5))  # eight near-copies of one point
    D = cdist(X, X)
    tight = closeness.group_closeness(D, range(8), n_permutations=200)
    assert tight["n"] == 8 and tight["ratio"] < 0.2 and tight["p_value"] < 0.01
    assert tight["median_within"] < tight["expected_within"]
    loose = closeness.group_closeness(D, range(60, 120, 6), n_permutations=200)
    assert loose["ratio"] > 0.7 and loose["p_value"] > 0.05


def test_group_closeness_needs_two_members_and_a_square_matrix():
    D = cdist(np.arange(5.0)[:, None], np.arange(5.0)[:, None])
    single = closeness.group_closeness(D, [3])
    assert single["n"] == 1 and math.isnan(single["ratio"]) and math.isnan(single["p_value"])
    with pytest.raises(ValueError, match="square"):
        closeness.group_closeness(D[:3], [0, 1])


# --- the paper's Nc = 4 example ----------------------------------------------------------------------------
def test_nc4_check_refits_at_nc4_and_names_why_the_missing_are_missing():
    from elfutils.analysis.fingerprints import make_table, synthetic_fingerprints

    table, _ = synthetic_fingerprints(n_groups=3, per_group=8, n_noise=10)
    rng = np.random.default_rng(3)
    centre = rng.uniform(size=98)
    named = list(constants.PAPER_NC4_CLUSTER)
    planted = make_table(named[:3], ["NdF3", "TbF3", "YF3"], centre + 0.01 * rng.normal(size=(3, 98)))
    checked = measurements.nc4_check(pd.concat([table, planted], ignore_index=True), min_samples=2)
    assert checked["present"] == named[:3] and set(checked["absent"]) == {named[3]}
    assert "f-element" in checked["absent"][named[3]]  # SmF3: the pool says why it has no structure
    # three near-copies cannot form a cluster of at least 4 on their own: HDBSCAN leaves them out or merges
    # them into a bigger one; either way the check reports what it found
    assert set(checked["labels"]) == set(named[:3]) and checked["n_clusters"] >= 1
    planted4 = make_table(named, list(constants.PAPER_NC4_CLUSTER.values()),
                          centre + 0.01 * rng.normal(size=(4, 98)))
    together = measurements.nc4_check(pd.concat([table, planted4], ignore_index=True), min_samples=2)
    assert together["same_cluster"] is True and together["absent"] == {}
    alone = measurements.nc4_check(table.iloc[:5])
    assert alone["present"] == [] and alone["same_cluster"] is None and alone["labels"] == {}


def test_the_square_octagon_survey_reads_the_cached_geometry_as_it_would_compute_it():
    """Fig. 4's survey from the committed bond-geometry stage gives what computing it in the chapter gave."""
    from elfutils.analysis.structure import bond_geometry
    from elfutils.book.measurements import square_octagon_survey
    from elfutils.data.dataset import structure_records
    from elfutils.dft.recipe import structure_from_record

    records = structure_records()
    ids = ["2dm-2474", "2dm-22", "2dm-21", "2dm-1", "not-a-material"]
    known = [m for m in ids if m in records]
    survey = bond_geometry({m: structure_from_record(records[m]) for m in [*known, "2dm-25"]})
    table = pd.DataFrame({"material_id": ids, "hdbscan_label": [0, 0, 1, -1, 1]})
    rng = np.random.default_rng(0)
    d = rng.random((len(ids), len(ids)))
    distances = (d + d.T) * (1 - np.eye(len(ids)))
    computed = square_octagon_survey(table, distances, n_permutations=20)
    read = square_octagon_survey(table, distances, n_permutations=20, survey=survey)
    pd.testing.assert_frame_equal(read[0], computed[0])
    assert read[1] == computed[1] and read[1]["n_with_structure"] == len(known)


def test_each_chapter_hands_the_registry_what_it_computed():
    """A measurement is computed once: what a chapter computes for itself (its chemistry, closeness, CNNF
    clusters, duplicates ...) reaches its closing paper-beside-ours table as the chapter computed it (passed
    to show_chapter), never computed again there with other arguments. Only what a cached stage holds
    (the model card, the parameter study ...) is read by the registry itself."""
    import ast
    from pathlib import Path

    book = Path(__file__).parents[1] / "book"
    for chapter in sorted({c for q in pq.REGISTRY for c in q.chapters} - {"paper_vs_reproduction"}):
        computed = {n for q in pq.entries_of(chapter) for n in q.needs} & set(pq.COMPUTED_BY_CHAPTERS)
        calls = [node for node in ast.walk(ast.parse((book / f"{chapter}.py").read_text()))
                 if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "show_chapter"]
        assert len(calls) == 1, (chapter, "closes with one show_chapter")
        passed = {k.arg for k in calls[0].keywords}
        assert computed <= passed, (chapter, sorted(computed - passed))
    assert set(pq.COMPUTED_BY_CHAPTERS) <= set(pq.OPTIONAL_FIELDS)

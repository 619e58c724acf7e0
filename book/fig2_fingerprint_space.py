# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Fig. 2: the electronic fingerprint space
#
# The paper's Fig. 2 maps every flat-band material by its band-structure fingerprint: HDBSCAN clusters the
# {glue:text}`fp_length`-number fingerprints (Minkowski distance), UMAP draws them in 2-D, and DBSCAN on the
# UMAP plane groups the clustered materials into the translucent regions that show the global trends. Panel
# (a) is the cluster hierarchy; panels (b-h) place band structures of exemplar materials around the map.
# Below: the same for our dataset and model, an interactive version of the map, the band gaps on the map (the
# trends the paper describes in words, computed here), and the full exemplar table.
#
# The energy zero, the k-path, spin, the absence of spin–orbit coupling, the basis and the other
# conventions and limits these results rest on: {ref}`conventions`.

# %% tags=["parameters"]
profile = "default"  # parameter profile (elfutils.book.profiles): default, smoke, retrain or 2dmatpedia

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import HTML, display

from elfutils import constants
from elfutils.analysis import cluster_statistics
from elfutils.analysis.chemistry import (
    DOMINANT_SHARE,
    chemistry_table,
    cluster_chemistry,
    dominated_by_class,
    halide_and_chalcogenide_clusters,
)
from elfutils.analysis.cluster import k_distances
from elfutils.book import measurements, paper_quantities, pipeline, plots, verdict_text
from elfutils.book.profiles import get_profile
from elfutils.book.sphinx_ext import glue_values
from elfutils.book.wording import counted

settings = get_profile(profile)

# %%
table, tree, exemplars = pipeline.load_clustering(settings)
stack, image_ids, _ = pipeline.images(settings)
images = dict(zip(image_ids, stack, strict=True))
n_clusters = int(table.attrs["n_clusters"])
colors = plots.style.cluster_colors(n_clusters)
n_groups = int(table.dbscan_group.max() + 1) if len(table) else 0
glue_values(
    n_materials=len(table), n_clusters=n_clusters, n_unclassified=int(table.attrs["n_unclassified"]),
    frac_unclassified=table.attrs["n_unclassified"] / max(len(table), 1),
    n_clustered=int((table.hdbscan_label >= 0).sum()), n_groups=n_groups,
    nc=settings.min_cluster_size, ns=settings.min_samples, p_minkowski=settings.minkowski_p,
    nn=settings.umap_n_neighbors, md=settings.umap_min_dist, smin=settings.dbscan_min_samples,
    paper_n_materials=constants.PAPER_N_MATERIALS, paper_n_clusters=constants.PAPER_N_CLUSTERS,
    paper_n_unclassified=constants.PAPER_N_UNCLASSIFIED,
    paper_frac_unclassified=constants.PAPER_N_UNCLASSIFIED / constants.PAPER_N_MATERIALS,
    fp_length=constants.FINGERPRINT_LENGTH, window=settings.energy_window,
)

# %% [markdown]
# Of our {glue:text}`n_materials` materials, HDBSCAN (Nc = {glue:text}`nc`, Ns = {glue:text}`ns`, p =
# {glue:text}`p_minkowski`) puts {glue:text}`n_clustered` into {glue:text}`n_clusters` clusters and leaves
# {glue:text}`n_unclassified` ({glue:text}`frac_unclassified:.0%`) unclassified. The paper found
# {glue:text}`paper_n_clusters` clusters with {glue:text}`paper_n_unclassified` of
# {glue:text}`paper_n_materials` materials ({glue:text}`paper_frac_unclassified:.0%`) unclassified.

# %% [markdown]
# ## (a) The cluster hierarchy
#
# HDBSCAN's condensed tree, reduced to the clusters it selected: each leaf is one cluster, a square whose area
# is proportional to the number of its materials, in the cluster's colour on the map below. Branches join at
# the Minkowski distance where their parent splits (root on the left). Shaded boxes join adjacent leaves whose
# clusters fall in the same DBSCAN group on the map (the group's colour there).

# %%
leaf_groups = plots.maps.cluster_groups(table)
fig, ax = plt.subplots(figsize=(6, 2 + 0.2 * max(n_clusters, 5)))
plots.maps.plot_condensed_tree(tree, ax=ax, colors=colors, leaf_groups=leaf_groups, orientation="left")
ax.set_title("(a) HDBSCAN cluster hierarchy", loc="left")
fig.tight_layout()

# %%
layout = plots.maps.tree_layout(tree)
leaf_order = [label for label, _, _ in layout["leaves"]]
runs = [g for i, g in enumerate(leaf_groups.get(c, -1) for c in leaf_order)
        if g >= 0 and (i == 0 or leaf_groups.get(leaf_order[i - 1], -1) != g)]
# a DBSCAN group that is no cluster's most common group holds only minorities of clusters: not in the tree
group_sizes = table.loc[table.dbscan_group >= 0, "dbscan_group"].value_counts()
minority_groups = group_sizes.drop(list(set(leaf_groups.values()) - {-1}), errors="ignore")
n_minority = len(minority_groups)
sizes = " and ".join(map(str, minority_groups.sort_values(ascending=False)))
glue_values(n_group_runs=len(runs), n_groups_in_tree=len(set(runs)), groups_minority_clause="" if not n_minority
            else f"; the other {counted(n_minority, 'group')} ({sizes} materials) "
                 f"{'holds' if n_minority == 1 else 'hold'} only minorities of clusters that mostly lie in another "
                 f"group, so the tree does not show {'it' if n_minority == 1 else 'them'}")

# %% [markdown]
# DBSCAN finds {glue:text}`n_groups` groups on the map (below). The tree draws each cluster in one group, the
# one most of its members fall in: {glue:text}`n_groups_in_tree` of the {glue:text}`n_groups` groups are that
# group for some cluster{glue:text}`groups_minority_clause`. The {glue:text}`n_groups_in_tree` groups in the tree form
# {glue:text}`n_group_runs` runs of adjacent leaves: a group that is one run is also one branch of the
# hierarchy, as the paper observes for its isolated groups.

# %% [markdown]
# ## (b-h) The map, its DBSCAN groups and exemplar band structures
#
# UMAP (NN = {glue:text}`nn`, MD = {glue:text}`md`) of the same Minkowski distances. DBSCAN runs on the UMAP
# coordinates of the clustered materials only, with S_min = {glue:text}`smin` and the eps chosen from the
# data ({glue:text}`eps_rule`): eps = {glue:text}`eps:.3f` UMAP units, which gives {glue:text}`n_groups`
# groups. The paper's two values (eps = {glue:text}`paper_eps_results` in Results,
# {glue:text}`paper_eps_methods:g` in Methods) are in the units of their own embedding and do not carry over
# to another one.

# %%
eps = float(table.attrs["dbscan_eps"])
clustered_xy = table.loc[table.hdbscan_label >= 0, ["umap_x", "umap_y"]].to_numpy()
eps_rule = ("the knee of the sorted k-distance curve" if settings.dbscan_eps == "knee"
            else "fixed in the parameter profile")
glue_values(eps=eps, eps_rule=eps_rule, paper_eps_results=constants.DBSCAN_EPS_RESULTS,
            paper_eps_methods=constants.DBSCAN_EPS_METHODS)
kd = (k_distances(clustered_xy, settings.dbscan_min_samples)
      if len(clustered_xy) >= settings.dbscan_min_samples else [])
fig, ax = plt.subplots(figsize=(4.8, 3.2))
plots.maps.plot_k_distance(kd, eps, ax=ax, min_samples=settings.dbscan_min_samples)
ax.set_title("choosing DBSCAN's eps", loc="left", fontsize=10)
fig.tight_layout()

# %% [markdown]
# Band-structure images (what the network sees, ±{glue:text}`window:g` eV around the energy zero E₀, on an
# energy axis in eV with the zero line dotted) of exemplars: the top
# member (highest membership probability) of the largest cluster of each DBSCAN group, then of the largest
# remaining clusters. Unclassified materials are the small grey points.

# %%
picks = plots.maps.map_exemplars(table, exemplars, n=12)
fig = plots.maps.fingerprint_map_figure(table, picks, images, colors=colors, window=settings.energy_window)
fig.axes[0].set_title("(b-h) fingerprint map: HDBSCAN clusters, DBSCAN groups, exemplars", fontsize=10)
glue_values(n_insets=len(picks))

# %%
display(picks)

# %% [markdown]
# ## The interactive map
#
# Hover over a material for its id, formula, cluster, membership probability and band gap, and for its band
# image in the panel on the right (on its energy axis, with the zero line); click a cluster in the legend to
# hide it (double-click: show only that one); type an id or a formula to point at it.

# %%
gap_by_id = {r.material_id: r.band_gap() for r in pipeline.load_dataset(settings)}
gaps = table.material_id.map(gap_by_id).to_numpy(dtype=float)
plotly_map = plots.web.interactive_map(table, extra={"band gap (eV)": np.round(gaps, 2)}, colors=colors)
HTML(plots.web.map_search_html(plotly_map, table, div_id="fig2-map", images=images,
                             window=settings.energy_window))

# %% [markdown]
# ## Global trends: metals and gapped materials
#
# The paper reads the map as separating metallic, semi-metallic, semiconducting and insulating materials.
# The band gap of each material (from its band structure: 0 when a band crosses E_F) tests that directly.
# A material counts as a metal below {glue:text}`metal_gap` eV.

# %%
purity = cluster_statistics.gap_purity(table.hdbscan_label, gaps, n_permutations=constants.N_PERMUTATIONS, seed=settings.seed)
is_metal = gaps < cluster_statistics.METAL_GAP_EV
nn_same, nn_random = cluster_statistics.neighbour_agreement(table[["umap_x", "umap_y"]], is_metal)
glue_values(metal_gap=cluster_statistics.METAL_GAP_EV, metal_frac=purity["metal_fraction"],
            n_pure=purity["n_pure"], n_gap_clusters=purity["n_clusters"],
            frac_pure=purity["fraction_pure"], expected_pure=purity["expected_pure"],
            pure_p=purity["p_value"], nn_same=nn_same, nn_random=nn_random,
            n_permutations=constants.N_PERMUTATIONS)
fig, ax = plt.subplots(figsize=(8, 6.5))
plots.maps.plot_map_values(table, gaps, ax=ax, label="band gap (eV)", low=cluster_statistics.METAL_GAP_EV,
                        low_label=f"metal (gap < {cluster_statistics.METAL_GAP_EV} eV)")
ax.set_title("band gap on the fingerprint map", loc="left", fontsize=10)
fig.tight_layout()

# %% [markdown]
# {glue:text}`metal_frac:.0%` of the clustered materials are metals. {glue:text}`n_pure` of the
# {glue:text}`n_gap_clusters` clusters ({glue:text}`frac_pure:.0%`) are gap-pure, all metals or all gapped,
# against {glue:text}`expected_pure:.1f` expected for clusters of the same sizes filled at random (permutation
# p-value {glue:text}`pure_p:.3f` over {glue:text}`n_permutations` random fillings). On the map,
# {glue:text}`nn_same:.0%` of all materials have a nearest neighbour of the same kind (metal or gapped),
# against {glue:text}`nn_random:.0%` if the two kinds were scattered at random. Per cluster:

# %%
per_cluster = purity["table"].merge(
    exemplars[exemplars["rank"] == 1][["cluster", "material_id", "formula"]].rename(
        columns={"material_id": "top exemplar", "formula": "exemplar formula"}), on="cluster", how="left")
per_cluster["dbscan_group"] = per_cluster.cluster.map(leaf_groups)
per_cluster.set_index("cluster").round(2)

# %% [markdown]
# ## Global trends: chemistry
#
# The paper reads chemistry off its clusters: "clusters 26 and 27 predominantly contain halides, while
# clusters 24, 41, 25, and 8 are rich in transition metal chalcogenides", although the network only ever saw
# band-structure images. Each material's anion family comes from its formula (`elfutils.analysis.chemistry`: halide,
# oxide, chalcogenide S/Se/Te, pnictide, other; with "transition-metal" when a d-block element is present).
# A cluster counts as dominated by one class when it holds at least {glue:text}`dominant_share:.0%` of its
# members; the baseline is clusters of the same sizes filled at random.

# %%
chemistry = chemistry_table(table.formula)
chem = cluster_chemistry(table.hdbscan_label, chemistry.label, n_permutations=constants.N_PERMUTATIONS, seed=settings.seed)
dominated = chem["table"][chem["table"].share >= DOMINANT_SHARE]
by_class = dominated_by_class(chem)
n_halide, n_tmc = halide_and_chalcogenide_clusters(by_class)
glue_values(dominant_share=DOMINANT_SHARE, n_chem_dominated=chem["n_dominated"],
            n_chem_clusters=chem["n_clusters"], chem_expected=chem["expected_dominated"],
            chem_p=chem["p_value"], chem_ami=chem["ami"],
            chem_halide_clusters=n_halide, chem_tmc_clusters=n_tmc,
            chem_dominated_text=", ".join(f"{n} {c}" for c, n in by_class.items()) or "none",
            chem_verdict=verdict_text.chemistry_verdict(chem),
            paper_halide_clusters=" and ".join(map(str, constants.PAPER_CHEMISTRY_CLUSTERS["halide"])),
            paper_tmc_clusters=", ".join(map(str, constants.PAPER_CHEMISTRY_CLUSTERS[
                "transition-metal chalcogenide"])))
fig, ax = plt.subplots(figsize=(9, 6.5))
plots.maps.plot_map_classes(table, chemistry.label, ax=ax)
ax.set_title("anion family on the fingerprint map (the network never saw it)", loc="left", fontsize=10)
fig.tight_layout()

# %% [markdown]
# {glue:text}`n_chem_dominated` of the {glue:text}`n_chem_clusters` clusters are dominated by one chemical
# class ({glue:text}`chem_dominated_text`), against {glue:text}`chem_expected:.1f` expected for clusters
# filled at random (permutation p-value {glue:text}`chem_p:.3f`): {glue:text}`chem_verdict`. The adjusted
# mutual information of clusters and classes is {glue:text}`chem_ami:.2f` (0: no more than chance, 1: the
# clusters are the classes). The paper's examples have counterparts here: {glue:text}`chem_halide_clusters`
# halide-dominated clusters (paper: {glue:text}`paper_halide_clusters`) and {glue:text}`chem_tmc_clusters`
# dominated by transition-metal chalcogenides (paper: {glue:text}`paper_tmc_clusters`). The dominated
# clusters:

# %%
dominated.set_index("cluster").round(2)

# %% [markdown]
# ## Global trends: flat bands near the Fermi level
#
# The paper singles out clusters "characterized by the presence of dense, flat bands near the Fermi energy"
# (its 47-49 and 23-22-18) as the most interesting for discovery. Counted here from each band structure: the
# bands (per spin channel) lying wholly within ±{glue:text}`flat_window:g` eV of E_F whose dispersion along
# the whole path is at most {glue:text}`flat_width:g` eV. If the clusters gather such materials, a large
# share of the count's spread lies between clusters (eta squared), more than for the counts shuffled over
# the same clusters.

# %%
flat = measurements.flat_band_clusters(table, pipeline.load_dataset(settings), seed=settings.seed)
flat_counts = flat["counts"]
flat_by_cluster = (pd.DataFrame({"cluster": table.hdbscan_label, "flat bands": flat_counts,
                                 "formula": table.formula})
                   .query("cluster >= 0").groupby("cluster")
                   .agg(size=("formula", "size"), mean_flat_bands=("flat bands", "mean"),
                        members=("formula", lambda f: ", ".join(f[:4]) + (" ..." if len(f) > 4 else "")))
                   .sort_values("mean_flat_bands", ascending=False))
glue_values(flat_window=cluster_statistics.FLAT_BAND_WINDOW_EV, flat_width=cluster_statistics.FLAT_BAND_MAX_WIDTH_EV,
            flat_frac=float(np.nanmean(flat_counts > 0)) if len(flat_counts) else 0.0,
            flat_eta2=flat["eta2"], flat_expected=flat["expected_eta2"], flat_p=flat["p_value"],
            flat_top_text=", ".join(f"{c} ({m:.1f})" for c, m in
                                    flat_by_cluster.mean_flat_bands.head(3).items()) or "none")
fig, ax = plt.subplots(figsize=(8, 6.5))
plots.maps.plot_map_values(table, flat_counts, ax=ax, cmap="magma_r",  # colours capped at the 98th percentile
                        vmax=max(1.0, float(np.nanpercentile(flat_counts, 98))) if len(flat_counts) else None,
                        label=f"flat bands within ±{cluster_statistics.FLAT_BAND_WINDOW_EV:g} eV of E_F")
ax.set_title("flat bands near E_F on the fingerprint map", loc="left", fontsize=10)
fig.tight_layout()

# %% [markdown]
# {glue:text}`flat_frac:.0%` of the materials have at least one such band. Between clusters lies a share
# {glue:text}`flat_eta2:.2f` of the count's spread (eta squared), against {glue:text}`flat_expected:.2f` for
# shuffled counts (permutation p-value {glue:text}`flat_p:.3f`). The clusters with the most flat bands near
# E_F, with their mean count: {glue:text}`flat_top_text`. The ten richest clusters:

# %%
flat_by_cluster.head(10).round(2)

# %% [markdown]
# ## The exemplar table
#
# Every cluster's materials by membership probability (rank 1 = the cluster's top exemplar), as the paper
# published for its dataset; the link downloads it as CSV.

# %%
HTML(plots.web.csv_download_html(exemplars, f"elf-exemplars-{settings.name}.csv",
                               text="Download the exemplar table (CSV)"))

# %% [markdown]
# ## The paper's numbers beside ours

# %%
paper_quantities.show_chapter(settings, "fig2_fingerprint_space", chemistry=chem, flat_bands=flat)

# %% [markdown]
# The paper encodes {glue:text}`paper_n_materials` materials, this profile {glue:text}`n_materials` (the
# materials we computed band structures for; see the data chapter). How many clusters HDBSCAN finds depends
# on how many materials fill the densest regions, so cluster counts compare only loosely between two data
# sets of different size or make-up; the share left unclassified
# ({glue:text}`frac_unclassified:.0%` here, {glue:text}`paper_frac_unclassified:.0%` in the paper) is the more
# comparable number. Cluster numbers are HDBSCAN's own and do not correspond to the paper's.

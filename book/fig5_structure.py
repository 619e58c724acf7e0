# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Fig. 5: structural clusters on the electronic map
#
# The paper compares its electronic fingerprints with structural ones: the CrystalNN fingerprint (CNNF) of
# each material's flat-band sublattice (the atoms of the element carrying the flat band), clustered with
# HDBSCAN into {glue:text}`paper_n_cnnf` structural clusters. Each material on the elf UMAP then gets its
# CNNF cluster; {glue:text}`paper_n_localised` of them form localised groups of more than
# {glue:text}`paper_more_than` materials there, so some lattice motifs (kagome, dice, honeycomb,
# square...) give recognisably similar band structures while many others do not. Below: the same with our
# map, the localisation criterion made explicit and computed, and the motif of each structural cluster named
# where it can be identified.
#
# The energy zero, the k-path, spin, the absence of spin–orbit coupling, the basis and the other
# conventions and limits these results rest on: {ref}`conventions`.

# %% tags=["parameters"]
profile = "default"  # parameter profile (elfutils.book.profiles): default, smoke, retrain or 2dmatpedia

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np

from elfutils import constants
from elfutils.analysis import structure as st
from elfutils.book import measurements, paper_quantities, pipeline, plots
from elfutils.book.profiles import get_profile
from elfutils.book.sphinx_ext import glue_values

settings = get_profile(profile)

# %% [markdown]
# ## Structural fingerprints and their clusters
#
# The site-averaged CNNF ("ops" preset, 61 numbers) of each sublattice, clustered with HDBSCAN with the
# profile's Nc = {glue:text}`nc` and Ns = {glue:text}`ns` and the Euclidean distance (the paper does not give
# its structural HDBSCAN settings; see `elfutils.analysis.structure.cluster_structures`).

# %%
table, _, _ = pipeline.load_clustering(settings)
with warnings.catch_warnings():
    # harmless: cnnf_fingerprints concatenates the cached rows with an empty frame when every material is
    # cached, and casts the result to float, so pandas's future dtype rule for empty frames changes nothing
    warnings.filterwarnings("ignore", message="The behavior of DataFrame concatenation with empty or all-NA",
                            category=FutureWarning)
    cnnf = pipeline.structural_fingerprints(settings)
cnnf_labels, placed, localisation = measurements.structural_clusters(settings, table, cnnf)
sublattices = {e.material_id: e.structure for e in st.read_sublattice_structures().results}
motifs = st.motif_table([sublattices[m] for m in cnnf.index], cnnf_labels.to_numpy())
n_cnnf = int(cnnf_labels.max() + 1) if len(cnnf_labels) else 0
glue_values(nc=settings.min_cluster_size, ns=settings.min_samples, n_cnnf_materials=len(cnnf),
            n_elf_materials=len(table), n_cnnf_clusters=n_cnnf,
            n_cnnf_unclustered=int((cnnf_labels < 0).sum()))

# %% [markdown]
# {glue:text}`n_cnnf_materials` of our {glue:text}`n_elf_materials` materials have a sublattice that CrystalNN
# can fingerprint; HDBSCAN finds {glue:text}`n_cnnf_clusters` structural clusters among them and leaves
# {glue:text}`n_cnnf_unclustered` unclustered.

# %% [markdown]
# ## Which structural clusters are localised on the elf map
#
# The criterion: two members of the same CNNF cluster are linked when they lie within r of each other on
# the elf UMAP, r = {glue:text}`radius_fraction:.0%` of the extent of the map (the diagonal of the box
# holding the central {glue:text}`central_share:.0%` of all materials), here r = {glue:text}`radius:.2f` UMAP
# units (DBSCAN's eps on the same map: {glue:text}`eps:.2f`).
# A CNNF cluster is *localised* when a linked group of at least {glue:text}`min_members` materials (the
# paper: "more than {glue:text}`paper_more_than`") forms an island: at most
# {glue:text}`max_extent:.0%` of the map's extent across, not a chain of neighbours running across the map,
# that holds at least {glue:text}`min_share:.0%` of the cluster's members (a cluster spread over the whole
# map always has a small island somewhere). Both numbers are our choice; the paper gives none.

# %%
n_localised = int(localisation.localised.sum()) if len(localisation) else 0
radius = localisation.attrs.get("radius", np.nan)
map_extent = st.umap_radius(table[["umap_x", "umap_y"]].to_numpy(), fraction=1.0) if len(table) else np.nan
glue_values(radius=radius, radius_fraction=radius / map_extent,
            eps=float(table.attrs["dbscan_eps"]), min_members=constants.CNNF_LOCALISED_MIN_MEMBERS,
            paper_more_than=constants.CNNF_LOCALISED_MIN_MEMBERS - 1, central_share=0.98,
            max_extent=st.LOCALISED_MAX_EXTENT, min_share=st.LOCALISED_MIN_SHARE,
            n_localised=n_localised, frac_localised=n_localised / max(n_cnnf, 1),
            paper_n_cnnf=constants.PAPER_N_CNNF_CLUSTERS, paper_n_localised=constants.PAPER_N_CNNF_LOCALISED,
            paper_frac_localised=constants.PAPER_N_CNNF_LOCALISED / constants.PAPER_N_CNNF_CLUSTERS)
fig, ax = plt.subplots(figsize=(min(3 + 0.22 * max(n_cnnf, 1), 14), 3.4))
if len(localisation):
    order = localisation.sort_values("size", ascending=False)
    x = np.arange(len(order))
    ax.bar(x, order["size"], color="0.8", label="members on the map")
    ax.bar(x, order["largest_island"], color=np.where(order.localised, "#2ca02c", "0.45"),
           label="largest island (linked group, compact)")
    ax.axhline(constants.CNNF_LOCALISED_MIN_MEMBERS - 0.5, color="#d62728", linestyle="--",
               label=f"localised: ≥ {constants.CNNF_LOCALISED_MIN_MEMBERS}")
    ax.set_xticks(x, order.cnnf_cluster.astype(str), fontsize=7)
    ax.legend(fontsize=8, frameon=False)
ax.set(xlabel="CNNF cluster (by size)", ylabel="materials", title="localisation of the structural clusters",
       yscale="symlog")
fig.tight_layout()

# %% [markdown]
# {glue:text}`n_localised` of the {glue:text}`n_cnnf_clusters` structural clusters
# ({glue:text}`frac_localised:.0%`) form a localised group on our map; the paper finds
# {glue:text}`paper_n_localised` of {glue:text}`paper_n_cnnf` ({glue:text}`paper_frac_localised:.0%`).

# %% [markdown]
# ## The structural clusters on the map
#
# Each material at its place on the elf UMAP (Fig. 2), coloured by its CNNF cluster: the localised clusters
# (★, larger points) and the largest others in colour, with the sublattice motif in the legend where one is
# identified; the remaining structural clusters in grey-blue.

# %%
motif_of = {int(c): m for c, m in zip(motifs.cnnf_cluster, motifs.motif, strict=True) if m}
fig, ax = plt.subplots(figsize=(10, 7))
plots.structures.plot_structure_overlay(placed, localisation, motif_of, ax=ax)
fig.tight_layout()

# %% [markdown]
# ## Motifs of the structural clusters
#
# The motif of each sublattice is named from its nearest-neighbour shell (coordination numbers and in-plane
# bond angles: kagome, dice, honeycomb, square, Lieb, triangular, square-octagon, chain;
# `elfutils.analysis.structure.name_motif`); a cluster takes the motif of at least half of its members. The big
# clusters (at least {glue:text}`min_members` members):

# %%
overview = localisation.merge(motifs[["cnnf_cluster", "motif", "motif_fraction"]], on="cnnf_cluster",
                              how="left")
big = overview[overview["size"] >= constants.CNNF_LOCALISED_MIN_MEMBERS].sort_values("size", ascending=False)
named = big.dropna(subset=["motif"])
glue_values(n_big=len(big), n_big_named=len(named),
            big_motifs=", ".join(f"{m} (CNNF {c})" for c, m in zip(named.cnnf_cluster, named.motif,
                                                                     strict=True)) or "none",
            n_named_localised=int(named.localised.sum()))
big.set_index("cnnf_cluster").round(2)

# %% [markdown]
# Of the {glue:text}`n_big` big structural clusters, {glue:text}`n_big_named` have a named motif:
# {glue:text}`big_motifs`; {glue:text}`n_named_localised` of these are localised on the elf map.

# %% [markdown]
# ## The paper's numbers beside ours

# %%
paper_quantities.show_chapter(settings, "fig5_structure", cnnf_labels=cnnf_labels,
                              cnnf_localisation=localisation)

# %% [markdown]
# The paper's "localised group" is judged from its figure; ours is the computed criterion above, so the two
# counts agree in meaning but not necessarily in detail. Structural cluster numbers are HDBSCAN's own here
# and do not correspond to the paper's.

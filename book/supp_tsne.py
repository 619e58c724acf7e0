# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Supplementary Note 1: t-SNE against UMAP
#
# The paper draws its fingerprint map with UMAP and reports that t-SNE (van der Maaten & Hinton, JMLR 2008),
# the usual alternative, gave "no significant improvement in the embedding space" (Methods, "Multi-stage
# clustering module"; the comparison itself is in the paper's Supplementary Note 1
# {cite}`pentz2025elf`). Here both embeddings of the same fingerprints, built from the same Minkowski
# ($p = 0.2$) distances, are shown side by side and coloured by the same HDBSCAN clusters, and the
# comparison is made with numbers: how well each map keeps the neighbourhoods of the
# {glue:text}`fp_length`-dimensional fingerprint space.

# %% tags=["parameters"]
profile = "default"  # parameter profile (elfutils.book.profiles): default, smoke, retrain or 2dmatpedia

# %%
import matplotlib.pyplot as plt

from elfutils.analysis import embedding_metrics
from elfutils.analysis.atlas import neighbour_overlap
from elfutils.analysis.cluster import minkowski_distances
from elfutils.analysis.fingerprints import fingerprint_matrix
from elfutils.book import paper_quantities, pipeline, plots
from elfutils.book.profiles import get_profile
from elfutils.book.sphinx_ext import glue_values

settings = get_profile(profile)
table = pipeline.fingerprints(settings)
clusters = pipeline.clustering(settings)
tsne = pipeline.tsne(settings)
assert tsne.material_id.tolist() == clusters.material_id.tolist() == table.material_id.tolist(), \
    "the stages must list the materials in the same order"
distances = minkowski_distances(fingerprint_matrix(table), p=settings.minkowski_p)
labels = clusters.hdbscan_label.to_numpy()
maps = {"UMAP": clusters[["umap_x", "umap_y"]].to_numpy(), "t-SNE": tsne[["tsne_x", "tsne_y"]].to_numpy()}
glue_values(n_materials=len(table), n_clusters=int(clusters.attrs["n_clusters"]),
            n_unclassified=int(clusters.attrs["n_unclassified"]), umap_nn=settings.umap_n_neighbors,
            umap_md=settings.umap_min_dist, perplexity_setting=settings.tsne_perplexity,
            perplexity=min(settings.tsne_perplexity, (len(table) - 1) / 3),
            fp_length=fingerprint_matrix(table).shape[1])

# %% [markdown]
# ## The two maps, coloured by the same clusters
#
# Left: UMAP (NN = {glue:text}`umap_nn`, MD = {glue:text}`umap_md`), the map of the fingerprint-space figure.
# Right: t-SNE (perplexity {glue:text}`perplexity:.1f`: the profile's {glue:text}`perplexity_setting:g`,
# scikit-learn's default, capped at a third of the materials for small sets; the paper gives none).
# {glue:text}`n_materials` materials; colours are the {glue:text}`n_clusters` HDBSCAN clusters of the
# fingerprints, grey the {glue:text}`n_unclassified` unclassified. Neither map took part in the
# clustering, so a cluster that stays in one piece on a map says that the map keeps the fingerprint-space
# neighbourhoods.

# %%
plots.maps.embeddings_figure(labels, maps, {"UMAP": "UMAP", "t-SNE": "t-SNE"})
plt.show()

# %% [markdown]
# ## How well each map keeps the fingerprint neighbourhoods
#
# Three measures, each against the Minkowski distances the clustering used, for the
# k = {glue:text}`k` nearest neighbours (k = UMAP's NN):
#
# - *trustworthiness* (Venna & Kaski 2001; `sklearn.manifold.trustworthiness`): 1 when every neighbour on
#   the map is also a neighbour in fingerprint space, lower the more "false neighbours" the map creates;
# - *neighbours kept*: the mean share of each material's k nearest neighbours in fingerprint space that are
#   also among its k nearest on the map;
# - *same-cluster neighbour*: the share of clustered materials whose nearest material on the map belongs to
#   their own HDBSCAN cluster (first row: the same share under the fingerprint distances themselves).

# %%
agreement = embedding_metrics.embedding_agreement(distances, maps, labels, k=settings.umap_n_neighbors)
overlap = float(neighbour_overlap(maps["UMAP"], maps["t-SNE"],
                                  k=embedding_metrics.effective_k(len(labels), settings.umap_n_neighbors)).mean())
glue_values(k=agreement.attrs["k"], overlap=overlap,
            **{f"{measure}_{name.replace('-', '').lower()}": agreement.loc[name, measure]
               for name in agreement.index if name in maps for measure in agreement.columns},
            same_cluster_neighbour_fingerprints=agreement.loc["fingerprint space", "same_cluster_neighbour"])
agreement.round(3).rename(columns={"knn_preserved": "neighbours kept",
                                   "same_cluster_neighbour": "same-cluster neighbour"})

# %% [markdown]
# Trustworthiness is {glue:text}`trustworthiness_umap:.3f` for UMAP and {glue:text}`trustworthiness_tsne:.3f`
# for t-SNE; UMAP keeps {glue:text}`knn_preserved_umap:.2f` of each material's {glue:text}`k` nearest
# neighbours and t-SNE {glue:text}`knn_preserved_tsne:.2f`. The nearest material on the map shares the
# HDBSCAN cluster for {glue:text}`same_cluster_neighbour_umap:.2f` (UMAP) and
# {glue:text}`same_cluster_neighbour_tsne:.2f` (t-SNE) of the clustered materials
# ({glue:text}`same_cluster_neighbour_fingerprints:.2f` in fingerprint space). The two maps agree with each
# other on {glue:text}`overlap:.2f` of the {glue:text}`k` nearest neighbours.

# %% [markdown]
# ## Dependence on the neighbourhood size
#
# t-SNE is built to keep small neighbourhoods; UMAP is credited with more of the global structure. The same
# two measures for several k show where each map is better.

# %%
by_k = embedding_metrics.agreement_by_k(distances, maps, ks=(3, 5, 10, 20, 50, 100))
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
titles = {"trustworthiness": "trustworthiness", "knn_preserved": "neighbours kept"}
for ax, (measure, title) in zip(axes, titles.items(), strict=True):
    for name, rows in by_k.groupby("embedding", sort=False):
        ax.plot(rows.k, rows[measure], "o-", label=name)
    ax.set(xscale="log", xlabel="k (neighbours)", title=title)
    ax.set_xticks(by_k.k.unique(), [str(k) for k in by_k.k.unique()], minor=False)
    ax.minorticks_off()
axes[0].legend()
plt.show()

# %% [markdown]
# ## The paper's finding beside ours
#
# The paper found no significant improvement with t-SNE and kept UMAP for its run time and its global
# structure; it gives no number. On our fingerprints, with k = {glue:text}`k`, t-SNE's trustworthiness
# minus UMAP's is {glue:text}`trust_difference:+.3f` and its share of neighbours kept minus UMAP's
# {glue:text}`kept_difference:+.2f`: {glue:text}`verdict`.

# %%
trust_difference = agreement.loc["t-SNE", "trustworthiness"] - agreement.loc["UMAP", "trustworthiness"]
kept_difference = agreement.loc["t-SNE", "knn_preserved"] - agreement.loc["UMAP", "knn_preserved"]
better = "t-SNE" if trust_difference > 0 else "UMAP"
glue_values(trust_difference=trust_difference, kept_difference=kept_difference,
            verdict=f"{better} keeps the local neighbourhoods better on these measures")

# %%
paper_quantities.show_chapter(settings, "supp_tsne", embeddings=agreement)

# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # The computed part of 2Dmatpedia: where do the flat-band materials sit?
#
# Beyond the paper: the paper {cite}`pentz2025elf` studies materials that were already known to have flat
# bands. The use of a fingerprint is the other direction: start from many materials and find the flat-band
# ones, without being told in advance. Here elf sees the 2Dmatpedia materials whose band structure we
# computed: not all of 2Dmatpedia, but the materials whose relaxed structure we recovered with their
# 2Dmatpedia ID (the flat-band store and the atlas store, `elf dft --atlas`; the counts follow, the data
# chapter has the details), and we ask:
#
# 1. where the flat-band pool sits on the map of these materials, and which clusters are flat-band clusters;
# 2. whether a k-nearest-neighbour vote in fingerprint space finds the materials Bhattacharya et al. label
#    flat (`binary_flatness`, a network's label, not ground truth: defined below), against simple baselines
#    on the same folds;
# 3. which materials outside the pool each method puts forward as candidates, and what kind of materials they
#    are;
# 4. whether the flat-band model, which learned only the pool, sees the same neighbourhoods as a model trained
#    on the atlas.
#
# The measurements are `elfutils.analysis.atlas`, cached as the stage `elfutils.book.atlas_stage.atlas_search`
# of the `atlas` profile.
#
# A fingerprint trained without labels to do better here, and how far it gets: {doc}`elf2`.
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
from elfutils.analysis import atlas_discovery, cluster_baselines, parameter_selection
from elfutils.analysis import evaluation as ev
from elfutils.analysis.chemistry import chemistry_table
from elfutils.analysis.cluster_statistics import FLAT_BAND_MAX_WIDTH_EV, FLAT_BAND_WINDOW_EV
from elfutils.analysis.fingerprint_quality import PIXEL_BLOCK
from elfutils.analysis.fingerprints import fingerprint_matrix
from elfutils.book import atlas_stage, cluster_claims, pipeline, plots, verdict_text
from elfutils.book.profiles import atlas_profile, flatband_model_profile, get_profile
from elfutils.book.sphinx_ext import glue_values
from elfutils.book.stages import elf2 as elf2_stage

settings = get_profile(profile)
atlas = atlas_profile(settings)
result = atlas_stage.atlas_search(atlas, settings)
table, tree, exemplars = pipeline.load_clustering(atlas)
atlas_stack, atlas_ids, atlas_formulas = pipeline.images(atlas)
flat, flatness, in_pool = atlas_stage.labels_for(table.material_id)
model = pipeline.model_summary(atlas)
coverage = atlas_discovery.twodmatpedia_counts()
n_ids = coverage["with_id"]
glue_values(
    n_materials=result["n_materials"], n_ids=n_ids, share_computed=result["n_materials"] / n_ids,
    db_rows=coverage["db_rows_at_least"], n_structure_source=coverage["structures"],
    share_of_db=result["n_materials"] / coverage["db_rows_at_least"],
    n_pool=result["n_pool"], n_outside=result["n_materials"] - result["n_pool"],
    n_labelled=result["n_labelled"], n_flat=result["n_flat"], knn_k=result["k"], n_folds=result["folds"],
    top=result["top"], model_why=model["why"], model_images=int(model.get("n_images", 0)),
    n_clusters=int(table.attrs["n_clusters"]), n_unclassified=int(table.attrs["n_unclassified"]),
    nc=atlas.min_cluster_size, ns=atlas.min_samples, p_minkowski=atlas.minkowski_p,
)

# %% [markdown]
# What is covered: 2Dmatpedia's `db.json` has at least {glue:text}`db_rows` entries (the highest row one of
# our IDs points to); our structure source holds {glue:text}`n_structure_source` relaxed 2Dmatpedia structures,
# {glue:text}`n_ids` of them with a recovered 2Dmatpedia ID, and the stores hold the band structures of
# {glue:text}`n_materials` of those ({glue:text}`share_computed:.1%` of the identified ones, at most
# {glue:text}`share_of_db:.0%` of 2Dmatpedia). Everything below is about these {glue:text}`n_materials`.
# {glue:text}`n_pool` of them belong to the flat-band pool the paper studied, {glue:text}`n_outside` do not.
# Bhattacharya et al. label {glue:text}`n_labelled` of them, {glue:text}`n_flat` as flat. The fingerprints come from the paper's network trained on all
# {glue:text}`model_images` of these images ({glue:text}`model_why`); the flat-band model of the other
# chapters is compared with it at the end.
#
# ## The atlas model
#
# The paper's network and settings, trained on every atlas image, for {glue:text}`atlas_epochs` epochs
# instead of the paper's {glue:text}`paper_epochs`: the atlas has {glue:text}`atlas_train` training images
# against the flat-band model's {glue:text}`flat_train`, so {glue:text}`atlas_epochs` epochs make
# {glue:text}`atlas_steps` optimiser steps, the flat-band model's {glue:text}`flat_steps`
# (`elfutils.book.profiles.ATLAS_EPOCHS`). The loss per step, both models:

# %%
histories = {"atlas model": (pipeline.model_history(atlas), pipeline.model_summary(atlas)),
             "flat-band model": (pipeline.model_history(settings), pipeline.model_summary(settings))}
steps = {}
fig, ax = plt.subplots(figsize=(7, 3.2))
for (name, (history, card)), colour in zip(histories.items(), ("C0", "C1"), strict=True):
    per_epoch = -(-int(card["n_train"]) // int(settings.elf_config().batch_size))
    steps[name] = per_epoch * len(history)
    ax.plot(history.epoch * per_epoch, history.train_bce, "o-", color=colour, ms=3, label=f"{name}, training")
    ax.plot(history.epoch * per_epoch, history.val_bce, "s:", color=colour, ms=3, label=f"{name}, validation")
ax.axhline(constants.PAPER_TRAIN_BCE, color="grey", lw=0.8, ls="--", label="the paper's converged loss")
ax.set(xlabel="optimiser step", ylabel="BCE (noised inputs)")
ax.legend(fontsize=7)
fig.tight_layout()
plt.show()
atlas_history, atlas_card = histories["atlas model"]
flat_history, flat_card = histories["flat-band model"]
glue_values(
    atlas_epochs=len(atlas_history), paper_epochs=constants.EPOCHS, atlas_train=int(atlas_card["n_train"]),
    flat_train=int(flat_card["n_train"]), atlas_steps=steps["atlas model"], flat_steps=steps["flat-band model"],
    atlas_train_bce=atlas_history.train_bce.iloc[-1], atlas_val_bce=atlas_history.val_bce.iloc[-1],
    flat_train_bce=flat_history.train_bce.iloc[-1], paper_bce=constants.PAPER_TRAIN_BCE,
    atlas_minutes=atlas_history.seconds.sum() / 60, atlas_device=str(atlas_card.get("device", "?")).upper(),
    atlas_source=("the committed float16 file in models/elf-resnet18-atlas/, so a build never trains it"
                  if atlas_card["source"] == "committed" else f"this build's cache ({atlas_card['why']})"))

# %% [markdown]
# The atlas model ends at a training loss of {glue:text}`atlas_train_bce:.3f` (validation
# {glue:text}`atlas_val_bce:.3f`), the flat-band model at {glue:text}`flat_train_bce:.3f`, the paper at
# {glue:text}`paper_bce:.3f`. It trained in {glue:text}`atlas_minutes:.0f` minutes on the
# {glue:text}`atlas_device`; the book reads it from {glue:text}`atlas_source`.
#
# ## The map of the computed materials
#
# HDBSCAN with the paper's settings (Nc = {glue:text}`nc`, Ns = {glue:text}`ns`, p = {glue:text}`p_minkowski`)
# finds {glue:text}`n_clusters` clusters and leaves {glue:text}`n_unclassified` materials unclassified; UMAP
# draws the same distances. Coloured: the flat-band pool, and the materials outside it that
# Bhattacharya et al. label flat.

# %%
classes = np.where(in_pool, "flat-band pool",
                   np.where(flat == 1, "outside the pool, labelled flat", "outside the pool"))
order = ["outside the pool", "flat-band pool", "outside the pool, labelled flat"]
fig, ax = plt.subplots(figsize=(8, 6.5))
plots.maps.plot_map_classes(table, classes, ax=ax, order=order, point_size=6)
ax.set_title("all computed 2Dmatpedia materials", loc="left")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Do the paper's clustering parameters still suit the atlas?
#
# The parameter study's criteria (Fig. 7; `elfutils.analysis.parameter_selection.SelectionRule`) on the atlas fingerprints,
# on a {glue:text}`grid_shape` grid over the paper's range (each point is one HDBSCAN on all the materials).

# %%
study = pipeline.parameter_study(atlas)
judged = parameter_selection.apply_selection_rule(study)
suggested = parameter_selection.suggest_parameters(study)
fig = plots.studies.parameter_study_figure(judged)
plt.show()
verdict_params = verdict_text.paper_choice_verdict(judged)
glue_values(
    params_verdict=verdict_params.replace("our data", "the atlas"),
    suggested=(f"Nc = {int(suggested.min_cluster_size)}, Ns = {int(suggested.min_samples)}"
               if suggested is not None else "no grid point"),
    suggested_clusters=int(suggested.n_clusters) if suggested is not None else 0,
    grid=", ".join(str(v) for v in atlas.study_min_cluster_sizes),
    grid_shape=f"{len(atlas.study_min_cluster_sizes)} x {len(atlas.study_min_samples)}")

# %% [markdown]
# {glue:text}`params_verdict` On this grid (Nc and Ns in {glue:text}`grid`) the rule chooses
# {glue:text}`suggested`, which gives {glue:text}`suggested_clusters` clusters.
#
# ## What the atlas clusters can carry
#
# As in the parameter-study chapter (Fig. 7): how concentrated the clusters at the paper's setting are, and
# whether their chemistry (anion families, scored as in Fig. 2) is more than what a clustering of the same
# materials by the band gap alone or by the raw pixels, into as many clusters, shows
# (`elfutils.analysis.cluster_baselines`).

# %%
by_id = {r.material_id: r for r in pipeline.load_dataset(atlas)}
records = [by_id[m] for m in atlas_ids]
gaps = np.array([r.band_gap() for r in records])
at_image = {m: i for i, m in enumerate(atlas_ids)}
in_table = np.array([at_image[m] for m in table.material_id])
clusterings = cluster_baselines.baseline_clusterings(
    table.hdbscan_label, gaps[in_table], ev.block_average(atlas_stack[in_table], PIXEL_BLOCK), seed=atlas.seed)
chemistry = cluster_baselines.chemistry_scores(clusterings, chemistry_table(table.formula).label,
                                               gaps=gaps[in_table], n_permutations=constants.N_PERMUTATIONS,
                                               seed=atlas.seed)
atlas_share = cluster_baselines.concentration(table.hdbscan_label)
glue_values(
    atlas_degenerate=cluster_claims.degenerate_sentence(
        parameter_selection.grid_point(judged, atlas.min_cluster_size, atlas.min_samples), judged, atlas_share,
        subject="The atlas clusters"),
    atlas_top_two=atlas_share["largest_two_share"], atlas_clustered=atlas_share["n_clustered"],
    atlas_chemistry=cluster_claims.chemistry_sentence(chemistry))
chemistry.convert_dtypes().round(3)

# %% [markdown]
# {glue:text}`atlas_degenerate` The two largest clusters hold {glue:text}`atlas_top_two:.0%` of the
# {glue:text}`atlas_clustered` clustered materials. {glue:text}`atlas_chemistry`
#
# What this means for the cluster-based sections below: the flat-band shares of the clusters, the exemplars
# of the largest clusters and the clusters kept together by the two models describe the clustered minority
# only, at one choice of $N_c$ and $N_s$ that the paper's own reasoning would not make here; the search for
# flat bands and the candidate lists do not use these clusters (the nearest-exemplar list uses the exemplars
# of the flat-band profile's clusters, which the parameter-study chapter finds as weak).
#
# ## Clusters ranked by their share of flat-band materials
#
# If the fingerprint separates flat-band materials from the rest, clusters are mostly one or the other:
# shares near 0 or 1, few in between.

# %%
shares = pd.DataFrame(result["clusters"])
fig, ax = plt.subplots(figsize=(9, 3))
ax.bar(np.arange(len(shares)), shares.pool_share, width=1.0, color="tab:orange", label="flat-band pool")
ax.set(xlabel="cluster, ranked by its pool share", ylabel="share of members", ylim=(0, 1), xlim=(-0.5,
                                                                                               len(shares)))
ax.step(np.arange(len(shares)), shares.flat_share.fillna(0), where="mid", color="black", lw=0.8,
        label="labelled flat (binary_flatness)")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
display(shares.head(15).round(3))
PURE = 0.9  # a cluster this much pool (or this much not) counts as one kind
flat_kind, rest_kind = shares.pool_share >= PURE, shares.pool_share <= 1 - PURE
pure = shares[flat_kind | rest_kind]["size"].sum()
glue_values(n_flat_clusters=int(flat_kind.sum()), n_rest_clusters=int(rest_kind.sum()),
            n_mixed_clusters=int((~flat_kind & ~rest_kind).sum()), pure=PURE, impure=1 - PURE,
            pure_share=pure / max(shares["size"].sum(), 1))

# %% [markdown]
# {glue:text}`n_flat_clusters` clusters are at least {glue:text}`pure:.0%` flat-band pool,
# {glue:text}`n_rest_clusters` at most {glue:text}`impure:.0%`, and {glue:text}`n_mixed_clusters` lie in
# between; {glue:text}`pure_share:.0%` of the clustered
# materials sit in a cluster that is one or the other.
#
# ## Exemplars of the largest clusters
#
# The top exemplar (highest membership probability) of each of the largest clusters, with the cluster's size
# and its share of flat-band pool materials.

# %%
sizes = shares.set_index("cluster")
largest = sizes.sort_values("size", ascending=False).head(12)
tops = exemplars[exemplars["rank"] == 1].set_index("cluster")
atlas_images = dict(zip(atlas_ids, atlas_stack, strict=True))
picked = [(c, tops.loc[c]) for c in largest.index if c in tops.index]
if picked:
    plots.bands.band_images_figure(
        [atlas_images[row.material_id] for _, row in picked],
        [f"cluster {c} ({int(sizes.loc[c, 'size'])}, pool {sizes.loc[c, 'pool_share']:.0%})\n"
         f"{row.material_id} {row.formula}" for c, row in picked], ncols=6, highlight=None,
        window=atlas.energy_window)
    plt.show()
glue_values(n_exemplar_clusters=len(picked))

# %% [markdown]
# ## The interactive map
#
# Hover over a material for its id and its band image (the panel on the right, on its energy axis with the
# zero line); type an ID or formula to find it; click a cluster in the legend to hide it.

# %%
colors = plots.style.cluster_colors(int(table.attrs["n_clusters"]))
plotly_map = plots.web.interactive_map(
    table, colors=colors,
    extra={"flat-band pool": np.where(in_pool, "yes", "no"),
           "binary_flatness": [("" if np.isnan(v) else int(v)) for v in flat]})
HTML(plots.web.map_search_html(plotly_map, table, div_id="atlas-map", images=atlas_images,
                             window=atlas.energy_window))

# %% [markdown]
# ## Finding flat bands without being told
#
# Each material gets the share of flat-labelled materials among its {glue:text}`knn_k` nearest labelled
# neighbours in the other folds ({glue:text}`n_folds` folds fixed by the seed, the same for every
# representation). ROC-AUC is over every labelled material; the precision is that of the
# {glue:text}`top` highest-scored materials *outside* the pool (ties at the cut counted by their share), the
# candidates nobody pre-selected. The baselines are those of the fingerprint-quality chapter: block-averaged
# raw pixels, PCA of the pixels to 98 numbers, a DOS-like eigenvalue histogram, random vectors.

# %%
search = pd.DataFrame.from_dict(result["search"], orient="index")
search.index.name = "representation"
display(search[["roc_auc", "balanced_accuracy", "top_precision", "n", "n_outside", "n_flat_outside"]].round(3))
fig, axes = plt.subplots(1, 2, figsize=(10, 3), sharey=True)
colours = plt.cm.tab10(np.arange(len(search)))
for ax, column, title in zip(axes, ("roc_auc", "top_precision"),
                             ("ROC-AUC", f"precision of the top {result['top']} outside the pool"),
                             strict=True):
    ax.barh(np.arange(len(search)), search[column], color=colours)
    ax.set_yticks(np.arange(len(search)), search.index, fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.set_xlim(0, 1)
axes[0].invert_yaxis()
fig.tight_layout()
plt.show()
elf = search.loc[result["elf"]]
baselines = search.drop(index=[n for n in search.index if n.startswith("elf")])
best_auc = baselines.roc_auc.idxmax()
best_top = baselines.top_precision.idxmax()
base_rate = elf.n_flat_outside / max(elf.n_outside, 1)
elf_rows = [n for n in search.index if n.startswith("elf")]
glue_values(
    discovery_sentence=verdict_text.ranked_last_sentence(
        search, "top_precision", elf_rows, ignore=[n for n in search.index if n.startswith("random")],
        what=f"the discovery metric, the share labelled flat among the top {result['top']} outside the pool"),
    elf_name=result["elf"], elf_auc=elf.roc_auc, elf_top=elf.top_precision,
    best_baseline_auc=best_auc, best_baseline_auc_value=baselines.roc_auc.max(),
    best_baseline_top=best_top, best_baseline_top_value=baselines.top_precision.max(),
    base_rate=base_rate,
    auc_verdict=("above" if elf.roc_auc > baselines.roc_auc.max() else "not above"),
    top_lift=elf.top_precision / base_rate if base_rate else float("nan"), window=atlas.energy_window,
    label_accuracy=atlas_discovery.LABEL_CNN_ACCURACY)

# %% [markdown]
# {glue:text}`discovery_sentence` Of the top {glue:text}`top` candidates of {glue:text}`elf_name` outside the
# pool, {glue:text}`elf_top:.0%` are labelled flat ({glue:text}`top_lift:.1f` times the base rate outside the
# pool, {glue:text}`base_rate:.1%`); the best baseline there is {glue:text}`best_baseline_top`
# ({glue:text}`best_baseline_top_value:.0%`). Over every labelled material elf reaches ROC-AUC
# {glue:text}`elf_auc:.3f`, {glue:text}`auc_verdict` every baseline (the best, {glue:text}`best_baseline_auc`,
# {glue:text}`best_baseline_auc_value:.3f`). The ROC-AUC is over every labelled material, the pool included,
# so it says less about finding what nobody pre-selected than the precision outside the pool.
#
# What the label is, and what it caps: `binary_flatness` is not a measurement of flat bands but Bhattacharya
# et al.'s label. A convolutional network scored blocks of each material's 2Dmatpedia (VASP) band image
# around E_F, and the label thresholds that score to flat (1) or not (0); its authors report a block accuracy
# of about {glue:text}`label_accuracy:.0%` on their own test set. `flatness_score` is the continuous score behind
# it. Every number in this section is agreement with that network on VASP images, while the fingerprints
# see ±{glue:text}`window:g` eV of our GPAW bands: no representation can agree with the label everywhere,
# and a higher precision means agreeing more with the network, not finding more flat bands. A likely reason
# why elf agrees less (not measured here): the autoencoder is trained to reproduce the whole image, not to
# tell flat from dispersive, so its 98 numbers keep what reconstructs most pixels, while the raw pixels keep
# every line and the eigenvalue histogram counts the eigenvalues per energy, where a flat band is a sharp
# peak.
#
# ## The candidates outside the pool
#
# Four lists of {glue:text}`top` materials outside the pool: the best method's (the representation with the
# highest precision above, {glue:text}`best_baseline_top`), elf's and elf-2's ({doc}`elf2`, the fingerprint
# trained without labels to give two drawings of one material the same numbers; not in the table above),
# each ranked by the vote of its
# {glue:text}`knn_k` nearest labelled neighbours (out of fold for a labelled material, from every labelled
# material for an unlabelled one: `elfutils.analysis.atlas_discovery.vote_scores`), and elf's nearest to a
# flat-band exemplar (the top exemplar of each cluster of the paper's profile, Fig. 3). For each list: how many
# carry a label and the share of those labelled flat, the band gap, the share of halides and oxides, the share
# with a flat band near E_F in our own bands (a band wholly within ±{glue:text}`flat_window:g` eV of E_F and at
# most {glue:text}`flat_width:g` eV wide), and the share of wide-gap ionic insulators: halides and oxides with
# a gap of at least {glue:text}`wide_gap:g` eV, whose only bands within ±{glue:text}`flat_window:g` eV of E_F
# are valence bands, the anions' p states.

# %%
img_flat, _, img_pool = atlas_stage.labels_for(atlas_ids)
flat_counts = np.array([r.flat_band_count(FLAT_BAND_WINDOW_EV, FLAT_BAND_MAX_WIDTH_EV) for r in records])
folds = ev.seeded_folds(len(atlas_ids), seed=atlas.seed)  # the atlas stage's folds
elf_matrix = fingerprint_matrix(pipeline.fingerprints(atlas).set_index("material_id").loc[atlas_ids].reset_index())
elf2_matrix = fingerprint_matrix(elf2_stage.fingerprints(atlas).set_index("material_id").loc[atlas_ids].reset_index())
features = {best_top: atlas_discovery.representation(best_top, records, atlas_stack, atlas.seed),
            result["elf"]: (elf_matrix, atlas.minkowski_p), "elf-2": (elf2_matrix, atlas.minkowski_p)}
lists, rechecked = atlas_discovery.vote_lists(features, img_flat, img_pool, folds, k=result["k"], n=result["top"])
lists = {f"{name}, vote": idx for name, idx in lists.items()}
# the stage's list, as a table even when no exemplar of the reference lies in this profile's data (smoke)
candidates = (pd.DataFrame(result["candidates"]) if result["candidates"]
              else pd.DataFrame(columns=["material_id", "exemplar_id", "distance"]))
lists[f"{result['elf']}, nearest exemplar"] = np.array([at_image[m] for m in candidates.material_id], dtype=int)
lists["every material outside the pool"] = np.flatnonzero(~img_pool)
profiles = pd.DataFrame({name: atlas_discovery.candidate_profile(idx, gaps, atlas_formulas, img_flat, flat_counts)
                         for name, idx in lists.items()}).T
shown_profiles = profiles.convert_dtypes().round(3)
if shown_profiles.isna().any().any():  # an empty list (the smoke book) has nothing to average: a dash
    shown_profiles = shown_profiles.astype(object).where(shown_profiles.notna(), "–")
display(shown_profiles)
best_list, elf_list = f"{best_top}, vote", f"{result['elf']}, nearest exemplar"
elf_vote_list, elf2_list = f"{result['elf']}, vote", "elf-2, vote"
glue_values(
    flat_window=FLAT_BAND_WINDOW_EV, flat_width=FLAT_BAND_MAX_WIDTH_EV, wide_gap=atlas_discovery.WIDE_GAP_EV,
    rechecked_best=rechecked[best_top], elf_vote_flat=rechecked[result["elf"]], elf2_vote_flat=rechecked["elf-2"],
    **{f"{key}_{column}": profiles.loc[name, column] for key, name in
       (("exemplar", elf_list), ("best", best_list), ("outside", "every material outside the pool"),
        ("elf_vote", elf_vote_list), ("elf2", elf2_list))
       for column in ("flat_share", "n_labelled", "median_gap", "wide_gap_ionic_share", "with_flat_band")})

# %% [markdown]
# Re-ranked by elf-2, {glue:text}`elf2_flat_share:.0%` of the list's {glue:text}`elf2_n_labelled:.0f` labelled
# candidates are labelled flat, against {glue:text}`elf_vote_flat_share:.0%` for the paper's network's vote
# and {glue:text}`best_flat_share:.0%` for the best method's; {glue:text}`elf2_with_flat_band:.0%` of elf-2's
# candidates have a band flat near E_F in our bands (the paper's network:
# {glue:text}`elf_vote_with_flat_band:.0%`) and {glue:text}`elf2_wide_gap_ionic_share:.0%` are wide-gap ionic
# insulators ({glue:text}`elf_vote_wide_gap_ionic_share:.0%`).
#
# elf's nearest-exemplar list is the weakest of the lists: of its {glue:text}`exemplar_n_labelled:.0f`
# labelled candidates only {glue:text}`exemplar_flat_share:.0%` are labelled flat, below elf's own vote
# ({glue:text}`elf_vote_flat_share:.0%` of its labelled candidates) and the best method's
# ({glue:text}`best_flat_share:.0%`), and not far above the {glue:text}`outside_flat_share:.1%` of every
# labelled material outside the pool. Of the list, {glue:text}`exemplar_wide_gap_ionic_share:.0%` are
# wide-gap ionic insulators (median gap {glue:text}`exemplar_median_gap:.1f` eV; of all materials outside the
# pool: {glue:text}`outside_wide_gap_ionic_share:.0%`), and only {glue:text}`exemplar_with_flat_band:.0%` have
# a band flat to {glue:text}`flat_width:g` eV near E_F in our bands. What such a material shows near E_F is trivial:
# the top of its anion p valence band below an empty gap, narrow because neighbouring anions barely overlap,
# the same in any ionic insulator and neither a flat band from a lattice nor one from d or f electrons.
# Of the list's candidates, {glue:text}`exemplar_next_to_ionic:.0%` are nearest to an exemplar that is itself
# a wide-gap ionic insulator (a reading, not measured: a fingerprint of the whole ±{glue:text}`window:g` eV
# window matches the empty gap before any band). The candidates below are therefore the best method's ({glue:text}`best_baseline_top`,
# ranked by its vote): {glue:text}`best_flat_share:.0%` of its {glue:text}`best_n_labelled:.0f` labelled
# candidates are labelled flat, {glue:text}`best_wide_gap_ionic_share:.0%` are wide-gap ionic insulators, its
# median gap is {glue:text}`best_median_gap:.1f` eV, and {glue:text}`best_with_flat_band:.0%` have a band flat
# near E_F in our bands. Its first {glue:text}`n_shown`, with their band images (flat: the label, ? where
# there is none; "wide-gap ionic" where it applies), and both lists for download:

# %%
best_ids = [atlas_ids[i] for i in lists[best_list]]
shown = best_ids[:12]
glue_values(n_shown=len(shown))
ionic = atlas_discovery.wide_gap_ionic(gaps, atlas_formulas)
titles = [f"{m} {atlas_formulas[at_image[m]]}\nflat: "
          f"{'?' if np.isnan(img_flat[at_image[m]]) else int(img_flat[at_image[m]])}"
          f"{', wide-gap ionic' if ionic[at_image[m]] else ''}" for m in shown]
plots.bands.band_images_figure([atlas_images[m] for m in shown], titles, ncols=6, highlight=None,
                          window=atlas.energy_window)
plt.show()
best_table = pd.DataFrame({"material_id": best_ids, "formula": [atlas_formulas[i] for i in lists[best_list]],
                           "binary_flatness": img_flat[lists[best_list]], "band_gap_ev": gaps[lists[best_list]],
                           "flat_bands_near_ef": flat_counts[lists[best_list]],
                           "wide_gap_ionic": ionic[lists[best_list]]})
next_to_ionic = [ionic[at_image[m]] for m in candidates.exemplar_id]
glue_values(exemplar_next_to_ionic=float(np.mean(next_to_ionic)) if next_to_ionic else float("nan"))
display(HTML(plots.web.csv_download_html(best_table, "atlas-candidates-best.csv",
                                       f"the {best_top} candidates (CSV)")))
# closest to an exemplar first; the raw Minkowski distance (~1e10) would mean nothing to a reader: the rank
# says it
by_exemplar = candidates.sort_values("distance", kind="stable")
by_exemplar.insert(0, "rank", np.arange(1, len(by_exemplar) + 1))
display(HTML(plots.web.csv_download_html(
    by_exemplar.drop(columns="distance"), "atlas-candidates-elf-exemplars.csv",
    "elf's nearest-exemplar candidates, closest to an exemplar first (CSV)")))

# %% [markdown]
# ## Does the flat-band model generalise?
#
# The flat-band model of the other chapters learned only the pool. Encoding the same materials with it and
# with the atlas model shows whether its neighbourhoods are a property of the materials or of what it was
# trained on: the share of each material's {glue:text}`knn_k` nearest neighbours the two fingerprints have in
# common, and whether the paper-profile clusters (Fig. 2) stay together in the atlas clustering. Re-clustering
# among {glue:text}`n_materials` materials splits and merges clusters even with the same model, so the
# clustering of the atlas images by the flat-band model is the yardstick.

# %%
comparison = atlas_stage.model_comparison(atlas, settings)
kept = comparison["kept"].rename(columns={"kept_share": "atlas model"})
kept["flat-band model"] = comparison["kept_flatband_model"].kept_share.to_numpy()
fig, ax = plt.subplots(figsize=(7, 3))
bins = np.linspace(0, 1, 21)
ax.hist([kept["atlas model"], kept["flat-band model"]], bins=bins, label=["atlas model", "flat-band model"])
ax.set(xlabel="share of a paper-profile cluster kept in one atlas cluster", ylabel="clusters")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
flat_row = search.loc[[n for n in search.index if n.startswith(atlas_stage.FLATBAND_MODEL_NAME)]]
flat_clustering = pipeline.load_clustering(flatband_model_profile(settings))[0]
glue_values(
    flat_unclassified=int(flat_clustering.attrs["n_unclassified"]),
    n_compared=comparison["n"], k_compared=comparison["k"], overlap_reference=comparison["overlap_reference"],
    overlap_atlas=comparison["overlap_atlas"], overlap_chance=comparison["overlap_chance"],
    n_ref_clusters=len(kept), kept_atlas=kept["atlas model"].median(),
    kept_flat=kept["flat-band model"].median(),
    flat_model_auc=float(flat_row.roc_auc.iloc[0]) if len(flat_row) else float("nan"),
    flat_model_top=float(flat_row.top_precision.iloc[0]) if len(flat_row) else float("nan"),
    search_verdict=("finds them better" if len(flat_row) and elf.roc_auc > flat_row.roc_auc.iloc[0]
                    else "does not find them better"))

# %% [markdown]
# On the {glue:text}`n_compared` flat-band materials the two models share {glue:text}`overlap_reference:.0%`
# of the {glue:text}`k_compared` nearest neighbours on average ({glue:text}`overlap_chance:.1%` for unrelated
# fingerprints), and {glue:text}`overlap_atlas:.0%` on all {glue:text}`n_materials`. Of the
# {glue:text}`n_ref_clusters` paper-profile clusters, the median keeps {glue:text}`kept_atlas:.0%` of its
# members in one cluster of the atlas model's clustering, {glue:text}`kept_flat:.0%` in the flat-band model's
# clustering of the same atlas (a member HDBSCAN calls noise counts as not kept: the atlas model's clustering
# leaves {glue:text}`n_unclassified` of the {glue:text}`n_materials` materials unclassified, the flat-band
# model's {glue:text}`flat_unclassified`). For finding flat bands, the flat-band model on the atlas images reaches
# ROC-AUC {glue:text}`flat_model_auc:.3f` and top-{glue:text}`top` precision {glue:text}`flat_model_top:.0%`:
# the atlas model {glue:text}`search_verdict` (the table above).

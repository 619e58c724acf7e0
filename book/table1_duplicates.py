# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Table 1: duplicate entries
#
# 2Dmatpedia builds materials both top-down (exfoliating 3D crystals) and bottom-up (element substitution), so
# the same 2D material can enter twice under two ids. The paper finds such pairs from the fingerprints: two
# materials with the same formula and nearly identical band structures (up to {glue:text}`paper_max`
# potential duplicate entries; Table 1 lists {glue:text}`n_table1` pairs). Here: every same-formula pair
# closer than a threshold read off the distance distribution, ranked; which of the paper's Table 1 pairs are
# in our data and whether we find them; whether the paper's labels match 2Dmatpedia's formulas; whether the
# pairs are the same structure or polymorphs (pymatgen's `StructureMatcher`); and the images of the closest
# pairs side by side.
#
# The energy zero, the k-path, spin, the absence of spin–orbit coupling, the basis and the other
# conventions and limits these results rest on: {ref}`conventions`.

# %% tags=["parameters"]
profile = "default"  # parameter profile (elfutils.book.profiles): default, smoke, retrain or 2dmatpedia

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from elfutils import constants
from elfutils.analysis.cluster import minkowski_distances
from elfutils.analysis.duplicates import DUPLICATE_MAD_K, find_duplicates, nearest_neighbour_distances
from elfutils.analysis.fingerprints import fingerprint_matrix
from elfutils.book import paper_quantities, pipeline, plots
from elfutils.book.profiles import get_profile
from elfutils.book.sphinx_ext import glue_values
from elfutils.book.structure_match import (
    DEFAULT_TOLERANCES,
    LAYER_VACUUM_A,
    LOOSE_TOLERANCES,
    label_check,
    match_pairs,
    mislabelled,
    verdict_tally,
)
from elfutils.book.tables import readable
from elfutils.book.wording import counted

settings = get_profile(profile)
N_PAIRS_SHOWN = 8  # pairs drawn side by side

# %% [markdown]
# ## The distance distribution and the threshold
#
# The paper gives no threshold. Ours: a pair is a candidate when its fingerprints are far closer than
# materials usually are to their nearest neighbour, a low outlier of the nearest-neighbour distances:
# $\log t = \mathrm{median} - k \times 1.4826 \times \mathrm{MAD}$ of the log nearest-neighbour distances
# of all materials, with k = {glue:text}`mad_k` (`elfutils.analysis.duplicates`; 1.4826 MAD estimates a standard
# deviation). Here t = {glue:text}`threshold_nn:.3f` times the median nearest-neighbour distance, the unit
# in which this book gives fingerprint distances (raw Minkowski distances of the fingerprints are of order
# 10¹⁰ and mean nothing alone).

# %%
fingerprints = pipeline.fingerprints(settings)
distances = minkowski_distances(fingerprint_matrix(fingerprints), p=settings.minkowski_p)
result = find_duplicates(fingerprints, distances=distances, p=settings.minkowski_p)
nn = nearest_neighbour_distances(distances)
candidates = result.candidates
threshold_nn = result.in_nn_units(result.threshold)
glue_values(mad_k=DUPLICATE_MAD_K, threshold=result.threshold, threshold_nn=threshold_nn,
            n_materials=len(fingerprints),
            n_same_formula=len(result.all_pairs), n_candidates=len(candidates),
            n_candidate_materials=result.candidate_entries,
            frac_nn_below=float((nn <= result.threshold).mean()))
fig, ax = plt.subplots(figsize=(8, 3.8))
xlabel = f"Minkowski distance of fingerprints (p = {settings.minkowski_p:g})"
plots.studies.plot_distance_distribution(nn, result.all_pairs.distance, result.threshold, ax=ax, xlabel=xlabel)
fig.tight_layout()

# %% [markdown]
# Among our {glue:text}`n_materials` materials, {glue:text}`n_same_formula` pairs share a formula;
# {glue:text}`n_candidates` of them fall below the threshold ({glue:text}`n_candidate_materials` materials
# involved). {glue:text}`frac_nn_below:.1%` of all materials have some neighbour (of any formula) that
# close.

# %% [markdown]
# ## The candidate pairs, ranked
#
# Closest first; `in_paper_table1` marks the pairs of the paper's Table 1.

# %%
shown = result.readable(
    candidates[["rank", "formula", "material_id_a", "material_id_b", "distance", "in_paper_table1"]])
shown.set_index("rank") if len(shown) else Markdown("No same-formula pair falls below the threshold.")

# %% [markdown]
# ## The paper's Table 1 pairs in our data
#
# For each pair the paper lists: are both materials in our data, and is the pair below our threshold? The
# rank is among all same-formula pairs ordered by distance.

# %%
table1 = result.table1
n_table1, n_present, n_found = len(table1), int(table1.present.sum()), int(table1.found.sum())
glue_values(n_table1=n_table1, n_table1_present=n_present, n_table1_found=n_found,
            paper_max=constants.PAPER_MAX_DUPLICATES,
            table1_verdict=(f"We flag {'only ' if n_found < n_present else ''}{n_found} of the paper's {n_table1} "
                            "Table 1 pairs as duplicates, although "
                            + (f"all {n_present}" if n_present == n_table1 else f"{n_present}")
                            + " have both materials in our data set." if n_present else
                            "None of the paper's Table 1 pairs has both materials in this profile's data."))
# a pair not in our data has no distance: "–"
readable(result.readable(table1).astype({"rank": "Int64"}).set_index("formula"), drop_empty=False)

# %% [markdown]
# {glue:text}`table1_verdict`

# %% [markdown]
# ## The paper's labels against 2Dmatpedia's formulas
#
# Each Table 1 pair is headed by a formula. 2Dmatpedia's own formula of each id (`formula_pretty` of
# `data/2dmatpedia-structures/structures.jsonl`, reduced):

# %%
labels = label_check(constants.PAPER_TABLE1_DUPLICATES)
wrong = labels[~labels.label_matches]
glue_values(labels_verdict="Every label of the paper's Table 1 matches 2Dmatpedia's formulas." if wrong.empty
            else f"{counted(len(wrong), 'label')} of the paper's Table 1 "
                 f"{'is' if len(wrong) == 1 else 'are'} wrong against 2Dmatpedia's own formulas: "
                 f"{mislabelled(labels)}.",
            n_label_different_formula=int((wrong.formula_a != wrong.formula_b).sum()))
display(readable(labels, drop_empty=False))

# %% [markdown]
# {glue:text}`labels_verdict` A pair whose two ids have different formulas
# ({glue:text}`n_label_different_formula` of them) is no duplicate at all: 2Dmatpedia's entries of two
# compounds cannot be one material, whatever their band structures. A label that names the wrong compound for
# two ids of one formula is a typing error of the table; the pair itself stands.

# %% [markdown]
# ## Same structure or polymorphs?
#
# Close band structures do not make two entries one material. Each candidate pair and each Table 1 pair is
# checked on the relaxed 2Dmatpedia structures with pymatgen's `StructureMatcher`, the tool the paper says
# 2Dmatpedia used to remove duplicates (`elfutils.book.structure_match`): both layers rebuilt with
# {glue:text}`layer_vacuum:g` Å of vacuum either side, supercells allowed, at pymatgen's default tolerances
# ({glue:text}`default_tolerances`) and at looser ones ({glue:text}`loose_tolerances`). A match at the default
# tolerances is the *same structure*, a duplicate proper; a match only at the loose ones a *close polymorph*
# (one structure, distorted); no match a *polymorph*, the same formula in another structure.

# %%
pair_columns = ["formula", "material_id_a", "material_id_b"]
matched = match_pairs(pd.concat([candidates[pair_columns], table1[pair_columns]], ignore_index=True))
candidates = candidates.assign(structure=matched.verdict.iloc[:len(candidates)].to_numpy())
table1 = table1.assign(structure=matched.verdict.iloc[len(candidates):].to_numpy())


def fmt_tolerances(t) -> str:
    return f"lengths {t['ltol']:g}, sites {t['stol']:g}, angles {t['angle_tol']:g}°"


n_same = int((candidates.structure == "same structure").sum())
n_polymorph = int(candidates.structure.isin(["close polymorph", "polymorph"]).sum())
glue_values(layer_vacuum=LAYER_VACUUM_A, default_tolerances=fmt_tolerances(DEFAULT_TOLERANCES),
            loose_tolerances=fmt_tolerances(LOOSE_TOLERANCES), n_candidates_same=n_same,
            n_candidates_same_text=f"only {n_same}" if n_same < len(candidates) else str(n_same),
            candidates_tally=verdict_tally(candidates.structure), table1_tally=verdict_tally(table1.structure),
            n_candidates_polymorph=n_polymorph,
            polymorph_clause=", so our fingerprints find polymorphs with near-identical band structures as well "
            "as duplicates" if n_polymorph else "",
            table1_polymorphs=", ".join(f"{r.formula} ({r.material_id_a}, {r.material_id_b}): {r.structure}"
                                        for r in table1.itertuples() if r.structure != "same structure")
            or "none")
display(readable(matched.iloc[:len(candidates)].assign(rank=candidates["rank"].to_numpy()).set_index("rank"),
                 drop_empty=False))
display(readable(matched.iloc[len(candidates):].assign(paper_label=table1.formula.to_numpy())
                 .set_index("paper_label"), drop_empty=False))

# %% [markdown]
# Of our {glue:text}`n_candidates` candidate pairs, {glue:text}`n_candidates_same_text` are the same structure
# by pymatgen's default tolerances; {glue:text}`n_candidates_polymorph` are polymorphs, close or
# not{glue:text}`polymorph_clause`. In all:
# {glue:text}`candidates_tally`. The paper's Table 1 pairs: {glue:text}`table1_tally`; those that are not the
# same structure: {glue:text}`table1_polymorphs`.

# %% [markdown]
# ## The closest pairs side by side
#
# For each pair: the two band-structure images and their overlay (black: both; red: only the first; blue: only
# the second). When fewer than {glue:text}`n_pairs_shown` pairs pass the threshold, the closest other
# same-formula pairs fill up the figure; their titles give the distance, to be read against the threshold.

# %%
stack, image_ids, _ = pipeline.images(settings)
images = dict(zip(image_ids, stack, strict=True))
ranked = result.all_pairs.assign(rank=np.arange(1, len(result.all_pairs) + 1))
glue_values(n_pairs_shown=N_PAIRS_SHOWN)
fig = plots.bands.pair_images_figure(ranked, images, max_pairs=N_PAIRS_SHOWN,
                                 title=("closest same-formula pairs (threshold "
                                        f"{threshold_nn:.3f} × median NN)"),
                                 window=settings.energy_window, nn_unit=result.median_nn)

# %%
present = table1[table1.present].rename(columns={"rank": "rank_all"})
present = present.assign(rank=present.rank_all.fillna(0).astype(int))
if len(present):
    fig = plots.bands.pair_images_figure(present, images, max_pairs=len(present),
                                     title="the paper's Table 1 pairs in our data",
                                     window=settings.energy_window, nn_unit=result.median_nn)
else:
    display(Markdown("None of the paper's Table 1 pairs has both materials in this profile's data."))

# %% [markdown]
# ## The paper's numbers beside ours

# %%
paper_quantities.show_chapter(settings, "table1_duplicates", duplicates=result)

# %% [markdown]
# The paper reports up to {glue:text}`paper_max` potential duplicate entries (materials, not pairs); we find
# {glue:text}`n_candidate_materials` materials in {glue:text}`n_candidates` pairs with the threshold above,
# of which {glue:text}`n_candidates_same` pairs are the same structure by pymatgen's default tolerances. Its
# threshold is not given, so the counts compare only loosely; the Table 1 pairs are the direct test.

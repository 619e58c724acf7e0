# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # The paper's numbers beside this reproduction
#
# Every number the paper {cite}`pentz2025elf` quotes -- the size of the dataset, the training loss, the
# clustering parameters and outcome, the structural comparison of Fig. 5, the duplicates of Table 1 -- beside
# the value this reproduction obtains, with the reason for each difference. Everything on this page is
# computed here from the same cached stages the other chapters use (`elfutils.book.paper_quantities.collect`
# calls `elfutils.book.pipeline`), so it does not depend on any other chapter having been executed. The rows
# come from one registry, `elfutils.book.paper_quantities.REGISTRY`, which also gives each chapter its closing
# table; the paper's values are the named constants of `elfutils.constants`.

# %% tags=["parameters"]
profile = "default"  # parameter profile (elfutils.book.profiles): default, smoke, retrain or 2dmatpedia

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from elfutils import constants
from elfutils.book import paper_quantities, report
from elfutils.book.profiles import get_profile
from elfutils.book.sphinx_ext import glue_values

settings = get_profile(profile)
outcomes = paper_quantities.collect(settings)
comparison = paper_quantities.paper_vs_ours(outcomes)
pd.set_option("display.max_colwidth", None)
glue_values(profile_name=settings.name, n_rows=len(comparison),
            n_same=int((comparison.explanation == "same").sum()),
            n_constants=len([c for c in comparison.constant if c]))

# %% [markdown]
# The table has {glue:text}`n_rows` rows for the {glue:text}`profile_name` profile; {glue:text}`n_same` of
# them agree with the paper. The column *constant* names the constant in `elfutils.constants` that holds the
# paper's value (empty for a claim the paper makes in words).

# %% [markdown]
# ## Data

# %%
glue_values(n_materials=outcomes.n_materials, paper_materials=constants.PAPER_N_MATERIALS,
            n_computed=outcomes.n_computed, n_structures=outcomes.n_structures)
paper_quantities.show_section(comparison, "Data")

# %% [markdown]
# The paper encodes {glue:text}`paper_materials` flat-band materials; this build encodes
# {glue:text}`n_materials`. Our band structures are our own GPAW calculations of the
# {glue:text}`n_structures` pool materials with a structure here ({glue:text}`n_computed` computed so far),
# not 2Dmatpedia's VASP ones (see the data chapter).

# %% [markdown]
# ## Network

# %%
history = (outcomes.model_card or {}).get("history") or [{}]
glue_values(train_bce=history[-1].get("train_bce", float("nan")), paper_bce=constants.PAPER_TRAIN_BCE,
            pixel_fraction=outcomes.pixel_fraction, constant_bce=report.constant_bce(outcomes.pixel_fraction))
paper_quantities.show_section(comparison, "Network")

# %% [markdown]
# The last epoch's training BCE is {glue:text}`train_bce:.3f` against the paper's {glue:text}`paper_bce`.
# BCE is not comparable across image sets: {glue:text}`pixel_fraction:.1%` of our pixels are line pixels, and
# a network that predicted only that share everywhere would score {glue:text}`constant_bce:.3f`.

# %% [markdown]
# ## Clustering

# %%
attrs = outcomes.clustering.attrs
glue_values(n_clusters=attrs["n_clusters"], n_unclassified=attrs["n_unclassified"],
            paper_clusters=constants.PAPER_N_CLUSTERS, paper_unclassified=constants.PAPER_N_UNCLASSIFIED)
paper_quantities.show_section(comparison, "Clustering")

# %% [markdown]
# HDBSCAN finds {glue:text}`n_clusters` clusters and leaves {glue:text}`n_unclassified` materials
# unclassified (paper: {glue:text}`paper_clusters` and {glue:text}`paper_unclassified`). Both counts scale
# with the number of materials, so the table also gives them per material.

# %% [markdown]
# ## Embeddings

# %%
paper_quantities.show_section(comparison, "Embeddings")

# %% [markdown]
# ## Architectures (Supplementary Note 2)

# %%
paper_quantities.show_section(comparison, "Architectures (Suppl. Note 2)")

# %% [markdown]
# The paper names the trunks it tried and says the deeper ones did not help; our study trains each variant
# for the same number of epochs and compares their validation BCE (chapter Supplementary Note 2).

# %% [markdown]
# ## Structure (Fig. 4)

# %%
paper_quantities.show_section(comparison, "Structure (Fig. 4)")

# %% [markdown]
# The paper draws its Fig. 4 as a schematic; here the skew it describes is measured on the real structures,
# and the square-octagon layers of our data are tested for closeness in fingerprint space (chapter Fig. 4).

# %% [markdown]
# ## Structure (Fig. 5)

# %%
glue_values(paper_cnnf=constants.PAPER_N_CNNF_CLUSTERS, paper_localised=constants.PAPER_N_CNNF_LOCALISED)
paper_quantities.show_section(comparison, "Structure (Fig. 5)")

# %% [markdown]
# The paper finds {glue:text}`paper_cnnf` structural (CNNF) clusters, {glue:text}`paper_localised` of which
# form localised groups on its elf map; our counts and the explicit localisation criterion are in the table.

# %% [markdown]
# ## Latent space (Fig. 6)

# %%
paper_quantities.show_section(comparison, "Latent space (Fig. 6)")

# %% [markdown]
# The paper shows Fig. 6's decoded images only; the share of pixels each walk changes, and the walks in units
# of each latent number's spread over our materials, are ours (chapter Fig. 6).

# %% [markdown]
# ## Duplicates (Table 1)

# %%
duplicates = outcomes.duplicates
glue_values(n_candidates=len(duplicates.candidates), n_candidate_entries=duplicates.candidate_entries,
            paper_duplicates=constants.PAPER_MAX_DUPLICATES,
            n_table1=len(constants.PAPER_TABLE1_DUPLICATES),
            n_table1_present=int(duplicates.table1.present.sum()),
            n_table1_found=int(duplicates.table1.found.sum()))
display(paper_quantities.show_section(comparison, "Duplicates (Table 1)"))
duplicates.table1.round(3)

# %% [markdown]
# The paper reports up to {glue:text}`paper_duplicates` potential duplicate entries (materials); we find
# {glue:text}`n_candidate_entries` materials in {glue:text}`n_candidates` candidate pairs. Of the
# {glue:text}`n_table1` pairs of its Table 1, {glue:text}`n_table1_present` have both materials in our data
# and {glue:text}`n_table1_found` of those fall within our threshold (above: each pair's distance and its rank
# among all same-formula pairs).

# %% [markdown]
# ## At a glance
#
# Every quantity above that is a plain number on both sides, as the ratio of ours to the paper's (log scale;
# 1 = the same; a zero of ours is drawn at the left edge).

# %%
both = comparison.assign(paper_value=pd.to_numeric(comparison["paper"], errors="coerce"),
                         our_value=pd.to_numeric(comparison["ours"], errors="coerce"))
both = both.dropna(subset=["paper_value", "our_value"]).query("paper_value > 0")
ratio = np.clip(both["our_value"] / both["paper_value"], 1e-2, 1e2)
fig, ax = plt.subplots(figsize=(7, 0.35 * len(both) + 1.2))
ax.barh(both["quantity"], ratio - 1, left=1, color=np.where(ratio >= 1, "C1", "C0"))  # bars grow from 1
ax.axvline(1, color="k", lw=1)
ax.set(xscale="log", xlim=(1e-2, 1e2), xlabel="ours / paper")
ax.invert_yaxis()
plt.show()

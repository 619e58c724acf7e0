# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Fig. 7: choosing HDBSCAN's minimum cluster size and minimum samples
#
# Four metrics of the clustering solution as functions of HDBSCAN's minimum cluster size $N_c$ and minimum
# sample size $N_s$: the number of clusters, the number of unclassified materials, and two validity indices,
# DBCV (Moulavi et al., SIAM SDM 2014) and S_Dbw (Halkidi & Vazirgiannis, ICDM 2001). The paper
# {cite}`pentz2025elf` varies both parameters from {glue:text}`paper_grid` and chooses
# $N_c$ = {glue:text}`paper_nc`, $N_s$ = {glue:text}`paper_ns` for "a relatively large DBCV index while
# minimising the number of unclassified materials and keeping the number of clusters bounded" (Methods,
# "Multi-stage clustering module"). Here that reasoning becomes an explicit rule, applied to our
# fingerprints. Every grid point is an HDBSCAN fit on the exact Minkowski ($p = 0.2$) distances of the
# fingerprints (`elfutils.analysis.validity.parameter_study`, cached as the `parameter_study` stage).

# %% tags=["parameters"]
profile = "default"  # parameter profile (elfutils.book.profiles): default, smoke, retrain or 2dmatpedia

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown

from elfutils import constants
from elfutils.book import paper_quantities, pipeline, report
from elfutils.book.profiles import get_profile
from elfutils.book.sphinx_ext import glue_values

settings = get_profile(profile)
study = pipeline.parameter_study(settings)
judged = report.apply_selection_rule(study)
paper = (constants.HDBSCAN_MIN_CLUSTER_SIZE, constants.HDBSCAN_MIN_SAMPLES)
at_paper = report.grid_point(judged, *paper)
n_materials = len(pipeline.fingerprints(settings))
for column in report.STUDY_PANELS:
    glue_values(**{f"{column}_{k}": v for k, v in report.study_extremes(judged, column).items()})
grid = constants.PARAMETER_STUDY_RANGE
glue_values(
    paper_nc=paper[0], paper_ns=paper[1], paper_grid=f"{grid.start} to {grid.stop - 1}",
    n_materials=n_materials, n_grid=len(judged),
    nc_range=f"{judged.min_cluster_size.min()} to {judged.min_cluster_size.max()}",
    ns_range=f"{judged.min_samples.min()} to {judged.min_samples.max()}",
    n_defined=int(judged.dbcv.notna().sum()),
    **{f"paper_{k}": report.number_text(at_paper[k] if at_paper is not None else None, fmt)
       for k, fmt in (("n_clusters", ".0f"), ("n_unclassified", ".0f"), ("dbcv", ".3f"), ("s_dbw", ".3f"))},
)

# %% [markdown]
# The grid spans $N_c$ = {glue:text}`nc_range` and $N_s$ = {glue:text}`ns_range`
# ({glue:text}`n_grid` HDBSCAN fits on {glue:text}`n_materials` materials); both indices are defined at
# {glue:text}`n_defined` grid points, those with at least two clusters. In each panel a solid outline marks
# the paper's choice and a dashed one the choice of the rule below; hatched cells have fewer than two
# clusters.

# %% [markdown]
# ## Number of clusters

# %%
report.study_heatmap(judged, "n_clusters", legend=True)
plt.show()

# %% [markdown]
# The cluster count runs from {glue:text}`n_clusters_max:.0f` (at $N_c$ = {glue:text}`n_clusters_max_nc`,
# $N_s$ = {glue:text}`n_clusters_max_ns`) down to {glue:text}`n_clusters_min:.0f` (at
# $N_c$ = {glue:text}`n_clusters_min_nc`, $N_s$ = {glue:text}`n_clusters_min_ns`).

# %% [markdown]
# ## Number of unclassified materials

# %%
report.study_heatmap(judged, "n_unclassified")
plt.show()

# %% [markdown]
# Between {glue:text}`n_unclassified_min:.0f` (at $N_c$ = {glue:text}`n_unclassified_min_nc`,
# $N_s$ = {glue:text}`n_unclassified_min_ns`) and {glue:text}`n_unclassified_max:.0f` (at
# $N_c$ = {glue:text}`n_unclassified_max_nc`, $N_s$ = {glue:text}`n_unclassified_max_ns`) materials are left
# unclassified.

# %% [markdown]
# ## DBCV
#
# The density-based clustering validation index lies in $[-1, 1]$; higher means denser clusters that are
# better separated. Computed on the same Minkowski distances as the clustering (`elfutils.analysis.validity.dbcv`),
# with unclassified materials counted as the index prescribes (they lower it).

# %%
report.study_heatmap(judged, "dbcv")
plt.show()

# %% [markdown]
# DBCV runs from {glue:text}`dbcv_min:.3f` ($N_c$ = {glue:text}`dbcv_min_nc`,
# $N_s$ = {glue:text}`dbcv_min_ns`) to {glue:text}`dbcv_max:.3f` ($N_c$ = {glue:text}`dbcv_max_nc`,
# $N_s$ = {glue:text}`dbcv_max_ns`).

# %% [markdown]
# ## S_Dbw
#
# S_Dbw adds the mean scatter of the clusters (their variance relative to the whole set's) to the density
# between pairs of clusters relative to the density at their centres. **Lower is better** for S_Dbw: the
# paper's caption of Fig. 7 says "a higher score indicating a better solution" for both indices, which holds
# for DBCV only. The colour map is flipped so that bright means better in both index panels. Unclassified
# materials are left out and Euclidean distances are used, as in the index's definition
# (`elfutils.analysis.validity.s_dbw`).

# %%
report.study_heatmap(judged, "s_dbw")
plt.show()

# %% [markdown]
# S_Dbw runs from {glue:text}`s_dbw_min:.3f` (best; $N_c$ = {glue:text}`s_dbw_min_nc`,
# $N_s$ = {glue:text}`s_dbw_min_ns`) to {glue:text}`s_dbw_max:.3f` ($N_c$ = {glue:text}`s_dbw_max_nc`,
# $N_s$ = {glue:text}`s_dbw_max_ns`).

# %% [markdown]
# ## The paper's reasoning as a rule
#
# The paper weighs three of the four metrics by eye. Written as a rule (`elfutils.book.report.SelectionRule`):
# {glue:text}`rule_text`. The bounds come from the grid itself, so the rule carries over to a dataset of
# another size. S_Dbw plays no part, as in the paper.

# %%
suggested = report.suggest_parameters(study)
candidates = judged[judged.candidate].sort_values("order")
glue_values(
    rule_text=judged.attrs["rule"], dbcv_threshold=judged.attrs["dbcv_threshold"],
    cluster_bound=judged.attrs["cluster_bound"], n_candidates=len(candidates),
    suggestion=("none: no grid point passes" if suggested is None else
                f"Nc = {int(suggested.min_cluster_size)}, Ns = {int(suggested.min_samples)}"),
    paper_verdict=report.paper_choice_verdict(judged, paper),
    suggestion_detail=("" if suggested is None else
                       f" ({int(suggested.n_clusters)} clusters, {int(suggested.n_unclassified)} "
                       f"unclassified, DBCV {suggested.dbcv:.3f}, S_Dbw {suggested.s_dbw:.3f})"),
)
columns = ["order", "min_cluster_size", "min_samples", "n_clusters", "n_unclassified", "dbcv", "s_dbw"]
(candidates[columns].astype({"order": int}).round(3).set_index("order") if len(candidates)
 else Markdown("No grid point passes the rule."))

# %% [markdown]
# The DBCV threshold is {glue:text}`dbcv_threshold:.3f` and the cluster bound {glue:text}`cluster_bound:.0f`;
# {glue:text}`n_candidates` grid point(s) pass both, listed above in the rule's order. On our fingerprints
# the rule chooses {glue:text}`suggestion`{glue:text}`suggestion_detail`.

# %% [markdown]
# ## The paper's numbers beside ours
#
# At the paper's choice ($N_c$ = {glue:text}`paper_nc`, $N_s$ = {glue:text}`paper_ns`) our fingerprints give
# {glue:text}`paper_n_clusters` clusters and {glue:text}`paper_n_unclassified` unclassified materials, DBCV
# {glue:text}`paper_dbcv` and S_Dbw {glue:text}`paper_s_dbw`. The paper reports {glue:text}`paper_clusters`
# clusters and {glue:text}`paper_unclassified` unclassified of {glue:text}`paper_materials` materials there;
# it prints no DBCV or S_Dbw value. {glue:text}`paper_verdict`

# %%
glue_values(paper_clusters=constants.PAPER_N_CLUSTERS, paper_unclassified=constants.PAPER_N_UNCLASSIFIED,
            paper_materials=constants.PAPER_N_MATERIALS)

# %%
paper_quantities.show_chapter(settings, "fig7_parameter_study")

# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Reproducibility: what built this book
#
# The commit, parameter profile, package versions and machine this book was built with; how long each
# cached stage took when it was last computed and how long each chapter took to execute; the model the
# chapters used; and the speed benchmarks of the renderer and the training loop where they have been run.

# %% tags=["parameters"]
profile = "default"  # parameter profile (elfutils.book.profiles): default, smoke, retrain or 2dmatpedia

# %%
import time

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from elfutils.book import pipeline
from elfutils.book.environment import (
    benchmark_table,
    book_build_table,
    epoch_budget_results,
    git_state,
    machine_info,
    package_versions,
    project_path,
)
from elfutils.book.plots.studies import plot_cost_against_n
from elfutils.book.profiles import atlas_profile, flatband_model_profile, get_profile
from elfutils.book.scale_results import scale_results, scale_table
from elfutils.book.sphinx_ext import glue_values
from elfutils.book.tables import readable

settings = get_profile(profile)

# %% [markdown]
# ## Build

# %%
git = git_state()
state = {None: "unknown", True: "with uncommitted changes", False: "clean"}[git["dirty"]]
glue_values(profile_name=settings.name, profile_description=settings.description,
            git_commit=git["commit"], git_state=state, built_at=time.strftime("%Y-%m-%d %H:%M %Z"))

# %% [markdown]
# This book was executed with the {glue:text}`profile_name` profile ({glue:text}`profile_description`)
# from commit {glue:text}`git_commit` ({glue:text}`git_state` working tree) on {glue:text}`built_at`.
# The full profile:

# %%
profile_table = {k: str(v) for k, v in settings.to_dict().items()}
pd.Series(profile_table, name="value").rename_axis("setting").to_frame()

# %% [markdown]
# ## Software

# %%
pd.Series(package_versions(), name="version").rename_axis("package").to_frame()

# %% [markdown]
# ## Machine

# %%
machine = machine_info()
glue_values(**{f"machine_{k}": v for k, v in machine.items()})
readable(pd.Series(machine, name="", dtype=object).to_frame())

# %% [markdown]
# The network ran on {glue:text}`machine_device` ({glue:text}`machine_cores` CPU cores,
# {glue:text}`machine_cpu`; GPU: {glue:text}`machine_gpu`).

# %% [markdown]
# ## Time per stage
#
# Each cached stage of `elfutils.book.pipeline` logs its wall time when it is computed (`timings.json` in the
# cache folder). "last use" says whether the latest build computed the stage or reused the cache, so the
# seconds below are the cost of computing each stage from its inputs, whichever build paid it.

# %%
stages = pipeline.timings_table()
# the atlas chapter's stages too
stages = stages[stages.profile.isin([settings.name, atlas_profile(settings).name,
                                     flatband_model_profile(settings).name])]
notebooks = pd.DataFrame(pipeline.read_timings().get("notebooks", {}).values(),
                         columns=["profile", "notebook", "seconds", "executed_at"])
notebooks = notebooks[notebooks.profile == settings.name].drop(columns="profile")
stage_seconds = pd.to_numeric(stages.seconds, errors="coerce")
committed = stages.last_use == "committed"  # their seconds are the recorded training, on its own machine
glue_values(stage_total_s=float(stage_seconds.sum()), committed_total_s=float(stage_seconds[committed].sum()),
            committed_stages=", ".join(stages.stage[committed]) or "none",
            committed_results=", ".join(stages.profile[stages.last_use == "committed results"] + "/"
                                        + stages.stage[stages.last_use == "committed results"]) or "none",
            notebook_total_s=float(notebooks.seconds.sum()), n_notebooks_timed=len(notebooks))
# a stage that records no item count shows "–" there
readable(stages.set_index(["profile", "stage"])) if len(stages) else Markdown(
    "No stage has run with this profile yet.")

# %%
fig, (ax_stage, ax_nb) = plt.subplots(1, 2, figsize=(11, 3.4))
timed = stages.dropna(subset=["seconds"])
ax_stage.barh(timed.profile + "/" + timed.stage, timed.seconds.astype(float), color="0.35")
ax_stage.set(xlabel="seconds (last computation)", title="cached stages", xscale="log")  # minutes to an hour
ax_nb.barh(notebooks.notebook, notebooks.seconds, color="0.35")
ax_nb.set(xlabel="seconds (last execution)", title="chapters")
fig.tight_layout()

# %% [markdown]
# Computing the cached stages took {glue:text}`stage_total_s:.0f` s in all, of which
# {glue:text}`committed_total_s:.0f` s is the training recorded with the results committed in `models/`
# ({glue:text}`committed_stages`: read, not recomputed, by this build; the device each ran on is in the
# model table below and in the architecture chapter). Results copied from `models/book-results/` by this
# build instead of computed (`scripts/commit_book_results.py` made them with the same inputs and code):
# {glue:text}`committed_results`. Executing the
# {glue:text}`n_notebooks_timed` chapters that have run with this profile took
# {glue:text}`notebook_total_s:.0f` s at their last execution (a chapter executed after this one shows
# its previous time).

# %%
readable(notebooks.set_index("notebook")) if len(notebooks) else Markdown("No chapter has been timed yet.")

# %% [markdown]
# ## The model
#
# The default profile uses the model committed in `models/` when its card's data hash equals the hash of
# the images this build rendered; any other profile, or a mismatch, trains into the cache.

# %%
model = pipeline.model_summary(settings)
if model["file"]:
    model["file"] = project_path(model["file"])  # relative to the project: no folder of the building machine
glue_values(build_model_source=model["source"])
readable(pd.Series(model, name="", dtype=object).to_frame())

# %% [markdown]
# Model used by this build: {glue:text}`build_model_source`.

# %% [markdown]
# ## How long `make book` takes on a fresh clone
#
# `benchmarks/bench_book.py` clones the repository into a scratch folder and times `make venv`, the first
# `make book` (empty cache, committed model), the cached rebuild and the link check; with `--retrain` it
# times `make book PROFILE=retrain`, which trains the network and the architecture comparison from scratch.
# "runnable" is the mean number of runnable tasks during the step: above the core count, other work
# shared the machine. Shown as recorded, not re-run while building the book.

# %%
builds = book_build_table()
if len(builds):
    display(readable(builds.set_index(["profile", "step"])))  # a step without a goal shows "–" there
    first = builds[(builds.profile == "default") & (builds.step == "first_build")]
    if len(first):
        minutes, goal = float(first.minutes.iloc[0]), float(first.goal_minutes.iloc[0])
        cached = builds[(builds.profile == "default") & (builds.step == "cached_rebuild")].minutes
        venv = builds[(builds.profile == "default") & (builds.step == "venv")].minutes
        total = minutes + (float(venv.iloc[0]) if len(venv) else 0.0)
        rebuild = (f"; the cached rebuild took {cached.iloc[0] / minutes:.2f} times the first" if len(cached)
                   else "")
        display(Markdown(f"The first build of the default profile took **{minutes:.1f} minutes**"
                         + (f", {total:.1f} with `make venv` before it" if len(venv) else "")
                         + f" (the project set itself {goal:.0f} minutes for the two together){rebuild}."))
else:
    display(Markdown("Not measured yet (`benchmarks/bench_book.py`)."))

# %% [markdown]
# ## Speed benchmarks
#
# `make bench` measures the renderer and the training loop against plain baselines on the machine it
# runs on and writes `benchmarks/results/*.json`; the figures found there are shown as recorded (with the
# machine they came from), not re-run while building the book.

# %%
bench = benchmark_table()
bench = bench[~bench.benchmark.str.startswith("book-build")]  # shown in the section above
if len(bench):
    display(Markdown("Speed-ups against the baselines:"))
    display(readable(bench[bench.measure.str.contains("speedup|ratio")].set_index(["benchmark", "measure"])))
    display(Markdown("Every recorded figure:"))
    display(readable(bench.set_index(["benchmark", "measure"])))
else:
    display(Markdown("No benchmark results yet (`make bench` writes them)."))

# %% [markdown]
# ## Cost against N: the analyses at scale
#
# Up to {glue:text}`scale_dense_max_n` materials every analysis starts from the exact N x N distance matrix;
# above that, from each material's nearest neighbours (`elfutils.analysis.neighbors`: brute force in chunks,
# or NN-descent for large N), HDBSCAN's spanning tree from that graph, UMAP from the same neighbours, and an
# inverted-file index for `elf similar`. `benchmarks/bench_scale.py` runs each stage in its own process on
# sets made from our real fingerprints (each new material on the segment between a real one and one of its
# neighbours), the exact path beside the graph path where the matrix fits. Dashed lines: the exact path.
# Shown as recorded, with the machine and its load, not re-run while building the book.

# %%
from elfutils.analysis.neighbors import DENSE_MAX_N

scale = scale_results()
glue_values(scale_dense_max_n=f"{DENSE_MAX_N:,}")
if scale is not None:
    cost = scale_table(scale)
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
    plot_cost_against_n(cost, axes)
    fig.tight_layout()
    plt.show()
    for stage, rows in cost.groupby("stage", sort=False):  # each stage with the figures it records
        rows = rows.drop(columns=["stage"] + (["error"] if (rows.error == "").all() else []))
        display(Markdown(f"`{stage}`:"), readable(rows.set_index(["path", "n"])))
    if scale.get("agreement"):
        display(Markdown("Graph path against the exact path on the same set:"))
        display(readable(pd.DataFrame(scale["agreement"]).set_index("n")))
    display(Markdown(f"Measured on {scale['machine']}, load average "
                     f"{', '.join(map(str, scale.get('load_average', [])))} at the end "
                     f"(a DFT batch shared the machine, at low priority), {scale.get('time', '')}."))
    biggest = cost[(cost.stage == "similar") & (cost.error == "")].sort_values("n").tail(1)
    cluster = cost[(cost.stage == "cluster") & (cost.path == "graph") & (cost.error == "")].sort_values("n")
    glue_values(
        scale_similar_n=f"{int(biggest.n.iloc[0]):,}" if len(biggest) else "-",
        scale_similar_ms=f"{biggest.ms_per_query.iloc[0]:.1f}" if len(biggest) else "-",
        scale_similar_recall=f"{biggest.recall_at_10.iloc[0]:.3f}" if len(biggest) else "-",
        scale_cluster_n=f"{int(cluster.n.iloc[-1]):,}" if len(cluster) else "-",
        scale_cluster_minutes=f"{cluster.wall_s.iloc[-1] / 60:.1f}" if len(cluster) else "-",
        scale_cluster_gib=f"{cluster.peak_mb.iloc[-1] / 1024:.1f}" if len(cluster) else "-",
    )
else:
    display(Markdown("Not measured yet (`benchmarks/bench_scale.py`)."))
    glue_values(scale_similar_n="-", scale_similar_ms="-", scale_similar_recall="-", scale_cluster_n="-",
                scale_cluster_minutes="-", scale_cluster_gib="-")

# %% [markdown]
# Over {glue:text}`scale_similar_n` fingerprints a query takes {glue:text}`scale_similar_ms` ms with
# recall@10 {glue:text}`scale_similar_recall` against brute force; `elf cluster` (HDBSCAN + UMAP + DBSCAN)
# over {glue:text}`scale_cluster_n` materials takes {glue:text}`scale_cluster_minutes` minutes and
# {glue:text}`scale_cluster_gib` GiB at its peak.

# %% [markdown]
# ## How many epochs does the network need?
#
# `benchmarks/epoch_budget.py` trains the paper's network with the one-cycle schedule at several epoch
# budgets on one image stack (same data, split and seed). The schedule anneals to the end of each budget,
# so every budget is its own run. Shown as recorded, with the stack it used.

# %%
budget = epoch_budget_results()
if budget is not None:
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for epochs, run in budget["budgets"].items():
        ax.plot(range(1, len(run["val_bce_clean"]) + 1), run["val_bce_clean"], "o-", ms=3,
                label=f"{epochs} epochs")
    ax.set(xlabel="epoch", ylabel="validation BCE (clean inputs)", title="one-cycle at several budgets")
    ax.set_ylim(top=1.5 * max(r["best_val_bce_clean"] for r in budget["budgets"].values()))
    ax.legend(fontsize=8)
    fig.tight_layout()
    table = pd.DataFrame(budget["budgets"]).T[["final_train_bce", "best_val_bce_clean",
                                                "val_vs_longest_percent", "train_seconds"]]
    table.index.name = "epochs"
    longest = max(budget["budgets"], key=int)
    glue_values(budget_n_images=budget["n_images"], budget_longest=int(longest),
                budget_shortest=int(min(budget["budgets"], key=int)),
                budget_shortest_percent=float(table.val_vs_longest_percent.iloc[0]))
    display(readable(table))
else:
    display(Markdown("Not measured yet (`benchmarks/epoch_budget.py`)."))
    glue_values(budget_n_images="-", budget_longest="-", budget_shortest="-", budget_shortest_percent=float("nan"))

# %% [markdown]
# On {glue:text}`budget_n_images` images, the shortest budget ({glue:text}`budget_shortest` epochs) ends
# {glue:text}`budget_shortest_percent:.1f`% above the best clean validation loss of the longest
# ({glue:text}`budget_longest` epochs).

# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # elf-2: a fingerprint trained without labels
#
# {glue:text}`verdict`
#
# The fingerprint-quality chapter found that the paper's network does not beat a down-sampled picture of the
# bands on flat bands. elf-2 is our attempt at a fingerprint that does, trained, like the paper's, without any
# label: a ResNet18-layout encoder to {glue:text}`dim` numbers, trained with VICReg (Bardes, Ponce & LeCun,
# 2022) to give two drawings of one material the same numbers, where the two drawings differ the way two DFT
# codes and two users' files differ — the energy-zero convention (VBM, mid-gap or CBM), a rigid shift of the
# zero, a small offset of each band, the k-point density, the line width — and to keep its numbers spread
# out and uncorrelated over a batch. It sees two planes: the paper's ±4 eV window and a
# ±{glue:text}`zoom_ev:g` eV zoom around the zero, where the flat bands the labels are about lie
# (`elfutils.nn.elf2`, `scripts/train_elf2.py`; the 12 real VASP files and the Quantum ESPRESSO file are
# never trained on nor used to pick a model).
#
# Every representation below is scored by one benchmark, the yardstick (`elfutils.analysis.yardstick`,
# `benchmarks/yardstick.py`), on the {glue:text}`ys_n_materials` materials of the atlas: the same
# {glue:text}`ys_n_folds` seeded folds and k = {glue:text}`ys_k` nearest neighbours for every task, the
# fold-to-fold standard deviation beside every mean. It is twenty minutes of encoding on this CPU, so this
# chapter reads its committed result (`benchmarks/results/yardstick-atlas.json`, made by
# `python benchmarks/yardstick.py --models CANDIDATE elf-resnet18-atlas`).
#
# The energy zero, the k-path, spin, the absence of spin–orbit coupling, the basis and the other
# conventions and limits these results rest on: {ref}`conventions`.

# %% tags=["parameters"]
profile = "default"  # parameter profile (elfutils.book.profiles): default, smoke, retrain or 2dmatpedia

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from elfutils.book import report
from elfutils.book import yardstick_results as ys
from elfutils.book.sphinx_ext import glue_values
from elfutils.images.channels import ZOOM_WINDOW_EV

result = ys.yardstick()
if result is None:
    raise RuntimeError(f"{ys.YARDSTICK} is missing: run `{ys.COMMAND}`")
paper, candidate = ys.candidates(result)
means = ys.means(result)
dims = {ys.readable_name(n): e["dim"] for n, e in result["representations"].items()}
glue_values(dim=dims[candidate] if candidate else dims[paper], zoom_ev=ZOOM_WINDOW_EV,
            ys_n_materials=result["n"], ys_n_folds=result["folds"], ys_k=result["k"])

# %% [markdown]
# ## Every representation on every task
#
# Flat-band rows: ROC-AUC of `binary_flatness` (a convolutional network's block label on 2Dmatpedia's VASP
# images, defined in the atlas chapter; it is the labels' own accuracy that caps this row), the share of flat
# materials among the 100 best-scored materials outside the flat-band pool, and R² of `flatness_score` and of
# the flat bands near E_F counted from our eigenvalues. Then the band gap, metal or gapped, spin-polarised.
# Columns in this order (short names in the table): flat AUC, top-100 flat, flatness_score R², flat near E_F R²,
# gap R², metal AUC, spin AUC. The cross-code columns (other code r@1, twin pct) search the real VASP files and the Quantum ESPRESSO file among the atlas
# ({glue:text}`n_queries` of them have their material in the atlas; {glue:text}`missing_queries` are not in
# our stores): the share that finds its own material
# first, and the median distance to it as a percentile of the atlas's nearest-neighbour distances (below 50:
# the twin lies closer than a typical nearest neighbour). The row *gap read from the image* is a ceiling for the
# gap task, not a rival.

# %%
code = next(e["cross_code"] for e in result["representations"].values() if "cross_code" in e)
glue_values(n_queries=code["n"], missing_queries=", ".join(code["missing"]))
display(ys.display_table(result))

# %% [markdown]
# ## Against the best simple rival, task by task
#
# For each task, the best of the simple representations (pixels, ±1 eV pixels, PCA of pixels, eigenvalue
# histogram, row occupancy, random) and whether the fingerprint is ahead of it, behind it, or within the larger
# of the two fold spreads (a tie).

# %%
rows = {}
for name in [candidate, paper]:
    if name is None:
        continue
    table = ys.standing(result, name)
    rows[name] = table
    shown = table.assign(candidate=table["candidate"].round(3), **{"rival's mean": table["rival's mean"].round(3),
                                                                    "margin": table["margin"].round(3)})
    display(Markdown(f"**{name}**"))
    display(shown.rename(columns={"candidate": "its mean"}))

# %%
fig, ax = plt.subplots(figsize=(9, 4.2))
columns = [c for c, _ in ys.TASKS]
spreads = ys.spreads(result)
best_rival = [means.loc[ys.rivals(result), c].max() for c in columns]
x = np.arange(len(columns))
ax.bar(x - 0.27, best_rival, 0.27, color="0.7", label="best simple rival (each task its own)")
for offset, name, colour in [(0.0, paper, "tab:blue"), (0.27, candidate, "tab:orange")]:
    if name is not None:
        ax.bar(x + offset, means.loc[name, columns], 0.27, yerr=spreads.loc[name, columns], color=colour,
               label=name, capsize=2)
ax.set_xticks(x, [c.replace(" (binary_flatness)", "") for c in columns], rotation=20, ha="right", fontsize=8)
ax.set_ylabel("fold mean (AUC, share or R²)")
ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=3, frameon=False)
ax.set_ylim(0, 1)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Robustness: the same material drawn another way
#
# {glue:text}`n_perturbed` atlas materials are perturbed the way a user's file may differ from ours and
# searched among the unperturbed atlas; the share that finds itself first (recall@1). A shifted energy zero is
# what two codes' conventions do; *first segment reversed* draws one segment of the path backwards.

# %%
robust = ys.robustness(result)
display(robust.loc[[n for n in ys.ordered(result) if n in robust.index]].T.round(2))
sample = result["sample"]
glue_values(n_perturbed=sample)

# %% [markdown]
# ## What the zoom plane buys
#
# The same recipe with the ±4 eV plane alone, trained and scored on the same folds by
#
# ```bash
# python scripts/train_elf2.py --out .cache/elf2-1plane --epochs 8 --in-channels 1
# python benchmarks/yardstick.py --models .cache/elf2-1plane/export/best.safetensors \
#     --out benchmarks/results/yardstick-atlas-one-plane.json
# ```
#
# {glue:text}`ablation_text`

# %%
one_plane = ys.yardstick(ys.ONE_PLANE)
if one_plane is not None and candidate is not None:
    ablation = ys.ablation(result, one_plane)
    display(report.readable(ablation.round(3)))
    tasks = ablation.iloc[:len(ys.TASKS)]
    better = tasks.index[tasks.difference > tasks.spread]
    worse = tasks.index[-tasks.difference > tasks.spread]
    ablation_text = (
        f"Against the ±4 eV plane alone, the zoom plane is better by more than the fold spread on {len(better)} of the "
        f"{len(tasks)} tasks ({', '.join(better) or 'none'}) and worse on {len(worse)} "
        f"({', '.join(worse) or 'none'}); the rest are within the spread.")
else:
    ablation_text = f"Not measured yet: {ys.ONE_PLANE.name} is not in benchmarks/results."
glue_values(ablation_text=ablation_text)

# %% [markdown]
# ## What is not here yet
#
# The elf-2 candidate scored above was trained for a few epochs on this 2-core CPU and is not committed as a
# model: it does not beat the simple rivals, and `elf similar`, the featurizer and the atlas keep the paper's
# network. This chapter therefore shows no elf-2 failure cases as band images, no atlas candidates re-ranked by
# elf-2, and no ablation of what each kind of view bought; these need the model, and each ablation a training
# run.

# %%
# The verdict: a miss first, from the numbers above
if candidate is None:
    verdict = ("No elf-2 candidate has been scored yet: the yardstick holds the paper's network and the simple "
               "rivals only.")
else:
    table = rows[candidate]
    ahead, behind = table.index[table.verdict == "ahead"], table.index[table.verdict == "behind"]
    flat = [c for c in table.index if "flat" in c]
    flat_behind = [c for c in flat if c in behind]
    flat_rivals = sorted(set(table.loc[flat_behind, "best simple rival"]))
    gains = [c for c in columns if means.loc[candidate, c] > means.loc[paper, c]]
    losses = [c for c in columns if c not in gains]
    paper_robust, cand_robust = robust.loc[paper], robust.loc[candidate]
    near = "flat bands near E_F R²"
    verdict = (
        f"elf-2's first candidate does not beat the simple rivals: it is behind the best of them by more than "
        f"the fold spread on {len(behind)} of the {len(table)} tasks, {len(flat_behind)} of the {len(flat)} "
        f"flat-band tasks among them ({' and '.join(flat_rivals)} ahead; flat bands near E_F R² "
        f"{table.loc[near, 'candidate']:.2f} against {table.loc[near, chr(39).join(['rival', 's mean'])]:.2f}), "
        f"and ahead on {len(ahead)} ({', '.join(ahead) or 'none'}). It is therefore not committed, and the "
        f"paper's network stays the model of every command. Against the paper's network it gains on "
        f"{len(gains)} of the {len(columns)} tasks ({', '.join(gains)}; flat bands near E_F R² "
        f"{means.loc[candidate, near]:.2f} against {means.loc[paper, near]:.2f}) and loses on "
        f"{', '.join(losses) or 'none'}; it is far steadier under a moved energy zero (shifted by 0.2 eV a "
        f"material finds itself first in {cand_robust['zero +0.2 eV']:.0%} of cases against "
        f"{paper_robust['zero +0.2 eV']:.0%}, drawn mid-gap in {cand_robust['E_F mid-gap']:.0%} against "
        f"{paper_robust['E_F mid-gap']:.0%}) but not under a reversed path segment "
        f"({cand_robust['first segment reversed']:.0%} against {paper_robust['first segment reversed']:.0%}). "
        f"Across codes {round(means.loc[candidate, ys.CROSS_CODE] * code['n'])} of the {code['n']} files "
        f"find their own material first, against {round(means.loc[paper, ys.CROSS_CODE] * code['n'])} for the "
        f"paper's network: {code['n']} files cannot tell these apart.")
glue_values(verdict=verdict)

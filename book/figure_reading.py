# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Reading band structures from figures
#
# {glue:text}`verdict`
#
# The paper {cite}`pentz2025elf` gives, as its second reason to fingerprint *images* of band structures, that
# elf "can analyse the vast corpus of research papers where band structures are presented as figures". This
# chapter builds that reader and measures it. `elf info`, `elf render` and `elf similar` take a PNG or JPEG
# band-structure plot like any band file (`elfutils.data.figure_reader`): the plot frame is found, the energy
# axis is read from its tick labels by Tesseract (`--energy-range LO HI` instead, when the ticks cannot be
# read), the high-symmetry lines split the path into segments and the labels under them put the segments in
# our order for the lattice (`--path "G M K G"` instead), and the band curves are kept whatever their colour,
# dash or width, while axes, text, legends, grid lines and the dashed zero line are dropped. The project's one
# energy zero is applied as to every other file (the data chapter's conventions): a gapped figure drawn with
# its zero mid-gap or at the VBM lands on VBM + 0.05 eV.
#
# A figure that shows less than the model's ±4 eV says nothing about the rest: those rows are unknown, not
# empty. `elf similar --profile` therefore compares such a figure in the window it shares with the model's
# images: the figure *and every material of the dataset* are cropped to that window (rounded inward to
# {glue:text}`window_step` eV) and encoded again (`elfutils.analysis.figure_window`; once per window, then
# cached).
#
# The energy zero, the k-path, spin, the absence of spin–orbit coupling, the basis and the other
# conventions and limits these results rest on: {ref}`conventions`.

# %% tags=["parameters"]
profile = "default"  # parameter profile (elfutils.book.profiles): default, smoke, retrain or 2dmatpedia

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display
from PIL import Image

from elfutils.analysis.figure_study import fidelity, window_rows
from elfutils.analysis.figure_styles import draw_figure, figure_suffix
from elfutils.analysis.figure_window import WINDOW_STEP_EV, crop_to_window, figure_window
from elfutils.analysis.similar import find_similar
from elfutils.book import figure_study_results as fsr
from elfutils.book import pipeline
from elfutils.book.plots.bands import pair_overlay
from elfutils.book.profiles import PROFILES, atlas_profile, get_profile
from elfutils.book.sphinx_ext import glue_markdown, glue_values
from elfutils.book.wording import counted
from elfutils.data.readers import read_band_file
from elfutils.data.store import BandStore
from elfutils.images.plot import draw_band_image, mark_picture
from elfutils.nn.fingerprinter import load_fingerprinter
from elfutils.paths import PROJECT_ROOT

settings = get_profile(profile)
atlas = atlas_profile(settings)
result = fsr.figure_study()
glue_values(window_step=WINDOW_STEP_EV)




def true_record(material_id):
    """Our own band structure of a material, from the atlas's stores."""
    for path in PROFILES["atlas"].store_paths():
        store = BandStore(path)
        if material_id in store.ids():
            return store.get(material_id)
    raise KeyError(material_id)


# %% [markdown]
# ## One figure, read and searched
#
# {glue:text}`example_text`

# %%
example = PROJECT_ROOT / "data" / "figure-fixtures" / "2dm-22-midgap-grid.png"
model_path, _ = pipeline.model_file(atlas)
model = load_fingerprinter(model_path)
W = model.settings.window_ev
record = read_band_file(example)
truth = true_record("2dm-22")
digitised, drawn_truth = model.settings.render(record), model.settings.render(truth)
measured = fidelity(digitised, drawn_truth, window_rows(model.settings, (-W, W)))

fig, axes = plt.subplots(1, 4, figsize=(13, 3.2), gridspec_kw={"width_ratios": [1.6, 1, 1, 1]})
mark_picture(axes[0].imshow(Image.open(example)))
axes[0].set_axis_off()
axes[0].set_title(f"the figure ({example.name})", fontsize=9)
draw_band_image(axes[1], digitised, W, "digitised", title_size=9)
draw_band_image(axes[2], drawn_truth, W, "our record, drawn the same way", title_size=9)
draw_band_image(axes[3], pair_overlay(digitised, drawn_truth), W,
                "overlay: black both, red only digitised, blue only true")
fig.tight_layout()
plt.show()

meta = record.metadata
lo, hi = meta["figure_energy_range"]
glue_values(example_text=(
    f"The figure below was drawn by matplotlib from our GPAW band structure of 2dm-22 ({truth.formula}), with a "
    f"grid, a title and its zero mid-gap, as some papers draw gapped materials. The reader found its energy "
    f"axis from the tick labels: {lo:+.3f} to {hi:+.3f} eV (drawn: −4 to +4 eV); the path "
    f"{meta['figure_path']} ({meta['figure_path_source']}); it moved the zero to the project's, "
    f"{record.efermi:+.2f} eV on the figure's axis. Drawn as the atlas model's images are, "
    f"{measured['digitised_near_true']:.1%} of the digitised line pixels lie within 2 px of the true "
    f"record's and {measured['true_near_digitised']:.1%} the other way round (IoU of the 2-px lines "
    f"{measured['iou']:.2f}: one pixel's offset halves it)."))

# %% [markdown]
# The same search for the figure and for the band structure it was drawn from, among the
# {glue:text}`n_atlas` materials of the atlas ({glue:text}`atlas_name` profile), by the atlas model; "closer
# pairs %" is the share of the atlas's own pairs of materials that are closer than the figure is to that
# material (smaller is closer). {glue:text}`search_text`

# %%
table = pipeline.fingerprints(atlas)
queries = model.fingerprints([record, truth]).astype(np.float64)
found = find_similar(queries, table, k=5, query_ids=["the figure", "our record"], exclude_ids=False)
shown = found.pivot(index="rank", columns="query", values="material_id")
shown["formula"] = found[found["query"] == "the figure"].set_index("rank")["formula"]
shown["closer pairs % (figure)"] = found[found["query"] == "the figure"].set_index("rank")[
    "closer_pairs_percent"].round(3)
display(shown[["the figure", "formula", "closer pairs % (figure)", "our record"]])
same = len(set(shown["the figure"]) & set(shown["our record"]))
own = found[(found["query"] == "the figure") & (found["material_id"] == "2dm-22")]
own_text = (f"2dm-22 itself is found at rank {int(own['rank'].iloc[0])}" if len(own)
            else "2dm-22 is not among the first five (or not in this profile's atlas)")
glue_values(n_atlas=len(table), atlas_name=atlas.name,
            search_text=f"{own_text}; {same} of the figure's five nearest materials are also the record's.")

# %% [markdown]
# ## Measured on figures drawn by other people's code
#
# {glue:md}`study_text`
#
# By window (all styles together; the 95 % interval of every share beside it):

# %%
if result is None:
    raise RuntimeError(f"benchmarks/results/figure-study.json is missing: run `{fsr.COMMAND}`")
by_window = fsr.display_table([r for r in result["by_window"]], by=("set", "window"))
display(by_window)
atlas_rows = {r["window"]: r for r in result["by_window"] if r["set"] == "atlas"}
vasp_rows = {r["window"]: r for r in result["by_window"] if r["set"] == "VASP files"}
overall = {r["set"]: r for r in result["overall"]}
per_style = pd.DataFrame(result["by_style"])
atlas_styles = per_style[per_style["set"] == "atlas"]
worst = atlas_styles.sort_values("recall_at_10").iloc[0]
best = atlas_styles.sort_values("recall_at_10").iloc[-1]
n_atlas_figures = int(overall["atlas"]["n"])
vasp_figs = fsr.rows(result).query("set == 'VASP files'")
vasp_held = vasp_figs[vasp_figs["in_dataset"]]
drawn_axis = fsr.rows(result).query("set == 'atlas'")["axis_read"].dropna()


def share_text(row: dict, k: int) -> str:
    """'50% (5 of 10; 95 % interval 24–76%)' for recall@k of a by-window row."""
    lo, hi = row[f"recall_at_{k}_lo"], row[f"recall_at_{k}_hi"]
    found = round(row[f"recall_at_{k}"] * row["n_ranked"])
    return (f"{row[f'recall_at_{k}']:.0%} ({found} of {int(row['n_ranked'])}; 95 % interval "
            f"{lo:.0%}–{hi:.0%})")


read_now = result.get("figures_read_this_run")
read_this_run = ("read every figure itself" if read_now == result["figures"] else
                 "read none of the figures itself (earlier, interrupted runs read them into its cache)"
                 if read_now == 0 else f"read {read_now} of the figures itself (earlier runs read the others)")
glue_values(
    verdict=(f"Figures of real VASP band structures are the weak case: drawn by pymatgen from the 2Dmatpedia "
             f"VASP files whose material the atlas holds, a ±2 eV figure finds its GPAW twin among the "
             f"atlas's first ten in {share_text(vasp_rows[2.0], 10)}, a ±4 eV one in "
             f"{share_text(vasp_rows[4.0], 10)}, though the reader digitised them faithfully (median "
             f"{vasp_rows[2.0]['within_2px_median']:.1%} of line pixels within 2 px): what separates them is "
             "the two codes' bands, the gap the fingerprint chapters measure, not the reading. Figures drawn "
             f"from the atlas's own records find their material among the first ten of its "
             f"{result['n_references']} in {atlas_rows[2.0]['recall_at_10']:.0%} at ±2 eV, "
             f"{atlas_rows[3.0]['recall_at_10']:.0%} at ±3 eV and {atlas_rows[4.0]['recall_at_10']:.0%} at "
             f"±4 eV, and first in {atlas_rows[2.0]['recall_at_1']:.0%}, {atlas_rows[3.0]['recall_at_1']:.0%} "
             f"and {atlas_rows[4.0]['recall_at_1']:.0%}; the weakest style is {worst['style']} "
             f"(recall@10 {worst['recall_at_10']:.0%} at ±{worst['window']:g} eV). The energy axis was read "
             f"from the tick labels in {drawn_axis.mean():.0%} of the {len(drawn_axis)} atlas figures that "
             "show bands to read."))
glue_markdown(
    study_text=(
        f"{result['materials']} atlas materials (a seeded sample) were each drawn at ±2, ±3 and ±4 eV, in a "
        f"different style at each window, by the plotting code papers are made with: pymatgen's BSPlotter, "
        f"ASE's BandStructure.plot, sumo's SBSPlotter, and matplotlib in four looks (black lines; spins in "
        f"two colours and dashes with a legend and a dashed E_F line; a grid, a title and the zero drawn "
        f"mid-gap; a wide JPEG at quality 75 with thick lines), {n_atlas_figures} figures in all; the 12 real "
        f"2Dmatpedia VASP files were drawn by BSPlotter at the three windows "
        f"({int(overall['VASP files']['n'])} figures; their twins are our GPAW records, "
        f"{vasp_held['material_id'].nunique()} of the {vasp_figs['material_id'].nunique()} materials are in "
        "the atlas). Each figure was read as a "
        f"user's would be, without `--energy-range` (where the axis was not read, again with the true range, "
        f"as the error message asks), compared with the record it was drawn from, and searched for in the "
        f"atlas in the window it shares with the model's images. `{fsr.COMMAND}` recomputes it and writes "
        f"`benchmarks/results/figure-study.json`, which this chapter reads; it resumes a killed run from "
        f"its cache (`.cache/figure-study/`). Its last run took "
        f"{counted(max(1, round(result['seconds'] / 60)), 'minute')} on a {result['machine']['cpu_count']}-core "
        f"CPU (mean run queue {result['machine']['mean_run_queue']}) and {read_this_run}; each window a figure "
        "shares with the model's images costs one more encoding of the whole atlas, once."))

# %% [markdown]
# By style and window (atlas materials):

# %%
display(fsr.display_table([r for r in result["by_style"] if r["set"] == "atlas"], by=("style", "window")))

# %% [markdown]
# ## Where it fails, and why
#
# {glue:text}`failure_text`

# %%
figures_rows = fsr.rows(result)
atlas_figs = figures_rows[figures_rows["set"] == "atlas"]
missed = atlas_figs[~atlas_figs["read"] | (atlas_figs["rank"].fillna(1e9) > 10)]
failure_counts = missed.groupby(["style", "window"]).size().sort_values(ascending=False)
low_fidelity = atlas_figs[atlas_figs["read"]].nsmallest(3, "digitised_near_true")
examples = pd.concat([missed.head(2), low_fidelity]).drop_duplicates("name").head(3)
workdir = Path(tempfile.mkdtemp(prefix="elf-figures-"))
fig, axes = plt.subplots(len(examples), 3, figsize=(11, 3.0 * len(examples)), squeeze=False,
                         gridspec_kw={"width_ratios": [1.6, 1, 1]})
for ax_row, (_, row) in zip(axes, examples.iterrows(), strict=True):
    source = true_record(row["material_id"])
    path = workdir / ("figure" + figure_suffix(row["style"]))
    draw_figure(source, row["style"], (-row["window"], row["window"]), path)
    mark_picture(ax_row[0].imshow(Image.open(path)))
    ax_row[0].set_axis_off()
    ax_row[0].set_title(f"{row['material_id']} ({source.formula}): {row['style']}, ±{row['window']:g} eV",
                        fontsize=8)
    if row["read"]:
        read = read_band_file(path)
        window = figure_window(read, W) or (-W, W)
        a = model.settings.render(crop_to_window(read, window))
        b = model.settings.render(crop_to_window(source, window))
        rank = "not in the first 10" if not row["rank"] or row["rank"] > 10 else f"rank {int(row['rank'])}"
        draw_band_image(ax_row[1], pair_overlay(a, b), W,
                        f"overlay (red digitised, blue true); {row['digitised_near_true']:.0%} within "
                        f"2 px; {rank}")
        draw_band_image(ax_row[2], b, W, "our record in the shared window", title_size=9)
    else:
        for ax in ax_row[1:]:
            ax.set_axis_off()
        ax_row[1].text(0, 0.5, f"not read:\n{row.get('error', '')}"[:200], fontsize=8, wrap=True)
fig.tight_layout()
plt.show()
top = ", ".join(f"{style} at ±{window:g} eV ({n})" for (style, window), n in failure_counts.head(3).items())
unread = atlas_figs[~atlas_figs["read"]]


def bands_in_window(row) -> int:
    """How many of the true record's bands have a point inside the window the figure shows."""
    energies = true_record(row["material_id"]).relative_energies() - (row.get("zero_shift_ev") or 0.0)
    return int(((energies > -row["window"]) & (energies < row["window"])).any(axis=-1).sum())


empty = sum(bands_in_window(row) <= 1 for _, row in unread.iterrows()) if len(unread) else 0
missed_read = missed[missed["read"]]
faithful = float((missed_read["digitised_near_true"] >= 0.95).mean()) if len(missed_read) else float("nan")
why = (f"{faithful:.0%} of them were read faithfully (at least 95 % of their line pixels within 2 px of the "
       "true ones): for those, what fails is not the reading but the fingerprint's resolution in the window "
       "the figure shows, where the atlas holds several materials whose bands look alike"
       if faithful >= 0.5 else
       f"only {faithful:.0%} of them were read faithfully (at least 95 % of their line pixels within 2 px "
       "of the true ones): the reading, not the fingerprint, loses most of them")
glue_values(failure_text=(
    f"{len(missed)} of the {len(atlas_figs)} atlas figures did not find their material among the first ten, "
    f"most of them in {top or 'no style'}. {len(unread)} could not be read at all; {empty} of these show "
    f"at most one band inside their window (an empty plot, as a wide-gap material drawn with its zero mid-gap "
    f"in a window narrower than its gap is, is refused as not a band-structure plot). Of the "
    f"{len(missed_read)} figures read but not found among the first ten, {why}. Below, the first of them "
    "and the figures read least faithfully: each figure as drawn, the overlay of its digitised image with "
    "the true one in the window both show, and the true image."))

# %% [markdown]
# ## What the reader does not do
#
# Axes on the right, broken axes, an energy axis in other units, a path jump (X|Y) drawn at one line, labels
# other than our lattices' (they are kept as drawn, `?` where unread), a legend box drawn without a frame over
# the curves, fat-band or projected plots whose colour carries a weight, and several panels in one image
# (crop the panel first). Tesseract's English model has no Γ: `elfutils.data.figure_reader.GAMMA_READINGS`
# lists what it reads instead. A figure has no k coordinates: its segments are spread evenly by index, as the
# paper's images are drawn, so a figure drawn against k-distance loses its segments' relative lengths. Where
# two curves cross or touch, the reader assigns the pixels to bands as eigenvalues are sorted; a band it loses
# there leaves through the frame's edge in the digitised record (the red strokes down to the edge in the
# first figure above).

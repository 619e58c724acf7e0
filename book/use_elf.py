# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Use elf on your own band structures
#
# This page is for a reader who wants to run elf rather than read about it. Every command and every line of
# Python below was run when this page was built, from the project's folder; what they printed is shown as
# printed.
#
# ## Install
#
# On a fresh clone (Debian or Ubuntu, Python 3.11; the commands install what they need, including Tesseract
# for figures):
#
# ```bash
# make book    # the virtual environment, then this book (the main job)
# make test    # the test suite
# ```
#
# Both create `.venv` with `pip install -e '.[book,test]'`; for the library and the `elf` command alone,
# `pip install -e .` in a virtual environment of your own is enough. Reading GPAW `.gpw` files needs GPAW
# (`make gpaw` builds it); reading band-structure figures needs the `tesseract` program (`make ocr`).
#
# The energy zero, the k-path, spin, the absence of spin–orbit coupling, the basis and the other
# conventions and limits these results rest on: {ref}`conventions`.

# %% tags=["parameters"]
profile = "default"  # parameter profile (elfutils.book.profiles): default, smoke, retrain or 2dmatpedia

# %%
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from IPython.display import Markdown, display

from elfutils.analysis.fingerprints import fingerprint_matrix
from elfutils.analysis.similar import nearest_neighbour_percent
from elfutils.book import pipeline
from elfutils.book.profiles import atlas_profile, get_profile
from elfutils.book.sphinx_ext import glue_markdown
from elfutils.data.readers import READERS
from elfutils.images.plot import draw_band_image
from elfutils.nn.fingerprinter import read_model_card
from elfutils.paths import PROJECT_ROOT

settings = get_profile(profile)
os.chdir(PROJECT_ROOT)  # the paths below are the README's, relative to the project's folder
ELF = Path(sys.executable).with_name("elf")  # the `elf` command of this environment


def run_elf(*args) -> str:
    """Run `elf ARGS` from the project's folder; the command line and what it printed, as a Markdown block."""
    done = subprocess.run([str(ELF), *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    shown = (done.stdout + done.stderr).strip()
    return f"```text\n$ elf {' '.join(args)}\n{shown}\n```\n(exit code {done.returncode})"


# %% [markdown]
# ## The `elf` command
#
# Each subcommand has its own `--help`; the readers every command takes come from one table of readers.

# %%
display(Markdown(run_elf("--help")))

# %% [markdown]
# ## One file of every format
#
# {glue:md}`readers_text`

# %%
examples = {
    "json": ["data/2dmatpedia-dft-bands/2dm-1.json", "data/reader-fixtures/2dm-4991.ase-bands.json"],
    "vasprun": [],
    "gpw": ["data/reader-fixtures/2dm-4991.gpw"],
    "qe-xml": ["data/reader-fixtures/qe/2dm-4991.data-file-schema.xml"],
    "figure": ["data/figure-fixtures/2dm-22-midgap-grid.png"],
}
needs = {"gpw": importlib.util.find_spec("gpaw") is not None, "figure": shutil.which("tesseract") is not None}
for reader in READERS:
    files = examples.get(reader.kind, [])
    display(Markdown(f"**{reader.description}** (`{reader.kind}`; names {', '.join(reader.patterns)})"))
    if not files:
        display(Markdown("No such file ships with the project (VASP's licence): `elf info my_run/vasprun.xml` "
                         "reads a line-mode run through pymatgen, with the KPOINTS file beside it for the "
                         "labels."))
    elif not needs.get(reader.kind, True):
        display(Markdown(f"Not run in this build: `{reader.kind}` needs "
                         f"{'GPAW (make gpaw)' if reader.kind == 'gpw' else 'Tesseract (make ocr)'}. "
                         f"The command: `elf info {' '.join(files)}`"))
    else:
        display(Markdown(run_elf("info", *files)))
glue_markdown(readers_text=(
    f"elf reads {len(READERS)} kinds of band-structure files, told apart by their content, not only by "
    "their names (`elfutils.data.readers.READERS`). Each one is brought to the project's one energy zero "
    "(E_F for a metal, VBM + 0.05 eV for a gapped material; the data chapter's conventions box), so one "
    "material computed by two codes draws one image. `elf info` shows what a file holds and the zero used."))

# %% [markdown]
# ## Search the dataset for look-alikes
#
# The headline command, on a file that ships (a 2Dmatpedia VASP file; your own `vasprun.xml` the same way):

# %%
display(Markdown(run_elf("similar", "data/2dmatpedia-dft-bands/2dm-21.json", "--k", "5")))

# %% [markdown]
# The same search with elf-2 ({doc}`elf2`), the fingerprint trained without labels to give two drawings of
# one material the same numbers. It is an option, not the default: it gains on flat bands and under a moved
# energy zero but finds a file's own material across codes less often than the paper's network (its
# chapter's verdict gives the numbers). `--model elf2` searches the same materials encoded by elf-2; when the
# file's own material is not its first hit, as can happen here, the failure cases of its chapter show why:

# %%
display(Markdown(run_elf("similar", "data/2dmatpedia-dft-bands/2dm-21.json", "--k", "5", "--model", "elf2")))

# %% [markdown]
# ## From Python, in six names
#
# The same search in the library's public names (the README's block, run here as printed):

# %% tags=["show-input"]
from elfutils import encode, find_similar, load_fingerprints, load_model, read_band_structure, render

table = load_fingerprints("default")  # the embedded dataset's fingerprints ("atlas": all of 2Dmatpedia)
model, config, card = load_model(table.attrs["model"])  # the model that encoded them
bands = read_band_structure("data/2dmatpedia-dft-bands/2dm-21.json")  # or your own vasprun.xml
fingerprint = encode(model, render(bands, size=config.image_size)[None])  # (1, 98)
neighbours = find_similar(fingerprint, table, k=10)
neighbours.drop(columns="distance")

# %% [markdown]
# ## What the model sees
#
# `elf render FILE` writes the image a fingerprint is computed from (`--out image.png`), drawn with the render
# settings the model's card records. Below, the image of the file searched above and those of its nearest
# materials, on the model's energy axis; the dotted line is the project's energy zero.

# %%
import matplotlib.pyplot as plt

from elfutils.nn.fingerprinter import load_fingerprinter

fingerprinter = load_fingerprinter(table.attrs["model"])
window = fingerprinter.settings.window_ev
records = {r.material_id: r for r in pipeline.load_dataset("default")}
shown = [("the file", bands)] + [(f"#{row.rank}: {row.material_id} {row.formula}", records[row.material_id])
                                 for row in neighbours.head(3).itertuples() if row.material_id in records]
fig, axes = plt.subplots(1, len(shown), figsize=(2.6 * len(shown), 2.8), sharey=True)
for ax, (title, record) in zip(np.atleast_1d(axes), shown, strict=True):
    draw_band_image(ax, fingerprinter.settings.render(record), window, title,
                    ylabel=ax is np.atleast_1d(axes)[0], title_size=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## How to read a distance
#
# {glue:md}`distance_text`

# %%
own = nearest_neighbour_percent(fingerprint_matrix(table))
glue_markdown(distance_text=(
    "The raw distance is the Minkowski distance with p = 0.2 that the clustering uses: astronomically large "
    "numbers, meaningful only beside each other, so elf prints `closer_pairs_percent` instead: the share of "
    "the dataset's own pairs of materials that are closer than the neighbour is to your file. Smaller is "
    "closer; 50 is a typical pair of unrelated materials. What a good match scores depends on the table: "
    f"in the embedded dataset ({len(table)} materials) a material's own nearest neighbour scores "
    f"{np.median(own):.2g} (median; 90 % of them below {np.percentile(own, 90):.2g}), and `elf similar` "
    "prints this calibration under every search. Where the book compares a distance with a threshold (the "
    "duplicates of Table 1, the similarity search's twin) it gives it in units of the median distance from "
    "a material to its nearest neighbour (written × median NN): below 1 is closer than a typical nearest "
    "neighbour. Two computations of one material by two DFT codes do not sit at distance zero: the data "
    "chapter's conventions box gives how far a VASP file lies from its GPAW twin against the dataset's "
    "nearest neighbours (the code-to-code noise floor), and the Table 1 chapter the distance below which two "
    "entries are treated as the same material."))

# %% [markdown]
# ## Downloads
#
# {glue:md}`downloads_text`

# %%
downloads = PROJECT_ROOT / "book" / "_static" / "downloads"  # copied into the HTML beside the pages
downloads.mkdir(parents=True, exist_ok=True)
written = []
for name, p in (("the embedded flat-band dataset", settings), ("the atlas", atlas_profile(settings))):
    fingerprints = pipeline.fingerprints(p)
    path = downloads / f"elf-fingerprints-{p.name}.parquet"
    fingerprints.to_parquet(path, index=False)
    written.append(f"- {name}: [{path.name}](../../_static/downloads/{path.name}) ({len(fingerprints)} "
                   "materials; `material_id`, `formula`, `f0` .. `f97`; `pandas.read_parquet`)")
display(Markdown("\n".join(written)))
cards = []
for weights in sorted((PROJECT_ROOT / "models").glob("*/best.safetensors")):
    card_ = read_model_card(weights)
    render_ = card_["render_settings"]
    cards.append(f"- `models/{weights.parent.name}/` ({card_.get('fingerprint_length', 98)} numbers a "
                 f"fingerprint, images {render_['image_size']} px, ±{render_['window_ev']:g} eV): its card "
                 "`best.json` says how it was trained and every render setting its inputs need")
display(Markdown("The committed models, in the repository:\n\n" + "\n".join(cards)))
glue_markdown(downloads_text=(
    "The fingerprint tables this book computed, and the models that made them. "
    "`elf export-fingerprints --profile atlas --out atlas.parquet` writes the same tables from the command "
    "line, and `elfutils.load_fingerprints(\"atlas\")` returns them in Python."))

# %% [markdown]
# ## Glossary
#
# binary_flatness
# : Bhattacharya et al.'s flat-band label of a 2Dmatpedia material: a convolutional network's score of
#   blocks of its VASP band image around E_F, thresholded to flat / not flat. Its authors report about 92 %
#   block accuracy on their own test set: a label, not ground truth, so no method here can be measured to
#   be more accurate than it is.
#
# flatness_score
# : the same authors' continuous score behind `binary_flatness` (higher: flatter bands near E_F).
#
# membership probability
# : HDBSCAN's measure of how firmly a material belongs to its cluster, 0 to 1 (0: unclassified, label -1).
#
# DBCV
# : Density-Based Clustering Validation, -1 to 1: how well separated and dense a density-based clustering's
#   clusters are; near 0 means the clusters are not well separated from each other or from the noise.
#
# S_Dbw
# : a validity index of scatter within and density between clusters; lower is better.
#
# ARI / AMI
# : adjusted Rand index / adjusted mutual information: agreement of two partitions, 0 at chance, 1 identical.
#
# recall@k
# : the share of queries whose right answer (e.g. a material's own entry) is among the k nearest.
#
# trustworthiness
# : how far a map's (UMAP, t-SNE) nearest neighbours are also near in the original space, 0 to 1.
#
# IoU
# : intersection over union of two images' line pixels: 1 when identical; a one-pixel offset of 2-px lines
#   halves it.
#
# closer_pairs_percent
# : the share of a dataset's own pairs of materials closer than a given distance: the readable scale of
#   every distance elf prints (the book also gives distances in units of the median nearest-neighbour
#   distance, "× median NN", where it compares them with a threshold).

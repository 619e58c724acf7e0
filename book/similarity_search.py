# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # How to: find the materials whose band structures look like yours
#
# Beyond the paper: the paper {cite}`pentz2025elf` flags candidate materials by their closeness in
# fingerprint space to well-studied ones (Results: ZnMoO4 and Tl2SiSe3 beside Bi2O3 in one cluster). This
# chapter does the same for a band-structure file *you* bring: encode it with the trained network, list its
# nearest materials with the Minkowski ($p = 0.2$) distance the clustering uses, show their band images
# beside yours, and say which HDBSCAN cluster it would join. The example file is one of the real
# 2Dmatpedia VASP band files shipped with the project; where our own GPAW band structure of the same material
# is in the dataset, the two computations of one material should find each other.

# %% tags=["parameters"]
profile = "default"  # parameter profile (elfutils.book.profiles): default, smoke, retrain or 2dmatpedia

# %%
import contextlib
import json
import shlex
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown

from elfutils import constants
from elfutils.analysis.cluster import minkowski_distances
from elfutils.analysis.duplicates import find_duplicates
from elfutils.analysis.fingerprints import fingerprint_matrix
from elfutils.analysis.similar import encode_band_files, find_similar
from elfutils.book import measurements, pipeline, plots
from elfutils.book.profiles import atlas_profile, get_profile
from elfutils.book.sphinx_ext import glue_markdown, glue_values
from elfutils.cli import main as elf
from elfutils.data.dataset import real_band_files
from elfutils.data.readers import read_band_file
from elfutils.images.render import render_band_image

settings = get_profile(profile)
k = 5  # neighbours to list
table = pipeline.fingerprints(settings)
clusters = pipeline.clustering(settings)
model_path, _ = pipeline.model_file(settings)

# %% [markdown]
# ## The query: a band file of your own
#
# {glue:md}`query_why`

# %%
query = measurements.choose_query(real_band_files(), pipeline.load_dataset(settings))
workdir = Path(tempfile.mkdtemp(prefix="elf-similar-"))
user_file = Path(shutil.copy(query["path"], workdir / "my-material.json"))
record = read_band_file(user_file)
if query["twin_in_dataset"] and not query["twin_is_same_file"]:
    why = (f"our GPAW band structure of the same material, {query['material_id']}, is in the dataset "
           f"(record source `{query['twin_source']}`); the VASP file should find it")
elif query["twin_in_dataset"]:
    why = (f"this profile's dataset holds this very VASP file as {query['material_id']}, so the search "
           "must find it at distance 0 (no GPAW twin of any of the real band files is in this dataset)")
else:
    why = (f"no computation of {query['material_id']} is in this profile's dataset, so there is no twin to "
           "find")
glue_values(query_id=query["material_id"], query_formula=record.formula, query_file=query["path"].name,
            n_materials=len(table), k=k)
glue_markdown(query_why=f"We take 2Dmatpedia's `{query['path'].name}` ({record.formula}) and copy it to "
              f"`my-material.json`, as a file of yours would be named: {why}.")
Markdown(f"`{user_file.name}`: {record.formula}, {record.energies.shape[-2]} bands, "
         f"{len(record.kpoints)} k-points along {record.path_string()}")

# %% [markdown]
# `elf similar` names a query after its file; when a dataset material has that name (a 2Dmatpedia file of a
# material we computed), it is listed and marked `same id` — usually the best answer — unless
# `--exclude-same-id` asks to leave it out. A file of yours has no 2Dmatpedia id, hence the neutral name.

# %% [markdown]
# ## From the command line
#
# `elf similar` encodes each file given with the model, searches a fingerprint table and fits HDBSCAN on it
# with the paper's $N_c$ = {glue:text}`cli_nc`, $N_s$ = {glue:text}`cli_ns` to say which cluster the query
# would join (so where a profile clusters with other values, as the smoke profile does, its cluster numbers
# are not the book's). Given only the file, it searches the dataset of a profile (`--profile`, default: the
# embedded dataset) with that profile's trained model: the fingerprint table every chapter of this book uses
# ({glue:text}`n_materials` materials). For a collection and model of your own, pass
# `--fingerprints TABLE --model MODEL` (the README lists the steps that make them).

# %%
argv = ["similar", "my-material.json", "--k", str(k)]
if settings.name != "default":
    argv += ["--profile", settings.name]
print("$ elf " + shlex.join(argv))
with contextlib.chdir(workdir):
    exit_code = elf(argv)
glue_values(cli_exit_code=exit_code, cli_nc=constants.HDBSCAN_MIN_CLUSTER_SIZE,
            cli_ns=constants.HDBSCAN_MIN_SAMPLES)

# %% [markdown]
# ### Among all of 2Dmatpedia
#
# The flat-band dataset only holds materials already known to have flat bands. `--profile atlas` searches
# every 2Dmatpedia material we computed ({glue:text}`atlas_n_materials` materials; the atlas chapter), encoded
# by the model trained on all of them, so a material of another kind finds look-alikes of its kind too.

# %%
atlas = atlas_profile(settings)
argv = ["similar", "my-material.json", "--k", str(k), "--profile", atlas.name]
print("$ elf " + shlex.join(argv))
with contextlib.chdir(workdir):
    atlas_exit_code = elf(argv)
glue_values(atlas_exit_code=atlas_exit_code, atlas_n_materials=len(pipeline.fingerprints(atlas)))

# %% [markdown]
# ## The same in Python
#
# `elfutils.analysis.similar.encode_band_files` renders and encodes any band files (the same renderer and model as
# the dataset); `find_similar` ranks the dataset. Passing the book's fitted HDBSCAN model (the
# {glue:text}`profile_name` profile's $N_c$ = {glue:text}`nc`, $N_s$ = {glue:text}`ns`) adds the cluster
# the query would join and its membership probability, and merging the cluster labels in adds each
# neighbour's cluster.

# %%
query_fp = encode_band_files([user_file], model_path)
labelled = table.merge(clusters[["material_id", "hdbscan_label"]], on="material_id")
hdbscan = pipeline.hdbscan_model(settings)
nearest = find_similar(query_fp, labelled, k=k, clusterer=hdbscan)
glue_values(profile_name=settings.name, nc=settings.min_cluster_size, ns=settings.min_samples)
# closer_pairs_percent is the distance on a scale a reader can judge (the raw Minkowski distance runs to
# ~1e10)
nearest.drop(columns="distance").round({"closer_pairs_percent": 3, "query_probability": 3})

# %% [markdown]
# ## Where the other computation of the material lands
#
# The whole dataset ranked by distance from the query: {glue:text}`twin_text`

# %%
ranked = find_similar(query_fp, labelled, k=len(labelled))
twin_rank, twin_distance = measurements.rank_of(ranked, query["material_id"])
distances = ranked.distance.to_numpy()
if twin_rank is None:
    twin_text = f"{query['material_id']} is not in this profile's dataset, so there is no twin to rank."
else:
    share = float(np.mean(distances < twin_distance))
    twin_text = (f"{query['material_id']} comes at rank {twin_rank} of {len(ranked)} ({share:.1%} of the "
                 "dataset is closer).")
glue_values(twin_text=twin_text, twin_rank=twin_rank if twin_rank is not None else "none",
            twin_distance=twin_distance)

# %% [markdown]
# ## Your band structure beside its nearest materials
#
# The query's image (framed) as the network sees it, then its {glue:text}`k` nearest materials with their
# distance, as the share of the dataset's pairs of materials that are closer (`closer_pairs_percent`), and
# HDBSCAN cluster (-1: unclassified).

# %%
stack, ids, _ = pipeline.images(settings)
position = {m: i for i, m in enumerate(ids)}
pictures = [render_band_image(record, **settings.render_params())]
titles = [f"query: {record.formula}\n(my-material.json)"]
for row in nearest.itertuples():
    pictures.append(stack[position[row.material_id]])
    titles.append(f"{row.rank}. {row.material_id} {row.formula}\n"
                  f"{row.closer_pairs_percent:.2g}% of pairs closer, cluster {row.hdbscan_label}")
plots.bands.band_images_figure(pictures, titles, ncols=len(pictures), window=settings.energy_window)
plt.show()

# %% [markdown]
# ## The cluster it would join
#
# {glue:text}`cluster_text`

# %%
joined, probability = int(nearest.query_cluster.iloc[0]), float(nearest.query_probability.iloc[0])
if joined >= 0:
    members = pipeline.exemplars(settings).query("cluster == @joined")
    cluster_text = (f"The query would join HDBSCAN cluster {joined} ({len(members)} materials) with "
                    f"membership probability {probability:.2f}; its top exemplars are listed below.")
    shown = members.head(k)
else:
    cluster_text = ("The query would stay unclassified: it attaches to no cluster at a density where the "
                    "cluster still exists. Its neighbours' clusters are in the table above.")
    shown = Markdown("(no cluster)")
glue_values(cluster_text=cluster_text, query_cluster=joined, query_probability=probability)
shown

# %% [markdown]
# ## Other inputs: Materials Project JSON and vasprun.xml
#
# `elf similar` reads any band file `elfutils.data.readers.read_band_file` reads:
#
# - **2Dmatpedia or Materials Project band JSON**: pymatgen's `BandStructureSymmLine.as_dict()`, plain or
#   gzipped, bare or wrapped in a `band_structure` (or `bandstructure`, `bs`, `data`) field, as Materials
#   Project documents are. The cell below wraps the example file that way and reads it back.
# - **VASP `vasprun.xml`** of a line-mode (band-path) run, with its `KPOINTS` file beside it for the labels;
#   the material is named after the folder. The project ships no VASP run, so this is not executed here:
#
#   ```bash
#   elf similar runs/MoS2/vasprun.xml --fingerprints fingerprints.parquet --model MODEL --k 5
#   ```
#
# - **From the Materials Project API** (needs the network and an API key, so not run here): fetch the band
#   structure with `mp-api` and save it as JSON, then search as above:
#
#   ```python
#   from mp_api.client import MPRester
#   with MPRester(API_KEY) as mpr:
#       bs = mpr.get_bandstructure_by_material_id("mp-2815")
#   Path("mp-2815.json").write_text(json.dumps({"band_structure": bs.as_dict()}))
#   ```
#
# Keep the convention of the dataset in mind: 2Dmatpedia's band paths are the 2D ones
# (`elfutils.data.kpath`), and the images show $\pm$ {glue:text}`window:g` eV around the project's energy
# zero (the Fermi energy of a metal, just above the valence-band maximum of a gapped material, whatever zero
# the file used: {ref}`conventions`); a 3D band path gives an image the network never saw.

# %%
wrapped = workdir / "mp-style.json"
wrapped.write_text(json.dumps({"task_id": "mp-0000", "band_structure": json.loads(user_file.read_text())}))
same_record = read_band_file(wrapped)
same = bool(np.array_equal(same_record.energies, record.energies))
glue_values(window=settings.energy_window)
Markdown(f"`{wrapped.name}` (wrapped in `band_structure`) reads as {same_record.formula}, "
         f"{'the same energies as' if same else 'other energies than'} `{user_file.name}`.")

# %% [markdown]
# ## Against the paper
#
# The paper gives no numbers for a similarity search; its closest use of fingerprint distance is duplicate
# detection (Table 1), which flags two entries of the same formula closer than a threshold. Ours
# (`elfutils.analysis.duplicates`, from the distribution of nearest-neighbour distances) is
# {glue:text}`duplicate_threshold_nn:.3f` times the median distance from a material to its nearest
# neighbour. {glue:text}`twin_vs_threshold`

# %%
D = minkowski_distances(fingerprint_matrix(table), p=settings.minkowski_p)
duplicates = find_duplicates(table, p=settings.minkowski_p, distances=D)
threshold = duplicates.threshold
if twin_rank is None:
    verdict = "With no twin in the dataset there is no pair to test."
else:
    flagged = twin_distance <= threshold
    verdict = (f"The query and {query['material_id']} are {duplicates.in_nn_units(twin_distance):.2f} times "
               "the median nearest-neighbour distance apart, "
               + ("within the threshold, so the two would be flagged as duplicates." if flagged
                  else "outside the threshold, so they would not be flagged as duplicates."))
glue_values(duplicate_threshold=threshold, duplicate_threshold_nn=duplicates.in_nn_units(threshold),
            median_nn=duplicates.median_nn, twin_vs_threshold=verdict)
shutil.rmtree(workdir)

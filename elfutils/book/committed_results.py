"""Which stage results are committed with the code, and how to refresh them (scripts/commit_book_results.py).

A fresh clone's first ``make book`` must stay within minutes on a 2-core CPU; the stages listed here take
longer than the rest together (encoding and clustering all of 2Dmatpedia, the evaluation chapter's 3600
perturbed encodes). Their results are committed under :func:`elfutils.book.pipeline.committed_results_dir`,
each at its cache path (key included): a stage whose inputs, code or settings changed finds no committed file
of its key and computes as before. Refreshing computes every listed stage (from the cache where it can),
copies its files in, removes the committed files of those stages that no longer match any key, and records
every committed file's sha256 in the folder's manifest, which is checked before a committed file is used.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from elfutils.book import atlas_stage
from elfutils.book import pipeline as pl
from elfutils.book.cache import COMMITTED_MANIFEST, write_committed_manifest
from elfutils.book.stages import elf2 as elf2_stage
from elfutils.book.stages import search_calibration, search_clusterer
from elfutils.io import atomic_write_bytes
from elfutils.paths import cache_dir

# (profile, stage name, compute the stage, its cache files)
COMMITTED_STAGES: tuple[tuple[str, str, Callable, Callable], ...] = (
    ("default", "fingerprints", pl.fingerprints, pl.fingerprints_files),
    ("default", "clustering", pl.clustering, pl.clustering_files),
    ("default", "fingerprint_quality", pl.fingerprint_quality, pl.fingerprint_quality_files),
    ("default", "bond_geometry", pl.bond_geometry, pl.bond_geometry_files),  # Fig. 4's survey, ~90 s
    ("default", "parameter_study", pl.parameter_study, pl.parameter_study_files),  # Fig. 7's grid, ~22 s
    ("default", "tsne", pl.tsne, pl.tsne_files),  # Supplementary Note 1, ~45 s
    # the HDBSCAN model `elf similar --profile P` joins a query to (its pdist: 2 s here, 13 s for the atlas)
    ("default", "search_clusterer", search_clusterer.clusterer, search_clusterer.clusterer_files),
    # how its results read (pair distances, own nearest neighbours): a second of each search of the atlas
    ("default", "search_calibration", search_calibration.calibration, search_calibration.calibration_files),
    ("default", "elf2_fingerprints", elf2_stage.fingerprints, elf2_stage.fingerprints_files),  # use elf
    ("atlas", "fingerprints", pl.fingerprints, pl.fingerprints_files),
    ("atlas", "clustering", pl.clustering, pl.clustering_files),
    ("atlas", "parameter_study", pl.parameter_study, pl.parameter_study_files),
    ("atlas", "atlas_search", atlas_stage.atlas_search, atlas_stage.atlas_search_files),
    ("atlas", "search_clusterer", search_clusterer.clusterer, search_clusterer.clusterer_files),
    ("atlas", "search_calibration", search_calibration.calibration, search_calibration.calibration_files),
    # elf-2's fingerprints of the atlas: its chapter's failure cases, the atlas chapter's candidates
    ("atlas", "elf2_fingerprints", elf2_stage.fingerprints, elf2_stage.fingerprints_files),
    # the atlas images encoded and clustered by the flat-band model (the chapter's generalisation question)
    ("atlas-flatband-model", "fingerprints", pl.fingerprints, pl.fingerprints_files),
    ("atlas-flatband-model", "clustering", pl.clustering, pl.clustering_files),
)


def committed_files() -> list[Path]:
    """Every committed result file (relative to the committed folder)."""
    root = pl.committed_results_dir()
    if not root.exists():
        return []
    return sorted(f.relative_to(root) for f in root.rglob("*")
                  if f.is_file() and f.name not in (COMMITTED_MANIFEST, pl.DATASET_KEYS_FILE))


def refresh(progress: Callable[[str], None] = print) -> list[Path]:
    """Compute every listed stage and commit its current files; returns them (relative to the committed
    folder). Files of the same stage folders that belong to no current key are removed."""
    root = pl.committed_results_dir()
    keep: list[Path] = []
    for profile, stage, compute, files in COMMITTED_STAGES:
        progress(f"{profile}/{stage}")
        compute(profile)
        for f in files(profile):
            rel = Path(f).relative_to(cache_dir())
            atomic_write_bytes(root / rel, Path(f).read_bytes())
            keep.append(rel)
    folders = {rel.parts[0] for rel in keep}
    for rel in committed_files():
        if rel not in keep and rel.parts[0] in folders:
            (root / rel).unlink()
    for folder in sorted(root.rglob("*"), reverse=True):  # the clustering's per-key folders, once empty
        if folder.is_dir() and not any(folder.iterdir()):
            shutil.rmtree(folder)
    for profile in dict.fromkeys(profile for profile, *_ in COMMITTED_STAGES):  # keys without decoding
        pl.remember_dataset_key(profile, root / pl.DATASET_KEYS_FILE)
    write_committed_manifest()  # what copy_committed checks each file against
    return keep

"""elf-2's fingerprints of a profile's materials: the atlas chapter's candidates re-ranked by elf-2 and the
elf-2 chapter's failure cases read them.

Keyed by the dataset, the model file's bytes and the code that draws and encodes (the card's render
settings travel inside the model file, so a retrained or re-exported model re-keys the stage)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from elfutils.book.cache import cached_stage, code_hash, file_hash, stage_key
from elfutils.book.profiles import Profile, get_profile
from elfutils.book.stages import dataset
from elfutils.paths import cache_dir

STAGE = "elf2_fingerprints"


def model_path() -> Path:
    from elfutils.nn.checkpoint import resolve_model_path
    from elfutils.nn.fingerprinter import ELF2_MODEL

    return resolve_model_path(ELF2_MODEL)


def fingerprints_key(profile: str | Profile = "atlas") -> str:
    p = get_profile(profile)
    return stage_key(STAGE, {"data": dataset.data_key(p), "model": file_hash(model_path()),
                             "code": [code_hash("nn.fingerprinter"), code_hash("nn.elf2"),
                                      code_hash("analysis.fingerprints")]})


def fingerprints_files(profile: str | Profile = "atlas") -> list[Path]:
    return [cache_dir() / STAGE / f"{fingerprints_key(profile)}.parquet"]


def fingerprints(profile: str | Profile = "atlas") -> pd.DataFrame:
    """material_id, formula, f0..f97 of every drawable material of the profile, encoded by elf-2 with its
    card's render settings (a record it cannot draw is left out, as in the paper model's table)."""
    from elfutils.analysis.fingerprints import make_table, read_fingerprints, write_fingerprints
    from elfutils.nn.fingerprinter import load_fingerprinter

    p = get_profile(profile)
    [path] = fingerprints_files(p)

    def compute():
        model = load_fingerprinter(model_path())
        images, ids, formulas = model.render(dataset.load_dataset(p), skipped=[])
        table = make_table(ids, formulas, model.encode(images))
        write_fingerprints(table, path)
        return table

    return cached_stage(STAGE, p, fingerprints_key(p), path.exists, lambda: read_fingerprints(path), compute,
                        n_items=len, files=[path]).copy()

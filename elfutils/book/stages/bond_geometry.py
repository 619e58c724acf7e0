"""The bond-geometry stage (Fig. 4's survey): the in-plane bond geometry of every material of the profile
whose 2Dmatpedia structure we hold."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from elfutils.book.cache import cached_stage, code_hash, file_hash, stage_key, write_parquet
from elfutils.book.profiles import Profile, get_profile
from elfutils.book.stages import dataset
from elfutils.paths import cache_dir


def bond_geometry_key(profile: str | Profile = "default") -> str:
    from elfutils.data.dataset import STRUCTURES_FILE
    from elfutils.paths import data_dir

    p = get_profile(profile)
    return stage_key("bond_geometry", {"data": dataset.data_key(p),
                                       "structures": file_hash(data_dir() / STRUCTURES_FILE),
                                       "code": [code_hash("analysis.structure"), code_hash("dft.recipe")]})


def bond_geometry_files(profile: str | Profile = "default") -> list[Path]:
    return [cache_dir() / "bond_geometry" / f"{bond_geometry_key(profile)}.parquet"]


def bond_geometry(profile: str | Profile = "default") -> pd.DataFrame:
    """Fig. 4's survey: the in-plane bond geometry (:func:`elfutils.analysis.structure.bond_geometry`) of
    every material of the profile whose 2Dmatpedia structure we hold, indexed by material id (about 90 s for
    the 1950 flat-band materials: committed, so a first build reads it)."""
    from elfutils.analysis.structure import bond_geometry as geometry
    from elfutils.data.dataset import structure_records
    from elfutils.dft.recipe import structure_from_record

    p = get_profile(profile)
    [path] = bond_geometry_files(p)

    def compute():
        records = structure_records()
        ids = [bs.material_id for bs in dataset.load_dataset(p) if bs.material_id in records]
        table = geometry({m: structure_from_record(records[m]) for m in ids})
        write_parquet(table.reset_index(), path)
        return table

    def load():
        table = pd.read_parquet(path)
        return table.set_index(table.columns[0])

    return cached_stage("bond_geometry", p, bond_geometry_key(p), path.exists, load, compute, n_items=len,
                        files=[path]).copy()

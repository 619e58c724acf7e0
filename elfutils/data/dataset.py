"""The project's flat-band material set and its inputs in ``data/``.

* the pool: the 2132 flat-band 2Dmatpedia materials of Bhattacharya et al. (npj Comput. Mater. 2023) — the set
  the elf paper starts from (it encodes 2127 of them);
* the 2002 of them whose relaxed 2Dmatpedia structure we have (``structures.jsonl``), which is what the
  project computes band structures for; :func:`absence_reason` says why each of the other 130 is missing.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

import pandas as pd

from elfutils.errors import BandDataError
from elfutils.paths import data_dir

STRUCTURES_FILE = "2dmatpedia-structures/structures.jsonl"
COVERAGE_FILE = "2dmatpedia-structures/flat_band_ids_coverage.csv"
POOL_FILE = "flat-band-pool/All_mat_new_test_score_with_horz_flat_index.csv"
SUBLATTICE_FILE = "flat-band-pool/reduced_sublattice_structure.txt"
REAL_BANDS_DIR = "2dmatpedia-dft-bands"
DFT_STORE = "bands/gpaw-pbe.elfstore"
ATLAS_STORE = "bands/gpaw-pbe-atlas.elfstore"  # every other 2Dmatpedia material with an ID (the atlas)

F_ELEMENTS_ABSENT = {  # f-block elements with no structure in our source (La and Ce are present)
    "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu",
    "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr",
}


def elements_of(formula: str) -> set[str]:
    return set(re.findall(r"[A-Z][a-z]?", formula))


def absence_reason(formula: str) -> str:
    """Why a pool material has no structure in data/ (the source lacks these compounds)."""
    elements = elements_of(formula)
    f_block = sorted(elements & F_ELEMENTS_ABSENT)
    if f_block:
        return f"f-element compound ({', '.join(f_block)}): not in the structure source"
    if "Xe" in elements:
        return "Xe compound: not in the structure source"
    return "not in the structure source"


@lru_cache(maxsize=1)
def flat_band_pool() -> pd.DataFrame:
    """The 2132 flat-band materials: id, formula, has_structure, has_real_bands, reason if absent."""
    coverage = pd.read_csv(data_dir() / COVERAGE_FILE)
    pool = pd.read_csv(data_dir() / POOL_FILE, usecols=["ID", "formula", "band_gap", "crystal"])
    pool = pool.rename(columns={"ID": "material_id", "band_gap": "pool_band_gap"})
    df = coverage.merge(pool, on="material_id", how="left")
    df["has_structure"] = df.pop("has_full_structure").astype(bool)
    df["has_real_bands"] = df.pop("has_band_json").astype(bool)
    df["absence_reason"] = [
        "" if has else absence_reason(str(formula)) for has, formula in zip(df.has_structure, df.formula,
                                                                            strict=True)
    ]
    return df


@lru_cache(maxsize=1)
def flatness_labels() -> pd.DataFrame:
    """Bhattacharya et al.'s flatness labels of 5270 2Dmatpedia ids (index ID): binary_flatness (1 = flat),
    flatness_score."""
    columns = ["ID", "binary_flatness", "flatness_score"]
    return pd.read_csv(data_dir() / POOL_FILE, usecols=columns).set_index("ID")


@lru_cache(maxsize=1)
def structure_records() -> dict[str, dict]:
    """All ``structures.jsonl`` records that carry a 2Dmatpedia id, by id."""
    path = data_dir() / STRUCTURES_FILE
    out = {}
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BandDataError(f"not a JSON record ({exc.msg}; truncated?)", path,
                                    f"line {number}") from exc
            if not isinstance(rec, dict):
                raise BandDataError("not a JSON object", path, f"line {number}")
            if rec.get("material_id"):
                out[rec["material_id"]] = rec
    return out


def flat_band_ids() -> list[str]:
    """The 2002 flat-band materials that have structures (the project's dataset), in pool order."""
    pool = flat_band_pool()
    return pool.loc[pool.has_structure, "material_id"].tolist()


def real_band_files() -> list:
    """The 12 real 2Dmatpedia band files shipped as fixtures."""
    return sorted((data_dir() / REAL_BANDS_DIR).glob("2dm-*.json"), key=lambda p: int(p.stem.split("-")[1]))


def dft_store_path():
    """Where the project's own GPAW band structures of the flat-band materials live."""
    return data_dir() / DFT_STORE


def atlas_store_path():
    """Where the GPAW band structures of every other 2Dmatpedia material with an ID live."""
    return data_dir() / ATLAS_STORE


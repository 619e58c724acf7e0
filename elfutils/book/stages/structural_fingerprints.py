"""The structural-fingerprint stage (Fig. 5): CrystalNN fingerprints (CNNF) of the flat-band sublattices,
from committed rows (:data:`COMMITTED_CNNF`) where they were made by this code from this file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from elfutils.book.cache import cached_stage, file_hash, locked, now, stage_key, write_parquet
from elfutils.book.committed import CommittedArtefact, UnusableArtefact, shown
from elfutils.book.profiles import Profile, get_profile
from elfutils.book.stages import dataset
from elfutils.io import atomic_write_bytes, atomic_write_json
from elfutils.paths import cache_dir


def cnnf_rows_key() -> str:
    """Key of the per-material CNNF rows: the sublattice file and the code that parses and fingerprints it
    (the functions' source, not the whole module, so unrelated edits keep the rows), matminer's and
    pymatgen's versions."""
    import inspect
    from importlib.metadata import version

    from elfutils.analysis import structure as st
    from elfutils.paths import data_dir

    functions = (st.split_blocks, st.parse_block, st.read_sublattice_structures, st.cnnf_featurizer,
                 st.cnnf_fingerprints)
    code = hashlib.sha256("".join(inspect.getsource(f) for f in functions).encode()).hexdigest()[:12]
    return stage_key("cnnf_rows", {"file": file_hash(data_dir() / st.SUBLATTICE_FILE), "code": code,
                                   "retry_cutoff": st.CNNF_RETRY_CUTOFF, "matminer": version("matminer"),
                                   "pymatgen": version("pymatgen")})


def _cnnf_card(path: Path) -> tuple[Path, dict]:
    card_path = path.with_suffix(".json")
    if not path.is_file() or not card_path.is_file():
        raise UnusableArtefact(f"{shown(path)} or its card is missing")
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError) as exc:
        raise UnusableArtefact(f"{card_path}: unreadable ({exc})") from exc
    if card.get("sha256") != file_hash(path):
        raise UnusableArtefact(f"{shown(path)} does not match its card (sha256)")
    return path, card


def _export_cnnf(_profile: Profile, target: Path, progress: bool = True) -> Path:
    """Fingerprint every sublattice of the file (CrystalNN, minutes) and write the rows to ``target`` with a
    card (key, sha256, counts, skipped); resumes from the cache's rows when interrupted."""
    from elfutils.analysis import structure as st
    from elfutils.paths import data_dir

    parsed = st.read_sublattice_structures(data_dir() / st.SUBLATTICE_FILE)
    rows_cache = cache_dir() / "cnnf" / f"{cnnf_rows_key()}-rows.parquet"
    rows_cache.parent.mkdir(parents=True, exist_ok=True)
    with locked(f"cnnf-rows-{cnnf_rows_key()}"):
        table, report = st.cnnf_fingerprints({e.material_id: e.structure for e in parsed.results},
                                             progress=progress, cache=rows_cache)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, rows_cache.read_bytes())
    atomic_write_json(target.with_suffix(".json"), {
        "key": cnnf_rows_key(), "sha256": file_hash(target), "n_rows": len(table),
        "n_sublattices": len(parsed.results), "skipped": [list(s) for s in report.skipped + parsed.skipped],
        "retried_with_wider_cutoff": list(table.attrs.get("retried", [])), "made_at": now(),
        "made_by": "scripts/commit_cnnf.py (elfutils.book.pipeline.COMMITTED_CNNF)"})
    return target


def _committed_cnnf_file(_profile: Profile) -> Path:
    from elfutils.paths import data_dir

    return data_dir() / "structure-fingerprints" / "cnnf-rows.parquet"


# data/structure-fingerprints/: the CNNF rows of all flat-band sublattices (``make cnnf``), the same for every
# profile; they stand in for ~10 CPU-minutes of CrystalNN when made by this code from this sublattice file
COMMITTED_CNNF = CommittedArtefact(
    name="CNNF rows", location=_committed_cnnf_file, read=_cnnf_card,
    identity=lambda _p: {"key": cnnf_rows_key()}, make=_export_cnnf, per_profile=False)


def structural_fingerprints(profile: str | Profile = "default") -> pd.DataFrame:
    """CNNF fingerprints of the flat-band sublattices of the profile's materials (index material_id).

    Materials missing from the sublattice file or that CrystalNN cannot fingerprint are left out. A shared
    per-material parquet under the cache (keyed by the sublattice file and the featuriser code) accumulates
    across profiles, so the smoke profile's work is reused by the default one.
    """
    from elfutils.analysis import structure as st
    from elfutils.paths import data_dir

    p = get_profile(profile)
    source = data_dir() / st.SUBLATTICE_FILE
    base_key = cnnf_rows_key()
    rows_cache = cache_dir() / "cnnf" / f"{base_key}-rows.parquet"
    seed = None if rows_cache.exists() else COMMITTED_CNNF.status(p)[0]
    if seed is not None:  # the committed rows stand in for ~10 CPU-minutes of CrystalNN on all sublattices
        rows_cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(rows_cache, seed.read_bytes())
    ids = list(dict.fromkeys(r.material_id for r in dataset.load_dataset(p)))
    key = stage_key("cnnf", {"base": base_key, "ids": ids})
    path = cache_dir() / "cnnf" / f"{key}.parquet"

    def compute():
        entries = [e for e in st.read_sublattice_structures(source).results if e.material_id in set(ids)]
        with locked(f"cnnf-rows-{base_key}"):
            table, _ = st.cnnf_fingerprints({e.material_id: e.structure for e in entries}, progress=False,
                                            cache=rows_cache)
        write_parquet(table.reset_index(), path)
        return table

    return cached_stage("structural_fingerprints", p, key, path.exists,
                         lambda: pd.read_parquet(path).set_index("material_id"), compute, n_items=len).copy()

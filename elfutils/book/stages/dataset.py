"""The dataset stage: a profile's band structures, read once per process, and their content hash -- the
data key every other stage's key starts from (worked out from the files' signature when known, so a key
never decodes the whole dataset twice)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from elfutils.book.cache import (
    MEMORY,
    committed_results_dir,
    file_hash,
    hash_json,
    locked,
    memoised,
    now,
    record_timing,
)
from elfutils.book.profiles import Profile, get_profile
from elfutils.data.bands import BandStructure
from elfutils.io import atomic_write_json
from elfutils.paths import cache_dir


class MissingStoreError(FileNotFoundError):
    """The profile's band store is missing or empty; the message says how to build it."""


def require_store(profile: str | Profile) -> None:
    """Raise :class:`MissingStoreError` when the profile's band store is missing or empty: without it every
    stage would run on zero materials and fail far from the cause. Cheap (lists the parts, reads none)."""
    from elfutils.data.store import BandStore

    p = get_profile(profile)
    if not any(BandStore(path).part_paths() for path in p.store_paths()):
        raise MissingStoreError(p.missing_store_message())


def _read_dataset(profile: Profile) -> list[BandStructure]:
    """The profile's materials: the 12 real band files first (if asked), then each store in id order."""
    from elfutils.data.store import BandStore

    require_store(profile)
    records: list[BandStructure] = []
    if profile.include_fixture_files:
        from elfutils.data.dataset import real_band_files
        from elfutils.data.readers import read_band_file

        records = [read_band_file(p) for p in real_band_files()]
    seen = {r.material_id for r in records}
    for path in profile.store_paths():
        store = BandStore(path)
        for mid in store.ids():
            if profile.max_materials is not None and len(records) >= profile.max_materials:
                break
            if mid not in seen:
                records.append(store.get(mid))
                seen.add(mid)
    if profile.max_materials is not None:
        records = records[: profile.max_materials]
    return records


def dataset_hash(records: list[BandStructure]) -> str:
    """Content hash of band records (ids, formulas, E_F, k-points, branches, energies); metadata excluded."""
    digest = hashlib.sha256()
    for bs in records:
        digest.update(f"{bs.material_id}\n{bs.formula}\n{bs.efermi!r}\n".encode())
        digest.update(repr([(b.start, b.end, b.start_label, b.end_label) for b in bs.branches]).encode())
        for arr in (bs.kpoints, bs.distances, bs.energies):
            digest.update(str(arr.shape).encode())
            digest.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    return digest.hexdigest()


def _dataset_selection(profile: Profile) -> str:
    """What selects a profile's materials (its stores, cap and fixture files), not their content."""
    return hash_json([profile.store_paths(), profile.max_materials, profile.include_fixture_files])


def _dataset(profile: Profile, attempts: int = 5) -> tuple[list[BandStructure], str]:
    """(records, content hash), read once per process: a DFT batch appending to a store while a chapter runs
    (a material a minute) would otherwise change the data under every later stage of the chapter, which then
    recompute without end; its new materials come with the next process (or :func:`clear_memory`). The batch
    may also merge the store's parts while we read (its compaction deletes the small parts it merged): a
    vanished part means "read again"."""
    from elfutils.errors import BandDataError

    for attempt in range(attempts):
        try:
            return _dataset_once(profile)
        except MissingStoreError:
            raise  # reading again will not build it
        except (FileNotFoundError, BandDataError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def _dataset_once(profile: Profile) -> tuple[list[BandStructure], str]:
    def read() -> tuple[list[BandStructure], str]:
        start = time.perf_counter()
        records = _read_dataset(profile)
        digest = dataset_hash(records)
        record_timing("stages", f"{profile.name}/dataset", {
            "profile": profile.name, "stage": "dataset", "key": digest[:16],
            "seconds": round(time.perf_counter() - start, 3), "computed_at": now(), "last_use": "computed",
            "n_items": len(records)})
        return records, digest

    return memoised(("dataset", _dataset_selection(profile)), read)


def load_dataset(profile: str | Profile = "default") -> list[BandStructure]:
    """The profile's band structures (read from the stores once per process; fast). A store that changed
    between the key this process used (:func:`data_key`) and the reading is an error, never a result filed
    under the old key."""
    p = get_profile(profile)
    records, digest = _dataset(p)
    keyed = MEMORY.get(("data_key", _dataset_selection(p)))
    if keyed is not None and keyed != digest:
        raise RuntimeError(f"profile {p.name!r}: its band stores changed while this process used them "
                           "(a batch writing?); run again")
    return records


DATASET_KEYS_FILE = "dataset-keys.json"  # {files signature: content hash}, in the cache and committed


def files_signature(profile: str | Profile) -> str:
    """sha256 over what the profile's materials are read from, byte for byte: the selection, every part of
    its stores and the fixture files it includes (about 0.1 s for the atlas's 26 MB; nothing decoded)."""
    from elfutils.data.store import BandStore

    p = get_profile(profile)
    files = [part for path in p.store_paths() for part in BandStore(path).part_paths()]
    if p.include_fixture_files:
        from elfutils.data.dataset import real_band_files

        files += list(real_band_files())
    return hash_json([_dataset_selection(p), [[f.name, file_hash(f)] for f in files]])


def _known_dataset_keys() -> dict[str, str]:
    """Content hashes already worked out, by files signature: this cache's, then the committed ones."""
    from elfutils.book.cache import committed_manifest

    known: dict[str, str] = {}
    committed = committed_results_dir() / DATASET_KEYS_FILE
    for path in (committed, cache_dir() / DATASET_KEYS_FILE):
        checked = committed_manifest().get(DATASET_KEYS_FILE) if path == committed else None
        if path == committed and path.is_file() and checked != file_hash(path):
            continue  # damaged or edited: the content is hashed again instead
        try:
            known.update(json.loads(path.read_text()))
        except (FileNotFoundError, json.JSONDecodeError, TypeError, ValueError):
            pass
    return known


def remember_dataset_key(profile: str | Profile, path: Path | None = None) -> dict[str, str]:
    """Record the profile's files signature -> content hash in ``path`` (default the cache's map; the
    committed results' map when committing them)."""
    p = get_profile(profile)
    path = path or cache_dir() / DATASET_KEYS_FILE
    with locked("dataset-keys"):
        try:
            known = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            known = {}
        known[files_signature(p)] = _dataset(p)[1]
        atomic_write_json(path, known)
    return known


def data_key(profile: str | Profile = "default") -> str:
    """The dataset's content hash (sha256 hex) for this profile: looked up by the files' signature when it
    was worked out before (in this cache or committed), so a key never decodes the whole dataset twice;
    the content hash keeps compacting a store or adding unrelated materials from changing any key."""
    p = get_profile(profile)

    def key() -> str:
        if ("dataset", _dataset_selection(p)) not in MEMORY:  # records already read: their hash is at hand
            known = _known_dataset_keys().get(files_signature(p))
            if known is not None:
                return known
        remember_dataset_key(p)
        return _dataset(p)[1]

    return memoised(("data_key", _dataset_selection(p)), key)

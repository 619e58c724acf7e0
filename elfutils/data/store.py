"""The project's compact band-structure store: many band structures in a few files.

A store is a folder ``NAME.elfstore/`` of immutable parts ``part-000001.npz``, ``part-000002.npz``, ...
Each part holds any number of materials as flat arrays (no pickles: loading never runs code). Writing a part
is
atomic (temporary file, fsync, ``os.replace``), so a reader never sees half a part and a killed writer loses
only
what it had not yet written. Appending writes a new part; :meth:`BandStore.compact` merges small parts into
one.
When two parts hold the same material, the later part wins (a recomputation replaces the old record).

Writers take an exclusive lock on the store (``.lock``, ``fcntl.flock``) while they choose a part number and
write, and a part is moved into place with ``os.link``, which never replaces an existing file: two processes
appending to one store at once both keep every material. Temporary files a killed writer left behind are
removed by the next writer. A damaged part (unreadable, truncated, or whose sizes disagree) is an error naming
the part wherever the store is read; nothing is read from half a store.

Encoding (stated error): energies are stored relative to E_F as float16, keeping only the bands that come
within
``KEEP_WINDOW_EV`` of E_F. Within that window the rounding error is at most 0.004 eV — a tenth of one image
pixel (8 eV / 224 px = 0.036 eV). Points of a kept band further than ``CLIP_EV`` from E_F (beyond float16's
range, and far outside any image) are clipped to ±CLIP_EV; the record's metadata counts them
(``n_energies_clipped``). k-points and distances are float32.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from elfutils import __version__
from elfutils.data.bands import BandStructure, Branch
from elfutils.errors import BandDataError
from elfutils.io import atomic_write, open_no_follow

FORMAT_VERSION = 1
KEEP_WINDOW_EV = 10.0
ENERGY_ERROR_EV = 0.004  # max float16 rounding error for |E - E_F| <= KEEP_WINDOW_EV (spacing 2**-7 / 2)
CLIP_EV = 1000.0  # |E - E_F| beyond this is clipped (float16 ends at 65504; no image reaches past 10 eV)
PART_PATTERN = re.compile(r"part-(\d{6})\.npz$")
LOCK_FILE = ".lock"


def _kept_bands(bs: BandStructure) -> np.ndarray:
    """Indices of bands that come within KEEP_WINDOW_EV of E_F in any spin channel."""
    rel = bs.relative_energies()
    near = (rel.max(axis=2) >= -KEEP_WINDOW_EV) & (rel.min(axis=2) <= KEEP_WINDOW_EV)
    keep = np.flatnonzero(near.any(axis=0))
    if keep.size == 0:  # keep the band nearest E_F so the record stays valid
        keep = np.array([int(np.abs(rel).min(axis=(0, 2)).argmin())])
    return keep


def _encode(records: list[BandStructure]) -> dict[str, np.ndarray]:
    cols: dict[str, list] = {k: [] for k in (
        "material_id", "formula", "efermi", "source", "nk", "nspin", "nbands", "nbranch", "metadata",
        "kpoints", "distances", "energies", "branch_start", "branch_end", "branch_start_label",
        "branch_end_label",
    )}
    for bs in records:
        keep = _kept_bands(bs)
        rel = bs.relative_energies()[:, keep, :]
        meta = dict(bs.metadata)
        meta.setdefault("nbands_total", bs.nbands)
        clipped = int((np.abs(rel) > CLIP_EV).sum())
        if clipped:
            rel = np.clip(rel, -CLIP_EV, CLIP_EV)
            meta["n_energies_clipped"] = clipped
        cols["material_id"].append(bs.material_id)
        cols["formula"].append(bs.formula)
        cols["efermi"].append(bs.efermi)
        cols["source"].append(bs.source)
        cols["nk"].append(bs.nkpoints)
        cols["nspin"].append(bs.nspin)
        cols["nbands"].append(len(keep))
        cols["nbranch"].append(len(bs.branches))
        cols["metadata"].append(json.dumps(meta, sort_keys=True, default=float))
        cols["kpoints"].append(bs.kpoints.astype(np.float32))
        cols["distances"].append(bs.distances.astype(np.float32))
        cols["energies"].append(rel.astype(np.float16).ravel())
        for b in bs.branches:
            cols["branch_start"].append(b.start)
            cols["branch_end"].append(b.end)
            cols["branch_start_label"].append(b.start_label)
            cols["branch_end_label"].append(b.end_label)
    arrays = {
        "material_id": np.array(cols["material_id"], dtype=str),
        "formula": np.array(cols["formula"], dtype=str),
        "efermi": np.array(cols["efermi"], dtype=np.float64),
        "source": np.array(cols["source"], dtype=str),
        "nk": np.array(cols["nk"], dtype=np.int32),
        "nspin": np.array(cols["nspin"], dtype=np.int32),
        "nbands": np.array(cols["nbands"], dtype=np.int32),
        "nbranch": np.array(cols["nbranch"], dtype=np.int32),
        "metadata": np.array(cols["metadata"], dtype=str),
        "kpoints": np.concatenate(cols["kpoints"]) if records else np.zeros((0, 3), np.float32),
        "distances": np.concatenate(cols["distances"]) if records else np.zeros(0, np.float32),
        "energies": np.concatenate(cols["energies"]) if records else np.zeros(0, np.float16),
        "branch_start": np.array(cols["branch_start"], dtype=np.int32),
        "branch_end": np.array(cols["branch_end"], dtype=np.int32),
        "branch_start_label": np.array(cols["branch_start_label"], dtype=str),
        "branch_end_label": np.array(cols["branch_end_label"], dtype=str),
    }
    provenance = {
        "format_version": FORMAT_VERSION,
        "elfutils_version": __version__,
        "energy_encoding": f"float16 relative to E_F; bands within +-{KEEP_WINDOW_EV} eV kept; "
        f"max error {ENERGY_ERROR_EV} eV in that window; points beyond +-{CLIP_EV:g} eV clipped to it",
    }
    arrays["provenance"] = np.array(json.dumps(provenance))
    return arrays


PER_RECORD = ("material_id", "formula", "efermi", "nk", "nspin", "nbands", "nbranch", "metadata")
PER_POINT = ("kpoints", "distances")
PER_BRANCH = ("branch_start", "branch_end", "branch_start_label", "branch_end_label")


class _Part:
    """One loaded part: offsets into its flat arrays, checked against the arrays' lengths."""

    def __init__(self, path: Path):
        self.path = path
        try:
            with np.load(path, allow_pickle=False) as npz:
                self.arrays = {k: npz[k] for k in npz.files}
        except Exception as exc:
            raise BandDataError(f"unreadable store part ({type(exc).__name__}: {exc})", path) from exc
        a = self.arrays
        missing = [k for k in PER_RECORD + PER_POINT + PER_BRANCH + ("energies",) if k not in a]
        if missing:
            raise BandDataError("store part lacks arrays", path, ", ".join(missing))
        n = len(a["material_id"])
        for key in PER_RECORD:
            if len(a[key]) != n:
                raise BandDataError(f"{len(a[key])} entries for {n} materials (damaged part?)", path, key)
        sizes = {"nk": a["nk"], "nspin": a["nspin"], "nbands": a["nbands"], "nbranch": a["nbranch"]}
        for key, values in sizes.items():
            if values.size and values.min() < (1 if key != "nbranch" else 0):
                raise BandDataError("negative or zero sizes (damaged part?)", path, key)
        self.k_off = np.concatenate([[0], np.cumsum(a["nk"], dtype=np.int64)])
        self.e_off = np.concatenate([[0], np.cumsum(a["nk"].astype(np.int64) * a["nspin"] * a["nbands"])])
        self.b_off = np.concatenate([[0], np.cumsum(a["nbranch"], dtype=np.int64)])
        expected = {**{k: self.k_off[-1] for k in PER_POINT}, **{k: self.b_off[-1] for k in PER_BRANCH},
                    "energies": self.e_off[-1]}
        for key, size in expected.items():
            if len(a[key]) != size:
                raise BandDataError(f"holds {len(a[key])} values where its sizes say {size} (damaged part?)",
                                    path, key)

    def record(self, i: int) -> BandStructure:
        """Material ``i`` of the part; a record that cannot be rebuilt is an error naming the part and the
        id."""
        try:
            return self._record(i)
        except BandDataError as exc:
            raise BandDataError(f"material {self.arrays['material_id'][i]}: {exc.problem}", self.path,
                                exc.field) from exc
        except (ValueError, json.JSONDecodeError) as exc:
            raise BandDataError(f"material {self.arrays['material_id'][i]}: {exc}", self.path) from exc

    def _record(self, i: int) -> BandStructure:
        a = self.arrays
        nk, ns, nb = int(a["nk"][i]), int(a["nspin"][i]), int(a["nbands"][i])
        k0, k1 = self.k_off[i], self.k_off[i + 1]
        rel = a["energies"][self.e_off[i] : self.e_off[i + 1]].astype(np.float64).reshape(ns, nb, nk)
        b0, b1 = self.b_off[i], self.b_off[i + 1]
        branches = tuple(
            Branch(int(s), int(e), str(sl), str(el))
            for s, e, sl, el in zip(
                a["branch_start"][b0:b1], a["branch_end"][b0:b1],
                a["branch_start_label"][b0:b1], a["branch_end_label"][b0:b1], strict=True,
            )
        )
        efermi = float(a["efermi"][i])
        return BandStructure(
            material_id=str(a["material_id"][i]),
            formula=str(a["formula"][i]),
            kpoints=a["kpoints"][k0:k1].astype(np.float64),
            distances=a["distances"][k0:k1].astype(np.float64),
            branches=branches,
            energies=rel + efermi,
            efermi=efermi,
            source=str(a["source"][i]) if "source" in a else str(self.path),
            metadata=json.loads(str(a["metadata"][i])),
        )


class BandStore:
    """A folder of band-structure parts; iterate it, index it by material id, append to it."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._parts: list[_Part] | None = None
        self._index: dict[str, tuple[int, int]] = {}

    # --- reading -------------------------------------------------------------------------------------
    def part_paths(self) -> list[Path]:
        """The parts, in order. A part name that is not a regular file of this folder (a symbolic link, say to
        another store's part, or a folder) is a BandDataError naming it, wherever the store is read or
        written: nothing is merged in from elsewhere."""
        if not self.path.exists():
            return []
        parts = []
        for p in self.path.iterdir():
            if not PART_PATTERN.match(p.name):
                continue
            try:
                mode = p.lstat().st_mode
            except FileNotFoundError:  # merged away by a compaction since the listing
                continue
            if not stat.S_ISREG(mode):
                what = (f"a symbolic link to {os.readlink(p)}" if stat.S_ISLNK(mode)
                        else "a folder" if stat.S_ISDIR(mode) else "not a file")
                raise BandDataError(f"not a regular file of this store ({what})", p)
            parts.append(p)
        return sorted(parts)

    def _load(self) -> None:
        if self._parts is not None:
            return
        parts, index = [], {}
        for j, part_path in enumerate(self.part_paths()):
            part = _Part(part_path)  # a damaged part raises here, before anything is indexed
            parts.append(part)
            for i, mid in enumerate(part.arrays["material_id"]):
                index[str(mid)] = (j, i)  # later parts win
        self._parts, self._index = parts, index

    def ids(self) -> list[str]:
        """Material ids in the store, in a stable (natural) order."""
        self._load()
        return sorted(self._index, key=_natural_key)

    def __len__(self) -> int:
        self._load()
        return len(self._index)

    def __contains__(self, material_id: str) -> bool:
        self._load()
        return material_id in self._index

    def get(self, material_id: str) -> BandStructure:
        self._load()
        if material_id not in self._index:
            raise KeyError(f"{material_id} is not in the store {self.path}")
        j, i = self._index[material_id]
        return self._parts[j].record(i)

    def __iter__(self) -> Iterator[BandStructure]:
        for mid in self.ids():
            yield self.get(mid)

    def stream(self) -> Iterator[BandStructure]:
        """Every material once, one part in memory at a time (a store larger than memory can be read).

        Records come part by part, not in :meth:`ids` order; where parts hold the same id, the later part's
        record is the one given, as in :meth:`get`.
        """
        paths = self.part_paths()
        winner: dict[str, tuple[int, int]] = {}
        for j, part_path in enumerate(paths):  # ids only: npz members load one at a time
            try:
                with np.load(part_path, allow_pickle=False) as npz:
                    ids = npz["material_id"]
            except Exception as exc:
                problem = f"unreadable store part ({type(exc).__name__}: {exc})"
                raise BandDataError(problem, part_path) from exc
            winner.update((str(mid), (j, i)) for i, mid in enumerate(ids))
        for j, part_path in enumerate(paths):
            part = _Part(part_path)
            for i, mid in enumerate(part.arrays["material_id"]):
                if winner[str(mid)] == (j, i):
                    yield part.record(i)
            del part

    def metadata(self) -> list[dict]:
        """The metadata of every material (with its id and formula), without decoding energies."""
        self._load()
        out = []
        for mid in self.ids():
            j, i = self._index[mid]
            a = self._parts[j].arrays
            meta = json.loads(str(a["metadata"][i]))
            out.append({"material_id": mid, "formula": str(a["formula"][i]), **meta})
        return out

    # --- writing -------------------------------------------------------------------------------------
    def _next_part_number(self) -> int:
        numbers = [int(PART_PATTERN.match(p.name).group(1)) for p in self.part_paths()]
        return max(numbers, default=0) + 1

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the store's writer lock (blocking until another writer is done); clear what killed writers
        left behind: under the lock no other writer has a temporary file open. A symbolic link as the lock
        file is refused (elfutils.io.WriteError naming it): opening it would create a file wherever it
        points."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(open_no_follow(self.path / LOCK_FILE), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                for stale in self.path.glob(".part-*.tmp"):
                    stale.unlink(missing_ok=True)
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def locked(self) -> contextlib.AbstractContextManager[None]:
        """The store's writer lock, for files kept beside the parts (the import's skipped list): ``with
        store.locked(): ...`` runs while no other writer of this store writes."""
        return self._writing()

    def _write_part(self, arrays: dict) -> Path:
        """Write one part under the next free number (caller holds the lock). ``os.link`` refuses an existing
        name, so even a writer that ignores the lock cannot replace another's part: it takes the next
        number."""
        while True:
            path = self.path / f"part-{self._next_part_number():06d}.npz"
            try:
                atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays), replace=False)
                return path
            except FileExistsError:
                continue

    def append(self, records: Iterable[BandStructure]) -> Path | None:
        """Write the records as one new part, atomically. Returns its path (None if nothing to write)."""
        records = list(records)
        if not records:
            return None
        arrays = _encode(records)
        with self._writing():
            path = self._write_part(arrays)
        self._parts = None  # re-index on next read
        return path

    def compact(self, max_small: int = 1, min_part_size: int = 50) -> Path | None:
        """Merge the parts holding fewer than ``min_part_size`` materials into one new part.

        Crash-safe: the merged part is written first (it sorts last, so it wins), then the old parts go.
        Big parts are never rewritten, so the store's history grows by about its final size once.
        """
        with self._writing():
            self._parts = None  # another writer may have added parts: index what is there now
            self._load()
            small = [part.path for part in self._parts if len(part.arrays["material_id"]) < min_part_size]
            if len(small) <= max_small:
                return None
            # the winning version of every material that lives in a small part
            records = []
            small_set = set(small)
            for mid in self.ids():
                j, i = self._index[mid]
                if self._parts[j].path in small_set:
                    records.append(self._parts[j].record(i))
            merged = self._write_part(_encode(records))
            for p in small:
                p.unlink(missing_ok=True)
        self._parts = None
        return merged


def _natural_key(material_id: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", material_id)]


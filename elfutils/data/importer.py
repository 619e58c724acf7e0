"""Copy band structures from many files into one band store (what `elf import` runs).

Inputs are band files, folders (searched recursively for band files) and other stores. The records go into
the store in parts of ``batch_size``, each one atomic append (:meth:`BandStore.append`): a killed import loses
at most the part it was filling, and a re-run skips the ids the store already holds without reading their
files (a file's id is known from its name, :func:`elfutils.data.readers.material_id_of`).

Each input material, in input order, is one of:

* already in the store -- counted, not read again;
* left out by ``keep`` (e.g. not in the flat-band pool) -- counted;
* a duplicate of an id imported earlier in this run -- the first readable one wins, the rest are reported;
* unreadable -- skipped with the reader's reason (file and field);
* imported.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

from tqdm.auto import tqdm

from elfutils.data.bands import BandStructure
from elfutils.data.readers import band_file_patterns, material_id_of, read_band_file
from elfutils.data.store import LOCK_FILE, PART_PATTERN, BandStore
from elfutils.errors import BandDataError
from elfutils.io import atomic_write_text, refuse_symlink

BATCH_SIZE = 500  # materials per store part: a few MB, and what a kill can cost
BAND_FILE_PATTERNS = band_file_patterns()  # every reader's names (elfutils.data.readers.READERS)
SKIPPED_FILE = "import-skipped.csv"  # inside the store folder (BandStore ignores files that are not parts)
SKIPPED_COLUMNS = ("item", "reason", "run")  # run: when and by which process the input was skipped


@dataclass
class Candidate:
    """One material an input offers: where it comes from, its id, and how to read it."""

    label: str  # the file, or ``STORE:id``; named in the skipped list
    material_id: str
    read: Callable[[], BandStructure]


@dataclass
class ImportResult:
    store: Path
    imported: list[str] = field(default_factory=list)
    already_stored: set[str] = field(default_factory=set)
    left_out: int = 0  # ids that ``keep`` rejected
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (input, reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # unreadable inputs: (input, reason)
    parts: list[Path] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """Non-zero only when none of the inputs' materials is in the store."""
        return 0 if self.imported or self.already_stored else 1


def _natural(path: Path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path))]


def _is_store(folder: Path) -> bool:
    return folder.name.endswith(".elfstore") or bool(BandStore(folder).part_paths())


def check_store_folder(store_path: str | Path) -> None:
    """BandDataError naming ``store_path`` when it is a folder that holds files and is not a band store.

    Importing into such a folder (say a folder of band files) would make it a store, and no command reads band
    files inside a store: they would vanish from view. A store is a folder with parts, or one that holds
    nothing but what an import leaves (its skipped list; hidden files: the lock, temporary files); a missing
    or empty folder becomes one.
    """
    folder = Path(store_path)
    if not folder.is_dir() or BandStore(folder).part_paths():  # a part that is not a file raises here
        return
    other = sorted(p.name for p in folder.iterdir()
                   if not (p.name.startswith(".") or p.name == SKIPPED_FILE or PART_PATTERN.match(p.name)))
    if other:
        listed = ", ".join(other[:3]) + (f" and {len(other) - 3} more" if len(other) > 3 else "")
        raise BandDataError(f"it holds files and is not a band store ({listed}); import into a new or empty "
                            f"folder, or give this folder as an input", folder)


def record_skipped(store_path: str | Path, skipped: Iterable[tuple[str, str]]) -> Path:
    """Add this run's skipped inputs ``(item, reason)`` to the store's skipped list, :data:`SKIPPED_FILE`
    (columns :data:`SKIPPED_COLUMNS`; ``run``: this run's start of writing and pid). Returns its path.

    Added to, not rewritten with this run's rows only: two imports into one store at once would otherwise each
    replace the other's list. One list per store rather than one file per run keeps the list where the help
    and the README say it is, and keeps re-runs from piling files into the store; the ``run`` column tells
    the runs apart. The list is read and rewritten under the store's writer lock (no run's rows are lost
    between the read and the write) and atomically (a kill leaves the old list or the new one). Written also
    when nothing was skipped (the header only), so that there is always a list to look at. A symbolic link
    in its place is refused (elfutils.io.WriteError), as is one for the lock.
    """
    store = BandStore(store_path)
    path = refuse_symlink(store.path / SKIPPED_FILE)
    refuse_symlink(store.path / LOCK_FILE)
    run = f"{datetime.now().astimezone().isoformat(timespec='seconds')} pid {os.getpid()}"
    with store.locked():
        rows = []
        if path.exists():
            with open(path, newline="", encoding="utf-8") as fh:
                earlier = list(csv.reader(fh))
            rows = [[*row, "", "", ""][:3] for row in earlier[1:] if row]  # a list from before `run`: ""
        rows += [(item, reason, run) for item, reason in skipped]
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(SKIPPED_COLUMNS)
        writer.writerows(rows)
        atomic_write_text(path, text.getvalue())
    return path


def band_files_in(folder: Path) -> list[Path]:
    """The band files anywhere under ``folder``, in natural order (2dm-2 before 2dm-10). Files inside stores
    are not band files (pass a store itself as an input)."""
    found = {
        p for p in folder.rglob("*")
        if any(fnmatch.fnmatchcase(p.name.lower(), pattern) for pattern in BAND_FILE_PATTERNS)
        and p.is_file() and not any(d.endswith(".elfstore") for d in p.relative_to(folder).parts[:-1])
    }
    return sorted(found, key=_natural)


def candidates(inputs: Iterable[str | Path], skipped: list[tuple[str, str]],
               zero: str = "project") -> list[Candidate]:
    """Every material the inputs offer, in input order; inputs that offer none go to ``skipped``."""
    out: list[Candidate] = []
    for path in map(Path, inputs):
        try:
            if path.is_dir() and _is_store(path):
                store = BandStore(path)
                ids = store.ids()
                if not ids:
                    raise BandDataError("the store holds no band structures", path)
                out += [Candidate(f"{path}:{mid}", mid, partial(store.get, mid)) for mid in ids]
                continue
            files = band_files_in(path) if path.is_dir() else [path]
            if not files:
                raise BandDataError(f"no band files ({', '.join(BAND_FILE_PATTERNS)}) in this folder", path)
        except (BandDataError, OSError) as exc:
            skipped.append((str(path), str(exc)))
            continue
        for file in files:
            try:
                if not file.exists():
                    raise BandDataError("no such file or folder", file)
                out.append(Candidate(str(file), material_id_of(file), partial(read_band_file, file,
                                                                              zero=zero)))
            except BandDataError as exc:  # e.g. an unknown file type
                skipped.append((str(file), str(exc)))
    return out


def import_bands(inputs: Iterable[str | Path], store_path: str | Path,
                 keep: Callable[[str], bool] | None = None, batch_size: int = BATCH_SIZE,
                 progress: bool = True, zero: str = "project") -> ImportResult:
    """Add the inputs' band structures to the store at ``store_path`` (created when missing).

    ``keep(material_id)`` -> False leaves a material out (counted in ``left_out``). ``zero``: the energy zero
    of band files, as :func:`elfutils.data.readers.read_band_file` takes it. Writing the skipped list is the
    caller's (:func:`record_skipped`). A folder that holds files and is not a store is refused
    (:func:`check_store_folder`).
    """
    check_store_folder(store_path)
    store = BandStore(store_path)
    result = ImportResult(Path(store_path))
    stored = set(store.ids())
    todo = candidates(inputs, result.skipped, zero)
    taken: dict[str, str] = {}  # id -> the input it was imported from in this run
    batch: list[BandStructure] = []

    def flush() -> None:
        if batch:
            result.parts.append(store.append(batch))
            result.imported += [bs.material_id for bs in batch]
            batch.clear()

    try:
        for c in tqdm(todo, desc="importing", unit="material", disable=not progress):
            mid = c.material_id
            if mid in stored:
                result.already_stored.add(mid)
            elif keep is not None and not keep(mid):
                result.left_out += 1
            elif mid in taken:
                reason = f"duplicate material id {mid} (imported from {taken[mid]})"
                result.duplicates.append((c.label, reason))
            else:
                try:
                    batch.append(c.read())
                except (BandDataError, OSError) as exc:
                    result.skipped.append((c.label, str(exc)))
                    continue
                taken[mid] = c.label
                if len(batch) >= batch_size:
                    flush()
    except KeyboardInterrupt:  # keep what was read: a re-run goes on from there
        flush()
        raise
    flush()
    return result

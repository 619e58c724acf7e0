"""The cache engine under the book's stages: keys, the disk cache and its locks, in-process memory, the
timings log, and the committed results that stand in for a stage on a fresh clone.

A stage (a module of :mod:`elfutils.book.stages`, :mod:`elfutils.book.atlas_stage`) names its inputs in a key
(:func:`stage_key`: content hashes of data, settings and the source of the code that computes it) and hands
:func:`cached_stage` three callables -- is it on disk, load it, compute it. :func:`cached_stage` looks in
memory, on disk, then in the committed results, and computes under a per-key file lock otherwise, logging
the wall time to ``cache_dir()/timings.json``.
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import functools
import hashlib
import json
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pandas as pd

from elfutils.io import atomic_write_bytes, atomic_write_json, atomic_write_via_path
from elfutils.paths import cache_dir, committed_models_dir

CACHE_FORMAT = 1  # bump to invalidate every cached stage at once
TIMINGS_FILE = "timings.json"
MEMORY: dict[tuple, object] = {}  # in-process results: (cache dir, stage, key) -> value


def hash_json(obj) -> str:
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def stage_key(stage: str, inputs: dict) -> str:
    """The cache key of a stage: 16 hex digits of sha256 over the stage name, format and inputs."""
    return hash_json({"stage": stage, "format": CACHE_FORMAT, **inputs})[:16]


PACKAGE = Path(__file__).resolve().parents[1]  # elfutils/


def _module_file(name: str) -> Path | None:
    """The source file of ``elfutils.<...>`` module ``name`` (dotted, with the package), or None."""
    parts = name.split(".")[1:]
    for candidate in (PACKAGE.joinpath(*parts).with_suffix(".py"), PACKAGE.joinpath(*parts, "__init__.py")):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    """The elfutils modules a source file imports anywhere (inside functions too): ``from elfutils.x import
    y`` counts ``elfutils.x.y`` when that is a module, else ``elfutils.x``."""
    return set(_imports_of(path.read_bytes()))


IMPORTS_FILE = "code-imports.json"  # in the cache: what each module text imports (see _imports_of)


def _kept_imports() -> tuple[Path, str, dict[str, list[str]]]:
    """:func:`_kept_imports_in` of this process's cache folder."""
    return _kept_imports_in(cache_dir())


@functools.cache
def _kept_imports_in(folder: Path) -> tuple[Path, str, dict[str, list[str]]]:
    """(file, package signature, {sha256 of a module text: the modules it imports}) as kept in the cache;
    empty when the package's set of module files changed since (an import's meaning depends on which
    modules exist)."""
    signature = hashlib.sha256("\n".join(sorted(str(f.relative_to(PACKAGE)) for f in PACKAGE.rglob("*.py")))
                               .encode()).hexdigest()
    path = folder / IMPORTS_FILE
    try:
        kept = json.loads(path.read_text())
        table = kept["imports"] if kept.get("package") == signature else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        table = {}
    return path, signature, dict(table)


@functools.cache
def _imports_of(source: bytes) -> frozenset[str]:
    """:func:`_imports` of a source text: parsed once for each distinct text and kept in the cache, so a
    new process computing a stage key reads instead of parsing again (every key walks the closure of its
    modules; parsing them cost a quarter second a process)."""
    path, signature, table = _kept_imports()
    digest = hashlib.sha256(source).hexdigest()
    if digest in table:
        return frozenset(table[digest])
    found = _parse_imports(source)
    table[digest] = sorted(found)
    with contextlib.suppress(OSError):  # a read-only cache: parsed again next time
        atomic_write_json(path, {"package": signature, "imports": table})
    return found


def _parse_imports(source: bytes) -> frozenset[str]:
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("elfutils.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("elfutils"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if _module_file(sub) else node.module)
    return frozenset(m for m in out if _module_file(m))


def module_closure(module: str) -> list[str]:
    """``elfutils.<module>`` and every library module it imports, directly or not (sorted): what runs when
    the stage's code runs, the analysis choices and paper constants included. The book layer's own modules
    (keys, caching, the other stages) are left out unless named: what they decide enters a key as its inputs
    and settings, and a stage named by a book module (``book.atlas_stage``) is hashed itself."""
    root = f"elfutils.{module}"
    todo, seen = [root], set()
    while todo:
        name = todo.pop()
        path = _module_file(name)
        if name in seen or path is None or (name != root and name.startswith("elfutils.book.")):
            continue
        seen.add(name)
        todo.extend(_imports(path) - seen)
    return sorted(seen)


def code_hash(module: str) -> str:
    """sha256 (12 hex digits) of the source of an elfutils module and of every elfutils module it imports
    (:func:`module_closure`), so a changed analysis choice, constant or reader re-keys the stages whose code
    reads it; "missing" when the module does not exist (yet)."""
    closure = module_closure(module)
    if not closure:
        return "missing"
    digest = hashlib.sha256()
    for name in closure:
        digest.update(f"{name}\n".encode())
        digest.update(_module_file(name).read_bytes())
    return digest.hexdigest()[:12]


_HASHED: dict[str, str] | None = None  # path -> sha256 inside files_hashed_once()


@contextlib.contextmanager
def files_hashed_once() -> Iterator[None]:
    """Within the block each file is hashed once, by path: for a short command during which the files it
    reads do not change (``elf similar`` works out several keys from the same model file; each hash of its
    6 MB costs ~20 ms). Outside it every call reads the file, as a build whose files may change needs."""
    global _HASHED
    outer = _HASHED
    _HASHED = {} if outer is None else outer
    try:
        yield
    finally:
        _HASHED = outer


def file_hash(path: str | Path) -> str:
    """sha256 (hex) of a file's bytes."""
    known = str(Path(path).resolve()) if _HASHED is not None else None
    if known in (_HASHED or {}):
        return _HASHED[known]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if known is not None:
        _HASHED[known] = digest.hexdigest()
    return digest.hexdigest()


def write_parquet(df: pd.DataFrame, path: Path) -> Path:
    df = df.copy()
    df.attrs = {}  # attrs may hold numpy scalars that parquet's JSON metadata cannot take; stored apart
    return atomic_write_via_path(path, lambda tmp: df.to_parquet(tmp, index=False))


@contextlib.contextmanager
def locked(name: str) -> Iterator[None]:
    """An exclusive lock across processes (``cache_dir()/locks/<name>.lock``)."""
    path = cache_dir() / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def memoised(key: tuple, compute: Callable[[], object]):
    """The in-process value under ``key``, computed once (the disk cache is :func:`cached_stage`'s)."""
    if key not in MEMORY:
        MEMORY[key] = compute()
    return MEMORY[key]


def clear_memory() -> None:
    """Forget in-process results (the disk cache stays)."""
    MEMORY.clear()


# --- timings -----------------------------------------------------------------------------------------------
def record_timing(group: str, name: str, entry: dict) -> None:
    """Merge ``entry`` into ``timings.json`` under ``group`` / ``name`` (atomic, locked)."""
    path = cache_dir() / TIMINGS_FILE
    with locked("timings"):
        data = read_timings()
        data.setdefault(group, {}).setdefault(name, {}).update(entry)
        atomic_write_json(path, data)


def read_timings() -> dict:
    """The timings log: ``{"stages": {"<profile>/<stage>": {...}}, "notebooks": {...}}`` ({} when absent)."""
    path = cache_dir() / TIMINGS_FILE
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def timings_table() -> pd.DataFrame:
    """The stage timings as a table: profile, stage, seconds (last computation), computed_at, last_use ..."""
    rows = [{"entry": k, **v} for k, v in read_timings().get("stages", {}).items()]
    cols = ["profile", "stage", "seconds", "computed_at", "last_use", "n_items", "key"]
    df = pd.DataFrame(rows)
    for col in cols:
        if col not in df:
            df[col] = None
    return df[cols].sort_values(["profile", "stage"]).reset_index(drop=True) if len(df) else df[cols]


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def cached_stage(
    stage: str,
    profile,
    key: str,
    exists: Callable[[], bool],
    load: Callable[[], object],
    compute: Callable[[], object],
    n_items: Callable[[object], int] | None = None,
    files: Sequence[Path] = (),
):
    """Memory, then disk, then the committed results, then compute under a lock (re-checking the disk once
    the lock is held). ``files``: the cache files the stage writes, its completeness marker last; when given
    and committed under :func:`committed_results_dir` (same stage, same key), they are copied in instead of
    computing."""
    memo = (str(cache_dir()), stage, key)
    if memo in MEMORY:
        return MEMORY[memo]
    name = f"{profile.name}/{stage}"

    copied = []

    def present() -> bool:
        if exists():
            return True
        if files and copy_committed(files):
            copied.append(True)
            return True
        return False

    if not present():
        with locked(f"{stage}-{key}"):
            if not present():
                start = time.perf_counter()
                value = compute()
                seconds = time.perf_counter() - start
                entry = {"profile": profile.name, "stage": stage, "key": key, "seconds": round(seconds, 3),
                         "computed_at": now(), "last_use": "computed"}
                if n_items is not None:
                    entry["n_items"] = int(n_items(value))
                record_timing("stages", name, entry)
                MEMORY[memo] = value
                return value
    value = load()
    use = "committed results" if copied else "cached"
    record_timing("stages", name, {"profile": profile.name, "stage": stage, "key": key, "last_use": use,
                                   "used_at": now()})
    MEMORY[memo] = value
    return value


# --- committed results -------------------------------------------------------------------------------------
# Stage results committed with the code so that a fresh clone's first `make book` need not compute them (the
# atlas fingerprints and analyses, the evaluation chapter's measurements): scripts/commit_book_results.py.
# A file's path below the folder is its cache path, key included, so only results of the same inputs, code
# and settings stand in.
COMMITTED_RESULTS = "book-results"


def committed_results_dir() -> Path:
    return committed_models_dir() / COMMITTED_RESULTS


COMMITTED_MANIFEST = "MANIFEST.json"  # {"sha256": {path below the folder: sha256 of the file}}


def committed_manifest() -> dict[str, str]:
    """The sha256 of every committed result file, by its path below :func:`committed_results_dir`."""
    try:
        data = json.loads((committed_results_dir() / COMMITTED_MANIFEST).read_text())
        return {str(k): str(v) for k, v in data["sha256"].items()}
    except (FileNotFoundError, json.JSONDecodeError, KeyError, AttributeError, TypeError):
        return {}


def write_committed_manifest() -> Path:
    """Record the sha256 of every committed result file (scripts/commit_book_results.py, after a refresh)."""
    root = committed_results_dir()
    hashes = {str(f.relative_to(root)): file_hash(f) for f in sorted(root.rglob("*"))
              if f.is_file() and f.name != COMMITTED_MANIFEST}
    path = root / COMMITTED_MANIFEST
    atomic_write_json(path, {"sha256": hashes})
    return path


def copy_committed(files: Sequence[Path]) -> bool:
    """Copy the committed copies of these cache files into the cache (the marker, last, once the others are
    in place); False, copying nothing, unless all of them are committed and each matches the sha256 the
    manifest records for it (a damaged or edited committed file is named in a warning and the stage is
    computed instead: it never reaches the cache)."""
    root = committed_results_dir()
    sources = [root / Path(f).relative_to(cache_dir()) for f in files]
    if not all(src.is_file() for src in sources):
        return False
    manifest = committed_manifest()
    for src in sources:
        expected = manifest.get(str(src.relative_to(root)))
        if expected is None or file_hash(src) != expected:
            why = "is not in" if expected is None else "does not match its sha256 in"
            warnings.warn(f"{src}: the committed result {why} {root / COMMITTED_MANIFEST} (damaged or "
                          "edited); computing the stage instead (scripts/commit_book_results.py "
                          "re-commits it)",
                          stacklevel=2)
            return False
    for src, dst in zip(sources, files, strict=True):
        atomic_write_bytes(dst, src.read_bytes())
    return True

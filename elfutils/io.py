"""Atomic file writing: a reader sees the old file or the whole new one, never half of one.

Every file the project writes for later use (band-store parts, image stacks, checkpoints, fingerprint
tables, cache entries) goes through :func:`atomic_write_via_path` or :func:`atomic_write`:

1. a temporary file is made in the target's own folder (``.<name>.<random>.tmp``; the same folder, so the
   final rename never crosses file systems),
2. the caller fills it,
3. it is flushed to disk (``fsync``) and given ``mode`` (``mkstemp`` makes files 0600; the default 0o644 lets
   everyone who builds the book read them),
4. ``os.replace`` moves it over the target in one step.

If anything fails (or is interrupted: ``KeyboardInterrupt`` too), the temporary file is removed and the
exception propagates; a file already under the target name is left untouched. An ``OSError`` of the write
(a read-only or full disk) names the target, not its temporary file; a writer that reports an OS error only
in its message (safetensors: ``... (os error 28)``) is turned into that ``OSError``. A ``kill -9`` between
steps 1 and 4 can leave a ``.<name>.<writer>.<random>.tmp`` file behind, never a half-written target; the
temporary name holds the writer (a tag of its host and its pid), and the next write of the same target
removes the temporary files of writers on this host that are no longer running.

elf never writes through a symbolic link: a link planted where it writes (a store's lock or skipped list, the
list beside an image stack) could change or create a file anywhere. :func:`refuse_symlink`,
:func:`open_no_follow` and :func:`check_writable` (the probe commands run before long work) raise
:class:`WriteError` naming the path; so does every atomic write whose target is a link.
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO

DEFAULT_MODE = 0o644
# the errors that only a write gives: a command reports them as "cannot write <path>"
WRITE_ERRNOS = frozenset({errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)")  # how Rust writers (safetensors) give an OS error
_TEMP_WRITER = re.compile(r"([0-9a-f]{8})-(\d+)\.[^.]+\.tmp")  # after ".<name>.": <host>-<pid>.<random>.tmp


class WriteError(OSError):
    """A file elf is about to write cannot be written, or must not be (a symbolic link). ``filename`` is the
    path; ``strerror`` the reason."""


def refuse_symlink(path: str | Path) -> Path:
    """``path`` as a Path; :class:`WriteError` naming it when it is a symbolic link (dangling or not)."""
    path = Path(path)
    if path.is_symlink():
        raise WriteError(errno.ELOOP, f"a symbolic link (to {os.readlink(path)}); elf does not write through "
                                      "links", str(path))
    return path


def open_no_follow(path: str | Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                   mode: int = DEFAULT_MODE) -> int:
    """``os.open(path, flags | O_NOFOLLOW, mode)``: a file descriptor, or :class:`WriteError` naming ``path``
    when it is a symbolic link (``open(path, "a")`` would follow it, creating a file wherever it points)."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            refuse_symlink(path)
        raise


def check_writable(path: str | Path) -> Path:
    """``path`` as a Path, once a file could be created beside it (its folder is made if missing) and it is
    not a symbolic link; otherwise :class:`WriteError` naming ``path``. For commands to call before minutes of
    work: a read-only disk or a missing permission shows at once (a full disk only when written)."""
    path = refuse_symlink(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".probe"):
            pass
    except OSError as exc:
        raise WriteError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    return path


def _writer_tag() -> str:
    """``<host>-<pid>``: who writes a temporary file (the host as 8 hex digits: a pid means nothing on
    another machine sharing the folder)."""
    return f"{zlib.crc32(socket.gethostname().encode()):08x}-{os.getpid()}"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_dead_writers_temps(path: str | Path) -> list[Path]:
    """Remove the temporary files of ``path`` (``.<name>.<host>-<pid>.<random>.tmp``) whose writer, on this
    host, is no longer running (a ``kill -9``); returns them. A running writer's file is left alone."""
    path = Path(path)
    prefix, host = f".{path.name}.", _writer_tag().split("-")[0]
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        match = entry.name.startswith(prefix) and _TEMP_WRITER.fullmatch(entry.name[len(prefix):])
        if match and match[1] == host and not _running(int(match[2])):
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass  # gone already, or not ours to remove: the write goes on
    return removed


def _name_the_target(exc: BaseException, path: Path) -> BaseException:
    """The error to raise for a failed write of ``path``: an OSError of the write itself (no file name, or the
    temporary file's) names ``path``; an OS error inside another exception's message becomes an OSError."""
    if isinstance(exc, OSError):
        name = None if exc.filename is None else Path(os.fsdecode(exc.filename))
        own = name is None or (name.parent == path.parent and name.name.startswith(f".{path.name}."))
        if own and exc.errno is not None:  # (an OSError of a message only keeps its message)
            exc.filename, exc.filename2 = str(path), None
        return exc
    found = _RUST_OS_ERROR.search(str(exc)) if isinstance(exc, Exception) else None
    if found:
        code = int(found[1])
        return OSError(code, os.strerror(code), str(path))
    return exc


def atomic_write_via_path(path: str | Path, write_to_path: Callable[[str], object], *,
                          mode: int = DEFAULT_MODE, replace: bool = True) -> Path:
    """Call ``write_to_path(tmp)`` with the path (a str) of an empty temporary file beside ``path``, then move
    that file into place atomically. Returns ``path`` as a Path.

    For libraries that want a file name rather than a file object (``DataFrame.to_parquet``,
    ``safetensors.torch.save_file``, ``nbformat.write``). The temporary name ends in ``.tmp``, so libraries
    that infer a format from the suffix must be told the format (or be given a file object via
    :func:`atomic_write`); ``np.savez*`` would append ``.npz`` to the name and must use :func:`atomic_write`.

    ``replace=False`` never replaces an existing file: the finished file is hard-linked to ``path``, which
    fails with FileExistsError when something is there already (the temporary file is then removed).
    A symbolic link at ``path`` is refused (:class:`WriteError`), never replaced nor followed.
    """
    path = refuse_symlink(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_dead_writers_temps(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_writer_tag()}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        write_to_path(tmp)
        with open(tmp, "rb") as fh:  # the writer may have closed its own handle: flush the file via a new one
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
            os.unlink(tmp)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        error = _name_the_target(exc, path)
        if error is exc:
            raise
        raise error from exc
    return path


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], object], *, mode: int = DEFAULT_MODE,
                 replace: bool = True) -> Path:
    """Call ``write(fh)`` with a temporary file beside ``path`` open for binary writing, then move the file
    into place atomically (see the module docstring). Returns ``path`` as a Path.

    Example: ``atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))``.
    """

    def write_to_path(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            write(fh)

    return atomic_write_via_path(path, write_to_path, mode=mode, replace=replace)


def atomic_write_bytes(path: str | Path, data: bytes, *, mode: int = DEFAULT_MODE) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda fh: fh.write(data), mode=mode)


def atomic_write_text(path: str | Path, text: str, *, encoding: str = "utf-8",
                      mode: int = DEFAULT_MODE) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8 unless told otherwise)."""
    return atomic_write_bytes(path, text.encode(encoding), mode=mode)


def atomic_write_json(path: str | Path, obj, *, mode: int = DEFAULT_MODE) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically: indent 1, sorted keys, ``str()`` for anything JSON cannot
    take (paths, numpy scalars), and a final newline."""
    return atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=True, default=str) + "\n", mode=mode)

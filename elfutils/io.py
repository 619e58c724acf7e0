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
exception propagates; a file already under the target name is left untouched. A ``kill -9`` between steps 1
and 4 can leave a ``.<name>.*.tmp`` file behind, never a half-written target.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

DEFAULT_MODE = 0o644


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
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write_to_path(tmp)
        with open(tmp, "rb") as fh:  # the writer may have closed its own handle: flush the file via a new one
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
            os.unlink(tmp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
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

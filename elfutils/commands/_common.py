"""What the subcommands share: the ``--threads`` option and the one way bad input (or a disk that cannot be
written) ends a command.

Bad input (a missing or malformed file, a checkpoint that does not fit, an impossible option) ends a command
with one line ``elf <command>: <message>`` on stderr and exit code 2, never a traceback:

    try:
        ...
    except INPUT_ERRORS as exc:
        return report_error("cluster", exc)

The batch commands (``elf info``, ``render``, ``import``) go on past a bad input, list it
(:func:`print_skipped`: each path once), and end with the same code, :data:`BAD_INPUT`, only when none of
their inputs could be used. Exit code 1 is left for work that failed on good input (``elf dft``: no material
computed); :data:`elfutils.cli.EXIT_CODES` lists them for ``elf --help``.

An ``OSError`` a command does not handle (a read-only or full disk, a missing permission, a symbolic link
where elf would write) ends it the same way, in :func:`elfutils.cli.main`: :func:`report_os_error`. Commands
that work for minutes first probe their outputs with :func:`elfutils.io.check_writable`.

Nothing heavy is imported at module level (``elf --help`` must stay fast); :func:`model_input_errors` and
:func:`apply_threads` import torch when called.
"""

from __future__ import annotations

import sys

# BandDataError (unreadable band data or image stacks) is a ValueError
INPUT_ERRORS: tuple[type[Exception], ...] = (ValueError, FileNotFoundError)
BAD_INPUT = 2  # the exit code of every command for bad input, a batch none of whose inputs could be used too


def model_input_errors() -> tuple[type[Exception], ...]:
    """:data:`INPUT_ERRORS` plus :class:`~elfutils.nn.checkpoint.CheckpointError` (a model file that is
    missing,
    corrupt or does not fit), for the commands that run the network. Imports torch."""
    from elfutils.nn.checkpoint import CheckpointError

    return (CheckpointError, *INPUT_ERRORS)


def report_error(command: str, exc: BaseException) -> int:
    """Print ``elf <command>: <exc>`` to stderr; returns the exit code for bad input, :data:`BAD_INPUT`."""
    print(f"elf {command}: {exc}", file=sys.stderr)
    return BAD_INPUT


def print_skipped(entries, stream=None, limit: int | None = None) -> None:
    """A batch's skipped inputs, ``(item, reason)``, one line each on stderr: the reason alone when it names
    the item already (a BandDataError starts with its path), so no path is printed twice; at most ``limit``
    lines, then how many more."""
    stream = stream or sys.stderr
    for item, reason in entries[:limit]:
        print(f"  {reason}" if reason.startswith(item) else f"  {item}: {reason}", file=stream)
    if limit is not None and len(entries) > limit:
        print(f"  ... and {len(entries) - limit} more", file=stream)


def report_os_error(command: str, exc: OSError) -> int:
    """Print ``elf <command>: [cannot write ]<path>: <reason>`` to stderr (one line, naming ``exc.filename``);
    returns 2. "cannot write" for the errors only a write gives (read-only or full disk) and for
    :class:`elfutils.io.WriteError`."""
    from elfutils.io import WRITE_ERRNOS, WriteError

    writing = isinstance(exc, WriteError) or exc.errno in WRITE_ERRNOS
    reason = exc.strerror or str(exc) or type(exc).__name__
    where = " ".join(str(w) for w in ("cannot write" if writing else "", exc.filename) if w)
    print(f"elf {command}: {where + ': ' if where else ''}{reason}", file=sys.stderr)
    return 2


def check_outputs(*paths) -> None:
    """Probe each output path that is not None with :func:`elfutils.io.check_writable`, before the work: a
    read-only folder or a symbolic link where the command would write is a
    :class:`~elfutils.io.WriteError`, which :func:`elfutils.cli.main` reports in one line."""
    from elfutils.io import check_writable

    for path in paths:
        if path is not None:
            check_writable(path)


def add_threads_argument(parser) -> None:
    """The ``--threads`` option of the commands that run torch (see :func:`apply_threads`)."""
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: one per core)")


def apply_threads(args) -> None:
    """``torch.set_num_threads(args.threads)`` when ``--threads`` was given (torch's default otherwise)."""
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)


def add_scale_argument(parser) -> None:
    """``--scale auto|dense|graph``: the exact N x N matrix or the neighbour graph
    (:mod:`elfutils.analysis.neighbors`)."""
    from elfutils.analysis.neighbors import DENSE_MAX_N, SCALES

    parser.add_argument("--scale", choices=SCALES, default="auto",
                        help="dense: exact N x N distance matrix; graph: k-nearest-neighbour graph "
                             f"(memory ~N, for large tables); auto (default): dense up to {DENSE_MAX_N} "
                             "materials")

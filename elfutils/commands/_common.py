"""What the subcommands share: the ``--threads`` option and the one way bad input ends a command.

Bad input (a missing or malformed file, a checkpoint that does not fit, an impossible option) ends a command
with one line ``elf <command>: <message>`` on stderr and exit code 2, never a traceback:

    try:
        ...
    except INPUT_ERRORS as exc:
        return report_error("cluster", exc)

Nothing heavy is imported at module level (``elf --help`` must stay fast); :func:`model_input_errors` and
:func:`apply_threads` import torch when called.
"""

from __future__ import annotations

import sys

# BandDataError (unreadable band data or image stacks) is a ValueError
INPUT_ERRORS: tuple[type[Exception], ...] = (ValueError, FileNotFoundError)


def model_input_errors() -> tuple[type[Exception], ...]:
    """:data:`INPUT_ERRORS` plus :class:`~elfutils.nn.checkpoint.CheckpointError` (a model file that is
    missing,
    corrupt or does not fit), for the commands that run the network. Imports torch."""
    from elfutils.nn.checkpoint import CheckpointError

    return (CheckpointError, *INPUT_ERRORS)


def report_error(command: str, exc: BaseException) -> int:
    """Print ``elf <command>: <exc>`` to stderr; returns the exit code for bad input, 2."""
    print(f"elf {command}: {exc}", file=sys.stderr)
    return 2


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

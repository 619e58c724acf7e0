"""The `elf` command. Each subcommand lives in ``elfutils/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (called with the parsed args, returns an
exit
code). Heavy imports (torch, pymatgen, gpaw) happen inside the commands, so `elf --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = [
    "elfutils.commands.info",
    "elfutils.commands.import_bands",  # `elf import` ("import" is a Python keyword)
    "elfutils.commands.render",
    "elfutils.commands.train",
    "elfutils.commands.encode",
    "elfutils.commands.export_fingerprints",
    "elfutils.commands.export_model",
    "elfutils.commands.dft",
    "elfutils.commands.cluster",
    "elfutils.commands.duplicates",
    "elfutils.commands.similar",
]


EXIT_CODES = ("exit codes: 0 done; 2 bad input (an unreadable or malformed file, model or table, an "
              "impossible option, a batch none of whose inputs could be read) or an output that cannot be "
              "written, in one line naming it; 1 the work itself failed (elf dft: no material computed); 130 "
              "interrupted")


def build_parser() -> argparse.ArgumentParser:
    from elfutils import __version__

    parser = argparse.ArgumentParser(
        prog="elf", description="elf: band-structure fingerprints with a convolutional autoencoder.",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMANDS:
        importlib.import_module(module_name).register(subparsers)
    return parser


def one_line_warnings(command: str):
    """A ``warnings.formatwarning`` for the command line: ``elf <command>: warning: <message>``, without the
    library's file, line and source line (which tell a user of the command nothing)."""
    return lambda message, category, filename, lineno, line=None: f"elf {command}: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    import warnings

    args = build_parser().parse_args(argv)
    default_format, warnings.formatwarning = warnings.formatwarning, one_line_warnings(args.command)
    try:
        return int(args.func(args) or 0)
    # `elf info ... | head`: the reader has seen enough; no traceback, no second one at exit
    except BrokenPipeError:
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    # a read-only or full disk, a missing permission, a refused symbolic link: one line naming the path, for
    # every command (writes are atomic: nothing half-written is left; see elfutils.io)
    except OSError as exc:
        from elfutils.commands._common import report_os_error

        return report_os_error(args.command, exc)
    finally:
        warnings.formatwarning = default_format


if __name__ == "__main__":
    sys.exit(main())

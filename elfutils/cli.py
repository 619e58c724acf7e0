"""The `elf` command. Each subcommand lives in ``elfutils/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (called with the parsed args, returns an
exit
code). Heavy imports (torch, pymatgen, gpaw) happen inside the commands, so `elf --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {  # command name -> its module, in the order `elf --help` lists them
    "info": "elfutils.commands.info",
    "import": "elfutils.commands.import_bands",  # "import" is a Python keyword
    "render": "elfutils.commands.render",
    "train": "elfutils.commands.train",
    "encode": "elfutils.commands.encode",
    "export-fingerprints": "elfutils.commands.export_fingerprints",
    "export-model": "elfutils.commands.export_model",
    "dft": "elfutils.commands.dft",
    "cluster": "elfutils.commands.cluster",
    "duplicates": "elfutils.commands.duplicates",
    "similar": "elfutils.commands.similar",
}


EXIT_CODES = ("exit codes: 0 done; 2 bad input (an unreadable or malformed file, model or table, an "
              "impossible option, a batch none of whose inputs could be read) or an output that cannot be "
              "written, in one line naming it; 1 the work itself failed (elf dft: no material computed); 130 "
              "interrupted")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The `elf` parser with every command, or with command ``only`` alone (what ``elf only ...`` needs:
    registering every command imports what each one's help quotes, ~0.5 s of a quick search)."""
    from elfutils import __version__

    parser = argparse.ArgumentParser(
        prog="elf", description="elf: band-structure fingerprints with a convolutional autoencoder.",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(module_name).register(subparsers)
    return parser


def one_line_warnings(command: str):
    """A ``warnings.formatwarning`` for the command line: ``elf <command>: warning: <message>``, without the
    library's file, line and source line (which tell a user of the command nothing)."""
    return lambda message, category, filename, lineno, line=None: f"elf {command}: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    import warnings

    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv and argv[0] in COMMANDS else None  # else every command: help, or an error
    args = build_parser(only=command).parse_args(argv)
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

"""Subcommands of the `elf` CLI (see elfutils.cli)."""

"""`elf import`: band files, folders of them and other stores -> one band store
(:mod:`elfutils.data.importer`)."""

from __future__ import annotations

from pathlib import Path

MAX_PRINTED = 20  # skipped inputs printed to stderr; all of them are in the CSV


def register(subparsers) -> None:
    from elfutils.data.readers import inputs_help

    p = subparsers.add_parser(
        "import",
        help="copy band files (or folders of them, or stores) into a band store (.elfstore)",
        description="Read every band file in the inputs and add it to a band store, e.g. the 2Dmatpedia "
        "download for the book's 2dmatpedia profile: elf import <download>/bands --flat-band-pool "
        "--store data/bands/2dmatpedia-vasp.elfstore. Materials are written in atomic parts of 500, so an "
        "interrupted import keeps what it wrote, and a re-run skips the ids already in the store. Files that "
        "cannot be read are skipped with the reason and listed in <store>/import-skipped.csv (each run adds "
        "its rows, with a run column: imports into one store at once keep each other's); of two inputs "
        "with the same material id the first is kept. A folder that holds other files is not made a store. "
        "The exit code is non-zero only when none of the inputs' materials is in the store.",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUTS",
                   help=inputs_help() + "; or folders searched for band files")
    p.add_argument("--store", type=Path, required=True, metavar="OUT.elfstore",
                   help="the store to add to (created when missing)")
    p.add_argument("--flat-band-pool", action="store_true",
                   help="keep only the 2132 flat-band materials the paper starts from")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--keep-file-zero", action="store_true",
                   help="keep each file's own Fermi level as the energy zero (default: a gapped material's "
                        "zero is moved just above its valence-band maximum, the convention of 2Dmatpedia "
                        "and of our DFT)")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from elfutils.commands._common import BAD_INPUT, INPUT_ERRORS, print_skipped, report_error
    from elfutils.data.importer import SKIPPED_FILE, check_store_folder, import_bands, record_skipped
    from elfutils.data.store import LOCK_FILE, BandStore
    from elfutils.io import check_writable

    if args.store.exists() and not args.store.is_dir():
        return report_error("import", f"{args.store}: not a store folder")
    keep = None
    if args.flat_band_pool:
        from elfutils.data.dataset import flat_band_pool

        keep = set(flat_band_pool().material_id).__contains__
    try:
        check_store_folder(args.store)  # a folder of band files must not become a store that hides them
        for path in (args.store / LOCK_FILE, args.store / SKIPPED_FILE):  # before reading anything: a
            check_writable(path)  # read-only disk or a symbolic link is one line (elfutils.cli)
        result = import_bands(args.inputs, args.store, keep=keep, progress=not args.no_progress,
                              zero="file" if args.keep_file_zero else "project")
    except INPUT_ERRORS as exc:  # e.g. an unreadable part of the target store
        return report_error("import", exc)

    problems = result.skipped + result.duplicates
    skipped_csv = record_skipped(args.store, problems)  # added to, under the store's lock: see its docstring
    if result.skipped:
        print(f"skipped {len(result.skipped)} unreadable input(s):", file=sys.stderr)
        print_skipped(result.skipped, sys.stderr, MAX_PRINTED)
    if result.duplicates:
        print(f"skipped {len(result.duplicates)} duplicate material id(s) (the first input was kept):",
              file=sys.stderr)
        print_skipped(result.duplicates, sys.stderr, MAX_PRINTED)

    store = BandStore(args.store)
    lines = [f"imported {len(result.imported)} band structure(s) into {args.store} ({len(store)} in the "
             f"store, in {len(store.part_paths())} part(s))"]
    if result.already_stored:
        lines.append(f"{len(result.already_stored)} already in the store (not read again)")
    if args.flat_band_pool:
        lines.append(f"{result.left_out} left out: not in the flat-band pool (--flat-band-pool)")
    if problems:
        lines.append(f"{len(result.skipped)} unreadable and {len(result.duplicates)} duplicate(s) skipped, "
                     f"listed in {skipped_csv}")
    print("\n".join(lines))
    if result.exit_code:
        print("elf import: none of the inputs' materials is in the store", file=sys.stderr)
    return BAD_INPUT if result.exit_code else 0

"""`elf info`: what a band file, a folder of band files or a store holds."""

from __future__ import annotations

import json
from pathlib import Path


def register(subparsers) -> None:
    from elfutils.data.figure_reader import add_figure_arguments
    from elfutils.data.readers import inputs_help

    p = subparsers.add_parser("info", help="describe band files or stores (ids, spin, k-path, energy range)")
    p.add_argument("paths", nargs="+", type=Path,
                   help=inputs_help() + "; or folders of band files")
    p.add_argument("--json", action="store_true", help="one JSON object per band structure")
    p.add_argument("--keep-file-zero", action="store_true",
                   help="keep each file's own Fermi level as the energy zero (default: a gapped material's "
                        "zero is moved just above its valence-band maximum, the convention of 2Dmatpedia "
                        "and of our DFT)")
    add_figure_arguments(p)
    p.set_defaults(func=run)


ZERO_NAMES = {"vbm+offset": "VBM+0.05", "fermi": "E_F",
              "file": "file's E_F"}  # metadata energy_zero, in words
NO_FORMULA = "(no atoms)"  # shown for a file that holds no structure (ASE band-structure JSON); JSON: ""


def _print(summary: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary))
        return
    s = summary
    spin = "spin-polarised" if s["spin_polarized"] else "spin-paired"
    formula = s["formula"] or NO_FORMULA  # an ASE band-structure JSON holds no atoms
    print(f"{s['material_id']:>10} {formula:<12} {spin:<14} {s['path']:<16} "
          f"{s['nkpoints']:>4} k  {s['nbands']:>3} bands  E-E_F "
          f"{s['energy_min_eV']:.1f}..{s['energy_max_eV']:.1f} eV"
          f"  gap {s['band_gap_eV']:.2f} eV  zero {ZERO_NAMES.get(s['energy_zero'], s['energy_zero'])}")


def run(args) -> int:
    import sys

    from elfutils.commands._common import BAD_INPUT, print_skipped
    from elfutils.data.batch_report import BatchReport
    from elfutils.data.importer import band_files_in
    from elfutils.data.readers import file_kind, read_band_file
    from elfutils.data.store import BandStore
    from elfutils.errors import BandDataError

    report = BatchReport()
    zero = "file" if args.keep_file_zero else "project"

    def show(label: str, read) -> None:
        try:
            summary = read().summary()
        except (BandDataError, OSError) as exc:
            report.skipped.append((label, str(exc)))
            return
        report.results.append(summary)
        _print(summary, args.json)

    for path in args.paths:
        try:
            if path.is_dir() and not path.name.endswith(".elfstore") and not list(path.glob("part-*.npz")):
                files = band_files_in(path)
                print(f"{path}: folder with {len(files)} band file(s) (not a store)")
                for file in files:
                    show(str(file), lambda f=file: read_band_file(f, zero=zero, figure=args.figure))
                continue
            if path.exists() and file_kind(path) == "store":
                store = BandStore(path)
                ids = store.ids()  # a damaged part is an error naming it, before anything is listed
                print(f"{path}: store with {len(ids)} band structures in {len(store.part_paths())} part(s)")
                for mid in ids:
                    show(f"{path}:{mid}", lambda m=mid, s=store: s.get(m))
                continue
        except BrokenPipeError:
            raise  # the reader went away (`| head`): elfutils.cli ends quietly
        except (BandDataError, OSError) as exc:
            report.skipped.append((str(path), str(exc)))
            continue
        show(str(path), lambda p=path: read_band_file(p, zero=zero, figure=args.figure))
    if report.skipped:
        print(f"skipped {len(report.skipped)} input(s):", file=sys.stderr)
        print_skipped(report.skipped)
    return BAD_INPUT if report.exit_code else 0

"""`elf info`: what a band file or store holds."""

from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("info", help="describe band files or stores (ids, spin, k-path, energy range)")
    p.add_argument("paths", nargs="+", type=Path, help="band files (.json, .json.gz, vasprun.xml) or .elfstore folders")
    p.add_argument("--json", action="store_true", help="one JSON object per band structure")
    p.set_defaults(func=run)


def run(args) -> int:
    import json

    from elfutils.data.batch_report import BatchReport
    from elfutils.errors import BandDataError
    from elfutils.data.readers import file_kind, read_band_file
    from elfutils.data.store import BandStore

    report = BatchReport()
    for path in args.paths:
        try:
            if path.exists() and file_kind(path) == "store":
                store = BandStore(path)
                summaries = [bs.summary() for bs in store]
                print(f"{path}: store with {len(summaries)} band structures in {len(store.part_paths())} part(s)")
            else:
                summaries = [read_band_file(path).summary()]
        except BandDataError as exc:
            report.skipped.append((str(path), str(exc)))
            continue
        report.results.extend(summaries)
        for s in summaries:
            if args.json:
                print(json.dumps(s))
            else:
                spin = "spin-polarised" if s["spin_polarized"] else "spin-paired"
                print(f"{s['material_id']:>10} {s['formula']:<12} {spin:<14} {s['path']:<16} "
                      f"{s['nkpoints']:>4} k  {s['nbands']:>3} bands  E-E_F {s['energy_min_eV']:.1f}..{s['energy_max_eV']:.1f} eV  "
                      f"gap {s['band_gap_eV']:.2f} eV")
    report.print_skipped()
    return report.exit_code

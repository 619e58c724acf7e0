"""Real reader fixtures from a real GPAW run: h-BN (2dm-4991, 2 atoms, a 4.7 eV gap in 2Dmatpedia) with the
project's recipe, its band path written the ways GPAW users keep it.

    # ~10 s; needs GPAW (make gpaw); --out DIR writes the same files into DIR
    OMP_NUM_THREADS=1 .venv/bin/python scripts/make_reader_fixtures.py --write

Writes into data/reader-fixtures/ (with --write; nothing without --write or --out):
* ``2dm-4991.ase-bands.json``: ``calc.band_structure().write(...)``, the ASE BandStructure JSON that
  ``ase band-structure`` and C2DB publish (E_F where GPAW's smearing put it: mid-gap);
* ``2dm-4991.gpw``: ``calc.write(...)`` of the band-path calculation (no wave functions);
* ``2dm-4991.elfstore``: the same calculation as our DFT batch stores it (energy zero just above the VBM),
  for the tests to compare the readers against.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

MATERIAL = "2dm-4991"  # h-BN


def main(out: Path) -> int:
    from elfutils.data.dataset import structure_records
    from elfutils.data.store import BandStore
    from elfutils.dft.recipe import DFTSettings, compute_band_structure, structure_from_record

    out.mkdir(parents=True, exist_ok=True)

    def keep(band_calc) -> None:
        band_calc.band_structure().write(str(out / f"{MATERIAL}.ase-bands.json"))
        band_calc.write(str(out / f"{MATERIAL}.gpw"))

    structure = structure_from_record(structure_records()[MATERIAL])
    record = compute_band_structure(structure, MATERIAL, DFTSettings(), on_band_calc=keep)
    store = BandStore(out / f"{MATERIAL}.elfstore")
    for part in store.part_paths():
        part.unlink()
    store.append([record])
    for f in sorted(out.iterdir()):
        print(f"{f.name}: {sum(p.stat().st_size for p in f.rglob('*')) if f.is_dir() else f.stat().st_size} "
              f"bytes")
    return 0


def cli(argv=None) -> int:
    committed = Path(__file__).resolve().parents[1] / "data" / "reader-fixtures"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--write", action="store_true", help=f"rewrite the committed fixtures in {committed}")
    target.add_argument("--out", type=Path, metavar="DIR", help="write the fixtures into DIR instead")
    args = parser.parse_args(argv)
    if not (args.write or args.out):
        parser.print_help()
        return 2
    return main(committed if args.write else args.out)


if __name__ == "__main__":
    raise SystemExit(cli())

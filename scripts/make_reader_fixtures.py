"""Real reader fixtures from a real GPAW run: h-BN (2dm-4991, 2 atoms, a 4.7 eV gap in 2Dmatpedia) with the
project's recipe, its band path written the ways GPAW users keep it.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/make_reader_fixtures.py    # ~10 s; needs GPAW (make gpaw)

Writes into data/reader-fixtures/:
* ``2dm-4991.ase-bands.json``: ``calc.band_structure().write(...)``, the ASE BandStructure JSON that
  ``ase band-structure`` and C2DB publish (E_F where GPAW's smearing put it: mid-gap);
* ``2dm-4991.gpw``: ``calc.write(...)`` of the band-path calculation (no wave functions);
* ``2dm-4991.elfstore``: the same calculation as our DFT batch stores it (energy zero just above the VBM),
  for the tests to compare the readers against.
"""

from __future__ import annotations

import os
import sys
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


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[1]
    raise SystemExit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else root / "data" / "reader-fixtures"))

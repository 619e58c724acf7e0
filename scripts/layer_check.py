"""Is the cell of each gap outlier a layer? The bonded-dimensionality rows the data chapter reads.

    .venv/bin/python scripts/layer_check.py            # compute and print, write nothing
    .venv/bin/python scripts/layer_check.py --write    # and merge them into the committed results

The data chapter lists the materials whose gap differs from 2Dmatpedia's by more than half an eV and asks,
for each, whether the slab our DFT ran on is a layer at all (:mod:`elfutils.dft.layer_check`: ASE's bonded
dimensionality, about a second a cell). This computes those rows for the outliers of the flat-band store, as
the chapter selects them, and with ``--write`` merges them into ``benchmarks/results/layer-check.json``
(atomically; rows of other materials are kept). The chapter reuses a committed row only where the material's
structure record is unchanged and computes the rest, so a stale file costs time, never a wrong row.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "benchmarks" / "results" / "layer-check.json"


def outlier_ids() -> list[str]:
    """The data chapter's gap outliers: the flat-band store against 2Dmatpedia's gaps."""
    from elfutils.data.dataset import dft_store_path
    from elfutils.dft import compare

    materials = compare.dataset_card(dft_store_path())["materials"]
    return list(compare.gap_outliers(compare.store_gaps(materials)).material_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true",
                        help=f"merge the rows into {RESULT.relative_to(ROOT)}")
    args = parser.parse_args(argv)

    from elfutils.data.dataset import structure_records
    from elfutils.dft.layer_check import layer_table, read_known
    from elfutils.io import atomic_write_json

    records = structure_records()
    ids = [m for m in outlier_ids() if m in records]
    start = time.perf_counter()
    table = layer_table({m: records[m] for m in ids})
    print(table.to_string(index=False))
    seconds = time.perf_counter() - start
    print(f"{len(table)} cells, {int((~table.is_layer).sum())} not layers, {seconds:.0f} s")
    if args.write:
        rows = read_known(RESULT)
        rows.update({row["material_id"]: row for row in json.loads(table.to_json(orient="records"))})
        atomic_write_json(RESULT, {"what": "elfutils.dft.layer_check.layer_table of the data chapter's gap "
                                           "outliers (scripts/layer_check.py)",
                                   "rows": [rows[m] for m in sorted(rows)]})
        print(f"wrote {RESULT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Recompute the committed structural fingerprints: CrystalNN (CNNF) of every flat-band sublattice in
``data/flat-band-pool/reduced_sublattice_structure.txt``, written to ``data/structure-fingerprints/`` with a
card (the key of the code and file that made them, sha256, skipped sublattices).

    make cnnf        # = python scripts/commit_cnnf.py --refresh; ~10 CPU-minutes, resumes when interrupted

The book's Fig. 5 chapter uses these rows when the card's key matches the current code and file (otherwise it
computes them into the cache); tests/test_committed_models.py checks the key and recomputes a sample.
Afterwards ``git add data/structure-fingerprints`` and commit.
"""

from __future__ import annotations

import argparse
import json

from elfutils.book import pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refresh", action="store_true",
                        help="recompute the rows and rewrite data/structure-fingerprints/ (nothing is "
                             "computed or rewritten without it)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    if not args.refresh:
        parser.print_help()
        raise SystemExit(2)
    path = pipeline.COMMITTED_CNNF.export(progress=not args.no_progress)
    card = json.loads(path.with_suffix(".json").read_text())
    print(f"{path}: {card['n_rows']} of {card['n_sublattices']} sublattices, {len(card['skipped'])} skipped, "
          f"{len(card['retried_with_wider_cutoff'])} with the wider cutoff")
    print(pipeline.COMMITTED_CNNF.status()[1])


if __name__ == "__main__":
    main()

"""How good is an elf fingerprint on our dataset? The evaluation chapter's measurements, outside the book.

    # ~4 min on 2 cores (cached stages: seconds); prints the result, and with --write records it in
    # benchmarks/results/fingerprint-evaluation.json
    .venv/bin/python scripts/evaluate_fingerprints.py [--profile default] [--write]

The same numbers the chapter "How good is an elf fingerprint?" shows (the pipeline stage
``fingerprint_quality``, i.e. :func:`elfutils.analysis.fingerprint_quality.measure`): representations x
property-prediction tasks, the 12 real VASP files against their GPAW twins, robustness to what a user's file
differs in, and HDBSCAN with the exact p = 0.2 distance against Euclidean and hdbscan's own minkowski path.
"""

from __future__ import annotations

import argparse
import json
import time

from elfutils.book import pipeline
from elfutils.io import atomic_write_json
from elfutils.paths import PROJECT_ROOT

OUT = PROJECT_ROOT / "benchmarks" / "results" / "fingerprint-evaluation.json"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default", help="book profile (default: %(default)s)")
    parser.add_argument("--write", action="store_true",
                        help=f"record the result in {OUT.relative_to(PROJECT_ROOT)} (committed)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = pipeline.fingerprint_quality(args.profile)
    record = {"what": __doc__.splitlines()[0], "profile": args.profile, **result,
              "seconds": round(time.perf_counter() - started, 1),
              "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if not args.write:
        print(json.dumps(record, indent=1, default=str))
        print(f"not recorded (--write records it in {OUT.relative_to(PROJECT_ROOT)})")
        return 0
    atomic_write_json(OUT, record)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`elf duplicates`: candidate duplicate entries, same formula and nearly identical fingerprints (Table 1)."""

from __future__ import annotations

from pathlib import Path

from elfutils.commands._common import INPUT_ERRORS, add_scale_argument, check_outputs, report_error


def register(subparsers) -> None:
    from elfutils.analysis.duplicates import DUPLICATE_MAD_K, DUPLICATE_NN_PERCENTILE

    p = subparsers.add_parser(
        "duplicates",
        help="list candidate duplicate pairs: same reduced formula, fingerprint distance below a threshold",
        description="Pairs of materials with the same reduced formula whose fingerprints (Minkowski p=0.2) "
        "are closer than the threshold, ranked by distance. Default threshold: a low outlier of the "
        f"nearest-neighbour distances of all materials (log distance below median - {DUPLICATE_MAD_K:g} "
        f"MAD). "
        "Also reports which pairs of the paper's Table 1 are in the data and found.",
    )
    p.add_argument("fingerprints", type=Path, metavar="FINGERPRINTS",
                   help="fingerprint table (.parquet or .csv)")
    p.add_argument("--out", type=Path, required=True, metavar="CSV", help="candidate pairs, ranked")
    p.add_argument("--threshold", type=float, help="distance threshold (default: from the data, see above)")
    p.add_argument("--method", choices=("mad", "percentile"), default="mad",
                   help="how the default threshold is chosen (default mad)")
    p.add_argument("--k", type=float, default=DUPLICATE_MAD_K,
                   help=f"MADs below the median log nearest-neighbour distance (default {DUPLICATE_MAD_K:g})")
    p.add_argument("--percentile", type=float, default=DUPLICATE_NN_PERCENTILE,
                   help=f"percentile for --method percentile (default {DUPLICATE_NN_PERCENTILE:g})")
    p.add_argument("--table1-out", type=Path, metavar="CSV", help="also write the Table 1 check")
    add_scale_argument(p)
    p.set_defaults(func=run)  # fmt: skip


def run(args) -> int:
    from elfutils.analysis.duplicates import find_duplicates
    from elfutils.analysis.fingerprints import read_fingerprints, write_table

    check_outputs(args.out, args.table1_out)  # before the search: a read-only folder is one line, at once
    try:
        df = read_fingerprints(args.fingerprints)
        result = find_duplicates(
            df, threshold=args.threshold, method=args.method, k=args.k, percentile=args.percentile,
            scale=args.scale,
        )
    except INPUT_ERRORS as exc:
        return report_error("duplicates", exc)
    write_table(result.candidates, args.out)
    if args.table1_out:
        write_table(result.table1, args.table1_out)
    t1 = result.table1
    print(
        f"threshold {result.threshold:.6g} ({result.threshold_rule}): "
        f"{len(result.candidates)} candidate pairs "
        f"of {len(result.all_pairs)} same-formula pairs -> {args.out}"
    )
    present, found = int(t1["present"].sum()), int(t1["found"].sum())
    print(f"paper Table 1: {present} of {len(t1)} pairs in the data, {found} found")
    return 0

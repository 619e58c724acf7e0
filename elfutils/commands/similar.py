"""`elf similar`: the materials whose band structures are most like a query's, and the cluster it would
join."""

from __future__ import annotations

from pathlib import Path

from elfutils.commands._common import INPUT_ERRORS, add_scale_argument, check_outputs, report_error

_TABLE_SUFFIXES = (".parquet", ".pq", ".csv")


def register(subparsers) -> None:
    from elfutils.data.figure_reader import add_figure_arguments
    from elfutils.data.readers import inputs_help

    p = subparsers.add_parser(
        "similar",
        help="find the materials with the most similar band structures to a query",
        description="Encode the query band file(s) with the trained model (or read query fingerprints from a "
        "table), then list the k nearest materials of the fingerprint table (Minkowski p=0.2) and the "
        "HDBSCAN cluster each query would join. Without --fingerprints and --model, the search runs over the "
        "embedded dataset with its trained model (the committed one, or one the book trained into the "
        "cache); "
        "its fingerprints are computed once and cached.",
    )
    p.add_argument("queries", nargs="+", type=Path, metavar="QUERY_FILE",
                   help=inputs_help(stores=False) + "; or one fingerprint table (.parquet/.csv)")
    p.add_argument("--fingerprints", type=Path, metavar="TABLE",
                   help="fingerprint table to search (default: the dataset of --profile)")
    p.add_argument("--model", type=Path, metavar="MODEL",
                   help="trained elf model that made the table (default: the model of --profile)")
    p.add_argument("--profile", default="default",
                   help="without --fingerprints: whose dataset and model to search (elfutils.book.profiles; "
                        "default: the embedded GPAW dataset; atlas: every 2Dmatpedia material computed, with "
                        "the model trained on all of them; 2dmatpedia: the imported VASP files)")
    p.add_argument("--k", type=int, default=10, help="neighbours per query (default 10)")
    p.add_argument("--device",
                   help="torch device for the encoder (default: ELF_DEVICE, else CUDA if present)")
    p.add_argument("--no-cluster", action="store_true", help="skip fitting HDBSCAN for the query's cluster")
    p.add_argument("--exclude-same-id", action="store_true",
                   help="leave out the dataset's material with the query's own id (shown and marked by "
                        "default: "
                        "for a file of a material the dataset holds, it is usually the best answer)")
    p.add_argument("--keep-file-zero", action="store_true",
                   help="keep each file's own Fermi level as the energy zero (default: a gapped material's "
                        "zero is moved just above its valence-band maximum, the convention of 2Dmatpedia "
                        "and of our DFT)")
    p.add_argument("--out", type=Path, metavar="CSV", help="also write the result table")
    add_scale_argument(p)
    add_figure_arguments(p)
    p.set_defaults(func=run)  # fmt: skip


def run(args) -> int:
    from elfutils.analysis.fingerprints import read_fingerprints, write_table
    from elfutils.analysis.similar import encode_band_files, find_similar

    check_outputs(args.out)  # before the search: a read-only folder is one line, at once
    try:
        if args.fingerprints is None:
            table, args.model = _profile_fingerprints(args.profile, args.model)
        else:
            table = read_fingerprints(args.fingerprints)
        if len(args.queries) == 1 and args.queries[0].suffix.lower() in _TABLE_SUFFIXES:
            queries = read_fingerprints(args.queries[0])
        else:
            if args.model is None:
                raise ValueError("--model is needed to encode band files")
            from elfutils.data.figure_reader import figure_options
            from elfutils.nn.checkpoint import CheckpointError  # imports torch: only when encoding

            try:  # the encoder reads the files: a figure's --energy-range/--path reach it this way
                with figure_options(args.figure):
                    queries = encode_band_files(args.queries, args.model, device=args.device,
                                                zero="file" if args.keep_file_zero else None)
            except CheckpointError as exc:
                raise ValueError(str(exc)) from None
        index, notes = _search_index(args, table)
        clusterer = None
        if not args.no_cluster and index is None:
            from elfutils.analysis.cluster import FingerprintHDBSCAN

            clusterer = FingerprintHDBSCAN().fit(table)
        elif not args.no_cluster:
            notes.append("query cluster: not computed on the graph path (fitting HDBSCAN per search would "
                         "cost more than the search); an hdbscan_label column in the table, from "
                         "`elf cluster`, is shown for the neighbours")
        result = find_similar(queries, table, k=args.k, clusterer=clusterer, exclude_ids=args.exclude_same_id,
                              index=index)
    except INPUT_ERRORS as exc:
        return report_error("similar", exc)
    if args.out:
        write_table(result, args.out)
    import pandas as pd

    shown = result.assign(same_id=result["same_id"].map({True: "same id", False: ""}))
    with pd.option_context("display.width", 140, "display.max_rows", 500):
        print(shown.to_string(index=False, formatters={"closer_pairs_percent": "{:.3g}".format}))
    print("distance: Minkowski p = 0.2 (the clustering's); closer_pairs_percent: share of the dataset's own "
          "pairs "
          "of materials that are closer")
    for note in notes:
        print(note)
    return 0


def _search_index(args, table):
    """(index or None, notes): on the graph path, the table's similarity index, cached beside it."""
    from elfutils.analysis.fingerprints import fingerprint_matrix
    from elfutils.analysis.neighbors import SimilarityIndex, cached_index, resolve_scale

    if resolve_scale(len(table), args.scale) == "dense":
        return None, []
    X = fingerprint_matrix(table)
    if args.fingerprints is None:
        return SimilarityIndex.build(X), ["search index: built (profile tables are not cached)"]
    index, status = cached_index(args.fingerprints, X)
    return index, [f"search index: {status}"]


def _profile_fingerprints(profile: str, model):
    """(fingerprint table, model file) of a profile's dataset, never training: its fingerprints are only
    comparable with a query encoded by the same model."""
    from elfutils.book import pipeline

    if model is not None:
        raise ValueError("--model needs --fingerprints made with that model (without --fingerprints the "
                         "search "
                         "uses the dataset's own model)")
    path, why = pipeline.trained_model_file(profile)
    if path is None:
        raise ValueError(f"{why}; build it with `make models` or `make book`, or pass --fingerprints and "
                         f"--model")
    return pipeline.fingerprints(profile), path

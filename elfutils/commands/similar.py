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
        "its fingerprints are computed once and cached. "
        "Reading the result: closer_pairs_percent is the share of the dataset's own pairs of materials that "
        "are closer than the neighbour is to the query (smaller is closer; 50 is a typical pair of unrelated "
        "materials); the footer gives what a dataset material's own nearest neighbour scores, the yardstick "
        "of a good match. query_cluster is the HDBSCAN cluster the query would join, -1 when it would stay "
        "unclassified (no cluster is dense enough around it); query_probability how firmly it belongs (0 to "
        "1, 0 when unclassified). The raw Minkowski distances (astronomically large numbers, meaningful only "
        "beside each other) are printed with --raw-distance and always written by --out. "
        "Bad input (an unreadable query, model or table) ends with one line naming it and exit code 2.",
    )
    p.add_argument("queries", nargs="+", type=Path, metavar="QUERY_FILE",
                   help=inputs_help(stores=False) + "; or one fingerprint table (.parquet/.csv)")
    p.add_argument("--fingerprints", type=Path, metavar="TABLE",
                   help="fingerprint table to search (default: the dataset of --profile)")
    p.add_argument("--model", type=Path, metavar="MODEL",
                   help="trained elf model that made the table (default: the model of --profile); without "
                        "--fingerprints, 'elf2' searches --profile's materials encoded by elf-2")
    p.add_argument("--profile", default="default",
                   help="without --fingerprints: whose dataset and model to search (elfutils.book.profiles; "
                        "default: the embedded GPAW dataset; atlas: every 2Dmatpedia material computed, with "
                        "the model trained on all of them; 2dmatpedia: the imported VASP files)")
    p.add_argument("--clusters", type=Path, metavar="TABLE",
                   help="a table from `elf cluster` of the --fingerprints table: each neighbour's "
                        "hdbscan_label is shown (on the graph path, the only cluster information)")
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
    p.add_argument("--raw-distance", action="store_true",
                   help="also print the raw Minkowski p = 0.2 distance (always in the --out table)")
    p.add_argument("--out", type=Path, metavar="CSV",
                   help="also write the result table (with the raw distance)")
    add_scale_argument(p)
    add_figure_arguments(p)
    p.set_defaults(func=run)  # fmt: skip


def run(args) -> int:
    from elfutils.book.cache import files_hashed_once

    with files_hashed_once():  # the model, stores and queries do not change during one search
        return _run(args)


def _run(args) -> int:
    from elfutils.analysis.fingerprints import read_fingerprints, write_table
    from elfutils.analysis.similar import find_similar

    check_outputs(args.out)  # before the search: a read-only folder is one line, at once
    try:
        # the profile's own table (its own model): its fitted HDBSCAN is a book stage
        own_profile = args.profile if args.fingerprints is None and args.model is None else None
        if args.fingerprints is None:
            table, args.model = _profile_fingerprints(args.profile, args.model)
        else:
            table = read_fingerprints(args.fingerprints)
        if args.clusters is not None:
            table = _with_cluster_labels(table, args.clusters)
        query_files = None
        if len(args.queries) == 1 and args.queries[0].suffix.lower() in _TABLE_SUFFIXES:
            queries = read_fingerprints(args.queries[0])
            windowed, notes = [], []
        else:
            query_files = [str(q) for q in args.queries]  # two files of one material: same id, two paths
            if args.model is None:
                raise ValueError("--model is needed to encode band files")
            kept = _kept_queries_path(args)
            queries = _read_kept_queries(kept)
            if queries is not None:
                windowed = []
                queries.attrs["files"] = query_files
                notes = ["query fingerprints: read from the cache (these files, this model, encoded before)"]
            else:
                from elfutils.nn.checkpoint import CheckpointError  # imports torch: only when encoding

                try:
                    windowed, queries, notes = _encode_queries(args, table)
                except CheckpointError as exc:
                    raise ValueError(str(exc)) from None
                if kept is not None and not windowed:
                    _keep_queries(queries, kept)
        index, index_notes = _search_index(args, table)
        notes += index_notes
        clusterer = None
        if not args.no_cluster and index is None and len(queries):
            clusterer, status = _fitted_clusterer(table, own_profile)
            notes.append(f"query cluster: HDBSCAN {status}")
        elif not args.no_cluster and len(queries):
            notes.append("query cluster: not computed on the graph path (fitting HDBSCAN per search would "
                         "cost more than the search)" + ("" if args.clusters else "; --clusters TABLE (from "
                         "`elf cluster`) shows each neighbour's cluster"))
        calibration = _calibration(table, index, own_profile)
        results = []
        if len(queries):
            results.append(find_similar(queries, table, k=args.k, clusterer=clusterer,
                                        exclude_ids=args.exclude_same_id, index=index,
                                        query_files=queries.attrs.get("files", query_files),
                                        reference=calibration.reference))
        for window_table, window_queries in windowed:  # figures: in the window they show (no cluster)
            results.append(find_similar(window_queries, window_table, k=args.k,
                                        exclude_ids=args.exclude_same_id,
                                        query_files=window_queries.attrs["files"]))
        result = _in_query_order(results, query_files)
    except INPUT_ERRORS as exc:
        return report_error("similar", exc)
    if args.out:
        write_table(result, args.out)
    import pandas as pd

    shown = result.assign(same_id=result["same_id"].map({True: "same id", False: ""}))
    if not args.raw_distance:
        shown = shown.drop(columns="distance")
    with pd.option_context("display.width", 140, "display.max_rows", 500):
        print(shown.to_string(index=False, formatters={"closer_pairs_percent": "{:.3g}".format}))
    for line in _footer(result, calibration.own_nearest, index, args):
        print(line)
    for note in notes:
        print(note)
    return 0


def _encode_queries(args, table):
    """(windowed, queries, notes): the band files encoded by the model; a figure that shows less than the
    model's energy window is cropped to the window it shares with the model's images and goes into
    ``windowed`` as (the profile's table in that window, its fingerprint) pairs
    (:mod:`elfutils.analysis.figure_window`); the rest make ``queries`` (paths in ``attrs["files"]``)."""
    from elfutils.analysis.figure_window import crop_to_window, group_by_window, window_label
    from elfutils.analysis.similar import encode_records, read_query_files
    from elfutils.nn.fingerprinter import load_fingerprinter

    model = load_fingerprinter(args.model, device=args.device)
    paths = [str(q) for q in args.queries]
    records = read_query_files(args.queries, model, "file" if args.keep_file_zero else None, args.figure)
    windowed, notes, plain = [], [], []
    for window, members in group_by_window(records, model.settings.window_ev).items():
        if window is None:
            plain = members
            continue
        names = ", ".join(paths[i] for i in members)
        if args.fingerprints is not None:  # no band structures behind the table to crop: say so
            notes.append(f"{names}: the figure shows only {window_label(window)} of the model's "
                         f"±{model.settings.window_ev:g} eV; the rows it does not show count as empty, which "
                         "pushes it away from its look-alikes (--profile compares in the shared window)")
            plain += members
            continue
        from elfutils.commands.export_fingerprints import load_windowed_fingerprints

        cropped = [crop_to_window(records[i], window) for i in members]
        window_queries = encode_records(cropped, model, [paths[i] for i in members])
        window_queries.attrs["files"] = [paths[i] for i in members]
        windowed.append((load_windowed_fingerprints(args.profile, window, model), window_queries))
        notes.append(f"{names}: compared in the window it shares with the model's images, "
                     f"{window_label(window)} (every material re-drawn without the rest; no query cluster)")
    plain.sort()
    queries = encode_records([records[i] for i in plain], model, [paths[i] for i in plain])
    queries.attrs["files"] = [paths[i] for i in plain]
    return windowed, queries, notes


KEPT_QUERY_MAX_BYTES = 256 * 2**20  # a larger query file is read, not hashed for the cache


def _kept_queries_path(args):
    """Where the query files' fingerprints are kept, so that searching the same files again skips reading,
    drawing and encoding them (and importing torch: about 2 s of a search on a 2-core CPU): keyed by each
    file's path and bytes (and a vasprun's KPOINTS beside it, which gives its labels), the model file's
    bytes, the energy-zero choice, the device asked for, the versions of torch and pymatgen and the source of
    the code that reads, draws and encodes. None when not kept: figures (their reading has options of their
    own), a model given by name or folder, or anything but a regular file of sensible size (the reader then
    says what is wrong with it)."""
    import os
    from importlib.metadata import version

    from elfutils.book.cache import code_hash, file_hash, hash_json
    from elfutils.data.figure_reader import is_figure
    from elfutils.paths import cache_dir

    if args.figure is not None or not Path(args.model).is_file():
        return None
    files = []
    try:
        for path in map(Path, args.queries):
            if not path.is_file() or path.stat().st_size > KEPT_QUERY_MAX_BYTES:
                return None
            with open(path, "rb") as fh:
                if is_figure(fh.read(16)):
                    return None
            beside = path.parent / "KPOINTS"
            files.append([str(path), file_hash(path), file_hash(beside) if beside.is_file() else None])
    except OSError:
        return None
    code = [code_hash(m) for m in ("nn.fingerprinter", "data.readers", "analysis.similar")]
    key = hash_json({"files": files, "model": file_hash(args.model), "keep_file_zero": args.keep_file_zero,
                     "device": args.device or os.environ.get("ELF_DEVICE"),
                     "versions": [version("torch"), version("pymatgen")], "code": code})
    return cache_dir() / "query-fingerprints" / f"{key[:24]}.parquet"


def _read_kept_queries(path):
    """The kept query fingerprints, or None when there are none or they cannot be read (encoded again)."""
    from elfutils.analysis.fingerprints import fingerprint_matrix, read_table

    if path is None or not path.is_file():
        return None
    try:  # read as written (two files of one material share an id, which a fingerprint table refuses)
        table = read_table(path, dtype={"material_id": str, "formula": str})
        fingerprint_matrix(table)
        return table
    except Exception:  # damaged or foreign: encoding again is always right
        return None


def _keep_queries(queries, path) -> None:
    from elfutils.analysis.fingerprints import write_table

    try:
        write_table(queries, path)
    except (OSError, ValueError):
        pass  # a read-only cache, or nothing a table can hold: the files are encoded again next time


def _in_query_order(results, query_files):
    """The searches' rows, queries in the order they were given, each query's neighbours by rank."""
    import numpy as np
    import pandas as pd

    result = pd.concat(results, ignore_index=True)
    if "query_cluster" in result.columns:  # a figure searched in its own window joins no cluster: <NA>
        result["query_cluster"] = result["query_cluster"].astype("Int64")
    if query_files is None or "query_file" not in result.columns:
        return result
    position = {f: i for i, f in reversed(list(enumerate(query_files)))}
    order = result["query_file"].map(position)
    return result.iloc[np.lexsort((result["rank"].to_numpy(), order.to_numpy()))].reset_index(drop=True)


def _footer(result, own, index, args) -> list[str]:
    """How to read the printed table: what closer_pairs_percent counts as a good match here (the score of
    the dataset's own nearest neighbours), what query_cluster and query_probability mean, where the distance
    is."""
    import numpy as np

    lines = ["closer_pairs_percent: the share of the dataset's own pairs of materials that are closer than "
             "the neighbour is to the query (smaller is closer; 50 is a typical pair of unrelated "
             "materials)."]
    if len(own):
        lines.append(f"  A good match: a dataset material's own nearest neighbour scores "
                     f"{np.median(own):.2g} (median; 90 % of them below {np.percentile(own, 90):.2g}); "
                     "a neighbour at or below that is as close as the dataset's own look-alikes.")
    if "query_cluster" in result.columns:
        lines.append("query_cluster: the HDBSCAN cluster the query would join; -1: none (it would stay "
                     "unclassified: no cluster is dense enough around it). query_probability: how firmly it "
                     "belongs, 0 to 1 (0 when unclassified).")
    if "query_file" in result.columns:
        lines.append("query: the material id read from the query file (query_file).")
    shown = "shown above" if args.raw_distance else "shown with --raw-distance"
    written = f"written to {args.out}" if args.out else "written by --out"
    lines.append("distance: Minkowski p = 0.2, the clustering's (astronomically large numbers, meaningful "
                 f"only beside each other): {shown}; {written}")
    return lines


def _calibration(table, index, profile: str | None = None):
    """The table's :class:`~elfutils.analysis.similar.Calibration` (the pair distances behind
    closer_pairs_percent, what its own nearest neighbours score): a profile's own table reads its book stage
    (committed for the default and atlas profiles); any other table's is kept in the cache under its
    fingerprints (sha256 of the matrix) and the search path, worked out once (about a second for 4602
    materials on a 2-core CPU)."""
    from elfutils.analysis.similar import Calibration, calibrate
    from elfutils.book.cache import code_hash

    if profile is not None and index is None:
        from elfutils.book.stages import search_calibration

        return search_calibration.calibration(profile)
    path_kind = "dense" if index is None else "graph"
    code = [code_hash("analysis.similar")] + ([] if index is None else [code_hash("analysis.neighbors")])
    X, kept = _kept_for_table(table, "search-calibrations", f"{path_kind} {code}")
    try:
        return Calibration.load(kept)
    except ValueError:
        pass  # not worked out yet, or damaged: worked out again
    found = calibrate(X, index=index)
    try:
        found.save(kept)
    except OSError:
        pass  # a read-only cache: worked out again next time
    return found


def _kept_for_table(table, folder: str, settings: str):
    """(the table's fingerprint matrix, where something worked out from it is kept): the cache file named by
    the sha256 of the matrix and of the ``settings`` it was worked out with."""
    import hashlib

    import numpy as np

    from elfutils.analysis.fingerprints import fingerprint_matrix
    from elfutils.paths import cache_dir

    X = np.ascontiguousarray(fingerprint_matrix(table), dtype=np.float64)
    digest = hashlib.sha256(f"{X.shape} {settings}\n".encode() + X.tobytes()).hexdigest()[:24]
    return X, cache_dir() / folder / f"{digest}.npz"


def _with_cluster_labels(table, clusters_path):
    """The fingerprint table with each material's ``hdbscan_label`` from a table of `elf cluster`; every
    material of the fingerprint table must be in it (else it was made from another table)."""
    from elfutils.analysis.fingerprints import read_table

    clusters = read_table(clusters_path)
    missing = [c for c in ("material_id", "hdbscan_label") if c not in clusters.columns]
    if missing:
        raise ValueError(f"{clusters_path}: no {' or '.join(missing)} column; --clusters takes the table "
                         "`elf cluster --out` writes")
    try:
        labels = dict(zip(clusters["material_id"].astype(str), clusters["hdbscan_label"].astype(int),
                          strict=True))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{clusters_path}: hdbscan_label must be whole numbers ({exc})") from None
    ids = table["material_id"].astype(str)
    absent = ids[~ids.isin(labels.keys())]
    if len(absent):
        raise ValueError(f"{clusters_path}: {len(absent)} of the {len(ids)} materials of the fingerprint "
                         f"table are not in it (e.g. {absent.iloc[0]}): was it clustered from another table?")
    return table.assign(hdbscan_label=ids.map(labels).to_numpy())


def _fitted_clusterer(table, profile: str | None = None):
    """(FingerprintHDBSCAN fitted on the table, where it came from). A profile's own table (``profile``) has
    its fitted model as a book stage, committed for the default and atlas profiles
    (:mod:`elfutils.book.stages.search_clusterer`); any other table's is kept in the cache under the sha256 of
    its fingerprints, so the next search of the same table reads it instead of fitting again (the fit is
    mostly the table's pairwise distances: about 2 s for 1950 materials, 13 s for 4602, on a 2-core CPU)."""
    import numpy as np

    from elfutils.analysis.cluster import FingerprintHDBSCAN

    if profile is not None:
        from elfutils.book.stages import search_clusterer

        return search_clusterer.clusterer(profile), f"the {profile} profile's fitted model (a book stage)"
    clusterer = FingerprintHDBSCAN()
    params = {name: getattr(clusterer, name) for name in FingerprintHDBSCAN._SAVED_PARAMS}
    X, path = _kept_for_table(table, "search-clusterers", str(sorted(params.items())))
    if path.exists():
        try:
            fitted = FingerprintHDBSCAN.load(path)
            if np.array_equal(fitted.X_, X):
                return fitted, "read from the cache"
        except ValueError:
            pass  # damaged: fitted again below and overwritten
    fitted = clusterer.fit(table)
    try:
        fitted.save(path)
        status = f"fitted and cached ({path.name})"
    except OSError as exc:  # a read-only cache: search anyway, say why nothing was kept
        status = f"fitted, not cached ({exc})"
    return fitted, status


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
    comparable with a query encoded by the same model (:func:`elfutils.commands.export_fingerprints.
    load_fingerprints`). ``model``: None (the profile's own model) or ``elf2``."""
    from elfutils.commands.export_fingerprints import load_fingerprints

    if model is not None:
        from elfutils.nn.fingerprinter import ELF2_MODEL  # imports torch: only when a model is named

        if str(model) != ELF2_MODEL:
            raise ValueError(f"--model needs --fingerprints made with that model (without --fingerprints "
                             f"the search uses the dataset's own model, or elf-2's with --model "
                             f"{ELF2_MODEL})")
        model = ELF2_MODEL
    try:
        table = load_fingerprints(profile, model)
    except ValueError as exc:
        raise ValueError(f"{exc}, or pass --fingerprints and --model") from None
    return table, Path(table.attrs["model"])

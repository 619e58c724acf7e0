"""`elf cluster`: fingerprint table -> HDBSCAN clusters, UMAP coordinates and DBSCAN groups (Fig. 2)."""

from __future__ import annotations

from pathlib import Path

from elfutils.commands._common import INPUT_ERRORS, add_scale_argument, check_outputs, report_error


def _eps(value: str):
    if value == "knee":
        return value
    try:
        eps = float(value)
    except ValueError:
        raise ValueError(f"--eps must be a positive number or 'knee', got {value!r}") from None
    return eps


def register(subparsers) -> None:
    from elfutils.constants import (
        DBSCAN_MIN_SAMPLES,
        HDBSCAN_MIN_CLUSTER_SIZE,
        HDBSCAN_MIN_SAMPLES,
        MINKOWSKI_P,
        UMAP_MIN_DIST,
        UMAP_N_NEIGHBORS,
    )

    p = subparsers.add_parser(
        "cluster",
        help="cluster fingerprints: HDBSCAN (Minkowski p=0.2), UMAP to 2-D, DBSCAN groups on the UMAP",
        description="Write one row per material: material_id, formula, hdbscan_label (-1 unclassified), "
        "probability, umap_x, umap_y, dbscan_group (-1: DBSCAN noise or unclassified by HDBSCAN).",
    )
    p.add_argument("fingerprints", type=Path, metavar="FINGERPRINTS",
                   help="fingerprint table (.parquet or .csv)")
    p.add_argument("--out", type=Path, required=True, metavar="TABLE", help="output table (.parquet or .csv)")
    p.add_argument("--exemplars", type=Path, metavar="CSV",
                   help="also write the exemplar table (by probability)")
    p.add_argument("--tree", type=Path, metavar="CSV", help="also write the cluster-level condensed tree")
    p.add_argument("--min-cluster-size", type=int, default=HDBSCAN_MIN_CLUSTER_SIZE,
                   help=f"HDBSCAN Nc (default {HDBSCAN_MIN_CLUSTER_SIZE})")
    p.add_argument("--min-samples", type=int, default=HDBSCAN_MIN_SAMPLES,
                   help=f"HDBSCAN Ns (default {HDBSCAN_MIN_SAMPLES})")
    p.add_argument("--p", type=float, default=MINKOWSKI_P, help=f"Minkowski exponent (default {MINKOWSKI_P})")
    p.add_argument("--n-neighbors", type=int, default=UMAP_N_NEIGHBORS,
                   help=f"UMAP NN (default {UMAP_N_NEIGHBORS})")
    p.add_argument("--min-dist", type=float, default=UMAP_MIN_DIST, help=f"UMAP MD (default {UMAP_MIN_DIST})")
    p.add_argument("--eps", type=str, default="knee",
                   help="DBSCAN eps on the UMAP plane: a number, or 'knee' (default) for the knee of the "
                        "k-distance curve")
    p.add_argument("--dbscan-min-samples", type=int, default=DBSCAN_MIN_SAMPLES,
                   help=f"DBSCAN S_min (default {DBSCAN_MIN_SAMPLES})")
    add_scale_argument(p)
    p.set_defaults(func=run)  # fmt: skip


def run(args) -> int:
    from elfutils.analysis.cluster import cluster_tree_table, exemplar_table, fit_pipeline, write_exemplars
    from elfutils.analysis.fingerprints import read_fingerprints, write_table

    check_outputs(args.out, args.exemplars, args.tree)  # before the fit: a read-only folder is one line
    try:
        df = read_fingerprints(args.fingerprints)
        table, model = fit_pipeline(
            df,
            min_cluster_size=args.min_cluster_size,
            min_samples=args.min_samples,
            p=args.p,
            n_neighbors=args.n_neighbors,
            min_dist=args.min_dist,
            eps=_eps(args.eps),
            dbscan_min_samples=args.dbscan_min_samples,
            return_model=True,
            scale=args.scale,
        )
    except INPUT_ERRORS as exc:
        return report_error("cluster", exc)
    write_table(table, args.out)
    if args.exemplars:
        write_exemplars(exemplar_table(model), args.exemplars)
    if args.tree:
        write_table(cluster_tree_table(model), args.tree)
    n_groups = len(set(table["dbscan_group"]) - {-1})
    print(
        f"{len(table)} materials: {model.n_clusters_} HDBSCAN clusters, "
        f"{model.n_unclassified_} unclassified; "
        f"{n_groups} DBSCAN groups (eps {table.attrs['dbscan_eps']:.3g}; {table.attrs['scale']} path) -> "
        f"{args.out}"
    )
    return 0

"""Cost against N of the analyses at scale: clustering, duplicates, similarity search and encoding.

    .venv/bin/python benchmarks/bench_scale.py [--fingerprints TABLE] [--sizes 10000 100000]
        [--similar-sizes 10000 100000 1000000] [--encode-sizes 500 2000]

Fingerprint sets with realistic cluster structure are made from our real fingerprints (the default profile's,
or ``--fingerprints``): each new material lies on the segment between a real material and one of its 10
nearest neighbours (a seeded fraction up to half-way), so the sets keep the real clusters and formulas and
fill them more densely as N grows. Each stage runs in its own process (wall time, and its own peak memory
from ``getrusage``), the exact path beside the graph path where the N x N matrix fits (N = 10 000), and
writes benchmarks/results/scale.json after every stage, so a stopped run keeps what it measured.

Stages: ``cluster`` (HDBSCAN + UMAP + DBSCAN, `elf cluster`), ``duplicates`` (`elf duplicates`), ``similar``
(index build, then 100 queries not in the table: ms per query and recall@10 against brute force) and
``encode`` (`elf encode --store` over stores of M materials: peak memory against M).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "scale.json"
WORK = Path(os.environ.get("ELF_BENCH_WORK", "/tmp/elf-bench-scale"))
GOALS = {"similar_ms_per_query_at_1M": 100, "similar_recall_at_10": 0.95, "cluster_s_at_100k": 15 * 60,
         "cluster_peak_mb_at_100k": 8000, "duplicates_s_at_100k": 5 * 60}
N_QUERIES = 100
DENSE_FITS_N = 20_000  # the exact path runs up to here (3.2 GB matrix); 100 000 would need 80 GB


# --- the data ----------------------------------------------------------------------------------------------
def scaled_set(X: np.ndarray, formulas: np.ndarray, n: int, seed: int = 0):
    """``n`` fingerprints (float32) and formulas: the real ones first, then points between a real material
    and one of its 10 nearest neighbours."""
    from elfutils.analysis.neighbors import exact_knn

    rng = np.random.default_rng(seed)
    if n <= len(X):
        keep = np.sort(rng.choice(len(X), n, replace=False))
        return X[keep].astype(np.float32), formulas[keep]
    neighbours, _ = exact_knn(X, 10)
    base = rng.integers(0, len(X), n - len(X))
    partner = neighbours[base, rng.integers(0, 10, len(base))]
    t = rng.uniform(0.0, 0.5, (len(base), 1))
    new = X[base] + t * (X[partner] - X[base])
    return np.vstack([X, new]).astype(np.float32), np.r_[formulas, formulas[base]]


def queries_for(X: np.ndarray, seed: int = 1) -> np.ndarray:
    """Queries that are not table rows: table materials moved a little towards a random other one."""
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, len(X), N_QUERIES), rng.integers(0, len(X), N_QUERIES)
    return (X[i] + 0.05 * (X[j] - X[i])).astype(np.float32)


# --- one stage, in its own process -------------------------------------------------------------------------
def run_stage(stage: str, data: Path, **options) -> dict:
    """Run ``stage`` on ``data`` in a fresh process; its result dict (or the error)."""
    cmd = [sys.executable, __file__, "--stage", stage, "--data", str(data),
           "--options", json.dumps(options)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"error": tail[0], "wall_s": round(time.perf_counter() - started, 1)}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def stage_main(stage: str, data: Path, options: dict) -> dict:
    import pandas as pd

    from elfutils.analysis import neighbors
    from elfutils.analysis.fingerprints import make_table

    reset_peak_memory()
    arrays = np.load(data, allow_pickle=False)
    X, formulas = arrays["X"], arrays["formulas"]
    started = time.perf_counter()
    out: dict = {"n": len(X)}
    if stage in ("cluster", "duplicates"):
        df = make_table([f"m{i}" for i in range(len(X))], formulas, X)
        scale = options["scale"]
        started = time.perf_counter()
        if stage == "cluster":
            from elfutils.analysis.cluster import fit_pipeline

            table = fit_pipeline(df, scale=scale)
            out.update(n_clusters=int(table.attrs["n_clusters"]), scale=table.attrs["scale"])
            labels_path = options.get("labels")
            if labels_path:
                pd.DataFrame({"hdbscan_label": table["hdbscan_label"]}).to_parquet(labels_path)
        else:
            from elfutils.analysis.duplicates import find_duplicates

            result = find_duplicates(df, scale=scale)
            out.update(n_candidates=len(result.candidates), threshold=result.threshold,
                       pairs=[list(p) for p in result.candidates[["material_id_a", "material_id_b"]]
                              .itertuples(index=False)][:1000])
    elif stage == "similar":
        Q = queries_for(X)
        started = time.perf_counter()
        index = neighbors.SimilarityIndex.build(X)
        out["build_s"] = round(time.perf_counter() - started, 2)
        index.query(Q[:2], k=10)  # compile / warm up outside the timing
        t0 = time.perf_counter()
        exact, _ = neighbors.exact_knn(X, 10, queries=Q)
        out["brute_force_ms_per_query"] = round((time.perf_counter() - t0) / len(Q) * 1e3, 2)
        out["probes"] = []
        for n_probe in sorted({4, neighbors.INDEX_PROBE, 32}):
            t0 = time.perf_counter()
            found, _ = index.query(Q, k=10, n_probe=n_probe)
            row = {"n_probe": n_probe, "ms_per_query": round((time.perf_counter() - t0) / len(Q) * 1e3, 2),
                   "recall_at_10": round(neighbors.neighbour_recall(found, exact), 4)}
            out["probes"].append(row)
            if n_probe == neighbors.INDEX_PROBE:  # the default, what `elf similar` uses
                out.update(ms_per_query=row["ms_per_query"], recall_at_10=row["recall_at_10"])
    elif stage == "knn":
        graph = neighbors.knn_graph(X, neighbors.GRAPH_K, method=options["method"])
        out["method"] = graph.method
        sample = np.random.default_rng(2).choice(len(X), min(200, len(X)), replace=False)
        truth, _ = neighbors.exact_knn(X, 10 + 1, queries=X[sample])
        truth = np.array([row[row != s][:10] for row, s in zip(truth, sample, strict=True)])
        out["recall_at_10"] = round(neighbors.neighbour_recall(graph.indices[sample, :10], truth), 4)
    elif stage == "encode":
        out.update(encode_stage(options))
    else:
        raise ValueError(f"unknown stage {stage}")
    out["wall_s"] = round(time.perf_counter() - started, 2)
    out["peak_mb"] = peak_memory_mb()
    return out


def reset_peak_memory() -> None:
    """Forget the peak memory this process inherited: a child forked from the driver starts with the driver's
    resident pages, and getrusage's maxrss keeps them across exec (writing 5 to clear_refs resets VmHWM)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_memory_mb() -> float:
    """This process's peak resident memory since :func:`reset_peak_memory` (VmHWM), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def encode_stage(options: dict) -> dict:
    """Encode a store of ``m`` materials (the real store's records under new ids) with the committed model."""
    import dataclasses

    import torch

    from elfutils.analysis.encode_store import encode_store
    from elfutils.data.store import BandStore
    from elfutils.nn.fingerprinter import load_fingerprinter

    torch.set_num_threads(2)
    m = options["m"]
    store_path = WORK / f"encode-{m}.elfstore"
    if not store_path.exists():
        source = BandStore(ROOT / "data" / "bands" / "gpaw-pbe.elfstore")
        records, copy = [], 0
        while len(records) < m:
            for bs in source.stream():
                records.append(dataclasses.replace(bs, material_id=f"{bs.material_id}-r{copy}"))
                if len(records) == m:
                    break
            copy += 1
        target = BandStore(store_path)
        for start in range(0, m, 500):  # parts of 500, as `elf import` writes them
            target.append(records[start:start + 500])
        del records
    reset_peak_memory()  # what is measured is the encoding, not the making of the test store
    from elfutils.book import pipeline

    model_file, why = pipeline.trained_model_file("default")
    if model_file is None:
        raise RuntimeError(why)
    model = load_fingerprinter(model_file, device="cpu")
    started = time.perf_counter()
    n = encode_store(store_path, model, WORK / f"encode-{m}.parquet")
    return {"m": n, "images_per_s": round(n / (time.perf_counter() - started), 1)}


# --- the driver --------------------------------------------------------------------------------------------
def save(result: dict, path: Path) -> None:
    from elfutils.io import atomic_write_json

    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    atomic_write_json(path, result)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fingerprints", type=Path, help="real fingerprint table (default: the default "
                                                          "profile's, computed by the pipeline)")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--similar-sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--encode-sizes", type=int, nargs="*", default=[500, 2000])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--rerun", nargs="*", metavar="STAGE:N[:PATH]", default=None,
                        help="measure only these (e.g. duplicates:100000:graph encode:500) and replace their "
                             "rows in --out")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        print(json.dumps(stage_main(args.stage, args.data, json.loads(args.options))))
        return 0

    from elfutils.analysis.fingerprints import fingerprint_matrix, read_fingerprints

    if args.fingerprints:
        real = read_fingerprints(args.fingerprints)
    else:
        from elfutils.book import pipeline

        real = pipeline.fingerprints("default")
    X_real, formulas = fingerprint_matrix(real), real["formula"].astype(str).to_numpy()
    WORK.mkdir(parents=True, exist_ok=True)
    machine = {"processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count()}
    result = {"benchmark": __doc__.splitlines()[0], "machine": machine,
              "real_fingerprints": len(X_real), "goals": GOALS, "cluster": [], "duplicates": [],
              "knn": [], "similar": [], "encode": [], "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}

    def data_for(n: int) -> Path:
        path = WORK / f"set-{n}.npz"
        if not path.exists():
            X, f = scaled_set(X_real, formulas, n)
            np.savez(path, X=X, formulas=f.astype(str))
        return path

    if args.rerun is not None:
        return rerun(args.rerun, args.out, data_for)

    for n in args.sizes:
        data = data_for(n)
        paths = ["graph", "dense"] if n <= DENSE_FITS_N else ["graph"]
        for method in ["exact", "nndescent"] if n <= DENSE_FITS_N else ["nndescent"]:
            result["knn"].append({"method_asked": method, **run_stage("knn", data, method=method)})
            save(result, args.out)
            print("knn", result["knn"][-1], flush=True)
        for scale in paths:
            row = {"scale": scale, **run_stage("cluster", data, scale=scale,
                                               labels=str(WORK / f"labels-{n}-{scale}.parquet"))}
            result["cluster"].append(row)
            save(result, args.out)
            print("cluster", row, flush=True)
            dup = {"scale": scale, **run_stage("duplicates", data, scale=scale)}
            result["duplicates"].append(dup)
            save(result, args.out)
            print("duplicates", {k: v for k, v in dup.items() if k != "pairs"}, flush=True)
        if len(paths) == 2:
            result.setdefault("agreement", []).append(agreement(n, result))
            save(result, args.out)
            print("agreement", result["agreement"][-1], flush=True)
    for n in args.similar_sizes:
        result["similar"].append(run_stage("similar", data_for(n)))
        save(result, args.out)
        print("similar", result["similar"][-1], flush=True)
    for m in args.encode_sizes:
        result["encode"].append(run_stage("encode", data_for(min(args.sizes or [10_000])), m=m))
        save(result, args.out)
        print("encode", result["encode"][-1], flush=True)
    for row in result["duplicates"]:
        row.pop("pairs", None)  # kept only for the agreement check
    result["complete"] = True
    save(result, args.out)
    print(f"wrote {args.out}")
    return 0


def rerun(stages: list[str], out: Path, data_for) -> int:
    """Measure the listed stages again and put their rows in place of the old ones in ``out``."""
    result = json.loads(out.read_text())
    for item in stages:
        stage, size, *path = item.split(":")
        size, scale = int(size), (path or [None])[0]
        size_key = "m" if stage == "encode" else "n"
        if stage == "encode":
            row = run_stage("encode", data_for(10_000), m=size)
        elif stage in ("cluster", "duplicates"):
            row = {"scale": scale, **run_stage(stage, data_for(size), scale=scale)}
            row.pop("pairs", None)
        else:
            row = run_stage(stage, data_for(size))
        kept = [r for r in result[stage] if not (r.get(size_key) == size and r.get("scale") == scale)]
        result[stage] = [*kept, {**row, "rerun": time.strftime("%H:%M")}]
        save(result, out)
        print(stage, row, flush=True)
    return 0


def agreement(n: int, result: dict) -> dict:
    """Graph against exact at size n: HDBSCAN labels (ARI, cluster counts) and the duplicate pairs."""
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score

    labels = {s: pd.read_parquet(WORK / f"labels-{n}-{s}.parquet")["hdbscan_label"]
              for s in ("dense", "graph")}
    clusters = {r["scale"]: r.get("n_clusters") for r in result["cluster"] if r.get("n") == n}
    pairs = {r["scale"]: {tuple(sorted(p)) for p in r.get("pairs", [])}
             for r in result["duplicates"] if r.get("n") == n}
    return {"n": n, "hdbscan_ari": round(adjusted_rand_score(labels["dense"], labels["graph"]), 4),
            "n_clusters_dense": clusters.get("dense"), "n_clusters_graph": clusters.get("graph"),
            "duplicate_pairs_dense": len(pairs.get("dense", ())),
            "duplicate_pairs_graph": len(pairs.get("graph", ())),
            "duplicate_pairs_same": pairs.get("dense") == pairs.get("graph")}


if __name__ == "__main__":
    sys.exit(main())

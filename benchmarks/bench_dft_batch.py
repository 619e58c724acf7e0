"""The DFT batch on Dask against the previous home-made process pool, on the same small cells, in one run.

    .venv/bin/python benchmarks/bench_dft_batch.py [--n 20] [--repeats 2] [--workers 2]

The baseline is the pool batch exactly as it was before the move to Dask (``elfutils/dft_batch.py`` at commit
POOL_COMMIT, read from git; only its import paths are mapped to the new packages). Both compute the same
``--n`` small 2Dmatpedia cells (evenly spaced among the cheapest flat-band-pool outsiders of 4-8 atoms,
spin-paired) into fresh temporary stores, their runs alternated (pool, Dask, pool, Dask, ...) so that a load
that comes and goes slows both alike. Reported: materials per hour over the whole run (the Dask figure
includes
starting its LocalCluster) and over the steady part (first stored material to last), and the Dask/pool ratio.
Writes benchmarks/results/dft-batch.json. Goal: Dask's overhead <= 5 %.

Run it on an otherwise idle machine (stop or pause a running batch: ``kill -STOP`` / ``kill -CONT``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "dft-batch.json"
POOL_COMMIT = "6ff4eeb"  # the last commit with the process-pool batch
IMPORT_MAP = {"from elfutils.dft import": "from elfutils.dft.recipe import",
              "from elfutils.store import": "from elfutils.data.store import",
              "from elfutils.kpath import": "from elfutils.data.kpath import",
              "from elfutils.readers import": "from elfutils.data.readers import"}
GOAL_OVERHEAD = 0.05


def previous_pool():
    """The pool batch module of POOL_COMMIT, imported from a temporary file."""
    source = subprocess.run(["git", "show", f"{POOL_COMMIT}:elfutils/dft_batch.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    for old, new in IMPORT_MAP.items():
        source = source.replace(old, new)
    path = Path(tempfile.mkdtemp()) / "previous_pool_batch.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("previous_pool_batch", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def small_cells(n: int) -> list[str]:
    from elfutils.data.dataset import flat_band_ids, structure_records
    from elfutils.dft.recipe import START_MOMENTS

    pool = set(flat_band_ids())
    records = structure_records()
    small = sorted((mid for mid, r in records.items() if mid not in pool and 4 <= len(r["species"]) <= 8
                    and not any(s in START_MOMENTS for s in r["species"])),
                   key=lambda m: (len(records[m]["species"]), int(m.split("-")[1])))
    step = max(1, len(small) // n)
    return small[::step][:n]


def timed_run(run_batch, jobs, workers: int) -> dict:
    stored: list[float] = []
    compute: list[float] = []  # each material's own wall time inside its calculation

    def on_result(record):
        stored.append(time.perf_counter())
        compute.append(float(record.metadata.get("wall_time_s", "nan")))

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        counts = run_batch(jobs, Path(tmp) / "bench.elfstore", workers=workers, progress=False,
                           on_result=on_result)
        wall = time.perf_counter() - t0
    steady = stored[-1] - stored[0] if len(stored) > 1 else float("nan")
    return {"wall_s": wall, "steady_s": steady, "done": counts["done"], "failed": counts["failed"],
            "compute_s": sum(compute),
            "per_hour": 3600 * counts["done"] / wall,
            "steady_per_hour": 3600 * (len(stored) - 1) / steady if len(stored) > 1 else float("nan")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from elfutils.data.dataset import structure_records
    from elfutils.dft import batch as dask_batch

    pool = previous_pool()
    ids = small_cells(args.n)
    records = structure_records()
    engines = {"pool": (pool.run_dft_batch, [pool.Job(m, records[m]) for m in ids]),
               "dask": (dask_batch.run_dft_batch, [dask_batch.Job(m, records[m]) for m in ids])}
    runs: dict[str, list[dict]] = {"pool": [], "dask": []}
    load_before = os.getloadavg()
    for r in range(args.repeats):
        for name, (run_batch, jobs) in engines.items():
            runs[name].append(timed_run(run_batch, jobs, args.workers))
            print(f"round {r + 1} {name}: {runs[name][-1]['wall_s']:.1f} s, "
                  f"{runs[name][-1]['per_hour']:.0f} materials/h", flush=True)

    def median(name, key):
        return statistics.median(x[key] for x in runs[name])

    ratio = median("dask", "per_hour") / median("pool", "per_hour")
    steady_ratio = median("dask", "steady_per_hour") / median("pool", "steady_per_hour")
    result = {
        "what": "DFT batch throughput: Dask LocalCluster against the previous process pool, same cells",
        "materials": ids, "workers": args.workers, "repeats": args.repeats, "runs": runs,
        "pool_per_hour": median("pool", "per_hour"), "dask_per_hour": median("dask", "per_hour"),
        "ratio": ratio, "overhead": 1 - ratio, "steady_ratio": steady_ratio,
        "steady_overhead": 1 - steady_ratio,
        "goal_overhead": GOAL_OVERHEAD, "pool_commit": POOL_COMMIT,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "load_before": load_before, "load_after": os.getloadavg()},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"pool {result['pool_per_hour']:.0f} materials/h, Dask {result['dask_per_hour']:.0f} materials/h: "
          f"ratio {ratio:.3f} (overhead {100 * (1 - ratio):.1f} % with the cluster's start, "
          f"{100 * (1 - steady_ratio):.1f} % steady; goal <= {100 * GOAL_OVERHEAD:.0f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How long `elf similar FILE` takes on a fresh clone, the first time and every next time, for the default and
the atlas profile, against a baseline commit in the same run (the ratio is the figure to quote).

    .venv/bin/python benchmarks/bench_similar.py [--baseline a5e4e15] [--runs 3] [--work DIR]

Clones HEAD and the baseline into a scratch folder (uncommitted changes are not in them) and runs each
clone's code with this checkout's virtual environment (PYTHONPATH puts the clone first), each with an empty
cache of its own: the first call builds or copies what the search needs, the next ones reuse it. The query
is a real 2Dmatpedia file that ships (data/2dmatpedia-dft-bands/2dm-1.json). The run queue is sampled, so
the figures say whether other work shared the machine. Writes benchmarks/results/similar.json.
Goal (issue #30): at most 8 s the first time and 4 s every next time, for both profiles, on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_book import RunQueueSampler

from elfutils.io import atomic_write_json

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "similar.json"
QUERY = "data/2dmatpedia-dft-bands/2dm-1.json"
PROFILES = ("default", "atlas")
GOAL_FIRST_S, GOAL_NEXT_S = 8.0, 4.0


def clone(commit: str, target: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(ROOT), str(target)], check=True)
    subprocess.run(["git", "-C", str(target), "checkout", "-q", commit], check=True)
    return target


def timed_search(checkout: Path, profile: str, cache: Path) -> tuple[float, int]:
    """(wall seconds, exit code) of one `elf similar` run in ``checkout`` with ``cache``."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "ELF_CACHE_DIR": str(cache), "ELF_DEVICE": "cpu"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "elfutils.cli", "similar", QUERY, "--k", "10", "--profile",
                           profile], cwd=checkout, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        print(f"{checkout.name} {profile}: exit {done.returncode}: {done.stderr.strip()[-400:]}",
              file=sys.stderr)
    return seconds, done.returncode


def measure(checkout: Path, runs: int, work: Path) -> dict:
    out = {}
    for profile in PROFILES:
        cache = work / f"cache-{checkout.name}-{profile}"
        first, code = timed_search(checkout, profile, cache)
        nexts = [timed_search(checkout, profile, cache)[0] for _ in range(runs)]
        out[profile] = {"first_s": round(first, 2), "next_median_s": round(statistics.median(nexts), 2),
                        "next_s": [round(s, 2) for s in nexts], "exit_code": code}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="a5e4e15", help="commit to compare with (default %(default)s)")
    parser.add_argument("--runs", type=int, default=3,
                        help="next-time runs per profile (default %(default)s)")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    args = parser.parse_args()
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        work = Path(tmp)
        checkouts = {"head": clone(head, work / "head"), "baseline": clone(args.baseline, work / "baseline")}
        results = {}
        with RunQueueSampler() as load:
            for name, checkout in checkouts.items():
                results[name] = measure(checkout, args.runs, work)
    ratios = {p: {k: round(results["head"][p][k] / results["baseline"][p][k], 3)
                  for k in ("first_s", "next_median_s")} for p in PROFILES}
    report = {"head": head, "baseline": args.baseline, "query": QUERY, "results": results,
              "head_over_baseline": ratios, "goal_first_s": GOAL_FIRST_S, "goal_next_s": GOAL_NEXT_S,
              "machine": {"cpu_count": os.cpu_count(), "processor": platform.machine(),
                          "python": platform.python_version()},
              "runnable_mean": load.mean, "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    atomic_write_json(RESULTS, report)
    for name in ("head", "baseline"):
        for p in PROFILES:
            r = results[name][p]
            print(f"{name:8} {p:8} first {r['first_s']:6.2f} s   next {r['next_median_s']:6.2f} s (median of "
                  f"{args.runs})")
    for p in PROFILES:
        r = ratios[p]
        print(f"head/baseline {p:8} first x{r['first_s']:.2f}  next x{r['next_median_s']:.2f}")
    print(f"mean run queue {load.mean}; written {RESULTS}")


if __name__ == "__main__":
    main()

"""How long `make book` takes on a fresh clone: the figure the goals are about (`make venv` and the first
`make book` within 6 minutes on a 2-core machine with the committed model and results, issue #30).

    .venv/bin/python benchmarks/bench_book.py [--profile default] [--work DIR] [--keep]
    .venv/bin/python benchmarks/bench_book.py --retrain --work DIR --keep

Clones the committed state of this repository (HEAD, or ``--branch``; uncommitted changes are not in it) into
a scratch folder,
then times, one after the other: `make venv` (creating the clone's own .venv), `make book` with an empty cache
(the first build), `make book` again (the cached rebuild: every stage and notebook reused) and `make
linkcheck`;
it writes benchmarks/results/book-build.json. With ``--retrain`` it times `make book PROFILE=retrain` instead
(training the model and the architecture comparison from scratch: hours on a CPU) and writes
benchmarks/results/book-build-retrain.json. The run queue is sampled meanwhile, so that the figures say
whether
other work shared the machine. The book's reproducibility page shows both files.

The retrain build computes exactly what ``make models`` exports, so after a dataset change one training does
both jobs: time the retrain build with ``--keep``, then export from the clone's cache with
``python scripts/commit_models.py --refresh --cache DIR/elf/.cache``, commit models/, and time the default
build.
``--branch`` times another branch: e.g. a new dataset committed on a side branch, so that main never holds a
dataset without its model (tests/test_committed_models.py) while the retraining runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from elfutils.io import atomic_write_json

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "book-build.json"
RETRAIN_RESULTS = ROOT / "benchmarks" / "results" / "book-build-retrain.json"
# the project's goal (issue #30): a fresh clone's `make venv` and first `make book` together, with the
# committed model and results
GOAL_SECONDS = 6 * 60


class RunQueueSampler:
    """Mean number of runnable tasks (from /proc/loadavg) over the life of a ``with`` block."""

    def __init__(self, every_s: float = 1.0):
        self.every_s, self.samples, self._stop = every_s, [], threading.Event()

    def _loop(self):
        while not self._stop.wait(self.every_s):
            try:
                self.samples.append(int(Path("/proc/loadavg").read_text().split()[3].split("/")[0]))
            except (OSError, ValueError, IndexError):
                return

    def __enter__(self):
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def mean(self) -> float | None:
        return round(sum(self.samples) / len(self.samples), 2) if self.samples else None


def timed_make(clone: Path, target: str, log: Path, **variables) -> dict:
    """Run ``make target VAR=value ...`` in the clone, output to ``log``; seconds, exit code, run queue."""
    command = ["make", target, *(f"{k}={v}" for k, v in variables.items())]
    print(f"$ {' '.join(command)}  (log: {log})", flush=True)
    start = time.perf_counter()
    with RunQueueSampler() as queue, open(log, "w") as out:
        code = subprocess.run(command, cwd=clone, stdout=out, stderr=subprocess.STDOUT).returncode
    seconds = round(time.perf_counter() - start, 1)
    print(f"  {seconds:.0f} s, exit code {code}, mean runnable tasks {queue.mean}", flush=True)
    return {"command": " ".join(command), "seconds": seconds, "exit_code": code, "runnable_mean": queue.mean}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--retrain", action="store_true",
                        help="time `make book PROFILE=retrain` (hours) instead of the default profile's "
                             "builds")
    parser.add_argument("--work", type=Path, help="scratch folder for the clone (default: a new temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the clone (and its built book) afterwards")
    parser.add_argument("--branch", help="clone this branch instead of the checked-out one")
    parser.add_argument("--out", type=Path, help=f"results file (default: {RESULTS.name}, "
                        f"or {RETRAIN_RESULTS.name} with --retrain)")
    args = parser.parse_args(argv)
    out = args.out or (RETRAIN_RESULTS if args.retrain else RESULTS)

    work = args.work or Path(tempfile.mkdtemp(prefix="elf-book-bench-"))
    clone = work / "elf"
    if clone.exists():
        parser.error(f"{clone} exists: give an empty --work folder")
    work.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--verify", args.branch or "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    if not commit:
        parser.error(f"--branch {args.branch}: no such branch in {ROOT}")
    branch = ["--branch", args.branch] if args.branch else []
    subprocess.run(["git", "clone", "--quiet", *branch, str(ROOT), str(clone)], check=True)
    print(f"fresh clone of {commit[:10]} in {clone}", flush=True)

    steps = {"venv": timed_make(clone, "venv", work / "venv.log")}
    if args.retrain:
        stages = [("retrain_build", "book", {"PROFILE": "retrain"})]
    else:
        stages = [("first_build", "book", {"PROFILE": args.profile}),
                  ("cached_rebuild", "book", {"PROFILE": args.profile}),
                  ("linkcheck", "linkcheck", {})]
    for name, target, variables in stages:
        if all(s["exit_code"] == 0 for s in steps.values()):
            steps[name] = timed_make(clone, target, work / f"{name}.log", **variables)
    ok = all(s["exit_code"] == 0 for s in steps.values())
    first, cached = steps.get("first_build", {}), steps.get("cached_rebuild", {})
    result = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "commit": commit,
        "profile": "retrain" if args.retrain else args.profile,
        "machine": {"processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
                    "python": sys.version.split()[0]},
        "steps": steps,
        "all_succeeded": ok,
    }
    if not args.retrain:
        result["goal_first_build_s"] = GOAL_SECONDS
        result["cached_vs_first_ratio"] = (round(cached["seconds"] / first["seconds"], 4)
                                           if first.get("seconds") and cached.get("seconds") else None)
    if first.get("seconds"):
        with_venv = first["seconds"] + (steps.get("venv", {}).get("seconds") or 0.0)
        verdict = "within" if with_venv <= GOAL_SECONDS else "over"
        print(f"first build {first['seconds'] / 60:.1f} min, {with_venv / 60:.1f} min with make venv "
              f"({verdict} the {GOAL_SECONDS // 60}-minute goal)"
              + (f"; cached rebuild {cached['seconds']:.0f} s = {result['cached_vs_first_ratio']:.3f} x the "
                 f"first"
                 if cached.get("seconds") else ""))
    if ok:  # a failed run's figures would mislead the reproducibility page
        atomic_write_json(out, result)
        print(f"wrote {out}")
    else:
        print(f"a step failed: see the logs in {work}", file=sys.stderr)
    if args.keep:
        print(f"kept the clone: {clone}")
    elif ok:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

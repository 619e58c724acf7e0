"""What built the book, for the reproducibility chapter: git state, package versions, the machine, and the
benchmark results recorded under ``benchmarks/results/``."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

from elfutils.paths import PROJECT_ROOT

# --- what built the book (the reproducibility chapter) ------------------------------------------------------
BOOK_PACKAGES = (
    "elfutils", "numpy", "scipy", "pandas", "pyarrow", "matplotlib", "torch", "torchvision", "safetensors",
    "scikit-learn", "hdbscan", "umap-learn", "pymatgen", "matminer", "gpaw", "ase", "plotly", "jupyter-book",
    "myst-nb", "sphinx", "papermill", "jupytext", "ipykernel",
)


def project_path(path: str | Path) -> str:
    """A path as the book shows it, without the building machine's folders: relative to the project when
    inside it (``.venv/bin/python``), else relative to the cache folder (``$ELF_CACHE_DIR/models/...``), else
    the file name alone."""
    from elfutils.paths import cache_dir

    path = Path(path).absolute()
    if path.is_relative_to(PROJECT_ROOT):
        return path.relative_to(PROJECT_ROOT).as_posix()
    cache = cache_dir().absolute()
    if path.is_relative_to(cache):
        return (Path("$ELF_CACHE_DIR") / path.relative_to(cache)).as_posix()
    return path.name


def git_state() -> dict:
    """{"commit": short hash or "unknown ...", "dirty": tracked files changed (None if unknown)}."""

    def git(*args):
        done = subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30)
        if done.returncode:
            raise OSError(done.stderr)
        return done.stdout.strip()

    try:
        return {"commit": git("rev-parse", "--short=12", "HEAD"),
                "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown (not a git checkout)", "dirty": None}


def package_versions(packages=BOOK_PACKAGES) -> dict[str, str]:
    """Python's version and each package's installed version ("not installed" when absent)."""
    import platform
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def machine_info() -> dict:
    """Platform, CPU model, cores, memory (GiB), torch device and GPU, torch threads, interpreter (as
    :func:`project_path` shows it)."""
    import platform

    import torch

    from elfutils.paths import default_device

    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        memory = float("nan")
    return {"platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count(),
            "memory_gib": round(memory, 1), "device": default_device(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
            "torch_threads": torch.get_num_threads(), "interpreter": project_path(sys.executable)}


def _numbers(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            out[f"{prefix}{key}"] = value
        elif isinstance(value, dict) and len(value) <= 12 and key != "machine":
            out.update(_numbers(value, f"{prefix}{key}."))
    return out


def _machine(result: dict) -> str:
    """Where a benchmark ran, from either layout the scripts write: a ``machine`` dict (bench_render,
    bench_book) or top-level device_name / cpu_count (bench_training), e.g. "NVIDIA H200 x16"."""
    machine = result.get("machine", {})
    if isinstance(machine, str):  # a one-line description
        return machine
    name = machine.get("processor") or result.get("device_name", "")
    where = f"{name} x{machine.get('cpu_count', result.get('cpu_count', '?'))}"
    if machine.get("device"):
        where += f", {machine['device']}"
    return where


NOT_SPEED = ("yardstick-", "figure-study", "gap-under-settings")  # results beside the benchmarks, no speeds


def benchmark_table(folder: str | Path = PROJECT_ROOT / "benchmarks" / "results"):
    """Every number recorded in ``benchmarks/results/*.json`` (nested keys joined by dots; per-item dicts of
    more than 12 entries left out): a DataFrame with benchmark, measure, value, machine, measured."""
    import pandas as pd

    rows = []
    for path in sorted(Path(folder).glob("*.json")):
        if path.stem.startswith(NOT_SPEED):
            continue
        data = json.loads(path.read_text())
        for measure, value in _numbers(data).items():
            rows.append({"benchmark": path.stem, "measure": measure, "value": value,
                         "machine": _machine(data), "measured": data.get("time") or data.get("date", "")})
    return pd.DataFrame(rows, columns=["benchmark", "measure", "value", "machine", "measured"])


def book_build_table(folder: str | Path = PROJECT_ROOT / "benchmarks" / "results"):
    """What benchmarks/bench_book.py recorded (book-build*.json): a DataFrame with one row per timed step
    (profile, step, minutes, goal in minutes where one was set, exit code, mean runnable tasks, commit,
    measured); empty when never run."""
    import pandas as pd

    rows = []
    for path in sorted(Path(folder).glob("book-build*.json")):
        data = json.loads(path.read_text())
        for step, run in data.get("steps", {}).items():
            goal = data.get("goal_first_build_s") if step == "first_build" else None
            rows.append({"profile": data.get("profile"), "step": step, "minutes": round(run["seconds"] / 60,
                                                                                        1),
                         "goal_minutes": goal / 60 if goal else None, "exit_code": run.get("exit_code"),
                         "runnable_mean": run.get("runnable_mean"), "commit": str(data.get("commit",
                                                                                           ""))[:10],
                         "measured": data.get("time", "")})
    columns = ["profile", "step", "minutes", "goal_minutes", "exit_code", "runnable_mean", "commit",
               "measured"]
    return pd.DataFrame(rows, columns=columns)


def epoch_budget_results(path: str | Path = PROJECT_ROOT / "benchmarks" / "results" / "epoch-budget.json"):
    """What benchmarks/epoch_budget.py recorded (dict), or None when it has not been run."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None

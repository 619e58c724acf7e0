"""The yardstick of issue #31 on a profile's materials: every model and every simple baseline on the same
tasks and seeded folds, spreads beside the means (elfutils.analysis.yardstick does the measuring).

    .venv/bin/python benchmarks/yardstick.py                       # atlas: 4602 materials, both models
    .venv/bin/python benchmarks/yardstick.py --profile smoke --models --sample 10   # CI-sized, baselines only

Cross-code queries: the 12 real 2Dmatpedia VASP files and the Quantum ESPRESSO h-BN run (test data: they
never enter training or model selection). Writes benchmarks/results/yardstick-<profile>.json and prints the
table; the run queue is sampled so the figures say whether other work shared the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_book import RunQueueSampler

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = (  # (header, representation entry -> value)
    ("flat AUC", lambda e: _spread(e["tasks"]["binary_flatness"]["spread"])),
    ("top-100", lambda e: _spread(e["tasks"]["top-100 outside the pool"])),
    ("flat score R2", lambda e: _spread(e["tasks"]["flatness_score"]["spread"])),
    ("flat near EF R2", lambda e: _spread(e["tasks"]["flat bands near E_F"]["spread"])),
    ("gap R2", lambda e: _spread(e["tasks"]["band gap"]["spread"])),
    ("metal AUC", lambda e: _spread(e["tasks"]["metal vs gapped"]["spread"])),
    ("spin AUC", lambda e: _spread(e["tasks"]["spin-polarised"]["spread"])),
    ("codes r@1", lambda e: f"{e['cross_code']['recall@1']:.2f}" if "cross_code" in e else "-"),
    ("twin pct", lambda e: f"{e['cross_code']['median_twin_percentile']:.0f}" if "cross_code" in e else "-"),
    ("+0.2 eV r@1", lambda e: _robust(e, "zero +0.2 eV")),
    ("mid-gap r@1", lambda e: _robust(e, "E_F mid-gap")),
)


def _spread(s: dict) -> str:
    return f"{s['mean']:.3f}±{s['std']:.3f}" if np.isfinite(s.get("std", np.nan)) else f"{s['mean']:.3f}"


def _robust(entry: dict, name: str) -> str:
    rows = {r["perturbation"]: r for r in entry.get("robustness", [])}
    return f"{rows[name]['recall@1']:.2f}" if name in rows else "-"


def inputs(profile: str):
    """(records, properties, in_pool, queries, query ids) of the profile, from the book's stages."""
    from elfutils.analysis.fingerprint_quality import properties
    from elfutils.book import pipeline as pl
    from elfutils.book.yardstick_results import cross_code_queries
    from elfutils.choices import CHOICES
    from elfutils.data.dataset import flat_band_pool, flatness_labels

    records = pl.load_dataset(profile)
    labels = flatness_labels()
    props = properties(records, labels, CHOICES.metal_gap_ev, CHOICES.flat_band_window_ev,
                       CHOICES.flat_band_max_width_ev)
    pool = set(flat_band_pool().material_id)
    in_pool = np.array([r.material_id in pool for r in records])
    queries = cross_code_queries()
    return records, props, in_pool, queries, [q.material_id for q in queries]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="atlas", help="whose materials (default %(default)s)")
    parser.add_argument("--models", nargs="*", default=["elf-resnet18-atlas", "elf-resnet18"],
                        help="models by name or path (default: %(default)s); none for baselines only")
    parser.add_argument("--sample", type=int, default=300, help="materials perturbed (default %(default)s)")
    parser.add_argument("--out", type=Path, help="JSON to write (default benchmarks/results/yardstick-PROFILE"
                                                 ".json)")
    args = parser.parse_args()
    from elfutils.analysis import yardstick as ys
    from elfutils.constants import MINKOWSKI_P
    from elfutils.io import atomic_write_json
    from elfutils.nn.fingerprinter import load_fingerprinter

    out = args.out or ROOT / "benchmarks" / "results" / f"yardstick-{args.profile}.json"
    records, props, in_pool, queries, query_ids = inputs(args.profile)
    reps = [ys.from_model(f"elf {name}, p = {MINKOWSKI_P:g}", load_fingerprinter(name), MINKOWSKI_P)
            for name in args.models]
    reps += ys.simple_representations()
    started = time.perf_counter()
    with RunQueueSampler() as load:
        result = ys.measure(reps, records, props, in_pool, queries, query_ids, sample=args.sample,
                            progress=lambda name: print(f"  {name} ...", file=sys.stderr, flush=True))
    devices = sorted({str(next(load_fingerprinter(m).net.parameters()).device) for m in args.models})
    result |= {"profile": args.profile, "seconds": round(time.perf_counter() - started, 1),
               "runnable_mean": load.mean, "devices": devices, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "machine": {"cpu_count": os.cpu_count(), "processor": platform.machine()}}
    atomic_write_json(out, result)
    width = max(len(name) for name in result["representations"])
    print(f"{'representation':{width}}  " + "  ".join(f"{h:>13}" for h, _ in COLUMNS))
    for name, entry in result["representations"].items():
        print(f"{name:{width}}  " + "  ".join(f"{fn(entry):>13}" for _, fn in COLUMNS))
    print(f"{result['n']} materials, {result['folds']} seeded folds (mean±std over folds), "
          f"k = {result['k']}, {result['sample']} perturbed; {result['seconds']} s, mean run queue "
          f"{load.mean}; written {out}")


if __name__ == "__main__":
    main()

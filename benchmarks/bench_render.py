"""Renderer speed: the fast numpy rasteriser against the matplotlib (Agg) reference, on the 12 band files.

    .venv/bin/python benchmarks/bench_render.py [--rounds-fast 30] [--rounds-mpl 5]

Both engines render the same pre-read records (file reading is not timed) in the same process, their
rounds interleaved; each round renders all 12 fixtures once, and the per-image time is the median over
rounds (robust to a busy machine). Prints images/s for each engine and the speed-up, and writes them to
benchmarks/results/render.json. Goal: fast >= 20x matplotlib.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import matplotlib
import numpy as np

from elfutils.data.dataset import real_band_files
from elfutils.data.readers import read_band_file
from elfutils.images.render import LINE_WIDTH_PX, iou, render_band_image

RESULTS = Path(__file__).parent / "results" / "render.json"
GOAL = 20.0


def time_rounds(records, rounds_fast: int, rounds_mpl: int) -> tuple[list[float], list[float]]:
    """Seconds per image for each engine, one value per round over all records.

    The engines' rounds are interleaved (fast, matplotlib, fast, ...), so a background load that comes and
    goes slows both alike and the ratio stays fair.
    """
    for engine in ("fast", "matplotlib"):
        render_band_image(records[0], engine=engine)  # warm-up: imports, caches
    times: dict[str, list[float]] = {"fast": [], "matplotlib": []}
    per_mpl_round = max(1, rounds_fast // max(rounds_mpl, 1))
    for i in range(max(rounds_fast, rounds_mpl)):
        for engine, n in (("fast", rounds_fast), ("matplotlib", rounds_mpl)):
            if engine == "matplotlib" and (i % per_mpl_round or len(times[engine]) >= n):
                continue
            if engine == "fast" and i >= n:
                continue
            t0 = time.perf_counter()
            for bs in records:
                render_band_image(bs, engine=engine)
            times[engine].append((time.perf_counter() - t0) / len(records))
    return times["fast"], times["matplotlib"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds-fast", type=int, default=30)
    parser.add_argument("--rounds-mpl", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    records = [read_band_file(p) for p in real_band_files()]
    fast, mpl = time_rounds(records, args.rounds_fast, args.rounds_mpl)
    fast_s, mpl_s = statistics.median(fast), statistics.median(mpl)
    ious = {bs.material_id: round(iou(render_band_image(bs), render_band_image(bs, engine="matplotlib")), 4)
            for bs in records}  # fmt: skip
    result = {
        "benchmark": "render 12 real 2Dmatpedia band files to 224x224 binary images (x axis: k index)",
        "n_records": len(records),
        "line_width_px": LINE_WIDTH_PX,
        "fast": {"rounds": args.rounds_fast, "ms_per_image_median": round(fast_s * 1e3, 3),
                 "ms_per_image_min": round(min(fast) * 1e3, 3), "images_per_s": round(1 / fast_s, 1)},
        "matplotlib": {"rounds": args.rounds_mpl, "ms_per_image_median": round(mpl_s * 1e3, 3),
                       "ms_per_image_min": round(min(mpl) * 1e3, 3), "images_per_s": round(1 / mpl_s, 2)},
        "speedup_fast_over_matplotlib": round(mpl_s / fast_s, 1),
        "goal_speedup": GOAL,
        "iou_fast_vs_matplotlib": ious,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "matplotlib": matplotlib.__version__,
        },
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"fast:       {result['fast']['images_per_s']:>9.1f} images/s  ({fast_s * 1e3:.3f} ms/image, "
          f"median of {args.rounds_fast} rounds x {len(records)})")
    print(f"matplotlib: {result['matplotlib']['images_per_s']:>9.2f} images/s  ({mpl_s * 1e3:.2f} ms/image, "
          f"median of {args.rounds_mpl} rounds x {len(records)})")
    print(f"speed-up:   {result['speedup_fast_over_matplotlib']:.1f}x (goal >= {GOAL:g}x); "
          f"IoU fast vs matplotlib min {min(ious.values()):.3f}")
    print(f"wrote {args.out}")
    return 0 if result["speedup_fast_over_matplotlib"] >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())

"""Encoding speed of elf-2 against the paper's network, one run, this machine (issue #31 item 4).

    .venv/bin/python benchmarks/bench_encode.py [--n 512] [--rounds 5] [--models elf2 elf-resnet18]

Each model draws the same records with its own card's render settings (elf-2: two planes of 128 px; the
paper's: one of 224 px), timed once; then the encoding alone is timed in interleaved rounds (elf-2, paper,
elf-2, ...) so a load that comes and goes slows both alike, and the median round gives images/s. Prints
both, the ratio, and writes benchmarks/results/encode.json with the device and the run queue.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_book import RunQueueSampler

RESULTS = Path(__file__).parent / "results" / "encode.json"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="default", help="whose materials (default %(default)s)")
    parser.add_argument("--n", type=int, default=512, help="materials encoded a round (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default %(default)s)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--models", nargs="+", default=["elf2", "elf-resnet18"])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    import torch

    from elfutils.book.pipeline import load_dataset
    from elfutils.io import atomic_write_json
    from elfutils.nn.fingerprinter import load_fingerprinter

    records = load_dataset(args.profile)[:args.n]
    models = {name: load_fingerprinter(name) for name in args.models}
    images, render_s = {}, {}
    for name, model in models.items():
        start = time.perf_counter()
        images[name] = model.render(records, skipped=[])[0]
        render_s[name] = time.perf_counter() - start
        model.encode(images[name][:args.batch_size], args.batch_size)  # warm-up
    rounds: dict[str, list[float]] = {name: [] for name in models}
    with RunQueueSampler() as load:
        for _ in range(args.rounds):
            for name, model in models.items():
                start = time.perf_counter()
                model.encode(images[name], args.batch_size)
                rounds[name].append(time.perf_counter() - start)
    out = {"benchmark": f"encode {len(records)} {args.profile}-profile materials, batch {args.batch_size}, "
                        f"fp32, median of {args.rounds} interleaved rounds", "models": {}}
    for name, model in models.items():
        n = len(images[name])
        out["models"][name] = {
            "architecture": model.card.get("architecture", "elf-autoencoder"),
            "input": list(images[name].shape[1:]), "n_images": n,
            "encode_images_per_s": round(n / statistics.median(rounds[name]), 1),
            "render_images_per_s": round(n / render_s[name], 1),
            "device": str(next(model.net.parameters()).device)}
    first, second = args.models[:2] if len(args.models) > 1 else (args.models[0], args.models[0])
    ratio = out["models"][first]["encode_images_per_s"] / out["models"][second]["encode_images_per_s"]
    out |= {"ratio": {f"{first} / {second}": round(ratio, 2)}, "runnable_mean": load.mean,
            "torch_threads": torch.get_num_threads(), "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "machine": {"cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}}
    atomic_write_json(args.out, out)
    for name, entry in out["models"].items():
        print(f"{name:>14}: encode {entry['encode_images_per_s']:>7.1f} images/s, render "
              f"{entry['render_images_per_s']:>7.1f} images/s, input {entry['input']} on {entry['device']}")
    print(f"{first} / {second}: {ratio:.2f}x encode speed; mean run queue {load.mean}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Which learning-rate schedule / batch size reaches the converged loss in the fewest epochs?

    python benchmarks/schedule_study.py --images STACK.npz --epochs 30          # real images (slow on a CPU)
    python benchmarks/schedule_study.py --synthetic 320 --image-size 64 --epochs 10   # quick indicative run

Trains one model per variant (same data, split and seed) and writes every variant's per-epoch train and clean
validation BCE to benchmarks/results/schedule-study.json. The variants differ only in schedule, peak learning
rate and batch size; ElfConfig's default stays the paper's 30 epochs whatever this finds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

VARIANTS = {  # name: (schedule, peak learning rate, batch size)
    "onecycle-2e-3-b16": ("onecycle", 2e-3, 16),
    "onecycle-2e-3-b32": ("onecycle", 2e-3, 32),
    "onecycle-5e-3-b32": ("onecycle", 5e-3, 32),
    "constant-1e-3-b32": ("constant", 1e-3, 32),
}


def synthetic_bands(n: int, size: int, seed: int = 0) -> np.ndarray:
    """uint8 (n, size, size) 0/1: three cosine 'bands' per image, one pixel per column each."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, size, size), np.uint8)
    x = np.arange(size)
    for i in range(n):
        for _ in range(3):
            phase, periods = rng.uniform(0, 2 * np.pi), rng.integers(1, 3)
            amplitude = rng.uniform(1, size / 16)
            y = rng.uniform(4, size - 4) + amplitude * np.cos(2 * np.pi * x * periods / size + phase)
            out[i, np.clip(np.round(y).astype(int), 0, size - 1), x] = 1
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", type=Path, help="image stack (.npz)")
    source.add_argument("--synthetic", type=int, metavar="N", help="use N synthetic band images instead")
    parser.add_argument("--image-size", type=int, default=64, help="size of synthetic images (default 64)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=sorted(VARIANTS))
    parser.add_argument("--device")
    default_out = Path(__file__).resolve().parent / "results" / "schedule-study.json"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from elfutils.images.stack import load_image_stack
    from elfutils.nn.model import ElfConfig
    from elfutils.nn.training import train

    if args.images:
        images, ids, _ = load_image_stack(args.images)
    else:
        images, ids = synthetic_bands(args.synthetic, args.image_size), None
    results = {}
    for name in args.variants:
        schedule, lr, batch = VARIANTS[name]
        config = ElfConfig(image_size=images.shape[-1], epochs=args.epochs, schedule=schedule,
                           learning_rate=lr, batch_size=batch)  # fmt: skip
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            history = train(images, config, out, ids=ids, device=args.device, progress=False)
        results[name] = {"config": config.to_dict(), "seconds": round(time.perf_counter() - started, 1),
                         "train_bce": [h["train_bce"] for h in history],
                         "val_bce_clean": [h["val_bce_clean"] for h in history]}  # fmt: skip
        last = history[-1]
        print(f"{name:20s} final train {last['train_bce']:.4f}  val(clean) {last['val_bce_clean']:.4f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    source = str(args.images) if args.images else f"synthetic {args.synthetic} x {args.image_size} px"
    report = {"data": source, "epochs": args.epochs, "variants": results}
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

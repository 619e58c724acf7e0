"""How many epochs does the paper's network need? One-cycle training at several epoch budgets on real images.

    python benchmarks/epoch_budget.py --images STACK.npz --budgets 10 15 30 --work runs/   # ~1 h on 2 CPU
    cores

The one-cycle schedule anneals to the end of whatever budget it is given, so a shorter budget is a different
run, not the first epochs of a longer one: each budget trains its own model (same data, split, seed and
peak learning rate; ElfConfig's defaults otherwise) in ``<work>/onecycle-<E>/``. Training resumes there, so an
interrupted study (or a finished training folder from ``elf train --epochs E`` on the same stack) is reused.
Writes every budget's per-epoch train and clean-validation BCE and wall time to
benchmarks/results/epoch-budget.json; ElfConfig keeps the paper's 30 epochs whatever this finds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, required=True,
                        help="image stack (.npz), e.g. from `elf render`")
    parser.add_argument("--budgets", type=int, nargs="+", default=[10, 15, 30], help="epoch budgets")
    parser.add_argument("--work", type=Path, required=True, help="folder for the training runs (reused)")
    parser.add_argument("--device")
    parser.add_argument("--describe", help="what the stack holds, for the record (default: its path)")
    default_out = Path(__file__).resolve().parent / "results" / "epoch-budget.json"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from elfutils.images.stack import load_image_stack
    from elfutils.io import atomic_write_json
    from elfutils.nn.model import ElfConfig
    from elfutils.nn.training import train

    images, ids, _ = load_image_stack(args.images)
    results = {}
    for epochs in sorted(args.budgets):
        config = ElfConfig(image_size=images.shape[-1], epochs=epochs)
        started = time.perf_counter()
        history = train(images, config, args.work / f"onecycle-{epochs}", ids=ids, device=args.device,
                        progress=True)
        last = history[-1]
        results[str(epochs)] = {
            "train_bce": [h["train_bce"] for h in history],
            "val_bce_clean": [h["val_bce_clean"] for h in history],
            "final_train_bce": last["train_bce"], "final_val_bce_clean": last["val_bce_clean"],
            "best_val_bce_clean": min(h["val_bce_clean"] for h in history),
            "train_seconds": round(sum(h["seconds"] for h in history), 1),
            "this_call_seconds": round(time.perf_counter() - started, 1)}
        print(f"{epochs:3d} epochs: final train {last['train_bce']:.4f}  val(clean) "
              f"{last['val_bce_clean']:.4f}"
              f"  best val(clean) {results[str(epochs)]['best_val_bce_clean']:.4f}", flush=True)
    longest = results[str(max(args.budgets))]["best_val_bce_clean"]
    for r in results.values():
        r["val_vs_longest_percent"] = round(100 * (r["best_val_bce_clean"] / longest - 1), 2)
    report = {"benchmark": "benchmarks/epoch_budget.py", "data": args.describe or str(args.images),
              "n_images": len(ids),
              "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "budgets": results}
    atomic_write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

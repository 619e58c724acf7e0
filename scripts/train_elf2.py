"""Train elf-2 (issue #31 item 2: VICReg on two-plane band images, no labels) on a profile's band records.

    .venv/bin/python scripts/train_elf2.py --profile atlas --out .cache/elf2-run --epochs 12

Every epoch writes <out>/last.safetensors, last-state.safetensors and (lowest held-out loss) best.safetensors.
Run the same command again after a kill or a --time-limit stop: it resumes after the last finished epoch and
ends as an uninterrupted run would. When all epochs are done, <out>/export/best.safetensors (float16) and its
card (.json) are written: load it with elfutils.nn.fingerprinter.load_fingerprinter.

The real 2Dmatpedia VASP files and the QE fixture (data/2dmatpedia-dft-bands, data/reader-fixtures) are test
data: a profile that includes them is refused, and so is any record read from those folders. No label file is
read: the records alone train the network.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TEST_DATA_DIRS = ("2dmatpedia-dft-bands", "reader-fixtures")  # under the data folder: never trained on
MAX_EXPORT_BYTES = 50 * 2**20


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Resume: run the same command again (same --out and settings).")
    p.add_argument("--profile", default="atlas", help="profile whose band records train it (default atlas: "
                   "the 4602 materials of the flat-band and atlas stores)")
    p.add_argument("--out", type=Path, required=True, help="training folder (checkpoints, export/)")
    p.add_argument("--epochs", type=int, default=12, help="epochs (default 12)")
    p.add_argument("--time-limit", type=float, default=None, metavar="S",
                   help="start no epoch that would end more than S seconds after the start; resume later")
    p.add_argument("--batch-size", type=int, default=None, help="materials a step, two views each (64)")
    p.add_argument("--image-size", type=int, default=None, help="pixels a side (128)")
    p.add_argument("--width", type=int, default=None, help="first-stage channels of the trunk (32; 64 is "
                   "torchvision's ResNet18)")
    p.add_argument("--in-channels", type=int, default=None, choices=(1, 2),
                   help="planes an image has: 2 (default) the ±4 eV window and a ±1 eV zoom, 1 the window "
                        "alone (the ablation of the zoom)")
    p.add_argument("--learning-rate", type=float, default=None, help="AdamW one-cycle peak (2e-3)")
    p.add_argument("--reconstruction-weight", type=float, default=None,
                   help="> 0: also redraw each view from its fingerprint, this times the binary "
                        "cross-entropy joining the VICReg loss (default 0: VICReg alone)")
    p.add_argument("--seed", type=int, default=None, help="the one seed for split, views and weights")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: ELF_DEVICE, else CUDA if any)")
    p.add_argument("--no-resume", action="store_true", help="start afresh, overwriting --out's checkpoints")
    p.add_argument("--max-materials", type=int, default=None,
                   help="train on the first N materials only (smoke runs)")
    return p.parse_args(argv)


def records_from_test_data(records, data_folder: Path) -> list[str]:
    """Ids of records read from a test-data folder (by their ``source`` path)."""
    folders = [(data_folder / name).resolve() for name in TEST_DATA_DIRS]
    bad = []
    for bs in records:
        source = Path(str(bs.source or ""))
        if source.suffix and any(source.resolve().is_relative_to(folder) for folder in folders):
            bad.append(bs.material_id or str(source))
    return bad


def main(argv=None) -> int:
    args = parse_args(argv)
    import dataclasses

    from elfutils.book.profiles import get_profile
    from elfutils.paths import data_dir

    profile = get_profile(args.profile)
    if profile.include_fixture_files:
        sys.exit(f"profile {profile.name!r} includes the real band files of data/{TEST_DATA_DIRS[0]} (test "
                 "data, never trained on); use a profile without them, such as atlas")
    from elfutils.book.pipeline import load_dataset
    from elfutils.nn import elf2

    records = load_dataset(profile)
    if args.max_materials is not None:
        records = records[:args.max_materials]
    bad = records_from_test_data(records, data_dir())
    if bad:
        sys.exit(f"records read from the test data ({', '.join(bad[:5])}): refusing to train on them")
    changes = {"epochs": args.epochs, "batch_size": args.batch_size, "image_size": args.image_size,
               "width": args.width, "learning_rate": args.learning_rate, "seed": args.seed,
               "in_channels": args.in_channels, "reconstruction_weight": args.reconstruction_weight}
    config = dataclasses.replace(elf2.Elf2Config(), **{k: v for k, v in changes.items() if v is not None})
    try:
        history = elf2.train(records, config, out_dir=args.out, resume=not args.no_resume, device=args.device,
                             time_limit_s=args.time_limit)
    except elf2.CheckpointError as exc:  # another config or data in --out: one line naming both values
        sys.exit(str(exc))
    if not history:
        return 0
    seconds = [h["seconds"] for h in history]
    rates = [h["images_per_second"] for h in history]
    print(f"{len(history)}/{config.epochs} epochs; last epoch {seconds[-1]:.0f} s, {rates[-1]:.1f} images/s "
          f"(median over epochs {sorted(rates)[len(rates) // 2]:.1f})", file=sys.stderr)
    if len(history) < config.epochs:
        print(f"not finished: run the same command again to resume {args.out}", file=sys.stderr)
        return 0
    target = elf2.export_model(args.out / "best.safetensors", args.out / "export" / "best.safetensors",
                               card_updates={"history": history, "profile": profile.name})
    size = target.stat().st_size
    if size > MAX_EXPORT_BYTES:
        sys.exit(f"{target}: {size / 2**20:.1f} MB, above the {MAX_EXPORT_BYTES / 2**20:.0f} MB limit")
    best = min(history, key=lambda h: h["val_loss"] if h["val_loss"] is not None else h["train_loss"])
    print(f"exported {target} ({size / 2**20:.1f} MB, float16): epoch {best['epoch']}, held-out loss "
          f"{best['val_loss']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

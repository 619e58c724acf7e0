"""Recompute what the default book profile reads from ``models/``: the trained elf model (float16 safetensors
with its card) and the architecture comparison's results. Both are computed from scratch in the ``retrain``
profile (cached stages are reused, so an interrupted run resumes) on the committed dataset.

    make models        # = python scripts/commit_models.py; hours on a 2-core CPU, minutes on a GPU
    python scripts/commit_models.py --atlas   # only the atlas profile's model (models/elf-resnet18-atlas/)
    python scripts/commit_models.py --cache /tmp/bench/elf/.cache   # export what a retrain build computed

``--cache`` reads (and, where something is missing, fills) another checkout's cache: the one that
``benchmarks/bench_book.py --retrain --keep`` leaves behind holds exactly this training, so it need not run
twice.

Afterwards ``git add models`` and commit: tests/test_committed_models.py checks that both match the dataset.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-architectures", action="store_true",
                        help="export only the model (the architecture comparison takes longest)")
    parser.add_argument("--atlas", action="store_true",
                        help="export only the atlas profile's model, trained on all of its images "
                        "(~70 min on a 2-core CPU)")
    parser.add_argument("--cache", type=Path,
                        help="the cache folder to use (default: this checkout's .cache)")
    args = parser.parse_args()
    if args.cache is not None:
        if not args.cache.is_dir():
            parser.error(f"--cache {args.cache}: no such folder")
        os.environ["ELF_CACHE_DIR"] = str(args.cache.resolve())
    from elfutils.book import pipeline  # after ELF_CACHE_DIR is set

    if args.atlas:
        atlas = pipeline.get_profile("atlas")
        target = pipeline.COMMITTED_MODEL.path(atlas)
        # trained from scratch (or taken from the cache), never copied from the committed model itself
        model = pipeline.COMMITTED_MODEL.export(atlas.replace(use_committed_model=False), target=target)
        print(f"atlas model: {model} ({model.stat().st_size / 2**20:.1f} MiB)")
        path, why = pipeline.COMMITTED_MODEL.status(atlas)
        print(f"atlas profile: {why}")
        if path is None:
            raise SystemExit("the exported model does not match the atlas profile's images")
        return
    model = pipeline.COMMITTED_MODEL.export("retrain")
    print(f"model: {model} ({model.stat().st_size / 2**20:.1f} MiB)")
    path, why = pipeline.COMMITTED_MODEL.status("default")
    print(f"default profile: {why}")
    if path is None:
        raise SystemExit("the exported model does not match the default profile's images")
    if not args.skip_architectures:
        folder = pipeline.COMMITTED_ARCHITECTURE_STUDY.export("retrain")
        print(f"architecture comparison: {folder}")
        print(f"default profile: {pipeline.architecture_study_source('default')}")


if __name__ == "__main__":
    main()

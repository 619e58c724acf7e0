"""Recompute what the default book profile reads from ``models/``: the trained elf model (float16 safetensors
with its card) and the architecture comparison's results. Both are computed from scratch in the ``retrain``
profile (cached stages are reused, so an interrupted run resumes) on the committed dataset.

    make models        # = python scripts/commit_models.py --refresh; hours on a 2-core CPU, minutes on a GPU
    python scripts/commit_models.py --atlas   # only the atlas profile's model (models/elf-resnet18-atlas/)
    python scripts/commit_models.py --refresh --cache /tmp/bench/elf/.cache   # export what a retrain build
                                                                              # computed
    python scripts/commit_models.py --upgrade-cards   # rewrite the committed models' cards in the current
                                                      # format (tensors unchanged; sha256, render settings
                                                      # and the images' key added)

``--cache`` reads (and, where something is missing, fills) another checkout's cache: the one that
``benchmarks/bench_book.py --retrain --keep`` leaves behind holds exactly this training, so it need not run
twice.

Afterwards ``git add models`` and commit: tests/test_committed_models.py checks that both match the dataset.
Nothing is computed or rewritten without ``--refresh``, ``--atlas`` or ``--upgrade-cards``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refresh", action="store_true",
                        help="retrain (or take from the cache) the default model and the architecture "
                             "comparison and rewrite them in models/")
    parser.add_argument("--skip-architectures", action="store_true",
                        help="export only the model (the architecture comparison takes longest)")
    parser.add_argument("--atlas", action="store_true",
                        help="export only the atlas profile's model, trained on all of its images "
                        "(~70 min on a 2-core CPU)")
    parser.add_argument("--cache", type=Path,
                        help="the cache folder to use (default: this checkout's .cache)")
    parser.add_argument("--upgrade-cards", action="store_true",
                        help="rewrite the committed models' cards in the current card format (their tensors "
                             "unchanged): the tensor sha256 and the render settings of their profile")
    args = parser.parse_args()
    if not (args.refresh or args.atlas or args.upgrade_cards):
        parser.print_help()
        raise SystemExit(2)
    if args.upgrade_cards:
        upgrade_cards()
        return
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


def upgrade_cards() -> None:
    """Each committed model re-exported in place: same tensors, the card in the current format, with the
    render settings of the profile that drew its training images (refused when the card says otherwise)."""
    import tempfile

    from elfutils.book import pipeline
    from elfutils.nn.checkpoint import card_render_settings, export_model, read_card, resolve_model_path

    for name in ("default", "atlas"):
        profile = pipeline.get_profile(name)
        target = resolve_model_path(pipeline.COMMITTED_MODEL.path(profile))
        card = read_card(target)
        card_render_settings(card).require_same(profile.render_settings(), f"the card of {target}",
                                                f"the {name} profile")
        if card["data_hash"] != pipeline.image_data_hash(profile):  # renders the profile's images once
            raise SystemExit(f"{target} was not trained on the {name} profile's images: not upgraded")
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            fresh = export_model(target, Path(tmp) / target.name, dtype=card.get("weights_dtype", "float16"),
                                 card_updates={"exported_from": card.get("exported_from", target.name),
                                               "render_settings": profile.render_settings().to_dict(),
                                               # lets the book match the model to the images unrendered
                                               "images_key": pipeline.images_key(profile)})
            os.replace(fresh.with_suffix(".json"), target.with_suffix(".json"))
            os.replace(fresh, target)
        card = read_card(target)
        print(f"{target}: card {card['format']}, tensors_sha256 {card['tensors_sha256'][:12]}")


if __name__ == "__main__":
    main()

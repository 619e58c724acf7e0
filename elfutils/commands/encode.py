"""`elf encode`: image stack or band store -> fingerprint table (material_id, formula, f0..f97)."""

from __future__ import annotations

from pathlib import Path

from elfutils.commands._common import (
    add_threads_argument,
    apply_threads,
    check_outputs,
    model_input_errors,
    report_error,
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "encode",
        help="encode an image stack into fingerprints with a trained model",
        description="Write one row per image: material_id, formula, f0..f97 (the flattened 7x7x2 latent, "
        "channel-major). Parquet for .parquet, CSV otherwise.",
    )
    p.add_argument("--model", default="elf-resnet18", metavar="NAME_DIR_OR_FILE",
                   help="a .safetensors model, a training folder (its best.safetensors) or a model's name in "
                        "ELF_MODELS_DIR or models/ (default: %(default)s, the paper's network). Images are "
                        "drawn, or a stack must have been drawn, with the render settings of its card")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", type=Path, metavar="STACK.npz", help="image stack")
    source.add_argument("--store", type=Path, metavar="STORE",
                        help="band store (.elfstore folder): rendered and encoded in chunks, for stores "
                             "of any size (memory bounded by --chunk)")
    p.add_argument("--chunk", type=int, default=None, metavar="N",
                   help="with --store: materials rendered and encoded at once (default 1024)")
    p.add_argument("--out", type=Path, required=True, metavar="TABLE", help="output .parquet or .csv")
    p.add_argument("--batch-size", type=int, default=64, help="images encoded at once (default: %(default)s)")
    p.add_argument("--device", help="cpu, cuda, ... (default: ELF_DEVICE, else CUDA if present)")
    p.add_argument("--precision", choices=["fp32", "bf16", "auto"], default="fp32",
                   help="fp32 (default, reproducible) or bf16 autocast (faster on CPUs with AVX512-BF16; "
                        "fingerprints differ by ~1e-2 relative)")
    add_threads_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)  # fmt: skip


def run(args) -> int:

    from elfutils import paths
    from elfutils.analysis.fingerprints import check_finite_fingerprints, make_table, write_table
    from elfutils.images.stack import load_image_stack
    from elfutils.nn.fingerprinter import load_fingerprinter

    errors = model_input_errors()
    apply_threads(args)
    check_outputs(args.out)  # before loading and encoding: a read-only folder is one line, at once
    try:
        model = load_fingerprinter(args.model, device=args.device or paths.default_device())
        if args.store is not None:
            return _encode_store(args, model)
        model.check_stack(args.images)  # size, window, x axis, line width, engine, zero: one error
        images, ids, formulas = load_image_stack(args.images)
        fingerprints = model.encode(images, args.batch_size, args.precision, progress=not args.quiet)
        check_finite_fingerprints(fingerprints, ids, args.model)
    except errors as exc:
        return report_error("encode", exc)
    write_table(make_table(ids, formulas, fingerprints), args.out)
    print(f"wrote {len(ids)} fingerprints of {fingerprints.shape[1]} numbers to {args.out}")
    return 0


def _encode_store(args, model) -> int:
    from tqdm import tqdm

    from elfutils.analysis.encode_store import ENCODE_CHUNK, encode_store

    with tqdm(desc="encoding", unit="mat", disable=args.quiet) as bar:
        n = encode_store(args.store, model, args.out, chunk=args.chunk or ENCODE_CHUNK,
                         batch_size=args.batch_size, precision=args.precision,
                         on_chunk=lambda done: bar.update(done - bar.n))
    print(f"wrote {n} fingerprints from {args.store} to {args.out}")
    return 0

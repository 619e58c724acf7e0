"""`elf export-model`: a training folder (or model file) -> one lean model file to keep or share
(:func:`elfutils.nn.checkpoint.export_model`)."""

from __future__ import annotations

from pathlib import Path

from elfutils.commands._common import check_outputs, model_input_errors, report_error

DTYPES = ("float16", "bfloat16", "float32")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export-model",
        help="write a trained model as one float16 .safetensors file (what models/ commits: ~45 MB for "
             "the paper's network)",
        description="`elf train` keeps what resuming needs: float32 best and last models plus the optimiser "
        "state (about 340 MB for the paper's ResNet18). This writes the best model alone, its weights "
        "stored as --dtype (float16 halves the float32 size; the committed models/elf-resnet18/best."
        "safetensors is such a file), with its card inside and beside it as .json. Any elf command loads it "
        "like the original (weights are computed in float32). Bad input ends with one line naming it and "
        "exit code 2.",
    )
    p.add_argument("model", metavar="MODEL",
                   help="a training folder (its best.safetensors), a .safetensors model or a model's name")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.safetensors", help="the file to write")
    p.add_argument("--dtype", choices=DTYPES, default="float16",
                   help="how the weights are stored (default: %(default)s)")
    p.set_defaults(func=run)


def run(args) -> int:
    from elfutils.nn.checkpoint import export_model, resolve_model_path

    if args.out.suffix != ".safetensors":
        return report_error("export-model", f"--out {args.out}: a model file must end in .safetensors")
    check_outputs(args.out, args.out.with_suffix(".json"))
    try:
        source = resolve_model_path(args.model)
        target = export_model(source, args.out, dtype=args.dtype)
    except model_input_errors() as exc:
        return report_error("export-model", exc)
    mib = 2**20
    print(f"wrote {target} ({target.stat().st_size / mib:.1f} MiB, {args.dtype} weights; card in "
          f"{target.with_suffix('.json').name}) from {source} ({source.stat().st_size / mib:.1f} MiB)")
    return 0

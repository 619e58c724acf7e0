"""`elf train`: train the autoencoder on an image stack; checkpoints and model cards go to --out."""

from __future__ import annotations

from pathlib import Path

from elfutils.commands._common import (
    add_threads_argument,
    apply_threads,
    check_outputs,
    model_input_errors,
    report_error,
)


class ConfigDefault:
    """ElfConfig's default for one field, looked up only when ``--help`` prints it (elfutils.nn.model imports
    torch, which `elf --help` must not wait for); an option left at it is not passed to ElfConfig."""

    def __init__(self, field: str):
        self.field = field

    def __str__(self) -> str:
        from elfutils.nn.model import ElfConfig

        return str(getattr(ElfConfig(), self.field))


def register(subparsers) -> None:
    from elfutils.constants import EPOCHS, LATENT_CHANNELS

    p = subparsers.add_parser(
        "train",
        help="train the elf autoencoder on an image stack (.npz from `elf render`)",
        description="Train on an image stack. Writes DIR/best.safetensors (lowest validation BCE), "
        "DIR/last.safetensors + last-state.safetensors (for resuming) and a .json model card beside each: "
        "float32 weights and the optimiser state, about 340 MB for the paper's ResNet18. `elf export-model "
        "DIR --out model.safetensors` writes the best model alone in float16 (about 45 MB, as models/ "
        "commits it). An interrupted run resumes from DIR/last.safetensors unless --no-resume.",
    )
    p.add_argument("--images", type=Path, required=True, metavar="STACK.npz", help="image stack")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs (default {EPOCHS}, the paper's)")
    p.add_argument("--batch-size", type=int, default=ConfigDefault("batch_size"),
                   help="batch size (default: %(default)s, ElfConfig's)")
    p.add_argument("--lr", type=float, default=ConfigDefault("learning_rate"),
                   help="peak learning rate (default: %(default)s, ElfConfig's)")
    p.add_argument("--schedule", choices=["onecycle", "constant"], default=ConfigDefault("schedule"),
                   help="learning-rate schedule (default: %(default)s)")
    p.add_argument("--backbone", choices=["resnet18", "resnet34", "resnet50"], default="resnet18",
                   help="encoder network (default: %(default)s, the paper's)")
    p.add_argument("--latent-channels", type=int, default=LATENT_CHANNELS,
                   help=f"latent channels (default {LATENT_CHANNELS}: 7x7x2 = 98 numbers)")
    p.add_argument("--seed", type=int, default=ConfigDefault("seed"),
                   help="seed for initialisation, split, shuffling and noise (default: %(default)s)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: ELF_DEVICE, else CUDA if present)")
    p.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto",
                   help="auto (default): bf16 autocast where the device supports it")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if DIR holds a checkpoint")
    add_threads_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)  # fmt: skip


def run(args) -> int:
    import sys

    from elfutils.images.stack import load_image_stack, stack_render_settings
    from elfutils.nn.model import ElfConfig
    from elfutils.nn.training import train

    errors = model_input_errors()
    apply_threads(args)
    check_outputs(args.out / "last.safetensors")  # before training: a read-only folder is one line, at once
    try:
        images, ids, _ = load_image_stack(args.images)
        settings = stack_render_settings(args.images)  # the card records them for whoever encodes later
        overrides = {"batch_size": args.batch_size, "learning_rate": args.lr, "schedule": args.schedule,
                     "seed": args.seed}  # fmt: skip
        overrides = {k: v for k, v in overrides.items() if not isinstance(v, ConfigDefault)}
        config = ElfConfig(
            backbone=args.backbone,
            image_size=images.shape[-1],
            latent_channels=args.latent_channels,
            epochs=args.epochs,
            **{k: v for k, v in overrides.items() if v is not None},
        )
        history = train(images, config, args.out, resume=not args.no_resume, ids=ids, device=args.device,
                        precision=args.precision, progress=not args.quiet,
                        render_settings=settings)  # fmt: skip
    except errors as exc:
        return report_error("train", exc)
    except KeyboardInterrupt:
        print(f"elf train: interrupted; the same command resumes from the last finished epoch in {args.out}",
              file=sys.stderr)  # fmt: skip
        return 130
    if history:
        last = history[-1]
        val = "" if last["val_bce"] is None else f", validation BCE {last['val_bce']:.4f}"
        print(f"trained {last['epoch']} epochs: train BCE {last['train_bce']:.4f}{val}; model in {args.out}")
    print(_folder_size_note(args.out))
    return 0


def _folder_size_note(out: Path) -> str:
    """What the training folder weighs and how to get the lean model out of it."""
    size = sum(f.stat().st_size for f in out.glob("*.safetensors") if f.is_file())
    return (f"{out} holds {size / 1e6:.0f} MB (float32 best and last models, optimiser state for resuming); "
            f"`elf export-model {out} --out model.safetensors` writes the best model alone in float16")

"""Training the elf autoencoder and encoding images into fingerprints.

Training (paper, Methods "Network training and fingerprint"): minimise the binary cross-entropy between the
clean image and the reconstruction of a noised copy (noise: elfutils.nn.noise, probability 0.5 per image), 30
epochs. Optimiser, batch size, learning-rate schedule and validation split are not in the paper; ours are in
ElfConfig.

Speed (benchmarks/bench_training.py measures it): the images stay bit-packed in memory on the training device
(N x 224 x 28 bytes) and are unpacked per batch; the model runs channels-last under bf16 autocast where the
device has native bf16 (weights, optimiser state and loss stay fp32); AdamW is fused; on CPU glibc is told to
keep freed memory (keep_freed_memory). Encoding folds BN into the convolutions and runs in fp32 unless asked.
torch.compile was tried and left out: on the 2-core CPU it compiled for ~100 s and gave no speed-up.

Reproducibility: the split, each epoch's shuffle and each epoch's noise derive from (config.seed, epoch)
alone, so a run resumed from the checkpoint of epoch k sees exactly the batches an uninterrupted run sees.
Checkpoints (elfutils.nn.checkpoint) are written after every epoch: last.safetensors + last-state.safetensors
(optimiser, RNG) and best.safetensors (lowest validation BCE on clean inputs).
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from elfutils import paths
from elfutils.images.settings import RenderSettings
from elfutils.nn.checkpoint import (
    CheckpointError,
    copy_model_file,
    data_hash,
    load_model,
    load_training_state,
    read_card,
    save_model,
    save_training_state,
)
from elfutils.nn.model import ElfAutoencoder, ElfConfig, fold_batchnorm
from elfutils.nn.noise import add_region_noise

__all__ = ["CheckpointError", "encode_images", "load_model", "train"]

_BIT_WEIGHTS = (128, 64, 32, 16, 8, 4, 2, 1)  # np.packbits' default (big-endian) bit order


# --- small pieces -------------------------------------------------------------------------------------------


def resolve_precision(precision: str, device: str | torch.device) -> str:
    """"auto" -> "bf16" where the device computes bf16 natively (CUDA with bf16, CPUs with AVX512-BF16/AMX),
    else "fp32". "bf16"/"fp32" pass through."""
    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision must be 'auto', 'bf16' or 'fp32', not {precision!r}")
    if precision != "auto":
        return precision
    kind = torch.device(device).type
    if kind == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if kind == "cpu":
        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
    return "fp32"


def autocast(device: str | torch.device, precision: str):
    """bf16 autocast context for ``precision == "bf16"``, else a no-op."""
    kind = torch.device(device).type
    if precision == "bf16":
        return torch.autocast(kind, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def unpack_batch(packed: torch.Tensor, size: int) -> torch.Tensor:
    """Bit-packed uint8 (B, S, ceil(S/8)) -> bool (B, S, S), on packed's device (np.packbits bit order)."""
    weights = torch.tensor(_BIT_WEIGHTS, dtype=torch.uint8, device=packed.device)
    return ((packed.unsqueeze(-1) & weights) != 0).flatten(-2)[..., :size]


def to_input(bits: torch.Tensor, in_channels: int) -> torch.Tensor:
    """bool/uint8 (B, S, S) -> float (B, in_channels, S, S), channels-last (the faster layout for
    oneDNN/cuDNN)."""
    x = bits.to(torch.float32).unsqueeze(1)
    if in_channels > 1:
        x = x.expand(-1, in_channels, -1, -1)
    return x.contiguous(memory_format=torch.channels_last)


def learning_rate(step: int, total_steps: int, config: ElfConfig) -> float:
    """Learning rate at optimiser step ``step`` (0-based) of ``total_steps``.

    "onecycle": linear warm-up from peak/25 to the peak over warmup_fraction of the steps, then cosine decay
    to peak/1000. One-cycle schedules reach a given loss in fewer epochs than a constant rate (Smith & Topin
    2019).
    """
    peak = config.learning_rate
    if config.schedule == "constant":
        return peak
    warm = max(1, round(config.warmup_fraction * total_steps))
    if step < warm:
        return peak * (0.04 + 0.96 * step / warm)
    t = min(1.0, (step - warm) / max(1, total_steps - warm))
    return peak * (1e-3 + (1 - 1e-3) * 0.5 * (1 + math.cos(math.pi * t)))


def keep_freed_memory() -> None:
    """Ask glibc's malloc to keep freed memory for reuse instead of handing it back to the OS.

    A CPU training step allocates and frees activations of 10-100 MB. Above glibc's mmap threshold each one is
    a fresh mmap whose pages the kernel faults in and zeroes again every step (measured here: ~5 % of a bf16
    step, a quarter of the non-convolution time). Process-wide; a no-op where the C library is not glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    if not mallopt(m_mmap_threshold, 1 << 30):
        mallopt(m_mmap_threshold, 32 << 20)  # older glibc caps the threshold at 32 MiB
    mallopt(m_trim_threshold, 2**31 - 1)


def _generator(device: str | torch.device, *seed_parts: int) -> torch.Generator:
    """A generator on ``device`` seeded from several integers (seed, epoch, stream)."""
    seed = int(np.random.SeedSequence(list(seed_parts)).generate_state(1, dtype=np.uint64)[0] >> 1)
    return torch.Generator(device=device).manual_seed(seed)


def split_indices(n: int, config: ElfConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded (train, validation) index tensors; validation gets round(n * validation_fraction) images."""
    order = torch.randperm(n, generator=_generator("cpu", config.seed, 0xA11))
    n_val = round(n * config.validation_fraction)
    if n - n_val < 1:
        fraction = config.validation_fraction
        raise ValueError(f"{n} images leave none for training at validation_fraction {fraction}")
    return order[n_val:].sort().values, order[:n_val].sort().values


# --- training -----------------------------------------------------------------------------------------------


def _evaluate(model, packed, indices, config, device, precision, noise_seed: int | None) -> float | None:
    """Mean BCE per pixel on ``indices``; inputs noised with a fixed seed when noise_seed is given, else
    clean."""
    if len(indices) == 0:
        return None
    model.eval()
    generator = _generator(device, config.seed, noise_seed) if noise_seed is not None else None
    total = torch.zeros((), device=device)
    with torch.inference_mode():
        for start in range(0, len(indices), config.batch_size):
            batch = indices[start : start + config.batch_size].to(device)
            clean = to_input(unpack_batch(packed[batch], config.image_size), config.in_channels)
            x = clean if generator is None else add_region_noise(clean, config.noise_probability, generator)
            with autocast(device, precision):
                logits = model(x)
            loss = F.binary_cross_entropy_with_logits(logits.float(), clean[:, :1], reduction="sum")
            total += loss / (config.image_size**2)
    return float(total) / len(indices)


def _check_resumable(path: Path, config: ElfConfig, digest: str) -> dict:
    card = read_card(path)
    if card["config"] != config.to_dict():
        old = card["config"]
        diff = {k: (old.get(k), v) for k, v in config.to_dict().items() if old.get(k) != v}
        raise CheckpointError(
            path, f"was trained with another config (field: (checkpoint, now) = {diff}); "
            "use --no-resume / resume=False or another output folder"
        )  # fmt: skip
    if card["data_hash"] != digest:
        raise CheckpointError(
            path, f"was trained on other images (data hash {card['data_hash'][:12]}..., "
            f"now {digest[:12]}...); "
            "use --no-resume / resume=False or another output folder"
        )  # fmt: skip
    return card


def make_optimizer(model: ElfAutoencoder, config: ElfConfig, device: str | torch.device) -> torch.optim.AdamW:
    """AdamW; fused (one kernel over all parameters instead of ~10 small ops per tensor) on CPU and CUDA."""
    fused = torch.device(device).type in ("cpu", "cuda")
    return torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay, fused=fused or None
    )


def training_step(
    model: ElfAutoencoder,
    optimizer: torch.optim.Optimizer,
    packed_batch: torch.Tensor,
    generator: torch.Generator | None,
    lr: float,
    precision: str,
) -> torch.Tensor:
    """One optimiser step on bit-packed images (B, S, ceil(S/8)) on the model's device; returns the batch's
    mean BCE per pixel (a 0-d tensor, not synchronised).

    Unpack -> noise (config.noise_probability) -> forward under autocast -> BCE in fp32 against the clean
    image (channel 0; other channels are copies) -> backward -> step.
    """
    config = model.config
    clean = to_input(unpack_batch(packed_batch, config.image_size), config.in_channels)
    noisy = add_region_noise(clean, config.noise_probability, generator)
    for group in optimizer.param_groups:
        group["lr"] = lr
    with autocast(clean.device, precision):
        logits = model(noisy)
    loss = F.binary_cross_entropy_with_logits(logits.float(), clean[:, :1])
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def _restore(out_dir: Path, model, optimizer, config, digest, device) -> list[dict]:
    """Load out_dir's last checkpoint into model and optimiser; returns its history."""
    last_path, state_path = out_dir / "last.safetensors", out_dir / "last-state.safetensors"
    card = _check_resumable(last_path, config, digest)
    restored, _, _ = load_model(last_path, device)
    model.load_state_dict(restored.state_dict())
    info = load_training_state(state_path, optimizer)
    if info.get("epoch") != card["epoch"]:
        problem = f"is from epoch {info.get('epoch')}, {last_path.name} from {card['epoch']}"
        raise CheckpointError(state_path, problem)
    return card["history"]


def _score(record: dict) -> float:
    """What "best" minimises: validation BCE on clean inputs (training BCE when there is no validation
    set)."""
    return record["val_bce_clean"] if record["val_bce_clean"] is not None else record["train_bce"]


def train(
    images: np.ndarray,
    config: ElfConfig | None = None,
    out_dir: str | Path = "elf-model",
    resume: bool = True,
    ids: Sequence[str] | None = None,
    device: str | None = None,
    precision: str = "auto",
    progress: bool = True,
    stop_after_epoch: int | None = None,
    render_settings: RenderSettings | None = None,
) -> list[dict]:
    """Train an autoencoder on ``images`` (uint8 (N, S, S), 0/1; S = config.image_size); checkpoints go to
    ``out_dir``. Returns the per-epoch history: dicts with epoch, train_bce, val_bce (noised inputs, as in
    training), val_bce_clean, lr (at epoch end), seconds. BCE is the mean per pixel, in nats.

    resume=True continues from out_dir/last.safetensors when it exists (CheckpointError if it belongs to
    another config or data set); resume=False starts afresh and overwrites. ``ids`` (default "0".."N-1") enter
    the data hash. ``stop_after_epoch`` ends the run early after that epoch (for tests and time-boxed runs;
    resuming later finishes it exactly). ``precision``: "auto" (bf16 autocast where supported), "bf16" or
    "fp32". ``render_settings``: what drew ``images`` (default: the paper's at the config's image size); every
    model card records them, so whoever encodes with the model draws its inputs the same way.
    """
    config = config or ElfConfig()
    render_settings = render_settings or RenderSettings(image_size=config.image_size)
    if render_settings.image_size != config.image_size:
        raise ValueError(f"the render settings draw {render_settings.image_size}-px images, the config "
                         f"expects {config.image_size}")
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (config.image_size, config.image_size):
        raise ValueError(f"images must be (N, {config.image_size}, {config.image_size}), not {images.shape}")
    ids = [str(i) for i in range(len(images))] if ids is None else [str(i) for i in ids]
    if len(ids) != len(images):
        raise ValueError(f"{len(images)} images but {len(ids)} ids")
    device = device or paths.default_device()
    precision = resolve_precision(precision, device)
    if torch.device(device).type == "cpu":
        keep_freed_memory()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    last_path, state_path, best_path = (out_dir / f"{n}.safetensors" for n in ("last", "last-state", "best"))

    packed_np = np.packbits(images.astype(np.uint8), axis=-1)  # (N, S, ceil(S/8)): 8x less memory than bytes
    digest = data_hash(packed_np, ids)
    packed = torch.from_numpy(packed_np).to(device)
    train_idx, val_idx = split_indices(len(images), config)
    steps_per_epoch = math.ceil(len(train_idx) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs

    torch.manual_seed(config.seed)  # weight initialisation
    model = ElfAutoencoder(config)
    model.set_output_prior(float(images[train_idx.numpy()].mean()))
    model = model.to(device, memory_format=torch.channels_last)
    optimizer = make_optimizer(model, config, device)
    history: list[dict] = []
    if resume and last_path.exists():
        history = _restore(out_dir, model, optimizer, config, digest, device)
        if progress:
            print(f"resuming {out_dir} after epoch {len(history)}/{config.epochs}", file=sys.stderr)
    best = min((_score(h) for h in history), default=math.inf)

    card_base = {"data_hash": digest, "n_images": len(images), "n_train": len(train_idx),
                 "n_val": len(val_idx), "precision": precision, "device": str(device),
                 "torch": torch.__version__}  # fmt: skip
    for epoch in range(len(history), config.epochs):
        if stop_after_epoch is not None and epoch >= stop_after_epoch:
            break
        started = time.perf_counter()
        model.train()
        order = train_idx[torch.randperm(len(train_idx), generator=_generator("cpu", config.seed, epoch, 1))]
        noise = _generator(device, config.seed, epoch, 2)
        total = torch.zeros((), device=device)
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress,
                   leave=False, unit="batch")  # fmt: skip
        for step in bar:
            batch = order[step * config.batch_size : (step + 1) * config.batch_size].to(device)
            lr = learning_rate(epoch * steps_per_epoch + step, total_steps, config)
            loss = training_step(model, optimizer, packed[batch], noise, lr, precision)
            total += loss * len(batch)
            if progress and step % 5 == 0:
                bar.set_postfix(bce=f"{loss.item():.4f}", lr=f"{lr:.2e}")
        bar.close()

        record = {
            "epoch": epoch + 1,
            "train_bce": float(total) / len(train_idx),
            "val_bce": _evaluate(model, packed, val_idx, config, device, precision, noise_seed=3),
            "val_bce_clean": _evaluate(model, packed, val_idx, config, device, precision, noise_seed=None),
            "lr": lr,
            "seconds": round(time.perf_counter() - started, 2),
        }
        history.append(record)
        save_training_state(state_path, optimizer, {"epoch": epoch + 1, "data_hash": digest})
        save_model(last_path, model, {**card_base, "epoch": epoch + 1, "history": history}, render_settings)
        if _score(record) < best:
            best = _score(record)
            copy_model_file(last_path, best_path)
        if progress:
            val = ""
            if record["val_bce"] is not None:
                val = f"  val {record['val_bce']:.4f} (clean {record['val_bce_clean']:.4f})"
            print(f"epoch {epoch + 1}/{config.epochs}: train BCE {record['train_bce']:.4f}{val}  "
                  f"[{record['seconds']:.0f} s]", file=sys.stderr)  # fmt: skip
    return history


# --- fingerprints -------------------------------------------------------------------------------------------


def encode_images(
    model: ElfAutoencoder,
    images: np.ndarray,
    batch_size: int = 64,
    precision: str = "fp32",
    progress: bool = False,
) -> np.ndarray:
    """Fingerprints of ``images`` (uint8 (N, S, S) 0/1) -> float32 (N, fingerprint_length), e.g. (N, 98).

    Eval mode, no autograd, BN folded, channels-last; runs on the model's device; ``model`` is not changed.
    precision="bf16" runs under bf16 autocast: ~1.5-2x faster on CPUs with AVX512-BF16, but fingerprints then
    differ from fp32 by ~1 % (relative L2; tests/test_training.py bounds it at 3 %). fp32 is the default: the
    clustering's Minkowski p = 0.2 distance magnifies small per-number differences (0.01**0.2 = 0.4), which
    matters most for near-duplicates; fp32 fingerprints agree across machines to float rounding.
    """
    config = model.config
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (config.image_size, config.image_size):
        raise ValueError(f"images must be (N, {config.image_size}, {config.image_size}), not {images.shape}")
    device = next(model.parameters()).device
    precision = resolve_precision(precision, device)
    if device.type == "cpu":
        keep_freed_memory()
    # BN folded into the convolutions (exact in eval mode), channels-last: the fast inference form
    encoder = fold_batchnorm(nn.Sequential(model.encoder, model.to_latent))
    encoder = encoder.to(memory_format=torch.channels_last)
    out = np.empty((len(images), config.fingerprint_length), dtype=np.float32)
    with torch.inference_mode():
        starts = range(0, len(images), batch_size)
        for start in tqdm(starts, desc="encoding", disable=not progress, unit="batch"):
            batch = torch.from_numpy(images[start : start + batch_size]).to(device)
            with autocast(device, precision):
                z = encoder(to_input(batch, config.in_channels)).flatten(1)  # as model.fingerprint
            out[start : start + len(batch)] = z.float().cpu().numpy()
    return out

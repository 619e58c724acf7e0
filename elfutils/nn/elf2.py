"""elf-2, the first candidate of issue #31: a band-structure fingerprint learned without any label.

Objective: VICReg (Bardes, Ponce & LeCun, ICLR 2022). Two drawings ("views") of each material go through one
encoder and a projector; the loss asks the two views' projections to agree (invariance: mean squared
difference), each projected dimension to keep a standard deviation of at least 1 across the batch (variance:
a hinge) and the dimensions to be uncorrelated (covariance: squared off-diagonal covariances / d). No
negatives, no labels, small batches: it suits a 2-core CPU. Flatness, gap and metal labels never enter.

Views: two files of one material differ the way two DFT codes and two users differ; :func:`band_view` makes
that difference in band space from the record (:class:`ViewRecipe` holds the ranges), then the view is drawn:

* the energy-zero convention of a gapped material: VBM + 0.05 eV (the project's), mid-gap, or CBM - 0.05 eV;
* a rigid shift of the zero (uniform ±0.2 eV);
* a per-band offset (normal, 0.05 eV) plus a small smooth warp along the path (half a cosine, 0.02 eV: a
  warp changes a band's dispersion, which the fingerprint must keep, so it stays small);
* the k-point density: each path segment resampled to 10..60 points (:func:`resample_segments`, the same
  linear interpolation as ``elfutils.analysis.perturbation.resample_path``, vectorised over bands);
* spin channels swapped, or merged into one channel set (the renderer draws both spins alike, so these two
  leave the image unchanged today; they keep the record-level pipeline honest for spin-resolved inputs);
* one path segment given the other way round (chance 0.3);
* the line width (uniform 1..3 px) and the x axis (k-distance instead of k-index, chance 0.25).

Every random number comes from numpy generators seeded by (seed, epoch, step): a resumed run draws exactly
the views of an uninterrupted one.

Inputs: two planes (:class:`elfutils.images.channels.ChannelSettings`): the ±4 eV window and a ±1 eV zoom
around the zero, what the paper's single ±4 eV image blurs.

Shapes (defaults: 128 px, 2 channels, width 32, B materials a step, so 2B views):

    views        (2B, 2, 128, 128)  0/1
    trunk        (2B, 256, 4, 4)    ResNet18's layout (stem, 4 stages of 2 basic blocks) at width 32
    fingerprint  (2B, 98)           global average pool, linear: the 98 numbers elf-2 gives a material
    embedding    (2B, 512)          projector (VICReg's "expander") 98 -> 512 -> 512, for the loss only

Width 32 (half of torchvision's ResNet18) is a measured choice. On this project's 2-core CPU (shared; the
best of 5 interleaved training steps of 128 views, network alone) the full-width trunk ran 28 images/s at
128 px and 42 at 96 px (5.6 and 3.7 min an epoch of 2 x 4602 views, above the 3 min an epoch that 12 epochs
in 40 min allow); width 32 at 128 px ran 86-105 images/s (1.5-1.8 min, leaving room for drawing the views).

Files (safetensors, never code): ``last.safetensors`` (weights + card), ``last-state.safetensors``
(optimiser, torch RNG: :func:`elfutils.nn.checkpoint.save_training_state`), ``best.safetensors`` (lowest
validation loss, on held-out materials' fixed views), each written atomically after every epoch. A card has
``format`` :data:`ELF2_FORMAT`, ``architecture`` :data:`ARCHITECTURE` (the paper's cards have no such field:
they are the autoencoder), the config, the recipe, the render settings, the fingerprint length, the data
hash of the training records, the history (losses, seconds, images/s), device and precision.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet

from elfutils import paths
from elfutils.constants import FINGERPRINT_LENGTH, SEED
from elfutils.data.bands import BandStructure, Branch
from elfutils.data.energy_zero import GAP_ZERO_OFFSET_EV, METAL_GAP_EV
from elfutils.errors import BandDataError
from elfutils.images.channels import ChannelSettings, settings_from_dict
from elfutils.images.settings import RenderSettingsError
from elfutils.nn import checkpoint as ckpt
from elfutils.nn.checkpoint import CheckpointError
from elfutils.nn.model import fold_batchnorm
from elfutils.nn.training import autocast, keep_freed_memory, learning_rate, make_optimizer, resolve_precision

ELF2_FORMAT = "elf2-model/1"  # an older reader (checkpoint.read_card) refuses it by name
ARCHITECTURE = "elf2-vicreg"
AUTOENCODER = "elf-autoencoder"  # what a card without an "architecture" field holds (the paper's network)
ELF2_CHANNELS = ("bands", "bands-zoom")


# --- what defines a run -------------------------------------------------------------------------------------


def _whole(value, low, high) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Elf2Config:
    """The network, the loss and the optimisation. Every value is ours (the paper has no elf-2)."""

    image_size: int = 128  # pixels a side; 128 with a ±1 eV zoom resolves 0.016 eV a row
    in_channels: int = 2  # planes a view has (the render settings' channels)
    width: int = 32  # channels of the first stage (torchvision's ResNet18: 64); doubled each stage
    blocks: tuple[int, ...] = (2, 2, 2, 2)  # basic blocks a stage: ResNet18's
    fingerprint_length: int = FINGERPRINT_LENGTH  # 98, comparable with the paper's
    projector: tuple[int, ...] = (512, 512)  # VICReg's expander, scaled down to a 2-core CPU
    invariance_weight: float = 25.0  # lambda, mu, nu of Bardes et al. 2022
    variance_weight: float = 25.0
    covariance_weight: float = 1.0
    # > 0: a decoder redraws each view from its 98 numbers, and its binary cross-entropy times this joins
    # the VICReg loss (the paper autoencoder's reconstruction, combined with the views' invariance)
    reconstruction_weight: float = 0.0
    epochs: int = 12
    batch_size: int = 64  # materials a step (two views each: 128 images)
    learning_rate: float = 2e-3  # AdamW peak of a one-cycle schedule (elfutils.nn.training.learning_rate)
    weight_decay: float = 1e-4
    schedule: str = "onecycle"
    warmup_fraction: float = 0.1
    validation_fraction: float = 0.1  # held-out materials: model selection by their views' loss
    seed: int = SEED

    def __post_init__(self):
        problems = []
        for name, low, high in (("image_size", 32, 1024), ("in_channels", 1, 4), ("width", 4, 256),
                                ("fingerprint_length", 1, 4096), ("epochs", 1, 100_000),
                                ("batch_size", 2, 65_536), ("seed", 0, 2**63 - 1)):
            if not _whole(getattr(self, name), low, high):
                problems.append(f"{name} must be a whole number from {low} to {high}, not "
                                f"{getattr(self, name)!r}")
        for name, low, high, size in (("blocks", 1, 16, 4), ("projector", 1, 16_384, None)):
            value = getattr(self, name)
            if (not isinstance(value, tuple) or (size and len(value) != size) or not value
                    or not all(_whole(v, low, high) for v in value)):
                count = f"{size}" if size else "one or more"
                problems.append(f"{name} must be a tuple of {count} whole numbers from {low} to {high}, not "
                                f"{value!r}")
        for name in ("invariance_weight", "variance_weight", "covariance_weight", "reconstruction_weight",
                     "weight_decay"):
            if not (_number(getattr(self, name)) and getattr(self, name) >= 0):
                problems.append(f"{name} must be a number >= 0, not {getattr(self, name)!r}")
        if not (_number(self.learning_rate) and self.learning_rate > 0):
            problems.append(f"learning_rate must be a positive number, not {self.learning_rate!r}")
        if self.schedule not in ("onecycle", "constant"):
            problems.append(f"schedule must be 'onecycle' or 'constant', not {self.schedule!r}")
        for name in ("warmup_fraction", "validation_fraction"):
            if not (_number(getattr(self, name)) and 0 <= getattr(self, name) < 1):
                problems.append(f"{name} must lie in [0, 1), not {getattr(self, name)!r}")
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))  # tuples as lists, as a card holds them

    @classmethod
    def from_dict(cls, data: dict) -> Elf2Config:
        """Inverse of to_dict; unknown keys are an error (they mean another code version)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown elf-2 config field(s): {unknown} (known: {sorted(known)})")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


@dataclass(frozen=True)
class ViewRecipe:
    """How two views of a material may differ (see the module docstring); written into every card."""

    zero_shift_ev: float = 0.2  # rigid shift of the zero, uniform in ±this
    band_offset_ev: float = 0.05  # standard deviation of each band's constant offset
    band_warp_ev: float = 0.02  # standard deviation of each band's half-cosine warp along the path
    points_per_segment: tuple[int, int] = (10, 60)  # each segment resampled to a number in this range
    # uniform; a line below 1.42 px can break at steep slopes, as a user's thin line does (the first
    # candidate's 1.5 px floor left it unsteady at 1 px: self-recall 0.76)
    line_width_px: tuple[float, float] = (1.0, 3.0)
    # a gapped material's zero: VBM + offset (the project's), mid-gap, CBM - offset, with these chances.
    # Moving it moves the window by up to the gap: on the 12 real files, 21 % of such views looked more like
    # another material's drawing than their own (8 x 8 blocks), none with the project's zero: mostly that
    zero_conventions: tuple[float, float, float] = (0.5, 0.25, 0.25)
    spin_swap_probability: float = 0.5
    spin_merge_probability: float = 0.5
    # a path drawn against k-distance instead of k-index, and one segment given the other way round: two
    # choices a user makes that the first candidate never saw (self-recall 0.63 under each)
    x_axis_distance_probability: float = 0.25
    segment_reverse_probability: float = 0.3

    def __post_init__(self):
        problems = []
        for name in ("zero_shift_ev", "band_offset_ev", "band_warp_ev"):
            if not (_number(getattr(self, name)) and 0 <= getattr(self, name) <= 2):
                problems.append(f"{name} must be a number of eV in [0, 2], not {getattr(self, name)!r}")
        lo_hi = self.points_per_segment
        if not (isinstance(lo_hi, tuple) and len(lo_hi) == 2 and all(_whole(v, 2, 1000) for v in lo_hi)
                and lo_hi[0] <= lo_hi[1]):
            problems.append(f"points_per_segment must be (low, high) whole numbers, 2 <= low <= high <= "
                            f"1000, not {lo_hi!r}")
        widths = self.line_width_px
        if not (isinstance(widths, tuple) and len(widths) == 2 and all(_number(v) and v > 0 for v in widths)
                and widths[0] <= widths[1]):
            problems.append(f"line_width_px must be (low, high) positive numbers, low <= high, not "
                            f"{widths!r}")
        conv = self.zero_conventions
        if not (isinstance(conv, tuple) and len(conv) == 3 and all(_number(v) and v >= 0 for v in conv)
                and abs(sum(conv) - 1) < 1e-9):
            problems.append(f"zero_conventions must be three chances >= 0 summing to 1, not {conv!r}")
        for name in ("spin_swap_probability", "spin_merge_probability", "x_axis_distance_probability",
                     "segment_reverse_probability"):
            if not (_number(getattr(self, name)) and 0 <= getattr(self, name) <= 1):
                problems.append(f"{name} must lie in [0, 1], not {getattr(self, name)!r}")
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: dict) -> ViewRecipe:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown view recipe field(s): {unknown} (known: {sorted(known)})")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def default_settings(config: Elf2Config) -> ChannelSettings:
    """What elf-2 draws: the paper's settings at the config's size, with the ±1 eV zoom as a second plane."""
    channels = ELF2_CHANNELS[: config.in_channels] if config.in_channels <= 2 else None
    if channels is None:
        raise ValueError(f"no default render settings for {config.in_channels} channels; pass settings")
    return ChannelSettings(image_size=config.image_size, channels=channels)


# --- views ------------------------------------------------------------------------------------------------


def resample_segments(bs: BandStructure, per_segment: int) -> BandStructure:
    """Each path branch resampled to ``per_segment`` points evenly spaced in k-distance, linearly interpolated
    (as ``elfutils.analysis.perturbation.resample_path``, which elfutils.nn may not import; vectorised over
    bands, about twice as fast); a zero-length branch is interpolated along its index."""
    if per_segment < 2:
        raise ValueError(f"per_segment must be >= 2, got {per_segment}")
    kpoints, distances, energies, branches = [], [], [], []
    position = np.linspace(0.0, 1.0, per_segment)
    for n, b in enumerate(bs.branches):
        d = bs.distances[b.start:b.end + 1]
        k = bs.kpoints[b.start:b.end + 1]
        e = bs.energies[:, :, b.start:b.end + 1]
        if d[-1] == d[0]:
            new_d = np.full(per_segment, d[0])
            lo = np.zeros(per_segment, int)
            hi = np.full(per_segment, len(d) - 1)
            w = position
        else:
            new_d = np.linspace(d[0], d[-1], per_segment)
            lo = np.clip(np.searchsorted(d, new_d, side="right") - 1, 0, len(d) - 2)
            hi = lo + 1
            span = d[hi] - d[lo]
            w = np.divide(new_d - d[lo], span, out=np.zeros(per_segment), where=span > 0)
        kpoints.append(k[lo] * (1 - w)[:, None] + k[hi] * w[:, None])
        distances.append(new_d)
        energies.append(e[..., lo] * (1 - w) + e[..., hi] * w)
        branches.append(Branch(n * per_segment, (n + 1) * per_segment - 1, b.start_label, b.end_label))
    return dataclasses.replace(bs, kpoints=np.vstack(kpoints), distances=np.concatenate(distances),
                               energies=np.concatenate(energies, axis=2), branches=tuple(branches))


def band_view(bs: BandStructure, recipe: ViewRecipe, rng: np.random.Generator,
              window_ev: float) -> BandStructure:
    """One view of a record in band space: zero convention, rigid shift, per-band offset and warp, spins,
    k-point density (see :class:`ViewRecipe`). Bands that cannot reach ±``window_ev`` after the offsets are
    dropped first (they would not be drawn, and need not be resampled)."""
    rel = bs.energies - bs.efermi  # (ns, nb, nk)
    zero = 0.0
    gap = bs.band_gap()
    if gap >= METAL_GAP_EV:
        vbm, cbm = float(rel[rel <= 0].max()), float(rel[rel > 0].min())
        offset = min(GAP_ZERO_OFFSET_EV, gap / 2)
        zero = (vbm + offset, (vbm + cbm) / 2, cbm - offset)[rng.choice(3, p=recipe.zero_conventions)]
    zero += rng.uniform(-recipe.zero_shift_ev, recipe.zero_shift_ev)
    reach = window_ev + 5 * (recipe.band_offset_ev + recipe.band_warp_ev)
    keep = ((rel.max(axis=2) >= zero - reach) & (rel.min(axis=2) <= zero + reach)).any(axis=0)  # (nb,)
    if keep.any():
        rel = rel[:, keep]
    ns, nb, nk = rel.shape
    length = bs.distances[-1] - bs.distances[0]
    t = (bs.distances - bs.distances[0]) / length if length > 0 else np.linspace(0, 1, nk)
    rel = (rel + rng.normal(0.0, recipe.band_offset_ev, (ns, nb, 1))
           + rng.normal(0.0, recipe.band_warp_ev, (ns, nb, 1)) * np.cos(np.pi * t))
    swap, merge = rng.random(2)
    if ns == 2 and swap < recipe.spin_swap_probability:
        rel = rel[::-1]
    if ns == 2 and merge < recipe.spin_merge_probability:
        rel = rel.reshape(1, 2 * nb, nk)
    if rng.random() < recipe.segment_reverse_probability:
        b = bs.branches[int(rng.integers(len(bs.branches)))]
        rel = rel.copy()
        rel[:, :, b.start:b.end + 1] = rel[:, :, b.start:b.end + 1][:, :, ::-1]
    view = dataclasses.replace(bs, energies=rel, efermi=zero)
    low, high = recipe.points_per_segment
    return resample_segments(view, int(rng.integers(low, high + 1)))


def draw_view(bs: BandStructure, recipe: ViewRecipe, settings: ChannelSettings,
              rng: np.random.Generator) -> np.ndarray:
    """One view drawn: uint8 (C, S, S). A view whose bands all left the window (a large gap with the zero
    moved to the CBM) is drawn from the record as it is."""
    view = band_view(bs, recipe, rng, settings.window_ev)
    x_axis = "distance" if rng.random() < recipe.x_axis_distance_probability else settings.x_axis
    drawn = settings.replace(line_width_px=float(rng.uniform(*recipe.line_width_px)), x_axis=x_axis)
    try:
        image = drawn.render(view)
    except BandDataError:
        image = drawn.render(bs)
    return image.reshape(-1, settings.image_size, settings.image_size)


def view_pairs(records: Sequence[BandStructure], recipe: ViewRecipe, settings: ChannelSettings,
               seed: Sequence[int]) -> np.ndarray:
    """Two views of each record: uint8 (2, B, C, S, S), from a generator seeded with ``seed`` alone."""
    rng = np.random.default_rng(list(seed))
    size, channels = settings.image_size, len(settings.channels)
    out = np.empty((2, len(records), channels, size, size), np.uint8)
    for i, bs in enumerate(records):
        for v in range(2):
            out[v, i] = draw_view(bs, recipe, settings, rng)
    return out


def drawable(bs: BandStructure, window_ev: float) -> bool:
    """Whether any band of the record enters ±window_ev (else it has no image to learn from)."""
    rel = (bs.energies - bs.efermi).reshape(-1, bs.nkpoints)
    return bool(((rel.max(axis=1) >= -window_ev) & (rel.min(axis=1) <= window_ev)).any())


def records_hash(records: Sequence[BandStructure]) -> str:
    """sha256 (hex) of band records in order: id, formula, zero, branches, k-points, distances, energies."""
    digest = hashlib.sha256()
    for bs in records:
        digest.update(f"{bs.material_id}\n{bs.formula}\n{bs.efermi!r}\n".encode())
        digest.update(repr([(b.start, b.end, b.start_label, b.end_label) for b in bs.branches]).encode())
        for arr in (bs.kpoints, bs.distances, bs.energies):
            digest.update(str(arr.shape).encode())
            digest.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    return digest.hexdigest()


# --- the network and the loss -------------------------------------------------------------------------------


class Elf2Net(nn.Module):
    """ResNet18-layout encoder -> 98-number fingerprint; projector -> the embedding the loss sees."""

    def __init__(self, config: Elf2Config | None = None):
        super().__init__()
        self.config = config = config or Elf2Config()
        w = config.width
        layers: list[nn.Module] = [
            nn.Conv2d(config.in_channels, w, kernel_size=7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(w), nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        ]  # (N, w, S/4, S/4)
        cin = w
        for stage, count in enumerate(config.blocks):  # torchvision's basic blocks, widths w, 2w, 4w, 8w
            cout, stride = w * 2**stage, 1 if stage == 0 else 2
            down = None
            if stride != 1 or cin != cout:
                down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
            blocks = [resnet.BasicBlock(cin, cout, stride, down)]
            blocks += [resnet.BasicBlock(cout, cout) for _ in range(count - 1)]
            layers.append(nn.Sequential(*blocks))
            cin = cout
        self.encoder = nn.Sequential(*layers)  # (N, 8w, S/32, S/32)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(cin, config.fingerprint_length))  # (N, 98)
        sizes = (config.fingerprint_length, *config.projector)
        expander: list[nn.Module] = []
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            expander.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                expander += [nn.BatchNorm1d(b), nn.ReLU(inplace=True)]
        self.projector = nn.Sequential(*expander)
        # the decoder (only with a reconstruction loss): fingerprint -> the trunk's (8w, S/32, S/32) grid,
        # then five doublings of the size back to (in_channels, S, S) logits, the channels halved at each
        self.decoder = None
        if config.reconstruction_weight > 0:
            side = config.image_size // 32
            widths = [cin // 2**i for i in range(5)]  # 8w, 4w, 2w, w, w/2
            up: list[nn.Module] = [nn.Linear(config.fingerprint_length, cin * side * side),
                                   nn.Unflatten(1, (cin, side, side))]
            for a, b in itertools.pairwise(widths):
                up += [nn.ConvTranspose2d(a, b, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(b),
                       nn.ReLU(inplace=True)]
            up.append(nn.ConvTranspose2d(widths[-1], config.in_channels, 4, stride=2, padding=1))
            self.decoder = nn.Sequential(*up)
        for module in self.modules():  # torchvision's initialisation
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d)):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def fingerprint(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, S, S) in [0, 1] -> (N, fingerprint_length)."""
        return self.head(self.encoder(x))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, in_channels, S, S) -> (fingerprint (N, 98), embedding (N, projector[-1]))."""
        f = self.fingerprint(x)
        return f, self.projector(f)


def objective(model: Elf2Net, x: torch.Tensor, config: Elf2Config, device, precision: str):
    """The training loss of a batch of view pairs ``x`` (2B, C, S, S), first views then second: VICReg on
    the two views' embeddings, plus, with a decoder, ``reconstruction_weight`` times the binary
    cross-entropy of each view redrawn from its fingerprint. Returns (loss, its terms as 0-d tensors,
    fingerprints (2B, 98))."""
    b = x.shape[0] // 2
    with autocast(device, precision):
        f, z = model(x)
    loss, parts = vicreg_loss(z[:b], z[b:], config)
    parts["reconstruction"] = loss.new_zeros(())
    if model.decoder is not None:
        with autocast(device, precision):
            logits = model.decoder(f)
        parts["reconstruction"] = F.binary_cross_entropy_with_logits(logits.float(), x.float())
        loss = loss + config.reconstruction_weight * parts["reconstruction"]
        parts["reconstruction"] = parts["reconstruction"].detach()
    return loss, parts, f


def vicreg_loss(z1: torch.Tensor, z2: torch.Tensor, config: Elf2Config) -> tuple[torch.Tensor, dict]:
    """VICReg on two views' embeddings (N, d) each, N >= 2: (loss, {"invariance", "variance", "covariance"}
    as 0-d tensors). Computed in float32 (Bardes et al. 2022, eq. 6 and their reference code: the variance
    hinge is averaged over the two views, the covariance term summed)."""
    z1, z2 = z1.float(), z2.float()
    n, d = z1.shape
    assert n >= 2 and z2.shape == z1.shape, f"two (N >= 2, d) embeddings needed, got {z1.shape}, {z2.shape}"
    invariance = F.mse_loss(z1, z2)
    variance = covariance = z1.new_zeros(())
    for z in (z1, z2):
        z = z - z.mean(dim=0)
        variance = variance + F.relu(1 - torch.sqrt(z.var(dim=0) + 1e-4)).mean() / 2
        cov = (z.T @ z) / (n - 1)
        covariance = covariance + (cov.pow(2).sum() - cov.diagonal().pow(2).sum()) / d
    loss = (config.invariance_weight * invariance + config.variance_weight * variance
            + config.covariance_weight * covariance)
    return loss, {"invariance": invariance.detach(), "variance": variance.detach(),
                  "covariance": covariance.detach()}


def to_input(views: np.ndarray | torch.Tensor, device) -> torch.Tensor:
    """uint8 (N, C, S, S) -> float (N, C, S, S) on ``device``, channels-last."""
    x = torch.as_tensor(views).to(device).to(torch.float32)
    return x.contiguous(memory_format=torch.channels_last)


# --- files --------------------------------------------------------------------------------------------------


def raw_card(path: str | Path) -> dict:
    """The JSON card inside a model file, unchecked (to learn which network it holds)."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as fh:
            metadata = fh.metadata() or {}
    except FileNotFoundError:
        raise CheckpointError(path, "no such checkpoint file") from None
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(path, f"corrupt or not a safetensors file ({exc})") from exc
    try:
        card = json.loads(metadata["elf_card"])
    except KeyError:
        raise CheckpointError(path, "not an elf model: the safetensors metadata has no 'elf_card'") from None
    except ValueError as exc:
        raise CheckpointError(path, f"unusable model card: not JSON ({exc})") from exc
    if not isinstance(card, dict):
        raise CheckpointError(path, "unusable model card: not a JSON object")
    return card


def card_architecture(card: dict) -> str:
    """The network a card describes: its ``architecture``; a card without one is the paper's autoencoder."""
    return card.get("architecture", AUTOENCODER)


def card_settings(card: dict) -> ChannelSettings:
    """The render settings an elf-2 model's inputs are drawn with."""
    settings = settings_from_dict(card["render_settings"])
    if not isinstance(settings, ChannelSettings):
        raise ValueError("elf-2 render settings must carry zoom_window_ev")
    return settings


def parse_card(path: Path, card: dict) -> dict:
    """Check an elf-2 card: format, architecture, config, recipe and render settings that agree with each
    other (an edited image size or channel count is refused naming both values)."""
    try:
        if card.get("format") != ELF2_FORMAT:
            raise ValueError(f"format {card.get('format')!r}, expected {ELF2_FORMAT!r}")
        if card_architecture(card) != ARCHITECTURE:
            raise ValueError(f"architecture {card_architecture(card)!r}, expected {ARCHITECTURE!r}")
        config = Elf2Config.from_dict(card["config"])
        ViewRecipe.from_dict(card["recipe"])
        settings = card_settings(card)
    except (ValueError, KeyError, TypeError, AttributeError, RenderSettingsError) as exc:
        raise CheckpointError(path, f"unusable elf-2 model card: {exc}") from exc
    if settings.image_size != config.image_size:
        raise CheckpointError(path, f"the card's config says image_size {config.image_size} but its render "
                                    f"settings say {settings.image_size} (an edited card?)")
    if len(settings.channels) != config.in_channels:
        raise CheckpointError(path, f"the card's config says in_channels {config.in_channels} but its render "
                                    f"settings draw {len(settings.channels)} channels {settings.channels}")
    if card.get("fingerprint_length", config.fingerprint_length) != config.fingerprint_length:
        raise CheckpointError(path, f"the card's config gives a fingerprint of {config.fingerprint_length} "
                                    f"numbers but the card records {card.get('fingerprint_length')}")
    return card


def read_card(path: str | Path) -> dict:
    """The checked card of an elf-2 model file, without building the model."""
    path = Path(path)
    return parse_card(path, raw_card(path))


def save_model(path: str | Path, model: Elf2Net, card: dict, settings: ChannelSettings,
               recipe: ViewRecipe) -> Path:
    """Weights (float32) + card to ``path`` (.safetensors), the card also to ``path``.json."""
    path = Path(path)
    card = {"format": ELF2_FORMAT, "architecture": ARCHITECTURE, "config": model.config.to_dict(),
            "recipe": recipe.to_dict(), "render_settings": settings.to_dict(),
            "fingerprint_length": model.config.fingerprint_length, **card}
    parse_card(path, card)
    weights = {key: value.detach().to("cpu").contiguous() for key, value in model.state_dict().items()}
    return ckpt._write_model_file(path, weights, card)


def _read_checked(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, _ = ckpt._read(path)
    card = parse_card(path, raw_card(path))
    if card.get("tensors_sha256") is None:
        raise CheckpointError(path, "the card records no tensor sha256 (every elf-2 file has one)")
    ckpt._check_hash(path, tensors, card["tensors_sha256"])
    return tensors, card


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[Elf2Net, Elf2Config, dict]:
    """An elf-2 model file (or a training folder's best): (model in eval mode on ``device``, config, card).
    Reads tensors and JSON only; the weights' sha256 is checked."""
    path = ckpt.resolve_model_path(path)
    tensors, card = _read_checked(path)
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise CheckpointError(path, f"weights that are not finite (NaN or infinite) in {', '.join(bad[:3])}")
    config = Elf2Config.from_dict(card["config"])
    model = Elf2Net(config)
    tensors = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(path, f"weights do not fit the config in its card: {exc}") from exc
    return model.to(device).eval(), config, card


def export_model(source: str | Path, target: str | Path, dtype: str = "float16",
                 card_updates: dict | None = None) -> Path:
    """A lean copy for committing (weights as ``dtype``; load_model computes in float32 again), its card
    unchanged apart from ``weights_dtype``, ``exported_from`` and ``card_updates``."""
    source = ckpt.resolve_model_path(source)
    tensors, card = _read_checked(source)
    cast = getattr(torch, dtype, None)
    if not isinstance(cast, torch.dtype) or not cast.is_floating_point:
        raise ValueError(f"dtype must name a torch floating-point type, got {dtype!r}")
    weights = {k: v.to(cast) if v.is_floating_point() else v for k, v in tensors.items()}
    card = {**card, "exported_from": source.name, **(card_updates or {}), "weights_dtype": dtype}
    card.pop("tensors_sha256", None)
    parse_card(Path(target), card)
    return ckpt._write_model_file(Path(target), weights, card)


# --- fingerprints -------------------------------------------------------------------------------------------


def encode_images(model: Elf2Net, images: np.ndarray, batch_size: int = 64, precision: str = "fp32",
                  progress: bool = False) -> np.ndarray:
    """Fingerprints of images drawn with the model's render settings: uint8 (N, C, S, S) (or (N, S, S) for a
    one-channel model) -> float32 (N, fingerprint_length). Eval mode, BN folded, no autograd."""
    from tqdm.auto import tqdm

    config = model.config
    size, channels = config.image_size, config.in_channels
    images = np.asarray(images)
    if images.ndim == 3 and channels == 1:
        images = images[:, None]
    if images.ndim != 4 or images.shape[1:] != (channels, size, size):
        also = f" or (N, {size}, {size})" if channels == 1 else ""
        raise ValueError(f"images must be (N, {channels}, {size}, {size}){also}, not {images.shape}")
    device = next(model.parameters()).device
    precision = resolve_precision(precision, device)
    if device.type == "cpu":
        keep_freed_memory()
    net = nn.Sequential(fold_batchnorm(model.encoder), model.head).eval()
    net = net.to(memory_format=torch.channels_last)
    out = np.empty((len(images), config.fingerprint_length), dtype=np.float32)
    with torch.inference_mode():
        for start in tqdm(range(0, len(images), batch_size), desc="encoding", disable=not progress):
            batch = to_input(images[start:start + batch_size], device)
            with autocast(device, precision):
                out[start:start + len(batch)] = net(batch).float().cpu().numpy()
    return out


# --- training -----------------------------------------------------------------------------------------------

VAL_STREAM = 0x7A1  # seeds the held-out views: the same views every epoch


def split_materials(n: int, config: Elf2Config) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, validation) indices; validation gets round(n * validation_fraction) materials."""
    order = np.random.default_rng([config.seed, 0xA11]).permutation(n)
    n_val = round(n * config.validation_fraction)
    if n - n_val < config.batch_size:
        raise ValueError(f"{n - n_val} training materials are fewer than one batch of {config.batch_size}; "
                         "lower batch_size")
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _evaluate(model: Elf2Net, views: torch.Tensor, config: Elf2Config, device, precision) -> dict:
    """Loss (and its terms) on fixed held-out views (2, M, C, S, S), in batches of batch_size materials (a
    last batch of one is left out: its variance is undefined); and the fingerprints' spread (mean standard
    deviation of the 98 numbers across materials, first views): near 0 means collapse."""
    m = views.shape[1]
    if m < 2:
        return {"val_loss": None}
    model.eval()
    sums = {"loss": 0.0, "invariance": 0.0, "variance": 0.0, "covariance": 0.0, "reconstruction": 0.0}
    counted, prints = 0, []
    with torch.inference_mode():
        for start in range(0, m, config.batch_size):
            batch = views[:, start:start + config.batch_size]
            b = batch.shape[1]
            x = to_input(batch.reshape(2 * b, *batch.shape[2:]), device)
            if b < 2:
                with autocast(device, precision):
                    prints.append(model(x)[0][:b].float())
                continue
            loss, parts, f = objective(model, x, config, device, precision)
            prints.append(f[:b].float())
            for key, value in (("loss", loss), *parts.items()):
                sums[key] += float(value) * b
            counted += b
    spread = float(torch.cat(prints).std(dim=0).mean())
    return {**{f"val_{k}": v / counted for k, v in sums.items()}, "val_fingerprint_std": spread}


def _check_resumable(path: Path, expected: dict) -> dict:
    card = read_card(path)
    for name, value in expected.items():
        if card.get(name) != value:
            old = card.get(name)
            if isinstance(value, dict) and isinstance(old, dict):
                diff = {k: (old.get(k), value.get(k)) for k in {**old, **value} if old.get(k) != value.get(k)}
            else:
                diff = (str(old)[:16], str(value)[:16])
            raise CheckpointError(path, f"was trained with another {name} ((checkpoint, now) = {diff}); "
                                        "resume=False (--no-resume) or another output folder")
    return card


def train(
    records: Sequence[BandStructure],
    config: Elf2Config | None = None,
    out_dir: str | Path = "elf2-model",
    recipe: ViewRecipe | None = None,
    settings: ChannelSettings | None = None,
    resume: bool = True,
    device: str | None = None,
    precision: str = "auto",
    progress: bool = True,
    stop_after_epoch: int | None = None,
    time_limit_s: float | None = None,
) -> list[dict]:
    """Train elf-2 on band records (unique ids); checkpoints go to ``out_dir`` after every epoch.

    Returns the history: one dict per epoch with train_loss and its terms (train_invariance, train_variance,
    train_covariance), the same on the held-out materials' fixed views (val_*), val_fingerprint_std, lr,
    seconds, view_wait_seconds (the network waiting for views, which are drawn a batch ahead in a thread),
    images_per_second (training views per second, drawing and waiting included), load_average (the
    machine's 1-minute load at the epoch's end: on a shared CPU images/s fall as it rises).

    resume=True continues after the last finished epoch of ``out_dir`` (CheckpointError when it holds another
    config, recipe, render settings or data); ``stop_after_epoch`` ends after that epoch; ``time_limit_s``
    starts no epoch that would end past the limit (judged by the last epoch's time). Either way, resuming
    later finishes the run exactly as an uninterrupted one. Records that have no band inside the window
    cannot be drawn and are left out (counted on the card). Nothing but band records is read: no label.
    """
    started_run = time.perf_counter()
    config = config or Elf2Config()
    recipe = recipe or ViewRecipe()
    settings = settings or default_settings(config)
    if not isinstance(settings, ChannelSettings):
        raise TypeError(f"settings must be ChannelSettings, not {type(settings).__name__}")
    if settings.image_size != config.image_size or len(settings.channels) != config.in_channels:
        raise ValueError(f"the render settings draw {len(settings.channels)} x {settings.image_size} px, the "
                         f"config expects {config.in_channels} x {config.image_size} px")
    ids = [bs.material_id for bs in records]
    if len(set(ids)) != len(ids):
        raise ValueError("material ids must be unique")
    kept = [bs for bs in records if drawable(bs, settings.window_ev)]
    digest = records_hash(kept)
    device = device or paths.default_device()
    precision = resolve_precision(precision, device)
    if torch.device(device).type == "cpu":
        keep_freed_memory()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    last_path, state_path, best_path = (out_dir / f"{n}.safetensors" for n in ("last", "last-state", "best"))

    train_idx, val_idx = split_materials(len(kept), config)
    b = config.batch_size
    steps = len(train_idx) // b  # a ragged last batch is dropped; the shuffle changes every epoch
    total_steps = steps * config.epochs

    torch.manual_seed(config.seed)
    model = Elf2Net(config).to(device, memory_format=torch.channels_last)
    optimizer = make_optimizer(model, config, device)
    history: list[dict] = []
    if resume and last_path.exists():
        _check_resumable(last_path, {"config": config.to_dict(), "recipe": recipe.to_dict(),
                                     "render_settings": settings.to_dict(), "data_hash": digest})
        restored, _, card = load_model(last_path, device)
        model.load_state_dict(restored.state_dict())
        info = ckpt.load_training_state(state_path, optimizer)
        if info.get("epoch") != card["epoch"]:
            raise CheckpointError(state_path, f"is from epoch {info.get('epoch')}, {last_path.name} from "
                                              f"{card['epoch']}")
        history = card["history"]
        if progress:
            print(f"resuming {out_dir} after epoch {len(history)}/{config.epochs}", file=sys.stderr)
    best = min((h["val_loss"] if h["val_loss"] is not None else h["train_loss"] for h in history),
               default=math.inf)

    val_records = [kept[i] for i in val_idx]
    val_views = torch.from_numpy(view_pairs(val_records, recipe, settings, (config.seed, VAL_STREAM)))
    val_ids = hashlib.sha256("\n".join(kept[i].material_id for i in val_idx).encode()).hexdigest()
    card_base = {"data_hash": digest, "n_materials": len(kept), "n_undrawable": len(records) - len(kept),
                 "n_train": len(train_idx), "n_val": len(val_idx), "val_ids_sha256": val_ids,
                 "precision": precision, "device": str(device), "torch": torch.__version__,
                 "threads": torch.get_num_threads()}
    if progress:
        print(f"elf-2: {len(kept)} materials ({len(train_idx)} train, {len(val_idx)} held out), {steps} "
              f"steps of {b} materials (2 views each) an epoch, {config.image_size} px x "
              f"{config.in_channels} channels, width {config.width}, {device} ({precision}, "
              f"{torch.get_num_threads()} threads)",
              file=sys.stderr)
    for epoch in range(len(history), config.epochs):
        if stop_after_epoch is not None and epoch >= stop_after_epoch:
            break
        if time_limit_s is not None and history:
            if time.perf_counter() - started_run + history[-1]["seconds"] > time_limit_s:
                if progress:
                    print(f"time limit {time_limit_s:g} s: stopping after epoch {epoch}; run again to resume",
                          file=sys.stderr)
                break
        started = time.perf_counter()
        model.train()
        order = train_idx[np.random.default_rng([config.seed, epoch, 1]).permutation(len(train_idx))]
        sums = {k: torch.zeros((), device=device)
                for k in ("loss", "invariance", "variance", "covariance", "reconstruction")}
        drawing = 0.0  # seconds the network waited for views (drawn one batch ahead, in a thread)

        def draw(step: int, order=order, epoch=epoch) -> np.ndarray:
            chosen = [kept[i] for i in order[step * b:(step + 1) * b]]
            return view_pairs(chosen, recipe, settings, (config.seed, epoch, step, 2))

        pool = ThreadPoolExecutor(max_workers=1)
        pending = pool.submit(draw, 0)
        for step in range(steps):
            t0 = time.perf_counter()
            views = pending.result()
            drawing += time.perf_counter() - t0
            if step + 1 < steps:
                pending = pool.submit(draw, step + 1)
            x = to_input(views.reshape(2 * b, *views.shape[2:]), device)
            lr = learning_rate(epoch * steps + step, total_steps, config)
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss, parts, _ = objective(model, x, config, device, precision)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for key, value in (("loss", loss.detach()), *parts.items()):
                sums[key] += value
            if progress and (step % 10 == 0 or step == steps - 1):
                rate = 2 * b * (step + 1) / (time.perf_counter() - started)
                print(f"  epoch {epoch + 1} step {step + 1}/{steps}: loss {float(loss.detach()):.3f} "
                      f"({rate:.1f} images/s)", file=sys.stderr)
        pool.shutdown()
        trained = time.perf_counter() - started
        record = {"epoch": epoch + 1, **{f"train_{k}": float(v) / steps for k, v in sums.items()}}
        record.update(_evaluate(model, val_views, config, device, precision))
        record.update({"lr": lr, "seconds": round(time.perf_counter() - started, 2),
                       "view_wait_seconds": round(drawing, 2),
                       "images_per_second": round(2 * b * steps / trained, 2),
                       "load_average": round(os.getloadavg()[0], 2)})  # a shared machine's images/s vary
        history.append(record)
        ckpt.save_training_state(state_path, optimizer, {"epoch": epoch + 1, "data_hash": digest})
        save_model(last_path, model, {**card_base, "epoch": epoch + 1, "history": history,
                                      "images_per_second": record["images_per_second"]}, settings, recipe)
        score = record["val_loss"] if record["val_loss"] is not None else record["train_loss"]
        if score < best:
            best = score
            ckpt.copy_model_file(last_path, best_path)
        if progress:
            val = "" if record["val_loss"] is None else (f"  held out {record['val_loss']:.3f} (fingerprint "
                                                          f"std {record['val_fingerprint_std']:.3f})")
            print(f"epoch {epoch + 1}/{config.epochs}: loss {record['train_loss']:.3f} (invariance "
                  f"{record['train_invariance']:.3f}, variance {record['train_variance']:.3f}, covariance "
                  f"{record['train_covariance']:.3f}){val}  [{record['seconds']:.0f} s, waiting for views "
                  f"{drawing:.0f} s, {record['images_per_second']:.1f} images/s]", file=sys.stderr)
    return history

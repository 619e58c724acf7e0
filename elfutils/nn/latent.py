"""One image through the autoencoder: reconstruction, training noise, and walks in the latent space.

Paper, Fig. 1: the input image of 2dm-1 (IrF2), its noised copy and the network's reconstruction; the
fingerprint is the 7 x 7 x 2 latent of the clean image. Paper, Methods "Network training and fingerprint", and
Fig. 6: "we run the band structure of 2dm-1's (IrF2) through the encoder, and systematically varied the value
of one dimension of the resulting encoded representation by a Δ. The full set of slightly altered latent space
values is then decoded" -- channel 2 at matrix position (2,2) with Δ from 0.5 to 0.9, and at (3,0) with Δ from
0.25 to 1.1 (:data:`elfutils.constants.LATENT_WALK_SPECS`).

Conventions:

* an image is a 0/1 array ``(S, S)`` as :mod:`elfutils.images.render` draws it (S = the model's
``image_size``);
* a latent is ``(C, side, side)`` (C = ``latent_channels``, side = S / 32); ``channel`` is zero-based (the
  paper's "channel 2" is ``channel=1``) and ``position`` is ``(row, column)``, zero-based, as in the paper's
  "(3,0)";
* decoded images are pixel probabilities in [0, 1] (the sigmoid of the decoder's logits); binarise at 0.5 for
  a band image.

Everything runs in eval mode (batch-norm running statistics), fp32, without autograd, on the model's device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch

from elfutils.constants import LATENT_WALK_CHANNEL, LATENT_WALK_SPECS
from elfutils.nn.model import ElfAutoencoder, image_batch
from elfutils.nn.noise import add_region_noise

WALK_STEPS = 5  # nonzero Δ per walk; the paper gives each range's ends, not the values it shows in between
BINARY_THRESHOLD = 0.5  # a decoded pixel with probability >= 0.5 is a band-line pixel
CHANGE_TOLERANCE = 0.05  # a walk "changes" a pixel whose probability moves by at least this much


# --- checks ------------------------------------------------------------------------------------------------
def _device(model: ElfAutoencoder) -> torch.device:
    return next(model.parameters()).device


def _check_image(model: ElfAutoencoder, image) -> np.ndarray:
    image = np.asarray(image)
    size = model.config.image_size
    if image.shape != (size, size):
        raise ValueError(
            f"image must be ({size}, {size}) for this model (image_size={size}), not {image.shape}")
    if not np.isfinite(image).all() or image.min() < 0 or image.max() > 1:
        raise ValueError("image values must lie in [0, 1] (a binary band image)")
    return image


def check_latent_index(model: ElfAutoencoder, channel: int, position: Sequence[int]) -> tuple[int, int, int]:
    """Validate (channel, (row, column)) against the model's latent shape; returns the three ints.

    Raises:
        ValueError: channel or position out of range, or position not a pair; the message gives the allowed
            range.
    """
    channels, side = model.config.latent_channels, model.config.latent_side
    if isinstance(channel, bool) or not isinstance(channel, int | np.integer) or not 0 <= channel < channels:
        raise ValueError(
            f"channel must be an integer in 0..{channels - 1} (zero-based; the latent has {channels} "
            f"channels), not {channel!r}")
    pos = tuple(position) if isinstance(position, Sequence | np.ndarray) else (position,)
    if len(pos) != 2 or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in pos):
        raise ValueError(f"position must be a (row, column) pair of integers, not {position!r}")
    row, col = int(pos[0]), int(pos[1])
    if not (0 <= row < side and 0 <= col < side):
        raise ValueError(
            f"position {(row, col)} is outside the {side} x {side} latent grid "
            f"(row and column in 0..{side - 1})")
    return int(channel), row, col


def _check_deltas(deltas) -> np.ndarray:
    d = np.asarray(deltas, dtype=np.float64)
    if d.ndim != 1 or len(d) == 0:
        raise ValueError(f"deltas must be a non-empty 1-D sequence of numbers, got shape {d.shape}")
    if not np.isfinite(d).all():
        raise ValueError("deltas must be finite numbers")
    return d


# --- encode, decode, noise ---------------------------------------------------------------------------------
def encode_image(model: ElfAutoencoder, image) -> np.ndarray:
    """The latent of one image: float32 ``(C, side, side)``, e.g. (2, 7, 7); flattened, the fingerprint."""
    image = _check_image(model, image)
    x = image_batch(torch.from_numpy(image.astype(np.float32))[None], model.config.in_channels)
    model.eval()
    with torch.inference_mode():
        z = model.encode(x.to(_device(model)))  # (1, C, side, side)
    return z[0].float().cpu().numpy()


def decode_latents(model: ElfAutoencoder, latents) -> np.ndarray:
    """Latents ``(N, C, side, side)`` (or one ``(C, side, side)``) -> pixel probabilities, float32
    ``(N, S, S)``."""
    z = np.asarray(latents, dtype=np.float32)
    if z.ndim == 3:
        z = z[None]
    want = (model.config.latent_channels, model.config.latent_side, model.config.latent_side)
    if z.ndim != 4 or z.shape[1:] != want:
        raise ValueError(f"latents must be (N, {', '.join(map(str, want))}), not {z.shape}")
    model.eval()
    with torch.inference_mode():
        logits = model.decode(torch.from_numpy(z).to(_device(model)))  # (N, 1, S, S)
    return torch.sigmoid(logits.float())[:, 0].cpu().numpy()


def reconstruct(model: ElfAutoencoder, image) -> np.ndarray:
    """The network's reconstruction of one image: pixel probabilities float32 ``(S, S)``."""
    return decode_latents(model, encode_image(model, image))[0]


def noised_image(image, seed: int, probability: float = 1.0) -> np.ndarray:
    """The training noise (:func:`elfutils.nn.noise.add_region_noise`) on one image, from a seeded generator.

    ``probability`` is the chance that the image gets a noised rectangle; training uses
    :data:`~elfutils.constants.NOISE_PROBABILITY` (0.5), a figure wants the rectangle, hence 1 by default.
    Returns uint8 ``(S, S)``; the same seed gives the same rectangle on every run.
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (S, S), not {image.shape}")
    if not 0 <= probability <= 1:
        raise ValueError(f"probability must lie in [0, 1], not {probability}")
    generator = torch.Generator().manual_seed(int(seed))
    x = torch.from_numpy(image.astype(np.float32))[None, None]
    return add_region_noise(x, probability, generator)[0, 0].numpy().astype(np.uint8)


def binary_cross_entropy(probabilities, target) -> float:
    """Mean per-pixel BCE (nats) of pixel probabilities against a 0/1 image, as the training loss is taken."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-7, 1 - 1e-7)
    t = np.asarray(target, dtype=np.float64)
    if p.shape != t.shape:
        raise ValueError(f"probabilities {p.shape} and target {t.shape} differ in shape")
    return float(-(t * np.log(p) + (1 - t) * np.log1p(-p)).mean())


def constant_predictor_bce(images) -> float:
    """BCE of the best image-independent constant guess for ``images`` (every pixel = their line-pixel
    fraction): :func:`line_fraction_bce` of that fraction. A scale for the training loss, which depends on how
    much ink the images hold."""
    return line_fraction_bce(float(np.asarray(images, dtype=np.float64).mean()))


def line_fraction_bce(fraction: float) -> float:
    """BCE (nats per pixel) of always predicting the line-pixel ``fraction`` f -- what a network that learned
    nothing but the share of line pixels scores: the entropy ``-(f ln f + (1 - f) ln(1 - f))``."""
    f = float(fraction)
    if not 0 <= f <= 1:
        raise ValueError(f"a line-pixel fraction lies in [0, 1], got {f!r}")
    if f in (0.0, 1.0):
        return 0.0
    return float(-(f * np.log(f) + (1 - f) * np.log(1 - f)))


# --- latent walks (Fig. 6) ---------------------------------------------------------------------------------
def latent_walk(model: ElfAutoencoder, image, channel: int, position: Sequence[int], deltas) -> np.ndarray:
    """Decode the image's latent with one element shifted by each Δ.

    Args:
        model: a trained :class:`~elfutils.nn.model.ElfAutoencoder`.
        image: 0/1 array ``(S, S)``.
        channel: zero-based latent channel (the paper's "channel 2" is 1).
        position: ``(row, column)`` in the ``side x side`` latent grid, zero-based.
        deltas: the shifts Δ added to ``latent[channel, row, column]``; Δ = 0 gives the plain reconstruction.

    Returns:
        float32 ``(len(deltas), S, S)`` pixel probabilities.

    Raises:
        ValueError: an image of the wrong size, a channel or position outside the latent, or bad deltas.
    """
    c, row, col = check_latent_index(model, channel, position)
    d = _check_deltas(deltas)
    z = encode_image(model, image)
    walk = np.repeat(z[None], len(d), axis=0)  # (len(deltas), C, side, side)
    walk[:, c, row, col] += d.astype(np.float32)
    return decode_latents(model, walk)


def walk_deltas(low: float, high: float, steps: int = WALK_STEPS) -> np.ndarray:
    """Δ = 0 followed by ``steps`` evenly spaced values from ``low`` to ``high`` (both included)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, not {steps}")
    return np.r_[0.0, np.linspace(low, high, steps)]


@dataclass(frozen=True)
class LatentWalk:
    """One row of Fig. 6: the decoded images of a walk and their change against Δ = 0."""

    channel: int  # zero-based
    position: tuple[int, int]  # (row, column)
    deltas: np.ndarray  # (K,) the shifts added to the latent number, deltas[0] == 0
    images: np.ndarray  # (K, S, S) pixel probabilities
    z0: float  # the number's value before the walk
    scale: float = 1.0  # deltas = scale * the nominal Δ (1: the paper's Δ as they are)

    @property
    def nominal_deltas(self) -> np.ndarray:
        """(K,): the Δ values before scaling (the paper's units when scale is 1)."""
        return self.deltas / self.scale

    @property
    def differences(self) -> np.ndarray:
        """(K, S, S): decoded probability minus the Δ = 0 reconstruction."""
        return self.images - self.images[0]

    @property
    def changed_fraction(self) -> np.ndarray:
        """(K,): share of pixels whose probability moved by at least :data:`CHANGE_TOLERANCE` from Δ = 0's."""
        return changed_fraction(self.images, self.images[0])

    @property
    def flipped_fraction(self) -> np.ndarray:
        """(K,): share of pixels whose binarised value (probability >= 0.5) differs from Δ = 0's."""
        return flipped_fraction(self.images, self.images[0])


def _check_pair(images, reference) -> tuple[np.ndarray, np.ndarray]:
    images, reference = np.asarray(images), np.asarray(reference)
    if images.ndim != 3 or images.shape[1:] != reference.shape:
        raise ValueError(
            f"images {images.shape} must be (K, *reference.shape) with reference {reference.shape}")
    return images, reference


def changed_fraction(images, reference, tolerance: float = CHANGE_TOLERANCE) -> np.ndarray:
    """Per image of ``images`` (K, S, S), the fraction of pixels whose probability differs from ``reference``
    (S, S) by at least ``tolerance``. Unlike :func:`flipped_fraction` it also sees changes of a blurred
    reconstruction whose pixels never reach 0.5."""
    images, reference = _check_pair(images, reference)
    return (np.abs(images - reference[None]) >= tolerance).mean(axis=(1, 2))


def flipped_fraction(images, reference, threshold: float = BINARY_THRESHOLD) -> np.ndarray:
    """Per image of ``images`` (K, S, S), the fraction of pixels whose binarised value differs from
    ``reference`` (S, S) binarised at the same threshold: band-line pixels that appear or vanish."""
    images, reference = _check_pair(images, reference)
    return ((images >= threshold) != (reference >= threshold)[None]).mean(axis=(1, 2))


def element_index(config, channel: int, position: Sequence[int]) -> int:
    """Index of latent number (channel, (row, column)) in the flattened fingerprint:
    ``channel * side**2 + row * side + column`` (see :meth:`ElfAutoencoder.fingerprint`)."""
    side = config.latent_side
    return int(channel) * side**2 + int(position[0]) * side + int(position[1])


def latent_walk_grid(
    model: ElfAutoencoder,
    image,
    specs=LATENT_WALK_SPECS,
    channel: int = LATENT_WALK_CHANNEL,
    steps: int = WALK_STEPS,
    scales: Sequence[float] | None = None,
) -> list[LatentWalk]:
    """The paper's walks (Fig. 6): for each ``((row, column), (Δ_low, Δ_high))`` of ``specs``, Δ = 0 and
    ``steps`` values from Δ_low to Δ_high, decoded (:func:`latent_walk`). Default: channel 2 (index 1) at
    (2,2) with Δ 0.5..0.9 and at (3,0) with Δ 0.25..1.1.

    ``scales`` (one per spec) multiplies each walk's Δ, e.g. by that latent number's standard deviation over
    the materials, to walk in units of its spread; default 1 (the Δ as given)."""
    scales = [1.0] * len(specs) if scales is None else [float(v) for v in scales]
    if len(scales) != len(specs) or not all(np.isfinite(v) and v > 0 for v in scales):
        raise ValueError(f"scales must be {len(specs)} positive numbers (one per walk), not {scales!r}")
    z = encode_image(model, image)
    walks = []
    for (position, (low, high)), scale in zip(specs, scales, strict=True):
        c, row, col = check_latent_index(model, channel, position)
        deltas = scale * walk_deltas(low, high, steps)
        walks.append(LatentWalk(c, (row, col), deltas, latent_walk(model, image, c, (row, col), deltas),
                                float(z[c, row, col]), scale))
    return walks


def path_ticks(record, x_axis: str = "index") -> list[tuple[float, str]]:
    """High-symmetry ticks of a band image: (x as a fraction of the width, label), as
    :mod:`elfutils.images.render`
    lays the path out; a jump between branches reads "X|Y"."""
    from elfutils.data.bands import pretty_label

    branches = record.branches
    if x_axis == "index":
        edges = np.arange(len(branches) + 1) / len(branches)
    else:
        d = np.asarray(record.distances)
        lo, hi = d[branches[0].start], d[branches[-1].end]
        edges = (np.r_[[d[b.start] for b in branches], d[branches[-1].end]] - lo) / (hi - lo)
    labels = [pretty_label(branches[0].start_label)]
    for left, right in pairwise(branches):
        a, b = pretty_label(left.end_label), pretty_label(right.start_label)
        labels.append(a if a == b else f"{a}|{b}")
    labels.append(pretty_label(branches[-1].end_label))
    return [(float(x), label) for x, label in zip(edges, labels, strict=True)]


__all__ = [
    "BINARY_THRESHOLD", "CHANGE_TOLERANCE", "WALK_STEPS", "LatentWalk",
    "binary_cross_entropy", "changed_fraction", "check_latent_index", "constant_predictor_bce",
    "decode_latents", "element_index", "encode_image", "flipped_fraction", "latent_walk",
    "latent_walk_grid", "line_fraction_bce", "noised_image", "path_ticks", "reconstruct", "walk_deltas",
]

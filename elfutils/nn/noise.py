"""Training-time noise: random rectangles of the input replaced by random binary pixels.

Paper, Methods: "during training, we applied random noise to regions of the input images with a probability of
0.5". The rectangle is drawn as torchvision's ``RandomErasing`` draws it (area 2-33 % of the image, aspect
ratio 0.3-3.3, log-uniform), but independently per image and for a whole batch at once on the batch's device:
``RandomErasing`` on a batch tensor would erase the same rectangle in every image. The fill is random 0/1
pixels rather than RandomErasing's Gaussian values, so a noised input still looks like a binary band image
with spurious line pixels. The loss is always taken against the clean image.
"""

from __future__ import annotations

import math

import torch

ERASE_SCALE = (0.02, 0.33)  # rectangle area as a fraction of the image (torchvision's default)
ERASE_RATIO = (0.3, 3.3)  # rectangle height/width (torchvision's default)


def add_region_noise(
    x: torch.Tensor,
    probability: float,
    generator: torch.Generator | None = None,
    scale: tuple[float, float] = ERASE_SCALE,
    ratio: tuple[float, float] = ERASE_RATIO,
) -> torch.Tensor:
    """Return a noised copy of ``x`` (N, C, H, W): each image, with chance ``probability``, gets one rectangle
    of random 0/1 pixels (the same pixels in every channel). ``x`` is not modified.

    Random numbers come from ``generator`` (on its device; default: the global generator on x's device), so a
    seeded generator gives the same noise on every run.
    """
    n, _, h, w = x.shape
    device = generator.device if generator is not None else x.device
    u = torch.rand(n, 5, generator=generator, device=device)  # one row of uniforms per image
    apply = u[:, 0] < probability
    area = h * w * (scale[0] + (scale[1] - scale[0]) * u[:, 1])
    aspect = torch.exp(math.log(ratio[0]) + (math.log(ratio[1]) - math.log(ratio[0])) * u[:, 2])
    # RandomErasing redraws rectangles that do not fit; clamping to the image is the batched equivalent.
    eh = torch.sqrt(area * aspect).round().clamp(1, h)
    ew = torch.sqrt(area / aspect).round().clamp(1, w)
    top = torch.floor(u[:, 3] * (h - eh + 1))
    left = torch.floor(u[:, 4] * (w - ew + 1))
    rows = torch.arange(h, device=device)
    cols = torch.arange(w, device=device)
    in_rows = (rows >= top[:, None]) & (rows < (top + eh)[:, None])  # (N, H)
    in_cols = (cols >= left[:, None]) & (cols < (left + ew)[:, None])  # (N, W)
    mask = in_rows[:, :, None] & in_cols[:, None, :] & apply[:, None, None]  # (N, H, W)
    pixels = torch.rand(n, h, w, generator=generator, device=device) < 0.5  # (N, H, W) random 0/1
    mask, pixels = mask.to(x.device)[:, None], pixels.to(x.device, x.dtype)[:, None]
    return torch.where(mask, pixels, x)

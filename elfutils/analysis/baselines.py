"""Simple band-structure representations a learned fingerprint has to beat (issue #31's yardstick).

Each takes binary band images drawn the paper's way (``uint8 (N, S, S)``, row 0 = +window eV, 1 = band line;
:mod:`elfutils.images.render`) and returns one row of numbers per image:

* :func:`near_zero_blocks` -- pixel blocks of the ±1 eV rows alone, where the flat-band label is defined;
* :func:`row_occupancy` -- for each energy row, the share of k-columns that carry a band (the geometry of a
  flat band: a row full of line pixels);
* :func:`image_gap` -- the band gap read straight from the image: a one-property readout, shown as the
  ceiling of the gap task, not as a rival representation.

The other baselines (8 x 8 pixel blocks, PCA of the pixels, the eigenvalue histogram, random vectors) are
:mod:`elfutils.analysis.evaluation`'s.
"""

from __future__ import annotations

import numpy as np

from elfutils.choices import CHOICES
from elfutils.constants import ENERGY_WINDOW_EV

NEAR_ZERO_EV = CHOICES.flat_band_window_ev  # ±1 eV: the flat-band window of the labels and of our count
NEAR_ZERO_BLOCK = (4, 8)  # rows x columns per block: 4 rows = 0.14 eV at 224 px / ±4 eV


def _images(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"images must be (N, S, S), not {images.shape}")
    return images.astype(np.float32)


def energy_rows(size: int, window_ev: float, full_window_ev: float = ENERGY_WINDOW_EV) -> slice:
    """The image rows whose centres lie within ±``window_ev`` of the zero (the image spans
    ±``full_window_ev``)."""
    if not 0 < window_ev <= full_window_ev:
        raise ValueError(f"window_ev must be in (0, {full_window_ev}], not {window_ev}")
    centres = full_window_ev - (np.arange(size) + 0.5) * (2 * full_window_ev / size)
    rows = np.flatnonzero(np.abs(centres) <= window_ev)
    return slice(int(rows[0]), int(rows[-1]) + 1)


def near_zero_blocks(images, window_ev: float = NEAR_ZERO_EV, block: tuple[int, int] = NEAR_ZERO_BLOCK,
                     full_window_ev: float = ENERGY_WINDOW_EV) -> np.ndarray:
    """Block-averaged pixels of the rows within ±``window_ev`` eV: (N, rows/block_r * S/block_c)."""
    images = _images(images)
    n, size, _ = images.shape
    crop = images[:, energy_rows(size, window_ev, full_window_ev), :]
    br, bc = block
    rows, cols = crop.shape[1] // br * br, size // bc * bc  # drop a partial block at the edge
    crop = crop[:, :rows, :cols]
    return crop.reshape(n, rows // br, br, cols // bc, bc).mean(axis=(2, 4)).reshape(n, -1)


def row_occupancy(images) -> np.ndarray:
    """For each row (energy), the share of columns (k) holding a band pixel: (N, S)."""
    return _images(images).mean(axis=2)


def image_gap(images, full_window_ev: float = ENERGY_WINDOW_EV) -> np.ndarray:
    """The gap read from the image (N, 1), eV: the empty rows around the zero (the project's zero sits just
    above the valence-band maximum, so the gap opens upwards from the zero row); 0 where a band crosses the
    zero row. Line width is not corrected for: the readout is a ceiling for the gap task, not a
    measurement."""
    images = _images(images)
    n, size, _ = images.shape
    occupied = images.any(axis=2)  # (N, S): rows with any band pixel
    pixel_ev = 2 * full_window_ev / size
    zero_row = size // 2  # the row just above the centre line: 0 eV lies between rows S/2 - 1 and S/2
    gaps = np.zeros(n)
    for i in range(n):
        if occupied[i, zero_row - 1] and occupied[i, zero_row]:
            continue
        above = occupied[i, :zero_row][::-1]  # rows going up from the zero
        below = occupied[i, zero_row:]
        up = int(np.argmax(above)) if above.any() else len(above)
        down = int(np.argmax(below)) if below.any() else len(below)
        gaps[i] = (up + down) * pixel_ev
    return gaps[:, None]

"""Comparing a figure that shows less than the model's energy window: in the window both records show.

A band-structure figure drawn at ±2 eV says nothing about the bands between 2 and 4 eV; drawn into a ±4 eV
image, those rows are *unknown*, not empty, and a fingerprint of the half-empty image lies far from the
fingerprint of the full one. So a figure is compared in the **shared window**: the figure's energy window
(``metadata["figure_energy_range"]``, on the project's zero after the reader applied it) intersected with the
model's, rounded inward to :data:`WINDOW_STEP_EV`; the figure *and every reference* are cropped to it
(:func:`crop_to_window`: a band where it leaves the window goes beyond the window's edge, as the figure
reader places it) and both are encoded by the same model. The rounding lets references encoded once for a
window serve every figure that shows it; :data:`WINDOW_TOLERANCE_EV` lets a figure whose edge misses a grid
line by a row or two (a VBM zero 0.05 eV below the project's) count as reaching it.

The cost: the references are encoded again for each window (the atlas, 4602 materials: about two minutes on
a 2-core CPU, cached by the command), and the fingerprints of a cropped window see less of each band
structure; the figure study (``benchmarks/figure_study.py``) measures the recall it leaves.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from elfutils.data.bands import BandStructure
from elfutils.errors import BandDataError

WINDOW_STEP_EV = 0.5  # shared windows are rounded inward to this grid: one encoding of references serves many
WINDOW_TOLERANCE_EV = 0.06  # ~2 rows of a 224-px ±4 eV image: an edge this close to a grid line reaches it
MIN_SHARED_WINDOW_EV = 1.0  # a narrower shared window holds too little of a band structure to compare
BEYOND_EV = 10.0  # where a cropped band goes: this far beyond the window's edge (the figure reader's rule)


def figure_window(record: BandStructure, window_ev: float) -> tuple[float, float] | None:
    """The shared window (lo, hi) in eV around the record's zero in which a figure's record is compared with
    images drawn at ±``window_ev``; None when the record is not from a figure or its window covers
    ±``window_ev`` (compare as usual). BandDataError when the shared window is narrower than
    :data:`MIN_SHARED_WINDOW_EV`."""
    shown = record.metadata.get("figure_energy_range")
    if shown is None:
        return None
    lo, hi = (float(v) - record.efermi for v in shown)
    lo_q = max(-window_ev, math.ceil((lo - WINDOW_TOLERANCE_EV) / WINDOW_STEP_EV) * WINDOW_STEP_EV)
    hi_q = min(window_ev, math.floor((hi + WINDOW_TOLERANCE_EV) / WINDOW_STEP_EV) * WINDOW_STEP_EV)
    if lo_q <= -window_ev and hi_q >= window_ev:
        return None
    if hi_q - lo_q < MIN_SHARED_WINDOW_EV:
        raise BandDataError(f"the figure shows {lo:+.2f} to {hi:+.2f} eV around the zero: less than "
                            f"{MIN_SHARED_WINDOW_EV} eV of the model's ±{window_ev} eV window to compare in",
                            record.source or record.material_id, "energy axis")
    return (float(lo_q), float(hi_q))


def crop_to_window(record: BandStructure, window: tuple[float, float]) -> BandStructure:
    """The record with every energy outside ``window`` (eV around its zero) moved :data:`BEYOND_EV` beyond
    the edge it left through, as the figure reader records a figure of that window: drawn, the two agree
    inside the window, and outside it hold only the steep strokes of bands leaving it."""
    lo, hi = window
    rel = record.relative_energies()
    cropped = np.where(rel > hi, hi + BEYOND_EV, np.where(rel < lo, lo - BEYOND_EV, rel))
    return dataclasses.replace(record, energies=cropped + record.efermi)


def window_label(window: tuple[float, float]) -> str:
    """``(-2.0, 1.5)`` -> ``"-2.0..+1.5 eV"``: how a shared window is named in notes and cache files."""
    return f"{window[0]:+.1f}..{window[1]:+.1f} eV"


def group_by_window(records, window_ev: float) -> dict:
    """Record indices by shared window (None: compared as usual), in first-seen order."""
    groups: dict = {}
    for i, record in enumerate(records):
        groups.setdefault(figure_window(record, window_ev), []).append(i)
    return groups

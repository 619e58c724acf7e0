"""Figures of the data chapter: the dataset card's element coverage and wall times (:func:`card_figure`),
our GPAW images against 2Dmatpedia's VASP images (:func:`fixture_figure`) and the gaps of the two codes
(:func:`gap_figure`); the numbers behind them are :mod:`elfutils.dft.compare`'s."""

from __future__ import annotations

import numpy as np
import pandas as pd

from elfutils.dft.compare import TOLERANCE_PX, overlay


# --- figures of the data chapter ----------------------------------------------------------------------------
def card_figure(card: dict, top: int = 40):
    """Element coverage (the ``top`` most frequent) and the wall time per material, side by side."""
    import matplotlib.pyplot as plt

    fig, (ax_el, ax_t) = plt.subplots(1, 2, figsize=(12, 3.6), gridspec_kw={"width_ratios": [2.2, 1]})
    elements = card["elements"].head(top)
    ax_el.bar(elements.index, elements.values, color="0.35")
    ax_el.set_ylabel("materials containing it")
    ax_el.set_title(f"elements (the {len(elements)} most frequent)")
    ax_el.tick_params(axis="x", labelsize=8, rotation=90)
    wall = pd.to_numeric(card["materials"].get("wall_time_s"), errors="coerce").dropna()
    if len(wall):
        ax_t.hist(wall, bins=np.geomspace(max(wall.min(), 0.5), wall.max() * 1.01, 25), color="0.35")
    ax_t.set_xscale("log")
    ax_t.set_xlabel("wall time per material (s, one core)")
    ax_t.set_ylabel("materials")
    ax_t.set_title("cost of one band structure")
    fig.tight_layout()
    return fig


def fixture_figure(table: pd.DataFrame, images: dict, per_row: int = 2, window: float | None = None):
    """For each material: our image, the VASP image and their :func:`overlay`, ``per_row`` materials a row,
    each on its energy axis (±``window`` eV, default the paper's) with the zero line."""
    import matplotlib.pyplot as plt

    from elfutils.images.plot import draw_band_image

    ids = [m for m in table.material_id if m in images]
    rows = max((len(ids) + per_row - 1) // per_row, 1)
    fig, axes = plt.subplots(rows, 3 * per_row, figsize=(12, 2.1 * rows), squeeze=False)
    by_id = table.set_index("material_id")
    for k, mid in enumerate(ids):
        ours, vasp = images[mid]
        row = by_id.loc[mid]
        panels = [(1 - ours, f"{row.formula} ({mid})\nours (GPAW)"), (1 - vasp, "2Dmatpedia (VASP)"),
                  (overlay(ours, vasp),
                   f"overlay; within {TOLERANCE_PX} px: {row.within_tolerance_fraction:.2f}")]
        for j, (img, title) in enumerate(panels):
            ax = axes[k // per_row, 3 * (k % per_row) + j]
            # a material's three images share the first one's energy axis (each material labels it)
            draw_band_image(ax, img, window, title, ylabel=k % per_row == 0 and j == 0, cmap="gray",
                            axis_of=axes[k // per_row, 3 * (k % per_row)] if j else None)
    for ax in axes.flat[3 * len(ids):]:
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def gap_figure(gaps: pd.DataFrame):
    """Our gap against the reference gap (metal in one code only: red), and the differences of the gapped."""
    import matplotlib.pyplot as plt

    fig, (ax_s, ax_h) = plt.subplots(1, 2, figsize=(11, 4.2))
    same, differs = gaps[gaps.same_kind], gaps[~gaps.same_kind]
    ax_s.scatter(same.gap_reference, same.gap_ours, s=8, color="0.3", label="both metal or both gapped")
    ax_s.scatter(differs.gap_reference, differs.gap_ours, s=14, color="tab:red",
                 label="metal in one code only")
    top = float(max(gaps.gap_reference.max(), gaps.gap_ours.max(), 1.0)) if len(gaps) else 1.0
    ax_s.plot([0, top], [0, top], color="tab:blue", lw=0.8)
    ax_s.set_xlabel("2Dmatpedia gap (eV, VASP PBE)")
    ax_s.set_ylabel("our gap (eV, GPAW PBE)")
    ax_s.legend(loc="upper left", fontsize=8)
    both = gaps[~gaps.metal_ours & ~gaps.metal_reference]
    ax_h.hist(both.difference, bins=40, color="0.35")
    ax_h.set_xlabel("our gap - 2Dmatpedia gap (eV), both gapped")
    ax_h.set_ylabel("materials")
    fig.tight_layout()
    return fig

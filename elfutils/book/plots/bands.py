"""Band structures drawn for a reader: grids of band images (:func:`band_images_figure`), real band lines
(:func:`plot_bands`), exemplar grids (Fig. 3) and duplicate pairs overlaid (Table 1)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from elfutils.book.plots.style import new_ax, no_data


def band_images_figure(images, titles, ncols: int = 6, highlight: int | None = 0,
                       window: float | None = None):
    """Band-structure images in a grid (line pixels black), one title per image, each on its energy axis
    (±``window`` eV, default the paper's) with the zero line; the first column labels the axis.

    Parameters
    ----------
    images : sequence of uint8 (S, S) 0/1 images
    titles : sequence of str, same length
    ncols : images per row
    highlight : index of an image to frame in red (the query), or None
    window : the images' energy window in eV

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib.pyplot as plt

    from elfutils.images.plot import draw_band_image

    images = list(images)
    if len(images) != len(titles):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    if not images:
        raise ValueError("no images to show")
    ncols = max(1, min(ncols, len(images)))
    nrows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.2 * ncols + 0.4, 2.55 * nrows), squeeze=False,
                             sharey=True, constrained_layout=True)
    for ax in axes.ravel():
        ax.axis("off")
    for i, (image, title) in enumerate(zip(images, titles, strict=True)):
        ax = axes.ravel()[i]
        ax.axis("on")
        draw_band_image(ax, np.asarray(image), window, title, ylabel=i % ncols == 0)  # sharey: one axis a row
        if highlight is not None and i == highlight:
            for spine in ax.spines.values():
                spine.set(color="tab:red", lw=2.5)
    return fig


# --- Fig. 3: band structures as lines ---------------------------------------------------------------------
def band_x(bs) -> np.ndarray:
    """x of every k-point: branch j spans [j, j+1], points evenly spaced by index (NaN outside branches),
    the x axis of the images (:mod:`elfutils.images.render`, ``x_axis="index"``)."""
    x = np.full(bs.nkpoints, np.nan)
    for j, b in enumerate(bs.branches):
        x[b.start : b.end + 1] = j + np.arange(b.end - b.start + 1) / (b.end - b.start)
    return x


def plot_bands(bs, ax=None, window: float = 4.0, color="black", linewidth: float = 0.9,
               title: str | None = None, ylabel: bool = True):
    """One band structure as lines: E - E_F (eV) within +-``window`` against the k-point index (one equal
    slot per branch, labelled with the high-symmetry points; ``A|B`` where the path jumps). A second spin
    channel is drawn dashed. Returns the Axes."""
    from matplotlib.collections import LineCollection

    from elfutils.nn.latent import path_ticks

    ax = new_ax(ax, (3.2, 3.0))
    x = band_x(bs)
    rel = bs.relative_energies()
    for spin in range(bs.nspin):
        segments = []
        e = rel[spin]
        inside = (e.max(axis=1) >= -window) & (e.min(axis=1) <= window)
        for b in bs.branches:
            sl = slice(b.start, b.end + 1)
            segments += [np.column_stack([x[sl], band[sl]]) for band in e[inside]]
        ax.add_collection(LineCollection(segments, colors=[color], linewidths=linewidth,
                                         linestyles="solid" if spin == 0 else (0, (3, 1.5))))
    n = len(bs.branches)
    for j in range(1, n):
        ax.axvline(j, color="0.6", linewidth=0.6)
    ax.axhline(0.0, color="0.4", linewidth=0.7, linestyle=":")
    ax.set_xlim(0, n)
    ax.set_ylim(-window, window)
    ax.set_xticks(np.arange(n + 1), [label for _, label in path_ticks(bs)], fontsize=8)
    if ylabel:
        ax.set_ylabel("$E - E_F$ (eV)")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def exemplar_band_grid(rows: Sequence[tuple[str, Sequence]], ncols: int = 3, window: float = 4.0,
                       colors: Sequence | None = None, panel_size: tuple[float, float] = (3.1, 2.6)):
    """Fig. 3: one row per cluster, its top exemplars as band lines.

    Parameters
    ----------
    rows : (row title, [(BandStructure, panel title), ...]) per cluster; rows with fewer than ``ncols``
        materials leave the rest empty
    colors : one line colour per row (default black)

    Returns
    -------
    Figure
    """
    import matplotlib.pyplot as plt

    nrows = max(len(rows), 1)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows + 0.3),
                             squeeze=False, sharey=True)
    if not rows:
        no_data(axes[0, 0], "no clusters")
    for r, (row_title, panels) in enumerate(rows):
        color = colors[r] if colors is not None else "black"
        for c in range(ncols):
            ax = axes[r, c]
            if c >= len(panels):
                ax.set_axis_off()
                continue
            bs, title = panels[c]
            plot_bands(bs, ax=ax, window=window, color=color, title=title, ylabel=c == 0)
        axes[r, 0].annotate(row_title, xy=(-0.32, 0.5), xycoords="axes fraction", rotation=90, ha="center",
                            va="center", fontsize=10, fontweight="bold")
    for ax in axes.ravel()[len(rows) * ncols:]:
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def pair_overlay(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RGB image of two binary images: pixels of both black, only ``a`` red, only ``b`` blue."""
    a, b = np.asarray(a).astype(bool), np.asarray(b).astype(bool)
    rgb = np.ones((*a.shape, 3))
    rgb[a & b] = 0.0
    rgb[a & ~b] = (0.85, 0.1, 0.1)
    rgb[b & ~a] = (0.1, 0.3, 0.9)
    return rgb


def pair_images_figure(pairs: pd.DataFrame, images: Mapping[str, np.ndarray], max_pairs: int = 8,
                       pairs_per_row: int = 2, title: str | None = None, window: float | None = None,
                       nn_unit: float | None = None):
    """Side-by-side images of duplicate candidates: for each pair, material a, material b and their overlay
    (black = both, red = only a, blue = only b). ``pairs`` has rank, formula, material_id_a, material_id_b,
    distance (:func:`elfutils.analysis.duplicates.find_duplicates` candidates); pairs without both images are
    left out; ``title`` goes above the grid. Each image is on its energy axis (±``window`` eV, default the
    paper's) with the zero line; the first image of each pair labels the axis and gives the pair's distance,
    in units of ``nn_unit`` (the median nearest-neighbour distance) when given.

    Returns
    -------
    Figure
    """
    import matplotlib.pyplot as plt

    from elfutils.images.plot import draw_band_image

    pairs = pairs[pairs.material_id_a.isin(list(images)) & pairs.material_id_b.isin(list(images))]
    pairs = pairs.head(max_pairs)
    n = len(pairs)
    pairs_per_row = max(1, min(pairs_per_row, n))
    nrows = max(int(np.ceil(n / pairs_per_row)), 1)
    ncols = 3 * pairs_per_row
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.9 * ncols + 0.5, 2.2 * nrows), squeeze=False)
    if not n:
        no_data(axes[0, 0], "no candidate pairs")
    for k, pair in enumerate(pairs.itertuples()):
        r, c0 = divmod(k, pairs_per_row)
        a, b = images[pair.material_id_a], images[pair.material_id_b]
        panels = [(a, pair.material_id_a, "gray_r"), (b, pair.material_id_b, "gray_r"),
                  (pair_overlay(a, b), "overlay", None)]
        for j, (img, name, cmap) in enumerate(panels):
            ax = axes[r, 3 * c0 + j]
            # the pair shares its first image's energy axis (each pair labels its own)
            draw_band_image(ax, img, window, name, ylabel=False, interpolation="antialiased",
                            axis_of=axes[r, 3 * c0] if j else None, **({"cmap": cmap} if cmap else {}))
        rank = getattr(pair, "rank", k + 1)
        rank = "–" if not rank else rank  # 0: a pair not ranked among the same-formula pairs
        distance = (f"d = {pair.distance / nn_unit:.3f} × median NN" if nn_unit
                    else f"d = {pair.distance:.3g}")
        axes[r, 3 * c0].set_ylabel(f"#{rank} {pair.formula}\n{distance}\nE − E$_0$ (eV)", fontsize=8)
    for ax in axes.ravel()[3 * n:]:
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig

"""Figures of the nn layer: Fig. 6's latent walks (:func:`walk_figure`), drawn from a
:class:`~elfutils.nn.latent.LatentWalk` that :mod:`elfutils.nn.latent` computes."""

from __future__ import annotations

import numpy as np

from elfutils.nn.latent import LatentWalk


def walk_figure(walk: LatentWalk, ticks=None, window: float | None = None, title: str = ""):
    """Fig. 6 row: decoded images (top) and their difference from Δ = 0 (bottom, red = more line), one column
    per Δ; under each difference, the share of changed pixels (:attr:`LatentWalk.changed_fraction`). Titles
    give Δ, or Δ in units of ``scale`` ("σ") for a scaled walk. Returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    from elfutils.images.plot import draw_band_image

    k, limit = len(walk.deltas), max(float(np.abs(walk.differences).max()), 1e-3)
    fig, axes = plt.subplots(2, k, figsize=(1.9 * k + 1, 4.4), sharex=True, sharey=True, layout="constrained")
    unit = "" if walk.scale == 1 else " σ"
    for j, (delta, img, diff) in enumerate(zip(walk.nominal_deltas, walk.images, walk.differences,
                                               strict=True)):
        draw_band_image(axes[0, j], img, window, f"Δ = {delta:.3g}{unit if delta else ''}", ticks,
                        ylabel=False, title_size=None)
        shown = draw_band_image(axes[1, j], diff, window, ticks=ticks, ylabel=False, cmap="RdBu_r",
                                vmin=-limit, vmax=limit)
        axes[1, j].set_xlabel(f"{100 * walk.changed_fraction[j]:.2f}% changed", fontsize=8)
    axes[0, 0].set_ylabel("decoded\nE − E$_0$ (eV)")
    axes[1, 0].set_ylabel("minus Δ = 0\nE − E$_0$ (eV)")
    fig.colorbar(shown, ax=axes[1, :], shrink=0.9, label="change in probability")
    fig.suptitle(title or f"channel {walk.channel + 1}, position {walk.position}")
    return fig

"""Colours and axes every book figure shares: one colour per HDBSCAN cluster (:func:`cluster_colors`),
DBSCAN groups in a second palette (:func:`group_colors`), unclassified materials grey
(:data:`NOISE_COLOR`)."""

from __future__ import annotations

import numpy as np

from elfutils.constants import (  # noqa: F401 (notebooks use them)
    PAPER_CO_CLUSTERED,
    PAPER_FIG3_CLUSTERS,
    PAPER_FIG4_SKEWED,
    PAPER_FIG5_MOTIFS,
)

NOISE_COLOR = "0.72"  # unclassified materials


# --- colours -----------------------------------------------------------------------------------------------
def cluster_colors(n: int) -> list[tuple]:
    """``n`` distinct opaque colours for clusters 0..n-1 (tab20 reordered so neighbours differ, then tab20b
    and tab20c; cycles beyond 60)."""
    import matplotlib as mpl

    tab20 = mpl.colormaps["tab20"].colors
    base = [tab20[i] for i in range(0, 20, 2)] + [tab20[i] for i in range(1, 20, 2)]
    for name in ("tab20b", "tab20c"):
        cols = mpl.colormaps[name].colors
        base += [cols[i] for i in (0, 4, 8, 12, 16, 2, 6, 10, 14, 18, 1, 5, 9, 13, 17, 3, 7, 11, 15, 19)]
    return [tuple(base[i % len(base)]) for i in range(max(int(n), 0))]


def group_colors(n: int) -> list[tuple]:
    """``n`` soft colours for DBSCAN groups (Set2, then Set3; cycles)."""
    import matplotlib as mpl

    base = list(mpl.colormaps["Set2"].colors) + list(mpl.colormaps["Set3"].colors)
    return [tuple(base[i % len(base)]) for i in range(max(int(n), 0))]


def n_labels(labels) -> int:
    labels = np.asarray(labels)
    return int(labels.max() + 1) if labels.size and labels.max() >= 0 else 0


def new_ax(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def no_data(ax, text: str):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax

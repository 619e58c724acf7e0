"""Layers seen from above (Fig. 4, :func:`plot_layer`) and structural clusters on the map (Fig. 5)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from elfutils.book.plots.style import NOISE_COLOR, cluster_colors, new_ax, no_data
from elfutils.constants import (  # noqa: F401 (notebooks use them)
    PAPER_CO_CLUSTERED,
    PAPER_FIG3_CLUSTERS,
    PAPER_FIG4_SKEWED,
    PAPER_FIG5_MOTIFS,
)


# --- Fig. 5: structural clusters on the map ---------------------------------------------------------------
def plot_structure_overlay(placed: pd.DataFrame, localisation: pd.DataFrame,
                           motifs: Mapping[int, str] | None = None, ax=None, n_colored: int = 16):
    """Fig. 5: the elf map with materials coloured by their structural (CNNF) cluster.

    The localised CNNF clusters (``localisation.localised``) and then the largest others, ``n_colored`` in
    all, get a colour and a legend entry "CNNF c (size): motif", localised ones marked with a star; the
    remaining CNNF clusters are drawn small in light grey-blue, materials without a CNNF cluster in grey.

    Parameters
    ----------
    placed : :func:`elfutils.analysis.structure.cnnf_on_elf_map` table (umap_x, umap_y, cnnf_cluster)
    localisation : its localisation table (cnnf_cluster, size, largest_group, localised)
    motifs : CNNF cluster -> motif name, for the legend

    Returns
    -------
    Axes
    """
    from matplotlib import patheffects

    ax = new_ax(ax, (9, 7))
    if not len(placed):
        return no_data(ax, "no materials")
    xy = placed[["umap_x", "umap_y"]].to_numpy(float)
    cnnf = placed["cnnf_cluster"].to_numpy()
    order = (localisation.sort_values(["localised", "size"], ascending=False, kind="stable")
             if len(localisation) else localisation)
    shown = [int(c) for c in order.cnnf_cluster[:n_colored]] if len(order) else []
    localised = set(localisation.cnnf_cluster[localisation.localised]) if len(localisation) else set()
    if (cnnf < 0).any():
        ax.scatter(xy[cnnf < 0, 0], xy[cnnf < 0, 1], s=6, c=NOISE_COLOR, linewidths=0,
                   label="no CNNF cluster")
    other = (cnnf >= 0) & ~np.isin(cnnf, shown)
    if other.any():
        ax.scatter(xy[other, 0], xy[other, 1], s=10, c="#9fb4c7", linewidths=0, label="other CNNF clusters")
    colors = cluster_colors(len(shown))
    motifs = dict(motifs or {})
    for i, c in enumerate(shown):
        pts = xy[cnnf == c]
        name = motifs.get(c)
        star = "★ " if c in localised else ""
        label = f"{star}CNNF {c} ({len(pts)})" + (f": {name}" if name else "")
        ax.scatter(pts[:, 0], pts[:, 1], s=34 if c in localised else 20, color=colors[i],
                   edgecolors="black" if c in localised else "white", linewidths=0.5, label=label, zorder=2)
        if c in localised:  # a label where the cluster sits; a scattered cluster has no such place
            cx, cy = np.median(pts, axis=0)
            ax.text(cx, cy, str(c), fontsize=8, fontweight="bold", ha="center", va="center", zorder=3,
                    path_effects=[patheffects.withStroke(linewidth=2.2, foreground="white")])
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, markerscale=1.3,
              title="★ localised on the elf map" if localised else None, title_fontsize=8)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("UMAP 1")
    ax.set_ylabel("UMAP 2")
    return ax


LAYER_REPEAT = 3  # Fig. 4: cells drawn along each lattice vector


BOND_TOLERANCE = 0.15  # Fig. 4: a bond joins atoms within this fraction above the layer's shortest distance


def plot_layer(structure, ax=None, repeat: int = LAYER_REPEAT, tolerance: float = BOND_TOLERANCE,
               title: str | None = None,
               atom_size: float = 70.0):
    """Fig. 4: a top view of a layer, ``repeat`` x ``repeat`` cells, atoms in Jmol colours and the
    nearest-neighbour bonds of :func:`elfutils.analysis.structure.layer_bonds` as lines, the unit cell dashed.

    Returns
    -------
    Axes
    """
    from pymatgen.vis.structure_vtk import EL_COLORS

    from elfutils.analysis.structure import layer_bonds, layer_frame

    ax = new_ax(ax, (4, 4))
    _, e1, e2 = layer_frame(structure.lattice)
    a, b = structure.lattice.matrix[0], structure.lattice.matrix[1]
    shifts = [i * a + j * b for i in range(repeat) for j in range(repeat)]

    def flat(points):
        points = np.atleast_2d(points)
        return np.c_[points @ e1, points @ e2]

    for site, bonds in zip(structure, layer_bonds(structure, tolerance), strict=True):
        for n in bonds:
            for shift in shifts:
                ends = flat([site.coords + shift, n.coords + shift])
                ax.plot(ends[:, 0], ends[:, 1], color="0.45", linewidth=1.2, zorder=1)
    cell = flat([np.zeros(3), a, a + b, b, np.zeros(3)])
    ax.plot(cell[:, 0], cell[:, 1], color="0.2", linestyle="--", linewidth=0.8, zorder=2)
    for element in sorted({site.specie.symbol for site in structure}):
        coords = np.array([s.coords + shift for s in structure if s.specie.symbol == element
                           for shift in shifts])
        rgb = np.array(EL_COLORS["Jmol"].get(element, (128, 128, 128))) / 255
        ax.scatter(*flat(coords).T, s=atom_size, color=rgb, edgecolors="black", linewidths=0.5, zorder=3,
                   label=element)
    corners = flat([i * a + j * b for i in (0, repeat) for j in (0, repeat)])
    pad = 0.05 * np.ptp(corners, axis=0).max()
    ax.set_xlim(corners[:, 0].min() - pad, corners[:, 0].max() + pad)
    ax.set_ylim(corners[:, 1].min() - pad, corners[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4, fontsize=8, frameon=False,
              handletextpad=0.2, columnspacing=0.8)
    if title:
        ax.set_title(title, fontsize=9)
    return ax

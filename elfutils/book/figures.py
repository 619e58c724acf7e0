"""Plot helpers for the book's figures: the fingerprint map and cluster tree (Fig. 2), exemplar band
structures (Fig. 3), top views of layers (Fig. 4), structural clusters on the map (Fig. 5) and
duplicate pairs (Table 1).

Every helper takes the tables of :mod:`elfutils.book.pipeline` (or :mod:`elfutils.analysis.cluster`) and
returns a
matplotlib ``Figure`` or ``Axes`` (an ``ax`` argument draws into an existing one); nothing is shown or saved
here. The notebooks only choose what to draw. Conventions shared by all figures:

* one colour per HDBSCAN cluster (:func:`cluster_colors`), opaque; unclassified materials small and grey;
* DBSCAN groups as translucent regions in a second palette (:func:`group_colors`), the same colour in the map
  and in the tree;
* band structures either as the binary image the network saw or as real lines (:func:`plot_bands`:
  E - E_F against the k-point index, one equal-width slot per path branch, like the images).

A few small choices that only serve the figures live here too: which exemplars get an inset
(:func:`map_exemplars`).
Statistics about clusters (gap purity, variance shares, map neighbours) are analysis:
:mod:`elfutils.analysis.cluster_statistics`.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

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


def _n_labels(labels) -> int:
    labels = np.asarray(labels)
    return int(labels.max() + 1) if labels.size and labels.max() >= 0 else 0


def _new_ax(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _no_data(ax, text: str):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


# --- cluster <-> DBSCAN group ------------------------------------------------------------------------------
def cluster_groups(table: pd.DataFrame) -> dict[int, int]:
    """The DBSCAN group of each HDBSCAN cluster: the most common group among its members (-1 if none)."""
    out = {}
    for label, part in table[table.hdbscan_label >= 0].groupby("hdbscan_label"):
        groups = part.dbscan_group[part.dbscan_group >= 0]
        out[int(label)] = int(groups.mode().min()) if len(groups) else -1
    return out


# --- Fig. 2a: the condensed tree ---------------------------------------------------------------------------
def tree_layout(tree: pd.DataFrame) -> dict:
    """Positions of the cluster hierarchy for a dendrogram with the selected clusters as leaves.

    Parameters
    ----------
    tree : :func:`elfutils.analysis.cluster.cluster_tree_table` (parent, child, distance, size, selected,
    label)

    Returns
    -------
    dict with
        leaves : list of (label, x, size) in drawing order (x = 0, 1, 2, ...)
        nodes : {node: (x, y)}, y = the Minkowski distance at which the node splits (leaves: ``baseline``)
        edges : list of ((x0, y0), (x1, y1)) line segments (elbows)
        baseline, top : y of the leaves and of the root split
    Nodes below a selected cluster are cut; nodes with no selected cluster below them are left out.
    """
    selected = {int(c): int(lab)
                for c, lab, s in zip(tree["child"], tree["label"], tree["selected"], strict=True) if s}
    if not selected:
        return {"leaves": [], "nodes": {}, "edges": [], "baseline": np.nan, "top": np.nan}
    children: dict[int, list[int]] = {}
    birth = {}
    size = {}
    for parent, child, dist, sz in zip(tree["parent"], tree["child"], tree["distance"], tree["size"],
                                       strict=True):
        children.setdefault(int(parent), []).append(int(child))
        birth[int(child)] = float(dist)
        size[int(child)] = int(sz)
    finite = [d for d in birth.values() if np.isfinite(d) and d > 0]
    big = max(finite) if finite else 1.0
    birth = {k: (v if np.isfinite(v) and v > 0 else big * 2) for k, v in birth.items()}
    root = int(min(tree["parent"]))

    below: dict[int, bool] = {}

    def has_selected(node: int) -> bool:
        if node not in below:
            below[node] = node in selected or any(has_selected(c) for c in children.get(node, []))
        return below[node]

    def min_label(node: int) -> int:
        if node in selected:
            return selected[node]
        return min((min_label(c) for c in children.get(node, []) if has_selected(c)), default=10**9)

    leaves, nodes, edges = [], {}, []
    split = {}

    def place(node: int) -> float:
        if node in selected:
            x = float(len(leaves))
            leaves.append((selected[node], x, size.get(node, 0)))
            nodes[node] = (x, None)
            return x
        kids = sorted((c for c in children.get(node, []) if has_selected(c)), key=min_label)
        xs = [place(c) for c in kids]
        x = float(np.mean(xs))
        split[node] = min(birth[c] for c in kids)
        nodes[node] = (x, split[node])
        return x

    place(root)
    levels = [*split.values()] + [birth[n] for n in nodes if n in birth]
    baseline = min(levels) / 2.5
    top = max(levels) if levels else baseline * 10
    nodes = {n: (x, baseline if y is None else y) for n, (x, y) in nodes.items()}
    for node, (_, y) in nodes.items():
        kids = [c for c in children.get(node, []) if c in nodes]
        if not kids or node in selected:
            continue
        kx = [nodes[c][0] for c in kids]
        edges.append(((min(kx), y), (max(kx), y)))
        for c in kids:
            edges.append(((nodes[c][0], nodes[c][1]), (nodes[c][0], y)))
    if root in nodes:
        rx, ry = nodes[root]
        edges.append(((rx, ry), (rx, ry * 1.6)))
        top = ry * 1.6
    return {"leaves": leaves, "nodes": nodes, "edges": edges, "baseline": baseline, "top": top}


def plot_condensed_tree(
    tree: pd.DataFrame,
    ax=None,
    colors: Sequence | None = None,
    leaf_groups: Mapping[int, int] | None = None,
    max_square: float = 260.0,
    label_leaves: bool = True,
    orientation: str = "left",
):
    """Fig. 2a: the HDBSCAN cluster hierarchy as a phylogenetic tree.

    Leaves are the selected clusters, drawn as squares whose area is proportional to the cluster size and
    coloured like the clusters on the map. Runs of adjacent leaves in the same DBSCAN group (``leaf_groups``:
    cluster -> group) are shaded in that group's colour. The distance axis is the Minkowski distance
    (1/lambda) at which a branch splits, on a log scale.

    Parameters
    ----------
    orientation : "left" (root on the left, leaves in a column on the right: a tall panel, as in the paper)
        or "top" (root on top, leaves in a row at the bottom)

    Returns
    -------
    Axes
    """
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Rectangle

    if orientation not in ("left", "top"):
        raise ValueError(f"orientation must be 'left' or 'top', got {orientation!r}")
    ax = _new_ax(ax, (4.5, 8) if orientation == "left" else (10, 3.6))
    layout = tree_layout(tree)
    if not layout["leaves"]:
        return _no_data(ax, "no clusters")
    left = orientation == "left"

    def pos(u, d):  # (leaf position, distance) -> (x, y) of the axes
        return (d, u) if left else (u, d)

    labels = [lab for lab, _, _ in layout["leaves"]]
    colors = list(colors) if colors is not None else cluster_colors(max(labels) + 1)
    edges = [(pos(*a), pos(*b)) for a, b in layout["edges"]]
    ax.add_collection(LineCollection(edges, colors="0.25", linewidths=1.0, zorder=2))
    us = np.array([u for _, u, _ in layout["leaves"]])
    sizes = np.array([s for _, _, s in layout["leaves"]], dtype=float)
    base = layout["baseline"]
    ax.scatter(*pos(us, np.full(len(us), base)), s=25 + max_square * sizes / sizes.max(), marker="s",
               c=[colors[lab] for lab in labels], edgecolors="0.15", linewidths=0.5, zorder=3)
    if leaf_groups:
        gcols = group_colors(max([*leaf_groups.values(), 0]) + 1)
        run_start = 0
        groups = [leaf_groups.get(lab, -1) for lab in labels] + [None]
        for i in range(1, len(groups)):
            if groups[i] != groups[run_start]:
                g = groups[run_start]
                if g is not None and g >= 0:
                    u0, du = run_start - 0.45, i - run_start - 0.1
                    d0, dd = base / 1.8, base * 1.8 - base / 1.8
                    xy, w, h = (pos(u0, d0), *pos(du, dd))
                    ax.add_patch(Rectangle(xy, w, h, facecolor=gcols[g], alpha=0.45, edgecolor="none",
                                           zorder=1))
                run_start = i
    dist_lim, leaf_lim = (base / 3.0, layout["top"] * 1.3), (-0.8, len(us) - 0.2)
    ticks = [str(lab) for lab in labels] if label_leaves else []
    fontsize = 7 if len(us) > 25 else 8
    leaf_title = "HDBSCAN cluster (area ∝ size)"
    dist_title = "Minkowski distance of split (1/λ)"
    if left:
        ax.set_xscale("log")
        ax.set_xlim(dist_lim[1], dist_lim[0])  # root on the left
        ax.set_ylim(leaf_lim[1], leaf_lim[0])  # cluster 0 on top
        ax.set_yticks(us if label_leaves else [], ticks, fontsize=fontsize)
        ax.yaxis.tick_right()
        ax.yaxis.set_label_position("right")
        ax.set(ylabel=leaf_title if label_leaves else "", xlabel=dist_title)
        hidden = ("top", "left")
    else:
        ax.set_yscale("log")
        ax.set_ylim(*dist_lim)
        ax.set_xlim(*leaf_lim)
        ax.set_xticks(us if label_leaves else [], ticks, fontsize=fontsize)
        ax.set(xlabel=leaf_title if label_leaves else "", ylabel=dist_title)
        hidden = ("top", "right")
    for side in hidden:
        ax.spines[side].set_visible(False)
    return ax


# --- Fig. 2b-h: the map ------------------------------------------------------------------------------------
def _region_field(points, grid_x, grid_y, sigma):
    from scipy.spatial.distance import cdist

    grid = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    d2 = cdist(grid, points, "sqeuclidean")
    return np.exp(-d2 / (2 * sigma**2)).sum(axis=1).reshape(grid_x.shape)


def _hull_polygon(points, radius):
    """Convex hull of the points grown by ``radius`` (each point replaced by a 16-gon)."""
    from scipy.spatial import ConvexHull

    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    ring = radius * np.column_stack([np.cos(angles), np.sin(angles)])
    cloud = (points[:, None, :] + ring[None]).reshape(-1, 2)
    return cloud[ConvexHull(cloud).vertices]


def _region_scale(table: pd.DataFrame) -> float:
    eps = table.attrs.get("dbscan_eps")
    if eps is not None and np.isfinite(eps) and eps > 0:
        return float(eps)
    xy = table[["umap_x", "umap_y"]].to_numpy()
    if len(xy) < 2:
        return 1.0
    from scipy.spatial import cKDTree

    d, _ = cKDTree(xy).query(xy, k=2)
    return float(np.median(d[:, 1])) * 3 or 1.0


def plot_fingerprint_map(
    table: pd.DataFrame,
    ax=None,
    colors: Sequence | None = None,
    regions: str = "kde",
    label_clusters: bool = True,
    point_size: float = 22.0,
    noise_size: float = 5.0,
    equal: bool = True,
):
    """The UMAP of the fingerprints (Fig. 2b-h): HDBSCAN clusters opaque, DBSCAN groups as translucent
    regions, unclassified materials small and grey.

    Parameters
    ----------
    table : :func:`elfutils.book.pipeline.clustering` (hdbscan_label, umap_x, umap_y, dbscan_group; ``attrs``
        ``dbscan_eps`` sets the size of the regions)
    regions : "kde" (smooth outline: where the sum of Gaussians of width eps/2 around the group's points
        exceeds e^-2, i.e. about eps around them), "hull" (convex hull grown by eps/2) or "none"
    equal : equal x and y scales (the limits grow to fill the axes)

    Returns
    -------
    Axes
    """
    from matplotlib import patheffects
    from matplotlib.patches import Polygon

    if regions not in ("kde", "hull", "none"):
        raise ValueError(f"regions must be 'kde', 'hull' or 'none', got {regions!r}")
    ax = _new_ax(ax, (8, 7))
    if not len(table):
        return _no_data(ax, "no materials")
    xy = table[["umap_x", "umap_y"]].to_numpy(float)
    labels = table["hdbscan_label"].to_numpy()
    groups = table["dbscan_group"].to_numpy()
    colors = list(colors) if colors is not None else cluster_colors(_n_labels(labels))
    n_groups = _n_labels(groups)
    gcols = group_colors(n_groups)
    scale = _region_scale(table)
    pad = 1.5 * scale
    lo, hi = xy.min(axis=0) - pad, xy.max(axis=0) + pad
    if regions == "kde" and n_groups:
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 220), np.linspace(lo[1], hi[1], 220))
        sigma = scale / 2
        for g in range(n_groups):
            field = _region_field(xy[groups == g], gx, gy, sigma)
            ax.contourf(gx, gy, field, levels=[np.exp(-2.0), np.inf], colors=[gcols[g]], alpha=0.35,
                        zorder=0)
            ax.contour(gx, gy, field, levels=[np.exp(-2.0)], colors=[gcols[g]], linewidths=0.8, zorder=0)
    elif regions == "hull":
        for g in range(n_groups):
            ax.add_patch(Polygon(_hull_polygon(xy[groups == g], scale / 2), closed=True, facecolor=gcols[g],
                                 alpha=0.35, edgecolor=gcols[g], zorder=0))
    noise = labels < 0
    ax.scatter(xy[noise, 0], xy[noise, 1], s=noise_size, c=NOISE_COLOR, linewidths=0, zorder=1,
               label="unclassified")
    for c in range(_n_labels(labels)):
        pts = xy[labels == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=point_size, color=colors[c], edgecolors="white", linewidths=0.3,
                   zorder=2)
        if label_clusters and len(pts):
            cx, cy = np.median(pts, axis=0)
            ax.text(cx, cy, str(c), fontsize=7, ha="center", va="center", zorder=4, fontweight="bold",
                    path_effects=[patheffects.withStroke(linewidth=2.2, foreground="white")])
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    if equal:
        _equal_limits(ax, xy, pad)
    ax.set_xlabel("UMAP 1")
    ax.set_ylabel("UMAP 2")
    return ax


def map_exemplars(table: pd.DataFrame, exemplars: pd.DataFrame, n: int = 8) -> pd.DataFrame:
    """Which materials get a band-structure inset on the map: the best exemplar of each DBSCAN group
    (largest groups first), then the top exemplar of the largest clusters not yet shown, ``n`` at most.

    "Best exemplar of a group": the rank-1 exemplar of the group's largest HDBSCAN cluster.

    Returns
    -------
    DataFrame: material_id, formula, cluster, rank, probability, dbscan_group, umap_x, umap_y
    """
    columns = ["material_id", "formula", "cluster", "rank", "probability", "dbscan_group", "umap_x", "umap_y"]
    if not len(exemplars) or n < 1:
        return pd.DataFrame(columns=columns)
    where = table.set_index("material_id")[["dbscan_group", "umap_x", "umap_y"]]
    top = exemplars[exemplars["rank"] == 1].set_index("cluster")
    sizes = exemplars.groupby("cluster").size().sort_values(ascending=False, kind="stable")
    by_cluster = cluster_groups(table)
    chosen: list[int] = []
    group_sizes = table[table.dbscan_group >= 0].groupby("dbscan_group").size()
    for g in group_sizes.sort_values(ascending=False, kind="stable").index:
        members = [c for c in sizes.index if by_cluster.get(int(c)) == g]
        if members and len(chosen) < n:
            chosen.append(int(members[0]))
    for c in sizes.index:
        if len(chosen) >= n:
            break
        if int(c) not in chosen:
            chosen.append(int(c))
    rows = top.loc[chosen].reset_index()
    rows = rows.join(where, on="material_id")
    return rows[columns].reset_index(drop=True)


def _inset_layout(n: int, figsize, w: float = 0.12):
    """Main-axes box and inset slot centres (figure fraction) for ``n`` insets: a row of slots above and
    below the map, a column left and right of it."""
    W, H = figsize
    h = w * W / H
    per_row = max(4, int(np.ceil(n / 4)) + 2)
    per_col = max(2, int(np.ceil(n / 4)))
    top_y, bottom_y = 1 - 0.04 - h / 2, 0.055 + h / 2
    left_x, right_x = 0.01 + w / 2, 0.99 - w / 2
    box = (w + 0.07, bottom_y + h / 2 + 0.06, 1 - w - 0.04, top_y - h / 2 - 0.05)
    xs = np.linspace(left_x, right_x, per_row)
    ys = np.linspace(bottom_y, top_y, per_col + 2)[1:-1]
    slots = [(x, top_y) for x in xs] + [(x, bottom_y) for x in xs]
    slots += [(left_x, y) for y in ys] + [(right_x, y) for y in ys]
    return box, np.array(slots), (w, h)


def _equal_limits(ax, xy, pad: float) -> None:
    """Data limits holding every point (plus ``pad``) with equal x and y scales in the axes' box."""
    lo, hi = xy.min(axis=0) - pad, xy.max(axis=0) + pad
    bbox = ax.get_window_extent()
    ratio = bbox.height / bbox.width if bbox.width else 1.0
    span = max(hi[0] - lo[0], (hi[1] - lo[1]) / ratio)
    cx, cy = (lo + hi) / 2
    ax.set_xlim(cx - span / 2, cx + span / 2)
    ax.set_ylim(cy - span * ratio / 2, cy + span * ratio / 2)


def fingerprint_map_figure(
    table: pd.DataFrame,
    picks: pd.DataFrame,
    images: Mapping[str, np.ndarray],
    colors: Sequence | None = None,
    regions: str = "kde",
    figsize: tuple[float, float] = (11.0, 9.5),
    window: float | None = None,
):
    """Fig. 2b-h: the map (:func:`plot_fingerprint_map`) with band-structure image insets of the ``picks``
    (:func:`map_exemplars`) placed around it, each joined to its material by a leader line.

    Insets go to slots around the map; materials are matched to slots by the assignment of least total
    line length (scipy ``linear_sum_assignment``), which keeps the leader lines from crossing.

    Parameters
    ----------
    images : material_id -> binary image (1 = band line); picks without an image are left out
    window : the images' energy window in eV (default the paper's); each inset shows its energy axis

    Returns
    -------
    Figure (``fig.axes[0]`` is the map, the others the insets)
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import ConnectionPatch
    from scipy.optimize import linear_sum_assignment

    from elfutils.constants import ENERGY_WINDOW_EV
    from elfutils.images.plot import draw_band_image

    window = ENERGY_WINDOW_EV if window is None else window

    picks = picks[picks["material_id"].isin(list(images))].reset_index(drop=True)
    fig = plt.figure(figsize=figsize)
    box, slots, (w, h) = _inset_layout(len(picks), figsize)
    ax = fig.add_axes((box[0], box[1], box[2] - box[0], box[3] - box[1]))
    labels = table["hdbscan_label"].to_numpy()
    colors = list(colors) if colors is not None else cluster_colors(_n_labels(labels))
    plot_fingerprint_map(table, ax=ax, colors=colors, regions=regions, equal=False)
    if len(table):
        _equal_limits(ax, table[["umap_x", "umap_y"]].to_numpy(float), 1.5 * _region_scale(table))
    if not len(picks):
        return fig
    to_fig = ax.transData + fig.transFigure.inverted()
    points = to_fig.transform(picks[["umap_x", "umap_y"]].to_numpy(float))
    cost = np.linalg.norm(points[:, None, :] - slots[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(cost)
    for i, j in zip(rows, cols, strict=True):
        pick = picks.iloc[i]
        sx, sy = slots[j]
        inset = fig.add_axes((sx - w / 2, sy - h / 2, w, h))
        draw_band_image(inset, images[pick.material_id], window, ylabel=False, interpolation="antialiased")
        inset.set_yticks([-window, 0, window])
        inset.tick_params(axis="y", labelsize=6, pad=1, length=2)
        color = colors[int(pick.cluster)]
        for spine in inset.spines.values():
            spine.set_edgecolor(color)
            spine.set_linewidth(2.5)
        # the caption goes on the side away from the map, where the leader line does not arrive
        caption = f"{pick.formula} · cluster {int(pick.cluster)}\n{pick.material_id}"
        if sy < box[1]:
            inset.set_xlabel(caption, fontsize=9, labelpad=2)
        else:
            inset.set_title(caption, fontsize=9, pad=2)
        # leader line: from the material to the nearest point of the inset's frame
        px, py = points[i]
        bx = np.clip(px, sx - w / 2, sx + w / 2)
        by = np.clip(py, sy - h / 2, sy + h / 2)
        fig.add_artist(ConnectionPatch((pick.umap_x, pick.umap_y), (bx, by), coordsA=ax.transData,
                                       coordsB="figure fraction", color=color, linewidth=1.0, zorder=5))
        ax.scatter([pick.umap_x], [pick.umap_y], s=80, facecolors="none", edgecolors="black",
                   linewidths=1.2, zorder=6)
    return fig


def plot_map_values(
    table: pd.DataFrame,
    values,
    ax=None,
    cmap: str = "viridis",
    label: str = "",
    low: float | None = None,
    low_label: str = "",
    vmax: float | None = None,
):
    """The map coloured by a number per material (e.g. the band gap); ``values`` aligned with ``table``.

    Materials with a value below ``low`` are drawn in one separate colour (e.g. metals, gap < 0.1 eV);
    materials without a value (NaN) in grey. Returns the Axes (its colour bar is attached to the figure).
    """
    import matplotlib.pyplot as plt

    ax = _new_ax(ax, (7, 6))
    xy = table[["umap_x", "umap_y"]].to_numpy(float)
    v = np.asarray(values, dtype=float)
    if len(v) != len(xy):
        raise ValueError(f"values must have one number per material ({len(xy)}), got {len(v)}")
    nan = ~np.isfinite(v)
    if nan.any():
        ax.scatter(xy[nan, 0], xy[nan, 1], s=4, c=NOISE_COLOR, linewidths=0, label="no value")
    is_low = np.zeros(len(v), bool) if low is None else (~nan & (v < low))
    if is_low.any():
        ax.scatter(xy[is_low, 0], xy[is_low, 1], s=14, c="#d62728", linewidths=0, label=low_label or "low")
    rest = ~nan & ~is_low
    sc = ax.scatter(xy[rest, 0], xy[rest, 1], s=14, c=v[rest], cmap=cmap, linewidths=0,
                    vmin=low if low is not None else None, vmax=vmax)
    if rest.any():
        plt.colorbar(sc, ax=ax, label=label, shrink=0.8)
    if is_low.any() or nan.any():
        ax.legend(loc="best", fontsize=8, markerscale=1.5)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("UMAP 1")
    ax.set_ylabel("UMAP 2")
    return ax


def plot_map_classes(table: pd.DataFrame, classes, ax=None, order: Sequence[str] | None = None,
                     point_size: float = 12.0):
    """The map coloured by a class per material (e.g. the anion family); ``classes`` aligned with ``table``,
    one colour per class in ``order`` (default: largest class first), with the class sizes in the legend.
    Returns the Axes."""
    ax = _new_ax(ax, (7, 6))
    xy = table[["umap_x", "umap_y"]].to_numpy(float)
    classes = np.asarray(classes, dtype=object)
    if len(classes) != len(xy):
        raise ValueError(f"classes must have one entry per material ({len(xy)}), got {len(classes)}")
    counts = Counter(classes)
    order = list(order) if order is not None else [c for c, _ in counts.most_common()]
    colors = cluster_colors(len(order))
    for cls, color in zip(order, colors, strict=True):
        mask = classes == cls
        if mask.any():
            ax.scatter(xy[mask, 0], xy[mask, 1], s=point_size, color=color, linewidths=0,
                       label=f"{cls} ({counts[cls]})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, markerscale=1.5)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("UMAP 1")
    ax.set_ylabel("UMAP 2")
    return ax


def plot_k_distance(kd, eps: float, ax=None, min_samples: int | None = None):
    """The sorted k-distance curve of the clustered materials on the UMAP plane, with DBSCAN's eps."""
    ax = _new_ax(ax, (4.5, 3.2))
    kd = np.asarray(kd, dtype=float)
    if not len(kd):
        return _no_data(ax, "too few clustered materials")
    ax.plot(np.arange(len(kd)), kd, color="0.2", linewidth=1.2)
    if np.isfinite(eps):
        ax.axhline(eps, color="#d62728", linestyle="--", linewidth=1, label=f"eps = {eps:.3g}")
        ax.legend(loc="upper left", fontsize=8)
    k = f"{min_samples - 1}th " if min_samples else ""
    ax.set(xlabel="clustered materials, sorted", ylabel=f"distance to {k}neighbour (UMAP units)")
    return ax


# --- interactive map ---------------------------------------------------------------------------------------
def interactive_map(table: pd.DataFrame, extra: Mapping[str, Sequence] | None = None, colors=None):
    """The fingerprint map as a plotly figure: one trace per cluster (click the legend to hide one,
    double-click to isolate it), unclassified in grey. Hover: material id, formula, cluster, membership
    probability, DBSCAN group and any ``extra`` columns (name -> values aligned with ``table``).

    Uses SVG ``Scatter`` (not WebGL), so it renders in any browser.
    """
    import plotly.graph_objects as go
    from matplotlib.colors import to_hex

    labels = table["hdbscan_label"].to_numpy()
    colors = list(colors) if colors is not None else cluster_colors(_n_labels(labels))
    extra = dict(extra or {})
    custom = [table["material_id"].astype(str), table["formula"].astype(str), labels,
              table["probability"].to_numpy(float), table["dbscan_group"].to_numpy()]
    custom += [pd.Series(v).astype(str).to_numpy() for v in extra.values()]
    custom = np.column_stack([np.asarray(c, dtype=object) for c in custom]) if len(table) else None
    lines = ["<b>%{customdata[0]}</b> %{customdata[1]}", "cluster %{customdata[2]}",
             "probability %{customdata[3]:.2f}", "DBSCAN group %{customdata[4]}"]
    lines += [f"{name} %{{customdata[{5 + i}]}}" for i, name in enumerate(extra)]
    template = "<br>".join(lines) + "<extra></extra>"
    fig = go.Figure()
    for c in [-1, *range(_n_labels(labels))]:
        mask = labels == c
        if not mask.any():
            continue
        fig.add_trace(go.Scatter(
            x=table["umap_x"].to_numpy()[mask], y=table["umap_y"].to_numpy()[mask], mode="markers",
            name="unclassified" if c < 0 else f"cluster {c} ({int(mask.sum())})",
            marker={"size": 4 if c < 0 else 7, "color": "#b8b8b8" if c < 0 else to_hex(colors[c]),
                    "line": {"width": 0.3, "color": "white"}},
            customdata=custom[mask], hovertemplate=template))
    fig.update_layout(template="plotly_white", height=620, margin={"l": 40, "r": 10, "t": 30, "b": 40},
                      xaxis_title="UMAP 1", yaxis_title="UMAP 2", legend={"itemsizing": "constant"},
                      yaxis={"scaleanchor": "x", "scaleratio": 1})
    return fig


THUMBNAIL_SIDE = 96  # px of the band image the interactive maps show on hover (1 bit a pixel: ~0.5 kB each)


def band_thumbnails(images: Mapping[str, np.ndarray], side: int = THUMBNAIL_SIDE) -> dict[str, str]:
    """material_id -> a ``data:`` URI of its band image as a ``side`` px, one-bit PNG (line pixels black): a
    pixel is black when a fifth or more of the area it covers is line, so thin bands survive the shrink."""
    import base64
    import io

    from PIL import Image

    out = {}
    for material_id, image in images.items():
        white = Image.fromarray((255 * (1 - np.asarray(image, dtype=float))).astype(np.uint8))
        small = white.resize((side, side), Image.Resampling.BOX).point(lambda v: 255 if v > 204 else 0)
        buffer = io.BytesIO()
        small.convert("1").save(buffer, format="png", optimize=True)
        out[str(material_id)] = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return out


def _band_panel_html(div_id: str, window: float) -> str:
    """The panel beside a map that shows the hovered material's band image on its energy axis (ticks at
    ±window, ±window/2 and 0 eV) with the zero line."""
    blank = band_thumbnails({"": np.zeros((THUMBNAIL_SIDE, THUMBNAIL_SIDE))})[""]  # until one is shown
    ticks = "".join(
        f'<span style="position:absolute;right:0.3em;top:{100 * (window - e) / (2 * window):g}%;'
        f'transform:translateY(-50%)">{f"{e:g}".replace("-", "−")}</span>'
        for e in (window, window / 2, 0.0, -window / 2, -window))
    return f"""<div class="elf-band-panel" style="flex:0 0 12em;font-size:0.8em">
<div id="{div_id}-band-title" style="min-height:2.6em">Hover over or click a material to see its bands.</div>
<div style="display:flex;align-items:stretch">
<div style="position:relative;width:2.4em;height:160px">{ticks}</div>
<div style="position:relative;width:160px;height:160px;border:1px solid #444;background:#fff">
<img id="{div_id}-band" alt="band image of the material under the pointer" src="{blank}" \
style="width:100%;height:100%;image-rendering:pixelated;visibility:hidden">
<div style="position:absolute;left:0;right:0;top:50%;border-top:1px dotted #d62728"></div>
</div></div>
<div style="margin-left:2.4em">E − E<sub>0</sub> (eV) against the k-path</div>
</div>"""


def map_search_html(fig, table: pd.DataFrame, div_id: str = "elf-map",
                    images: Mapping[str, np.ndarray] | None = None, window: float | None = None) -> str:
    """HTML for :func:`interactive_map` with a search box: typing a material id (``2dm-2474``) or a formula
    (``InAs``) points an arrow at every matching material. With ``images`` (material_id -> band image drawn
    in ±``window`` eV, default the paper's), a panel beside the map shows the band image of the material under
    the pointer, or of the one clicked or found, on its energy axis with the zero line
    (:func:`band_thumbnails`). Expects plotly.js on the page (as :func:`elfutils.book.sphinx_ext.interactive`
    does: the book's Sphinx extension adds a local copy)."""
    from elfutils.constants import ENERGY_WINDOW_EV

    plot = fig.to_html(include_plotlyjs=False, full_html=False, div_id=div_id, default_height=620,
                       config={"responsive": True, "displaylogo": False})
    columns = zip(table["material_id"], table["formula"], table["umap_x"], table["umap_y"],
                  table["hdbscan_label"], strict=True)
    points = {str(m): [round(float(x), 4), round(float(y), 4), str(f), int(c)] for m, f, x, y, c in columns}
    options = "".join(f'<option value="{html.escape(m)} {html.escape(v[2])}"></option>'
                      for m, v in points.items())
    data = json.dumps(points).replace("</", "<\\/")
    shown = {m: images[m] for m in points if images is not None and m in images}
    pictures = json.dumps(band_thumbnails(shown)).replace("</", "<\\/")
    panel = _band_panel_html(div_id, ENERGY_WINDOW_EV if window is None else float(window)) if shown else ""
    return f"""<div class="elf-map-search" style="margin:0.4em 0 0.4em 0">
<label for="{div_id}-q">Find a material (id or formula): </label>
<input id="{div_id}-q" list="{div_id}-list" placeholder="e.g. 2dm-1 or IrF2" size="26">
<button type="button" id="{div_id}-clear">clear</button>
<span id="{div_id}-msg" style="margin-left:0.6em;color:#555"></span>
<datalist id="{div_id}-list">{options}</datalist>
</div>
<div style="display:flex;gap:0.8em;align-items:flex-start">
<div style="flex:1 1 auto;min-width:0">{plot}</div>
{panel}
</div>
<script>
(function () {{
  var points = {data};
  var pictures = {pictures};
  var input = document.getElementById("{div_id}-q");
  var msg = document.getElementById("{div_id}-msg");
  function show(id) {{
    var img = document.getElementById("{div_id}-band");
    if (!img || !pictures[id]) {{ return; }}
    img.src = pictures[id];
    img.style.visibility = "visible";
    var p = points[id];
    document.getElementById("{div_id}-band-title").textContent =
      id + " " + (p ? p[2] + " (cluster " + p[3] + ")" : "");
  }}
  function hook() {{
    var gd = document.getElementById("{div_id}");
    if (!gd || typeof gd.on !== "function") {{ setTimeout(hook, 100); return; }}
    var pick = function (ev) {{
      if (ev && ev.points && ev.points.length) {{ show(ev.points[0].customdata[0]); }}
    }};
    gd.on("plotly_hover", pick);
    gd.on("plotly_click", pick);
  }}
  hook();
  function mark(query) {{
    var gd = document.getElementById("{div_id}");
    if (!gd || typeof Plotly === "undefined") {{ return; }}
    var q = query.trim().split(/\\s+/)[0] || "";
    var hits = [];
    if (points[q]) {{ hits.push(q); }} else if (q) {{
      for (var id in points) {{ if (points[id][2].toLowerCase() === q.toLowerCase()) {{ hits.push(id); }} }}
    }}
    var notes = hits.slice(0, 20).map(function (id) {{
      var p = points[id];
      return {{x: p[0], y: p[1], text: id + " " + p[2] + " (cluster " + p[3] + ")", showarrow: true,
              arrowhead: 2, ax: 40, ay: -40, bgcolor: "rgba(255,255,255,0.9)", bordercolor: "#222"}};
    }});
    Plotly.relayout(gd, {{annotations: notes}});
    if (hits.length) {{ show(hits[0]); }}
    msg.textContent = q ? (hits.length ? hits.length + " found" : "not in this map") : "";
  }}
  input.addEventListener("change", function () {{ mark(input.value); }});
  input.addEventListener("keydown", function (e) {{ if (e.key === "Enter") {{ mark(input.value); }} }});
  document.getElementById("{div_id}-clear").addEventListener("click", function () {{
    input.value = ""; mark("");
  }});
}})();
</script>"""


def csv_download_html(table: pd.DataFrame, filename: str, text: str | None = None,
                      max_height: str = "22em") -> str:
    """A self-contained download link for a table (CSV in a ``data:`` URI, so it needs no file beside the
    page) above a scrollable copy of the table."""
    import base64

    payload = base64.b64encode(table.to_csv(index=False).encode()).decode()
    link = (f'<p><a download="{html.escape(filename)}" href="data:text/csv;base64,{payload}">'
            f"{html.escape(text or 'Download ' + filename)}</a> ({len(table)} rows)</p>")
    body = table.to_html(index=False, classes="dataframe", border=0, float_format=lambda v: f"{v:.3f}",
                         na_rep="–")  # a missing cell as the book shows one (report.MISSING_CELL)
    return f'{link}<div style="max-height:{max_height};overflow-y:auto">{body}</div>'


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

    ax = _new_ax(ax, (3.2, 3.0))
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
        _no_data(axes[0, 0], "no clusters")
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

    ax = _new_ax(ax, (9, 7))
    if not len(placed):
        return _no_data(ax, "no materials")
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

    ax = _new_ax(ax, (4, 4))
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


# --- Table 1: duplicates ----------------------------------------------------------------------------------
def plot_distance_distribution(nn_distances, pair_distances, threshold: float, ax=None, bins: int = 40,
                               xlabel: str = "fingerprint distance (Minkowski)"):
    """Histogram (log distance) of every material's nearest-neighbour fingerprint distance and of the
    distances of same-formula pairs, with the duplicate threshold."""
    ax = _new_ax(ax, (7, 3.6))
    nn = np.asarray(nn_distances, dtype=float)
    pairs = np.asarray(pair_distances, dtype=float)
    values = np.concatenate([nn[nn > 0], pairs[pairs > 0]])
    if not len(values):
        return _no_data(ax, "no distances")
    edges = np.logspace(np.log10(values.min()) - 0.05, np.log10(values.max()) + 0.05, bins + 1)
    ax.hist(nn[nn > 0], bins=edges, color="0.65", label=f"nearest neighbour, all materials ({len(nn)})")
    if len(pairs):
        ax.hist(pairs[pairs > 0], bins=edges, color="#1f77b4", alpha=0.7,
                label=f"same-formula pairs ({len(pairs)})")
    n_zero = int((nn == 0).sum())
    if n_zero:
        ax.text(0.01, 0.95, f"{n_zero} at distance 0 not shown", transform=ax.transAxes, fontsize=8, va="top")
    if np.isfinite(threshold) and threshold > 0:
        ax.axvline(threshold, color="#d62728", linestyle="--", label="duplicate threshold")
    ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel="count")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, 0.9))
    return ax


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
        _no_data(axes[0, 0], "no candidate pairs")
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

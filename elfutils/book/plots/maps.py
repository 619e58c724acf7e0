"""Fingerprint maps (Fig. 2, Fig. 5), the condensed cluster tree, 2-D embeddings side by side (Supplementary
Note 1) and the k-distance plot."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from elfutils.book.plots.style import NOISE_COLOR, cluster_colors, group_colors, n_labels, new_ax, no_data


def cluster_colours(labels) -> dict:
    """A colour per HDBSCAN label from the book's one cluster palette
    (:func:`elfutils.book.plots.style.cluster_colors`: the same cluster, the same colour in every chapter);
    the unclassified grey for -1."""
    from elfutils.book.plots.style import NOISE_COLOR, cluster_colors

    labels = np.unique(labels)
    palette = cluster_colors(int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 0)
    return {int(c): (NOISE_COLOR if c < 0 else palette[int(c)]) for c in labels}


def embeddings_figure(labels, embeddings: dict, titles: dict | None = None):
    """Side-by-side 2-D embeddings coloured by the same cluster labels (unclassified: small grey dots).

    Parameters
    ----------
    labels : array (N,) HDBSCAN labels
    embeddings : {name: array (N, 2)}
    titles : {name: panel title}, optional

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib.pyplot as plt

    labels = np.asarray(labels)
    colours = cluster_colours(labels)
    fig, axes = plt.subplots(1, len(embeddings), figsize=(5.6 * len(embeddings), 5.2),
                             constrained_layout=True, squeeze=False)
    noise = labels < 0
    for ax, (name, E) in zip(axes[0], embeddings.items(), strict=False):
        E = np.asarray(E, dtype=float)
        ax.scatter(E[noise, 0], E[noise, 1], s=6, c="0.8", lw=0, label="unclassified")
        clustered = np.flatnonzero(~noise)
        ax.scatter(E[clustered, 0], E[clustered, 1], s=18, c=[colours[int(c)] for c in labels[clustered]],
                   lw=0.3, edgecolors="k")
        ax.set_title((titles or {}).get(name, name))
        if noise.any() and ax is axes[0, 0]:
            ax.legend(loc="best", fontsize=8, markerscale=2)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_aspect("equal", adjustable="datalim")
    return fig


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
    ax = new_ax(ax, (4.5, 8) if orientation == "left" else (10, 3.6))
    layout = tree_layout(tree)
    if not layout["leaves"]:
        return no_data(ax, "no clusters")
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
    ax = new_ax(ax, (8, 7))
    if not len(table):
        return no_data(ax, "no materials")
    xy = table[["umap_x", "umap_y"]].to_numpy(float)
    labels = table["hdbscan_label"].to_numpy()
    groups = table["dbscan_group"].to_numpy()
    colors = list(colors) if colors is not None else cluster_colors(n_labels(labels))
    n_groups = n_labels(groups)
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
    for c in range(n_labels(labels)):
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
    colors = list(colors) if colors is not None else cluster_colors(n_labels(labels))
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

    ax = new_ax(ax, (7, 6))
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
    ax = new_ax(ax, (7, 6))
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
    ax = new_ax(ax, (4.5, 3.2))
    kd = np.asarray(kd, dtype=float)
    if not len(kd):
        return no_data(ax, "too few clustered materials")
    ax.plot(np.arange(len(kd)), kd, color="0.2", linewidth=1.2)
    if np.isfinite(eps):
        ax.axhline(eps, color="#d62728", linestyle="--", linewidth=1, label=f"eps = {eps:.3g}")
        ax.legend(loc="upper left", fontsize=8)
    k = f"{min_samples - 1}th " if min_samples else ""
    ax.set(xlabel="clustered materials, sorted", ylabel=f"distance to {k}neighbour (UMAP units)")
    return ax

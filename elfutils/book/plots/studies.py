"""Parameter studies (Fig. 7's heat maps), distance distributions (Table 1) and the cost of the atlas
against its size (reproducibility chapter)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from elfutils import constants as C
from elfutils.book.plots.style import new_ax, no_data

STUDY_PANELS = {  # column -> (title, colour map, number format); bright = better for the two indices
    "n_clusters": ("number of clusters", "viridis", "{:.0f}"),
    "n_unclassified": ("number unclassified", "magma", "{:.0f}"),
    "dbcv": ("DBCV (higher is better)", "cividis", "{:.2f}"),
    "s_dbw": ("S_Dbw (lower is better)", "cividis_r", "{:.2f}"),
}


def study_heatmap(judged: pd.DataFrame, column: str, ax=None,
                  paper=(C.HDBSCAN_MIN_CLUSTER_SIZE, C.HDBSCAN_MIN_SAMPLES), legend: bool = False):
    """One panel of Fig. 7: ``column`` over the Nc x Ns grid, every cell labelled with its value, the
    paper's choice outlined (solid) and the rule's (:func:`apply_selection_rule`) too (dashed, smaller).

    The colour maps (:data:`STUDY_PANELS`) put "better" at the bright end for both DBCV (higher) and S_Dbw
    (lower); cells where an index is undefined (fewer than 2 clusters) are grey and hatched.

    Parameters
    ----------
    judged : :func:`apply_selection_rule` output (a plain study works too; then no circle)
    column : one of :data:`STUDY_PANELS`
    ax : matplotlib Axes (default: a new 5 x 4 inch figure)
    legend : add a legend of the markers (when any is drawn)

    Returns
    -------
    the Axes
    """
    import matplotlib.pyplot as plt

    if column not in STUDY_PANELS:
        raise ValueError(f"column must be one of {', '.join(STUDY_PANELS)}, got {column!r}")
    title, cmap, fmt = STUDY_PANELS[column]
    if ax is None:
        _, ax = plt.subplots(figsize=(5.4, 4.2), constrained_layout=True)
    ncs = sorted(int(v) for v in judged["min_cluster_size"].unique())
    nss = sorted(int(v) for v in judged["min_samples"].unique())
    grid = judged.pivot(index="min_samples", columns="min_cluster_size", values=column)
    grid = grid.reindex(index=nss, columns=ncs).astype(float).to_numpy()
    values = np.ma.masked_invalid(grid)
    ax.set_facecolor("0.88")
    im = None
    if values.count():
        im = ax.imshow(values, origin="lower", cmap=cmap, aspect="auto")
        ax.figure.colorbar(im, ax=ax, shrink=0.9)
    else:
        ax.set_xlim(-0.5, len(ncs) - 0.5)
        ax.set_ylim(-0.5, len(nss) - 0.5)
    for (i, j), v in np.ndenumerate(grid):
        if np.isfinite(v):
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=7 if len(ncs) > 6 else 9,
                    color="w" if im is not None and _is_dark(im, v) else "k")
        else:
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//", ec="0.65", lw=0))
    _mark(ax, ncs, nss, paper, "s", "the paper's choice")  # square: cell outline; circle: corner dot
    if "chosen" in judged and judged["chosen"].any():
        row = judged[judged["chosen"]].iloc[0]
        _mark(ax, ncs, nss, (row["min_cluster_size"], row["min_samples"]), "o", "the rule's choice")
    ax.set_xticks(range(len(ncs)), [str(v) for v in ncs])
    ax.set_yticks(range(len(nss)), [str(v) for v in nss])
    ax.set_xlabel("minimum cluster size $N_c$")
    ax.set_ylabel("minimum samples $N_s$")
    ax.set_title(title)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8, frameon=False,
                  handleheight=1.2)
    return ax


def parameter_study_figure(judged: pd.DataFrame, paper=(C.HDBSCAN_MIN_CLUSTER_SIZE, C.HDBSCAN_MIN_SAMPLES)):
    """Fig. 7 in one figure: the four :func:`study_heatmap` panels (clusters, unclassified, DBCV, S_Dbw)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 8.4), constrained_layout=True)
    for ax, column in zip(axes.ravel(), STUDY_PANELS, strict=False):
        study_heatmap(judged, column, ax, paper)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=len(handles), frameon=False)
    return fig


def _is_dark(im, value) -> bool:
    r, g, b, _ = im.cmap(im.norm(value))
    return 0.299 * r + 0.587 * g + 0.114 * b < 0.5


def _mark(ax, ncs, nss, point, marker, label):
    """Mark grid cell ``point``: "s" outlines the cell with a solid line, "o" with a dashed, smaller one
    (black under white, visible on any colour). Skipped when the grid does not hold the point."""
    import matplotlib.pyplot as plt

    nc, ns = (int(v) for v in point)
    if nc not in ncs or ns not in nss:
        return
    x, y = ncs.index(nc), nss.index(ns)
    half, style = (0.47, "-") if marker == "s" else (0.36, (0, (3, 2)))
    box = dict(xy=(x - half, y - half), width=2 * half, height=2 * half, fill=False)
    ax.add_patch(plt.Rectangle(**box, ec="k", lw=3.5, ls="-" if marker == "s" else style, label=label))
    ax.add_patch(plt.Rectangle(**box, ec="w", lw=1.5, ls=style))


# --- Table 1: duplicates ----------------------------------------------------------------------------------
def plot_distance_distribution(nn_distances, pair_distances, threshold: float, ax=None, bins: int = 40,
                               xlabel: str = "fingerprint distance (Minkowski)"):
    """Histogram (log distance) of every material's nearest-neighbour fingerprint distance and of the
    distances of same-formula pairs, with the duplicate threshold."""
    ax = new_ax(ax, (7, 3.6))
    nn = np.asarray(nn_distances, dtype=float)
    pairs = np.asarray(pair_distances, dtype=float)
    values = np.concatenate([nn[nn > 0], pairs[pairs > 0]])
    if not len(values):
        return no_data(ax, "no distances")
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


def plot_cost_against_n(table, axes) -> None:
    """Wall time and peak memory against N, one line per stage and path, on log-log axes (two axes)."""
    ok = table[table["error"] == ""]
    for (stage, path), rows in ok.groupby(["stage", "path"], sort=False):
        rows = rows.sort_values("n")
        style = "--" if path in ("dense", "exact") else "-"
        label = f"{stage} ({path})"
        axes[0].plot(rows["n"], rows["wall_s"], style, marker="o", label=label)
        axes[1].plot(rows["n"], rows["peak_mb"] / 1024, style, marker="o", label=label)
    axes[0].set(xscale="log", yscale="log", xlabel="materials N", ylabel="wall time (s)")
    axes[1].set(xscale="log", yscale="log", xlabel="materials N", ylabel="peak memory (GiB)")
    axes[0].legend(fontsize=7)

"""How well the figure reader works, measured on figures drawn from records whose truth we hold (issue #33).

Three measurements per figure, each against the record the figure was drawn from:

* **digitisation fidelity** (:func:`fidelity`): the digitised record and the true one drawn with the same
  render settings, compared on the image rows inside the window the figure shows: the IoU of their line
  pixels, and the share of each one's line pixels within :data:`NEAR_PX` pixels of the other's;
* **axis reading**: whether the energy axis was read from the tick labels, and its error in eV (the larger of
  the two ends' errors, on the figure's own axis);
* **retrieval** (:func:`own_rank`): the rank of the material's own entry among a dataset's fingerprints, the
  figure compared in the window it shares with them (:mod:`elfutils.analysis.figure_window`).

:func:`summarise` gives the table by style and window, with 95 % Wilson intervals beside every share (a
cell holds a few dozen figures). ``benchmarks/figure_study.py`` draws the figures
(:mod:`elfutils.analysis.figure_styles`) and runs all of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage

from elfutils.constants import MINKOWSKI_P

NEAR_PX = 2  # "within 2 px": the lines are 2 px wide, so a one-pixel offset halves an IoU but not this share
RECALL_AT = (1, 10)


def window_rows(settings, window: tuple[float, float]) -> np.ndarray:
    """Which rows of an image drawn with ``settings`` lie inside ``window`` (eV around the zero)."""
    size, w = settings.image_size, settings.window_ev
    energy = w - (np.arange(size) + 0.5) * 2 * w / size
    return (energy >= window[0]) & (energy <= window[1])


def fidelity(digitised_image: np.ndarray, true_image: np.ndarray, rows: np.ndarray) -> dict:
    """IoU of the line pixels, and the share of the digitised (true) image's line pixels within
    :data:`NEAR_PX` of the true (digitised) one's, on ``rows``; NaN where an image has no line there."""
    a, b = digitised_image[rows] > 0, true_image[rows] > 0
    union = (a | b).sum()
    near_b = ndimage.distance_transform_edt(~b) <= NEAR_PX
    near_a = ndimage.distance_transform_edt(~a) <= NEAR_PX
    return {"iou": float((a & b).sum() / union) if union else float("nan"),
            "digitised_near_true": float(near_b[a].mean()) if a.any() else float("nan"),
            "true_near_digitised": float(near_a[b].mean()) if b.any() else float("nan")}


def own_rank(query: np.ndarray, table_matrix: np.ndarray, ids: np.ndarray, own_id: str,
             p: float = MINKOWSKI_P) -> int | None:
    """1 + the number of dataset entries strictly closer to ``query`` than the material's own entry; None
    when the dataset does not hold it."""
    from elfutils.analysis.cluster import minkowski_distances

    where = np.flatnonzero(ids == own_id)
    if not len(where):
        return None
    d = minkowski_distances(np.asarray(query, dtype=np.float64)[None], table_matrix, p=p)[0]
    return int((d < d[where[0]]).sum()) + 1


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a share."""
    if n == 0:
        return (float("nan"), float("nan"))
    phat = successes / n
    centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (float(centre - half), float(centre + half))


def _share(flags: pd.Series) -> dict:
    flags = flags.dropna().astype(bool)
    lo, hi = wilson(int(flags.sum()), len(flags))
    return {"share": float(flags.mean()) if len(flags) else float("nan"), "lo": lo, "hi": hi, "n": len(flags)}


def summarise(rows: pd.DataFrame, by=("style", "window")) -> pd.DataFrame:
    """One row per group of figures: n, figures read, axis read share (interval), median and 95th
    percentile axis error (eV), median IoU and within-2-px shares, recall@1 and @10 (intervals) of the
    material's own entry among the figures whose material the dataset holds (``in_dataset``; a figure
    that could not be read counts as a miss)."""
    out = []
    for key, group in rows.groupby(list(by), sort=True):
        read = group[group["read"]]
        axis = _share(group["axis_read"])
        eligible = group[group["in_dataset"]]  # a figure not read is a miss; a material not held is left out
        entry = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        entry.update(n=len(group), read_share=float(group["read"].mean()),
                     axis_read=axis["share"], axis_read_lo=axis["lo"], axis_read_hi=axis["hi"],
                     axis_error_median_ev=float(read["axis_error_ev"].median()),
                     axis_error_p95_ev=float(read["axis_error_ev"].quantile(0.95)),
                     iou_median=float(read["iou"].median()),
                     within_2px_median=float(read["digitised_near_true"].median()),
                     true_within_2px_median=float(read["true_near_digitised"].median()),
                     n_ranked=len(eligible))
        for k in RECALL_AT:
            share = _share(eligible["rank"].le(k))
            entry.update({f"recall_at_{k}": share["share"], f"recall_at_{k}_lo": share["lo"],
                          f"recall_at_{k}_hi": share["hi"]})
        out.append(entry)
    return pd.DataFrame(out)

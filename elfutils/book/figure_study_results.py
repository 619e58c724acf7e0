"""What benchmarks/figure_study.py recorded (issue #33), as the tables of the chapter "Reading band structures
from figures": the study is minutes of OCR on ~1000 figures, so the chapter reads its committed result and
says how to recompute it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from elfutils.paths import PROJECT_ROOT

FIGURE_STUDY = PROJECT_ROOT / "benchmarks" / "results" / "figure-study.json"
COMMAND = "python benchmarks/figure_study.py"


def figure_study(path: str | Path = FIGURE_STUDY) -> dict | None:
    """The study's JSON, or None when it has not been run."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


def _interval(share: float, lo: float, hi: float) -> str:
    return f"{share:.2f} ({lo:.2f}–{hi:.2f})"


def display_table(records: list[dict], by: tuple[str, ...]) -> pd.DataFrame:
    """Rows of the study's summary as a reader sees them: shares with their 95 % interval, medians rounded,
    the window as ±N eV."""
    rows = []
    for r in records:
        row = {k: (f"±{r[k]:g} eV" if k == "window" else r[k]) for k in by}
        row.update({
            "figures": r["n"],
            "axis read": _interval(r["axis_read"], r["axis_read_lo"], r["axis_read_hi"]),
            "axis error, median (eV)": round(r["axis_error_median_ev"], 3),
            "IoU, median": round(r["iou_median"], 2),
            "within 2 px, median": round(r["within_2px_median"], 3),
            "searched": r["n_ranked"],
            "recall@1": _interval(r["recall_at_1"], r["recall_at_1_lo"], r["recall_at_1_hi"]),
            "recall@10": _interval(r["recall_at_10"], r["recall_at_10_lo"], r["recall_at_10_hi"]),
        })
        rows.append(row)
    return pd.DataFrame(rows)


def rows(result: dict) -> pd.DataFrame:
    """One row per figure of the study."""
    return pd.DataFrame(result["rows"])

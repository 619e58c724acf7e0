"""What benchmarks/yardstick.py recorded (issue #31), as the tables of the chapter on elf-2: the yardstick is
twenty minutes of encoding and perturbing on this CPU, so the chapter reads its committed result and says how
to recompute it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from elfutils.paths import PROJECT_ROOT

YARDSTICK = PROJECT_ROOT / "benchmarks" / "results" / "yardstick-atlas.json"
COMMAND = "python benchmarks/yardstick.py --models CANDIDATE elf-resnet18-atlas"
# the zoom-plane ablation: the candidate's recipe with the ±4 eV plane alone, scored on the same folds
ONE_PLANE = PROJECT_ROOT / "benchmarks" / "results" / "yardstick-atlas-one-plane.json"
ONE_PLANE_MARK = "1plane"  # its training folder (scripts/train_elf2.py --out .cache/elf2-1plane) holds this
PAPER_MODEL = "elf elf-resnet18-atlas"  # the paper's network trained on the atlas: names start with it
ELF2_MARK = "elf2"  # a candidate's name holds the training folder, which holds this

# (column, task in the JSON): larger is better in each; every value is a mean over the same seeded folds
TASKS = (
    ("flat-band AUC (binary_flatness)", "binary_flatness"),
    ("top-100 flat outside the pool", "top-100 outside the pool"),
    ("flatness_score R²", "flatness_score"),
    ("flat bands near E_F R²", "flat bands near E_F"),
    ("band gap R²", "band gap"),
    ("metal vs gapped AUC", "metal vs gapped"),
    ("spin-polarised AUC", "spin-polarised"),
)
CROSS_CODE = "other code: own material first (recall@1)"
TWIN_PERCENTILE = "twin distance, percentile of NN distances"
SHORT = {  # the summary table's headers (the chapter's text says what each is)
    "flat-band AUC (binary_flatness)": "flat AUC", "top-100 flat outside the pool": "top-100 flat",
    "flatness_score R²": "flatness_score R²", "flat bands near E_F R²": "flat near E_F R²",
    "band gap R²": "gap R²", "metal vs gapped AUC": "metal AUC", "spin-polarised AUC": "spin AUC",
    CROSS_CODE: "other code r@1", TWIN_PERCENTILE: "twin pct",
}
ROBUSTNESS = ("zero +0.2 eV", "zero -0.2 eV", "E_F mid-gap", "first segment reversed")


def yardstick(path: str | Path = YARDSTICK) -> dict | None:
    """The yardstick's JSON, or None when it has not been run."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


def _spread(task: dict) -> dict:
    return task["spread"] if "spread" in task else task


def readable_name(name: str) -> str:
    """'elf .cache/elf2-run/export/best.safetensors, p = 0.2' -> 'elf-2, first candidate (p = 0.2)'."""
    distance = f" ({name.rsplit(', ', 1)[1]})" if ", " in name else ""  # "p = 0.2"
    if ELF2_MARK in name and ONE_PLANE_MARK in name:
        return "elf-2, ±4 eV plane alone" + distance
    if ELF2_MARK in name:
        return "elf-2, first candidate" + distance
    if name.startswith(PAPER_MODEL):
        return "paper's network, atlas model" + distance
    return name


def means(result: dict) -> pd.DataFrame:
    """Representation × task: the fold mean of each task, cross-code recall@1 and the twin percentile."""
    rows = {}
    for name, entry in result["representations"].items():
        row = {column: _spread(entry["tasks"][task])["mean"] for column, task in TASKS}
        code = entry.get("cross_code")
        row[CROSS_CODE] = code["recall@1"] if code else np.nan
        row[TWIN_PERCENTILE] = code["median_twin_percentile"] if code else np.nan
        rows[readable_name(name)] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def spreads(result: dict) -> pd.DataFrame:
    """Representation × task: the standard deviation over the folds (NaN where a row has no folds)."""
    rows = {readable_name(name): {column: _spread(entry["tasks"][task]).get("std", np.nan)
                                  for column, task in TASKS}
            for name, entry in result["representations"].items()}
    return pd.DataFrame.from_dict(rows, orient="index")


def display_table(result: dict) -> pd.DataFrame:
    """The summary as a reader sees it: mean ± fold spread, recall and percentile rounded, '–' where a
    representation cannot be computed from a band file."""
    m, s = means(result), spreads(result)
    shown = pd.DataFrame(index=m.index)
    for column, _ in TASKS:
        shown[column] = [f"{mean:.3f} ± {std:.3f}" for mean, std in zip(m[column], s[column], strict=True)]
    shown[CROSS_CODE] = [f"{v:.2f}" if np.isfinite(v) else "–" for v in m[CROSS_CODE]]
    shown[TWIN_PERCENTILE] = [f"{v:.0f}" if np.isfinite(v) else "–" for v in m[TWIN_PERCENTILE]]
    return shown.loc[ordered(result)].rename(columns=SHORT)


def ordered(result: dict) -> list[str]:
    """Readable names: the networks first, then the simple rivals, the ceiling last."""
    rank = {"fingerprint": 0, "rival": 1, "ceiling": 2}
    entries = result["representations"].items()
    return [readable_name(n) for n, e in sorted(entries, key=lambda item: rank.get(item[1].get("role"), 1))]


def robustness(result: dict, perturbations=None) -> pd.DataFrame:
    """Representation × perturbation: recall@1 of the perturbed material finding its unperturbed self."""
    rows = {}
    for name, entry in result["representations"].items():
        if "robustness" not in entry:
            continue
        found = {r["perturbation"]: r["recall@1"] for r in entry["robustness"]}
        rows[readable_name(name)] = {p: found.get(p, np.nan) for p in (perturbations or found)}
    return pd.DataFrame.from_dict(rows, orient="index")


def rivals(result: dict) -> list[str]:
    """The simple representations a fingerprint must beat (role 'rival'; the gap ceiling and the networks
    are not among them)."""
    return [readable_name(name) for name, entry in result["representations"].items()
            if entry.get("role") == "rival"]


def standing(result: dict, candidate: str) -> pd.DataFrame:
    """Per task: the candidate's mean, the best simple rival and its mean, and whether the candidate is ahead
    or behind by more than the larger of the two fold spreads (within the spread is a tie)."""
    m, s = means(result), spreads(result)
    others = rivals(result)
    rows = []
    for column, _ in TASKS:
        best = m.loc[others, column].idxmax()
        margin = float(max(s.loc[candidate, column], s.loc[best, column]))
        ahead = float(m.loc[candidate, column] - m.loc[best, column])
        rows.append({"task": column, "candidate": m.loc[candidate, column], "best simple rival": best,
                     "rival's mean": m.loc[best, column], "margin": margin,
                     "verdict": "ahead" if ahead > margin else "behind" if -ahead > margin else "tie"})
    return pd.DataFrame(rows).set_index("task")


def candidates(result: dict) -> tuple[str, str | None]:
    """(the paper's network, the elf-2 candidate or None) by their readable names."""
    names = [readable_name(n) for n, e in result["representations"].items() if e.get("role") == "fingerprint"]
    paper = next(n for n in names if n.startswith("paper's network"))
    return paper, next((n for n in names if n.startswith("elf-2")), None)


def ablation(result: dict, one_plane: dict) -> pd.DataFrame:
    """The candidate (two planes) beside the same recipe with the ±4 eV plane alone, from two yardstick runs
    on the same seeded folds: per task the two means, the difference and the larger fold spread; then the
    cross-code recall and the robustness rows (no spread)."""
    _, two = candidates(result)
    one = next(readable_name(n) for n in one_plane["representations"] if ONE_PLANE_MARK in n)
    m2, s2, m1, s1 = means(result), spreads(result), means(one_plane), spreads(one_plane)
    rows = [{"task": c, "two planes": m2.loc[two, c], "±4 eV plane alone": m1.loc[one, c],
             "difference": m2.loc[two, c] - m1.loc[one, c], "spread": max(s2.loc[two, c], s1.loc[one, c])}
            for c, _ in TASKS]
    rows.append({"task": CROSS_CODE, "two planes": m2.loc[two, CROSS_CODE], "±4 eV plane alone":
                 m1.loc[one, CROSS_CODE], "difference": m2.loc[two, CROSS_CODE] - m1.loc[one, CROSS_CODE],
                 "spread": np.nan})
    r2, r1 = robustness(result), robustness(one_plane)
    for p in ROBUSTNESS:
        rows.append({"task": f"{p}: finds itself first", "two planes": r2.loc[two, p],
                     "±4 eV plane alone": r1.loc[one, p], "difference": r2.loc[two, p] - r1.loc[one, p],
                     "spread": np.nan})
    return pd.DataFrame(rows).set_index("task")

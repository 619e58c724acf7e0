"""What benchmarks/yardstick.py recorded (issue #31), as the tables of the chapter on elf-2: the yardstick is
twenty minutes of encoding and perturbing on this CPU, so the chapter reads its committed result and says how
to recompute it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from elfutils.paths import PROJECT_ROOT

YARDSTICK = PROJECT_ROOT / "benchmarks" / "results" / "yardstick-atlas.json"
COMMAND = "python benchmarks/yardstick.py --models elf2 elf-resnet18-atlas"
# the cross-code queries' second code: the Quantum ESPRESSO run of h-BN (test data, as the 12 VASP files)
QE_FILE = PROJECT_ROOT / "data" / "reader-fixtures" / "qe" / "2dm-4991.data-file-schema.xml"
PAPER_MODEL = "elf elf-resnet18-atlas"  # the paper's network trained on the atlas: names start with it
ELF2_MARK = "elf2"  # an elf-2 model's name (models/elf2) or training folder (.cache/elf2-...) holds this


@dataclass(frozen=True)
class AblationStep:
    """One elf-2 training recipe scored by the yardstick on the same seeded folds: its committed result, the
    mark its model's name holds there, what it changed from the step before, and the commands."""

    label: str
    path: Path
    mark: str
    change: str
    commands: str


RESULTS = PROJECT_ROOT / "benchmarks" / "results"
# What each change bought, in the order it was made. Only elf-2's model is committed (the first recipe's
# views are in git history: ViewRecipe before the x axis and segment reversal); each step's yardstick run is.
ABLATION = (
    AblationStep("first recipe, ±4 eV plane alone", RESULTS / "yardstick-atlas-one-plane.json", "1plane",
                 "VICReg on the paper's ±4 eV image; views: zero convention and shift, band offsets, k-point "
                 "density, spins, line width 1.5–3 px",
                 "train_elf2.py --out .cache/elf2-1plane --epochs 8 --in-channels 1"),
    AblationStep("first recipe, two planes", RESULTS / "yardstick-atlas-first-recipe.json", "elf2-run",
                 "+ a ±1 eV zoom plane", "train_elf2.py --out .cache/elf2-run --epochs 8"),
    AblationStep("elf-2", YARDSTICK, "elf elf2,",
                 "+ views with the k-distance x axis, one path segment reversed, lines 1–3 px, and the zero "
                 "mid-gap or at the CBM in half the gapped views; 10 epochs",
                 "train_elf2.py --out .cache/elf2-v2 --epochs 10"),
    AblationStep("elf-2 with a reconstruction loss", RESULTS / "yardstick-atlas-reconstruction.json",
                 "elf2-rec",
                 "+ a decoder that redraws each view from its 98 numbers, its binary cross-entropy times 25 "
                 "added to the VICReg loss (the paper autoencoder's objective combined with the views'); "
                 "same views, seed and epochs as elf-2",
                 "train_elf2.py --out .cache/elf2-rec --epochs 10 --reconstruction-weight 25"),
)

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
# The project's own goals for elf-2 (issue #31), not a standard of the field: (what, at least or below, value)
ELF2_GOALS = (
    ("flat-band AUC (binary_flatness)", ">=", 0.95),
    ("top-100 flat outside the pool", ">=", 0.40),
    ("flat bands near E_F R²", ">=", 0.5),
    (CROSS_CODE, ">=", 0.95),
    (TWIN_PERCENTILE, "<", 50.0),  # the twin closer than the median nearest-neighbour distance
    ("zero +0.2 eV: finds itself first", ">=", 0.95),
    ("zero -0.2 eV: finds itself first", ">=", 0.95),
    ("E_F mid-gap: finds itself first", ">=", 0.95),
)
# the robustness rows the ablation shows: the zero (what two codes' conventions move) and the drawing choices
# the second recipe's views added
ROBUSTNESS = ("zero +0.2 eV", "zero -0.2 eV", "E_F mid-gap", "first segment reversed", "k-distance x axis",
              "line width -1 px")


def cross_code_queries() -> list:
    """The band records the yardstick's cross-code rows search with: the 12 real 2Dmatpedia VASP files and the
    Quantum ESPRESSO h-BN run, in that order (their ``material_id`` names their material)."""
    import warnings

    from elfutils.data.dataset import real_band_files
    from elfutils.data.readers import read_band_file

    with warnings.catch_warnings():  # the QE file's path labels come from its cell: the data chapter says so
        warnings.simplefilter("ignore", UserWarning)
        return [read_band_file(f) for f in [*real_band_files(), QE_FILE]]


def yardstick(path: str | Path = YARDSTICK) -> dict | None:
    """The yardstick's JSON, or None when it has not been run."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


def _spread(task: dict) -> dict:
    return task["spread"] if "spread" in task else task


def readable_name(name: str) -> str:
    """'elf elf2, p = 0.2' -> 'elf-2 (Minkowski p = 0.2)'; an ablation step's model by its label
    ('elf .cache/elf2-1plane/export/best.safetensors, p = 0.2' -> 'elf-2, first recipe, ±4 eV plane alone
    (Minkowski p = 0.2)')."""
    distance = f" (Minkowski {name.rsplit(', ', 1)[1]})" if ", " in name else ""  # "p = 0.2"
    step = next((s for s in ABLATION if s.mark in name), None) if ELF2_MARK in name else None
    if step is not None:
        return ("elf-2" if step.label == "elf-2" else f"elf-2, {step.label}") + distance
    if ELF2_MARK in name:
        return "elf-2" + distance
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


def _judge(m: pd.DataFrame, s: pd.DataFrame, name: str, other: str, column: str) -> tuple[float, str]:
    """(the larger of the two fold spreads, "ahead"/"behind"/"tie"): ``name`` against ``other`` on a task,
    ahead or behind only beyond that spread."""
    margin = float(max(s.loc[name, column], s.loc[other, column]))
    ahead = float(m.loc[name, column] - m.loc[other, column])
    return margin, "ahead" if ahead > margin else "behind" if -ahead > margin else "tie"


def standing(result: dict, candidate: str) -> pd.DataFrame:
    """Per task: the candidate's mean, the best simple rival and its mean, and whether the candidate is ahead
    or behind by more than the larger of the two fold spreads (within the spread is a tie)."""
    m, s = means(result), spreads(result)
    others = rivals(result)
    rows = []
    for column, _ in TASKS:
        best = m.loc[others, column].idxmax()
        margin, verdict = _judge(m, s, candidate, best, column)
        rows.append({"task": column, "candidate": m.loc[candidate, column], "best simple rival": best,
                     "rival's mean": m.loc[best, column], "tie threshold": margin, "verdict": verdict})
    return pd.DataFrame(rows).set_index("task")


def compare(result: dict, name: str, other: str) -> pd.DataFrame:
    """Per task: ``name``'s mean against ``other``'s and whether it is ahead, behind or within the larger
    fold spread (a tie), as :func:`standing` judges against the best rival."""
    m, s = means(result), spreads(result)
    return pd.DataFrame([{"task": column, "verdict": _judge(m, s, name, other, column)[1]}
                         for column, _ in TASKS]).set_index("task")


def beside_rivals(result: dict, names: list[str]) -> pd.DataFrame:
    """Task × (each of ``names``, the best simple rival, its mean): means ± fold spread as text."""
    m, s = means(result), spreads(result)
    others = rivals(result)
    table = {}
    for column, _ in TASKS:
        best = m.loc[others, column].idxmax()
        table[column] = {**{n: f"{m.loc[n, column]:.3f} ± {s.loc[n, column]:.3f}" for n in names},
                         "best simple rival": best,
                         "its mean": f"{m.loc[best, column]:.3f} ± {s.loc[best, column]:.3f}"}
    return pd.DataFrame.from_dict(table, orient="index")


def _listed(tasks) -> str:
    return f" ({', '.join(tasks)})" if len(tasks) else ""


def short_name(name: str) -> str:
    """A readable name without its distance: 'elf-2 (Minkowski p = 0.2)' -> 'elf-2'."""
    return name.split(" (Minkowski p = ")[0]


def cross_code_sentence(result: dict, candidate: str, paper: str) -> str:
    """How often each network finds a file's own material first across codes, with the exact paired test."""
    from elfutils.analysis.small_samples import paired_exact_p

    mine, theirs = cross_code_ranks(result, candidate), cross_code_ranks(result, paper)
    files = sorted(mine)
    test = paired_exact_p([mine[f] == 1 for f in files], [theirs[f] == 1 for f in files])
    return (f"across codes {short_name(candidate)} finds its own material first for "
            f"{sum(mine[f] == 1 for f in files)} of the {len(files)} files, the paper's network for "
            f"{sum(theirs[f] == 1 for f in files)} (exact paired test p = {test['p_value']:.2f})")


def standing_sentence(result: dict, candidate: str, paper: str) -> str:
    """Where ``candidate`` stands, the miss first: against the best simple rival task by task, then against
    the paper's network (ahead or behind only beyond the larger fold spread)."""
    table, against = standing(result, candidate), compare(result, candidate, paper)
    name, n = short_name(candidate), len(table)
    ahead, behind = table.index[table.verdict == "ahead"], table.index[table.verdict == "behind"]
    gains, losses = against.index[against.verdict == "ahead"], against.index[against.verdict == "behind"]
    if len(behind):
        first = (f"{name} does not beat every simple alternative: the best simple rival is ahead of it "
                 f"by more than the fold spread on {len(behind)} of the {n} tasks{_listed(behind)}")
    else:
        first = f"{name} is behind no simple rival on any of the {n} tasks"
    return (f"{first}; it is ahead of the best rival on {len(ahead)}{_listed(ahead)} and within the spread "
            f"on the rest. Against the paper's network it is ahead on {len(gains)}{_listed(gains)} and "
            f"behind on {len(losses)}{_listed(losses)}.")


def candidates(result: dict) -> tuple[str, str | None]:
    """(the paper's network, the elf-2 candidate or None) by their readable names."""
    names = [readable_name(n) for n, e in result["representations"].items() if e.get("role") == "fingerprint"]
    paper = next(n for n in names if n.startswith("paper's network"))
    return paper, next((n for n in names if n.startswith("elf-2")), None)


def elf2_name(result: dict, mark: str) -> str:
    """The readable name of the elf-2 model whose raw name holds ``mark``."""
    return next(readable_name(n) for n in result["representations"] if ELF2_MARK in n and mark in n)


def ablation(steps: list[tuple[AblationStep, dict]]) -> pd.DataFrame:
    """What each step bought: per task each step's mean (columns by label), and for each step after the first
    the difference from the step before and the larger of the two fold spreads; then cross-code recall@1 and
    the robustness rows (no spread). Every result must come from the same seeded folds."""
    # each step's row of its own result, read once: (label, means, spreads, robustness)
    rows = []
    for step, result in steps:
        name = elf2_name(result, step.mark)
        rows.append((step.label, means(result).loc[name], spreads(result).loc[name],
                     robustness(result).loc[name]))
    table: dict[str, dict] = {}
    for column, _ in TASKS:
        row = table[column] = {}
        for i, (label, m, s, _) in enumerate(rows):
            row[label] = m[column]
            if i:
                before, _, before_spread, _ = rows[i - 1]
                row[f"{label}: change"] = row[label] - row[before]
                row[f"{label}: spread"] = max(s[column], before_spread[column])
    for column, value in [(CROSS_CODE, lambda m, r: m[CROSS_CODE])] + [
            (f"{p}: finds itself first", lambda m, r, p=p: r[p]) for p in ROBUSTNESS]:
        row = table[column] = {}
        for i, (label, m, _, r) in enumerate(rows):
            row[label] = value(m, r)
            if i:
                row[f"{label}: change"] = row[label] - row[rows[i - 1][0]]
    return pd.DataFrame.from_dict(table, orient="index")


def ablation_runs() -> list[tuple[AblationStep, dict]]:
    """The committed ablation steps that have a result, in order."""
    return [(step, found) for step in ABLATION if (found := yardstick(step.path)) is not None]


def cross_code_table(result: dict, names: list[str]) -> pd.DataFrame:
    """Representation × (recall@1/5/10, median rank, median twin percentile, share of twins closer than the
    median nearest-neighbour distance): the code-to-code noise floor against each fingerprint's resolution."""
    rows = {}
    for raw, entry in result["representations"].items():
        name = readable_name(raw)
        if name in names and "cross_code" in entry:
            c = entry["cross_code"]
            rows[name] = {**{f"recall@{k}": c[f"recall@{k}"] for k in (1, 5, 10)},
                          "median rank": c["median_rank"],
                          "median twin percentile": c["median_twin_percentile"],
                          "twins closer than the median NN": c["twin_closer_than_median_nn"]}
    return pd.DataFrame.from_dict(rows, orient="index").loc[[n for n in names if n in rows]]


def cross_code_ranks(result: dict, name: str) -> dict[str, int]:
    """The committed rank of each cross-code query's own material for the representation ``name``."""
    raw = next(r for r in result["representations"] if readable_name(r) == name)
    return result["representations"][raw]["cross_code"]["ranks"]


def training_summary(card: dict) -> dict:
    """From an elf-2 card: epochs, training seconds, median images/s over epochs, the device, the epoch kept
    and its held-out loss."""
    history = card["history"]
    rates = sorted(h["images_per_second"] for h in history)
    kept = next(h for h in history if h["epoch"] == card["epoch"])
    return {"epochs": len(history), "seconds": float(sum(h["seconds"] for h in history)),
            "median_images_per_s": float(rates[len(rates) // 2]), "device": card.get("device", "?"),
            "epoch_kept": int(card["epoch"]), "held_out_loss": float(kept["val_loss"]),
            "first_held_out_loss": float(history[0]["val_loss"]), "threads": card.get("threads")}


def goal_table(result: dict, name: str) -> pd.DataFrame:
    """The project's goals for elf-2 (:data:`ELF2_GOALS`): value reached by ``name``, goal, met or not."""
    m, r = means(result).loc[name], robustness(result).loc[name]
    rows = {}
    for what, sense, goal in ELF2_GOALS:
        value = float(r[what.split(": ")[0]]) if what.endswith("finds itself first") else float(m[what])
        rows[what] = {"reached": round(value, 3), "our goal": f"{sense} {goal:g}",
                      "met": value >= goal if sense == ">=" else value < goal}
    return pd.DataFrame.from_dict(rows, orient="index")


ENCODE = PROJECT_ROOT / "benchmarks" / "results" / "encode.json"


def encode_speeds(path: str | Path = ENCODE) -> dict[str, float]:
    """Model name -> images/s of encoding, from one run of benchmarks/bench_encode.py."""
    models = json.loads(Path(path).read_text())["models"]
    return {name: entry["encode_images_per_s"] for name, entry in models.items()}

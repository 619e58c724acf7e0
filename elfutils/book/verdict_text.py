"""Sentences of the book's verdicts built from computed tables, so a chapter states a negative result first
and in the words the numbers support (issue #32).

* :func:`flat_band_sentence` -- where elf stands on the flat-band properties (fingerprint-quality chapter);
* :func:`ranked_last_sentence` -- where elf stands on the atlas chapter's discovery metric.
"""

from __future__ import annotations

import pandas as pd

FLAT_COUNT = "flat bands near E_F"  # our own count of flat bands (fingerprint_quality.properties)
FLAT_TASKS = (FLAT_COUNT, "binary_flatness", "flatness_score")
METRIC = {FLAT_COUNT: "R²", "binary_flatness": "ROC-AUC", "flatness_score": "R²"}


def flat_band_sentence(scores: pd.DataFrame, elf: str, elf_other: str, pixels: str, baselines) -> str:
    """The first sentence of the fingerprint-quality verdict.

    Parameters
    ----------
    scores : representation x task (:data:`FLAT_TASKS` columns at least; R² or ROC-AUC)
    elf, elf_other : elf's two rows (its own distance and the other one)
    pixels : the raw-pixel row
    baselines : the other band-structure representations (not elf, not random, not structural)
    """
    missing = [t for t in FLAT_TASKS if t not in scores.columns]
    if missing:
        raise ValueError(f"scores lack the flat-band tasks {', '.join(missing)}")
    baselines = list(baselines)
    if not baselines:
        raise ValueError("need at least one baseline to compare elf with")
    count = scores[FLAT_COUNT]
    best_elf = max(count[elf], count[elf_other])
    standing = ("the worst band-structure representation measured here" if best_elf < count[baselines].min()
                else "not the best band-structure representation here" if best_elf < count[baselines].max()
                else "the best band-structure representation here")
    lost = [f"{t} ({METRIC[t]} {scores.loc[pixels, t]:.3f} against elf's {scores.loc[elf, t]:.3f})"
            for t in FLAT_TASKS[1:] if scores.loc[pixels, t] > scores.loc[elf, t]]
    sentence = (f"On flat bands, the paper's subject, elf is {standing}: it predicts the number of flat "
                f"bands near E_F with R² {count[elf]:.3f} ({elf_other}: {count[elf_other]:.3f}) against "
                f"{count[pixels]:.3f} for raw pixels")
    if lost:
        sentence += ", and raw pixels also beat it on " + " and ".join(lost)
    return sentence + "."


def ranked_last_sentence(search: pd.DataFrame, column: str, elf_rows, ignore=(), what: str = "") -> str:
    """Where elf's rows rank on ``column`` among the other rows of ``search`` (``ignore``: rows left out,
    e.g. random vectors): "elf is last ... (a to b against c to d)" or where it stands otherwise."""
    elf_rows = list(elf_rows)
    others = [r for r in search.index if r not in elf_rows and r not in set(ignore)]
    if not elf_rows or not others:
        raise ValueError("need elf rows and other rows to rank them against")
    mine, theirs = search.loc[elf_rows, column], search.loc[others, column]
    span = (f"{mine.min():.0%} to {mine.max():.0%}" if len(mine) > 1 else f"{mine.iloc[0]:.0%}")
    against = f"{theirs.min():.0%} to {theirs.max():.0%}" if len(theirs) > 1 else f"{theirs.iloc[0]:.0%}"
    if mine.max() < theirs.min():
        head = f"On {what}, elf is last"
    elif mine.max() < theirs.max():
        head = f"On {what}, elf does not lead"
    else:
        head = f"On {what}, elf leads"
    return f"{head}: {span} for elf's fingerprints against {against} for the baselines."

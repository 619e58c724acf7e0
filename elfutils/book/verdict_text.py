"""Sentences of the book's verdicts built from computed tables, so a chapter states a negative result first
and in the words the numbers support (issue #32).

* :func:`flat_band_sentence` -- where elf stands on the flat-band properties (fingerprint-quality chapter);
* :func:`ranked_last_sentence` -- where elf stands on the atlas chapter's discovery metric.
"""

from __future__ import annotations

import pandas as pd

from elfutils import constants as C
from elfutils.analysis.parameter_selection import grid_point
from elfutils.book.wording import counted

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


def paper_choice_verdict(judged: pd.DataFrame,
                         paper=(C.HDBSCAN_MIN_CLUSTER_SIZE, C.HDBSCAN_MIN_SAMPLES)) -> str:
    """One sentence: how the paper's (Nc, Ns) fares under the rule on this study
    (:func:`apply_selection_rule` output)."""
    at = grid_point(judged, *paper)
    if at is None:
        return "Our grid does not hold the paper's choice."
    if bool(at["chosen"]):
        return "The rule picks the paper's choice on our data too."
    if bool(at["candidate"]):
        return (f"The paper's choice passes the rule, as candidate {int(at['order'])} of "
                f"{int(judged['candidate'].sum())}.")
    if not bool(at["valid"]):
        return (f"On our data the paper's choice gives {counted(at['n_clusters'], 'cluster')}, fewer than "
                "the rule needs for a DBCV.")
    why = [w for w, ok in (("its DBCV is below the threshold", at["large_dbcv"]),
                           ("it gives more clusters than the bound", at["bounded"])) if not ok]
    return "On our data the paper's choice fails the rule: " + " and ".join(why) + "."


def chemistry_verdict(chem: dict, alpha: float = 0.05) -> str:
    """A sentence on :func:`elfutils.analysis.chemistry.cluster_chemistry`'s result: beyond chance or not."""
    if not chem.get("n_clusters"):
        return "there are no clusters to judge"
    if chem["p_value"] < alpha and chem["n_dominated"] > chem["expected_dominated"]:
        return "more than chance allows, so the clusters carry chemistry the network was never given"
    return "no more than chance allows, so in this build the clusters do not follow the anion family"

"""elfutils.book.verdict_text: verdict sentences that follow the numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from elfutils.book import verdict_text as vt

ROWS = ["elf, p = 0.2", "elf, Euclidean", "raw pixels", "PCA", "histogram"]


def _scores(count, binary, score):
    return pd.DataFrame({"flat bands near E_F": count, "binary_flatness": binary, "flatness_score": score},
                        index=ROWS)


def test_elf_below_every_baseline_is_called_the_worst_and_its_losses_are_listed():
    scores = _scores([0.138, 0.094, 0.305, 0.235, 0.219], [0.678, 0.684, 0.719, 0.73, 0.75],
                     [0.187, 0.181, 0.24, 0.049, 0.064])
    sentence = vt.flat_band_sentence(scores, ROWS[0], ROWS[1], "raw pixels", ROWS[2:])
    assert sentence.startswith("On flat bands, the paper's subject, elf is the worst")
    assert "R² 0.138 (elf, Euclidean: 0.094) against 0.305 for raw pixels" in sentence
    assert "binary_flatness (ROC-AUC 0.719 against elf's 0.678)" in sentence
    assert "flatness_score (R² 0.240 against elf's 0.187)" in sentence


def test_elf_ahead_is_not_called_the_worst():
    scores = _scores([0.5, 0.4, 0.3, 0.2, 0.1], [0.9, 0.9, 0.7, 0.7, 0.7], [0.5, 0.5, 0.2, 0.2, 0.2])
    sentence = vt.flat_band_sentence(scores, ROWS[0], ROWS[1], "raw pixels", ROWS[2:])
    assert "elf is the best" in sentence and "beat it" not in sentence
    middle = _scores([0.25, 0.1, 0.3, 0.2, 0.1], [0.9] * 5, [0.5] * 5)
    assert "not the best" in vt.flat_band_sentence(middle, ROWS[0], ROWS[1], "raw pixels", ROWS[2:])


def test_flat_band_sentence_names_missing_tasks():
    with pytest.raises(ValueError, match="binary_flatness"):
        vt.flat_band_sentence(pd.DataFrame({"flat bands near E_F": [0.1]}, index=["elf"]), "elf", "elf",
                              "elf", ["elf"])


def test_ranked_last_sentence_spans_elf_and_the_baselines():
    search = pd.DataFrame({"top": [0.157, 0.139, 0.163, 0.225, 0.284, 0.216, 0.071]},
                          index=["elf a", "elf b", "elf c", "PCA", "hist", "pixels", "random"])
    sentence = vt.ranked_last_sentence(search, "top", ["elf a", "elf b", "elf c"], ignore=["random"],
                                       what="the discovery metric")
    assert sentence == ("On the discovery metric, elf is last: 14% to 16% for elf's fingerprints against "
                        "22% to 28% for the baselines.")
    leading = vt.ranked_last_sentence(search, "top", ["hist"], ignore=["random"], what="x")
    assert leading.startswith("On x, elf leads")
    with pytest.raises(ValueError, match="need elf rows"):
        vt.ranked_last_sentence(search, "top", [], what="x")

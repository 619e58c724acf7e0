"""elfutils.analysis.small_samples: intervals and paired tests for a handful of successes."""

from __future__ import annotations

import numpy as np
import pytest

from elfutils.analysis.small_samples import paired_exact_p, proportion_interval


def test_wilson_interval_matches_the_textbook_value():
    # 10 of 12 at 95 %: Wilson (0.552, 0.953)
    low, high = proportion_interval(10, 12)
    assert low == pytest.approx(0.5520, abs=1e-3) and high == pytest.approx(0.9530, abs=1e-3)


def test_exact_interval_matches_clopper_pearson_and_covers_the_edges():
    low, high = proportion_interval(11, 12, method="exact")
    assert low == pytest.approx(0.6152, abs=1e-3) and high == pytest.approx(0.9979, abs=1e-3)
    assert proportion_interval(0, 10, method="exact")[0] == 0.0
    assert proportion_interval(10, 10, method="exact")[1] == 1.0
    w = proportion_interval(12, 12)
    assert w[1] == pytest.approx(1.0) and w[0] < 1.0


def test_interval_names_bad_inputs():
    with pytest.raises(ValueError, match="13 of 12"):
        proportion_interval(13, 12)
    with pytest.raises(ValueError, match="'bayes'"):
        proportion_interval(1, 2, method="bayes")
    with pytest.raises(ValueError, match="confidence"):
        proportion_interval(1, 2, confidence=1.5)


def test_paired_test_counts_only_the_discordant_items():
    a = np.array([1, 1, 1, 1, 0, 1], bool)
    b = np.array([1, 1, 1, 1, 1, 0], bool)
    out = paired_exact_p(a, b)
    assert (out["only_a"], out["only_b"]) == (1, 1) and out["p_value"] == pytest.approx(1.0)
    lopsided = paired_exact_p(np.ones(20, bool), np.zeros(20, bool))
    assert lopsided["p_value"] == pytest.approx(2 * 0.5**20)
    assert paired_exact_p([True], [True])["p_value"] == 1.0
    with pytest.raises(ValueError, match="different items"):
        paired_exact_p([True], [True, False])

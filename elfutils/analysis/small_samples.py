"""What a handful of successes can and cannot tell apart.

* :func:`proportion_interval` -- a 95 % interval for a share of successes (Wilson score or exact
  Clopper-Pearson);
* :func:`paired_exact_p` -- whether two methods tried on the same items differ (exact McNemar test: only the
  items where one succeeds and the other fails count).
"""

from __future__ import annotations

import math

import numpy as np

CONFIDENCE = 0.95


def proportion_interval(successes: int, n: int, confidence: float = CONFIDENCE,
                        method: str = "wilson") -> tuple[float, float]:
    """(low, high) interval for the share ``successes / n``: ``method`` "wilson" (Wilson score) or "exact"
    (Clopper-Pearson, from the beta distribution; never narrower than the nominal coverage)."""
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n >= 1, got {successes} of {n}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), not {confidence}")
    from scipy import stats

    alpha = 1 - confidence
    if method == "exact":
        low = 0.0 if successes == 0 else float(stats.beta.ppf(alpha / 2, successes, n - successes + 1))
        high = 1.0 if successes == n else float(stats.beta.ppf(1 - alpha / 2, successes + 1, n - successes))
        return low, high
    if method == "wilson":
        z = float(stats.norm.ppf(1 - alpha / 2))
        share = successes / n
        centre = (share + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
        return max(0.0, centre - half), min(1.0, centre + half)
    raise ValueError(f"method must be 'wilson' or 'exact', not {method!r}")


def paired_exact_p(a, b) -> dict:
    """Exact two-sided McNemar test of two methods on the same items (``a``, ``b``: success per item).

    Returns
    -------
    dict: only_a, only_b (items where one method succeeds and the other fails), p_value (two-sided,
    binomial with p = 1/2 on the discordant items; 1 when there are none)
    """
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    if a.shape != b.shape:
        raise ValueError(f"the two methods were tried on different items: {a.shape} vs {b.shape}")
    only_a, only_b = int((a & ~b).sum()), int((b & ~a).sum())
    discordant = only_a + only_b
    if discordant == 0:
        return {"only_a": 0, "only_b": 0, "p_value": 1.0}
    from scipy import stats

    p = stats.binomtest(min(only_a, only_b), discordant, 0.5).pvalue
    return {"only_a": only_a, "only_b": only_b, "p_value": float(min(1.0, p))}

"""Do a group of materials sit closer together in fingerprint space than random sets of the same size
(:func:`group_closeness`, a permutation test)? :data:`SQUARE_OCTAGON` names Fig. 4's motif; the survey of a
whole table is :func:`elfutils.book.measurements.square_octagon_survey`."""

from __future__ import annotations

import math

import numpy as np

from elfutils import constants as C
from elfutils.analysis.embedding_metrics import square_distances


def group_closeness(distances, members, n_permutations: int = C.N_PERMUTATIONS, seed: int = C.SEED) -> dict:
    """Are the ``members`` (row indices) closer to each other in fingerprint space than materials picked at
    random? Compares the median distance over their pairs with that of ``n_permutations`` random sets of the
    same size (seeded).

    Returns
    -------
    dict: n, median_within, median_all (over all pairs), ratio (within / all), expected_within (mean of the
    random sets' medians), p_value (share of random sets at least as close); NaN where fewer than 2 members
    """
    D = square_distances(distances)
    members = np.unique(np.asarray(members, dtype=int))
    upper = np.triu_indices(len(D), k=1)
    median_all = float(np.median(D[upper])) if len(D) > 1 else math.nan
    out = {"n": len(members), "median_all": median_all}
    if len(members) < 2:
        return out | {"median_within": math.nan, "ratio": math.nan, "expected_within": math.nan,
                      "p_value": math.nan}

    def within(idx):
        sub = D[np.ix_(idx, idx)]
        return float(np.median(sub[np.triu_indices(len(idx), k=1)]))

    observed = within(members)
    rng = np.random.default_rng(seed)
    random_medians = np.array([within(rng.choice(len(D), len(members), replace=False))
                               for _ in range(n_permutations)])
    return out | {"median_within": observed, "ratio": observed / median_all,
                  "expected_within": float(random_medians.mean()),
                  "p_value": float((np.sum(random_medians <= observed) + 1) / (n_permutations + 1))}


# elfutils.analysis.structure.name_motif's name for the net of the paper's Fig. 4
SQUARE_OCTAGON = "square-octagon"



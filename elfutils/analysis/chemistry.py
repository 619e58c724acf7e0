"""Chemistry the network never saw: does a fingerprint cluster share an anion family?

The paper reads chemical trends off its clusters ("clusters 26 and 27 predominantly contain halides, while
clusters 24, 41, 25 and 8 are rich in transition metal chalcogenides", Results, "Analysis of global trends")
and explains them by the valence orbitals that elements of one group share. Here each material gets an anion
family from its formula, and the clusters are tested against clusters of the same sizes filled at random.

The family is decided by the most anion-like element present, in this order (so a mixed-anion compound goes to
the first family it qualifies for, e.g. an oxyhalide to "halide"):

==================== ======================
family               elements
==================== ======================
halide               F, Cl, Br, I, At
oxide                O
chalcogenide         S, Se, Te
pnictide             N, P, As, Sb, Bi
other                everything else (hydrides, carbides, borides, intermetallics, ...)
unknown              a formula pymatgen cannot read (only from :func:`chemistry_table`)
==================== ======================

"Transition metal" is any d-block element (pymatgen's ``Element.is_transition_metal``), for the paper's
"transition metal chalcogenides".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_mutual_info_score

from elfutils.constants import N_PERMUTATIONS, SEED

FAMILY_ELEMENTS = {
    "halide": ("F", "Cl", "Br", "I", "At"),
    "oxide": ("O",),
    "chalcogenide": ("S", "Se", "Te"),
    "pnictide": ("N", "P", "As", "Sb", "Bi"),
}
FAMILIES = (*FAMILY_ELEMENTS, "other")
DOMINANT_SHARE = 0.75  # a cluster is "dominated" by a family holding at least this share of its members


def elements(formula: str) -> set[str]:
    """Element symbols of a formula ("Tl2SiSe3" -> {"Tl", "Si", "Se"}); ValueError names a bad formula."""
    from pymatgen.core import Composition

    try:
        return {e.symbol for e in Composition(formula, strict=True).elements}
    except (ValueError, KeyError) as exc:
        raise ValueError(f"formula {formula!r}: not a chemical formula ({exc})") from None


def anion_family(formula: str) -> str:
    """The anion family of a formula (see the module docstring)."""
    present = elements(formula)
    for family, members in FAMILY_ELEMENTS.items():
        if present.intersection(members):
            return family
    return "other"


def has_transition_metal(formula: str) -> bool:
    from pymatgen.core import Element

    return any(Element(e).is_transition_metal for e in elements(formula))


def chemistry_table(formulas) -> pd.DataFrame:
    """family and transition_metal for each formula, and their combination ``label`` as the paper speaks of
    it ("transition-metal chalcogenide", "halide", ...). A formula pymatgen cannot read gets family and label
    "unknown" (a dataset of one's own may name materials otherwise), so one odd entry does not stop the
    rest."""
    rows = []
    for formula in formulas:
        try:
            family, tm = anion_family(formula), has_transition_metal(formula)
        except ValueError:
            family, tm = "unknown", False
        label = f"transition-metal {family}" if tm and family not in ("other", "unknown") else family
        rows.append((formula, family, tm, label))
    return pd.DataFrame(rows, columns=["formula", "family", "transition_metal", "label"])


def cluster_chemistry(labels, families, n_permutations: int = N_PERMUTATIONS, seed: int = SEED,
                      dominant_share: float = DOMINANT_SHARE) -> dict:
    """How strongly HDBSCAN clusters follow a chemical classification they were never given.

    Parameters
    ----------
    labels : (N,) cluster per material, -1 unclassified (left out)
    families : (N,) a class per material (e.g. :func:`chemistry_table`'s ``family`` or ``label``)

    Returns
    -------
    dict: n_clusters; n_dominated (clusters where one class holds at least ``dominant_share``);
    expected_dominated and p_value (the same count for the clustered materials' classes shuffled over the
    clusters, ``n_permutations`` times, seeded; p = share of shufflings with at least as many, +1 smoothed);
    ami (adjusted mutual information of clusters and classes: 0 for chance, 1 for a perfect match);
    table (per cluster: size, dominant, share)
    """
    labels = np.asarray(labels)
    families = np.asarray(families, dtype=object)
    if labels.shape != families.shape:
        raise ValueError(f"labels and families differ in length: {labels.shape} vs {families.shape}")
    ok = labels >= 0
    lab, fam = labels[ok], families[ok]
    clusters = np.unique(lab)

    def dominated(classes) -> tuple[int, list]:
        rows, count = [], 0
        for c in clusters:
            values, counts = np.unique(classes[lab == c], return_counts=True)
            top = int(np.argmax(counts))
            share = counts[top] / counts.sum()
            count += share >= dominant_share
            rows.append((int(c), int(counts.sum()), values[top], float(share)))
        return count, rows

    n_dominated, rows = dominated(fam)
    table = pd.DataFrame(rows, columns=["cluster", "size", "dominant", "share"])
    if len(clusters) == 0:
        return {"n_clusters": 0, "n_dominated": 0, "expected_dominated": np.nan, "p_value": np.nan,
                "ami": np.nan, "table": table}
    rng = np.random.default_rng(seed)
    shuffled = np.array([dominated(rng.permutation(fam))[0] for _ in range(n_permutations)])
    return {"n_clusters": len(clusters), "n_dominated": int(n_dominated),
            "expected_dominated": float(shuffled.mean()),
            "p_value": float((np.sum(shuffled >= n_dominated) + 1) / (n_permutations + 1)),
            "ami": float(adjusted_mutual_info_score(fam, lab)), "table": table}


def dominated_by_class(chem: dict, dominant_share: float = DOMINANT_SHARE) -> dict[str, int]:
    """Class -> number of clusters it dominates (holds at least ``dominant_share`` of the members), from
    :func:`cluster_chemistry`'s table; most first."""
    table = chem["table"]
    if not len(table):
        return {}
    return {str(k): int(v) for k, v in table[table.share >= dominant_share].dominant.value_counts().items()}


def halide_and_chalcogenide_clusters(counts: dict[str, int]) -> tuple[int, int]:
    """The two kinds the paper reads off its clusters: halide-dominated clusters (any halide class) and
    transition-metal-chalcogenide-dominated ones, from :func:`dominated_by_class`."""
    return (sum(n for k, n in counts.items() if "halide" in k),
            int(counts.get("transition-metal chalcogenide", 0)))

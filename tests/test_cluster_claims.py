"""elfutils.book.cluster_claims: what the clusters can carry, in sentences that follow the numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from elfutils.analysis import cluster_baselines as cb
from elfutils.book import cluster_claims as cc


def test_degenerate_sentence_puts_a_weak_dbcv_first():
    judged = pd.DataFrame({"dbcv": [0.011, 0.022, 0.08]})
    share = cb.concentration(np.array([0] * 6 + [1] * 3 + [-1] * 11))
    sentence = cc.degenerate_sentence({"dbcv": 0.022}, judged, share)
    assert sentence.startswith("The clusters every cluster-based claim of this book rests on are barely")
    assert "DBCV is 0.022" in sentence and "0.011 to 0.080" in sentence
    assert "leaves 11 of the 20 materials (55%) unclassified" in sentence
    assert cc.degenerate_sentence({"dbcv": 0.6}, judged, share, subject="The atlas clusters").startswith(
        "The atlas clusters are separated: at the paper's setting DBCV is 0.600")
    assert "not on this grid" in cc.degenerate_sentence(None, judged, share)


def test_chemistry_sentence_says_when_a_baseline_matches_elf():
    table = pd.DataFrame({"n_dominated": [3, 5, 4], "expected_dominated": [1.0, 1.2, 1.1],
                          "p_value": [0.01, 0.001, 0.002], "ami": [0.05, 0.08, 0.03]},
                         index=[cb.ELF_NAME, cb.GAP_SIZED, cb.PIXELS_KMEANS])
    sentence = cc.chemistry_sentence(table)
    assert sentence.startswith("The elf clusters' chemistry signal is no stronger")
    assert f"AMI 0.050 against 0.080 for {cb.GAP_SIZED}" in sentence
    table.loc[cb.ELF_NAME, "ami"] = 0.2
    assert cc.chemistry_sentence(table).startswith("The elf clusters follow the anion family more")
    with pytest.raises(ValueError, match="at least one baseline"):
        cc.chemistry_sentence(table.loc[[cb.ELF_NAME]])


def test_gap_spread_sentence_compares_with_the_gap_alone():
    assert "are wider than" in cc.gap_spread_sentence(0.6, 0.1, 2.7)
    assert "no wider than" in cc.gap_spread_sentence(0.1, 0.1, 2.7)


def _map(seed=0):
    rng = np.random.default_rng(seed)
    n = 60
    xy = rng.uniform(0, 10, (n, 2))
    motifs = np.array([None] * n, dtype=object)
    motifs[:8] = "kagome"
    xy[:8] = rng.normal(5, 0.05, (8, 2))  # kagome: one tight island, one cluster
    motifs[8:14] = "dice"  # dice: scattered over the map
    labels = np.full(n, -1)
    labels[:8] = 0
    labels[8:14] = [1, 2, 3, -1, -1, 4]
    table = pd.DataFrame({"material_id": [f"m{i}" for i in range(n)], "hdbscan_label": labels,
                          "umap_x": xy[:, 0], "umap_y": xy[:, 1]})
    D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    return table, motifs, D


def test_motif_check_finds_a_tight_motif_and_a_scattered_one():
    table, motifs, D = _map()
    check = cc.motif_check(table, motifs, D, n_permutations=200, seed=0)
    assert check.loc["kagome", "top_cluster_share"] == 1.0 and check.loc["kagome", "localised"]
    assert check.loc["kagome", "closeness"] < 0.1 and check.loc["kagome", "closeness_p"] < 0.05
    assert check.loc["dice", "n_clusters"] == 4 and not check.loc["dice", "localised"]
    assert cc.motif_holds(check.loc["kagome"]) and not cc.motif_holds(check.loc["dice"])
    sentence = cc.motif_sentence(check)
    assert sentence.startswith("The paper's claim is not reproduced for dice sublattices: the 6 dice "
                               "materials fall into 4 elf clusters with 2 unclassified")
    assert sentence.index("It holds for kagome sublattices") > sentence.index("dice")
    assert "holds 8 (localised by the criterion of Fig. 5)" in sentence
    assert "(not localised by the criterion of Fig. 5)" in sentence
    assert cc.motif_sentence(check.loc[["kagome"]]).startswith("The paper's claim holds for kagome")
    with pytest.raises(ValueError, match="differ in length"):
        cc.motif_check(table, motifs[:-1], D)


def test_claims_verdict_puts_the_failed_claims_first():
    chemistry = pd.DataFrame({"n_dominated": [19, 3, 14], "expected_dominated": [0.5, 0.5, 0.6],
                              "p_value": [0.001] * 3, "ami": [0.305, 0.182, 0.255],
                              "gap_iqr": [0.133, 0.014, 0.5]},
                             index=[cb.ELF_NAME, cb.GAP_SIZED, cb.PIXELS_KMEANS])
    table, motifs, D = _map()
    lattices = cc.motif_check(table, motifs, D, n_permutations=100, seed=0)
    verdict = cc.claims_verdict(chemistry, lattices)
    assert verdict.startswith("Not reproduced: the claim that dice sublattices form a well-defined")
    assert ("shows more than a grouping by the gap alone (median spread within a cluster 0.133 eV, by the "
            "gap alone 0.014 eV)") in verdict
    assert verdict.index("Not reproduced") < verdict.index(
        "Reproduced: the claim that kagome sublattices form a well-defined, low-spread cluster (the check "
        "above); the claim that the clusters follow chemistry")
    chemistry.loc[cb.ELF_NAME, "ami"] = 0.1
    assert "; the claim that the clusters follow chemistry" in cc.claims_verdict(chemistry, lattices).split(
        "Reproduced:")[0]

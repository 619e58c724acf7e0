"""elfutils.book.paper_quantities: inputs and outcomes, the at-a-glance numbers, the validation verdict and
the Table 1 row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from elfutils import constants
from elfutils.book import paper_quantities as pq
from elfutils.book.profiles import get_profile


def history(gaps, train=0.3):
    return [{"epoch": e, "train_bce": train, "val_bce": train * (1 + g)} for e, g in enumerate(gaps, start=1)]


def bare(**changes):
    clustering = pd.DataFrame({"material_id": ["a", "b", "c"], "formula": ["X", "Y", "Z"],
                               "hdbscan_label": [0, 0, -1]})
    clustering.attrs.update(n_clusters=1, n_unclassified=1, dbscan_eps=0.5)
    return pq.Outcomes(profile=get_profile("default"), n_materials=3, clustering=clustering, **changes)


def duplicates(found: int, present: int = len(constants.PAPER_TABLE1_DUPLICATES)):
    pairs = list(constants.PAPER_TABLE1_DUPLICATES.items())
    n = len(pairs)
    table1 = pd.DataFrame({"formula": [f for f, _ in pairs], "material_id_a": [a for _, (a, _) in pairs],
                           "material_id_b": [b for _, (_, b) in pairs],
                           "present": [True] * present + [False] * (n - present),
                           "found": [True] * found + [False] * (n - found)})
    from elfutils.analysis.duplicates import DuplicateResult

    # one pair: 2 entries
    candidates = pd.DataFrame({"rank": [1], "material_id_a": ["2dm-a"], "material_id_b": ["2dm-b"]})
    return DuplicateResult(candidates, 1.0, "rule", pd.DataFrame({"distance": [0.5]}), table1, median_nn=2.0)


def row(outcomes, constant):
    return pq.paper_vs_ours(outcomes).set_index("constant").loc[constant]


def test_validation_gaps_are_relative_and_numbered_by_epoch():
    gaps = pq.validation_gaps(history([0.01, 0.2, -0.03]))
    assert gaps.index.tolist() == [1, 2, 3] and gaps.to_numpy() == pytest.approx([0.01, 0.2, -0.03])
    frame = pd.DataFrame([*history([0.01, 0.02]), {"epoch": 3, "train_bce": 0.3, "val_bce": np.nan}])
    assert pq.validation_gaps(frame).index.tolist() == [1, 2]  # an epoch without validation is left out


def test_validation_verdict_says_first_that_the_gap_left_the_tolerance():
    bad = pq.validation_verdict(history([0.01, 0.17, 0.06, 0.02, 0.049]))
    assert bad.startswith("Unlike the paper's, our validation loss does not stay within 5% of the training "
                          "loss throughout")
    assert ("outside in 2 of the 5 epochs (epochs 2 and 3), by up to +17.0% at epoch 2, and ends at +4.9%"
            in bad)
    good = pq.validation_verdict(history([0.01, -0.02]))
    assert good.startswith("Like the paper's") and "largest gap -2.0% at epoch 2" in good
    assert "no validation loss" in pq.validation_verdict([])


def test_the_validation_row_says_not_throughout_when_only_the_last_epoch_is_within():
    card = {"history": history([0.01, 0.173, 0.049]), "config": {}}
    got = row(bare(model_card=card), "PAPER_VALIDATION_TOLERANCE")
    assert got.ours == "not throughout: outside in 1 of 3 epochs, up to +17.3%; last +4.9%"
    assert row(bare(model_card={"history": history([0.01, 0.02])}), "PAPER_VALIDATION_TOLERANCE").ours == \
        "within: +2.0%"
    assert row(bare(model_card={"history": history([0.01, 0.2])}), "PAPER_VALIDATION_TOLERANCE").ours == \
        "outside: +20.0%"


def test_the_table1_row_counts_found_pairs_of_all_when_all_are_present_and_names_wrong_labels():
    got = row(bare(duplicates=duplicates(found=4)), "PAPER_TABLE1_DUPLICATES")
    assert got.ours == "4 of 8 found (all present)"
    # 2Dmatpedia's formulas contradict two of the paper's labels (data/2dmatpedia-structures)
    assert "AsBr3 is AsBr3 / BiBr3 (2dm-2624, 2dm-4881)" in got.explanation
    assert "Te2Se is Tl2Se (2dm-1823, 2dm-1596)" in got.explanation
    assert row(bare(duplicates=duplicates(found=1, present=2)), "PAPER_TABLE1_DUPLICATES").ours == \
        "1 of 2 present"


def test_every_entry_is_an_input_or_an_outcome_and_settings_are_inputs():
    kinds = {q.quantity: q.kind for q in pq.REGISTRY}
    assert set(kinds.values()) == set(pq.KINDS)
    for setting in ("image size (px)", "epochs", "HDBSCAN (Nc, Ns)", "Minkowski exponent p", "UMAP (NN, MD)"):
        assert kinds[setting] == "input", setting
    for outcome in ("HDBSCAN clusters", "Table 1 pairs found", "CNNF clusters localised on the elf map",
                    "training BCE after the last epoch"):
        assert kinds[outcome] == "outcome", outcome
    assert list(pq.paper_vs_ours(bare()).columns) == pq.COLUMNS and "kind" in pq.COLUMNS


def test_agreement_counts_separate_inputs_from_outcomes():
    table = pd.DataFrame({"quantity": ["a", "b", "c", "d", "e"],
                          "kind": ["input", "input", "outcome", "outcome", "outcome"],
                          "explanation": ["same", "another size", "same", "the profile's choice",
                                          "same material; from x"]})
    counts = pq.agreement_counts(table)
    assert counts.loc["input"].tolist() == [2, 1] and counts.loc["outcome"].tolist() == [3, 2]
    glance = pd.DataFrame({"quantity": ["d"], "paper_value": [1.0], "our_value": [1.0]})
    assert pq.agrees(table, glance).tolist() == [True, False, True, True, True]


def test_glance_table_gives_outcomes_that_are_words_a_number():
    localisation = pd.DataFrame({"cnnf_cluster": range(42), "localised": [True] * 9 + [False] * 33})
    outcomes = bare(duplicates=duplicates(found=4), model_card={"history": history([0.01, 0.2, 0.03, 0.02])},
                    cnnf_labels=pd.Series([0, 1]), cnnf_localisation=localisation)
    glance = pq.glance_table(outcomes).set_index("quantity")
    assert set(glance.kind) == {"outcome"}
    table1 = glance.loc["Table 1 pairs found"]
    assert (table1.paper_value, table1.our_value, table1.ratio) == (1.0, 0.5, 0.5)
    cnnf = glance.loc["CNNF clusters localised on the elf map"]
    assert cnnf.paper_value == pytest.approx(18 / 45) and cnnf.our_value == pytest.approx(9 / 42)
    assert glance.loc["validation BCE within 5% of training", "our_value"] == 0.75
    assert glance.loc["HDBSCAN clusters", "measure"] == "value"  # plain numbers on both sides
    assert glance.loc["HDBSCAN clusters", "our_value"] == 1.0
    assert "image size (px)" not in glance.index  # an input
    assert "image size (px)" in pq.glance_table(outcomes, kind=None).quantity.tolist()

"""elfutils.analysis.chemistry: anion families from formulas, and whether clusters follow them beyond
chance."""

from __future__ import annotations

import numpy as np
import pytest

from elfutils.analysis.chemistry import FAMILIES, anion_family, chemistry_table, cluster_chemistry


@pytest.mark.parametrize("formula, family", [
    ("IrF2", "halide"), ("CrI3", "halide"), ("BiOCl", "halide"),  # an oxyhalide goes to the first family
    ("Bi2O3", "oxide"), ("ZnMoO4", "oxide"),
    ("MoS2", "chalcogenide"), ("Tl2SiSe3", "chalcogenide"), ("HgTe", "chalcogenide"),
    ("InAs", "pnictide"), ("TlBi", "pnictide"), ("BN", "pnictide"),
    ("Au", "other"), ("SiC", "other"),
])
def test_anion_family(formula, family):
    assert anion_family(formula) == family and family in FAMILIES


def test_table_names_transition_metal_compounds_as_the_paper_does():
    table = chemistry_table(["MoS2", "Tl2SiSe3", "CrI3", "NaCl", "Au"])
    assert table.label.tolist() == ["transition-metal chalcogenide", "chalcogenide",
                                    "transition-metal halide",
                                    "halide", "other"]
    assert table.transition_metal.tolist() == [True, False, True, False, True]


def test_a_bad_formula_is_named_and_a_table_goes_on_with_the_rest():
    with pytest.raises(ValueError, match="'Xx9Q'"):
        anion_family("Xx9Q")
    table = chemistry_table(["Xx9Q", "MoS2"])
    assert table.family.tolist() == ["unknown", "chalcogenide"] and table.label[0] == "unknown"


def test_clusters_that_follow_the_classes_beat_random_ones_and_random_ones_do_not():
    classes = np.array(["halide", "oxide", "pnictide", "other"]).repeat(10)
    following = np.arange(4).repeat(10)  # each cluster exactly one class
    result = cluster_chemistry(following, classes, n_permutations=200)
    assert result["n_clusters"] == 4 and result["n_dominated"] == 4
    assert result["expected_dominated"] < 0.5 and result["p_value"] < 0.01
    assert result["ami"] == pytest.approx(1.0)
    assert result["table"].dominant.tolist() == ["halide", "oxide", "pnictide", "other"]
    scrambled = np.tile(np.arange(4), 10)  # each cluster a quarter of every class
    result = cluster_chemistry(scrambled, classes, n_permutations=200)
    assert result["n_dominated"] == 0 and result["p_value"] == 1.0 and result["ami"] < 0.05


def test_unclassified_materials_are_left_out_and_no_clusters_give_nan():
    result = cluster_chemistry([-1, -1, 0, 0], ["oxide", "halide", "oxide", "oxide"], n_permutations=10)
    assert result["table"].to_dict("records") == [{"cluster": 0, "size": 2, "dominant": "oxide",
                                                   "share": 1.0}]
    empty = cluster_chemistry([-1, -1], ["oxide", "halide"])
    assert empty["n_clusters"] == 0 and np.isnan(empty["p_value"])
    with pytest.raises(ValueError, match="differ in length"):
        cluster_chemistry([0, 1], ["oxide"])

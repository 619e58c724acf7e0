"""elfutils.book.structure_match: StructureMatcher verdicts on 2D layers, and a table's formula labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from elfutils.book import structure_match as sm


def record(species, frac, a=4.0, b=None, c=20.0, gamma=90.0, formula=None):
    """A structures.jsonl-like record of one layer in the xy plane."""
    b = a if b is None else b
    g = np.radians(gamma)
    return {"lattice": [[a, 0.0, 0.0], [b * np.cos(g), b * np.sin(g), 0.0], [0.0, 0.0, c]],
            "species": list(species), "frac_coords": [list(f) for f in frac],
            "formula_pretty": formula or "".join(species), "spacegroup": "P1"}


SQUARE = record(["Na", "Cl"], [[0, 0, 0.5], [0.5, 0.5, 0.5]], formula="NaCl")
RECORDS = {
    "m-square": SQUARE,
    # the same layer: atoms moved a little, in a taller cell that also straddles the cell boundary along c
    "m-moved": record(["Na", "Cl"], [[0.01, 0.0, 0.99], [0.5, 0.5, 0.01]], c=26.0, formula="NaCl"),
    "m-sheared": record(["Na", "Cl"], [[0, 0, 0.5], [0.5, 0.5, 0.5]], gamma=82.0, formula="NaCl"),
    "m-honeycomb": record(["Na", "Cl"], [[1 / 3, 2 / 3, 0.5], [2 / 3, 1 / 3, 0.5]], a=3.5, gamma=120.0,
                          formula="NaCl"),
    "m-dichloride": record(["Na", "Cl", "Cl"], [[0, 0, 0.5], [0.5, 0.5, 0.45], [0.5, 0.5, 0.55]],
                           formula="NaCl2"),
}


def test_layer_structure_has_the_same_vacuum_whatever_the_cell_height():
    flat = sm.layer_structure(RECORDS["m-square"])
    tall = sm.layer_structure(RECORDS["m-moved"])
    for s in (flat, tall):
        z = s.cart_coords[:, 2]
        assert z.min() == pytest.approx(sm.LAYER_VACUUM_A)
        assert s.lattice.c == pytest.approx(z.max() - z.min() + 2 * sm.LAYER_VACUUM_A)
    assert len(flat) == 2 and flat.composition.reduced_formula == "NaCl"


@pytest.mark.parametrize("other, verdict, default, loose", [
    ("m-moved", "same structure", True, True),
    ("m-sheared", "close polymorph", False, True),  # 8° of shear: only the loose angle tolerance allows it
    ("m-honeycomb", "polymorph", False, False),
    ("m-dichloride", "different formula", False, False),
])
def test_compare_layers_names_each_kind_of_pair(other, verdict, default, loose):
    got = sm.compare_layers(sm.layer_structure(SQUARE), sm.layer_structure(RECORDS[other]))
    assert got["verdict"] == verdict
    assert (got["same_default"], got["same_loose"]) == (default, loose)
    assert got["verdict"] in sm.VERDICTS


def test_match_pairs_compares_a_pair_listed_twice_once(monkeypatch):
    calls = []
    real = sm.compare_layers
    monkeypatch.setattr(sm, "compare_layers", lambda a, b: calls.append(1) or real(a, b))
    pairs = pd.DataFrame({"material_id_a": ["m-square", "m-moved"], "material_id_b": ["m-moved", "m-square"]})
    got = sm.match_pairs(pairs, RECORDS)
    assert got.verdict.tolist() == ["same structure", "same structure"] and len(calls) == 1


def test_match_pairs_keeps_the_order_and_reports_missing_structures():
    pairs = pd.DataFrame({"material_id_a": ["m-square", "m-square", "m-square"],
                          "material_id_b": ["m-honeycomb", "m-gone", "m-moved"]})
    got = sm.match_pairs(pairs, RECORDS)
    assert got.verdict.tolist() == ["polymorph", "no structure", "same structure"]
    assert sm.verdict_tally(got.verdict) == "1 same structure, 1 polymorph, 1 no structure"
    assert sm.verdict_tally([]) == "none"
    assert got.loc[0, ["formula_a", "formula_b", "sites_a", "sites_b"]].tolist() == ["NaCl", "NaCl", 2, 2]
    assert list(got.columns) == ["material_id_a", "material_id_b", "formula_a", "formula_b", "spacegroup_a",
                                 "spacegroup_b", "sites_a", "sites_b", "same_formula", "same_default",
                                 "same_loose", "verdict"]


def test_label_check_flags_labels_the_data_contradicts():
    labels = {"ClNa": ("m-square", "m-moved"),  # the same formula in another order: right
              "NaBr": ("m-square", "m-honeycomb"),  # neither is NaBr
              "NaCl": ("m-square", "m-dichloride")}  # two formulas
    check = sm.label_check(labels, RECORDS)
    assert check.label_matches.tolist() == [True, False, False]
    assert check.loc["NaCl", "data_label"] == "NaCl / NaCl2"
    assert sm.mislabelled(check) == ("NaBr is NaCl (m-square, m-honeycomb); "
                                     "NaCl is NaCl / NaCl2 (m-square, m-dichloride)")
    assert sm.mislabelled(check[check.label_matches]) == ""


def test_the_papers_table1_labels_against_2dmatpedia():
    """Two of the paper's Table 1 labels disagree with 2Dmatpedia: 2dm-4881 is BiBr3, the "Te2Se" pair
    Tl2Se."""
    from elfutils.constants import PAPER_TABLE1_DUPLICATES

    check = sm.label_check(PAPER_TABLE1_DUPLICATES)
    assert sorted(check.index[~check.label_matches]) == ["AsBr3", "Te2Se"]
    assert check.loc["AsBr3", "formula_b"] == "BiBr3" and check.loc["Te2Se", "data_label"] == "Tl2Se"


def test_same_formula_ids_finds_every_entry_of_a_formula_whatever_its_order():
    assert sm.same_formula_ids("ClNa", RECORDS) == ["m-square", "m-moved", "m-sheared", "m-honeycomb"]
    assert sm.same_formula_ids("NaCl2", RECORDS) == ["m-dichloride"]
    assert sm.same_formula_ids("KBr", RECORDS) == []

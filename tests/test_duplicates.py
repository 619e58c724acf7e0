"""Candidate duplicate pairs (Table 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from elfutils.analysis.duplicates import (
    DUPLICATE_MAD_K,
    find_duplicates,
    nearest_neighbour_distances,
    reduced_formula,
    threshold_from_nn,
)
from elfutils.analysis.fingerprints import make_table, write_fingerprints

FORMULAS = ["MoS2", "WSe2", "CrI3", "BN", "GaS", "InSe", "PtSe2", "SnS", "GeTe", "TiS2", "NbSe2", "ReS2"]


@pytest.fixture(scope="module")
def planted():
    """60 distinct materials plus planted pairs.

    * ZnSe 2dm-2113/2dm-2321 (paper Table 1) and two other same-formula near copies: duplicates.
    * In2S 2dm-1845/2dm-1986 (paper Table 1) present but far apart: not a duplicate.
    * A near copy with a different formula: not a duplicate.
    """
    rng = np.random.default_rng(7)
    n = 60
    X = rng.uniform(0, 1, size=(n, 98))
    ids = [f"2dm-{9000 + i}" for i in range(n)]
    formulas = [FORMULAS[i % len(FORMULAS)] for i in range(n)]  # many same-formula, distinct pairs
    extra = [
        ("2dm-2113", "ZnSe", X[0] * 0 + 0.3),
        ("2dm-2321", "Zn2Se2", 0.3 + rng.normal(scale=1e-3, size=98)),  # same reduced formula
        ("2dm-1845", "In2S", rng.uniform(0, 1, 98)),
        ("2dm-1986", "In2S", rng.uniform(0, 1, 98)),
        ("2dm-7001", FORMULAS[1], X[1] + rng.normal(scale=1e-3, size=98)),  # copy of row 1, same formula
        ("2dm-7002", FORMULAS[2], X[2] + rng.normal(scale=2e-3, size=98)),  # copy of row 2, same formula
        ("2dm-7003", "Bi2Te3", X[3] + rng.normal(scale=1e-3, size=98)),  # copy of row 3, other formula
    ]
    ids += [e[0] for e in extra]
    formulas += [e[1] for e in extra]
    X = np.vstack([X] + [e[2] for e in extra])
    return make_table(ids, formulas, X)


def test_reduced_formula_normalises():
    assert reduced_formula("I3N") == reduced_formula("NI3")
    assert reduced_formula("Zn2Se2") == "ZnSe"


def test_planted_duplicates_recovered(planted):
    result = find_duplicates(planted)
    cands = result.candidates
    found = {frozenset(p) for p in zip(cands["material_id_a"], cands["material_id_b"], strict=True)}
    assert found == {
        frozenset({"2dm-2113", "2dm-2321"}),
        frozenset({"2dm-9001", "2dm-7001"}),
        frozenset({"2dm-9002", "2dm-7002"}),
    }
    assert result.candidates["distance"].is_monotonic_increasing
    assert result.candidates["rank"].tolist() == [1, 2, 3]
    assert result.candidate_entries == 6  # three disjoint pairs: six materials, the paper's "entries"
    assert "MAD" in result.threshold_rule


def test_distances_read_in_units_of_the_median_nearest_neighbour_distance(planted):
    from elfutils.analysis.cluster import minkowski_distances
    from elfutils.analysis.duplicates import NN_UNIT_COLUMN
    from elfutils.analysis.fingerprints import fingerprint_matrix

    result = find_duplicates(planted)
    nn = nearest_neighbour_distances(minkowski_distances(fingerprint_matrix(planted)))
    assert result.median_nn == pytest.approx(float(np.median(nn)))
    assert result.in_nn_units(result.median_nn) == pytest.approx(1.0)
    shown = result.readable(result.candidates)
    assert "distance" not in shown and NN_UNIT_COLUMN in shown
    assert shown[NN_UNIT_COLUMN].to_numpy() == pytest.approx(
        (result.candidates.distance / result.median_nn).round(3).to_numpy())
    assert result.threshold / result.median_nn < 1  # a duplicate is closer than a typical nearest neighbour


def test_no_pair_across_formulas(planted):
    result = find_duplicates(planted, threshold=np.inf)  # every same-formula pair
    a = result.candidates["material_id_a"].tolist() + result.candidates["material_id_b"].tolist()
    assert "2dm-7003" not in a  # its near copy 2dm-9003 has another formula
    reduced = result.candidates["formula_a"].map(reduced_formula)
    assert (reduced == result.candidates["formula_b"].map(reduced_formula)).all()


def test_table1_flags(planted):
    table1 = find_duplicates(planted).table1.set_index("formula")
    assert len(table1) == 8
    assert table1.loc["ZnSe", "present"] and table1.loc["ZnSe", "found"]
    assert table1.loc["In2S", "present"] and not table1.loc["In2S", "found"]
    assert table1.loc["In2S", "distance"] > 0
    absent = table1.drop(index=["ZnSe", "In2S"])
    assert not absent["present"].any() and not absent["found"].any() and absent["distance"].isna().all()
    cands = find_duplicates(planted).candidates
    assert cands.loc[cands["formula"] == "ZnSe", "in_paper_table1"].all()


def test_explicit_threshold(planted):
    assert len(find_duplicates(planted, threshold=0.0).candidates) == 0
    with pytest.raises(ValueError, match="threshold must be >= 0"):
        find_duplicates(planted, threshold=-1.0)


def test_cli_duplicates(tmp_path, planted, capsys):
    from elfutils.cli import main

    src = write_fingerprints(planted, tmp_path / "fp.parquet")
    out, t1 = tmp_path / "dups.csv", tmp_path / "table1.csv"
    assert main(["duplicates", str(src), "--out", str(out), "--table1-out", str(t1)]) == 0
    assert len(pd.read_csv(out)) == 3
    assert pd.read_csv(t1)["found"].sum() == 1
    assert "paper Table 1: 2 of 8 pairs in the data, 1 found" in capsys.readouterr().out


def test_percentile_rule_and_bad_method(planted):
    result = find_duplicates(planted, method="percentile", percentile=50)
    assert "50th percentile" in result.threshold_rule and len(result.candidates) >= 3
    with pytest.raises(ValueError, match="method must be 'mad' or 'percentile'"):
        find_duplicates(planted, method="gap")


@pytest.fixture
def mad_pairs():
    """Ten pairs of materials, each pair the other's nearest neighbour at a chosen distance (everything else
    100 apart): log nearest-neighbour distances -6 (CdTe, same formula), -3.7 (ZnS, same formula) and eight
    background pairs of different formulas at -1, -1, 0, 0, 0, 0, 1, 1. Median 0, MAD 1, so the default
    threshold exp(-3 * 1.4826) = 0.0117 keeps CdTe and not ZnS (0.0247); 2 MADs (0.0516) would keep both."""
    logs = [-6.0, -3.7, -1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    background = [(f"H{2 * i + 1}Cl", f"H{2 * i + 2}Cl") for i in range(8)]  # 16 distinct formulas
    formulas = [("CdTe", "CdTe"), ("ZnS", "Zn2S2"), *background]
    n = 2 * len(logs)
    D = np.full((n, n), 100.0)
    np.fill_diagonal(D, 0.0)
    for i, log in enumerate(logs):
        D[2 * i, 2 * i + 1] = D[2 * i + 1, 2 * i] = np.exp(log)
    ids = [f"2dm-{8000 + i}" for i in range(n)]
    table = make_table(ids, [f for pair in formulas for f in pair], np.zeros((n, 98)))
    return table, D


def test_the_duplicate_threshold_is_three_mads_below_the_median(mad_pairs):
    table, D = mad_pairs
    assert DUPLICATE_MAD_K == 3.0  # ours (module docstring), pinned: the book's duplicate counts rest on it
    threshold, rule = threshold_from_nn(nearest_neighbour_distances(D))
    assert threshold == pytest.approx(np.exp(-3 * 1.4826)) and "median - 3 MAD" in rule
    assert np.exp(-3 * 1.4826) < np.exp(-3.7) < np.exp(-2 * 1.4826)  # ZnS: inside 2 MADs, outside 3
    result = find_duplicates(table, distances=D)
    assert result.threshold == pytest.approx(np.exp(-3 * 1.4826))
    pairs = {frozenset(p) for p in zip(result.candidates["material_id_a"], result.candidates["material_id_b"],
                                       strict=True)}
    assert pairs == {frozenset({"2dm-8000", "2dm-8001"})}, "only CdTe is a duplicate at 3 MADs"
    assert len(find_duplicates(table, distances=D, k=2.0).candidates) == 2  # the rule is what decides ZnS

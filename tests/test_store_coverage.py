"""elfutils.dft.store_coverage: what several band stores hold together, and named materials' gaps."""

from __future__ import annotations

import dataclasses
import json
import math

import pandas as pd
import pytest

from elfutils.data.dataset import structure_records
from elfutils.data.readers import read_band_file
from elfutils.data.store import BandStore
from elfutils.dft import store_coverage


def store_of(path, files, gap):
    store = BandStore(path)
    store.append([dataclasses.replace(read_band_file(f), metadata={"band_gap": gap, "wall_time_s": 1.0})
                  for f in files])
    return store


def write_failures(store, records):
    store.path.mkdir(parents=True, exist_ok=True)
    (store.path / "failures.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture
def two_stores(tmp_path, fixture_files):
    files = [p for p in fixture_files if p.stem in structure_records()][:6]  # pending needs a structure
    ids = [p.stem for p in files]
    first = store_of(tmp_path / "first.elfstore", files[:2], gap=1.5)
    second = store_of(tmp_path / "second.elfstore", files[1:3], gap=0.0)  # ids[1] in both
    write_failures(second, [
        {"material_id": ids[3], "attempt": 1, "final": False, "reason": "time limit of 10 s exceeded"},
        {"material_id": ids[3], "attempt": 2, "final": True, "reason": "KohnShamConvergenceError: no"},
        {"material_id": ids[4], "attempt": 1, "final": False, "reason": "KohnShamConvergenceError: slow"},
    ])
    return ids, first, second


def test_coverage_counts_each_material_once_in_the_first_store_that_holds_it(two_stores):
    ids, first, second = two_stores
    got = store_coverage.coverage_across_stores([first.path, second.path], ids)
    assert got["n_target"] == 6
    assert got["by_store"].added.tolist() == [2, 1]  # ids[1] counts for the first store only
    assert got["by_store"].store.tolist() == ["first.elfstore", "second.elfstore"]
    assert (got["n_computed"], got["n_failed"]) == (3, 1)
    pending = got["pending"].set_index("material_id")
    assert sorted(pending.index) == sorted(ids[4:6])
    # the first attempt's failure is recorded in the second store only, and still found
    assert pending.loc[ids[4], "first_attempt"].startswith("KohnShamConvergenceError")
    assert pending.loc[ids[5], "first_attempt"] == ""
    records = structure_records()
    assert got["added_natoms"] == {"second.elfstore": [len(records[ids[2]]["species"])]}


def test_coverage_of_a_store_that_does_not_exist_yet(two_stores, tmp_path):
    ids, first, _ = two_stores
    got = store_coverage.coverage_across_stores([first.path, tmp_path / "none.elfstore"], ids[:3])
    assert got["by_store"].added.tolist() == [2, 0]
    assert got["n_computed"] == 2 and got["pending"].material_id.tolist() == [ids[2]]


def test_material_gaps_takes_ours_from_the_first_store_and_2dmatpedias_from_the_structures(two_stores):
    ids, first, second = two_stores
    got = store_coverage.material_gaps([ids[1], ids[2], ids[5]], [first.path, second.path])
    assert got.index.tolist() == [ids[1], ids[2], ids[5]]
    assert got.loc[ids[1], "gap_ours"] == 1.5 and got.loc[ids[2], "gap_ours"] == 0.0
    assert math.isnan(got.loc[ids[5], "gap_ours"]) and got.loc[ids[5], "metal_ours"] is None
    assert got.loc[ids[1], "metal_ours"] is False and got.loc[ids[2], "metal_ours"] is True
    records = structure_records()
    for mid in got.index:
        assert got.loc[mid, "gap_2dmatpedia"] == pytest.approx(records[mid]["bandgap"])
        assert got.loc[mid, "formula"] == records[mid]["formula_pretty"]
    assert isinstance(got, pd.DataFrame)


def test_the_square_octagon_inas_is_metallic_in_both_codes():
    """The data behind the Fig. 4 chapter's InAs sentence: 2dm-2474 has no gap in 2Dmatpedia or in ours."""
    got = store_coverage.material_gaps(["2dm-2474"])
    assert got.loc["2dm-2474", "formula"] == "InAs" and got.loc["2dm-2474", "spacegroup"] == "P4/mbm"
    assert got.loc["2dm-2474", "metal_2dmatpedia"] is True and got.loc["2dm-2474", "metal_ours"] is True

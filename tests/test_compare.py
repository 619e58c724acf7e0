"""elfutils.dft.compare: image agreement, gap comparison and the dataset card."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from elfutils.data.readers import read_band_file
from elfutils.data.store import BandStore
from elfutils.dft import compare


def band(row: int, size: int = 32) -> np.ndarray:
    img = np.zeros((size, size), np.uint8)
    img[row, :] = 1
    return img


# --- image agreement ----------------------------------------------------------------------------------------
def test_identical_images_agree_fully():
    a = band(10)
    out = compare.image_agreement(a, a.copy())
    assert out["iou"] == 1.0 and out["within_tolerance_fraction"] == 1.0
    assert out["a_within_b"] == out["b_within_a"] == 1.0


@pytest.mark.parametrize("shift, within", [(1, 1.0), (2, 1.0), (3, 0.0), (10, 0.0)])
def test_shifted_band_iou_zero_tolerance_by_distance(shift, within):
    out = compare.image_agreement(band(10), band(10 + shift), tolerance_px=2)
    assert out["iou"] == 0.0
    assert out["within_tolerance_fraction"] == within


def test_partial_overlap_is_counted_per_pixel():
    a = band(5)
    b = band(5)
    b[20, :] = 1  # a second band only in b, far away
    out = compare.image_agreement(a, b)
    assert out["iou"] == pytest.approx(0.5)
    assert out["a_within_b"] == 1.0 and out["b_within_a"] == pytest.approx(0.5)
    assert out["within_tolerance_fraction"] == pytest.approx((32 + 32) / (32 + 64))


def test_diagonal_distance_is_euclidean():
    a, b = np.zeros((9, 9)), np.zeros((9, 9))
    a[4, 4], b[6, 6] = 1, 1  # 2*sqrt(2) = 2.83 px apart
    assert compare.image_agreement(a, b, tolerance_px=2)["within_tolerance_fraction"] == 0.0
    assert compare.image_agreement(a, b, tolerance_px=3)["within_tolerance_fraction"] == 1.0


def test_empty_images():
    empty = np.zeros((8, 8))
    assert compare.image_agreement(empty, empty)["iou"] == 1.0
    out = compare.image_agreement(band(3, 8), empty)
    assert out["iou"] == 0.0 and out["within_tolerance_fraction"] == 0.0 and np.isnan(out["b_within_a"])


@pytest.mark.parametrize("a, b, tol, message", [
    (np.zeros((4, 4)), np.zeros((4, 5)), 2, "same shape"),
    (np.zeros(4), np.zeros(4), 2, "2-D"),
    (np.zeros((4, 4)), np.zeros((4, 4)), -1, "tolerance_px"),
])
def test_image_agreement_rejects_bad_input(a, b, tol, message):
    with pytest.raises(ValueError, match=message):
        compare.image_agreement(a, b, tolerance_px=tol)


def test_overlay_colours():
    a, b = band(1, 4), band(1, 4)
    a[3, 0], b[2, 0] = 1, 1
    rgb = compare.overlay(a, b)
    assert rgb.shape == (4, 4, 3)
    assert (rgb[1, 0] == 0).all() and rgb[3, 0, 0] > rgb[3, 0, 2] and rgb[2, 0, 2] > rgb[2, 0, 0]
    assert (rgb[0, 0] == 1).all()


# --- gaps ---------------------------------------------------------------------------------------------------
def test_gap_comparison_and_summary():
    ours = {"a": 1.0, "b": 0.0, "c": 2.0, "d": 0.5, "e": float("nan"), "only-ours": 3.0}
    ref = {"a": 1.2, "b": 0.0, "c": 3.0, "d": 0.0, "e": 1.0}
    df = compare.gap_comparison(ours, ref)
    assert list(df.material_id) == ["a", "b", "c", "d"]
    differences = df.set_index("material_id").difference.round(6).to_dict()
    assert differences == {"a": -0.2, "b": 0.0, "c": -1.0, "d": 0.5}
    assert list(df.same_kind) == [True, True, True, False]
    s = compare.gap_summary(df, outlier_ev=0.5)
    assert s["n"] == 4 and s["n_both_metal"] == 1 and s["n_both_gapped"] == 2 and s["n_kind_differs"] == 1
    assert s["median_abs_difference_gapped"] == pytest.approx(0.6)
    assert s["kind_agreement"] == 0.75 and s["n_outliers"] == 1
    assert list(compare.gap_outliers(df, 0.4).material_id) == ["c", "d"]


def test_gap_comparison_of_nothing():
    df = compare.gap_comparison({}, {"a": 1.0})
    assert len(df) == 0 and compare.gap_summary(df)["n"] == 0


# --- the dataset card and the fixture comparison ------------------------------------------------------------
@pytest.fixture
def small_store(tmp_path, fixture_files):
    store = BandStore(tmp_path / "s.elfstore")
    records = []
    for i, path in enumerate(fixture_files[:3]):
        bs = read_band_file(path)
        meta = {"band_gap": bs.band_gap(), "wall_time_s": 10.0 * (i + 1), "spin_polarized_run": True,
                "spin_polarized": bs.is_spin_polarized, "gpaw_version": "x", "natoms": 3,
                "attempt": 1 + (i == 2)}
        records.append(dataclasses.replace(bs, metadata=meta))
    store.append(records)
    failures = [
        {"material_id": "2dm-99", "attempt": 1, "final": False, "reason": "KohnShamConvergenceError: no"},
        {"material_id": "2dm-99", "attempt": 2, "final": True, "reason": "KohnShamConvergenceError: no [x]"},
        {"material_id": fixture_files[0].stem, "attempt": 2, "final": True, "reason": "old failure"},
    ]
    (store.path / "failures.jsonl").write_text("".join(json.dumps(f) + "\n" for f in failures) + '{"torn')
    return store


def test_dataset_card(small_store, fixture_files):
    card = compare.dataset_card(small_store.path, n_target=10)
    assert (card["n_done"], card["n_failed"], card["n_pending"]) == (3, 1, 6)
    assert card["failures"].iloc[0].to_dict() | {"reason": ""} == {
        "material_id": "2dm-99", "formula": card["failures"].iloc[0].formula, "attempts": 2,
        "error": "KohnShamConvergenceError", "reason": ""}
    assert card["time_median_s"] == 20.0 and card["time_total_h"] == pytest.approx(60 / 3600)
    assert card["n_retried"] == 1 and card["n_spin_runs"] == 3 and card["gpaw_versions"] == ["x"]
    assert card["n_metals"] + card["n_gapped"] == 3
    assert card["elements"].sum() >= 3 and card["n_elements"] == len(card["elements"])


@pytest.mark.parametrize("reason, kind", [
    ("KohnShamConvergenceError:  [gpaw.KohnShamConvergenceError]", "KohnShamConvergenceError"),
    ("time limit of 1800 s exceeded", "time limit of 1800 s exceeded"),
    ("Dask worker died during the calculation (KilledWorker: ('run-2dm-5', <WorkerState>))",
     "Dask worker died during the calculation"),
    ("old failure", "old failure"),
    ("", "unknown"),
])
def test_error_kind_names_the_exception_or_the_batchs_sentence(reason, kind):
    assert compare.error_kind(reason) == kind


def test_failed_attempts_summary_says_what_became_of_each_failed_material(small_store, fixture_files):
    with open(small_store.path / "failures.jsonl", "a") as fh:  # after the fixture's torn last line
        fh.write("\n" + json.dumps({"material_id": "2dm-77", "attempt": 1, "final": False,
                                    "reason": "KohnShamConvergenceError: slow"}) + "\n")
    table = compare.failed_attempts_summary(small_store.path).set_index("error")
    # 2dm-99 failed twice; 2dm-77 waits for its retry; the stored fixture's old failure was overcome
    assert table.loc["KohnShamConvergenceError"].to_dict() == {
        "attempts": 3, "materials": 2, "stored": 0, "failed_twice": 1, "awaiting_retry": 1}
    assert table.loc["old failure"].to_dict() == {
        "attempts": 1, "materials": 1, "stored": 1, "failed_twice": 0, "awaiting_retry": 0}
    assert list(table.index) == ["KohnShamConvergenceError", "old failure"]  # most attempts first


def test_failed_attempts_summary_of_a_store_without_failures(tmp_path):
    assert compare.failed_attempts_summary(tmp_path / "none.elfstore").empty


def test_pending_table_lists_what_the_batch_has_not_reached_cheapest_first(small_store, fixture_files):
    from elfutils.data.dataset import structure_records
    from elfutils.dft.recipe import batch_cost

    records = structure_records()
    stored = [p.stem for p in fixture_files[:3]]
    others = [i for i in records if i not in stored and i != "2dm-99"][:4]
    table = compare.pending_table(small_store.path, [*stored, "2dm-99", "2dm-no-structure", *others])
    # not the stored, the failed, nor one without a structure
    assert sorted(table.material_id) == sorted(others)
    costs = [batch_cost(records[i]["species"]) for i in table.material_id]
    assert costs == sorted(costs)
    assert list(table.natoms) == [len(records[i]["species"]) for i in table.material_id]
    assert table.spin_run.dtype == bool and table.hubbard_u.dtype == bool
    assert (table.first_attempt == "").all()
    # a first attempt that failed before the batch stopped: still pending, with its reason
    with open(small_store.path / "failures.jsonl", "a") as fh:
        fh.write("\n" + json.dumps({"material_id": others[0], "attempt": 1, "final": False,
                                    "reason": "time limit of 1800 s exceeded"}) + "\n")
    again = compare.pending_table(small_store.path, others)
    assert list(again.material_id) == [*table.material_id[table.material_id != others[0]], others[0]]
    assert again.first_attempt.iloc[-1] == "time limit of 1800 s exceeded"


def test_dataset_card_of_an_empty_store(tmp_path):
    card = compare.dataset_card(tmp_path / "none.elfstore", n_target=5)
    assert card["n_done"] == 0 and card["n_pending"] == 5 and np.isnan(card["time_median_s"])


def test_fixture_comparison_against_itself(small_store, fixture_files):
    table, images = compare.fixture_comparison(small_store.path, fixture_files[:4], size=64)
    assert list(table.material_id) == [p.stem for p in fixture_files[:3]]  # the 4th is not in the store
    # the store keeps energies as float16 relative to E_F: the images agree up to a pixel
    assert (table.within_tolerance_fraction > 0.99).all() and (table.iou > 0.8).all()
    assert table.same_kind.all() and (table.gap_difference.abs() < 0.01).all()
    assert images[table.material_id[0]][0].shape == (64, 64)
    assert isinstance(table, pd.DataFrame)


@pytest.mark.parametrize("species, ours, ref, spin_run, spin_kept, expected", [
    (["Ni", "F", "F"], 1.5, 5.2, True, True, "Hubbard U"),  # NiF2: MP applies U to Ni in fluorides
    (["N", "F", "F", "F", "F"], 0.0, 1.4, False, False, "odd electron count"),  # NF4 radical
    (["Cu", "Cl"], 0.3, 1.4, True, False, "moment vanished"),
    (["Cr", "I", "I", "I"], 0.5, 1.2, True, True, "magnetic"),  # Cr not in an oxide/fluoride: no U
    (["Li", "Li", "O"], 3.4, 2.0, False, False, "ours larger"),
    (["Ga", "As"], 0.5, 1.8, False, False, "not explained"),
])
def test_likely_gap_cause(species, ours, ref, spin_run, spin_kept, expected):
    assert expected in compare.likely_gap_cause(species, ours, ref, spin_run, spin_kept)


def test_no_hubbard_reason_when_ours_has_the_same_u():
    cause = compare.likely_gap_cause(["Ni", "F", "F"], 5.8, 5.2, True, True, ours_has_u=True)
    assert "Hubbard" not in cause and "magnetic" in cause


def test_coverage_by_group_counts_each_material_once(small_store, tmp_path, fixture_files):
    ids = [p.stem for p in fixture_files[:3]]
    second = BandStore(tmp_path / "second.elfstore")
    second.append([dataclasses.replace(read_band_file(fixture_files[3]), metadata={"band_gap": 0.0,
                                                                                   "wall_time_s": 5.0})])
    groups = {ids[0]: "A", ids[1]: "A", ids[2]: "B", fixture_files[3].stem: "B", "2dm-99": "B", "2dm-98": "B"}
    table = compare.coverage_by_group([small_store.path, second.path], groups=groups).set_index("group")
    # 2dm-99 failed twice; ids[0]'s old failure is superseded by its stored record; 2dm-98 is pending
    assert table.loc["A", ["target", "computed", "failed", "pending"]].tolist() == [2, 2, 0, 0]
    assert table.loc["B", ["target", "computed", "failed", "pending"]].tolist() == [4, 2, 1, 1]
    assert table.loc["all", "computed"] == 4 and table.loc["all", "cpu_hours"] == pytest.approx(65 / 3600)
    assert table.loc["B", "time_median_s"] == pytest.approx(17.5)  # 30 s and 5 s

"""The elf-2 chapter reads the yardstick: a fingerprint wins a task only by more than the fold spread."""

import copy

import pytest

from elfutils.book import yardstick_results as ys


@pytest.fixture(scope="module")
def result():
    found = ys.yardstick()
    assert found is not None, "benchmarks/results/yardstick-atlas.json is committed"
    return found


def test_committed_yardstick_names_both_networks_and_the_rivals(result):
    paper, candidate = ys.candidates(result)
    assert paper.startswith("paper's network") and candidate.startswith("elf-2")
    rivals = ys.rivals(result)
    assert "pixels of ±1 eV (4x8 blocks)" in rivals and "random (98)" in rivals
    assert not any(name.startswith(("elf-2", "paper's", "gap read")) for name in rivals)


def test_a_lead_within_the_spread_is_a_tie_and_beyond_it_a_win(result):
    changed = copy.deepcopy(result)
    name = next(n for n, e in changed["representations"].items() if ys.ELF2_MARK in n)
    task = changed["representations"][name]["tasks"]["binary_flatness"]["spread"]
    best = max(e["tasks"]["binary_flatness"]["spread"]["mean"] for e in changed["representations"].values()
               if e.get("role") == "rival")
    candidate = ys.candidates(changed)[1]
    task["mean"], task["std"] = best + 0.001, 0.01
    assert ys.standing(changed, candidate).loc["flat-band AUC (binary_flatness)", "verdict"] == "tie"
    task["mean"] = best + 0.05
    assert ys.standing(changed, candidate).loc["flat-band AUC (binary_flatness)", "verdict"] == "ahead"
    task["mean"] = best - 0.05
    assert ys.standing(changed, candidate).loc["flat-band AUC (binary_flatness)", "verdict"] == "behind"


def test_display_table_shows_spreads_and_a_dash_where_no_file_can_be_searched(result):
    table = ys.display_table(result)
    assert table.loc["gap read from the image (ceiling)", ys.SHORT[ys.CROSS_CODE]] == "–"
    assert all("±" in v for v in table[ys.SHORT["band gap R²"]])
    assert set(table.index[:2]) == set(ys.candidates(result))
    assert table.index[-1] == "gap read from the image (ceiling)"
    assert not table.isna().any().any()


def test_ablation_sets_the_two_candidates_side_by_side(result):
    one_plane = copy.deepcopy(result)
    entries = one_plane["representations"]
    name = next(n for n in entries if ys.ELF2_MARK in n)
    entries[name.replace("elf2-run", "elf2-1plane")] = entries.pop(name)
    one = entries[name.replace("elf2-run", "elf2-1plane")]
    one["tasks"]["band gap"]["spread"]["mean"] -= 0.1
    assert ys.readable_name(name.replace("elf2-run", "elf2-1plane")).startswith("elf-2, ±4 eV plane alone")
    table = ys.ablation(result, one_plane)
    assert table.loc["band gap R²", "difference"] == pytest.approx(0.1)
    assert table.loc["flat-band AUC (binary_flatness)", "difference"] == pytest.approx(0.0)
    assert f"{ys.ROBUSTNESS[0]}: finds itself first" in table.index

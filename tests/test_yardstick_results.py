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


def test_ablation_steps_are_read_in_order_and_each_change_is_against_the_step_before(result):
    first = copy.deepcopy(result)
    entries = first["representations"]
    name = next(n for n in entries if ys.ELF2_MARK in n)
    entries[".cache/elf2-run/export/best.safetensors, p = 0.2"] = entries.pop(name)
    entries[".cache/elf2-run/export/best.safetensors, p = 0.2"]["tasks"]["band gap"]["spread"]["mean"] -= 0.1
    steps = [(ys.ABLATION[1], first), (ys.ABLATION[2], result)]
    assert ys.readable_name(".cache/elf2-1plane/export/best.safetensors, p = 0.2").startswith(
        "elf-2, first recipe, ±4 eV plane alone")
    table = ys.ablation(steps)
    assert table.loc["band gap R²", "elf-2: change"] == pytest.approx(0.1)
    assert table.loc["flat-band AUC (binary_flatness)", "elf-2: change"] == pytest.approx(0.0)
    assert f"{ys.ROBUSTNESS[0]}: finds itself first" in table.index
    assert [s.label for s, _ in ys.ablation_runs()] == [s.label for s in ys.ABLATION]  # all committed


def test_the_standing_sentence_opens_on_a_miss_and_goals_are_judged_each_way(result):
    paper, candidate = ys.candidates(result)
    changed = copy.deepcopy(result)
    name = next(n for n in changed["representations"] if ys.ELF2_MARK in n)
    task = changed["representations"][name]["tasks"]["binary_flatness"]["spread"]
    task["mean"], task["std"] = 0.2, 0.001
    sentence = ys.standing_sentence(changed, candidate, paper)
    assert sentence.startswith(f"{ys.short_name(candidate)} does not beat every simple alternative")
    assert ys.short_name(candidate) == "elf-2"
    assert "flat-band AUC (binary_flatness)" in sentence.split(";")[0]
    goals = ys.goal_table(changed, candidate)
    assert not goals.loc["flat-band AUC (binary_flatness)", "met"]
    task["mean"] = 0.99
    assert ys.goal_table(changed, candidate).loc["flat-band AUC (binary_flatness)", "met"]
    code = changed["representations"][name]["cross_code"]
    code["median_twin_percentile"] = 49.0
    assert ys.goal_table(changed, candidate).loc[ys.TWIN_PERCENTILE, "met"]
    code["median_twin_percentile"] = 51.0
    assert not ys.goal_table(changed, candidate).loc[ys.TWIN_PERCENTILE, "met"]

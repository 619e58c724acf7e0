"""Our own analysis choices are written once (elfutils.choices) and every module reads the same value."""

import dataclasses

import pytest

from elfutils import constants
from elfutils.analysis import cluster_statistics, evaluation
from elfutils.choices import CHOICES, AnalysisChoices
from elfutils.data import energy_zero
from elfutils.dft import compare


def test_the_data_chapter_and_the_figures_count_the_same_metals():
    assert energy_zero.METAL_GAP_EV == compare.METAL_GAP_EV == cluster_statistics.METAL_GAP_EV
    assert cluster_statistics.METAL_GAP_EV == CHOICES.metal_gap_ev


def test_module_names_alias_the_one_record():
    assert (constants.SEED, constants.N_PERMUTATIONS) == (CHOICES.seed, CHOICES.n_permutations)
    assert (evaluation.KNN_K, evaluation.N_FOLDS) == (CHOICES.knn_k, CHOICES.n_folds)
    assert energy_zero.GAP_ZERO_OFFSET_EV == CHOICES.gap_zero_offset_ev
    assert cluster_statistics.FLAT_BAND_WINDOW_EV == CHOICES.flat_band_window_ev


def test_choices_are_frozen_and_checked():
    with pytest.raises(dataclasses.FrozenInstanceError):
        CHOICES.seed = 1
    energies = r"^energies must be positive: "
    counts = r"^n_permutations and knn_k must be >= 1, n_folds >= 2: "
    for bad, message in (({"metal_gap_ev": -0.1}, energies), ({"n_folds": 1}, counts),
                         ({"flat_band_window_ev": 0.0}, energies), ({"knn_k": 0}, counts)):
        with pytest.raises(ValueError, match=message):
            AnalysisChoices(**bad)

"""Our committed GPAW band structures against real DFT references (numbers measured, thresholds held).

Measured on the 12 fixture materials (band files' own structures and k-points, `make data`), 2026-11-25:
metal/insulator agreement 11/12 (the miss: SiBr4, a 0.21 eV-gap insulator in VASP that comes out metallic,
as in the DFT recipe's own check), median |gap difference| 0.07 eV, median fraction of line pixels within 2 px
of the VASP image 0.65 (plain IoU of thin lines 0.17). The thresholds leave a margin for recomputation noise
but fail if the energy zero, the k-path or the band alignment regress (any of those drops the 2-px fraction
below 0.3 for several materials or flips several metal/insulator verdicts).

Since the Materials Project's Hubbard U is applied to oxides and fluorides (elfutils.dft.recipe.MP_HUBBARD_U,
as
2Dmatpedia's gaps show: NiF2 5.18 eV there, 1.53 eV in plain PBE, 5.81 eV with U), MoF2 (2dm-15) has a gap of
3.25 eV against VASP's 2.65 eV (1.22 eV without U) but its U-shifted Mo d bands sit lower in the window than
VASP's: 0.10 of its line pixels lie within 2 px (0.36 without U). It is the one material allowed below 0.3.
"""

import pytest

from elfutils.data.dataset import data_dir, dft_store_path, real_band_files
from elfutils.data.store import BandStore
from elfutils.dft.compare import fixture_comparison, gap_comparison, reference_gaps

FIXTURE_STORE = data_dir() / "bands/gpaw-pbe-fixtures.elfstore"


@pytest.fixture(scope="module")
def fixture_table():
    table, _ = fixture_comparison(FIXTURE_STORE, real_band_files())
    return table


def test_all_twelve_fixture_materials_computed(fixture_table):
    assert len(fixture_table) == 12


def test_metal_insulator_agreement(fixture_table):
    assert fixture_table["same_kind"].sum() >= 11


def test_gap_difference(fixture_table):
    assert fixture_table["gap_difference"].abs().median() <= 0.15


def test_image_agreement_within_2px(fixture_table):
    assert fixture_table["within_tolerance_fraction"].median() >= 0.55
    assert (fixture_table["within_tolerance_fraction"] < 0.3).sum() <= 1
    assert fixture_table["within_tolerance_fraction"].min() >= 0.05


def test_dataset_gaps_follow_2dmatpedia():
    """Over every computed flat-band material: our gap vs 2Dmatpedia's PBE gap (structures.jsonl)."""
    store = BandStore(dft_store_path())
    if len(store) < 100:
        pytest.fail(f"the committed dataset holds only {len(store)} materials")
    ours = {m["material_id"]: float(m["band_gap"]) for m in store.metadata()}
    table = gap_comparison(ours, reference_gaps())
    assert len(table) == len(store)
    assert table["abs_difference"].median() <= 0.3
    assert table["same_kind"].mean() >= 0.85

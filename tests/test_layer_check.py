"""elfutils.dft.layer_check on real structures.jsonl cells, and the data chapter's conventions helpers."""

import numpy as np
import pytest

from elfutils.data.dataset import structure_records
from elfutils.dft import compare
from elfutils.dft.layer_check import bonded_neighbours, computed_slab, layer_table


@pytest.fixture(scope="module")
def table():
    records = structure_records()
    ids = ["2dm-4991", "2dm-22", "2dm-2089", "2dm-2933"]  # h-BN, Li2O, CF4 molecules, GaAs pairs
    return layer_table({m: records[m] for m in ids}).set_index("material_id")


def test_layers_are_told_from_molecules_and_pairs(table):
    assert table.loc["2dm-4991", "dimensionality"] == "2D" and table.loc["2dm-4991", "is_layer"]
    assert table.loc["2dm-4991", "max_bonded"] == 3  # each B and N in h-BN has three neighbours
    assert table.loc["2dm-22", "is_layer"]
    assert table.loc["2dm-2089", "dimensionality"] == "0D" and not table.loc["2dm-2089", "is_layer"]
    # GaAs 2dm-2933: each atom bonded to one other, pairs far apart (ASE's analysis cannot classify the cell)
    assert table.loc["2dm-2933", "max_bonded"] == 1 and not table.loc["2dm-2933", "is_layer"]
    assert table.loc["2dm-2933", "natoms"] == 8


def test_rows_computed_before_are_reused_only_for_an_unchanged_record(table, tmp_path):
    import json

    from elfutils.dft.layer_check import read_known, record_key

    records = structure_records()
    h_bn, cf4 = dict(records["2dm-4991"]), dict(records["2dm-2089"])
    # a committed file whose h-BN row says "reused" (its record unchanged) and whose CF4 row has a stale key
    rows = [{**table.loc["2dm-4991"].to_dict(), "material_id": "2dm-4991", "dimensionality": "reused"},
            {**table.loc["2dm-2089"].to_dict(), "material_id": "2dm-2089", "dimensionality": "stale",
             "record_key": "0" * 16}]
    (tmp_path / "known.json").write_text(json.dumps({"rows": rows}, default=str))
    known = read_known(tmp_path / "known.json")
    assert known["2dm-4991"]["record_key"] == record_key(h_bn)
    again = layer_table({"2dm-4991": h_bn, "2dm-2089": cf4}, known).set_index("material_id")
    assert again.loc["2dm-4991", "dimensionality"] == "reused"
    assert again.loc["2dm-2089", "dimensionality"] == "0D"  # recomputed
    h_bn["lattice"] = "changed"  # another record: its row is not the committed one
    assert record_key(h_bn) != known["2dm-4991"]["record_key"]
    assert read_known(tmp_path / "missing.json") == {}


def test_bonded_neighbours_of_a_lone_pair_in_a_large_cell():
    from ase import Atoms

    pair = Atoms("GaAs", positions=[[5, 5, 5], [5, 5, 7.4]], cell=[20, 20, 20], pbc=True)
    assert bonded_neighbours(pair).tolist() == [1, 1]
    pair.positions[1] = [5, 5, 12]  # 7 Å apart: no bond
    assert bonded_neighbours(pair).tolist() == [0, 0]


def test_the_slab_is_the_one_dft_runs_on():
    atoms = computed_slab(structure_records()["2dm-4991"])
    assert all(atoms.pbc) and len(atoms) == 2
    assert atoms.cell[2, 2] > 2 * 5  # the vacuum on both sides


def test_half_agreement_scores_the_two_halves_apart():
    ours = np.zeros((8, 8), np.uint8)
    ours[1, :] = ours[6, :] = 1
    assert compare.half_agreement(ours, ours, "conduction")["within_tolerance_fraction"] == 1.0
    far = ours.copy()
    far[1, :] = 0
    far[3, :] = 1  # the conduction line two rows lower: still within 2 px
    assert compare.half_agreement(ours, far, "conduction")["within_tolerance_fraction"] == 1.0
    gone = ours.copy()
    gone[1, :] = 0  # the conduction line missing altogether
    assert compare.half_agreement(ours, gone, "conduction")["within_tolerance_fraction"] == 0.0
    assert compare.half_agreement(ours, gone, "valence")["within_tolerance_fraction"] == 1.0
    with pytest.raises(ValueError, match="half"):
        compare.half_agreement(ours, ours, "upper")


def test_formulas_with_spin_orbit_elements():
    mask = compare.with_any_element(["Bi2Se3", "MoS2", "InSe", "HgTe", "In"], compare.SPIN_ORBIT_ELEMENTS)
    assert mask.tolist() == [True, False, True, True, True]
    assert not compare.with_any_element(["I2"], {"In"}).any()  # I is not In


def _rerun(basis, start, gap, energy, spin_kept, moment):
    return {"basis": basis, "start_moments_mub": start, "gap_ev": gap, "scf_energy_ev": energy,
            "spin_polarized": spin_kept, "total_magnetic_moment": moment}


def test_spin_states_calls_the_lower_energy_state_the_ground_state():
    import pandas as pd

    reruns = pd.DataFrame([
        _rerun("szp(dzp)", {}, 2.6, -10.0, False, 0.0),
        _rerun("szp(dzp)", {"Ga": 1.0}, 0.0, -10.5, True, 8.0),     # magnetic and lower: the ground state
        _rerun("dzp", {}, 2.6, -11.0, False, 0.0),
        _rerun("dzp", {"Ga": 1.0}, 2.6, -11.0, False, 0.0),         # moments vanished, same energy
    ])
    states = compare.spin_states(reruns).set_index("basis")
    assert states.loc["szp(dzp)", "ground"] == "spin-polarised"
    assert states.loc["szp(dzp)", "energy_gain_ev"] == pytest.approx(0.5)
    assert states.loc["szp(dzp)", "moment_polarised"] == 8.0
    assert states.loc["dzp", "ground"] == "either" and states.loc["dzp", "moment_polarised"] == 0.0
    higher = reruns.assign(scf_energy_ev=[-10.0, -9.0, -11.0, -11.0])
    assert compare.spin_states(higher).set_index("basis").loc["szp(dzp)", "ground"] == "spin-paired"

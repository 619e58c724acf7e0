"""Real GPAW calculations on tiny cells (seconds each) and the resumable batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, replace

import numpy as np
import pytest
from conftest import TINY_CELLS

from elfutils.data.dataset import structure_records
from elfutils.data.energy_zero import GAP_ZERO_OFFSET_EV, energy_zero
from elfutils.data.store import BandStore
from elfutils.dft.batch import (
    Job,
    _append_failure,
    final_failures,
    pending_retries,
    read_failures,
    run_dft_batch,
)
from elfutils.dft.recipe import DFTSettings, slab_atoms, structure_from_record

# the tests that need the dft extra (GPAW, ASE, Dask distributed: `make gpaw`) carry the dft marker;
# the rest (numpy and elfutils only) run in `make test-fast` too
TINY = list(TINY_CELLS)


def test_energy_zero_follows_2dmatpedia_convention():
    valence = np.array([[-3.0, -2.0, -1.0]])
    conduction = np.array([[1.0, 1.5, 2.0]])
    path = np.stack([valence, conduction], axis=1)  # (spin, band, k)
    zero, gap = energy_zero(path, fermi=0.0, mesh_eigs=path)
    assert gap == pytest.approx(2.0)
    assert zero == pytest.approx(-1.0 + GAP_ZERO_OFFSET_EV)  # just above the VBM, not mid-gap
    metal = np.stack([np.array([[-1.0, 0.5, 1.0]]), conduction], axis=1)
    zero, gap = energy_zero(metal, fermi=0.1, mesh_eigs=metal)
    assert gap is None and zero == 0.1


@pytest.mark.dft
def test_slab_is_contiguous_and_orthogonal():
    rec = dict(structure_records()["2dm-22"])  # Li2O: tilted c in the source cell
    rec["frac_coords"] = [[x, y, (z + 0.8) % 1.0] for x, y, z in rec["frac_coords"]]  # straddle the boundary
    atoms = slab_atoms(structure_from_record(rec), vacuum=6.0)
    cell = atoms.cell.array
    assert cell[0, 2] == 0 and cell[1, 2] == 0 and cell[2, 0] == 0 and cell[2, 1] == 0
    z = atoms.positions[:, 2]
    assert z.min() == pytest.approx(6.0)
    assert z.max() - z.min() < 3.0  # one thin layer, not two halves far apart
    assert cell[2, 2] == pytest.approx(z.max() - z.min() + 12.0)
    # in-plane lattice preserved
    src = structure_from_record(rec).lattice
    assert np.linalg.norm(cell[0]) == pytest.approx(src.a, rel=1e-9)
    assert np.linalg.norm(cell[1]) == pytest.approx(src.b, rel=1e-9)


@pytest.mark.dft
def test_gpaw_band_structure_of_a_tiny_insulator():
    from elfutils.dft.recipe import compute_band_structure

    bs = compute_band_structure(structure_from_record(structure_records()["2dm-1799"]), "2dm-1799")
    assert bs.formula == "MgF2" and bs.path_string() == "Γ-X-M-Γ"  # a square lattice
    assert bs.nkpoints == 63 and not bs.is_spin_polarized
    assert bs.metadata["energy_zero"] == "vbm+offset"
    assert bs.band_gap() > 4.0  # MgF2 is a wide-gap insulator
    rel = bs.relative_energies()
    assert -GAP_ZERO_OFFSET_EV - 1e-6 <= rel[rel <= 0].max() <= 0  # the zero sits just above the VBM
    assert bs.metadata["scf_iterations"] and bs.metadata["gpaw_version"]


def test_retry_settings_follow_the_reason():
    settings = DFTSettings()
    assert settings.retry_after("SymmetryAnalysisBug: Sorry! Try using spglib") == replace(settings,
                                                                                           symmetry="off")
    assert settings.retry_after("KohnShamConvergenceError: did not converge") == settings.safer()
    tiny = settings.retry_after("ValueError: Cannot construct interpolator.  Grid 4 x 4 x 40 may be "
                                "too small")
    assert tiny == replace(settings, grid_spacing=settings.grid_spacing / 2)
    assert settings.safer().symmetry == "off" and settings.safer().mixer_beta is not None


@pytest.mark.dft
def test_batch_records_failures_and_retries(tmp_path):
    records = structure_records()
    broken = dict(records["2dm-1799"], species=["Mg", "F"])  # one species short: cannot build the cell
    jobs = [Job("broken", broken), Job("2dm-1799", records["2dm-1799"])]
    failures_when_stored = []  # the retry waits until every first attempt has run
    store_path = tmp_path / "s.elfstore"
    counts = run_dft_batch(jobs, store_path, workers=1, progress=False,
                           on_result=lambda _: failures_when_stored.append(len(read_failures(store_path))))
    assert counts["done"] == 1 and counts["failed"] == 1 and failures_when_stored == [1]
    fails = read_failures(tmp_path / "s.elfstore")
    assert [f["attempt"] for f in fails] == [1, 2] and fails[1]["final"]
    assert fails[1]["settings"]["smearing_eV"] > fails[0]["settings"]["smearing_eV"]  # safer retry
    assert "broken" in final_failures(tmp_path / "s.elfstore")
    # a second run computes nothing again
    again = run_dft_batch(jobs, tmp_path / "s.elfstore", workers=1, progress=False)
    assert again == {"done": 0, "failed": 0, "skipped_done": 1, "skipped_failed": 1}


def test_a_failure_after_a_torn_line_is_kept(tmp_path):
    store_path = tmp_path / "torn.elfstore"
    store_path.mkdir()
    (store_path / "failures.jsonl").write_text('{"material_id": "a", "attempt": 1, "final": false}\n{"mater')
    _append_failure(store_path, {"material_id": "b", "attempt": 1, "final": False, "reason": "x"})
    assert [r["material_id"] for r in read_failures(store_path)] == ["a", "b"]


@pytest.mark.dft
def test_time_limit_kills_and_records(tmp_path):
    jobs = [Job("2dm-1799", structure_records()["2dm-1799"])]
    counts = run_dft_batch(jobs, tmp_path / "t.elfstore", workers=1, time_limit_s=0.3, progress=False)
    assert counts["failed"] == 1
    fails = read_failures(tmp_path / "t.elfstore")
    assert all("time limit" in f["reason"] for f in fails)
    # the retry of a timeout keeps the settings and doubles the time limit
    assert [f["time_limit_s"] for f in fails] == [0.3, 0.6] and fails[0]["settings"] == fails[1]["settings"]


def _pending_failure(store_path, material_id, reason, settings, time_limit_s):
    """A first attempt's failure as a batch stopped before its retry leaves it."""
    store_path.mkdir(parents=True, exist_ok=True)
    record = {"material_id": material_id, "attempt": 1, "final": False, "reason": reason,
              "settings": asdict(settings), "time_limit_s": time_limit_s, "time": "2026-11-26T00:00:00"}
    (store_path / "failures.jsonl").write_text(json.dumps(record) + "\n")


@pytest.mark.dft
def test_a_stopped_batch_resumes_with_the_second_attempt(tmp_path):
    records = structure_records()
    broken = Job("broken", dict(records["2dm-1799"], species=["Mg", "F"]))
    store_path = tmp_path / "r.elfstore"
    _pending_failure(store_path, "broken", "ValueError: first attempt", DFTSettings(), 1800.0)
    assert set(pending_retries(store_path)) == {"broken"}
    failures_when_stored = []  # the pending retry waits behind the first attempts
    jobs = [broken, Job("2dm-1799", records["2dm-1799"])]
    counts = run_dft_batch(jobs, store_path, workers=1, progress=False,
                           on_result=lambda _: failures_when_stored.append(len(read_failures(store_path))))
    assert counts["failed"] == 1 and counts["done"] == 1 and failures_when_stored == [1]
    fails = read_failures(store_path)
    assert [f["attempt"] for f in fails] == [1, 2] and fails[1]["final"]  # not a second first attempt
    assert fails[1]["settings"] == asdict(DFTSettings().safer())
    assert pending_retries(store_path) == {}


@pytest.mark.dft
def test_a_stopped_timeout_resumes_with_the_longer_limit(tmp_path):
    store_path = tmp_path / "t.elfstore"
    _pending_failure(store_path, "2dm-1799", "time limit of 0.3 s exceeded", DFTSettings(), 0.3)
    run_dft_batch([Job("2dm-1799", structure_records()["2dm-1799"])], store_path, workers=1,
                  time_limit_s=0.3, progress=False)
    fails = read_failures(store_path)
    assert [(f["attempt"], f["time_limit_s"]) for f in fails] == [(1, 0.3), (2, 0.6)]
    assert fails[1]["settings"] == asdict(DFTSettings()) and fails[1]["status"] == "timeout"


@pytest.mark.dft
def test_changed_settings_start_a_pending_material_afresh(tmp_path):
    store_path = tmp_path / "c.elfstore"
    broken = Job("broken", dict(structure_records()["2dm-1799"], species=["Mg", "F"]))
    _pending_failure(store_path, "broken", "ValueError: first attempt", replace(DFTSettings(), vacuum=9.0),
                     1800.0)
    run_dft_batch([broken], store_path, workers=1, progress=False)
    assert [f["attempt"] for f in read_failures(store_path)] == [1, 1, 2]


@pytest.mark.dft
def test_resume_after_kill_9(tmp_path):
    store_path = tmp_path / "k.elfstore"
    cmd = [sys.executable, "-m", "elfutils.cli", "dft", *TINY, "--store", str(store_path), "--workers", "1",
           "--no-progress"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and not list(store_path.glob("part-*.npz")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the batch and its worker, mid-flight
    proc.wait()
    first = BandStore(store_path)
    assert 1 <= len(first) < len(TINY), "kill came too late to test resumption"
    kept = {m["material_id"]: m["wall_time_s"] for m in first.metadata()}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    final = BandStore(store_path)
    assert sorted(final.ids()) == sorted(TINY)
    for mid, wall in kept.items():  # finished materials were not recomputed
        assert final.get(mid).metadata["wall_time_s"] == wall
    assert f"'done': {len(TINY) - len(kept)}" in result.stdout


@pytest.mark.dft
def test_project_tc_dataset_is_found():
    """gpaw-data lacks technetium; data/gpaw-setups (scripts/make_tc_setup.py) supplies setup and basis."""
    from gpaw.setup import create_setup

    from elfutils.dft.recipe import _use_project_setups
    from elfutils.paths import data_dir

    _use_project_setups()
    setup = create_setup("Tc", "PBE")
    assert setup.Z == 43 and setup.Nv == 15  # [Ar]3d core: 4s2 4p6 4d5 5s2 in valence
    assert (data_dir() / "gpaw-setups/Tc.dzp.basis.gz").stat().st_size > 1000


def test_hubbard_u_follows_the_materials_project_convention():
    from elfutils.dft.recipe import MP_HUBBARD_U, hubbard_u_values

    on = DFTSettings()
    assert hubbard_u_values(["Ni", "F", "F"], on) == {"Ni": MP_HUBBARD_U["Ni"]}
    assert hubbard_u_values(["Fe", "Bi", "O", "O", "O"], on) == {"Fe": MP_HUBBARD_U["Fe"]}
    assert hubbard_u_values(["Ni", "Cl", "Cl"], on) == {}  # MP applies U in oxides and fluorides only
    assert hubbard_u_values(["Mg", "O"], on) == {}
    assert hubbard_u_values(["Ni", "F", "F"], replace(on, hubbard_u="off")) == {}
    with pytest.raises(ValueError, match="hubbard_u"):
        hubbard_u_values(["Ni", "O"], replace(on, hubbard_u="dudarev"))


def test_stale_ids_are_the_u_materials_computed_without_u():
    from elfutils.commands.dft import stale_ids

    class FakeStore:
        def metadata(self):
            return [{"material_id": "a"}, {"material_id": "b", "hubbard_u": {"Ni": 6.2}},
                    {"material_id": "c"}, {"material_id": "d", "hubbard_u": {}}]

    jobs = [Job("a", {"species": ["Ni", "O"]}), Job("b", {"species": ["Ni", "O"]}),
            Job("c", {"species": ["Mg", "O"]}), Job("d", {"species": ["Ni", "Cl"]})]
    assert stale_ids(FakeStore(), jobs, DFTSettings()) == {"a"}
    assert stale_ids(FakeStore(), jobs, replace(DFTSettings(), hubbard_u="off")) == set()


@pytest.mark.dft
def test_redo_recomputes_a_stored_material(tmp_path):
    jobs = [Job("2dm-1799", structure_records()["2dm-1799"])]
    store_path = tmp_path / "r.elfstore"
    assert run_dft_batch(jobs, store_path, workers=1, progress=False)["done"] == 1
    again = run_dft_batch(jobs, store_path, workers=1, progress=False, redo={"2dm-1799"})
    assert again["done"] == 1 and BandStore(store_path).ids() == ["2dm-1799"]

"""`elf import` (elfutils.data.importer): band files, folders and stores -> one band store; and the book's
2dmatpedia profile, which reads such a store and says how to build it when it is missing."""

from __future__ import annotations

import copy
import csv
import json
import shutil

import numpy as np
import pytest

from elfutils.book.profiles import get_profile
from elfutils.cli import main as elf
from elfutils.data.dataset import flat_band_pool
from elfutils.data.importer import SKIPPED_FILE, import_bands
from elfutils.data.store import ENERGY_ERROR_EV, KEEP_WINDOW_EV, BandStore
from elfutils.paths import data_dir

DOWNLOAD_COMMAND = "elf import <download>/bands --flat-band-pool --store"


def run_import(*args) -> int:
    return elf(["import", *map(str, args), "--no-progress"])


def skipped_rows(store) -> list[dict]:
    with open(store / SKIPPED_FILE, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def download(tmp_path, fixture_files):
    """A folder laid out as the 2Dmatpedia download: bands/2dm-N.json, here the 12 real band files."""
    bands = tmp_path / "download" / "bands"
    bands.mkdir(parents=True)
    for path in fixture_files:
        shutil.copy(path, bands)
    return bands


def assert_same_within_store_error(bs, ref):
    """What the store keeps of a record: ids, labels and k-path exact, energies within ENERGY_ERROR_EV."""
    assert (bs.material_id, bs.formula, bs.branches, bs.nspin) == (ref.material_id, ref.formula, ref.branches,
                                                                   ref.nspin)
    assert bs.efermi == pytest.approx(ref.efermi)
    assert np.allclose(bs.kpoints, ref.kpoints, atol=1e-6)
    assert np.allclose(bs.distances, ref.distances, atol=1e-5)
    rel_ref = ref.relative_energies()
    near = (rel_ref.max(axis=2) >= -KEEP_WINDOW_EV) & (rel_ref.min(axis=2) <= KEEP_WINDOW_EV)
    kept = rel_ref[:, near.any(axis=0), :]  # the store drops bands that never come within the keep window
    rel = bs.relative_energies()
    assert rel.shape == kept.shape
    inside = np.abs(kept) <= KEEP_WINDOW_EV
    assert np.max(np.abs(rel - kept)[inside]) <= ENERGY_ERROR_EV


# --- importing ---------------------------------------------------------------------------------------------
def test_the_12_real_band_files_import_as_read(tmp_path, download, fixture_records, capsys):
    store = tmp_path / "out.elfstore"
    assert run_import(download, "--store", store) == 0
    assert "imported 12 band structure(s)" in capsys.readouterr().out
    back = BandStore(store)
    assert set(back.ids()) == set(fixture_records) and len(back.part_paths()) == 1
    for mid, ref in fixture_records.items():
        assert_same_within_store_error(back.get(mid), ref)
    assert skipped_rows(store) == []  # written on every run, empty when nothing was skipped


def test_materials_go_in_parts_of_batch_size(tmp_path, fixture_files):
    result = import_bands(fixture_files, tmp_path / "s.elfstore", batch_size=5, progress=False)
    sizes = []
    for part in result.parts:
        with np.load(part) as npz:
            sizes.append(len(npz["material_id"]))
    assert sizes == [5, 5, 2] and len(result.imported) == 12
    assert len(BandStore(tmp_path / "s.elfstore")) == 12


def test_bad_files_are_skipped_with_a_reason_naming_file_and_field(tmp_path, download, capsys):
    broken = download / "2dm-7.json"
    broken.write_text('{"bands": {"1": [[1.0, 2.0]]}, "efermi": ')
    no_efermi = copy.deepcopy(json.loads((download / "2dm-1.json").read_text()))
    del no_efermi["efermi"]
    missing_field = download / "2dm-8.json"
    missing_field.write_text(json.dumps(no_efermi))
    store = tmp_path / "out.elfstore"

    assert run_import(download, "--store", store) == 0  # the batch goes on
    printed = capsys.readouterr()
    assert len(BandStore(store)) == 12
    reasons = {row["item"]: row["reason"] for row in skipped_rows(store)}
    assert reasons.keys() == {str(broken), str(missing_field)}
    assert reasons[str(broken)].startswith(f"{broken}: not valid JSON")
    assert reasons[str(missing_field)] == f"{missing_field}: field 'efermi': missing"
    assert "skipped 2 unreadable input(s)" in printed.err and str(broken) in printed.err
    assert "2 unreadable and 0 duplicate(s) skipped" in printed.out


def test_only_bad_inputs_fail(tmp_path, capsys):
    broken = tmp_path / "2dm-7.json"
    broken.write_text("{")
    store = tmp_path / "out.elfstore"
    assert run_import(broken, tmp_path / "nothing-here.json", "--store", store) == 2  # bad input: 2
    assert len(BandStore(store)) == 0
    assert {row["item"] for row in skipped_rows(store)} == {str(broken), str(tmp_path / "nothing-here.json")}
    assert "none of the inputs' materials is in the store" in capsys.readouterr().err


def test_duplicate_ids_keep_the_first_readable_and_are_reported(tmp_path, download, fixture_files, capsys):
    # other/2dm-4.json is broken and comes first: the good 2dm-4 after it is imported, not called a duplicate
    other = tmp_path / "other"
    other.mkdir()
    (other / "2dm-4.json").write_text("{")
    later = tmp_path / "later"
    later.mkdir()
    shutil.copy(fixture_files[0], later / fixture_files[0].name)  # 2dm-1 again
    store = tmp_path / "out.elfstore"

    assert run_import(other, download, later / fixture_files[0].name, "--store", store) == 0
    printed = capsys.readouterr()
    back = BandStore(store)
    assert len(back) == 12
    assert back.get("2dm-1").source == str(download / "2dm-1.json")  # the first one
    assert back.get("2dm-4").source == str(download / "2dm-4.json")
    rows = {row["item"]: row["reason"] for row in skipped_rows(store)}
    assert rows[str(later / "2dm-1.json")] == (f"duplicate material id 2dm-1 (imported from "
                                               f"{download / '2dm-1.json'})")
    assert "not valid JSON" in rows[str(other / "2dm-4.json")]
    assert "skipped 1 duplicate material id(s)" in printed.err


def test_a_rerun_adds_nothing_and_reads_nothing_already_stored(tmp_path, download, capsys):
    store = tmp_path / "out.elfstore"
    assert run_import(download, "--store", store) == 0
    parts = BandStore(store).part_paths()
    capsys.readouterr()
    # a broken file whose id is stored is not read again, so it is not reported either
    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / "2dm-1.json").write_text("{")
    assert run_import(download, stale, "--store", store) == 0
    assert "imported 0 band structure(s)" in capsys.readouterr().out
    assert BandStore(store).part_paths() == parts and skipped_rows(store) == []


def test_an_interrupted_import_goes_on_where_it_stopped(tmp_path, fixture_files):
    store = tmp_path / "out.elfstore"
    import_bands(fixture_files[:5], store, progress=False)  # what a killed import had written
    result = import_bands(fixture_files, store, progress=False)
    assert len(result.already_stored) == 5 and len(result.imported) == 7
    assert len(BandStore(store)) == 12


def test_flat_band_pool_keeps_only_pool_materials(tmp_path, download, fixture_files, capsys):
    pool = set(flat_band_pool().material_id)
    in_pool = {p.stem for p in fixture_files if p.stem in pool}
    assert 0 < len(in_pool) < len(fixture_files)  # else this test would check nothing
    store = tmp_path / "out.elfstore"
    assert run_import(download, "--store", store, "--flat-band-pool") == 0
    assert set(BandStore(store).ids()) == in_pool
    out = capsys.readouterr().out
    assert f"{len(fixture_files) - len(in_pool)} left out: not in the flat-band pool" in out


def test_stores_are_inputs_too(tmp_path, tiny_store, fixture_files):
    store = tmp_path / "out.elfstore"
    assert run_import(tiny_store.path, fixture_files[0], "--store", store) == 0
    assert BandStore(store).ids() == ["2dm-1", "t-0", "t-1", "t-2", "t-3"]


def test_a_folder_without_band_files_is_reported(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_import(empty, "--store", tmp_path / "out.elfstore") == 2
    assert f"{empty}: no band files" in capsys.readouterr().err


# --- the book's 2dmatpedia profile ------------------------------------------------------------------------
def test_2dmatpedia_profile_is_the_papers_settings_on_the_imported_store():
    p, default = get_profile("2dmatpedia"), get_profile("default")
    assert p.store_path() == data_dir() / "bands" / "2dmatpedia-vasp.elfstore"
    assert not p.use_committed_model and not p.include_fixture_files and p.max_materials is None
    same = ("image_size", "energy_window", "backbone", "epochs", "min_cluster_size", "min_samples",
            "minkowski_p", "study_min_cluster_sizes", "study_min_samples", "seed")
    assert {k: getattr(p, k) for k in same} == {k: getattr(default, k) for k in same}
    # the message names the store as typed in the project folder, where `make book` runs
    assert (f"{DOWNLOAD_COMMAND} data/bands/2dmatpedia-vasp.elfstore"
            in p.missing_store_message())


@pytest.mark.parametrize("state", ["missing", "empty"])
def test_the_pipeline_says_how_to_build_a_missing_store(tmp_path, cache, monkeypatch, state):
    from elfutils.book import pipeline, stages

    monkeypatch.setenv("ELF_DATA_DIR", str(tmp_path / "data"))
    store = tmp_path / "data" / "bands" / "2dmatpedia-vasp.elfstore"
    if state == "empty":
        store.mkdir(parents=True)
    monkeypatch.setattr(stages.dataset.time, "sleep",
                        lambda s: pytest.fail("a missing store is not read again"))
    with pytest.raises(pipeline.MissingStoreError) as e:
        pipeline.load_dataset("2dmatpedia")
    message = str(e.value)
    assert f"profile '2dmatpedia' reads the band store {store}, which is missing" in message
    assert f"{DOWNLOAD_COMMAND} {store}" in message


def test_make_book_stops_before_the_first_notebook_runs(tmp_path, cache, monkeypatch):
    from elfutils.book import notebooks

    monkeypatch.setenv("ELF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(notebooks, "ensure_kernel", lambda: pytest.fail("no kernel should start"))
    with pytest.raises(notebooks.NotebookError, match=f"book/data.py: .*{DOWNLOAD_COMMAND}"):
        notebooks.execute("book/data.py", tmp_path / "data.ipynb", profile="2dmatpedia")
    assert not (tmp_path / "data.ipynb").exists()


def test_other_profiles_with_a_missing_store_fail_clearly(tmp_path, cache):
    from elfutils.book import pipeline

    p = get_profile("default", store=str(tmp_path / "nowhere.elfstore"))
    with pytest.raises(pipeline.MissingStoreError, match="elf import <band files or folders> --store"):
        pipeline.load_dataset(p)


def test_2dmatpedia_profile_reads_an_imported_store(tmp_path, cache, download, fixture_records):
    from elfutils.book import pipeline

    store = tmp_path / "2dmatpedia-vasp.elfstore"
    assert run_import(download, "--store", store) == 0
    records = pipeline.load_dataset(get_profile("2dmatpedia", store=str(store)))
    assert [r.material_id for r in records] == sorted(fixture_records, key=lambda m: int(m.split("-")[1]))

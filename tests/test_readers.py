"""The data layer: readers (2Dmatpedia / Materials Project JSON, pymatgen objects), the compact store, and the
one error type for bad input (BandDataError, whose message names the file and the problem)."""

from __future__ import annotations

import copy
import gzip
import json
import math
import tempfile
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elfutils.data.bands import BandStructure
from elfutils.data.readers import (
    band_structure_from_dict,
    file_kind,
    from_pymatgen,
    iter_band_structures,
    read_band_file,
    read_band_json,
)
from elfutils.data.store import ENERGY_ERROR_EV, KEEP_WINDOW_EV, LOCK_FILE, BandStore
from elfutils.errors import BandDataError

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "data" / "2dmatpedia-dft-bands"

EXPECTED = {  # id: (formula, spin-polarised, path)
    "2dm-1": ("IrF2", False, "Γ-K-M-Γ"),
    "2dm-4": ("MoCl2", False, "Γ-X-N-X₁-Y-Γ"),
    "2dm-10": ("SiBr4", False, "Γ-X-M-Γ"),
    "2dm-15": ("MoF2", True, "Y-X₁-N-X-Γ-Y"),
    "2dm-17": ("HfBr2", False, "Γ-X-A-Z-Γ"),
    "2dm-18": ("AuSe", False, "Γ-X-S-Y-Γ"),
    "2dm-20": ("Al2S5", False, "X-Γ-Y-L-X"),
    "2dm-21": ("TaI3", True, "Γ-K-M-Γ"),
    "2dm-22": ("Li2O", False, "Γ-K-M-Γ"),
    "2dm-25": ("VBr4", True, "Γ-X-M-Γ"),
    "2dm-31": ("AlF3", False, "Γ-N-X-Γ"),
    "2dm-33": ("B2O3", False, "Γ-K-M-Γ"),
}


@cache
def fixture_dict(material_id: str) -> dict:
    return json.loads((FIXTURE_DIR / f"{material_id}.json").read_text())


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data))  # NaN / inf become the tokens NaN / Infinity, which json.load accepts
    return path


def same_record(a: BandStructure, b: BandStructure) -> bool:
    return (
        a.material_id == b.material_id
        and a.formula == b.formula
        and np.array_equal(a.energies, b.energies)
        and np.array_equal(a.kpoints, b.kpoints)
        and np.allclose(a.distances, b.distances)
        and a.branches == b.branches
        and a.efermi == b.efermi
    )


# --- the 12 real files --------------------------------------------------------------------------------------
def test_all_fixtures_read_with_ids_formulas_spin_and_paths(fixture_files, fixture_records):
    assert sorted(fixture_records) == sorted(EXPECTED)
    for mid, (formula, spin, path) in EXPECTED.items():
        bs = fixture_records[mid]
        assert bs.material_id == mid and bs.formula == formula, mid
        assert bs.is_spin_polarized is spin and bs.nspin == (2 if spin else 1), mid
        assert bs.path_string() == path, mid
        assert all(b.end - b.start + 1 == 21 for b in bs.branches), mid  # 21 k-points per segment
        assert bs.nkpoints == 21 * len(bs.branches)
        assert bs.source.endswith(f"{mid}.json")
        assert np.all(np.diff(bs.distances) >= -1e-9)  # cumulative
    assert len({EXPECTED[m][2] for m in EXPECTED}) == 8  # 8 different path types
    assert fixture_records["2dm-1"].formula == "IrF2"


def test_records_are_immutable(fixture_records):
    bs = fixture_records["2dm-1"]
    with pytest.raises(ValueError, match="read-only"):
        bs.energies[0, 0, 0] = 1.0
    with pytest.raises(AttributeError):
        bs.efermi = 0.0


def test_gzipped_json_reads_the_same(tmp_path, fixture_records):
    gz = tmp_path / "2dm-1.json.gz"
    gz.write_bytes(gzip.compress((FIXTURE_DIR / "2dm-1.json").read_bytes()))
    bs = read_band_file(gz)
    assert bs.material_id == "2dm-1"
    assert same_record(bs, fixture_records["2dm-1"])


@pytest.mark.parametrize("wrapper", ["band_structure", "bandstructure"])
def test_materials_project_wrapped_dict_reads(tmp_path, fixture_records, wrapper):
    path = write_json(tmp_path / "mp-2dm-25.json", {"task_id": "mp-1", wrapper: fixture_dict("2dm-25")})
    bs = read_band_file(path)
    ref = fixture_records["2dm-25"]
    assert bs.material_id == "mp-2dm-25"
    assert np.array_equal(bs.energies, ref.energies) and bs.branches == ref.branches and bs.is_spin_polarized


def test_pymatgen_object_converts(fixture_records):
    from pymatgen.electronic_structure.bandstructure import BandStructureSymmLine

    pmg = BandStructureSymmLine.from_dict(fixture_dict("2dm-15"))
    bs = from_pymatgen(pmg, material_id="2dm-15")
    ref = fixture_records["2dm-15"]
    assert bs.formula == "MoF2" and bs.is_spin_polarized
    assert np.array_equal(bs.energies, ref.energies) and bs.branches == ref.branches
    assert bs.path_string() == "Y-X₁-N-X-Γ-Y"
    assert bs.efermi == pytest.approx(pmg.efermi)


def test_band_structure_from_dict_matches_the_file_reader(fixture_records):
    bs = band_structure_from_dict(fixture_dict("2dm-4"), source="x", material_id="2dm-4")
    ref = fixture_records["2dm-4"]
    assert np.array_equal(bs.energies, ref.energies) and bs.formula == "MoCl2"


# --- the store ----------------------------------------------------------------------------------------------
def test_store_round_trip(tmp_path, fixture_records):
    store = BandStore(tmp_path / "fixtures.elfstore")
    store.append(fixture_records.values())
    back = BandStore(store.path)
    assert len(back) == 12 and set(back.ids()) == set(fixture_records)
    for mid, ref in fixture_records.items():
        bs = back.get(mid)
        assert bs.formula == ref.formula and bs.path_string() == ref.path_string()
        assert bs.labels() == ref.labels() and bs.branches == ref.branches
        assert bs.nspin == ref.nspin and bs.efermi == pytest.approx(ref.efermi)
        assert np.allclose(bs.kpoints, ref.kpoints, atol=1e-6)
        assert np.allclose(bs.distances, ref.distances, atol=1e-5)
        # the bands kept (those within the keep window) match to 0.004 eV inside it
        rel_ref = ref.relative_energies()
        near = (rel_ref.max(axis=2) >= -KEEP_WINDOW_EV) & (rel_ref.min(axis=2) <= KEEP_WINDOW_EV)
        kept = rel_ref[:, near.any(axis=0), :]
        rel = bs.relative_energies()
        assert rel.shape == kept.shape, mid
        inside = np.abs(kept) <= KEEP_WINDOW_EV
        assert np.max(np.abs(rel - kept)[inside]) <= ENERGY_ERROR_EV <= 0.004, mid


def test_iter_band_structures_reads_files_and_stores(tmp_path, fixture_files, fixture_records):
    store = BandStore(tmp_path / "s.elfstore")
    store.append([fixture_records["2dm-10"], fixture_records["2dm-21"]])
    got = [bs.material_id for bs in iter_band_structures([fixture_files[0], store.path])]
    assert got == [fixture_files[0].stem, "2dm-10", "2dm-21"]
    assert file_kind(store.path) == "store"


def test_store_compact_keeps_everything_and_the_later_part_wins(tmp_path, fixture_records):
    store = BandStore(tmp_path / "x.elfstore")
    for bs in fixture_records.values():  # one small part per material
        store.append([bs])
    old = fixture_records["2dm-1"]
    newer = BandStructure(old.material_id, "IrF2-recomputed", old.kpoints, old.distances, old.branches,
                          old.energies + 0.5, old.efermi + 0.5, "recomputed")  # fmt: skip
    store.append([newer])
    assert len(store.part_paths()) == 13 and len(store) == 12
    assert store.get("2dm-1").formula == "IrF2-recomputed"  # the later part wins
    merged = store.compact()
    assert merged is not None and store.part_paths() == [merged]
    back = BandStore(store.path)
    assert len(back) == 12 and set(back.ids()) == set(fixture_records)
    assert back.get("2dm-1").formula == "IrF2-recomputed"
    assert back.get("2dm-21").formula == "TaI3"
    assert not list(store.path.glob("*.tmp")) and [p.name for p in store.path.glob(".*")] == [LOCK_FILE]


def test_store_write_is_atomic(tmp_path, fixture_records, monkeypatch):
    import elfutils.data.store as store_module

    store = BandStore(tmp_path / "a.elfstore")
    store.append([fixture_records["2dm-1"]])
    parts_only = lambda: sorted(p.name for p in store.path.iterdir() if p.name != LOCK_FILE)  # noqa: E731
    assert parts_only() == ["part-000001.npz"]  # no temporary file left

    def half_written(fh, **arrays):
        fh.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(store_module.np, "savez_compressed", half_written)
    with pytest.raises(OSError, match="disk full"):
        store.append([fixture_records["2dm-4"]])
    monkeypatch.undo()
    # neither a temporary file nor a half-written part
    assert parts_only() == ["part-000001.npz"]
    assert BandStore(store.path).ids() == ["2dm-1"]


def test_a_corrupt_store_part_raises_band_data_error(tmp_path):
    folder = tmp_path / "bad.elfstore"
    folder.mkdir()
    (folder / "part-000001.npz").write_bytes(b"not a zip")
    with pytest.raises(BandDataError, match=r"part-000001\.npz: unreadable store part"):
        BandStore(folder).ids()


# --- bad input: one error type, a message naming the file and the problem -----------------------------------
def test_malformed_json(tmp_path):
    path = tmp_path / "2dm-7.json"
    path.write_text('{"bands": {"1": [[1.0, 2.0]]}, "efermi": ')
    with pytest.raises(BandDataError, match=rf"^{path}: not valid JSON"):
        read_band_file(path)


@pytest.mark.parametrize("where", ["deflate header", "middle"])
def test_corrupt_gzip(tmp_path, where):
    # a broken deflate header raises zlib.error inside gzip; damage in the middle fails the CRC check
    data = bytearray(gzip.compress((FIXTURE_DIR / "2dm-1.json").read_bytes(), mtime=0))
    at = 10 if where == "deflate header" else len(data) // 2
    data[at : at + 4] = b"\xff" * 4
    path = tmp_path / "2dm-1.json.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(BandDataError, match=rf"^{path}: not valid JSON"):
        read_band_file(path)


@pytest.mark.parametrize("key", ["bands", "efermi", "kpoints"])
def test_missing_key(tmp_path, key):
    data = copy.deepcopy(fixture_dict("2dm-1"))
    del data[key]
    path = write_json(tmp_path / "2dm-1.json", data)
    with pytest.raises(BandDataError, match=rf"^{path}: field '{key}': missing$") as e:
        read_band_file(path)
    assert e.value.field == key and e.value.source == str(path)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_energies(tmp_path, value):
    data = copy.deepcopy(fixture_dict("2dm-25"))
    data["bands"]["-1"][3][7] = value
    path = write_json(tmp_path / "2dm-25.json", data)
    with pytest.raises(BandDataError, match=rf"^{path}: field 'bands': spin -1: NaN or infinite energies"):
        read_band_file(path)


@pytest.mark.parametrize("value", [math.nan, "high", None])
def test_bad_fermi_level(tmp_path, value):
    data = copy.deepcopy(fixture_dict("2dm-1"))
    data["efermi"] = value
    path = write_json(tmp_path / "2dm-1.json", data)
    with pytest.raises(BandDataError, match=rf"^{path}: field 'efermi': not"):
        read_band_file(path)


def test_single_kpoint_path(tmp_path):
    data = copy.deepcopy(fixture_dict("2dm-1"))
    data["kpoints"] = data["kpoints"][:1]
    data["bands"] = {"1": [band[:1] for band in data["bands"]["1"]]}
    data["branches"] = [{"name": "\\Gamma-\\Gamma", "start_index": 0, "end_index": 0}]
    path = write_json(tmp_path / "one-k.json", data)
    msg = rf"^{path}: field 'kpoints': a band path needs at least 2 k-points, got 1"
    with pytest.raises(BandDataError, match=msg):
        read_band_file(path)


@pytest.mark.parametrize("bad", [1.5, [0.1, 0.2], "G"])
def test_kpoints_that_are_not_coordinates(tmp_path, bad):
    data = copy.deepcopy(fixture_dict("2dm-1"))
    data["kpoints"][5] = bad  # a bare number used to slip through pymatgen and fail as a plain ValueError
    path = write_json(tmp_path / "2dm-1.json", data)
    with pytest.raises(BandDataError, match=rf"^{path}: field 'kpoints': expected a list of \[k1, k2, k3\]"):
        read_band_file(path)


def test_spin_channels_of_different_shapes(tmp_path):
    data = copy.deepcopy(fixture_dict("2dm-25"))
    data["bands"]["-1"] = data["bands"]["-1"][:-2]
    path = write_json(tmp_path / "2dm-25.json", data)
    with pytest.raises(BandDataError, match=rf"^{path}: field 'bands': spin channels do not match"):
        read_band_file(path)


@pytest.mark.parametrize("name", ["bands.txt", "vasprun.json.bak", "2dm-1.yaml"])
def test_unknown_file_type(tmp_path, name):
    path = tmp_path / name
    path.write_text("1 2 3")  # neither the name nor the content says what it is
    with pytest.raises(BandDataError, match=rf"^{path}: unknown file type"):
        read_band_file(path)
    path.write_text("{}")  # JSON by content, whatever the name: read as such, and its problem named
    with pytest.raises(BandDataError, match=rf"^{path}: field 'bands': missing"):
        read_band_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(BandDataError, match=r"nope\.json: no such file"):
        read_band_file(tmp_path / "nope.json")


def test_not_an_object(tmp_path):
    path = write_json(tmp_path / "list.json", [1, 2, 3])
    with pytest.raises(BandDataError, match=rf"^{path}: expected a JSON object, got list"):
        read_band_file(path)


def test_no_band_inside_the_window_is_caught_when_rendering(tmp_path):
    from elfutils.images.render import render_band_image

    data = copy.deepcopy(fixture_dict("2dm-1"))
    data["efermi"] = data["efermi"] + 100.0  # every band now lies far below E_F
    path = write_json(tmp_path / "2dm-1.json", data)
    bs = read_band_file(path)  # reading is fine: the record is valid
    with pytest.raises(BandDataError, match=rf"^{path}: field 'bands': no band inside the ±4 eV window"):
        render_band_image(bs)


# --- property-based: mangled input gives BandDataError or a valid record, never another exception -----------
BAD_VALUES = [None, "abc", "", 1.5, -1, 0, True, math.nan, math.inf, [], {}, [[]], [None], ["x"], {"a": 1},
              [1e308, -1e308], 10**30]  # fmt: skip


def mangle(data: dict, draw) -> dict:
    """1-4 random edits anywhere in the dict tree: drop a key or item, replace a value, truncate a list."""
    root = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 4))):
        node = root
        while isinstance(node, dict | list) and node:
            key = draw(st.sampled_from(sorted(node, key=str))) if isinstance(node, dict) else \
                draw(st.integers(0, len(node) - 1))  # fmt: skip
            child = node[key]
            if draw(st.integers(0, 3)) and isinstance(child, dict | list) and child:
                node = child  # go deeper
                continue
            op = draw(st.sampled_from(["drop", "replace", "truncate"]))
            if op == "drop":
                del node[key]
            elif op == "truncate" and isinstance(child, list):
                node[key] = child[: draw(st.integers(0, max(len(child) - 1, 0)))]
            else:
                node[key] = copy.deepcopy(draw(st.sampled_from(BAD_VALUES)))
            break
    return root


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data=st.data(), mid=st.sampled_from(["2dm-1", "2dm-15", "2dm-25", "2dm-4"]))
def test_mangled_dicts_give_band_data_error_or_a_valid_record(data, mid):
    from elfutils.images.render import render_band_image

    mangled = mangle(fixture_dict(mid), data.draw)
    try:
        bs = band_structure_from_dict(mangled, source="mangled.json", material_id=mid)
    except BandDataError as exc:
        assert str(exc).startswith("mangled.json: ")
        return
    assert isinstance(bs, BandStructure)
    assert bs.energies.shape[2] == bs.nkpoints == len(bs.kpoints) == len(bs.distances)
    assert np.all(np.isfinite(bs.energies))
    try:  # a valid record renders, or says why not
        render_band_image(bs)
    except BandDataError as exc:
        assert exc.field in ("bands", "kpoints")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.floats(0.0, 1.0), gz=st.booleans())
def test_truncated_files_give_band_data_error(cut, gz):
    raw = (FIXTURE_DIR / "2dm-1.json").read_bytes()
    if gz:
        raw = gzip.compress(raw)
    n = int(cut * len(raw))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("2dm-1.json.gz" if gz else "2dm-1.json")
        path.write_bytes(raw[:n])
        if n == len(raw):
            assert read_band_json(path).formula == "IrF2"
        else:
            with pytest.raises(BandDataError, match=rf"^{path}: "):
                read_band_json(path)


def test_flat_band_count_counts_narrow_bands_near_the_fermi_level(fixture_records):
    old = fixture_records["2dm-1"]
    nk = old.nkpoints
    k = np.linspace(0.0, 1.0, nk)
    bands = np.array([[-0.5 + 0.05 * k,  # flat, near E_F: counted
                       0.8 + 0.0 * k,  # flat, near E_F: counted
                       -0.6 + 1.2 * k,  # near but dispersive: not counted
                       -3.0 + 0.01 * k,  # flat but far: not counted
                       0.95 + 0.1 * k]])  # reaches 1.05 eV: leaves the window, not counted
    bs = BandStructure(old.material_id, old.formula, old.kpoints, old.distances, old.branches, bands + 2.0,
                       2.0)
    assert bs.flat_band_count(window=1.0, max_width=0.1) == 2
    assert bs.flat_band_count(window=1.1, max_width=0.1) == 3
    assert bs.flat_band_count(window=1.0, max_width=2.0) == 3
    spin = BandStructure(old.material_id, old.formula, old.kpoints, old.distances, old.branches,
                         np.concatenate([bands, bands]) + 2.0, 2.0)
    assert spin.flat_band_count() == 4  # counted per spin channel

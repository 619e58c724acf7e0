"""ASE band-structure JSON (what C2DB and `ase band-structure` write) and GPAW .gpw files, read through ASE
and GPAW, on real files of one real GPAW run (h-BN, scripts/make_reader_fixtures.py) that our DFT batch also
stored."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elfutils.data.readers import read_band_file
from elfutils.data.store import BandStore
from elfutils.errors import BandDataError
from elfutils.images.render import render_band_image

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "reader-fixtures"
ASE_JSON = FIXTURES / "2dm-4991.ase-bands.json"
GPW = FIXTURES / "2dm-4991.gpw"


@pytest.fixture(scope="module")
def ours():
    return BandStore(FIXTURES / "2dm-4991.elfstore").get("2dm-4991")


def _same_image(a, b) -> float:
    ia, ib = render_band_image(a).astype(bool), render_band_image(b).astype(bool)
    return float((ia == ib).mean())


def test_the_ase_json_is_the_same_band_structure(ours):
    bs = read_band_file(ASE_JSON)
    assert bs.path_string() == ours.path_string() == "Γ-K-M-Γ"
    assert [(b.start, b.end) for b in bs.branches] == [(b.start, b.end) for b in ours.branches]
    np.testing.assert_allclose(bs.kpoints, ours.kpoints, atol=1e-6)
    assert bs.band_gap() == pytest.approx(ours.band_gap(), abs=0.01)
    assert bs.metadata["energy_zero"] == "vbm+offset" and bs.metadata["reader"] == "ase"
    assert _same_image(bs, ours) > 0.999  # the store's float16 costs at most a pixel here and there


def test_the_files_own_fermi_level_is_mid_gap_and_kept_on_request(ours):
    own = read_band_file(ASE_JSON, zero="file")
    assert own.efermi == pytest.approx(ours.metadata["gpaw_fermi_level"], abs=1e-4)
    # GPAW put E_F 1.2 eV above the VBM of this 4.5 eV gap (where its smearing settled), not 0.05 eV
    assert own.band_gap() > 4 and own.relative_energies()[own.relative_energies() <= 0].max() < -1.0
    assert _same_image(own, ours) < 0.99  # every band drawn ~30 px lower


def test_the_gpw_file_gives_the_same_as_the_json(ours):
    pytest.importorskip("gpaw")
    gpw, ase_json = read_band_file(GPW), read_band_file(ASE_JSON)
    assert gpw.formula == "BN" and gpw.material_id == "2dm-4991"
    np.testing.assert_allclose(gpw.energies, ase_json.energies, atol=1e-6)
    assert gpw.efermi == pytest.approx(ase_json.efermi)


def test_formats_are_told_apart_by_content(tmp_path):
    for source, name in ((ASE_JSON, "bands.dat"), (GPW, "calculation.bin")):
        if source == GPW:
            pytest.importorskip("gpaw")
        shutil.copyfile(source, tmp_path / name)
        assert read_band_file(tmp_path / name).nkpoints == 63


def test_other_ase_objects_and_damaged_files_name_the_file(tmp_path):
    from ase.build import bulk
    from ase.io.jsonio import encode

    atoms = tmp_path / "atoms.json"
    atoms.write_text(encode(bulk("Cu")))  # valid ASE JSON, but no band structure
    with pytest.raises(BandDataError, match=rf"^{atoms}: "):
        read_band_file(atoms)
    cut = tmp_path / "cut.gpw"
    cut.write_bytes(GPW.read_bytes()[:5000])
    with pytest.raises(BandDataError, match=rf"^{cut}: "):
        read_band_file(cut)


FUZZ_KEYS = ("energies", "reference", "path")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mangled_ase_json_gives_band_data_error_or_a_valid_record(data):
    obj = json.loads(ASE_JSON.read_text())
    key = data.draw(st.sampled_from(FUZZ_KEYS))
    action = data.draw(st.sampled_from(["drop", "null", "string", "truncate", "label"]))
    if action == "drop":
        obj.pop(key, None)
    elif action == "null":
        obj[key] = None
    elif action == "string":
        obj[key] = "x"
    elif action == "truncate" and key == "energies":
        obj["energies"]["__ndarray__"][0][1] = data.draw(st.integers(0, 62))  # shape that lies
    elif action == "label" and key == "path":
        obj["path"]["labelseq"] = data.draw(st.sampled_from(["", "GQ", "G,K", "XYZ"]))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mangled.json"
        path.write_text(json.dumps(obj))
        try:
            bs = read_band_file(path)
        except BandDataError as exc:
            assert str(exc).startswith(f"{path}: ")
            return
        assert bs.energies.shape[2] == bs.nkpoints == len(bs.kpoints) and np.isfinite(bs.energies).all()

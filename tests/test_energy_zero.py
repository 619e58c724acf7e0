"""One energy zero whatever the code: a gapped band structure draws the same image whether its file puts E_F
at the valence-band maximum, mid-gap or just below the conduction band; metals keep their Fermi level."""

from __future__ import annotations

import json

import numpy as np
import pytest

from elfutils.cli import main as elf
from elfutils.data.energy_zero import GAP_ZERO_OFFSET_EV, energy_zero, to_project_zero
from elfutils.data.readers import read_band_file
from elfutils.images.render import render_band_image


def _with_fermi(tmp_path, source, efermi: float, name: str):
    data = json.loads(source.read_text())
    data["efermi"] = efermi
    path = tmp_path / name
    path.mkdir()
    (path / source.name).write_text(json.dumps(data))
    return path / source.name


def test_the_fermi_level_anywhere_in_the_gap_gives_one_image(tmp_path, fixture_files):
    source = next(f for f in fixture_files if f.stem == "2dm-20")  # Al2S5: a 2.2 eV gap in the real VASP file
    own = read_band_file(source, zero="file")
    rel = own.relative_energies()
    vbm, cbm = own.efermi + rel[rel <= 0].max(), own.efermi + rel[rel > 0].min()
    assert cbm - vbm > 2.0
    images, records = [], []
    for name, efermi in (("vbm", vbm), ("mid", (vbm + cbm) / 2), ("cbm", cbm - 0.01)):
        bs = read_band_file(_with_fermi(tmp_path, source, efermi, name))
        records.append(bs)
        images.append(render_band_image(bs))
    assert all(np.array_equal(images[0], im) for im in images[1:])
    assert all(bs.efermi == pytest.approx(vbm + GAP_ZERO_OFFSET_EV) for bs in records)
    assert [bs.metadata["energy_zero"] for bs in records] == ["vbm+offset"] * 3
    assert records[1].metadata["file_efermi"] == pytest.approx((vbm + cbm) / 2)
    # the file's own zero, on request: mid-gap draws the bands ~half the gap (~30 px) lower
    mid_own = read_band_file(_with_fermi(tmp_path, source, (vbm + cbm) / 2, "mid-own"), zero="file")
    assert mid_own.metadata["energy_zero"] == "file" and not np.array_equal(render_band_image(mid_own),
                                                                            images[0])


def test_a_metal_keeps_its_fermi_level(fixture_files):
    metal = next(f for f in fixture_files if f.stem == "2dm-1")  # IrF2, metallic
    own, aligned = read_band_file(metal, zero="file"), read_band_file(metal)
    assert aligned.efermi == own.efermi and aligned.metadata["energy_zero"] == "fermi"


def test_the_rule_itself():
    valence, conduction = np.array([[-3.0, -2.0, -1.0]]), np.array([[1.0, 1.5, 2.0]])
    path = np.stack([valence, conduction], axis=1)
    assert energy_zero(path, 0.3) == (pytest.approx(-1.0 + GAP_ZERO_OFFSET_EV), pytest.approx(2.0))
    narrow = np.stack([valence, np.array([[-0.94, -0.5, 0.0]])], axis=1)  # 0.06 eV gap: the zero stays inside
    zero, gap = energy_zero(narrow, -0.97)
    assert gap == pytest.approx(0.06) and zero == pytest.approx(-1.0 + 0.03)
    tiny = np.stack([valence, np.array([[-0.99, -0.5, 0.0]])], axis=1)  # below METAL_GAP_EV: a metal
    assert energy_zero(tiny, -0.995) == (-0.995, None)


def test_the_mesh_eigenvalues_bound_the_gap_too():
    """A DFT run's SCF mesh can reach states the band path misses: here the valence-band maximum is only on
    the mesh (-0.5 eV; the path's top valence point is -1.0 eV), the conduction-band minimum on the path."""
    valence, conduction = np.array([[-3.0, -2.0, -1.0]]), np.array([[1.0, 1.5, 2.0]])
    path = np.stack([valence, conduction], axis=1)  # (spin, band, k)
    mesh = np.array([[[-2.5, -0.5], [1.2, 1.6]]])  # (spin, band, k) on the mesh: VBM -0.5 eV
    zero, gap = energy_zero(path, 0.3, mesh)
    assert gap == pytest.approx(1.0 - -0.5)
    assert zero == pytest.approx(-0.5 + GAP_ZERO_OFFSET_EV)
    path_only = energy_zero(path, 0.3)
    assert path_only == (pytest.approx(-1.0 + GAP_ZERO_OFFSET_EV), pytest.approx(2.0))
    # mesh states 0.002 eV apart across E_F (below METAL_GAP_EV) make a metal, though no band crosses E_F
    # on the path: it keeps its Fermi level
    assert energy_zero(path, 0.3, np.array([[[-2.0, 0.299], [0.301, 1.2]]])) == (0.3, None)


def test_records_already_at_the_project_zero_are_left_alone(tiny_store):
    stored = next(iter(tiny_store))
    once = to_project_zero(stored)
    assert to_project_zero(once) is once


def test_info_says_which_zero_and_the_flag_keeps_the_files(tmp_path, fixture_files, capsys):
    source = next(f for f in fixture_files if f.stem == "2dm-20")
    assert elf(["info", str(source)]) == 0
    assert "zero VBM+0.05" in capsys.readouterr().out
    assert elf(["info", str(source), "--keep-file-zero", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["energy_zero"] == "file"

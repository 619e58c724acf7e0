"""One table of readers (elfutils.data.readers.READERS): dispatch, ids, the importer's folder search, the help
texts and the README's list of inputs all derive from it. Before the table, `elf import FOLDER` and
`elf info FOLDER` silently skipped .gpw and Quantum ESPRESSO files and four commands' help named only JSON and
vasprun."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from elfutils.data.importer import band_files_in, import_bands
from elfutils.data.readers import READERS, band_file_patterns, file_kind, material_id_of
from elfutils.data.store import BandStore
from elfutils.errors import BandDataError

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "data" / "reader-fixtures"
REAL_JSON = ROOT / "data" / "2dmatpedia-dft-bands" / "2dm-1.json"


def one_of_every_format(folder: Path) -> dict[str, str]:
    """A folder holding one real file of every shipped format, laid out as users keep them: {kind: id}.
    No real vasprun.xml ships with the project; a stand-in under its name shows the folder search finds it."""
    pytest.importorskip("gpaw")  # the .gpw reader is GPAW's
    (folder / "qe" / "hbn.save").mkdir(parents=True)
    shutil.copy(REAL_JSON, folder / "2dm-1.json")
    shutil.copy(FIXTURES / "2dm-4991.ase-bands.json", folder / "c2db-bn.json")
    shutil.copy(FIXTURES / "2dm-4991.gpw", folder / "gpaw-bn.gpw")
    shutil.copy(FIXTURES / "qe" / "2dm-4991.data-file-schema.xml", folder / "qe" / "hbn.save" /
                "data-file-schema.xml")
    (folder / "vasp" / "MoS2").mkdir(parents=True)
    (folder / "vasp" / "MoS2" / "vasprun.xml").write_text("<?xml version='1.0'?>\n<modeling>\n")
    shutil.copy(ROOT / "data" / "figure-fixtures" / "2dm-22-midgap-grid.png", folder / "fig-22.png")
    (folder / "notes.txt").write_text("not a band file")
    return {"json": "2dm-1", "gpw": "gpaw-bn", "qe-xml": "hbn", "figure": "fig-22"}


def test_every_reader_kind_has_a_row_with_patterns_and_a_sniff():
    kinds = [row.kind for row in READERS]
    assert len(set(kinds)) == len(kinds) == 5
    assert set(band_file_patterns()) >= {"*.json", "*.gpw", "*data-file-schema.xml", "vasprun*.xml", "*.png"}


def test_import_of_a_folder_takes_every_format(tmp_path):
    folder = tmp_path / "bands"
    expected = one_of_every_format(folder)
    found = band_files_in(folder)
    assert {file_kind(f) for f in found} == {row.kind for row in READERS}  # vasprun found by its name too
    result = import_bands([folder], tmp_path / "all.elfstore", progress=False)
    imported = set(result.imported)
    assert set(expected.values()) | {"c2db-bn"} == imported
    assert [label for label, _ in result.skipped] == [str(folder / "vasp" / "MoS2" / "vasprun.xml")]
    assert "pymatgen could not read the VASP run" in result.skipped[0][1]
    assert set(BandStore(tmp_path / "all.elfstore").ids()) == imported


def test_elf_info_of_a_folder_lists_every_format(tmp_path):
    folder = tmp_path / "bands"
    expected = one_of_every_format(folder)
    out = subprocess.run([sys.executable, "-m", "elfutils.cli", "info", str(folder), "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "folder with 6 band file(s)" in out.stdout
    ids = set(re.findall(r'"material_id": "([^"]+)"', out.stdout))
    assert ids == set(expected.values()) | {"c2db-bn"}
    assert "vasprun.xml" in out.stderr  # the unreadable one is listed as skipped, not ignored


@pytest.mark.parametrize(("name", "kind"), [
    ("2dm-7.json.gz", "json"), ("VASPRUN.XML", "vasprun"), ("vasprun-relax.xml", "vasprun"),
    ("bs.gpw", "gpw"), ("data-file-schema.xml", "qe-xml"), ("x.data-file-schema.xml", "qe-xml")])
def test_names_decide_the_kind_case_insensitively(tmp_path, name, kind):
    path = tmp_path / name
    path.write_bytes(b"")
    assert file_kind(path) == kind


def test_content_decides_when_the_name_does_not(tmp_path):
    for row, source in (("qe-xml", FIXTURES / "qe" / "2dm-4991.data-file-schema.xml"),
                        ("gpw", FIXTURES / "2dm-4991.gpw"), ("json", REAL_JSON)):
        target = tmp_path / f"renamed-{row}.dat"
        shutil.copy(source, target)
        assert file_kind(target) == row


def test_ids_follow_each_readers_rule(tmp_path):
    assert material_id_of(Path("run/MoS2/vasprun.xml")) == "MoS2"
    assert material_id_of(Path("x/hbn.save/data-file-schema.xml")) == "hbn"
    assert material_id_of(Path("2dm-21.json.gz")) == "2dm-21"
    assert material_id_of(Path("bn.gpw")) == "bn"


def test_an_unknown_file_names_every_format(tmp_path):
    path = tmp_path / "bands.txt"
    path.write_text("1 2 3")
    with pytest.raises(BandDataError, match=r"unknown file type") as err:
        file_kind(path)
    for row in READERS:
        assert row.description in str(err.value)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("command", ["import", "info", "render", "similar"])
def test_every_commands_help_names_every_reader(command):
    out = subprocess.run([sys.executable, "-m", "elfutils.cli", command, "--help"], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "COLUMNS": "400"})
    assert out.returncode == 0, out.stderr
    for row in READERS:
        assert _squash(row.description) in _squash(out.stdout), (command, row.kind)


def test_the_readme_lists_every_reader():
    readme = _squash((ROOT / "README.md").read_text())
    for row in READERS:
        assert _squash(row.description) in readme, row.kind

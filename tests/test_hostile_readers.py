"""Hostile band files against the readers (issue #34, items 3, 4, 7, 9 and 13): each case crashed the
process, raised a traceback, stopped an import batch, or was read as something it is not. Every one must be
one BandDataError naming the file and the field, so that a batch goes on."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elfutils.cli import main as elf
from elfutils.data.bands import (
    MAX_BANDS,
    MAX_KPOINTS,
    MAX_SPINS,
    ZERO_LIMIT_EV,
    BandStructure,
    Branch,
)
from elfutils.data.energy_zero import energy_zero
from elfutils.data.readers import read_band_file
from elfutils.data.store import CLIP_EV, BandStore
from elfutils.errors import BandDataError

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "data" / "reader-fixtures"
QE_XML = FIXTURES / "qe" / "2dm-4991.data-file-schema.xml"
ASE_JSON = FIXTURES / "2dm-4991.ase-bands.json"
PY = sys.executable
CHILD_MEMORY_CAP = 3 * 2**30  # bytes of address space a child may use: old readers could not harm the machine


def _qe_file(folder: Path, name: str, old: str, new: str, after: str = "<band_structure>") -> Path:
    """The real QE fixture, its first ``old`` after ``after`` (in the <output> part) replaced by ``new``."""
    raw = QE_XML.read_text()
    at = raw.index(old, raw.index(after, raw.index("<output>")))
    path = folder / f"{name}.data-file-schema.xml"
    path.write_text(raw[:at] + new + raw[at + len(old):])
    return path


def _read_quietly(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # QE's "labels taken from the 2D path" note
        return read_band_file(path)


CHILD_READER = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
cap = int(sys.argv[1])
if cap:
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
from elfutils.data.readers import read_band_file
start = time.perf_counter()
for path in sys.argv[2:]:
    try:
        read_band_file(path)
        print(json.dumps([path, "read", ""]), flush=True)
    except Exception as exc:
        print(json.dumps([path, type(exc).__name__, str(exc)[:300]]), flush=True)
# VmHWM: this process image's own high-water mark (ru_maxrss would carry the forking parent's over exec)
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
peak_mb = int(hwm.split()[1]) / 1024
print(json.dumps(["peak", peak_mb, time.perf_counter() - start]))
"""


def _read_in_child(paths, memory_cap: int = 0) -> tuple[dict[Path, tuple[str, str]], float, float]:
    """Read each file in a child process, where a crash is an exit status rather than the end of the test
    run: ({path: (exception type or "read", message)}, peak memory in MB, seconds)."""
    run = subprocess.run([PY, "-c", CHILD_READER, str(memory_cap), *map(str, paths)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, f"rc {run.returncode}: {run.stderr[-1000:]}"
    *outcomes, (_, peak_mb, seconds) = map(json.loads, run.stdout.splitlines())
    return {Path(path): (kind, message) for path, kind, message in outcomes}, peak_mb, seconds


def _named(message: str, path: Path, field: str) -> bool:
    return message.startswith(f"{path}: ") and f"field '{field}'" in message


# --- item 3: a QE XML with a NaN position or cell vector crashed the process in spglib ----------------------
GEOMETRY_CASES = {  # name: (old, new, the field named)
    "nan-position": ('<atom name="B" index="1">0.000000000000000e0', '<atom name="B" index="1">nan',
                     "atomic_positions"),
    "inf-position": ('<atom name="B" index="1">0.000000000000000e0', '<atom name="B" index="1">-inf',
                     "atomic_positions"),
    "nan-cell": ("<a1>4.741322846686058e0", "<a1>nan", "cell"),
    "inf-cell": ("<a2>-2.370661423343029e0", "<a2>inf", "cell"),
    "zero-vector": ("<a3>0.000000000000000e0 0.000000000000000e0 2.267671349550925e1</a3>", "<a3>0 0 0</a3>",
                    "cell"),
    "coplanar-cell": ("<a3>0.000000000000000e0 0.000000000000000e0 2.267671349550925e1</a3>",
                      "<a3>9.48 0 0</a3>", "cell"),
    "nan-alat": ('alat="4.741322846686e0"', 'alat="nan"', "atomic_structure/alat"),
}


def test_bad_geometry_is_an_error_before_spglib_sees_it(tmp_path):
    """In a child process: on the old reader spglib killed it (rc 139)."""
    files = {name: _qe_file(tmp_path, name, old, new, after="<atomic_structure")
             for name, (old, new, _) in GEOMETRY_CASES.items()}
    outcomes, _, _ = _read_in_child(files.values())
    outcomes = {path.name.split(".")[0]: outcome for path, outcome in outcomes.items()}
    assert set(outcomes) == set(GEOMETRY_CASES)
    for name, (_, _, field) in GEOMETRY_CASES.items():
        kind, message = outcomes[name]
        assert kind == "BandDataError" and _named(message, files[name], field), (name, kind, message)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where=st.sampled_from(["<a1>4.741322846686058e0", "<a2>-2.370661423343029e0",
                              '<atom name="N" index="2">-2.362157655782213e-8']),
       value=st.floats(allow_nan=True, allow_infinity=True))
def test_any_cell_or_position_value_reads_or_names_the_file(tmp_path_factory, where, value):
    head = where[: where.index(">") + 1]
    path = _qe_file(tmp_path_factory.mktemp("qe"), "2dm-4991", where, f"{head}{value!r}",
                    after="<atomic_structure")
    try:
        _read_quietly(path)
    except BandDataError as exc:
        assert str(exc).startswith(f"{path}: ")


# --- item 4: unusable QE fields were tracebacks, and stopped `elf import` with no file named ----------------
FIELD_CASES = {  # name: (old, new, the field named)
    "fermi-word": ("<fermi_energy>-1.198759736981745e-1", "<fermi_energy>about -0.12", "fermi_energy"),
    "nbnd-word": ("<nbnd>12</nbnd>", "<nbnd>twelve</nbnd>", "nbnd"),
    "nbnd-fraction": ("<nbnd>12</nbnd>", "<nbnd>12.5</nbnd>", "nbnd"),
    "nbnd-overflow": ("<nbnd>12</nbnd>", "<nbnd>1e400</nbnd>", "nbnd"),
    "nbnd-huge": ("<nbnd>12</nbnd>", f"<nbnd>{10 * MAX_BANDS}</nbnd>", "nbnd"),
    "lsda-empty": ("<lsda>false</lsda>", "<lsda/>", "lsda"),
    "lsda-word": ("<lsda>false</lsda>", "<lsda>perhaps</lsda>", "lsda"),
}
KS_CASES = {  # the same, inside the first <ks_energies>
    "ragged-eigenvalues": (" 2.790653199585779e-1", "", "eigenvalues"),
    "two-coordinate-k": ("0.000000000000000e0 0.000000000000000e0 0.000000000000000e0</k_point>",
                         "0.000000000000000e0 0.000000000000000e0</k_point>", "k_point"),
}


def _field_files(folder: Path) -> dict[str, tuple[Path, str]]:
    folder.mkdir(exist_ok=True)
    files = {name: (_qe_file(folder, name, old, new), field)
             for name, (old, new, field) in FIELD_CASES.items()}
    files |= {name: (_qe_file(folder, name, old, new, after="<ks_energies>"), field)
              for name, (old, new, field) in KS_CASES.items()}
    return files


def test_each_unusable_qe_field_is_one_error_naming_file_and_field(tmp_path):
    for name, (path, field) in _field_files(tmp_path).items():
        with pytest.raises(BandDataError) as caught:
            _read_quietly(path)
        assert _named(str(caught.value), path, field), (name, str(caught.value))


def test_elf_info_says_one_line_and_elf_import_goes_on(tmp_path, capsys, fixture_files):
    files = _field_files(tmp_path / "bad")
    for path, field in files.values():
        assert elf(["info", str(path)]) != 0
        err = capsys.readouterr().err
        assert "Traceback" not in err and f"{path}: field '{field}'" in err, err
    store = tmp_path / "batch.elfstore"
    bad = [str(path) for path, _ in files.values()]
    assert elf(["import", *bad, str(fixture_files[0]), "--store", str(store), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert BandStore(store).ids() == [fixture_files[0].stem]  # the batch went on past every bad file
    for path, field in files.values():
        assert f"{path}: field '{field}'" in err


# --- item 7: a ground-state (k-mesh) .gpw was read as a band path Γ-Kpt0-Kpt1-Kpt2 -------------------------
@pytest.mark.dft
def test_a_ground_state_gpw_is_not_a_band_path(tmp_path, capsys):
    """A real GPAW run in seconds: H2 in a square 2D cell, LCAO, a 3 x 3 mesh; then the band path of the same
    density, which must still read."""
    pytest.importorskip("gpaw")
    from ase import Atoms
    from gpaw import GPAW

    atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]], cell=[2.5, 2.5, 6], pbc=[True, True, False])
    atoms.center(axis=2)
    atoms.calc = GPAW(mode="lcao", basis="sz(dzp)", xc="LDA", kpts={"size": (3, 3, 1), "gamma": True},
                      txt=None)
    atoms.get_potential_energy()
    ground = tmp_path / "h2-ground.gpw"
    atoms.calc.write(str(ground))
    band_calc = atoms.calc.fixed_density(kpts=atoms.cell.bandpath("GXMG", npoints=12, pbc=atoms.pbc),
                                         symmetry="off", txt=None)
    band_path = tmp_path / "h2-bands.gpw"
    band_calc.write(str(band_path))

    with pytest.raises(BandDataError, match=r"k-point mesh .* not a band path") as caught:
        read_band_file(ground)
    assert _named(str(caught.value), ground, "kpts")
    assert elf(["info", str(ground)]) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{ground}: field 'kpts'" in err, err
    bands = read_band_file(band_path)
    assert bands.path_string() == "Γ-X-M-Γ" and bands.nkpoints == 12 and bands.formula == "H2"


# --- item 9: E_F = 1e308 -- refused from a file, but a flat band at E_F once in a store ---------------------
def _small_record(efermi: float, shift: float = 0.0, source: str = "made-up.json") -> BandStructure:
    """Two bands spanning shift - 2 .. shift + 1.5 eV."""
    k = np.linspace(0, 1, 5)
    energies = shift + np.array([[-2.0 + 0.1 * k, 1.0 + 0.5 * k]])  # (spin, band, k)
    return BandStructure("m-1", "X", np.stack([k, 0 * k, 0 * k], axis=1), k, (Branch(0, 4, "\\Gamma", "X"),),
                         energies, efermi, source=source)


@settings(max_examples=80, deadline=None)
@given(efermi=st.floats(-1e6, 1e6) | st.sampled_from([1e308, -1e308]), shift=st.floats(-3000, 3000))
def test_the_zero_rule_is_zero_limit_ev_from_0_ev_and_from_the_bands(efermi, shift):
    lo, hi = shift - 2.0, shift + 1.5
    if abs(efermi) <= ZERO_LIMIT_EV and lo - ZERO_LIMIT_EV <= efermi <= hi + ZERO_LIMIT_EV:
        assert _small_record(efermi, shift).efermi == efermi
    else:
        with pytest.raises(BandDataError, match=r"^made-up.json: field 'efermi': .*ZERO_LIMIT_EV"):
            _small_record(efermi, shift)


def test_the_store_keeps_every_zero_the_rule_allows():
    """A zero within ZERO_LIMIT_EV of a band keeps that band's nearest point unclipped in the store."""
    assert CLIP_EV >= ZERO_LIMIT_EV


def _far_fermi_files(folder: Path, fixture_file: Path) -> list[Path]:
    """The same absurd Fermi level in a 2Dmatpedia JSON, an ASE JSON and a QE XML (in hartree)."""
    folder.mkdir()
    data = json.loads(fixture_file.read_text())
    data["efermi"] = 1e308
    pymatgen_json = folder / "2dm-far.json"
    pymatgen_json.write_text(json.dumps(data))
    ase = json.loads(ASE_JSON.read_text())
    ase["reference"] = 1e308
    ase_json = folder / "ase-far.json"
    ase_json.write_text(json.dumps(ase))
    qe = _qe_file(folder, "qe-far", "<fermi_energy>-1.198759736981745e-1", "<fermi_energy>1e300")
    return [pymatgen_json, ase_json, qe]


@pytest.mark.filterwarnings("ignore:.*names no high-symmetry points")
def test_a_far_fermi_level_is_refused_by_every_reader_and_never_stored(tmp_path, capsys, fixture_files):
    far = _far_fermi_files(tmp_path / "far", fixture_files[0])
    for path in far:
        with pytest.raises(BandDataError) as caught:
            _read_quietly(path)
        assert _named(str(caught.value), path, "efermi"), str(caught.value)
    store = tmp_path / "s.elfstore"
    assert elf(["import", *map(str, far), str(fixture_files[0]), "--store", str(store), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert all(f"{path}: field 'efermi'" in err for path in far)
    assert BandStore(store).ids() == [fixture_files[0].stem]
    with pytest.raises(BandDataError, match=r"^somewhere.gpw: field 'efermi'"):
        energy_zero(np.array([[[-1.0, 0.5]]]), 1e308, source="somewhere.gpw")


def test_a_stored_far_zero_is_an_error_not_a_flat_band(tmp_path, fixture_files):
    """A part written before the rule (its E_F set to 1e308 afterwards) is an error naming part and field."""
    store = BandStore(tmp_path / "old.elfstore")
    part = store.append([read_band_file(fixture_files[0])])
    with np.load(part) as f:
        arrays = {key: f[key] for key in f.files}
    arrays["efermi"] = np.array([1e308])
    part.unlink()
    np.savez_compressed(part, **arrays)
    with pytest.raises(BandDataError) as caught:
        BandStore(store.path).get(fixture_files[0].stem)
    assert _named(str(caught.value), part, "efermi")


# --- item 13: ASE JSON arrays are allocated at whatever shape the file declares -----------------------------
def _ase_with(energies_shape, energies_values, kpts_shape=None, kpts_values=None, dtype="float64") -> str:
    data = json.loads(ASE_JSON.read_text())
    data["energies"]["__ndarray__"] = [list(energies_shape), dtype, energies_values]
    if kpts_shape is not None:
        data["path"]["kpts"]["__ndarray__"] = [list(kpts_shape), "float64", kpts_values]
    return json.dumps(data)


HOSTILE_ASE = {  # name: (file text, what the error must say)
    "huge-energies": (_ase_with((1, 10**6, 10**4), [0.0]), "MAX_ARRAY_VALUES"),
    "broadcast-kpts": (_ase_with((1, 63, 18), [0.0] * 1134, (10**7, 3), [0.0]), "holds 1 values"),
    "broadcast-energies": (_ase_with((2, 5000, 5000), [1.0]), "holds 1 values"),
    "three-spins": (_ase_with((3, 63, 18), [0.0] * 3402), f"MAX_SPINS = {MAX_SPINS}"),
    "many-bands": (_ase_with((1, 63, MAX_BANDS + 1), [0.0] * 63 * (MAX_BANDS + 1)), "MAX_BANDS"),
    "many-kpoints": (_ase_with((1, 63, 18), [0.0] * 1134, (MAX_KPOINTS + 1, 3),
                               [0.0] * 3 * (MAX_KPOINTS + 1)), "MAX_KPOINTS"),
    "record-dtype": (_ase_with((1,), [0.0], dtype="V2000000000"), "not a plain number type"),
    "subarray-dtype": (_ase_with((1,), [0.0], dtype="(30000,30000)f8"), "not a plain number type"),
}


def test_declared_shapes_are_bounded_before_anything_is_allocated(tmp_path):
    """Every hostile file read in one child under a memory cap; each must be a BandDataError naming the file
    and its limit, fast, in little memory (the old reader took 1.85 GB for 3 KB, or ran for minutes)."""
    files = []
    for name, (text, _) in HOSTILE_ASE.items():
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(text)
    assert max(f.stat().st_size for f in files if "many" not in f.name) < 32_000
    outcomes, peak_mb, seconds = _read_in_child(files, memory_cap=CHILD_MEMORY_CAP)
    for path, (name, (_, expected)) in zip(files, HOSTILE_ASE.items(), strict=True):
        kind, message = outcomes[path]
        assert kind == "BandDataError" and message.startswith(f"{path}: ") and expected in message, \
            (name, kind, message)
    assert peak_mb < 400 and seconds < 30, (peak_mb, seconds)


def test_the_real_ase_file_still_reads_under_the_checks():
    assert read_band_file(ASE_JSON).nkpoints == 63

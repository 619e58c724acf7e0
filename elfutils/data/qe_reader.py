"""Quantum ESPRESSO band structures: the ``data-file-schema.xml`` that ``pw.x`` writes for a ``bands`` run.

The XML holds the cell, the atoms, the k-points, every eigenvalue and the Fermi level (Hartree atomic units),
read with the standard library's XML parser (neither ASE nor pymatgen reads this file). It holds no
high-symmetry labels: when the k-points are the 2Dmatpedia-style 2D path of the cell
(:func:`elfutils.data.kpath.kpath_2d`, the path our own DFT and 2Dmatpedia use), its labels and branches are
taken, with a warning; other paths are an error that says so.

Every field is checked before anything uses it, and any that cannot be used is a BandDataError naming the
file and the field (so that an import batch goes on): the geometry (finite, a cell that spans 3D) before
pymatgen and spglib see it -- spglib crashes the process on a NaN coordinate --, the band counts, the Fermi
level, and one row of the expected length per k-point.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from elfutils.data.bands import MAX_BANDS, MAX_KPOINTS, BandStructure, pretty_label
from elfutils.errors import BandDataError

HARTREE_EV = 27.211386245988
BOHR_ANGSTROM = 0.529177210903
QE_XML_MARK = b"<qes:espresso"
K_COORDINATES = 3  # a k-point is (kx, ky, kz) in 2 pi/alat
MIN_CELL_SINE = 1e-6  # |det(cell)| / (|a1| |a2| |a3|) below this: the cell vectors are (nearly) coplanar
QE_BOOLEANS = {"true": True, "false": False}


def _floats(element, source, field: str) -> np.ndarray:
    try:
        return np.array(element.text.split(), dtype=float)
    except (AttributeError, ValueError) as exc:
        raise BandDataError("not a list of numbers", source, field) from exc


def _text(element, source, field: str) -> str:
    text = (element.text or "").strip()
    if not text:
        raise BandDataError("empty", source, field)
    return text


def _number(element, source, field: str) -> float:
    """One finite number."""
    text = _text(element, source, field)
    try:
        value = float(text)
    except ValueError as exc:
        raise BandDataError(f"not a number: {text[:40]!r}", source, field) from exc
    if not np.isfinite(value):
        raise BandDataError(f"not finite: {text[:40]!r}", source, field)
    return value


def _count(element, source, field: str, limit: int, limit_name: str) -> int:
    """A whole number in 1..limit (pw.x writes "12", a hand-edited file may say "12.0")."""
    value = _number(element, source, field)
    if value != int(value) or not 1 <= value <= limit:
        raise BandDataError(f"{value:g} is not a whole number in 1..{limit_name} = {limit}", source, field)
    return int(value)


def _boolean(element, source, field: str) -> bool:
    text = _text(element, source, field).lower()
    if text not in QE_BOOLEANS:
        raise BandDataError(f"{text[:40]!r} is neither true nor false", source, field)
    return QE_BOOLEANS[text]


def _rows(elements, source, field: str, width: int) -> np.ndarray:
    """One row of ``width`` numbers per element (a ragged list is named, not left to numpy)."""
    rows = [_floats(e, source, field) for e in elements]
    for i, row in enumerate(rows):
        if len(row) != width:
            raise BandDataError(f"entry {i + 1} holds {len(row)} numbers, expected {width}", source, field)
    return np.array(rows).reshape(len(rows), width)


def _find(parent, tag: str, source):
    found = parent.find(tag) if parent is not None else None
    if found is None:
        raise BandDataError("missing", source, tag)
    return found


def _geometry(structure_el, source) -> tuple[float, np.ndarray, list[str], np.ndarray]:
    """(alat, cell, species, positions) in bohr, checked before pymatgen and spglib see them: spglib
    crashes the process on a NaN coordinate."""
    try:
        alat = float(structure_el.get("alat"))
    except (TypeError, ValueError) as exc:
        raise BandDataError("no lattice parameter", source, "atomic_structure/alat") from exc
    if not (np.isfinite(alat) and alat > 0):
        raise BandDataError(f"not a positive length: {alat}", source, "atomic_structure/alat")
    cell = _rows([_find(structure_el, f"cell/a{i}", source) for i in (1, 2, 3)], source, "cell", 3)
    atoms = structure_el.findall("atomic_positions/atom")
    if not atoms:
        raise BandDataError("no atoms", source, "atomic_positions")
    species = [a.get("name") or "" for a in atoms]
    positions = _rows(atoms, source, "atomic_positions", 3)
    _check_cell(cell, source)
    _check_positions(positions, cell, source)
    return alat, cell, species, positions


def _check_cell(cell: np.ndarray, source) -> None:
    if not np.isfinite(cell).all():
        raise BandDataError("NaN or infinite cell vectors", source, "cell")
    lengths = np.linalg.norm(cell, axis=1)
    if (lengths == 0).any() or not np.isfinite(lengths.prod()):
        raise BandDataError(f"cell vector lengths {lengths.tolist()}", source, "cell")
    sine = abs(np.linalg.det(cell / lengths[:, None]))
    if sine < MIN_CELL_SINE:
        raise BandDataError(f"degenerate cell: coplanar vectors (|det| of the unit vectors {sine:.2g} < "
                            f"MIN_CELL_SINE = {MIN_CELL_SINE:g})", source, "cell")


def _check_positions(positions: np.ndarray, cell: np.ndarray, source) -> None:
    fractional = positions @ np.linalg.inv(cell) if np.isfinite(positions).all() else positions
    if not np.isfinite(fractional).all():
        raise BandDataError("NaN or infinite atom positions", source, "atomic_positions")


def _band_counts(bands_el, source) -> tuple[int, int]:
    """(spin channels, bands per channel)."""
    lsda = _boolean(_find(bands_el, "lsda", source), source, "lsda")
    nbnd = _count(_find(bands_el, "nbnd", source), source, "nbnd", MAX_BANDS, "MAX_BANDS")
    return (2 if lsda else 1), nbnd


def _fermi_level(bands_el, source) -> float:
    """E_F in eV; with fixed occupations pw.x writes the highest occupied level instead."""
    fermi = bands_el.find("fermi_energy")
    field = "fermi_energy"
    if fermi is None:
        fermi, field = _find(bands_el, "highestOccupiedLevel", source), "highestOccupiedLevel"
    return _number(fermi, source, field) * HARTREE_EV


def read_qe_xml(path: str | Path, material_id: str | None = None) -> BandStructure:
    """A pw.x ``data-file-schema.xml`` of a band-path (``calculation='bands'``) run."""
    import xml.etree.ElementTree as ET

    from pymatgen.core import Lattice, Structure

    from elfutils.data.kpath import kpath_2d, path_distances

    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise BandDataError(f"not valid XML ({exc})", path) from exc
    output = _find(root, "output", path)
    structure_el = _find(output, "atomic_structure", path)
    bands_el = _find(output, "band_structure", path)
    alat, cell, species, positions = _geometry(structure_el, path)
    nspin, nbnd = _band_counts(bands_el, path)
    efermi = _fermi_level(bands_el, path)
    ks = bands_el.findall("ks_energies")
    if not 2 <= len(ks) <= MAX_KPOINTS:
        raise BandDataError(f"a band path needs 2..MAX_KPOINTS = {MAX_KPOINTS} k-points, got {len(ks)}", path,
                            "ks_energies")
    k_cart = _rows([_find(k, "k_point", path) for k in ks], path, "k_point", K_COORDINATES)
    eigs = _rows([_find(k, "eigenvalues", path) for k in ks], path, "eigenvalues", nspin * nbnd) * HARTREE_EV
    energies = eigs.reshape(len(ks), nspin, nbnd).transpose(1, 2, 0)  # (spin, band, k)
    kfrac = k_cart @ cell.T / alat  # k in 2 pi/alat, cell in bohr: k . a_i / alat = fractional k_i
    try:
        structure = Structure(Lattice(cell * BOHR_ANGSTROM), species, positions * BOHR_ANGSTROM,
                              coords_are_cartesian=True)
    except Exception as exc:
        raise BandDataError(f"unusable structure ({type(exc).__name__}: {exc})", path,
                            "atomic_structure") from exc
    try:
        kpath = kpath_2d(structure)
    except Exception as exc:  # spglib's symmetry search fails in its own ways on odd (finite) cells
        raise BandDataError(f"no 2D k-path for this cell ({type(exc).__name__}: {exc})", path,
                            "atomic_structure") from exc
    if len(kpath.kpoints) != len(kfrac) or not np.allclose(kpath.kpoints[:, :2], kfrac[:, :2], atol=1e-4):
        raise BandDataError("the k-points are not the 2D path of this cell, and the XML names no "
                            "high-symmetry points: run the bands calculation along the path of "
                            "elfutils.data.kpath.kpath_2d", path, "k_point")
    corners = [kpath.branches[0].start_label] + [b.end_label for b in kpath.branches]
    warnings.warn(f"{path}: Quantum ESPRESSO's XML names no high-symmetry points; labels taken from the 2D "
                  f"path of the cell ({'-'.join(pretty_label(c) for c in corners)})", stacklevel=2)
    distances = path_distances(kfrac, structure.lattice.reciprocal_lattice.matrix, kpath.branches)
    return BandStructure(material_id=material_id or path.name.split(".")[0],
                         formula=structure.composition.reduced_formula,
                         kpoints=kfrac, distances=distances, branches=kpath.branches, energies=energies,
                         efermi=efermi, source=str(path), metadata={"reader": "quantum-espresso xml"})

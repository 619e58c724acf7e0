"""Quantum ESPRESSO band structures: the ``data-file-schema.xml`` that ``pw.x`` writes for a ``bands`` run.

The XML holds the cell, the atoms, the k-points, every eigenvalue and the Fermi level (Hartree atomic units),
read with the standard library's XML parser (neither ASE nor pymatgen reads this file). It holds no
high-symmetry labels: when the k-points are the 2Dmatpedia-style 2D path of the cell
(:func:`elfutils.data.kpath.kpath_2d`, the path our own DFT and 2Dmatpedia use), its labels and branches are
taken, with a warning; other paths are an error that says so.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from elfutils.data.bands import BandStructure, pretty_label
from elfutils.errors import BandDataError

HARTREE_EV = 27.211386245988
BOHR_ANGSTROM = 0.529177210903
QE_XML_MARK = b"<qes:espresso"


def _floats(element, source, field: str) -> np.ndarray:
    try:
        return np.array(element.text.split(), dtype=float)
    except (AttributeError, ValueError) as exc:
        raise BandDataError("not a list of numbers", source, field) from exc


def _find(parent, tag: str, source):
    found = parent.find(tag) if parent is not None else None
    if found is None:
        raise BandDataError("missing", source, tag)
    return found


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
    try:
        alat = float(structure_el.get("alat"))
    except (TypeError, ValueError) as exc:
        raise BandDataError("no lattice parameter", path, "atomic_structure/alat") from exc
    cell = np.array([_floats(_find(structure_el, f"cell/a{i}", path), path, f"cell/a{i}") for i in (1, 2, 3)])
    atoms = structure_el.findall("atomic_positions/atom")
    if not atoms:
        raise BandDataError("no atoms", path, "atomic_positions")
    species = [a.get("name") for a in atoms]
    positions = np.array([_floats(a, path, "atomic_positions") for a in atoms])
    lsda = _find(bands_el, "lsda", path).text.strip() == "true"
    nbnd = int(float(_find(bands_el, "nbnd", path).text))
    fermi = bands_el.find("fermi_energy")
    if fermi is None:
        fermi = _find(bands_el, "highestOccupiedLevel", path)  # fixed occupations: no Fermi level
    efermi = float(fermi.text) * HARTREE_EV
    ks = bands_el.findall("ks_energies")
    if len(ks) < 2:
        raise BandDataError(f"a band path needs at least 2 k-points, got {len(ks)}", path, "ks_energies")
    k_cart = np.array([_floats(_find(k, "k_point", path), path, "k_point") for k in ks])
    eigs = np.array([_floats(_find(k, "eigenvalues", path), path, "eigenvalues") for k in ks]) * HARTREE_EV
    nspin = 2 if lsda else 1
    if eigs.shape[1] != nspin * nbnd:
        raise BandDataError(f"{eigs.shape[1]} eigenvalues per k-point for {nspin} x {nbnd} bands", path,
                            "eigenvalues")
    energies = eigs.reshape(len(ks), nspin, nbnd).transpose(1, 2, 0)  # (spin, band, k)
    kfrac = k_cart @ cell.T / alat  # k in 2 pi/alat, cell in bohr: k . a_i / alat = fractional k_i
    try:
        structure = Structure(Lattice(cell * BOHR_ANGSTROM), species, positions * BOHR_ANGSTROM,
                              coords_are_cartesian=True)
    except Exception as exc:
        raise BandDataError(f"unusable structure ({type(exc).__name__}: {exc})", path,
                            "atomic_structure") from exc
    kpath = kpath_2d(structure)
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

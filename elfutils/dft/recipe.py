"""Band structures from real DFT: GPAW, LCAO basis, PBE, along 2Dmatpedia's 2D k-path.

Settings follow ``docs/dft-recipe`` (measured on these machines): ``szp(dzp)`` basis (``dzp`` for
lanthanides),
k-point density 2.5 /Å⁻¹ Γ-centred, grid spacing 0.3 Å, Fermi-Dirac smearing 0.05 eV, 6 Å of vacuum on each
side, spin-polarised with ferromagnetic starting moments when the cell holds a magnetic d or f ion.

Energy zero (2Dmatpedia's convention, so that the ±4 eV images are comparable with the paper's): for a metal
it
is the Fermi level; for a gapped material it sits ``GAP_ZERO_OFFSET_EV`` above the valence-band maximum
(2Dmatpedia's VASP E_F lies 0.01-0.14 eV above the VBM in every gapped real band file), instead of GPAW's
mid-gap Fermi level.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import asdict, dataclass, replace

import numpy as np

from elfutils.data.bands import BandStructure
from elfutils.data.energy_zero import (
    energy_zero,  # the project's convention (GAP_ZERO_OFFSET_EV above the VBM)
)
from elfutils.data.kpath import KPath, kpath_2d, path_distances
from elfutils.errors import BandDataError

SPIN_SURVIVES_MUB = 0.05  # local moments below this on every atom: the cell is stored spin-paired

LANTHANIDES = {"La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu"}
# Ferromagnetic starting moments (μB) for ions that can carry a moment: 3d, 4d, 5d and 4f.
START_MOMENTS = {
    "Ti": 1.0, "V": 3.0, "Cr": 3.0, "Mn": 4.0, "Fe": 3.0, "Co": 2.0, "Ni": 1.0, "Cu": 0.5,
    "Nb": 1.0, "Mo": 2.0, "Tc": 2.0, "Ru": 2.0, "Rh": 1.0, "Pd": 0.5,
    "Ta": 1.0, "W": 2.0, "Re": 2.0, "Os": 2.0, "Ir": 1.0, "Pt": 0.5,
    "Ce": 1.0, "Pr": 2.0, "Nd": 3.0, "Pm": 4.0, "Sm": 5.0, "Eu": 7.0, "Gd": 7.0, "Tb": 6.0,
    "Dy": 5.0, "Ho": 4.0, "Er": 3.0, "Tm": 2.0, "Yb": 1.0,
}


# Hubbard U (eV, Dudarev, on d) of the Materials Project's GGA+U convention (pymatgen MPRelaxSet): applied to
# these metals when the cell holds O or F. 2Dmatpedia computed its band structures with MP-style workflows:
# its
# gaps for such compounds are GGA+U gaps (NiF2 2dm-1743: 2Dmatpedia 5.18 eV; our PBE 1.53 eV, PBE+U 5.81 eV).
MP_HUBBARD_U = {"Co": 3.32, "Cr": 3.7, "Fe": 5.3, "Mn": 3.9, "Mo": 4.38, "Ni": 6.2, "V": 3.25, "W": 6.2}
MP_HUBBARD_U_ANIONS = frozenset({"O", "F"})


@dataclass(frozen=True)
class DFTSettings:
    """GPAW settings for one band-structure calculation (saved with every result)."""

    basis: str = "szp(dzp)"
    lanthanide_basis: str = "dzp"  # the reduced basis crashes on lanthanide basis files
    kpt_density: float = 2.5
    grid_spacing: float = 0.3
    smearing_eV: float = 0.05
    vacuum: float = 6.0
    maxiter: int = 300
    mixer_beta: float | None = None  # None: GPAW's default mixer
    symmetry: str = "auto"  # "off" disables symmetry reduction of the SCF mesh
    spin: str = "auto"  # "auto", "on" or "off"
    hubbard_u: str = "mp"  # "mp": MP_HUBBARD_U in oxides and fluorides, as 2Dmatpedia; "off": plain PBE

    def safer(self) -> DFTSettings:
        """The retry settings after a failure: more smearing, gentler mixing, more iterations, no symmetry."""
        return replace(self, smearing_eV=0.1, maxiter=600, mixer_beta=0.02, symmetry="off")

    def retry_after(self, reason: str) -> DFTSettings:
        """The settings for the second attempt, given why the first failed. GPAW's symmetry analysis fails on
        some cells (SymmetryAnalysisBug): only symmetry needs to go; the gentle mixing of :meth:`safer` would
        make the run several times slower for nothing (one such cell ran out of time that way). A cell too
        small in-plane for GPAW's multigrid at this grid spacing ("Cannot construct interpolator", 3 one- and
        two-atom cells of the atlas) gets half the spacing."""
        if "SymmetryAnalysisBug" in reason:
            return replace(self, symmetry="off")
        if "Cannot construct interpolator" in reason:  # a cell so small in-plane that h gives a 4-point grid
            return replace(self, grid_spacing=self.grid_spacing / 2)
        return self.safer()


def hubbard_u_values(species, settings: DFTSettings) -> dict[str, float]:
    """{element: U in eV} that ``settings`` applies to a cell with these species (empty: plain PBE)."""
    elements = {str(s) for s in species}
    if settings.hubbard_u == "off" or not elements & MP_HUBBARD_U_ANIONS:
        return {}
    if settings.hubbard_u != "mp":
        raise ValueError(f"hubbard_u must be 'mp' or 'off', got {settings.hubbard_u!r}")
    return {e: MP_HUBBARD_U[e] for e in sorted(elements & MP_HUBBARD_U.keys())}


def needs_spin(species, settings: DFTSettings) -> bool:
    if settings.spin == "on":
        return True
    if settings.spin == "off":
        return False
    return any(s in START_MOMENTS for s in species)


def batch_cost(species) -> int:
    """The batch's order key: atoms, doubled when the cell starts magnetic (cheapest first, so coverage
    grows fastest if a batch is stopped)."""
    return len(species) * (2 if any(str(s) in START_MOMENTS for s in species) else 1)


def structure_from_record(record: dict):
    """A pymatgen Structure from a ``structures.jsonl`` record (lattice rows, species, fractional coords)."""
    from pymatgen.core import Lattice, Structure

    try:
        return Structure(Lattice(record["lattice"]), record["species"], record["frac_coords"])
    except KeyError as exc:
        raise BandDataError("missing", record.get("material_id", "<structure>"), str(exc.args[0])) from exc


def slab_atoms(structure, vacuum: float):
    """ASE atoms of the layer: contiguous along c, a and b in the xy plane, c along the layer normal.

    Two pitfalls of the 2Dmatpedia cells are handled here: the layer often straddles the cell boundary along
    c (we cut the periodic axis at its largest empty gap), and c is not always perpendicular to the layer
    (GPAW refuses such cells; the in-plane periodicity is all that matters for a slab).
    """
    from ase import Atoms

    frac = np.asarray(structure.frac_coords, dtype=float) % 1.0
    z = np.sort(frac[:, 2])
    gaps = np.diff(np.concatenate([z, [z[0] + 1.0]]))
    cut = (z[int(np.argmax(gaps))] + gaps.max() / 2) % 1.0  # middle of the largest empty gap
    frac[:, 2] = (frac[:, 2] - cut) % 1.0
    a, b, c = np.asarray(structure.lattice.matrix, dtype=float)
    cart = frac @ np.array([a, b, c])
    # rotate: a along x, b in the xy plane, normal along z
    ex = a / np.linalg.norm(a)
    normal = np.cross(a, b)
    normal /= np.linalg.norm(normal)
    if np.dot(normal, c) < 0:
        normal = -normal
    ey = np.cross(normal, ex)
    rot = np.array([ex, ey, normal])
    cart = cart @ rot.T
    a2, b2 = a @ rot.T, b @ rot.T
    a2[np.abs(a2) < 1e-10] = 0.0
    b2[np.abs(b2) < 1e-10] = 0.0
    a2[2] = b2[2] = 0.0  # exactly in-plane: GPAW wants the non-periodic axis orthogonal to the others
    thickness = cart[:, 2].max() - cart[:, 2].min()
    cart[:, 2] += vacuum - cart[:, 2].min()
    cell = np.array([a2, b2, [0.0, 0.0, thickness + 2 * vacuum]])
    return Atoms(symbols=[str(s) for s in structure.species], positions=cart, cell=cell, pbc=[True, True,
                                                                                              False])


def _use_project_setups() -> None:
    """Put data/gpaw-setups (the Tc dataset gpaw-data lacks; scripts/make_tc_setup.py) first on GPAW's
    path."""
    from gpaw import setup_paths

    from elfutils.paths import data_dir

    extra = str(data_dir() / "gpaw-setups")
    if extra not in map(str, setup_paths):
        setup_paths.insert(0, extra)


def _basis_for(symbols, settings: DFTSettings):
    """szp(dzp) everywhere, but full dzp for lanthanides and for Tc (its generated basis file is dzp)."""
    full = sorted(set(symbols) & (LANTHANIDES | {"Tc"}))
    if not full:
        return settings.basis
    return {"default": settings.basis, **{el: settings.lanthanide_basis for el in full}}


def _scf_iterations(calc) -> int | None:
    try:
        return int(calc.get_number_of_iterations())
    except Exception:  # not every GPAW version exposes it
        return None


def ase_bandpath(cell, kpath: KPath):
    """Our k-path as an ASE BandPath: the same k-points, the corners as special points ("G" for Γ), the path
    string with a comma at every jump."""
    from ase.dft.kpoints import BandPath

    from elfutils.data.ase_reader import ase_label as name

    special, path = {}, ""
    for i, b in enumerate(kpath.branches):
        special[name(b.start_label)] = kpath.kpoints[b.start]
        special[name(b.end_label)] = kpath.kpoints[b.end]
        joined = i and kpath.branches[i - 1].end == b.start
        path += ("" if joined else ("," if i else "") + name(b.start_label)) + name(b.end_label)
    return BandPath(cell, kpts=np.asarray(kpath.kpoints, float), special_points=special, path=path)


def compute_band_structure(
    structure,
    material_id: str,
    settings: DFTSettings | None = None,
    kpath: KPath | None = None,
    txt: str | None = None,
    on_band_calc=None,
) -> BandStructure:
    """SCF + non-self-consistent bands along the 2D path for one layer; metadata records how it was made.

    ``on_band_calc(calc)``, when given, is called with the finished band-path calculation, whose k-points are
    then an ASE ``BandPath`` with our labels (so that ``calc.band_structure()`` and ``calc.write`` keep them):
    how scripts/make_reader_fixtures.py writes real ASE and GPAW files."""
    import gpaw
    from gpaw import GPAW, FermiDirac, Mixer, MixerSum

    settings = settings or DFTSettings()
    _use_project_setups()
    start = time.perf_counter()
    kpath = kpath or kpath_2d(structure)
    atoms = slab_atoms(structure, settings.vacuum)
    symbols = atoms.get_chemical_symbols()
    spin = needs_spin(symbols, settings)
    if spin:
        atoms.set_initial_magnetic_moments([START_MOMENTS.get(s, 0.0) for s in symbols])
    params = dict(
        mode="lcao",
        xc="PBE",
        basis=_basis_for(symbols, settings),
        kpts={"density": settings.kpt_density, "gamma": True},
        h=settings.grid_spacing,
        occupations=FermiDirac(settings.smearing_eV),
        maxiter=settings.maxiter,
        nbands="nao",  # every orbital: free in LCAO, and a Fermi level even when few bands are empty
        txt=txt,
    )
    if settings.symmetry == "off":
        params["symmetry"] = "off"
    if settings.mixer_beta is not None:
        mixer = MixerSum if spin else Mixer
        params["mixer"] = mixer(beta=settings.mixer_beta, nmaxold=5, weight=50.0)
    if not spin:
        params["spinpol"] = False
    hubbard = hubbard_u_values(symbols, settings)
    if hubbard:  # GPAW's setup name ":d,U" = the default setup with U on its d orbitals
        params["setups"] = {e: f":d,{u}" for e, u in hubbard.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calc = GPAW(**params)
        atoms.calc = calc
        atoms.get_potential_energy()
        fermi = float(calc.get_fermi_level())
        nspin = calc.get_number_of_spins()
        nibz = len(calc.get_ibz_k_points())
        mesh = np.array([[calc.get_eigenvalues(kpt=k, spin=s) for k in range(nibz)] for s in range(nspin)])
        local = np.asarray(calc.get_magnetic_moments()) if nspin == 2 else np.zeros(len(atoms))
        total_moment = float(calc.get_magnetic_moment()) if nspin == 2 else 0.0
        iterations = _scf_iterations(calc)
        band_kpts = kpath.kpoints if on_band_calc is None else ase_bandpath(atoms.cell, kpath)
        band_calc = calc.fixed_density(kpts=band_kpts, symmetry="off", nbands="nao", txt=txt)
        if on_band_calc is not None:
            on_band_calc(band_calc)
        nk = len(kpath.kpoints)
        path = np.array([[band_calc.get_eigenvalues(kpt=k, spin=s) for k in range(nk)] for s in range(nspin)])
    path = path.transpose(0, 2, 1)  # (spin, band, k)
    spin_survived = nspin == 2 and float(np.abs(local).max(initial=0.0)) >= SPIN_SURVIVES_MUB
    if nspin == 2 and not spin_survived:  # moments died: store one channel, like 2Dmatpedia
        path = path.mean(axis=0, keepdims=True)
    zero, gap = energy_zero(path, fermi, mesh_eigs=mesh)
    distances = path_distances(kpath.kpoints, structure.lattice.reciprocal_lattice.matrix, kpath.branches)
    metadata = {
        "method": "GPAW LCAO PBE+U" if hubbard else "GPAW LCAO PBE",
        "hubbard_u": hubbard,
        "gpaw_version": gpaw.__version__,
        "settings": asdict(settings),
        "spin_polarized_run": bool(nspin == 2),
        "spin_polarized": bool(spin_survived),
        "total_magnetic_moment": round(total_moment, 4),
        "max_local_moment": round(float(np.abs(local).max(initial=0.0)), 4),
        "scf_iterations": iterations,
        "gpaw_fermi_level": round(fermi, 5),
        "energy_zero": "vbm+offset" if gap is not None else "fermi",
        "band_gap": round(gap, 4) if gap is not None else 0.0,
        "natoms": len(atoms),
        "path_nbands": "nao",  # every basis orbital gives a band along the path
        "n_ibz_kpoints": nibz,
        "wall_time_s": round(time.perf_counter() - start, 2),
        "omp_threads": os.environ.get("OMP_NUM_THREADS", ""),
    }
    return BandStructure(
        material_id=material_id,
        formula=structure.composition.reduced_formula,
        kpoints=kpath.kpoints,
        distances=distances,
        branches=kpath.branches,
        energies=path,
        efermi=zero,
        source=f"gpaw:{material_id}",
        metadata=metadata,
    )

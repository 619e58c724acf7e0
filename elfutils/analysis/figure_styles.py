"""Band-structure figures drawn the way papers draw them, from our own records: the figure reader's test set.

Each style is the plotting code people publish with, called as its documentation shows: pymatgen's
``BSPlotter``, ASE's ``BandStructure.plot``, sumo's ``SBSPlotter``, and plain matplotlib in four looks (black
lines; spins in two colours and dashes with a legend and a dashed E_F line; a grid, a title and the zero drawn
mid-gap; a wide JPEG at quality 75 with thick lines). :func:`draw_figure` draws one record in one style and
energy window and returns what the figure shows (the truth a reading is compared with): its energy window on
its own axis, where its zero lies relative to the record's (project) zero, and its path as drawn.

pymatgen and sumo draw k-distances from a reciprocal lattice: the material's 2Dmatpedia cell
(:func:`elfutils.data.dataset.structure_records`) when known, else a unit cell (the branches' widths then
differ from a paper's, which the reader never uses). Their zero is their own: E_F for a metal, the VBM for a
gapped material (pymatgen's rule), 0.05 eV below the project's zero.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from elfutils.data.bands import GAMMA_LABELS, BandStructure

JPEG_QUALITY = 75


@dataclass(frozen=True)
class Drawn:
    """What a drawn figure shows: ``window`` (lo, hi) on its own energy axis, ``zero_shift_ev`` (its zero
    minus the record's zero), ``path`` (labels left to right, ours: ``\\Gamma``, ``K``)."""

    window: tuple[float, float]
    zero_shift_ev: float
    path: tuple[str, ...]


def _tex(label: str) -> str:
    if label in GAMMA_LABELS:
        return r"$\Gamma$"
    head, _, sub = label.partition("_")
    return f"${head}_{{{sub}}}$" if sub else label


def _path(bs: BandStructure) -> tuple[str, ...]:
    return (bs.branches[0].start_label, *(b.end_label for b in bs.branches))


def _midgap_shift(bs: BandStructure) -> float:
    rel = bs.relative_energies()
    below, above = rel[rel <= 0], rel[rel > 0]
    if not len(below) or not len(above) or above.min() - below.max() < 0.1:
        return 0.0  # a metal: its zero stays at E_F
    return float((below.max() + above.min()) / 2)


def _matplotlib(look: str) -> Callable:
    def draw(bs: BandStructure, window, out: Path) -> Drawn:
        import matplotlib.pyplot as plt

        shift = _midgap_shift(bs) if look == "grid" else 0.0
        rel = bs.relative_energies() - shift
        size, dpi, lw = {"plain": ((5, 3.8), 120, 1.2), "spins": ((5, 3.8), 100, 1.2),
                         "grid": ((5, 3.8), 150, 1.0), "wide": ((8, 3.2), 200, 2.0)}[look]
        colours = {"plain": ("black", "black"), "spins": ("tab:blue", "tab:red"),
                   "grid": ("tab:blue", "tab:blue"), "wide": ("tab:purple", "tab:purple")}[look]
        fig, ax = plt.subplots(figsize=size, dpi=dpi)
        for s in range(bs.nspin):
            for j, b in enumerate(bs.branches):
                x = j + np.linspace(0, 1, b.end - b.start + 1)
                lines = ax.plot(x, rel[s][:, b.start:b.end + 1].T, color=colours[s], lw=lw,
                                ls="-" if s == 0 else "--")
                if j == 0:
                    lines[0].set_label("spin up" if s == 0 else "spin down")
        for j in range(1, len(bs.branches)):
            ax.axvline(j, color="black", lw=0.8)
        if look in ("spins", "grid"):
            ax.axhline(0, color="gray", lw=0.8, ls="--")
        ax.set_xlim(0, len(bs.branches))
        ax.set_ylim(*window)
        ax.set_xticks(range(len(bs.branches) + 1), [_tex(label) for label in _path(bs)])
        ax.set_ylabel(r"$E - E_\mathrm{F}$ (eV)")
        if look == "grid":
            ax.grid(True)
            ax.set_title(f"{bs.formula} (PBE)")
        if look == "spins" and bs.nspin == 2:
            ax.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        _save(fig, out, dpi)
        return Drawn(tuple(window), shift, _path(bs))

    return draw


def _save(fig, out: Path, dpi: int) -> None:
    import matplotlib.pyplot as plt

    options = {"pil_kwargs": {"quality": JPEG_QUALITY}} if out.suffix in (".jpg", ".jpeg") else {}
    fig.savefig(out, dpi=dpi, **options)
    plt.close(fig)


def _reciprocal_lattice(bs: BandStructure):
    from pymatgen.core import Lattice

    from elfutils.data.dataset import structure_records

    record = structure_records().get(bs.material_id)
    lattice = Lattice(record["lattice"]) if record else Lattice(np.eye(3))
    return lattice.reciprocal_lattice


def to_pymatgen(bs: BandStructure):
    """The record as pymatgen's ``BandStructureSymmLine`` (E_F = the record's zero)."""
    from pymatgen.electronic_structure.bandstructure import BandStructureSymmLine
    from pymatgen.electronic_structure.core import Spin

    labels = {}
    for b in bs.branches:
        labels.setdefault(b.start_label, bs.kpoints[b.start])
        labels.setdefault(b.end_label, bs.kpoints[b.end])
    spins = (Spin.up, Spin.down)[: bs.nspin]
    eigenvalues = {spin: np.asarray(bs.energies[s]) for s, spin in enumerate(spins)}
    return BandStructureSymmLine(bs.kpoints, eigenvalues, _reciprocal_lattice(bs), bs.efermi, labels)


def _pymatgen_zero(pmg, bs: BandStructure) -> float:
    zero = pmg.efermi if pmg.is_metal() else pmg.get_vbm()["energy"]
    return float(zero - bs.efermi)


def _bsplotter(bs: BandStructure, window, out: Path) -> Drawn:
    from pymatgen.electronic_structure.plotter import BSPlotter

    pmg = to_pymatgen(bs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ax = BSPlotter(pmg).get_plot(ylim=window)
    _save(ax.figure, out, 80)
    return Drawn(tuple(window), _pymatgen_zero(pmg, bs), _path(bs))


def _sumo(bs: BandStructure, window, out: Path) -> Drawn:
    from sumo.plotting.bs_plotter import SBSPlotter

    pmg = to_pymatgen(bs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plt = SBSPlotter(pmg).get_plot(ymin=window[0], ymax=window[1], width=5, height=4)
    fig = plt.gcf()
    _save(fig, out, 150)
    return Drawn(tuple(window), _pymatgen_zero(pmg, bs), _path(bs))


def _ase_name(label: str) -> str:
    return "G" if label in GAMMA_LABELS else label.replace("_", "")


def _ase(bs: BandStructure, window, out: Path) -> Drawn:
    import matplotlib.pyplot as plt
    from ase.cell import Cell
    from ase.dft.kpoints import BandPath
    from ase.spectrum.band_structure import BandStructure as AseBandStructure

    from elfutils.data.dataset import structure_records

    record = structure_records().get(bs.material_id)
    cell = Cell(np.asarray(record["lattice"]) if record else np.eye(3))
    special = {}
    for b in bs.branches:
        special.setdefault(_ase_name(b.start_label), bs.kpoints[b.start])
        special.setdefault(_ase_name(b.end_label), bs.kpoints[b.end])
    names = "".join(_ase_name(label) for label in _path(bs))
    path = BandPath(cell, kpts=bs.kpoints, special_points=special, path=names)
    fig, ax = plt.subplots(figsize=(5, 4), dpi=130)
    ase_bands = AseBandStructure(path, np.swapaxes(bs.energies, 1, 2), reference=bs.efermi)
    # ASE's plot draws absolute energies (emin/emax too): its documented way to a zero is subtract_reference
    ase_bands.subtract_reference().plot(ax=ax, emin=window[0], emax=window[1], show=False)
    fig.tight_layout()
    _save(fig, out, 130)
    return Drawn(tuple(window), 0.0, _path(bs))


# name -> (draw function, file suffix)
STYLES: dict[str, tuple[Callable, str]] = {
    "matplotlib, black lines": (_matplotlib("plain"), ".png"),
    "matplotlib, spins, legend, E_F line": (_matplotlib("spins"), ".png"),
    "matplotlib, grid, title, zero mid-gap": (_matplotlib("grid"), ".png"),
    "matplotlib, wide, thick lines, JPEG q75": (_matplotlib("wide"), ".jpg"),
    "pymatgen BSPlotter": (_bsplotter, ".png"),
    "ASE BandStructure.plot": (_ase, ".png"),
    "sumo SBSPlotter": (_sumo, ".png"),
}


def available_styles() -> list[str]:
    """The styles whose plotting library is installed (sumo is optional: ``pip install sumo``)."""
    import importlib.util

    return [name for name in STYLES if name != "sumo SBSPlotter" or importlib.util.find_spec("sumo")]


def draw_figure(bs: BandStructure, style: str, window: tuple[float, float], out: Path) -> Drawn:
    """Draw ``bs`` in ``style`` with ``window`` (eV, the style's own zero) on its energy axis into ``out``
    (its suffix replaced by the style's); returns what the figure shows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    draw, _ = STYLES[style]
    # each style starts from matplotlib's defaults and leaves them so: sumo (plt.style.use) and pymatgen set
    # global rc parameters, which would otherwise restyle every figure drawn after theirs
    with matplotlib.rc_context(), plt.style.context("default"):
        return draw(bs, window, out)


def figure_suffix(style: str) -> str:
    return STYLES[style][1]

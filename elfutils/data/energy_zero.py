"""One energy zero for every band structure, whatever code computed it.

The images show ±4 eV around the energy zero, so the zero decides where the bands sit: a gapped material
whose file puts E_F mid-gap (GPAW, Quantum ESPRESSO and ASE files do, wherever their smearing lands) is drawn
shifted by half its gap — 40 pixels for a 3 eV insulator — and no longer finds its look-alikes.
2Dmatpedia's VASP files put E_F 0.01–0.14 eV above the valence-band maximum of every gapped material, and our
own DFT follows them, so the project's convention is:

* a metal (a band crosses E_F, or the gap is below METAL_GAP_EV): the file's Fermi level;
* a gapped material: GAP_ZERO_OFFSET_EV above the valence-band maximum (at most half the gap).

:func:`to_project_zero` brings any record to it and says so in the metadata (``energy_zero``, and the file's
own ``file_efermi``); every reader applies it unless asked to keep the file's zero.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from elfutils.choices import CHOICES
from elfutils.data.bands import zero_problem
from elfutils.errors import BandDataError

GAP_ZERO_OFFSET_EV = CHOICES.gap_zero_offset_ev  # a gapped material's zero sits this far above its VBM
METAL_GAP_EV = CHOICES.metal_gap_ev  # a "gap" smaller than this counts as metallic (no zero shift)
FILE_ZERO = "file"  # the metadata's energy_zero when a reader was asked to keep the file's own zero
ENERGY_ZEROS = ("project", FILE_ZERO)  # how a band file's zero is set: the project's convention, or its own


def energy_zero(path_eigs, fermi: float, mesh_eigs=None, source=None) -> tuple[float, float | None]:
    """(energy zero, gap or None for a metal) from band-path eigenvalues (``(..., nk)``, any leading shape),
    optionally with more eigenvalues (an SCF mesh, any shape) that also bound the gap, and the Fermi level.

    A band crossing E_F on the path, or a gap below METAL_GAP_EV, makes a metal (zero = E_F); otherwise the
    zero is VBM + GAP_ZERO_OFFSET_EV (at most half the gap). A Fermi level that breaks
    :func:`elfutils.data.bands.zero_problem` is a BandDataError naming ``source`` and ``efermi``."""
    path = np.asarray(path_eigs, dtype=float)
    eigs = path.ravel() if mesh_eigs is None else np.concatenate([path.ravel(), np.ravel(mesh_eigs)])
    problem = zero_problem(fermi, eigs)  # NaN or 1e308 would pass every comparison below unnoticed
    if problem:
        raise BandDataError(problem, source, "efermi")
    below, above = eigs[eigs <= fermi], eigs[eigs > fermi]
    crosses = bool(((path.min(axis=-1) < fermi) & (path.max(axis=-1) > fermi)).any())
    if crosses or below.size == 0 or above.size == 0:
        return float(fermi), None
    vbm, cbm = below.max(), above.min()
    if cbm - vbm < METAL_GAP_EV:
        return float(fermi), None
    return float(vbm + min(GAP_ZERO_OFFSET_EV, (cbm - vbm) / 2)), float(cbm - vbm)


def to_project_zero(bs):
    """The band structure with the project's energy zero (see the module docstring): its ``efermi`` moved
    for a gapped material, unchanged for a metal; metadata ``energy_zero`` ("vbm+offset" or "fermi") and
    ``file_efermi`` (the zero the file gave). A record already brought to it is returned as it is."""
    if bs.metadata.get("energy_zero") in ("vbm+offset", "fermi"):
        return bs
    zero, gap = energy_zero(bs.energies, bs.efermi, source=bs.source or bs.material_id)
    metadata = {**bs.metadata, "energy_zero": "fermi" if gap is None else "vbm+offset",
                "file_efermi": float(bs.efermi)}
    return dataclasses.replace(bs, efermi=zero, metadata=metadata)


def keep_file_zero(bs):
    """The band structure as the file gave it, marked so (metadata ``energy_zero`` = FILE_ZERO)."""
    return dataclasses.replace(bs, metadata={**bs.metadata, "energy_zero": FILE_ZERO,
                                             "file_efermi": float(bs.efermi)})

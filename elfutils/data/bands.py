"""One immutable band-structure record, whatever the source (2Dmatpedia JSON, Materials Project, VASP, DFT).

Shapes: ``nk`` k-points along the path, ``nb`` bands, ``ns`` spin channels (1 or 2).
Energies are in eV, absolute (the Fermi level ``efermi`` is stored beside them); ``relative_energies()``
gives them relative to E_F, which is what the images show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from elfutils.errors import BandDataError

GAMMA_LABELS = {"\\Gamma", "Γ", "G", "GAMMA", "Gamma", "\\mathrm{\\Gamma}"}

# Sizes a reader accepts, checked before it allocates anything (a file may declare any shape it likes):
# far above any band path (2Dmatpedia: 21 k-points a segment, at most a few hundred bands).
MAX_SPINS = 2
MAX_KPOINTS = 10_000
MAX_BANDS = 5_000
# How far an energy zero (E_F) may lie from the code's own 0 eV and from the band energies. No code puts a
# Fermi level a keV from its reference or from every band it computed; and the store keeps energies relative
# to the zero, clipped at its CLIP_EV (at least this), so a zero further out could come back from the store
# as a flat band exactly at E_F.
ZERO_LIMIT_EV = 1000.0


def zero_problem(zero: float, energies) -> str | None:
    """Why ``zero`` cannot be the energy zero of these band energies (eV), or None: it must be finite, and
    within ZERO_LIMIT_EV both of 0 eV and of the band energies. The one rule for every reader, the energy
    zero and the store."""
    try:
        zero = float(zero)
    except (TypeError, ValueError):
        return f"not a number: {zero!r}"
    if not np.isfinite(zero):
        return f"not finite: {zero}"
    if abs(zero) > ZERO_LIMIT_EV:
        return f"{zero:g} eV is beyond ZERO_LIMIT_EV = {ZERO_LIMIT_EV:g} eV"
    energies = np.asarray(energies, dtype=float)
    lo, hi = float(energies.min()), float(energies.max())
    if not lo - ZERO_LIMIT_EV <= zero <= hi + ZERO_LIMIT_EV:
        return (f"{zero:g} eV lies more than ZERO_LIMIT_EV = {ZERO_LIMIT_EV:g} eV outside the band energies "
                f"({lo:.4g}..{hi:.4g} eV)")
    return None


def pretty_label(label: str) -> str:
    """'\\Gamma' -> 'Γ', 'X_1' -> 'X₁' (for plots and path strings)."""
    if label in GAMMA_LABELS:
        return "Γ"
    subscripts = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
    if "_" in label:
        head, _, tail = label.partition("_")
        return head + tail.strip("{}").translate(subscripts)
    return label


@dataclass(frozen=True)
class Branch:
    """A continuous piece of the k-path: indices ``start..end`` inclusive, from one label to another."""

    start: int
    end: int
    start_label: str
    end_label: str


@dataclass(frozen=True, eq=False)
class BandStructure:
    """A band structure along a high-symmetry path.

    Attributes:
        material_id: e.g. ``2dm-1``.
        formula: reduced formula, e.g. ``IrF2``.
        kpoints: (nk, 3) fractional reciprocal coordinates.
        distances: (nk,) cumulative path length in 1/Å; a point repeated at a branch boundary has the same
            distance twice.
        branches: continuous path pieces in order; a jump (``X|Y``) is a boundary whose labels differ.
        energies: (ns, nb, nk) eigenvalues in eV (absolute).
        efermi: the energy zero used for the images, in eV.
        source: where the record came from (file name or description).
        metadata: free provenance (DFT settings, band gap, ...), read-only.
    """

    material_id: str
    formula: str
    kpoints: np.ndarray
    distances: np.ndarray
    branches: tuple[Branch, ...]
    energies: np.ndarray
    efermi: float
    source: str = ""
    metadata: Mapping = field(default_factory=dict)

    def __post_init__(self):
        src = self.source or self.material_id
        kpoints = np.asarray(self.kpoints, dtype=float)
        distances = np.asarray(self.distances, dtype=float)
        energies = np.asarray(self.energies, dtype=float)
        if energies.ndim == 2:
            energies = energies[None]
        if energies.ndim != 3 or energies.shape[0] not in (1, 2):
            raise BandDataError(f"expected (spin, band, k) energies, got shape {energies.shape}", src,
                                "bands")
        nk = energies.shape[2]
        if nk < 2:
            raise BandDataError(f"a band path needs at least 2 k-points, got {nk}", src, "kpoints")
        if energies.shape[1] == 0:
            raise BandDataError("no bands", src, "bands")
        if kpoints.shape != (nk, 3):
            raise BandDataError(f"kpoints shape {kpoints.shape} does not match {nk} k-points", src, "kpoints")
        if distances.shape != (nk,):
            raise BandDataError(f"distances shape {distances.shape} does not match {nk} k-points", src,
                                "kpoints")
        if not np.all(np.isfinite(energies)):
            raise BandDataError("energies contain NaN or infinite values", src, "bands")
        if not (np.all(np.isfinite(kpoints)) and np.all(np.isfinite(distances))):
            raise BandDataError("k-points contain NaN or infinite values", src, "kpoints")
        zero = zero_problem(self.efermi, energies)
        if zero:
            raise BandDataError(zero, src, "efermi")
        if not self.branches:
            raise BandDataError("no path branches", src, "branches")
        for b in self.branches:
            if not (0 <= b.start < b.end < nk):
                raise BandDataError(
                    f"branch {b.start_label}-{b.end_label} spans k-indices {b.start}..{b.end} of {nk}; "
                    "each branch needs at least 2 k-points",
                    src,
                    "branches",
                )
        for arr in (kpoints, distances, energies):
            arr.setflags(write=False)
        object.__setattr__(self, "kpoints", kpoints)
        object.__setattr__(self, "distances", distances)
        object.__setattr__(self, "energies", energies)
        object.__setattr__(self, "efermi", float(self.efermi))
        object.__setattr__(self, "branches", tuple(self.branches))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    def __reduce__(self):  # picklable (worker processes send records): the read-only mapping goes as a dict
        return (
            BandStructure,
            (self.material_id, self.formula, self.kpoints, self.distances, self.branches, self.energies,
             self.efermi, self.source, dict(self.metadata)),
        )

    # --- shape -----------------------------------------------------------------------------------------
    @property
    def nspin(self) -> int:
        return self.energies.shape[0]

    @property
    def nbands(self) -> int:
        return self.energies.shape[1]

    @property
    def nkpoints(self) -> int:
        return self.energies.shape[2]

    @property
    def is_spin_polarized(self) -> bool:
        return self.nspin == 2

    # --- energies ----------------------------------------------------------------------------------------
    def relative_energies(self) -> np.ndarray:
        """(ns, nb, nk) energies relative to the Fermi level, in eV."""
        return self.energies - self.efermi

    def energy_range(self) -> tuple[float, float]:
        """Lowest and highest eigenvalue relative to E_F (eV)."""
        rel = self.relative_energies()
        return float(rel.min()), float(rel.max())

    def band_gap(self) -> float:
        """Gap between the highest state below E_F and the lowest above it (0 for a metal), eV.

        A band that crosses E_F anywhere in any spin channel makes the material a metal.
        """
        rel = self.relative_energies().reshape(-1, self.nkpoints)
        crosses = (rel.min(axis=1) < 0) & (rel.max(axis=1) > 0)
        if crosses.any():
            return 0.0
        below, above = rel[rel <= 0], rel[rel > 0]
        if below.size == 0 or above.size == 0:
            return 0.0
        return float(above.min() - below.max())

    def flat_band_count(self, window: float = 1.0, max_width: float = 0.1) -> int:
        """Bands (counted per spin channel) lying wholly within ±``window`` eV of E_F whose dispersion along
        the path, max - min, is at most ``max_width`` eV: how crowded the flat bands near E_F are."""
        rel = self.relative_energies().reshape(-1, self.nkpoints)
        near = (rel.min(axis=1) >= -window) & (rel.max(axis=1) <= window)
        flat = rel.max(axis=1) - rel.min(axis=1) <= max_width
        return int((near & flat).sum())

    # --- path --------------------------------------------------------------------------------------------
    def labels(self) -> list[tuple[int, str]]:
        """(k-index, label) of every branch end, in path order."""
        out = []
        for b in self.branches:
            out.append((b.start, b.start_label))
            out.append((b.end, b.end_label))
        return out

    def path_string(self) -> str:
        """E.g. 'Γ-K-M-Γ', with '|' where the path jumps ('X|Y')."""
        parts = [pretty_label(self.branches[0].start_label)]
        prev_end = self.branches[0].start_label
        for b in self.branches:
            if b.start_label != prev_end:
                parts[-1] += "|" + pretty_label(b.start_label)
            parts.append(pretty_label(b.end_label))
            prev_end = b.end_label
        return "-".join(parts)

    def summary(self) -> dict:
        """Plain facts for `elf info`."""
        lo, hi = self.energy_range()
        return {
            "material_id": self.material_id,
            "formula": self.formula,
            "spin_polarized": self.is_spin_polarized,
            "nkpoints": self.nkpoints,
            "nbands": self.nbands,
            "path": self.path_string(),
            "efermi_eV": round(self.efermi, 4),
            "energy_zero": str(self.metadata.get("energy_zero", "file")),
            "energy_min_eV": round(lo, 3),
            "energy_max_eV": round(hi, 3),
            "band_gap_eV": round(self.band_gap(), 3),
            "source": self.source,
        }

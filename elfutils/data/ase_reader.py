"""Band structures as ASE holds them: ``ase.spectrum.band_structure.BandStructure`` JSON (what
``ase band-structure`` and C2DB write) and GPAW ``.gpw`` files of a band-path calculation (read through GPAW's
own ``calc.band_structure()``). ASE does the parsing; this module only maps its path onto our branches."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from elfutils.data.bands import BandStructure, Branch
from elfutils.errors import BandDataError

ASE_TYPE_KEY = "__ase_objtype__"
GPW_MAGIC = b"- of Ulm"  # the first bytes of a GPAW .gpw (ASE's ulm format)
ASE_GAMMA = "G"


def is_ase_band_json(data) -> bool:
    return isinstance(data, dict) and data.get(ASE_TYPE_KEY) == "bandstructure"


def branches_of(bandpath, source) -> tuple[Branch, ...]:
    """Our branches from an ASE BandPath: its path string's segments ("GKMG,A" -> G-K, K-M, M-G, then a jump),
    each corner found as the first k-point at or after the previous corner that lies on the special point
    (else the nearest one after it); a corner named twice in a row ("GKKMMG") is a repeated k-point, as in
    2Dmatpedia's paths, and starts the next branch."""
    from ase.dft.kpoints import parse_path_string

    kpts = np.asarray(bandpath.kpts, dtype=float)
    if not bandpath.path:
        raise BandDataError("the band path has no high-symmetry labels", source, "path")
    segments = [seg for seg in parse_path_string(bandpath.path) if len(seg) >= 2]
    if not segments:
        raise BandDataError(f"the band path {bandpath.path!r} has no segment of two points", source, "path")
    steps = np.linalg.norm(np.diff(kpts, axis=0), axis=1)
    tolerance = 0.5 * float(np.median(steps[steps > 0])) if (steps > 0).any() else 1e-6
    branches, start = [], 0
    for segment in segments:
        corners = []
        for label in segment:
            if label not in bandpath.special_points:
                raise BandDataError(f"label {label!r} is not among the special points", source,
                                    "special_points")
            if corners and corners[-1][2] == label:  # "KK": the corner repeated (2Dmatpedia's paths do)
                start = corners[-1][0] + 1
            d = np.linalg.norm(kpts[start:] - np.asarray(bandpath.special_points[label]), axis=1)
            if not len(d):
                raise BandDataError(f"the k-points end before corner {label!r}", source, "kpts")
            on = np.flatnonzero(d < tolerance)
            index = start + int(on[0] if len(on) else np.argmin(d))
            corners.append((index, _our_label(label), label))
            start = index
        for (i, a, raw_a), (j, b, raw_b) in itertools.pairwise(corners):
            if j > i and raw_a != raw_b:
                branches.append(Branch(i, j, a, b))
        start += 1  # a jump: the next segment starts after this one's last point
    return tuple(branches)


def _our_label(label: str) -> str:
    """ASE's special-point name as our branch label ("G" -> "\\Gamma")."""
    return "\\Gamma" if label == ASE_GAMMA else label


def ase_label(label: str) -> str:
    """Our branch label (or any spelling of Γ) as ASE's special-point name: the inverse of _our_label."""
    return ASE_GAMMA if label.strip("\\").lower() in ("gamma", "g", "\N{GREEK SMALL LETTER GAMMA}") else label


def from_ase(bs, material_id: str, formula: str, source) -> BandStructure:
    """Our record of an ASE BandStructure (energies (spin, k, band) in eV, ``reference`` = E_F); whatever in
    it
    cannot be used is a BandDataError naming the file and the field."""
    try:
        efermi = float(bs.reference)
    except (TypeError, ValueError) as exc:
        raise BandDataError(f"not a number: {bs.reference!r}", source, "reference") from exc
    try:
        energies = np.asarray(bs.energies, dtype=float)
    except (TypeError, ValueError) as exc:
        raise BandDataError("not an array of numbers", source, "energies") from exc
    if energies.ndim != 3:
        raise BandDataError(f"expected (spin, k, band) energies, got shape {energies.shape}", source,
                            "energies")
    bandpath = bs.path
    try:
        kpts = np.asarray(bandpath.kpts, dtype=float)
        x, _, _ = bandpath.get_linear_kpoint_axis()
    except (AttributeError, TypeError, ValueError) as exc:
        raise BandDataError(f"not a band path ({type(exc).__name__}: {exc})", source, "path") from exc
    if kpts.ndim != 2 or len(kpts) != energies.shape[1]:
        raise BandDataError(f"{len(kpts)} k-points for {energies.shape[1]} energies per band", source, "kpts")
    return BandStructure(material_id=material_id, formula=formula, kpoints=kpts, distances=np.asarray(x,
                                                                                                      float),
                         branches=branches_of(bandpath, source), energies=energies.transpose(0, 2, 1),
                         efermi=efermi, source=str(source), metadata={"reader": "ase"})


def read_ase_band_json(path: str | Path, material_id: str | None = None,
                       text: str | None = None) -> BandStructure:
    """An ASE BandStructure JSON file (``BandStructure.write``, ``ase band-structure``, C2DB); ``text``: its
    content when the caller has read it already (a gzipped file, for instance)."""
    from ase.io.jsonio import decode

    path = Path(path)
    try:
        bs = decode(text if text is not None else path.read_text(encoding="utf-8"))
    except RecursionError:
        raise  # read_band_file makes it one clear line
    except Exception as exc:
        raise BandDataError(f"ASE could not read it as a band structure: {type(exc).__name__}: {exc}",
                            path) from exc
    if getattr(bs, "ase_objtype", None) != "bandstructure":
        raise BandDataError(f"an ASE {getattr(bs, 'ase_objtype', type(bs).__name__)}, not a band structure",
                            path)
    # an ASE band structure carries no atoms: the formula stays empty
    return from_ase(bs, material_id or path.name.removesuffix(".gz").removesuffix(".json"), "", path)


def read_gpw(path: str | Path, material_id: str | None = None) -> BandStructure:
    """A GPAW ``.gpw`` file of a band-path calculation (``calc.write`` after
    ``fixed_density(kpts=BandPath)``)."""
    path = Path(path)
    try:
        from gpaw import GPAW
    except ImportError as exc:
        raise BandDataError(f"reading a .gpw file needs GPAW ({exc}); make gpaw", path) from exc
    try:
        calc = GPAW(str(path), txt=None)
        bs = calc.band_structure()
        formula = calc.get_atoms().get_chemical_formula(mode="reduce")
    except Exception as exc:
        raise BandDataError(f"GPAW could not read a band structure from it: {type(exc).__name__}: {exc}",
                            path) from exc
    return from_ase(bs, material_id or path.stem, formula, path)

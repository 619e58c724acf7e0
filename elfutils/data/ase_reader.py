"""Band structures as ASE holds them: ``ase.spectrum.band_structure.BandStructure`` JSON (what
``ase band-structure`` and C2DB write) and GPAW ``.gpw`` files of a band-path calculation (read through GPAW's
own ``calc.band_structure()``). ASE does the parsing; this module only maps its path onto our branches.

ASE allocates every array of a JSON file at the shape the file declares, so the declarations are checked first
(:func:`check_declared_sizes`: a 3 KB file could ask for gigabytes). A ``.gpw`` of a ground-state calculation
(a k-point mesh) is refused: GPAW presents its irreducible k-points as a band path ``Γ-Kpt0-Kpt1-...``."""

from __future__ import annotations

import itertools
import json
import math
from functools import partial
from pathlib import Path

import numpy as np

from elfutils.data.bands import MAX_BANDS, MAX_KPOINTS, MAX_SPINS, BandStructure, Branch
from elfutils.errors import BandDataError

ASE_TYPE_KEY = "__ase_objtype__"
ASE_ARRAY_KEY = "__ndarray__"  # ASE's JSON array: {"__ndarray__": [shape, dtype, flat values]}
GPW_MAGIC = b"- of Ulm"  # the first bytes of a GPAW .gpw (ASE's ulm format)
ASE_GAMMA = "G"
MAX_ARRAY_VALUES = MAX_SPINS * MAX_KPOINTS * MAX_BANDS  # the largest array a band structure holds: energies
MAX_ARRAY_NDIM = 3  # energies (spin, k, band); every other array of a band structure has fewer axes
ARRAY_KINDS = "biufc"  # numbers only: no strings, objects or structured records of any size
MAX_ITEM_BYTES = 16  # complex128, the widest number type ASE writes
MESH_KEYS = ("size", "density")  # a GPAW kpts parameter with either key asks for a Monkhorst-Pack mesh


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
        text = text if text is not None else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BandDataError(f"unreadable as UTF-8 text ({type(exc).__name__}: {exc})", path) from exc
    check_declared_sizes(text, path)
    try:
        bs = decode(text)
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


# --- sizes before allocation: ASE allocates whatever shape a file declares (np.empty, then broadcast) -------
class _Declared:
    """An ASE JSON array, its declaration checked and nothing allocated."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape


def check_declared_sizes(text: str, source) -> None:
    """Parse ``text`` with the standard library, without ASE, and check every declared array (numbers only,
    at most MAX_ARRAY_VALUES values, as many values as its shape says) and the band structure's spin
    channels, k-points and bands (MAX_SPINS, MAX_KPOINTS, MAX_BANDS) before ASE allocates anything: a 3 KB
    file may declare an array of gigabytes. Text that is not JSON is left to ASE to report."""
    try:
        data = json.loads(text, object_hook=partial(_declared_array, source=source))
    except (BandDataError, RecursionError):
        raise
    except ValueError:
        return
    if is_ase_band_json(data):
        _check_band_sizes(data, source)


def _declared_array(obj: dict, source):
    if ASE_ARRAY_KEY not in obj:
        return obj
    spec = obj[ASE_ARRAY_KEY]
    if not (isinstance(spec, list) and len(spec) == 3 and isinstance(spec[0], list)
            and isinstance(spec[2], list)):
        raise BandDataError("expected [shape, dtype, values]", source, ASE_ARRAY_KEY)
    shape, dtype, values = spec
    if len(shape) > MAX_ARRAY_NDIM or not all(type(n) is int and n >= 0 for n in shape):
        raise BandDataError(f"shape {shape} is not up to {MAX_ARRAY_NDIM} sizes >= 0", source, ASE_ARRAY_KEY)
    count = math.prod(shape)
    if count > MAX_ARRAY_VALUES:
        raise BandDataError(f"declares an array of shape {shape} ({count} values); the limit is "
                            f"MAX_ARRAY_VALUES = {MAX_ARRAY_VALUES}", source, ASE_ARRAY_KEY)
    kind = _number_kind(dtype, source)
    if len(values) != count * (2 if kind == "c" else 1):  # ASE stores a complex as two floats
        raise BandDataError(f"declares shape {shape} but holds {len(values)} values", source, ASE_ARRAY_KEY)
    return _Declared(tuple(shape))


def _number_kind(dtype, source) -> str:
    try:
        parsed = np.dtype(dtype) if isinstance(dtype, str) else None
    except Exception:  # numpy's dtype parser raises several types on nonsense
        parsed = None
    if parsed is None or parsed.kind not in ARRAY_KINDS or parsed.itemsize > MAX_ITEM_BYTES:
        raise BandDataError(f"dtype {str(dtype)[:40]!r} is not a plain number type", source, ASE_ARRAY_KEY)
    return parsed.kind


def _shape(value) -> tuple[int, ...]:
    """The shape of a declared array, or of a nested list along its first elements (a list is as large as
    the text that holds it, so it needs no exact count here)."""
    if isinstance(value, _Declared):
        return value.shape
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return tuple(shape)


def _check_band_sizes(data: dict, source) -> None:
    energies = _shape(data.get("energies"))
    path = data.get("path")
    kpts = _shape(path.get("kpts")) if isinstance(path, dict) else ()
    sizes = [("spin channels", energies[:1], MAX_SPINS, "MAX_SPINS", "energies"),
             ("k-points", energies[1:2], MAX_KPOINTS, "MAX_KPOINTS", "energies"),
             ("bands", energies[2:3], MAX_BANDS, "MAX_BANDS", "energies"),
             ("k-points", kpts[:1], MAX_KPOINTS, "MAX_KPOINTS", "path/kpts")]
    for what, size, limit, name, field in sizes:
        if size and size[0] > limit:
            raise BandDataError(f"declares {size[0]} {what}; the limit is {name} = {limit}", source, field)


def read_gpw(path: str | Path, material_id: str | None = None) -> BandStructure:
    """A GPAW ``.gpw`` file of a band-path calculation (``calc.write`` after
    ``fixed_density(kpts=BandPath)``); a ground-state (k-point mesh) file is a BandDataError."""
    path = Path(path)
    try:
        from gpaw import GPAW
    except ImportError as exc:
        raise BandDataError(f"reading a .gpw file needs GPAW ({exc}); make gpaw", path) from exc
    try:
        kpts = _kpoint_request(path)
    except Exception as exc:
        raise BandDataError(f"not a readable .gpw file: {type(exc).__name__}: {exc}", path) from exc
    if is_mesh_request(kpts):
        asked = "GPAW's default, the Γ point alone" if kpts is None else f"kpts={kpts!r}"
        raise BandDataError(f"a ground-state calculation on a k-point mesh ({asked}), not a band path: read "
                            "the .gpw that calc.fixed_density(kpts=<BandPath>) wrote", path, "kpts")
    try:
        calc = GPAW(str(path), txt=None)
        bs = calc.band_structure()
        formula = calc.get_atoms().get_chemical_formula(mode="reduce")
    except Exception as exc:
        raise BandDataError(f"GPAW could not read a band structure from it: {type(exc).__name__}: {exc}",
                            path) from exc
    return from_ase(bs, material_id or path.stem, formula, path)


def _kpoint_request(path: Path):
    """The ``kpts`` parameter the calculation was run with, as GPAW wrote it (None when left at GPAW's
    default, the Γ point alone), read with ASE's ulm reader: no GPAW version's object model involved."""
    from ase.io import ulm

    with ulm.open(path) as reader:
        return reader.parameters.asdict().get("kpts")


def is_mesh_request(kpts) -> bool:
    """Whether a GPAW ``kpts`` parameter asks for a Monkhorst-Pack mesh (a ground-state calculation) rather
    than listing k-points (a band path): ``{"size": ..}``, ``{"density": ..}``, ``(n1, n2, n3)`` or nothing
    (GPAW's default, the Γ point)."""
    if kpts is None:
        return True
    if isinstance(kpts, dict):
        return any(key in kpts for key in MESH_KEYS)
    counts = np.asarray(kpts)
    return counts.shape == (3,) and counts.dtype.kind in "iu"

"""Band structures in, one record out: the table of readers (:data:`READERS`) and the pymatgen-based ones.

Every input format is one row of :data:`READERS` (name patterns, content sniff, id rule, read function):
2Dmatpedia / Materials Project JSON and ASE (C2DB) JSON, VASP ``vasprun.xml``, GPAW ``.gpw`` and Quantum
ESPRESSO's ``data-file-schema.xml``. Parsing is the owning library's (pymatgen, ASE, GPAW; the standard XML
parser for QE); these modules only validate and convert. The project's compact store
(:mod:`elfutils.data.store`) holds many records and is not a reader row.
"""

from __future__ import annotations

import contextlib
import fnmatch
import gzip
import json
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from elfutils.data.bands import BandStructure, Branch
from elfutils.data.energy_zero import ENERGY_ZEROS  # what a reader may do with the file's zero
from elfutils.data.figure_reader import FigureOptions, figure_id, is_figure, read_figure
from elfutils.errors import BandDataError

REQUIRED_KEYS = ("bands", "efermi", "kpoints", "labels_dict", "lattice_rec")
WRAPPER_KEYS = ("band_structure", "bandstructure", "bs", "data")


def from_pymatgen(bs, material_id: str = "", formula: str | None = None, source: str = "") -> BandStructure:
    """Convert a pymatgen ``BandStructureSymmLine`` into a :class:`BandStructure`."""
    from pymatgen.electronic_structure.core import Spin

    src = source or material_id or "<BandStructureSymmLine>"
    spins = [Spin.up, Spin.down] if bs.is_spin_polarized else [Spin.up]
    try:
        energies = np.stack([np.asarray(bs.bands[s], dtype=float) for s in spins])
    except KeyError as exc:
        raise BandDataError(f"spin channel {exc} missing", src, "bands") from exc
    except ValueError as exc:  # the two spin channels differ in shape
        raise BandDataError(f"spin channels do not match ({exc})", src, "bands") from exc
    kpoints = np.array([k.frac_coords for k in bs.kpoints], dtype=float)
    distances = np.asarray(bs.distance, dtype=float)
    branches = tuple(
        Branch(int(b["start_index"]), int(b["end_index"]),
               *_split_branch_name(b["name"])) for b in bs.branches
    )
    unlabelled = [f"{b.start_label}-{b.end_label}" for b in branches
                  if {b.start_label, b.end_label} & {"None", ""}]
    if unlabelled:  # pymatgen names a branch "None-None" when the file gives no high-symmetry labels
        raise BandDataError(f"the k-path has unlabelled high-symmetry points (branch {unlabelled[0]}); "
                            "a band path needs its corners labelled", src, "labels_dict")
    if formula is None:
        formula = bs.structure.composition.reduced_formula if bs.structure is not None else ""
    return BandStructure(
        material_id=material_id,
        formula=formula,
        kpoints=kpoints,
        distances=distances,
        branches=branches,
        energies=energies,
        efermi=float(bs.efermi),
        source=src,
    )


def _split_branch_name(name: str) -> tuple[str, str]:
    start, sep, end = name.partition("-")
    return (start, end) if sep else (name, name)


def _unwrap(data, source) -> dict:
    if not isinstance(data, dict):
        raise BandDataError(f"expected a JSON object, got {type(data).__name__}", source)
    for key in WRAPPER_KEYS:
        if key in data and isinstance(data[key], dict) and "bands" in data[key]:
            return data[key]
    return data


ASE_BANDS_QUALIFIER = ".ase-bands"  # NAME.ase-bands.json (scripts/make_reader_fixtures.py): the id is NAME


def _material_id_from_path(path: Path) -> str:
    """The file name without its extensions and without the qualifier ASE band files carry
    (``2dm-4991.ase-bands.json`` -> ``2dm-4991``). The id every reader gets for a JSON or .gpw file:
    :func:`read_band_file` passes it to the reader, and :func:`material_id_of` returns it."""
    name = path.name
    for suffix in (".gz", ".json", ".xml", ".gpw", ASE_BANDS_QUALIFIER):
        name = name.removesuffix(suffix)
    return name


def read_band_json(path: str | Path, material_id: str | None = None) -> BandStructure:
    """Read a 2Dmatpedia / Materials Project band-structure JSON (optionally gzipped)."""
    path = Path(path)
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as fh:
            text = fh.read()
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise BandDataError(f"not valid JSON ({exc})", path) from exc
    from elfutils.data.ase_reader import is_ase_band_json, read_ase_band_json

    if is_ase_band_json(data):  # told apart by content: ASE's (C2DB's) BandStructure JSON
        return read_ase_band_json(path, material_id=material_id or _material_id_from_path(path), text=text)
    data = _unwrap(data, path)
    return band_structure_from_dict(data, source=path,
                                    material_id=material_id or _material_id_from_path(path))


def band_structure_from_dict(data: dict, source="<dict>", material_id: str = "") -> BandStructure:
    """Validate a ``BandStructureSymmLine.as_dict()`` dict and convert it."""
    from pymatgen.electronic_structure.bandstructure import BandStructureSymmLine

    for key in REQUIRED_KEYS:
        if key not in data:
            raise BandDataError("missing", source, key)
    _check_bands_field(data["bands"], source)
    try:
        efermi = float(data["efermi"])
    except (TypeError, ValueError) as exc:
        raise BandDataError(f"not a number: {data['efermi']!r}", source, "efermi") from exc
    if not np.isfinite(efermi):
        raise BandDataError(f"not finite: {efermi}", source, "efermi")
    kpoints = data["kpoints"]
    if not isinstance(kpoints, list) or len(kpoints) < 2:
        n = len(kpoints) if isinstance(kpoints, list) else "no list of"
        raise BandDataError(f"a band path needs at least 2 k-points, got {n}", source, "kpoints")
    try:
        kshape = np.asarray(kpoints, dtype=float).shape
    except (TypeError, ValueError) as exc:
        raise BandDataError("expected a list of [k1, k2, k3] coordinates", source, "kpoints") from exc
    if len(kshape) != 2 or kshape[1] != 3:
        raise BandDataError(f"expected a list of [k1, k2, k3] coordinates, got shape {kshape}", source,
                            "kpoints")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bs = BandStructureSymmLine.from_dict(data)
    except BandDataError:
        raise
    except Exception as exc:  # pymatgen raises many types on malformed dicts
        raise BandDataError(f"pymatgen could not parse it: {type(exc).__name__}: {exc}", source) from exc
    formula = ""
    if bs.structure is not None:
        formula = bs.structure.composition.reduced_formula
    return from_pymatgen(bs, material_id=material_id, formula=formula, source=str(source))


def _check_bands_field(bands, source) -> None:
    if not isinstance(bands, dict) or not bands:
        raise BandDataError("expected a non-empty {spin: [[energies per k-point] per band]} mapping", source,
                            "bands")
    for spin, values in bands.items():
        if spin not in ("1", "-1", 1, -1):
            raise BandDataError(f"unknown spin key {spin!r} (expected '1' or '-1')", source, "bands")
        try:
            arr = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as exc:
            raise BandDataError(f"spin {spin}: not a numeric band x k-point array", source, "bands") from exc
        if arr.ndim != 2 or arr.size == 0:
            raise BandDataError(f"spin {spin}: expected a band x k-point array, got shape {arr.shape}",
                                source, "bands")
        if not np.all(np.isfinite(arr)):
            raise BandDataError(f"spin {spin}: NaN or infinite energies", source, "bands")


def read_vasprun(path: str | Path, material_id: str | None = None) -> BandStructure:
    """Read a line-mode VASP ``vasprun.xml`` (the KPOINTS file beside it supplies the labels)."""
    from pymatgen.io.vasp.outputs import Vasprun

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run = Vasprun(str(path), parse_projected_eigen=False, parse_potcar_file=False)
            kpoints_file = path.parent / "KPOINTS"
            bs = run.get_band_structure(
                kpoints_filename=str(kpoints_file) if kpoints_file.exists() else None, line_mode=True
            )
    except Exception as exc:
        raise BandDataError(f"pymatgen could not read the VASP run: {type(exc).__name__}: {exc}",
                            path) from exc
    if not hasattr(bs, "branches"):
        raise BandDataError("not a line-mode band structure (no KPOINTS labels found)", path, "kpoints")
    return from_pymatgen(bs, material_id=material_id or material_id_of(path), source=str(path))


def _gpw_reader(path: Path, material_id: str) -> BandStructure:
    from elfutils.data.ase_reader import read_gpw

    return read_gpw(path, material_id=material_id)


def _qe_reader(path: Path, material_id: str) -> BandStructure:
    from elfutils.data.qe_reader import read_qe_xml

    return read_qe_xml(path, material_id=material_id)


def _qe_id(path: Path) -> str:
    """pw.x writes PREFIX.save/data-file-schema.xml: the prefix names the material."""
    if path.name == "data-file-schema.xml":
        return path.parent.name.removesuffix(".save")
    return path.name.split(".")[0]


def _is_gpw(head: bytes) -> bool:
    from elfutils.data.ase_reader import GPW_MAGIC

    return head.startswith(GPW_MAGIC)


def _is_qe_xml(head: bytes) -> bool:
    from elfutils.data.qe_reader import QE_XML_MARK

    return QE_XML_MARK in head


@dataclass(frozen=True)
class Reader:
    """One input format: how its files are named, how its content is recognised, the id a file of it gets,
    and the function that reads it. :data:`READERS` is the one table of them: dispatch, ids, the importer's
    folder search and every help text derive from it, so adding a format is one module and one row."""

    kind: str
    description: str  # for people: help texts and the README's list of inputs
    patterns: tuple[str, ...]  # file-name globs (lower case) a folder search picks up
    sniff: Callable[[bytes], bool]  # the first bytes of the file (unzipped) are of this format
    material_id: Callable[[Path], str]  # known without reading the file, so a batch can skip stored ids
    read: Callable[[Path, str], BandStructure]  # (path, material id) -> record in the file's own zero


READERS: tuple[Reader, ...] = (
    Reader("json", "2Dmatpedia / Materials Project or ASE (C2DB) band-structure JSON (.json, .json.gz)",
           ("*.json", "*.json.gz"), lambda head: head.lstrip().startswith(b"{"),
           _material_id_from_path, lambda path, mid: read_band_json(path, material_id=mid)),
    Reader("vasprun", "VASP line-mode vasprun*.xml (with its KPOINTS beside it)",
           ("vasprun*.xml", "vasprun*.xml.gz"),
           lambda head: head.lstrip().startswith(b"<?xml") and b"<modeling" in head,
           lambda path: path.parent.name, lambda path, mid: read_vasprun(path, material_id=mid)),
    Reader("gpw", "GPAW .gpw of a band-path calculation", ("*.gpw",), _is_gpw, _material_id_from_path,
           _gpw_reader),
    Reader("qe-xml", "Quantum ESPRESSO pw.x bands run (data-file-schema.xml)", ("*data-file-schema.xml",),
           _is_qe_xml, _qe_id, _qe_reader),
    Reader("figure", "band-structure figure (.png, .jpg): axis read by OCR", ("*.png", "*.jpg", "*.jpeg"),
           is_figure, figure_id, read_figure),
)
STORE_DESCRIPTION = "the project's band stores (.elfstore folders)"


def reader(kind: str) -> Reader:
    """The row of :data:`READERS` for ``kind``."""
    for row in READERS:
        if row.kind == kind:
            return row
    raise ValueError(f"no reader of kind {kind!r}; the kinds are {[r.kind for r in READERS]}")


def band_file_patterns() -> tuple[str, ...]:
    """Every file-name glob a folder search picks up, in table order."""
    return tuple(pattern for row in READERS for pattern in row.patterns)


def inputs_help(stores: bool = True) -> str:
    """The readers in words, for ``--help``: every format of the table (and stores)."""
    kinds = [row.description for row in READERS] + ([STORE_DESCRIPTION] if stores else [])
    return "band files: " + "; ".join(kinds)


def _kind_by_name(name: str) -> str | None:
    for row in READERS:
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in row.patterns):
            return row.kind
    return None


def file_kind(path: str | Path) -> str:
    """The reader kind of a file (a :data:`READERS` kind) or 'store'; anything else raises BandDataError.
    The name decides when it matches a reader's patterns, else the content."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".elfstore") or (path.is_dir() and any(path.glob("part-*.npz"))):
        return "store"
    if path.is_dir():
        raise BandDataError("a folder, not a band file nor a band store (no part-*.npz inside); pass its "
                            "band files, or gather them into a store with `elf import`", path)
    kind = _kind_by_name(name) or _kind_by_content(path)
    if kind:
        return kind
    expected = "; ".join(row.description for row in READERS)
    raise BandDataError(f"unknown file type (neither its name nor its content is one of: {expected}; "
                        f"or {STORE_DESCRIPTION})", path)


def _kind_by_content(path: Path) -> str | None:
    """The kind of a file whose name does not tell, from its first bytes (gzip undone)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return None
    if head.startswith(b"\x1f\x8b"):
        with contextlib.suppress(OSError, EOFError), gzip.open(path, "rb") as fh:
            head = fh.read(512)
    for row in READERS:
        if row.sniff(head):
            return row.kind
    return None


def material_id_of(path: str | Path) -> str:
    """The material id :func:`read_band_file` gives the file, known without reading it (so that a batch can
    skip materials it already has): the reader's id rule, e.g. the file name for JSON (``2dm-21.json.gz`` ->
    ``2dm-21``), the folder name for ``vasprun.xml``."""
    path = Path(path)
    kind = file_kind(path)
    if kind == "store":
        raise BandDataError("a store holds many band structures, each with its own id", path)
    return reader(kind).material_id(path)




def read_band_file(path: str | Path, zero: str = "project",
                   figure: FigureOptions | None = None) -> BandStructure:
    """Read one band structure from any supported single-structure file.

    ``zero="project"`` (default) brings a gapped material's energy zero to the project's convention, just
    above its valence-band maximum (:func:`elfutils.data.energy_zero.to_project_zero`), so that a file whose
    Fermi level sits mid-gap draws the same image as one whose Fermi level sits at the VBM; ``zero="file"``
    keeps the file's own Fermi level. The metadata says which (``energy_zero``, ``file_efermi``).
    ``figure``: a band-structure figure's energy range and path, given instead of read from it
    (:class:`elfutils.data.figure_reader.FigureOptions`); other files ignore it."""
    from elfutils.data.energy_zero import keep_file_zero, to_project_zero

    if zero not in ENERGY_ZEROS:
        raise ValueError(f"zero must be one of {ENERGY_ZEROS}, not {zero!r}")
    path = Path(path)
    if not path.exists():
        raise BandDataError("no such file", path)
    kind = file_kind(path)
    if kind == "store":
        raise BandDataError("a band store holds many band structures, not one band file", path)
    row = reader(kind)
    options = {"options": figure} if figure is not None and kind == "figure" else {}
    try:
        bs = row.read(path, row.material_id(path), **options)
    except RecursionError as exc:  # e.g. 100 000 nested brackets: one bad file like any other
        raise BandDataError("nested too deeply to be a band structure", path) from exc
    return to_project_zero(bs) if zero == "project" else keep_file_zero(bs)


def iter_band_structures(paths, zero: str = "project") -> Iterator[BandStructure]:
    """Yield records from files and stores alike (a store yields all of its materials, with the zero it was
    stored with; ``zero`` applies to files, as in :func:`read_band_file`)."""
    from elfutils.data.store import BandStore

    for path in paths:
        path = Path(path)
        if path.exists() and file_kind(path) == "store":
            yield from BandStore(path)
        else:
            yield read_band_file(path, zero=zero)

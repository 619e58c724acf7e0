"""Structural fingerprints of the flat-band sublattices and their place on the elf map (Fig. 5).

The input is ``flat-band-pool/reduced_sublattice_structure.txt`` (Bhattacharya et al., npj Comput. Mater. 9,
101 (2023)): for each of the 2132 flat-band materials, the lattice and only the atoms of the element carrying
the flat band. Each block reads::

    2dm-21
    TaI3   AB3
    lattice vector
    [[6.686, -0.0, 0.0], [-3.343, 5.790, -0.0], [0.0, -0.0, 22.719]]
      label        xyz                   abc                  species                          properties
    0    Ta  [3.343, 1.930, 0.0]  [0.667, 0.333, 0.0]  [{'occu': 1, 'element': 'Ta'}]  {'magmom': 0.621}
    (blank line)

Structural fingerprint: matminer's ``SiteStatsFingerprint`` of the ``CrystalNNFingerprint`` "ops" preset
(61 numbers per site: CN weights and local order parameters), averaged over the sublattice sites
(stats = mean) -- the site-averaged CNNF of the paper's previous work. Clustered with HDBSCAN (paper: 45
clusters); each structural cluster is then placed on the elf UMAP and called *localised* when more than 5 of
its members (paper: "localized groups of more than 5 materials") form one connected group there; see
:func:`localised_structural_clusters` for the exact criterion.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from elfutils.constants import CNNF_LOCALISED_MIN_MEMBERS, HDBSCAN_MIN_CLUSTER_SIZE, HDBSCAN_MIN_SAMPLES
from elfutils.data.batch_report import BatchReport
from elfutils.errors import BandDataError

SUBLATTICE_FILE = Path("flat-band-pool") / "reduced_sublattice_structure.txt"
MOTIF_ANGLE_TOLERANCE = 10.0  # degrees: how far a bond angle may stray from a named lattice's ideal angles

_ID_RE = re.compile(r"^\s*(\d*[A-Za-z][\w.]*-\d+)\s*$")  # "2dm-21"
_SITE_RE = re.compile(
    r"^\s*(?P<index>\d+)\s+(?P<label>\S+)\s+(?P<xyz>\[[^\]]*\])\s+(?P<abc>\[[^\]]*\])"
    r"\s+(?P<species>\[\{.*?\}\])\s*(?P<props>\{.*\})?\s*$"
)


@dataclass
class SublatticeEntry:
    """One parsed block: the flat-band sublattice of one material."""

    material_id: str
    formula: str
    generic_formula: str
    structure: object  # pymatgen Structure
    line: int  # first line of the block in the file (1-based)


def split_blocks(text: str) -> list[tuple[str, int, list[str]]]:
    """Cut the file into blocks, each starting at an id line (``2dm-N``).

    Returns
    -------
    list of (material_id, first line number, the block's lines after the id, blank lines dropped)
    """
    blocks: list[tuple[str, int, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _ID_RE.match(line)
        if match:
            blocks.append((match.group(1), number, []))
        elif line.strip():
            if not blocks:
                raise BandDataError(
                    f"line {number}: text before the first material id: {line.strip()[:60]!r}"
                )
            blocks[-1][2].append(line)
    return blocks


def parse_block(material_id: str, lines: list[str], source: str = "", line: int = 0) -> SublatticeEntry:
    """Parse one block (the lines after its id) into a pymatgen Structure.

    Sites are placed from their Cartesian ``xyz`` (more digits than ``abc``); the species comes from the
    ``species`` column; ``magmom`` is kept as a site property.

    Raises
    ------
    BandDataError naming the block (id and line) and what is wrong.
    """
    from pymatgen.core import Lattice, Structure

    where = f"{source}: " if source else ""
    where += f"block {material_id} (line {line})"

    def fail(problem: str) -> BandDataError:
        return BandDataError(problem, source=where)

    if len(lines) < 4:
        raise fail(
            f"expected formula, 'lattice vector', a 3x3 matrix and a site table; got {len(lines)} lines"
        )
    parts = lines[0].split()
    if len(parts) != 2:
        raise fail(f"formula line should be 'formula generic_formula', got {lines[0].strip()!r}")
    formula, generic = parts
    if lines[1].strip().lower() != "lattice vector":
        raise fail(f"expected 'lattice vector', got {lines[1].strip()!r}")
    try:
        matrix = np.array(ast.literal_eval(lines[2].strip()), dtype=float)
    except (ValueError, SyntaxError) as exc:
        raise fail(f"lattice matrix is not a list of numbers: {exc}") from None
    if matrix.shape != (3, 3) or not np.isfinite(matrix).all():
        raise fail(f"lattice matrix must be 3x3 finite numbers, got shape {matrix.shape}")
    if abs(np.linalg.det(matrix)) < 1e-6:
        raise fail("lattice vectors are linearly dependent (zero volume)")
    header = lines[3].split()
    if header[:2] != ["label", "xyz"]:
        raise fail(
            f"expected the site-table header 'label xyz abc species properties', got {lines[3].strip()!r}"
        )

    species, coords, magmoms = [], [], []
    for offset, row in enumerate(lines[4:], start=4):
        match = _SITE_RE.match(row)
        if not match:
            raise fail(
                f"site row {offset - 3} is not 'index label [xyz] [abc] [species] {{props}}': "
                f"{row.strip()[:80]!r}"
            )
        try:
            xyz = [float(v) for v in ast.literal_eval(match["xyz"])]
            occupancy = ast.literal_eval(match["species"])
            props = ast.literal_eval(match["props"]) if match["props"] else {}
        except (ValueError, SyntaxError, TypeError) as exc:
            raise fail(f"site row {offset - 3}: unreadable value ({exc})") from None
        if len(xyz) != 3 or not np.isfinite(xyz).all():
            raise fail(f"site row {offset - 3}: xyz must be 3 finite numbers, got {match['xyz']}")
        try:
            element = occupancy[0]["element"] if len(occupancy) == 1 else None
        except (KeyError, TypeError, IndexError):
            element = None
        if element is None:
            raise fail(f"site row {offset - 3}: species must name one element, got {match['species']}")
        species.append(element)
        coords.append(xyz)
        magmoms.append(float(props.get("magmom", 0.0)) if isinstance(props, dict) else 0.0)
    if not species:
        raise fail("no sites")
    try:
        structure = Structure(
            Lattice(matrix), species, coords, coords_are_cartesian=True, site_properties={"magmom": magmoms}
        )
    except (ValueError, KeyError) as exc:
        raise fail(f"not a valid structure: {exc}") from None
    return SublatticeEntry(material_id, formula, generic, structure, line)


def read_sublattice_structures(path: str | Path | None = None, progress: bool = False) -> BatchReport:
    """Parse every block of the sublattice file; malformed blocks are skipped and reported.

    Parameters
    ----------
    path : default ``data_dir() / flat-band-pool / reduced_sublattice_structure.txt``

    Returns
    -------
    BatchReport: ``results`` is a list of :class:`SublatticeEntry`, ``skipped`` holds (block, reason).
    """
    from tqdm.auto import tqdm

    if path is None:
        from elfutils.paths import data_dir

        path = data_dir() / SUBLATTICE_FILE
    path = Path(path)
    report = BatchReport()
    blocks = split_blocks(path.read_text())
    for material_id, line, lines in tqdm(blocks, desc="sublattices", disable=not progress):
        try:
            report.results.append(parse_block(material_id, lines, source=path.name, line=line))
        except BandDataError as exc:
            report.skipped.append((f"{material_id} (line {line})", str(exc)))
    return report


def sublattice_table(entries) -> pd.DataFrame:
    """Parsed entries as a table: material_id, formula, generic_formula, n_sites, element, structure."""
    return pd.DataFrame(
        {
            "material_id": [e.material_id for e in entries],
            "formula": [e.formula for e in entries],
            "generic_formula": [e.generic_formula for e in entries],
            "n_sites": [len(e.structure) for e in entries],
            "element": [e.structure[0].specie.symbol for e in entries],
            "structure": [e.structure for e in entries],
        }
    )


# --- CrystalNN fingerprints --------------------------------------------------------------------------------
CNNF_RETRY_CUTOFF = 15.0  # Angstrom; CrystalNN's default search is 7, too short for sparse sublattices


def cnnf_featurizer(search_cutoff: float = 7.0):
    """Site-averaged CrystalNNFingerprint ("ops" preset, mean over sites): 61 numbers per structure."""
    from matminer.featurizers.site import CrystalNNFingerprint
    from matminer.featurizers.structure import SiteStatsFingerprint

    site = CrystalNNFingerprint.from_preset("ops", search_cutoff=search_cutoff)
    return SiteStatsFingerprint(site, stats=("mean",))


def cnnf_fingerprints(
    structures,
    progress: bool = True,
    cache: str | Path | None = None,
    retry_cutoff: float = CNNF_RETRY_CUTOFF,
) -> tuple[pd.DataFrame, BatchReport]:
    """Structural fingerprints of many sublattices (~0.1-1 s each).

    A sublattice whose sites are more than 7 A apart (CrystalNN's default search radius; 13 of the 2132,
    e.g. WI3 with a = 7.1 A and one W pair) has no neighbours there; it is tried once more with
    ``retry_cutoff``. Those ids are listed in ``table.attrs["retried"]``.

    Parameters
    ----------
    structures : mapping material_id -> Structure, or a :func:`sublattice_table`
    cache : optional parquet path; rows already there are reused and the new ones appended (atomically),
        so an interrupted run resumes

    Returns
    -------
    table : DataFrame, index ``material_id``, 61 float columns (matminer's feature labels)
    report : BatchReport whose ``skipped`` lists structures CrystalNN could not fingerprint, with the reason
    """
    import warnings

    from tqdm.auto import tqdm

    from elfutils.analysis.fingerprints import write_table

    if isinstance(structures, pd.DataFrame):
        structures = dict(zip(structures["material_id"], structures["structure"], strict=True))
    featurizer = cnnf_featurizer()
    labels = featurizer.feature_labels()
    done = pd.DataFrame(columns=labels, dtype=float)
    if cache is not None and Path(cache).exists():
        done = pd.read_parquet(cache).set_index("material_id")
    report = BatchReport()
    rows: dict[str, list[float]] = {}
    todo = [(k, s) for k, s in structures.items() if k not in done.index]
    retried, wide = [], None

    def featurize(f, structure):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # CrystalNN warns about missing oxidation states
            values = np.asarray(f.featurize(structure), dtype=float)
        if not np.isfinite(values).all():
            raise ValueError("non-finite fingerprint")
        return values

    for material_id, structure in tqdm(todo, desc="CNNF", disable=not progress):
        try:
            try:
                rows[material_id] = featurize(featurizer, structure)
            except ValueError as exc:
                if "No Voronoi neighbors" not in str(exc) or not retry_cutoff:
                    raise
                wide = wide or cnnf_featurizer(retry_cutoff)
                rows[material_id] = featurize(wide, structure)
                retried.append(material_id)
        except Exception as exc:  # CrystalNN raises assorted errors (no neighbours, ...); report, go on
            report.skipped.append((material_id, f"{type(exc).__name__}: {exc}"))
    new = pd.DataFrame.from_dict(rows, orient="index", columns=labels)
    table = pd.concat([done, new]) if len(done) else new
    table.index.name = "material_id"
    if cache is not None and len(new):
        write_table(table.reset_index(), Path(cache))
    order = [k for k in structures if k in table.index]
    report.results = order
    result = table.loc[order].astype(float)
    result.attrs["retried"] = retried
    return result, report


def cluster_structures(
    fingerprints: pd.DataFrame,
    min_cluster_size: int = HDBSCAN_MIN_CLUSTER_SIZE,
    min_samples: int = HDBSCAN_MIN_SAMPLES,
    p: float = 2.0,
):
    """HDBSCAN on structural fingerprints (paper: 45 clusters).

    The paper gives no HDBSCAN parameters for this step; we use the elf values Nc = 5, Ns = 2 and the
    Euclidean distance (p = 2): CNNF values are bounded weights/order parameters in [0, 1], where the
    fractional-p argument for high-dimensional dense vectors does not apply.

    Returns
    -------
    fitted :class:`elfutils.analysis.cluster.FingerprintHDBSCAN` (``labels_`` in the row order of
    ``fingerprints``)
    """
    from elfutils.analysis.cluster import FingerprintHDBSCAN

    return FingerprintHDBSCAN(min_cluster_size, min_samples, p, n_features=None).fit(fingerprints.to_numpy())


# --- CNNF clusters on the elf map --------------------------------------------------------------------------
# our choice, the paper gives no number: a localised group is an island on the map, at most a quarter of the
# map's extent across (the DBSCAN groups of Fig. 2 span 10-20%); a group that chains across the whole map is
# the cluster being everywhere, not localised
LOCALISED_MAX_EXTENT = 0.25
# ... and it holds a real share of the cluster: a cluster of hundreds spread over the whole map always has
# some small island somewhere, which does not make the cluster localised
LOCALISED_MIN_SHARE = 0.25


LINK_RADIUS_FRACTION = 0.05  # ours: about DBSCAN's eps scale on the UMAP plane


def umap_radius(coords, fraction: float = LINK_RADIUS_FRACTION) -> float:
    """The length scale of "one place" on a UMAP: ``fraction`` of the diagonal of the box holding the
    central 98% of all points (1st to 99th percentile per axis, so stray points do not set the scale)."""
    coords = np.asarray(coords, dtype=float)
    lo, hi = np.percentile(coords, [1, 99], axis=0)
    return float(fraction * np.linalg.norm(hi - lo))


def localised_structural_clusters(
    coords,
    structural_labels,
    radius: float | None = None,
    radius_fraction: float = LINK_RADIUS_FRACTION,
    min_members: int = CNNF_LOCALISED_MIN_MEMBERS,
    max_extent_fraction: float = LOCALISED_MAX_EXTENT,
    min_share: float = LOCALISED_MIN_SHARE,
) -> pd.DataFrame:
    """Which structural (CNNF) clusters form a localised group on the elf UMAP.

    Criterion: link two members of the same CNNF cluster when they lie within ``radius`` of each other on
    the UMAP (default :func:`umap_radius`, 5% of the map's extent -- about DBSCAN's eps scale); the cluster is
    *localised* when one connected group holds at least ``min_members`` materials (paper: "more than 5",
    i.e. 6) and is an island, not a chain across the map: its extent (largest distance between two of its
    members) is at most ``max_extent_fraction`` of the map's extent, and it holds at least ``min_share`` of
    the cluster's members on the map.

    Parameters
    ----------
    coords : array (N, 2), elf UMAP coordinates
    structural_labels : array (N,) CNNF cluster per material (-1 = unclustered, ignored)

    Returns
    -------
    DataFrame, one row per CNNF cluster: cnnf_cluster, size, largest_group, group_fraction, group_extent
    (of the largest group, as a fraction of the map's extent), largest_island (the largest group that is
    compact enough; 0 if none), localised; ``attrs['radius']`` is the radius used.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree
    from scipy.spatial.distance import pdist

    coords = np.asarray(coords, dtype=float)
    labels = np.asarray(structural_labels)
    if coords.shape != (len(labels), 2):
        raise ValueError(f"coords must have shape ({len(labels)}, 2) to match the labels; got {coords.shape}")
    r = umap_radius(coords, radius_fraction) if radius is None else float(radius)
    extent = umap_radius(coords, 1.0)
    rows = []
    for c in np.unique(labels[labels >= 0]):
        pts = coords[labels == c]
        pairs = cKDTree(pts).query_pairs(r, output_type="ndarray")
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(pts), len(pts)))
        _, comp = connected_components(graph, directed=False)
        sizes = np.bincount(comp)
        spans = {g: pdist(pts[comp == g]).max() / extent if n > 1 else 0.0 for g, n in enumerate(sizes)}
        largest = int(sizes.argmax())
        islands = [int(n) for g, n in enumerate(sizes) if spans[g] <= max_extent_fraction]
        island = max(islands, default=0)
        rows.append((int(c), len(pts), int(sizes[largest]), sizes[largest] / len(pts), spans[largest], island,
                     island >= min_members and island >= min_share * len(pts)))
    columns = ["cnnf_cluster", "size", "largest_group", "group_fraction", "group_extent", "largest_island",
               "localised"]
    table = pd.DataFrame(rows, columns=columns)
    table.attrs["radius"] = r
    return table


def cnnf_on_elf_map(
    elf_table: pd.DataFrame, cnnf_labels: pd.Series, **kwargs
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give each material on the elf map its CNNF cluster and test which CNNF clusters are localised.

    Parameters
    ----------
    elf_table : :func:`elfutils.analysis.cluster.fit_pipeline` output (material_id, umap_x, umap_y, ...)
    cnnf_labels : Series, index material_id, CNNF cluster (-1 unclustered); materials without a structural
        fingerprint get -1
    **kwargs : passed to :func:`localised_structural_clusters`

    Returns
    -------
    placed : ``elf_table`` with a ``cnnf_cluster`` column
    localisation : :func:`localised_structural_clusters` table
    """
    placed = elf_table.copy()
    labels = cnnf_labels.reindex(placed["material_id"].astype(str))
    placed["cnnf_cluster"] = labels.fillna(-1).astype(int).to_numpy()
    coords = placed[["umap_x", "umap_y"]].to_numpy()
    return placed, localised_structural_clusters(coords, placed["cnnf_cluster"].to_numpy(), **kwargs)


# --- naming the lattice motif ------------------------------------------------------------------------------
def layer_frame(lattice):
    """Unit normal of the layer (a x b) and an orthonormal in-plane basis (e1 along a)."""
    a, b = lattice.matrix[0], lattice.matrix[1]
    normal = np.cross(a, b)
    normal /= np.linalg.norm(normal)
    e1 = a / np.linalg.norm(a)
    e2 = np.cross(normal, e1)
    return normal, e1, e2


def layer_bonds(structure, tolerance: float = 0.15, max_distance: float = 8.0) -> list[list]:
    """The nearest-neighbour shell of every site: pymatgen neighbours within ``(1 + tolerance) * d_min``,
    d_min being the shortest distance in the whole structure (3-D distances, so buckled or stacked layers
    keep their own bonds). One list of ``PeriodicNeighbor`` per site; all empty for a single isolated atom."""
    all_neighbours = structure.get_all_neighbors(max_distance)
    distances = [n.nn_distance for ns in all_neighbours for n in ns if n.nn_distance > 1e-3]
    if not distances:
        return [[] for _ in structure]
    cutoff = (1 + tolerance) * min(distances)
    return [[n for n in ns if 1e-3 < n.nn_distance <= cutoff] for ns in all_neighbours]


def site_environments(structure, tolerance: float = 0.15, max_distance: float = 8.0):
    """Nearest-neighbour shells (:func:`layer_bonds`), with bond angles measured in the layer plane.

    Bond angles use the bonds projected onto the layer (a, b) plane, so a buckled honeycomb still reads 120.

    Returns
    -------
    list (one per site) of (coordination number, sorted array of in-plane angles in degrees between all
    pairs of bonds)
    """
    _, e1, e2 = layer_frame(structure.lattice)
    out = []
    for site, ns in zip(structure, layer_bonds(structure, tolerance, max_distance), strict=True):
        flat = np.array([[(n.coords - site.coords) @ e1, (n.coords - site.coords) @ e2] for n in ns])
        angles = []
        for i in range(len(flat)):
            for j in range(i + 1, len(flat)):
                ni, nj = np.linalg.norm(flat[i]), np.linalg.norm(flat[j])
                if ni > 1e-3 and nj > 1e-3:
                    cosine = np.clip(flat[i] @ flat[j] / (ni * nj), -1.0, 1.0)
                    angles.append(np.degrees(np.arccos(cosine)))
        out.append((len(ns), np.sort(np.array(angles))))
    return out


def bond_geometry(structures, tolerance: float = 0.15) -> pd.DataFrame:
    """The in-plane bond geometry of whole layers, one row per material: how a lattice such as the
    square-octagon net (three bonds at 90, 135, 135 degrees per site) is realised or distorted.

    Parameters
    ----------
    structures : mapping material id -> pymatgen Structure

    Returns
    -------
    DataFrame indexed by material_id: formula, coordination (the sites' distinct coordination numbers,
    e.g. "3" or "3, 4"), smallest_angle and largest_angle (degrees, in-plane, over all sites; NaN without
    bond pairs), motif (:func:`name_motif`, None when no named lattice fits)
    """
    rows = []
    for material_id, structure in structures.items():
        env = site_environments(structure, tolerance)
        angles = np.concatenate([a for _, a in env]) if env else np.array([])
        rows.append({"material_id": material_id, "formula": structure.composition.reduced_formula,
                     "coordination": ", ".join(str(c) for c in sorted({cn for cn, _ in env})),
                     "smallest_angle": float(angles.min()) if angles.size else np.nan,
                     "largest_angle": float(angles.max()) if angles.size else np.nan,
                     "motif": name_motif(structure, tolerance)})
    columns = ["material_id", "formula", "coordination", "smallest_angle", "largest_angle", "motif"]
    return pd.DataFrame(rows, columns=columns).set_index("material_id")


def _angles_are(angles, allowed, tol) -> bool:
    return len(angles) > 0 and all(min(abs(a - x) for x in allowed) <= tol for a in angles)


def name_motif(structure, tolerance: float = 0.15,
               angle_tolerance: float = MOTIF_ANGLE_TOLERANCE) -> str | None:
    """Name the 2-D lattice of a sublattice from coordination numbers and in-plane bond angles.

    ============== ==================================================== =========================
    motif          coordination                                         in-plane bond angles
    ============== ==================================================== =========================
    triangular     all sites CN 6                                       60, 120, 180
    honeycomb      all sites CN 3                                       120
    square-octagon all sites CN 3                                       90, 135
    kagome         all sites CN 4                                       60, 120, 180
    square         all sites CN 4                                       90, 180
    Lieb           CN 4 : CN 2 = 1 : 2                                  90/180 and 180
    dice           CN 6 : CN 3 = 1 : 2                                  60.. and 120
    chain          all sites CN 2                                       180
    ============== ==================================================== =========================

    Returns
    -------
    str, or None when the sublattice fits none of these.
    """
    env = site_environments(structure, tolerance)
    cns = Counter(cn for cn, _ in env)
    tol = angle_tolerance

    def all_sites(cn, allowed):
        return set(cns) == {cn} and all(_angles_are(a, allowed, tol) for _, a in env)

    if all_sites(6, (60, 120, 180)):
        return "triangular"
    if all_sites(3, (120,)):
        return "honeycomb"
    if all_sites(3, (90, 135)):
        return "square-octagon"
    if set(cns) == {4}:
        if all(_angles_are(a, (60, 120, 180), tol) and np.any(np.abs(a - 60) <= tol) for _, a in env):
            return "kagome"
        if all(_angles_are(a, (90, 180), tol) for _, a in env):
            return "square"
    if set(cns) == {2, 4} and cns[2] == 2 * cns[4]:
        hubs_ok = all(_angles_are(a, (90, 180), tol) for cn, a in env if cn == 4)
        links_ok = all(_angles_are(a, (180,), tol) for cn, a in env if cn == 2)
        if hubs_ok and links_ok:
            return "Lieb"
    if set(cns) == {3, 6} and cns[3] == 2 * cns[6]:
        if all(_angles_are(a, (120,), tol) for cn, a in env if cn == 3):
            return "dice"
    if all_sites(2, (180,)):
        return "chain"
    return None


def motif_table(structures, structural_labels, min_fraction: float = 0.5) -> pd.DataFrame:
    """The dominant lattice motif of each structural cluster.

    Parameters
    ----------
    structures : sequence of Structure (N,)
    structural_labels : array (N,), -1 ignored
    min_fraction : a cluster is named only when at least this share of its members has that motif

    Returns
    -------
    DataFrame: cnnf_cluster, size, motif (None if no motif reaches ``min_fraction``), motif_fraction
    """
    labels = np.asarray(structural_labels)
    names = [name_motif(s) for s in structures]
    rows = []
    for c in np.unique(labels[labels >= 0]):
        members = [names[i] for i in np.flatnonzero(labels == c)]
        counts = Counter(m for m in members if m is not None)
        motif, count = counts.most_common(1)[0] if counts else (None, 0)
        fraction = count / len(members)
        rows.append((int(c), len(members), motif if fraction >= min_fraction else None, fraction))
    return pd.DataFrame(rows, columns=["cnnf_cluster", "size", "motif", "motif_fraction"])

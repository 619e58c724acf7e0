"""2D high-symmetry k-paths, following 2Dmatpedia's convention.

2Dmatpedia's band files use the Setyawan-Curtarolo high-symmetry points that pymatgen's ``HighSymmKpath``
gives for the (3D, vacuum-padded) cell, keeps the in-plane ones (k_z = 0) and walks a fixed 2D loop through
them with 21 k-points per segment. The loops below are read off the real band files in
``data/2dmatpedia-dft-bands`` (one per label set); ``tests/test_kpath.py`` checks that this module reproduces
the labels, coordinates and order of all 12 files.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from elfutils.constants import POINTS_PER_SEGMENT
from elfutils.data.bands import Branch

G = "\\Gamma"

# label set of the in-plane high-symmetry points -> the 2D loop 2Dmatpedia draws
PATHS_BY_LABELS: dict[frozenset, tuple[str, ...]] = {
    frozenset({G, "K", "M"}): (G, "K", "M", G),  # hexagonal (HEX)
    frozenset({G, "X", "M"}): (G, "X", "M", G),  # square (TET)
    frozenset({G, "X", "S", "Y"}): (G, "X", "S", "Y", G),  # rectangular (ORC)
    frozenset({G, "A", "X", "Z"}): (G, "X", "A", "Z", G),  # oblique with c unique axis (MCL)
    frozenset({G, "L", "X", "Y"}): ("X", G, "Y", "L", "X"),  # oblique (TRI)
    frozenset({G, "N", "N_1", "X"}): (G, "N", "X", G),  # centred, MCLC3-5 variants
}
# centred rectangular (MCLC1/2): the two real files walk the same loop from different ends
MCLC_LABELS = frozenset({G, "N", "N_1", "X", "X_1", "X_2", "Y", "Y_1"})
MCLC_PATH_RECTANGULAR_CELL = (G, "X", "N", "X_1", "Y", G)  # cell angle gamma = 90 deg (2dm-4)
MCLC_PATH_OBLIQUE_CELL = ("Y", "X_1", "N", "X", G, "Y")  # otherwise (2dm-15)


@dataclass(frozen=True)
class KPath:
    """A band path: fractional k-points, the branches between labels, and the label coordinates."""

    kpoints: np.ndarray  # (nk, 3) fractional reciprocal coordinates
    branches: tuple[Branch, ...]
    label_coords: dict[str, tuple[float, float, float]]

    @property
    def labels(self) -> tuple[str, ...]:
        return (self.branches[0].start_label, *(b.end_label for b in self.branches))


def in_plane_points(structure) -> tuple[dict[str, np.ndarray], list[list[str]]]:
    """Setyawan-Curtarolo points with k_z = 0 for a pymatgen Structure, and the SC 3D path.

    pymatgen gives no path for some non-standard cells (about 7% of the flat-band set, mostly oblique cells
    whose unique angle is gamma); those get :func:`fallback_points` from the in-plane lattice alone.
    """
    from pymatgen.symmetry.bandstructure import HighSymmKpath

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kp = HighSymmKpath(structure, path_type="setyawan_curtarolo", symprec=0.01)
    if kp.kpath is None:
        return fallback_points(structure), []
    points = {k: np.asarray(v, dtype=float) for k, v in kp.kpath["kpoints"].items() if abs(v[2]) < 1e-8}
    return points, kp.kpath["path"]


def fallback_points(structure, angle_tol: float = 0.5, length_tol: float = 1e-3) -> dict[str, np.ndarray]:
    """High-symmetry points of the 2D Bravais lattice of the in-plane cell (a, b, gamma), 2Dmatpedia's labels.

    square -> Γ, X, M; hexagonal -> Γ, K, M; rectangular -> Γ, X, S, Y; anything else -> oblique Γ, X, Y, L
    (the triclinic labels of the real files). Coordinates are fractional in this cell's reciprocal basis.
    """
    a, b, gamma = structure.lattice.a, structure.lattice.b, structure.lattice.gamma
    equal = abs(a - b) / max(a, b) < length_tol
    pts = {G: (0.0, 0.0)}
    if equal and abs(gamma - 90) < angle_tol:
        pts |= {"X": (0.0, 0.5), "M": (0.5, 0.5)}
    elif equal and abs(gamma - 120) < angle_tol:
        pts |= {"K": (1 / 3, 1 / 3), "M": (0.5, 0.0)}
    elif equal and abs(gamma - 60) < angle_tol:
        pts |= {"K": (2 / 3, 1 / 3), "M": (0.5, 0.0)}
    elif abs(gamma - 90) < angle_tol:
        pts |= {"X": (0.5, 0.0), "S": (0.5, 0.5), "Y": (0.0, 0.5)}
    else:
        pts |= {"X": (0.0, -0.5), "Y": (0.5, 0.0), "L": (0.5, -0.5)}
    return {k: np.array([x, y, 0.0]) for k, (x, y) in pts.items()}


def loop_for(points: dict[str, np.ndarray], structure, sc_path: list[list[str]]) -> tuple[str, ...]:
    """The 2D loop of labels for these in-plane points."""
    labels = frozenset(points)
    if labels in PATHS_BY_LABELS:
        return PATHS_BY_LABELS[labels]
    if labels == MCLC_LABELS:
        rectangular = abs(structure.lattice.gamma - 90.0) < 0.5
        return MCLC_PATH_RECTANGULAR_CELL if rectangular else MCLC_PATH_OBLIQUE_CELL
    # Unseen label set: walk the in-plane points in the order the 3D path first visits them, back to Γ.
    order = []
    for segment in sc_path:
        for label in segment:
            if label in points and label not in order:
                order.append(label)
    if G in order:
        order.remove(G)
    return (G, *order, G) if order else (G, G)


def kpath_2d(structure, points_per_segment: int = POINTS_PER_SEGMENT) -> KPath:
    """The 2Dmatpedia-style 2D band path for a pymatgen Structure (c = vacuum direction)."""
    points, sc_path = in_plane_points(structure)
    loop = loop_for(points, structure, sc_path)
    return path_through(loop, points, points_per_segment)


def path_through(loop, points, points_per_segment: int = POINTS_PER_SEGMENT) -> KPath:
    """Straight segments between consecutive labels, each with ``points_per_segment`` points (ends
    included)."""
    kpts, branches = [], []
    for a, b in pairwise(loop):
        start = len(kpts)
        for t in np.linspace(0.0, 1.0, points_per_segment):
            kpts.append((1 - t) * points[a] + t * points[b])
        branches.append(Branch(start, len(kpts) - 1, a, b))
    coords = {k: tuple(float(x) for x in points[k]) for k in dict.fromkeys(loop)}
    return KPath(np.array(kpts), tuple(branches), coords)


def path_distances(kpoints: np.ndarray, reciprocal_matrix: np.ndarray, branches) -> np.ndarray:
    """Cumulative Cartesian path length (1/Å, pymatgen's 2π convention); no jump between branches."""
    cart = np.asarray(kpoints) @ np.asarray(reciprocal_matrix)
    dist = np.zeros(len(cart))
    for b in branches:
        offset = dist[b.start - 1] if b.start > 0 else 0.0
        steps = np.linalg.norm(np.diff(cart[b.start : b.end + 1], axis=0), axis=1)
        dist[b.start : b.end + 1] = offset + np.concatenate([[0.0], np.cumsum(steps)])
    return dist

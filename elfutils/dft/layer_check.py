"""Is the cell our DFT ran on a layer? The bonded dimensionality of each computed slab.

A 2Dmatpedia entry is meant to be one layer, bonded across the cell in both in-plane directions. Some cells of
our structure source are not: molecules side by side (CF4), or pairs of atoms far apart. Their bands are the
molecules' levels, flat and far apart, and their gaps molecular gaps; a large gap difference against
2Dmatpedia on such a cell says more about the cell than about either code.

Two measures on the slab GPAW ran on (:func:`elfutils.dft.recipe.slab_atoms`), both with ASE's bond
criterion (:func:`ase.neighborlist.natural_cutoffs`, covalent radii; the dimensionality analysis scans
scaled cutoffs itself):

* :func:`bonded_dimensionality` -- ASE's rank-determination analysis (Larsen et al., Phys. Rev. Materials 3,
  034003, 2019): "2D" for a layer, "0D" for molecules, "1D" for chains, "2D+0D" for a layer with molecules;
* :func:`bonded_neighbours` -- each atom's number of bonded neighbours (1 everywhere: isolated pairs), which
  still answers where the dimensionality analysis fails on a cell (ASE raises on some sparse ones).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from elfutils.dft.recipe import DFTSettings, slab_atoms, structure_from_record

UNKNOWN = "unknown"
BOND_TOLERANCE = 1.2  # a bond: closer than 1.2 x the sum of covalent radii (bond lengths scatter around it)


def computed_slab(record: Mapping, vacuum: float | None = None):
    """The ASE atoms our DFT ran on for a structure record (``structures.jsonl`` row), periodic in all three
    directions so that the vacuum, not the boundary, separates the layers."""
    vacuum = DFTSettings().vacuum if vacuum is None else vacuum
    atoms = slab_atoms(structure_from_record(dict(record)), vacuum)
    atoms.pbc = True
    return atoms


def bonded_neighbours(atoms) -> np.ndarray:
    """(natoms,) number of atoms bonded to each (ASE's covalent-radius cutoffs times :data:`BOND_TOLERANCE`,
    periodic images included)."""
    from ase.neighborlist import natural_cutoffs, neighbor_list

    first = neighbor_list("i", atoms, natural_cutoffs(atoms, mult=BOND_TOLERANCE))
    return np.bincount(first, minlength=len(atoms))


def bonded_dimensionality(atoms) -> str:
    """ASE's most likely bonded dimensionality of the cell ("2D", "0D", "2D+0D", ...), or :data:`UNKNOWN`
    where its analysis fails on the cell."""
    from ase.geometry.dimensionality import analyze_dimensionality

    try:
        intervals = analyze_dimensionality(atoms, method="RDA")
    except (TypeError, ValueError):  # ASE finds no k-interval on some sparse cells
        return UNKNOWN
    return str(intervals[0].dimtype) if intervals else UNKNOWN


def layer_table(records: Mapping[str, Mapping]):
    """A DataFrame, one row per material id: ``dimensionality``, ``max_bonded`` (most bonded neighbours of
    any atom), ``natoms`` and ``is_layer`` (ASE says 2D; where it cannot say, some atom has two or more
    bonds)."""
    import pandas as pd

    rows = []
    for material_id, record in records.items():
        atoms = computed_slab(record)
        counts = bonded_neighbours(atoms)
        kind = bonded_dimensionality(atoms)
        is_layer = kind == "2D" if kind != UNKNOWN else bool(counts.max() >= 2)
        rows.append({"material_id": material_id, "dimensionality": kind, "max_bonded": int(counts.max()),
                     "natoms": len(atoms), "is_layer": is_layer})
    return pd.DataFrame(rows, columns=["material_id", "dimensionality", "max_bonded", "natoms", "is_layer"])

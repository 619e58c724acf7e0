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

The dimensionality analysis costs about a second a cell on a CPU, so :func:`layer_table` takes rows computed
before (``benchmarks/results/layer-check.json``, written by ``scripts/layer_check.py``) for every material
whose structure record is unchanged (:func:`record_key`) and computes only the others.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

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


COLUMNS = ["material_id", "dimensionality", "max_bonded", "natoms", "is_layer", "record_key"]


def record_key(record: Mapping) -> str:
    """A short hash of a structure record (``structures.jsonl`` row) and of this module's bond criterion: a
    row computed from the same record with the same criterion can be reused."""
    text = json.dumps({"record": record, "bond_tolerance": BOND_TOLERANCE}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def layer_row(material_id: str, record: Mapping) -> dict:
    """One row of :func:`layer_table`, computed."""
    atoms = computed_slab(record)
    counts = bonded_neighbours(atoms)
    kind = bonded_dimensionality(atoms)
    is_layer = kind == "2D" if kind != UNKNOWN else bool(counts.max() >= 2)
    return {"material_id": material_id, "dimensionality": kind, "max_bonded": int(counts.max()),
            "natoms": len(atoms), "is_layer": is_layer, "record_key": record_key(record)}


def read_known(path: str | Path) -> dict[str, dict]:
    """Rows computed before (a JSON file with ``rows``, as ``scripts/layer_check.py`` writes), by material id;
    empty when the file is missing."""
    path = Path(path)
    if not path.is_file():
        return {}
    return {row["material_id"]: row for row in json.loads(path.read_text())["rows"]}


def layer_table(records: Mapping[str, Mapping], known: Mapping[str, Mapping] | None = None):
    """A DataFrame, one row per material id: ``dimensionality``, ``max_bonded`` (most bonded neighbours of
    any atom), ``natoms``, ``is_layer`` (ASE says 2D; where it cannot say, some atom has two or more
    bonds) and ``record_key``. A row of ``known`` (:func:`read_known`) is taken as it is where its
    ``record_key`` is the record's; the others are computed."""
    import pandas as pd

    known = known or {}
    rows = []
    for material_id, record in records.items():
        row = known.get(material_id)
        if row is None or row.get("record_key") != record_key(record):
            row = layer_row(material_id, record)
        rows.append({c: row[c] for c in COLUMNS})
    return pd.DataFrame(rows, columns=COLUMNS)

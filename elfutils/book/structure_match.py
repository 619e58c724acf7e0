"""Are two 2Dmatpedia entries the same layer? pymatgen's ``StructureMatcher`` on candidate duplicate pairs.

The duplicate search (:mod:`elfutils.analysis.duplicates`) pairs materials by formula and fingerprint
distance: close band structures. Whether the two entries are also the same structure is a separate question,
answered here on the relaxed 2Dmatpedia structures (``structures.jsonl``):

* each layer is rebuilt with the same vacuum (:data:`LAYER_VACUUM_A` on either side,
  :func:`elfutils.dft.recipe.slab_atoms`), so that the two entries' different cell heights do not decide the
  match. The matcher's site tolerance is a fraction of (volume per site)^(1/3), which the vacuum inflates;
  10 Å a side gives cells a little taller than 2Dmatpedia's own (20 Å including the layer);
* pymatgen's ``StructureMatcher`` compares them at its default tolerances (fractional length 0.2, site 0.3,
  angle 5°; the tool the paper says 2Dmatpedia used to remove duplicates) and at looser ones
  (:data:`LOOSE_TOLERANCES`), trying supercells, so that cells of different size can match.

Verdicts (:data:`VERDICTS`): ``same structure`` (a match at the default tolerances), ``close polymorph`` (the
same formula, a match only at the loose tolerances: a distorted variant of one structure), ``polymorph`` (the
same formula, no match at either), ``different formula`` (not a same-formula pair at all) and
``no structure`` (an id missing from ``structures.jsonl``).

It lives in the book layer because it rebuilds layers with the DFT recipe (``dft``), which the analysis layer
does not import.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

LAYER_VACUUM_A = 10.0  # vacuum on either side of a rebuilt layer (Å); our choice, it only has to be common
DEFAULT_TOLERANCES = {"ltol": 0.2, "stol": 0.3, "angle_tol": 5.0}  # pymatgen's own defaults
LOOSE_TOLERANCES = {"ltol": 0.3, "stol": 0.5, "angle_tol": 10.0}  # our choice: "small structural distortions"
VERDICTS = ("same structure", "close polymorph", "polymorph", "different formula", "no structure")


def _reduced(formula: str) -> str:
    from elfutils.analysis.duplicates import reduced_formula

    return reduced_formula(formula)


def layer_structure(record: Mapping, vacuum: float = LAYER_VACUUM_A):
    """A pymatgen Structure of a ``structures.jsonl`` record's layer, contiguous along the normal, with
    ``vacuum`` Å on either side (:func:`elfutils.dft.recipe.slab_atoms`)."""
    from pymatgen.core import Lattice, Structure

    from elfutils.dft.recipe import slab_atoms, structure_from_record

    atoms = slab_atoms(structure_from_record(dict(record)), vacuum)
    return Structure(Lattice(atoms.cell.array), atoms.get_chemical_symbols(), atoms.positions,
                     coords_are_cartesian=True)


def _matches(a, b, tolerances: Mapping[str, float]) -> bool:
    from pymatgen.analysis.structure_matcher import StructureMatcher

    try:
        return bool(StructureMatcher(attempt_supercell=True, **tolerances).fit(a, b))
    except ValueError:  # pymatgen's Niggli reduction can fail on a long, thin cell: no match established
        return False


def compare_layers(a, b) -> dict:
    """Two layer structures compared: same_formula, same_default (a match at pymatgen's default tolerances),
    same_loose (at :data:`LOOSE_TOLERANCES`), verdict (one of :data:`VERDICTS`)."""
    same_formula = a.composition.reduced_formula == b.composition.reduced_formula
    if not same_formula:
        return {"same_formula": False, "same_default": False, "same_loose": False,
                "verdict": "different formula"}
    default = _matches(a, b, DEFAULT_TOLERANCES)
    loose = default or _matches(a, b, LOOSE_TOLERANCES)
    verdict = "same structure" if default else "close polymorph" if loose else "polymorph"
    return {"same_formula": True, "same_default": default, "same_loose": loose, "verdict": verdict}


def match_pairs(pairs: pd.DataFrame, records: Mapping[str, Mapping] | None = None,
                vacuum: float = LAYER_VACUUM_A) -> pd.DataFrame:
    """:func:`compare_layers` for every pair of ``pairs`` (columns material_id_a, material_id_b).

    Parameters
    ----------
    records : material id -> ``structures.jsonl`` record (default:
        :func:`elfutils.data.dataset.structure_records`)

    Returns
    -------
    DataFrame, one row per pair in the given order: material_id_a, material_id_b, formula_a, formula_b
    (2Dmatpedia's, reduced), spacegroup_a, spacegroup_b (2Dmatpedia's), sites_a, sites_b (atoms of each
    layer's cell), same_formula, same_default, same_loose, verdict
    """
    if records is None:
        from elfutils.data.dataset import structure_records

        records = structure_records()
    layers: dict[str, object] = {}

    def layer(mid: str):
        if mid not in layers:
            layers[mid] = layer_structure(records[mid], vacuum)
        return layers[mid]

    rows, done = [], {}  # a pair listed twice (in either order) is compared once
    for a, b in zip(pairs["material_id_a"].astype(str), pairs["material_id_b"].astype(str), strict=True):
        row = {"material_id_a": a, "material_id_b": b}
        if a not in records or b not in records:
            row.update(verdict="no structure", same_formula=False, same_default=False, same_loose=False)
            rows.append(row)
            continue
        la, lb = layer(a), layer(b)
        key = frozenset((a, b))
        if key not in done:
            done[key] = compare_layers(la, lb)
        row.update(formula_a=la.composition.reduced_formula, formula_b=lb.composition.reduced_formula,
                   spacegroup_a=str(records[a].get("spacegroup", "")),
                   spacegroup_b=str(records[b].get("spacegroup", "")), sites_a=len(la), sites_b=len(lb),
                   **done[key])
        rows.append(row)
    columns = ["material_id_a", "material_id_b", "formula_a", "formula_b", "spacegroup_a", "spacegroup_b",
               "sites_a", "sites_b", "same_formula", "same_default", "same_loose", "verdict"]
    return pd.DataFrame(rows, columns=columns)


def verdict_tally(verdicts) -> str:
    """How many pairs got each verdict, in the order of :data:`VERDICTS` ("8 same structure, 2 polymorph";
    "none" for no pairs)."""
    counts = pd.Series(list(verdicts), dtype=object).value_counts()
    return ", ".join(f"{counts[v]} {v}" for v in VERDICTS if v in counts) or "none"


def label_check(labelled: Mapping[str, tuple[str, str]],
                records: Mapping[str, Mapping] | None = None) -> pd.DataFrame:
    """A table's formula labels against the data: for each ``label -> (id_a, id_b)`` (e.g. the paper's Table
    1, :data:`elfutils.constants.PAPER_TABLE1_DUPLICATES`), 2Dmatpedia's formula of both ids.

    Returns
    -------
    DataFrame indexed by label: material_id_a, formula_a, material_id_b, formula_b (reduced; "" for an id
    without a record), label_matches (both formulas are the label's, up to the order of the elements),
    data_label (the formula the data gives the pair: one formula, or "A / B" when the two differ)
    """
    if records is None:
        from elfutils.data.dataset import structure_records

        records = structure_records()

    def formula(mid: str) -> str:
        rec = records.get(mid)
        return _reduced(str(rec.get("formula_pretty", ""))) if rec else ""

    rows = []
    for label, (a, b) in labelled.items():
        fa, fb = formula(a), formula(b)
        rows.append({"label": label, "material_id_a": a, "formula_a": fa, "material_id_b": b, "formula_b": fb,
                     "label_matches": bool(fa) and fa == fb == _reduced(label),
                     "data_label": fa if fa == fb else f"{fa or '?'} / {fb or '?'}"})
    return pd.DataFrame(rows).set_index("label")


def mislabelled(check: pd.DataFrame) -> str:
    """The rows of :func:`label_check` whose label the data contradicts, in words ("AsBr3 is AsBr3 / BiBr3
    (2dm-2624, 2dm-4881)"; "" when every label holds)."""
    wrong = check[~check["label_matches"]]
    return "; ".join(f"{label} is {r.data_label} ({r.material_id_a}, {r.material_id_b})"
                     for label, r in wrong.iterrows())


def same_formula_ids(formula: str, records: Mapping[str, Mapping] | None = None) -> list[str]:
    """Every id whose 2Dmatpedia formula reduces to ``formula``'s (its polymorphs and duplicates), in the
    records' order."""
    if records is None:
        from elfutils.data.dataset import structure_records

        records = structure_records()
    target = _reduced(formula)
    return [mid for mid, rec in records.items() if _reduced(str(rec.get("formula_pretty", ""))) == target]

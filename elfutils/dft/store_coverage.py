"""What our GPAW band stores hold for a set of materials, over several stores together.

The flat-band materials were computed into two stores: ``gpaw-pbe.elfstore`` (the flat-band batch, which the
book's default profile reads) and ``gpaw-pbe-atlas.elfstore`` (``elf dft --atlas``, every other 2Dmatpedia
material, which went on to the largest flat-band cells the first batch had not reached). A dataset card of one
store (:func:`elfutils.dft.compare.dataset_card`) therefore undercounts what is computed. Here:

* :func:`coverage_across_stores`: how many of the target materials each store adds, how many are computed in
  any store, failed twice, or still pending (with why);
* :func:`material_gaps`: our gap and 2Dmatpedia's for a few named materials, with the metal verdict of both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd


def _stored_ids(store_path) -> set[str]:
    from elfutils.data.store import BandStore

    path = Path(store_path)
    return set(BandStore(path).ids()) if path.exists() else set()


def coverage_across_stores(store_paths: Sequence[str | Path],
                           target_ids: Iterable[str] | None = None) -> dict:
    """The target materials (default: the flat-band materials with a structure) over the stores, in order.

    Returns
    -------
    dict with
        n_target : materials in the target
        by_store : DataFrame (store name, added: target materials first found in that store, in order)
        n_computed : target materials stored in any store
        n_failed : failed twice in a store and stored in none
        pending : :func:`elfutils.dft.compare.pending_table` rows of the rest (neither stored nor failed
            twice anywhere), the first attempt's failure taken from whichever store records one
        added_natoms : atoms per cell of the materials each store after the first adds (store name -> list)
    """
    from elfutils.data.dataset import flat_band_ids, structure_records
    from elfutils.dft.batch import final_failures
    from elfutils.dft.compare import pending_table

    target = list(dict.fromkeys(flat_band_ids() if target_ids is None else target_ids))
    wanted = set(target)
    records = structure_records()
    seen: set[str] = set()
    rows, natoms = [], {}
    for path in store_paths:
        added = (_stored_ids(path) & wanted) - seen
        seen |= added
        rows.append({"store": Path(path).name, "added": len(added)})
        natoms[Path(path).name] = sorted(len(records[m]["species"]) for m in added if m in records)
    failed = {m for path in store_paths if Path(path).exists() for m in final_failures(path)}
    failed &= wanted - seen
    rest = [m for m in target if m not in seen and m not in failed]
    pending = None
    for path in store_paths:
        table = pending_table(path, rest) if Path(path).exists() else None
        if table is None:
            continue
        if pending is None:
            pending = table.set_index("material_id")
        else:  # a first attempt recorded in a later store
            other = table.set_index("material_id")["first_attempt"]
            blank = pending["first_attempt"] == ""
            pending.loc[blank, "first_attempt"] = other.reindex(pending.index[blank]).fillna("")
    if pending is None:
        pending = pd.DataFrame(columns=["formula", "natoms", "spin_run", "hubbard_u", "first_attempt"],
                               index=pd.Index(rest, name="material_id"))
    return {"n_target": len(target), "by_store": pd.DataFrame(rows, columns=["store", "added"]),
            "n_computed": len(seen), "n_failed": len(failed), "pending": pending.reset_index(),
            "added_natoms": {name: n for i, (name, n) in enumerate(natoms.items()) if i > 0}}


def material_gaps(material_ids: Iterable[str],
                  store_paths: Sequence[str | Path] | None = None) -> pd.DataFrame:
    """Our band gap and 2Dmatpedia's for the given materials.

    Parameters
    ----------
    store_paths : our band stores, the first holding a material wins (default: the flat-band store, then the
        atlas store)

    Returns
    -------
    DataFrame indexed by material_id: formula, spacegroup (2Dmatpedia's), gap_ours (eV, as our batch recorded
    it: SCF mesh and band path; NaN when not computed), gap_2dmatpedia (eV, ``bandgap`` of structures.jsonl),
    direct_2dmatpedia (``is_gap_direct``), metal_ours, metal_2dmatpedia (gap below
    :data:`elfutils.dft.compare.METAL_GAP_EV`; None when the gap is unknown)
    """
    from elfutils.data.dataset import atlas_store_path, dft_store_path, structure_records
    from elfutils.dft.compare import METAL_GAP_EV, store_table

    ids = list(dict.fromkeys(material_ids))
    paths = [dft_store_path(), atlas_store_path()] if store_paths is None else list(store_paths)
    ours: dict[str, float] = {}
    for path in paths:
        if not Path(path).exists():
            continue
        table = store_table(path)
        gaps = pd.to_numeric(table["band_gap"], errors="coerce")
        for mid, gap in zip(table["material_id"], gaps, strict=True):
            if mid in ids and mid not in ours:
                ours[mid] = float(gap)
    records = structure_records()

    def metal(gap):
        return None if pd.isna(gap) else bool(gap < METAL_GAP_EV)

    rows = []
    for mid in ids:
        rec = records.get(mid, {})
        reference = rec.get("bandgap")
        reference = float("nan") if reference is None else float(reference)
        gap = ours.get(mid, float("nan"))
        rows.append({"material_id": mid, "formula": rec.get("formula_pretty", ""),
                     "spacegroup": rec.get("spacegroup", ""), "gap_ours": gap, "gap_2dmatpedia": reference,
                     "direct_2dmatpedia": rec.get("is_gap_direct"), "metal_ours": metal(gap),
                     "metal_2dmatpedia": metal(reference)})
    table = pd.DataFrame(rows).set_index("material_id")
    for column in ("direct_2dmatpedia", "metal_ours", "metal_2dmatpedia"):  # True, False or None, as given
        table[column] = pd.Series([r[column] for r in rows], index=table.index, dtype=object)
    return table

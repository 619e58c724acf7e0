"""Our GPAW dataset, described and set against 2Dmatpedia's VASP results (the book's data chapter).

* :func:`dataset_card` -- what the band store holds: materials done and failed (with reasons), spin, metals,
  time per material, element coverage, DFT settings.
* :func:`image_agreement` -- how alike two binary band images are: IoU of the line pixels, and the fraction of
  line pixels lying within ``tolerance_px`` of a line of the other image (a one-pixel shift of a band costs
  IoU a lot and the tolerant measure nothing).
* :func:`fixture_comparison` -- our band structures against the 12 real 2Dmatpedia band files, material by
  material: metal or not, gap, image agreement.
* :func:`gap_comparison`, :func:`gap_summary` -- our gaps against 2Dmatpedia's for many materials.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from elfutils.data.energy_zero import METAL_GAP_EV  # below this a gap counts as zero, as for our runs

GAP_OUTLIER_EV = 0.5  # |our gap - 2Dmatpedia's| above this is listed as an outlier in the data chapter
TOLERANCE_PX = 2
# heavy elements whose valence bands spin-orbit coupling splits by tenths of an eV or more (the Bi, Tl and In
# pnictides and chalcogenides, the Hg and Cd compounds, Pb); our recipe leaves it out
SPIN_ORBIT_ELEMENTS = frozenset({"Bi", "Tl", "In", "Pb", "Hg", "Cd"})


def with_any_element(formulas, elements) -> np.ndarray:
    """Boolean mask: which formulas contain any of ``elements``."""
    from elfutils.data.dataset import elements_of

    wanted = set(elements)
    return np.array([bool(elements_of(str(f)) & wanted) for f in formulas], dtype=bool)


def half_agreement(ours, reference, half: str, tolerance_px: float = TOLERANCE_PX) -> dict:
    """:func:`image_agreement` of the upper (``"conduction"``: above the zero, row 0 is the top of the window)
    or lower (``"valence"``) half of two band images."""
    if half not in ("conduction", "valence"):
        raise ValueError(f"half must be 'conduction' or 'valence', not {half!r}")
    rows = np.asarray(ours).shape[0] // 2
    part = slice(0, rows) if half == "conduction" else slice(rows, None)
    return image_agreement(np.asarray(ours)[part], np.asarray(reference)[part], tolerance_px)


SAME_ENERGY_EV = 0.01  # two SCF total energies of one cell closer than this: neither state is preferred


def spin_states(reruns: pd.DataFrame, same_energy_ev: float = SAME_ENERGY_EV) -> pd.DataFrame:
    """Rows of ``scripts/gap_under_settings.py`` for one material, paired by basis: the run started
    spin-paired against the run started spin-polarised, and which is the ground state.

    Columns: basis, gap_paired, gap_polarised, moment_polarised (total, μB), energy_gain_ev (paired minus
    polarised SCF energy: positive when the polarised state is lower), ground ("spin-polarised",
    "spin-paired" or "either" within ``same_energy_ev``)."""
    polarised = reruns[reruns.start_moments_mub.map(bool)].set_index("basis")
    paired = reruns[~reruns.start_moments_mub.map(bool)].set_index("basis")
    rows = []
    for basis in paired.index.intersection(polarised.index):
        gain = float(paired.loc[basis, "scf_energy_ev"] - polarised.loc[basis, "scf_energy_ev"])
        kept = bool(polarised.loc[basis, "spin_polarized"])
        moment = float(polarised.loc[basis, "total_magnetic_moment"]) if kept else 0.0
        ground = ("spin-polarised" if kept and gain > same_energy_ev else
                  "spin-paired" if gain < -same_energy_ev else "either")
        rows.append({"basis": basis, "gap_paired": float(paired.loc[basis, "gap_ev"]),
                     "gap_polarised": float(polarised.loc[basis, "gap_ev"]),
                     "moment_polarised": moment,
                     "energy_gain_ev": gain, "ground": ground})
    return pd.DataFrame(rows, columns=["basis", "gap_paired", "gap_polarised", "moment_polarised",
                                       "energy_gain_ev", "ground"])


# --- images ------------------------------------------------------------------------------------------------
def image_agreement(a, b, tolerance_px: float = TOLERANCE_PX) -> dict:
    """Agreement of two binary images of the same shape (non-zero = line pixel).

    Returns:
        ``iou``: |a ∩ b| / |a ∪ b| (1.0 when both are empty);
        ``within_tolerance_fraction``: of all line pixels of both images, the share lying within
        ``tolerance_px`` (Euclidean, pixel centres) of a line pixel of the other image (1.0 when both are
        empty, 0.0 when only one is);
        ``a_within_b``, ``b_within_a``: the same share for each image alone (NaN for an empty image).

    Raises:
        ValueError: shapes differ, an image is not 2-D, or the tolerance is negative.
    """
    from scipy.ndimage import distance_transform_edt

    a, b = np.asarray(a) != 0, np.asarray(b) != 0
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"need two 2-D images of the same shape, got {a.shape} and {b.shape}")
    if not tolerance_px >= 0:
        raise ValueError(f"tolerance_px must be >= 0, got {tolerance_px!r}")
    na, nb = int(a.sum()), int(b.sum())
    union = int((a | b).sum())
    iou = 1.0 if union == 0 else float((a & b).sum() / union)
    if na + nb == 0:
        return {"iou": 1.0, "within_tolerance_fraction": 1.0, "a_within_b": float("nan"),
                "b_within_a": float("nan")}

    def near(src, ref):  # line pixels of src within tolerance of a line pixel of ref
        if not ref.any():
            return 0
        return int((distance_transform_edt(~ref)[src] <= tolerance_px).sum())

    a_near, b_near = near(a, b), near(b, a)
    return {
        "iou": iou,
        "within_tolerance_fraction": (a_near + b_near) / (na + nb),
        "a_within_b": a_near / na if na else float("nan"),
        "b_within_a": b_near / nb if nb else float("nan"),
    }


def overlay(ours, reference) -> np.ndarray:
    """RGB picture of two binary images: both = black, ours only = red, reference only = blue, else white."""
    a, b = np.asarray(ours) != 0, np.asarray(reference) != 0
    rgb = np.ones((*a.shape, 3))
    rgb[a & ~b] = (0.85, 0.1, 0.1)
    rgb[b & ~a] = (0.1, 0.3, 0.9)
    rgb[a & b] = (0.0, 0.0, 0.0)
    return rgb


# --- gaps ---------------------------------------------------------------------------------------------------
def gap_comparison(ours: Mapping[str, float], reference: Mapping[str, float],
                   metal_below: float = METAL_GAP_EV) -> pd.DataFrame:
    """Our gaps against reference gaps (eV) for the materials present in both, in the order of ``ours``.

    Columns: material_id, gap_ours, gap_reference, difference (ours - reference), abs_difference, metal_ours,
    metal_reference, same_kind (both metals or both gapped). NaN or missing gaps are left out.
    """
    rows = []
    for mid, g in ours.items():
        r = reference.get(mid)
        if g is None or r is None or not np.isfinite(g) or not np.isfinite(r):
            continue
        g, r = float(g), float(r)
        rows.append((mid, g, r, g - r, abs(g - r), g < metal_below, r < metal_below))
    df = pd.DataFrame(rows, columns=["material_id", "gap_ours", "gap_reference", "difference",
                                     "abs_difference", "metal_ours", "metal_reference"])
    df["same_kind"] = df["metal_ours"] == df["metal_reference"]
    return df


def gap_summary(df: pd.DataFrame, outlier_ev: float = GAP_OUTLIER_EV) -> dict:
    """Numbers for the text: n, median |Δ| (all; both gapped), mean Δ (gapped), kind agreement, outliers."""
    both_gapped = df[~df.metal_ours & ~df.metal_reference]
    nan, gapped = float("nan"), len(both_gapped) > 0
    return {
        "n": len(df),
        "median_abs_difference": float(df.abs_difference.median()) if len(df) else nan,
        "median_abs_difference_gapped": float(both_gapped.abs_difference.median()) if gapped else nan,
        "mean_difference_gapped": float(both_gapped.difference.mean()) if gapped else nan,
        "n_both_metal": int((df.metal_ours & df.metal_reference).sum()),
        "n_both_gapped": len(both_gapped),
        "n_kind_differs": int((~df.same_kind).sum()),
        "kind_agreement": float(df.same_kind.mean()) if len(df) else float("nan"),
        "n_outliers": int((df.abs_difference > outlier_ev).sum()),
        "outlier_ev": outlier_ev,
    }


def gap_outliers(df: pd.DataFrame, outlier_ev: float = GAP_OUTLIER_EV) -> pd.DataFrame:
    """The rows with |Δgap| > ``outlier_ev``, largest first."""
    out = df[df.abs_difference > outlier_ev].sort_values("abs_difference", ascending=False)
    return out.reset_index(drop=True)


def likely_gap_cause(species, gap_ours: float, gap_reference: float, spin_run: bool, spin_kept: bool,
                     ours_has_u: bool = False) -> str:
    """A rule-of-thumb reason why our gap differs from 2Dmatpedia's, from what each calculation is known to do
    (a heuristic for reading the outlier list, not a diagnosis).

    species: the cell's element symbols (one per site); spin_run: our run started with magnetic moments;
    spin_kept: the moments survived; ours_has_u: our run applied the same Hubbard U (elfutils.dft.recipe)."""
    from pymatgen.core import Element

    from elfutils.dft.recipe import (  # the Materials Project's GGA+U convention
        MP_HUBBARD_U,
        MP_HUBBARD_U_ANIONS,
    )

    elements = set(species)
    u_metals = sorted(elements & MP_HUBBARD_U.keys())
    if u_metals and elements & MP_HUBBARD_U_ANIONS and not ours_has_u:
        return (f"Hubbard U: MP-style GGA+U on {', '.join(u_metals)} in an oxide/fluoride opens the gap; "
                "this run of ours is plain PBE (recomputed with U by the next `elf dft`)")
    electrons = sum(Element(e).Z for e in species)
    if gap_ours < METAL_GAP_EV <= gap_reference and electrons % 2 and not spin_kept:
        return ("odd electron count: a spin-paired cell must be metallic; the reference gap needs a spin-"
                "polarised solution (we start moments only on d/f ions)")
    if spin_run and not spin_kept:
        return "our magnetic moment vanished: another spin state than the reference's"
    if spin_kept:
        return "magnetic: the spin state or moments differ"
    if gap_ours > gap_reference:
        return ("ours larger: a magnetic ground state our spin-paired start missed (so for GaAs 2dm-2933, "
                "scripts/gap_under_settings.py), or the localised basis's conduction states")
    return "ours smaller: basis or k-mesh; not explained by the rules"


def with_likely_causes(outliers: pd.DataFrame, materials: pd.DataFrame) -> pd.DataFrame:
    """:func:`gap_outliers` rows with a ``likely_cause`` column (:func:`likely_gap_cause`); ``materials`` is
    the
    store's metadata table (:func:`store_table`: material_id, spin_polarized_run, spin_polarized)."""
    from elfutils.data.dataset import structure_records

    records = structure_records()
    meta = materials.set_index("material_id")
    causes = []
    for row in outliers.itertuples():
        m = meta.loc[row.material_id] if row.material_id in meta.index else {}
        species = records.get(row.material_id, {}).get("species", [])
        causes.append(likely_gap_cause(species, row.gap_ours, row.gap_reference,
                                       bool(m.get("spin_polarized_run", False)), bool(m.get("spin_polarized",
                                                                                            False)),
                                       str(m.get("method",
                                                 "")).endswith("+U")))  # elfutils.dft.recipe's method
    return outliers.assign(likely_cause=causes)


def reference_gaps() -> dict[str, float]:
    """2Dmatpedia's PBE gap of every material in ``structures.jsonl`` (eV), by id."""
    from elfutils.data.dataset import structure_records

    return {mid: rec["bandgap"] for mid, rec in structure_records().items() if rec.get("bandgap") is not None}


def store_gaps(materials: pd.DataFrame) -> pd.DataFrame:
    """:func:`gap_comparison` of a store's materials (:func:`store_table` rows: material_id, band_gap) against
    2Dmatpedia's gaps (:func:`reference_gaps`): what the data chapter shows and its gap outliers come from."""
    ours = dict(zip(materials.material_id, pd.to_numeric(materials.band_gap, errors="coerce"), strict=True))
    return gap_comparison(ours, reference_gaps())


# --- the dataset card ---------------------------------------------------------------------------------------
def store_table(store_path: str | Path) -> pd.DataFrame:
    """One row per material in a band store: its metadata flattened (settings.* columns), without energies."""
    import time

    from elfutils.data.store import BandStore
    from elfutils.errors import BandDataError

    for attempt in range(5):  # a running DFT batch may merge (and delete) parts while we read them
        try:
            meta = BandStore(store_path).metadata()
            break
        except (FileNotFoundError, BandDataError):
            if attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))
    if not meta:
        return pd.DataFrame(columns=["material_id", "formula", "band_gap", "wall_time_s", "spin_polarized"])
    return pd.json_normalize(meta)


def failure_table(store_path: str | Path) -> pd.DataFrame:
    """Materials whose every attempt failed: material_id, formula, attempts, error (exception), reason."""
    from elfutils.data.dataset import structure_records
    from elfutils.dft.batch import final_failures, read_failures

    final = final_failures(store_path)
    attempts = Counter(r["material_id"] for r in read_failures(store_path))
    records = structure_records()
    rows = []
    for mid, rec in final.items():
        reason = str(rec.get("reason", ""))
        rows.append((mid, records.get(mid, {}).get("formula_pretty", ""), attempts[mid], error_kind(reason),
                     reason))
    return pd.DataFrame(rows, columns=["material_id", "formula", "attempts", "error", "reason"])


def error_kind(reason: str) -> str:
    """The kind of a failure reason as the batch records it: the exception's name ("KohnShamConvergenceError:
    ..."), or the batch's own sentence without its details ("time limit of 1800 s exceeded", "Dask worker
    died during the calculation (KilledWorker ...)" -> "Dask worker died during the calculation")."""
    reason = str(reason).strip()
    first = reason.split(maxsplit=1)[0] if reason else ""
    if first.endswith(":"):  # "SomeError: message [module.SomeError]"
        return first[:-1]
    return reason.split(" [", 1)[0].split(" (", 1)[0].strip() or "unknown"


def failed_attempts_summary(store_path: str | Path) -> pd.DataFrame:
    """Every failed attempt of a store's ``failures.jsonl`` by kind of error (:func:`error_kind`), with what
    became of the materials: error, attempts, materials, stored (a later attempt succeeded), failed_twice,
    awaiting_retry (the batch stopped before the retry). Most attempts first."""
    from elfutils.data.store import BandStore
    from elfutils.dft.batch import final_failures, pending_retries, read_failures

    records = read_failures(store_path)
    columns = ["error", "attempts", "materials", "stored", "failed_twice", "awaiting_retry"]
    if not records:
        return pd.DataFrame(columns=columns)
    stored = set(BandStore(store_path).ids())
    final, waiting = set(final_failures(store_path)), set(pending_retries(store_path))
    by_kind: dict[str, list[str]] = {}
    for rec in records:
        by_kind.setdefault(error_kind(rec.get("reason", "")), []).append(rec["material_id"])
    rows = [(kind, len(ids), len(set(ids)), len(set(ids) & stored), len(set(ids) & final),
             len(set(ids) & waiting)) for kind, ids in by_kind.items()]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(["attempts", "error"], ascending=[False, True], ignore_index=True)


def element_counts(formulas) -> pd.Series:
    """How many materials contain each element (descending)."""
    from elfutils.data.dataset import elements_of

    counts = Counter(el for f in formulas for el in elements_of(str(f)))
    return pd.Series(counts, dtype=int).sort_values(ascending=False)


def dataset_card(store_path: str | Path, n_target: int | None = None) -> dict:
    """The numbers of the dataset card.

    Returns a dict: n_done, n_target, n_failed, n_pending, n_spin_polarized, n_spin_runs, n_metals,
    n_gapped, n_retried, time_median_s, time_p95_s, time_total_h, natoms_median, natoms_max, n_elements,
    gpaw_versions, plus DataFrames ``materials`` (:func:`store_table`), ``failures`` (:func:`failure_table`)
    and Series ``elements`` (:func:`element_counts`).
    """
    from elfutils.data.dataset import flat_band_ids

    table = store_table(store_path)
    failures = failure_table(store_path)
    n_target = len(flat_band_ids()) if n_target is None else n_target

    def numbers(col):
        if col not in table or not len(table):
            return pd.Series([], dtype=float)
        return pd.to_numeric(table[col], errors="coerce")

    wall, gaps, natoms = numbers("wall_time_s").dropna(), numbers("band_gap"), numbers("natoms").dropna()
    elements = element_counts(table["formula"]) if len(table) else pd.Series([], dtype=int)

    def count(col):
        return int(table[col].fillna(False).astype(bool).sum()) if col in table else 0

    return {
        "n_done": len(table),
        "n_target": n_target,
        "n_failed": len(failures),
        "n_pending": max(n_target - len(table) - len(failures), 0),
        "n_spin_polarized": count("spin_polarized"),
        "n_spin_runs": count("spin_polarized_run"),
        "n_metals": int((gaps < METAL_GAP_EV).sum()),
        "n_gapped": int((gaps >= METAL_GAP_EV).sum()),
        "n_retried": int((numbers("attempt") > 1).sum()),
        "time_median_s": float(wall.median()) if len(wall) else float("nan"),
        "time_p95_s": float(wall.quantile(0.95)) if len(wall) else float("nan"),
        "time_total_h": float(wall.sum() / 3600) if len(wall) else 0.0,
        "natoms_median": float(natoms.median()) if len(natoms) else float("nan"),
        "natoms_max": int(natoms.max()) if len(natoms) else 0,
        "n_elements": len(elements),
        "gpaw_versions": sorted(set(table["gpaw_version"].dropna())) if "gpaw_version" in table else [],
        "materials": table,
        "failures": failures,
        "elements": elements,
    }


def pending_table(store_path: str | Path, target_ids=None) -> pd.DataFrame:
    """Materials of ``target_ids`` (default: the 2002 flat-band materials) neither stored nor failed twice, in
    the batch's order (cheapest first, pending retries last): material_id, formula, natoms, spin_run (the
    batch would start magnetic moments), hubbard_u (the batch would add U), first_attempt (why a first attempt
    failed, when one did and the retry has not run yet; else "")."""
    from elfutils.data.dataset import flat_band_ids, structure_records
    from elfutils.data.store import BandStore
    from elfutils.dft.batch import final_failures, pending_retries
    from elfutils.dft.recipe import DFTSettings, batch_cost, hubbard_u_values, needs_spin

    records = structure_records()
    done = set(BandStore(store_path).ids()) | set(final_failures(store_path))
    pending = pending_retries(store_path)
    target = flat_band_ids() if target_ids is None else target_ids
    ids = [i for i in target if i in records and i not in done]
    settings = DFTSettings()
    rows = []
    for mid in sorted(ids, key=lambda i: (i in pending, batch_cost(records[i]["species"]))):  # retries last
        species = records[mid]["species"]
        rows.append((mid, records[mid].get("formula_pretty", ""), len(species), needs_spin(species, settings),
                     bool(hubbard_u_values(species, settings)), str(pending.get(mid, {}).get("reason", ""))))
    columns = ["material_id", "formula", "natoms", "spin_run", "hubbard_u", "first_attempt"]
    return pd.DataFrame(rows, columns=columns)


# --- ours vs 2Dmatpedia's VASP on the fixture materials -----------------------------------------------------
def fixture_comparison(store_path: str | Path, band_files, tolerance_px: float = TOLERANCE_PX,
                       **render_kwargs) -> tuple[pd.DataFrame, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Our band structures against real 2Dmatpedia band files of the same materials.

    Both are rendered the same way (:func:`elfutils.images.render.render_band_image`, ``render_kwargs``) and
    their
    gaps taken the same way (:meth:`BandStructure.band_gap` along the shared k-path). Files whose material is
    not in the store are left out.

    Returns:
        table: material_id, formula, spin_ours, spin_vasp, gap_ours, gap_vasp, gap_difference, metal_ours,
            metal_vasp, same_kind, iou, within_tolerance_fraction;
        images: material_id -> (our image, VASP image).
    """
    from elfutils.data.readers import read_band_file
    from elfutils.data.store import BandStore
    from elfutils.images.render import render_band_image

    store = BandStore(store_path)
    rows, images = [], {}
    for path in band_files:
        ref = read_band_file(path)
        if ref.material_id not in store:
            continue
        ours = store.get(ref.material_id)
        img_ours = render_band_image(ours, **render_kwargs)
        img_ref = render_band_image(ref, **render_kwargs)
        agreement = image_agreement(img_ours, img_ref, tolerance_px)
        g_ours, g_ref = ours.band_gap(), ref.band_gap()
        rows.append({
            "material_id": ref.material_id, "formula": ref.formula or ours.formula,
            "spin_ours": ours.is_spin_polarized, "spin_vasp": ref.is_spin_polarized,
            "gap_ours": g_ours, "gap_vasp": g_ref, "gap_difference": g_ours - g_ref,
            "metal_ours": g_ours < METAL_GAP_EV, "metal_vasp": g_ref < METAL_GAP_EV,
            "iou": agreement["iou"], "within_tolerance_fraction": agreement["within_tolerance_fraction"],
        })
        images[ref.material_id] = (img_ours, img_ref)
    table = pd.DataFrame(rows, columns=["material_id", "formula", "spin_ours", "spin_vasp", "gap_ours",
                                        "gap_vasp", "gap_difference", "metal_ours", "metal_vasp", "iou",
                                        "within_tolerance_fraction"])
    table.insert(9, "same_kind", table["metal_ours"] == table["metal_vasp"])
    return table, images


# --- all of 2Dmatpedia: both stores, by group ---------------------------------------------------------------
GROUPS = ("flat-band pool", "rest of 2Dmatpedia")


def coverage_by_group(store_paths, groups: Mapping[str, str] | None = None,
                      targets: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Counts of the dataset card per group of materials, over several stores together (a material in two
    stores counts once, the later store's record winning): one row per group with target (materials with a
    structure), computed, failed (every attempt), pending, spin_runs (started magnetic), spin_kept (moments
    survived), metals, gapped, retried, time_median_s, time_p95_s, cpu_hours, elements, and a total row.

    ``groups`` maps material id -> group (default: GROUPS[0] for the flat-band pool, GROUPS[1] for every
    other 2Dmatpedia id with a structure); ``targets`` the number of materials each group should hold
    (default: how many ids ``groups`` gives it)."""
    from elfutils.data.dataset import flat_band_ids, structure_records

    if groups is None:
        pool = set(flat_band_ids())
        groups = {mid: GROUPS[0] if mid in pool else GROUPS[1] for mid in structure_records()}
    if targets is None:
        counts = Counter(groups.values())
        targets = {g: counts[g] for g in [*GROUPS, *sorted(set(counts) - set(GROUPS))] if counts[g]}
    targets = dict(targets)
    tables = [store_table(p) for p in store_paths]
    filled = [t.dropna(axis=1, how="all") for t in tables if len(t)]
    materials = pd.concat(filled, ignore_index=True) if filled else tables[0]
    materials = materials.drop_duplicates("material_id", keep="last")
    stored = set(materials["material_id"])
    failed = {mid for p in store_paths for mid in failure_table(p)["material_id"] if mid not in stored}
    materials = materials.assign(group=materials["material_id"].map(groups).fillna("other"))

    def row(name: str, table: pd.DataFrame, target: int, n_failed: int) -> dict:
        def numbers(col):
            return pd.to_numeric(table[col], errors="coerce") if col in table else pd.Series([], dtype=float)

        def count(col):
            return int(sum(bool(v) for v in table[col] if pd.notna(v))) if col in table else 0

        wall, gaps = numbers("wall_time_s").dropna(), numbers("band_gap")
        return {"group": name, "target": target, "computed": len(table), "failed": n_failed,
                "pending": max(target - len(table) - n_failed, 0), "spin_runs": count("spin_polarized_run"),
                "spin_kept": count("spin_polarized"), "metals": int((gaps < METAL_GAP_EV).sum()),
                "gapped": int((gaps >= METAL_GAP_EV).sum()), "retried": int((numbers("attempt") > 1).sum()),
                "time_median_s": float(wall.median()) if len(wall) else float("nan"),
                "time_p95_s": float(wall.quantile(0.95)) if len(wall) else float("nan"),
                "cpu_hours": float(wall.sum() / 3600), "elements": len(element_counts(table["formula"]))
                if len(table) else 0}

    names = [g for g in targets] + sorted(set(materials["group"]) - set(targets))
    rows = [row(g, materials[materials["group"] == g], targets.get(g, 0),
                sum(groups.get(m, "other") == g for m in failed)) for g in names]
    rows.append(row("all", materials, sum(targets.values()), len(failed)))
    return pd.DataFrame(rows)

"""The atlas chapter's cached stage: elf on all of 2Dmatpedia, where do the flat-band materials sit.

:func:`atlas_search` runs :mod:`elfutils.analysis.atlas` on the ``atlas`` profile's fingerprints and
clustering (the stages of :mod:`elfutils.book.pipeline`) and stores one JSON: the flat-band search of elf and
the baselines, the clusters ranked by their flat-band share, and the candidates outside the pool nearest to
the flat-band exemplars of the paper's profile (Fig. 3). The atlas profile's fingerprints come from a model
trained on the atlas images; the search also ranks the reference profile's flat-band model on the same
images (:func:`elfutils.book.profiles.flatband_model_profile`), and :func:`model_comparison` asks whether the
two models see the same neighbourhoods.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from elfutils.analysis.atlas import EXEMPLARS_PER_CLUSTER
from elfutils.book import pipeline as pl
from elfutils.book.cache import cached_stage, code_hash, file_hash, stage_key
from elfutils.book.profiles import Profile, flatband_model_profile
from elfutils.io import atomic_write_json
from elfutils.paths import cache_dir

ATLAS_PROFILE = "atlas"
REFERENCE_PROFILE = "default"  # whose exemplars are "the flat-band exemplars", and the paper's clusters
Where = str | Profile  # a profile or its name
FLATBAND_MODEL_NAME = "elf, flat-band model"  # the search's row for the reference profile's model


def labels_for(ids) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(binary_flatness, flatness_score, in the flat-band pool) for each id; NaN where Bhattacharya et al.
    give no label."""
    from elfutils.data.dataset import flat_band_pool, flatness_labels

    scores = flatness_labels()
    pool = set(flat_band_pool().material_id)
    return (scores.binary_flatness.reindex(ids).to_numpy(float),
            scores.flatness_score.reindex(ids).to_numpy(float), np.array([m in pool for m in ids]))


def _table_matrix(table: pd.DataFrame, ids) -> np.ndarray:
    from elfutils.analysis.fingerprints import fingerprint_matrix

    return fingerprint_matrix(table.set_index("material_id").loc[list(ids)].reset_index())


def reference_exemplars(reference: Where = REFERENCE_PROFILE,
                        per_cluster: int = EXEMPLARS_PER_CLUSTER) -> list[str]:
    """The top exemplar(s) of every cluster of the reference profile (Fig. 3's flat-band exemplars)."""
    table = pl.exemplars(reference)
    return table[table["rank"] <= per_cluster].material_id.tolist()


def atlas_search_key(profile: Where = ATLAS_PROFILE, reference: Where = REFERENCE_PROFILE) -> str:
    from elfutils.data.dataset import COVERAGE_FILE, POOL_FILE
    from elfutils.paths import data_dir

    p = pl._profile(profile)
    other = _flatband_model(p, reference)
    return stage_key("atlas_search", {
        "fingerprints": pl.fingerprints_key(p), "clustering": pl.clustering_key(p),
        "flatband_model": pl.fingerprints_key(other) if other is not None else None,
        "reference": pl.clustering_key(reference),
        "labels": [file_hash(data_dir() / f) for f in (POOL_FILE, COVERAGE_FILE)],
        "code": [code_hash(m) for m in ("analysis.atlas", "analysis.evaluation",
                                           "analysis.fingerprint_quality", "book.atlas_stage")],
        "params": [p.minkowski_p, p.seed]})


def _flatband_model(profile: Profile, reference: Where) -> Profile | None:
    """The profile's images encoded by the reference profile's model, or None when that is the profile's own
    model already (nothing to compare)."""
    other = flatband_model_profile(reference)
    return None if pl.model_identity(other) == pl.model_identity(profile) else other


def atlas_search(profile: Where = ATLAS_PROFILE, reference: Where = REFERENCE_PROFILE) -> dict:
    """The flat-band search on the profile's materials (JSON, cached): ``search`` (representation -> scores
    of :func:`elfutils.analysis.atlas.flat_band_search`, vote shares only for elf; the reference profile's
    flat-band model too, where it is another model), ``clusters`` (ranked flat-band shares),
    ``candidates`` (outside the pool, nearest a reference exemplar first), counts."""
    from elfutils.analysis import atlas
    from elfutils.analysis import evaluation as ev
    from elfutils.analysis import fingerprint_quality as fq

    p = pl._profile(profile)
    key = atlas_search_key(p, reference)
    [path] = atlas_search_files(p, reference)

    def compute():
        stack, ids, formulas = pl.images(p)
        by_id = {r.material_id: r for r in pl.load_dataset(p)}
        records = [by_id[m] for m in ids]
        elf = _table_matrix(pl.fingerprints(p), ids)
        flat, score, in_pool = labels_for(ids)
        reps = fq.band_representations(records, stack, elf, p.minkowski_p, seed=p.seed)
        other = _flatband_model(p, reference)
        if other is not None:  # after this profile's own elf, which stays first (elf_name below)
            first = next(iter(reps))
            flat_model = (_table_matrix(pl.fingerprints(other), ids), p.minkowski_p)
            reps = {first: reps[first], f"{FLATBAND_MODEL_NAME}, p = {p.minkowski_p:g}": flat_model,
                    **{k: v for k, v in reps.items() if k != first}}
        search = atlas.flat_band_search(reps, flat, in_pool, ev.seeded_folds(len(ids), seed=p.seed))
        elf_name = next(iter(reps))
        votes = search[elf_name]["scores"]
        for name in search:
            del search[name]["scores"]
        clusters = pl.clustering(p).set_index("material_id").loc[ids]
        shares = atlas.cluster_flat_shares(clusters.hdbscan_label.to_numpy(), in_pool, flat)
        exemplar_ids = [m for m in reference_exemplars(reference) if m in by_id]
        cands = atlas.exemplar_candidates(elf, ids, in_pool, exemplar_ids, p=p.minkowski_p)
        row = {m: i for i, m in enumerate(ids)}
        at = [row[m] for m in cands.material_id]
        cands["formula"] = [formulas[i] for i in at]
        cands["elf_vote"] = [votes[i] for i in at]
        cands["binary_flatness"] = [None if np.isnan(flat[i]) else int(flat[i]) for i in at]
        cands["flatness_score"] = [None if np.isnan(score[i]) else float(score[i]) for i in at]
        result = {
            "n_materials": len(ids), "n_pool": int(in_pool.sum()), "n_labelled": int(np.isfinite(flat).sum()),
            "n_flat": int(np.nansum(flat)), "elf": elf_name, "k": ev.KNN_K, "top": atlas.TOP_CANDIDATES,
            "folds": ev.N_FOLDS, "search": search, "elf_votes": dict(zip(ids, votes, strict=True)),
            "clusters": shares.to_dict(orient="records"), "exemplars": exemplar_ids,
            "candidates": cands.to_dict(orient="records")}
        atomic_write_json(path, result)
        return json.loads(path.read_text())  # as a later load sees it (sorted keys): one order for the book

    return cached_stage("atlas_search", p, key, path.exists, lambda: json.loads(path.read_text()),
                        compute, files=[path])


def atlas_search_files(profile: Where = ATLAS_PROFILE, reference: Where = REFERENCE_PROFILE) -> list[Path]:
    return [cache_dir() / "atlas" / f"{atlas_search_key(profile, reference)}.json"]


def same_model(profile: Where = ATLAS_PROFILE, reference: Where = REFERENCE_PROFILE) -> bool:
    """Whether the two profiles' fingerprints come from the same weights (comparing them then says
    nothing)."""
    return pl.model_identity(profile) == pl.model_identity(reference)


def model_comparison(profile: Where = ATLAS_PROFILE, reference: Where = REFERENCE_PROFILE) -> dict:
    """Do the atlas model and the reference profile's flat-band model see the same neighbourhoods?

    ``overlap_reference`` / ``overlap_atlas``: mean share of the 10 nearest neighbours (Minkowski p of the
    profile) that the two models' fingerprints share, on the reference profile's materials and on all of the
    profile's; ``overlap_chance``: what unrelated fingerprints would share on the reference materials.
    ``kept``: per reference cluster, the share of its members the atlas clustering keeps in one cluster;
    ``kept_flatband_model``: the same for the clustering of the atlas images by the flat-band model, which
    separates what the larger dataset does to the clusters from what the other model does. Cheap (no cache):
    the fingerprint tables and clusterings are cached stages."""
    from elfutils.analysis import atlas
    from elfutils.analysis import evaluation as ev

    p, ref = pl._profile(profile), pl._profile(reference)
    other = flatband_model_profile(ref)
    ref_table, own_table, other_table = pl.fingerprints(ref), pl.fingerprints(p), pl.fingerprints(other)
    have = set(own_table.material_id)
    ids = [m for m in ref_table.material_id if m in have]
    all_ids = list(own_table.material_id)
    k = min(ev.KNN_K, len(ids) - 1)  # fewer only in the smoke profile, whose two datasets share 12 files
    overlap = atlas.neighbour_overlap(_table_matrix(ref_table, ids), _table_matrix(own_table, ids), k=k,
                                      p=p.minkowski_p)
    overlap_all = atlas.neighbour_overlap(_table_matrix(other_table, all_ids),
                                          _table_matrix(own_table, all_ids), k=k, p=p.minkowski_p)

    def labels(where, which):
        return pl.clustering(where).set_index("material_id").hdbscan_label.loc[which].to_numpy()

    ref_labels = labels(ref, ids)
    kept = atlas.clusters_kept_together(ref_labels, labels(p, ids))
    kept_flat = atlas.clusters_kept_together(ref_labels, labels(other, ids))
    return {"n": len(ids), "n_atlas": len(all_ids), "k": k, "overlap_reference": float(overlap.mean()),
            "overlap_atlas": float(overlap_all.mean()), "overlap_chance": k / (len(ids) - 1),
            "kept": kept, "kept_flatband_model": kept_flat}

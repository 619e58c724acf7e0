"""The measurements of a book profile that the chapters and the paper-vs-ours registry
(:mod:`elfutils.book.paper_quantities`) read: Fig. 4's bond geometry (:func:`fig4_geometry`), the named
clusters of the paper (:func:`co_cluster_check`, :func:`nc4_check`, :func:`flat_band_clusters`,
:func:`structural_clusters`), the similarity-search example (:func:`choose_query`, :func:`rank_of`) and Fig.
6's latent walks (:func:`latent_walk_study`). Algorithms live in :mod:`elfutils.analysis`; here they are
applied to a profile's stages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from elfutils import constants as C
from elfutils.analysis.closeness import SQUARE_OCTAGON, group_closeness


def fig4_geometry() -> pd.DataFrame:
    """The in-plane bond geometry (:func:`elfutils.analysis.structure.bond_geometry`) of the paper's
    cluster-20
    materials (InAs and partners) from their 2Dmatpedia structures, with the paper's reading of its Fig. 4
    ("paper": symmetric or skewed) and whether our motif naming agrees ("agrees": a symmetric one is named
    square-octagon, a skewed one is not)."""
    from elfutils.analysis.structure import bond_geometry
    from elfutils.data.dataset import structure_records
    from elfutils.dft.recipe import structure_from_record

    anchor = "2dm-2474"
    records = structure_records()
    ids = [anchor, *C.PAPER_CO_CLUSTERED[anchor][2]]
    table = bond_geometry({m: structure_from_record(records[m]) for m in ids})
    table.insert(1, "paper", ["skewed" if m in C.PAPER_FIG4_SKEWED else "symmetric" for m in table.index])
    table["agrees"] = (table.paper == "symmetric") == (table.motif == SQUARE_OCTAGON)
    return table


def nc4_check(table: pd.DataFrame, min_samples: int = C.HDBSCAN_MIN_SAMPLES,
              p: float = C.MINKOWSKI_P) -> dict:
    """The paper's Nc = 4 example: do its four rare-earth trifluorides (``PAPER_NC4_CLUSTER``) share one
    HDBSCAN cluster when the minimum cluster size is lowered to 4?

    Parameters
    ----------
    table : fingerprint table (material_id, formula, f0..f97)

    Returns
    -------
    dict: present (ids in the table), absent (id -> why: the pool's reason, or "not in this build's data"),
    labels (id -> cluster at Nc = 4; only when two or more are present, else empty), same_cluster (bool or
    None when fewer than two are present), n_clusters (at Nc = 4, None when not fitted)
    """
    from elfutils.analysis.cluster import FingerprintHDBSCAN
    from elfutils.data.dataset import flat_band_pool

    named = C.PAPER_NC4_CLUSTER
    ids = set(table["material_id"])
    present = [m for m in named if m in ids]
    pool = flat_band_pool().set_index("material_id")
    absent = {m: (pool.absence_reason.get(m) or "not in this build's data") for m in named if m not in ids}
    out = {"present": present, "absent": absent, "labels": {}, "same_cluster": None, "n_clusters": None}
    if len(present) >= 2:
        fitted = FingerprintHDBSCAN(min_cluster_size=C.PAPER_NC4_MIN_CLUSTER_SIZE, min_samples=min_samples,
                                    p=p).fit(table)
        label_of = dict(zip(fitted.material_ids_, fitted.labels_, strict=True))
        out["labels"] = {m: int(label_of[m]) for m in present}
        values = set(out["labels"].values())
        out["same_cluster"] = len(values) == 1 and values != {-1}
        out["n_clusters"] = int(fitted.n_clusters_)
    return out


def choose_query(files, records) -> dict:
    """The example query of the similarity-search chapter: one of the real 2Dmatpedia band files.

    Preference: a file whose material is in the dataset as a *different* calculation (our GPAW band
    structure: the VASP and GPAW versions should land near each other); else one whose material is in the
    dataset as this very file; else the first file.

    Parameters
    ----------
    files : paths of the band files (``elfutils.data.dataset.real_band_files()``)
    records : the dataset's band structures (``elfutils.book.pipeline.load_dataset(profile)``)

    Returns
    -------
    dict: path, material_id, twin_in_dataset (bool), twin_source (the dataset record's ``source``, "" when
    absent), twin_is_same_file (bool)
    """
    files = [Path(f) for f in files]
    if not files:
        raise ValueError("no band files to choose a query from")
    by_id = {r.material_id: r for r in records}

    def same_file(path, record):
        try:
            return Path(record.source).resolve() == path.resolve()
        except (OSError, TypeError, ValueError):
            return False

    def entry(path):
        mid = path.name.removesuffix(".gz").removesuffix(".json")
        record = by_id.get(mid)
        return {"path": path, "material_id": mid, "twin_in_dataset": record is not None,
                "twin_source": getattr(record, "source", "") if record is not None else "",
                "twin_is_same_file": record is not None and same_file(path, record)}

    entries = [entry(f) for f in files]
    for wanted in (lambda e: e["twin_in_dataset"] and not e["twin_is_same_file"],
                   lambda e: e["twin_in_dataset"]):
        found = [e for e in entries if wanted(e)]
        if found:
            return found[0]
    return entries[0]


def rank_of(result: pd.DataFrame, material_id: str) -> tuple[int | None, float]:
    """(rank, distance) of a material in a :func:`elfutils.analysis.similar.find_similar` result of one query;
    (None, NaN) when it is not listed."""
    rows = result[result["material_id"].astype(str) == str(material_id)]
    if rows.empty:
        return None, float("nan")
    return int(rows["rank"].iloc[0]), float(rows["distance"].iloc[0])


def co_cluster_check(table: pd.DataFrame, distances=None,
                     named: Mapping[str, tuple] = C.PAPER_CO_CLUSTERED) -> pd.DataFrame:
    """Do the materials the paper puts in one cluster share one in ours?

    Parameters
    ----------
    table : :func:`elfutils.book.pipeline.clustering` (material_id, hdbscan_label)
    distances : optional (N, N) fingerprint distances in the row order of ``table``; gives each partner's
        rank among the anchor's nearest neighbours (1 = its closest material)
    named : anchor id -> (anchor formula, the paper's cluster, {partner id: formula})

    Returns
    -------
    DataFrame, one row per (anchor, partner): anchor, anchor_formula, partner, partner_formula,
    in_data (both present), anchor_cluster, partner_cluster, same_cluster, neighbour_rank
    """
    index = {m: i for i, m in enumerate(table["material_id"].astype(str))}
    labels = table["hdbscan_label"].to_numpy()
    rows = []
    for anchor, (aform, _, partners) in named.items():
        for partner, pform in partners.items():
            present = anchor in index and partner in index
            ca = int(labels[index[anchor]]) if anchor in index else None
            cp = int(labels[index[partner]]) if partner in index else None
            rank = np.nan
            if present and distances is not None:
                d = np.asarray(distances)[index[anchor]].copy()
                d[index[anchor]] = np.inf
                rank = int((d < d[index[partner]]).sum() + 1)
            rows.append({"anchor": anchor, "anchor_formula": aform, "partner": partner,
                         "partner_formula": pform, "in_data": present, "anchor_cluster": ca,
                         "partner_cluster": cp, "same_cluster": bool(present and ca is not None and ca >= 0
                                                                      and ca == cp),
                         "neighbour_rank": rank})
    return pd.DataFrame(rows)


def flat_band_clusters(clusters: pd.DataFrame, records, n_permutations: int = C.N_PERMUTATIONS,
                       seed: int = C.SEED) -> dict:
    """Whether clusters gather materials with many flat bands near E_F: the flat-band count of each
    material (:meth:`elfutils.data.bands.BandStructure.flat_band_count` with the figures' window and width),
    :func:`elfutils.analysis.cluster_statistics.cluster_variance_share` of it, and ``top`` (cluster -> mean
    count, richest
    first) and ``counts`` (per row of ``clusters``; NaN where no record)."""
    from elfutils.analysis.cluster_statistics import (
        FLAT_BAND_MAX_WIDTH_EV,
        FLAT_BAND_WINDOW_EV,
        cluster_variance_share,
    )

    by_id = {r.material_id: r for r in records}
    counts = np.array([by_id[m].flat_band_count(FLAT_BAND_WINDOW_EV, FLAT_BAND_MAX_WIDTH_EV) if m in by_id
                       else np.nan for m in clusters["material_id"]], dtype=float)
    labels = clusters["hdbscan_label"].to_numpy()
    out = cluster_variance_share(labels, counts, n_permutations=n_permutations, seed=seed)
    means = pd.Series(counts[labels >= 0]).groupby(labels[labels >= 0]).mean().sort_values(ascending=False,
                                                                                           kind="stable")
    return out | {"top": {int(c): float(m) for c, m in means.items()}, "counts": counts}


def structural_clusters(profile, clusters: pd.DataFrame, cnnf: pd.DataFrame | None = None):
    """(CNNF cluster per material as a Series indexed by material_id, the materials placed on the elf map,
    localisation table) for a profile: its structural fingerprints (``cnnf``, else read from the stage)
    clustered with the profile's Nc and Ns; every label -1 when too few materials have one to cluster."""
    from elfutils.analysis.structure import cluster_structures, cnnf_on_elf_map
    from elfutils.book import pipeline
    from elfutils.book.profiles import get_profile

    p = get_profile(profile)
    cnnf = pipeline.structural_fingerprints(p) if cnnf is None else cnnf
    if len(cnnf) > p.min_samples:
        fitted = cluster_structures(cnnf, p.min_cluster_size, p.min_samples)
        labels = pd.Series(fitted.labels_, index=cnnf.index.astype(str), name="cnnf_cluster")
    else:
        labels = pd.Series(-1, index=cnnf.index.astype(str), dtype=int, name="cnnf_cluster")
    placed, localisation = cnnf_on_elf_map(clusters, labels)  # the whole map sets the length scale
    return labels, placed, localisation


WALK_LABELS = "ab"  # the paper's panel letters of Fig. 6, one per walk of LATENT_WALK_SPECS


@dataclass(frozen=True)
class LatentWalkStudy:
    """Fig. 6 for one profile (:func:`latent_walk_study`).

    info : :func:`elfutils.book.example_material.example_image`'s info for the walked material
    walks : the paper's walks (:class:`elfutils.nn.latent.LatentWalk`), Δ as the paper gives them
    scaled : the same walks with Δ in units of ``sigma``
    sigma : per walk, the standard deviation of the walked number over the profile's fingerprints
    """

    info: dict
    walks: list
    scaled: list
    sigma: list

    def steps(self, scaled: bool = False) -> pd.DataFrame:
        """One row per walk (:data:`WALK_LABELS`) and Δ: Δ, Δ / σ, the number's value z0, σ, the share of
        changed and of flipped pixels (%) and the largest probability change against Δ = 0."""
        walks = self.scaled if scaled else self.walks
        return pd.DataFrame([
            {"walk": label, "Δ": d, "Δ / σ": d / s, "z0": w.z0, "σ": s, "changed (%)": 100 * ch,
             "flipped (%)": 100 * fl, "max |Δ probability|": float(np.abs(diff).max())}
            for label, w, s in zip(WALK_LABELS, walks, self.sigma, strict=False)
            for d, ch, fl, diff in zip(w.deltas, w.changed_fraction, w.flipped_fraction, w.differences,
                                       strict=True)])

    def largest_steps(self, scaled: bool = False) -> pd.DataFrame:
        """:meth:`steps` at each walk's largest Δ, indexed by walk."""
        return self.steps(scaled).groupby("walk").last()


def latent_walk_study(profile, material_id: str = C.LATENT_WALK_MATERIAL) -> LatentWalkStudy:
    """The paper's Fig. 6 walks (:data:`elfutils.constants.LATENT_WALK_SPECS`) with the profile's model on
    ``material_id``'s image, and the same walks in units of each walked number's spread."""
    from elfutils.analysis.fingerprints import fingerprint_matrix
    from elfutils.book import pipeline
    from elfutils.book.example_material import example_image
    from elfutils.book.profiles import get_profile
    from elfutils.nn import latent

    p = get_profile(profile)
    net, config, _ = pipeline.model(p)
    image, info = example_image(p, material_id)
    walks = latent.latent_walk_grid(net, image)
    X = fingerprint_matrix(pipeline.fingerprints(p), config.fingerprint_length)
    sigma = [float(X[:, latent.element_index(config, w.channel, w.position)].std()) for w in walks]
    return LatentWalkStudy(info, walks, latent.latent_walk_grid(net, image, scales=sigma), sigma)


def square_octagon_survey(table: pd.DataFrame, distances, n_permutations: int = C.N_PERMUTATIONS,
                          survey: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """Every material of ``table`` (material_id, hdbscan_label; the rows of ``distances``) whose 2Dmatpedia
    layer is a square-octagon net, and whether they sit closer together in fingerprint space than random
    sets (:func:`group_closeness`).

    Returns
    -------
    (members: :func:`elfutils.analysis.structure.bond_geometry` rows of the square-octagon materials with
    their
    HDBSCAN ``cluster`` and ``row`` in ``table``; closeness dict with n_with_structure, n_clusters,
    n_unclassified, top_cluster_share added). ``survey``: the bond geometry of the table's materials when
    already computed (indexed by material id), else computed here.
    """
    from elfutils.analysis.structure import bond_geometry
    from elfutils.data.dataset import structure_records
    from elfutils.dft.recipe import structure_from_record

    records = structure_records()
    ids = [m for m in table["material_id"] if m in records]
    if survey is None:  # the book passes its cached stage (elfutils.book.pipeline.bond_geometry)
        survey = bond_geometry({m: structure_from_record(records[m]) for m in ids})
    else:
        survey = survey[survey.index.isin(set(ids))]
    row_of = {m: i for i, m in enumerate(table["material_id"])}
    members = survey[survey.motif == SQUARE_OCTAGON].copy()
    members["row"] = [row_of[m] for m in members.index]
    members["cluster"] = table["hdbscan_label"].to_numpy()[members["row"].to_numpy(dtype=int)]
    closeness = group_closeness(distances, members["row"], n_permutations=n_permutations)
    clustered = members.cluster[members.cluster >= 0]
    closeness |= {"n_with_structure": len(ids), "n_clusters": int(clustered.nunique()),
                  "n_unclassified": int((members.cluster < 0).sum()),
                  "top_cluster_share": (clustered.value_counts().iloc[0] / len(members)
                                        if len(clustered) else 0.0)}
    return members, closeness

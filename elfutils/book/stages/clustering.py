"""The clustering stage (Fig. 2): HDBSCAN -> UMAP -> DBSCAN of the fingerprints, with the cluster tree and
the exemplars from the same fit."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from elfutils.book.cache import MEMORY, cached_stage, code_hash, memoised, stage_key, write_parquet
from elfutils.book.profiles import Profile, get_profile
from elfutils.book.stages import fingerprints
from elfutils.io import atomic_write_json
from elfutils.paths import cache_dir


def _fit_clustering(table: pd.DataFrame, params: dict) -> dict:
    """Seam for tests: elfutils.analysis.cluster.fit_pipeline and the tables derived from the fitted model.

    Returns {"table", "tree", "exemplars", "fitted"}.
    """
    from elfutils.analysis.cluster import cluster_tree_table, exemplar_table, fit_pipeline

    clusters, fitted = fit_pipeline(table, return_model=True, **params)
    return {"table": clusters, "tree": cluster_tree_table(fitted),
            "exemplars": exemplar_table(fitted, fitted.material_ids_, fitted.formulas_), "fitted": fitted}


def clustering_key(profile: str | Profile = "default") -> str:
    p = get_profile(profile)
    return stage_key("clustering", {"fingerprints": fingerprints.fingerprints_key(p),
                                    "params": p.cluster_params(), "code": code_hash("analysis.cluster")})


def _clustering_files(profile: Profile) -> dict[str, Path]:
    base = cache_dir() / "clustering" / clustering_key(profile)
    return {"table": base / "clusters.parquet", "tree": base / "tree.parquet",
            "exemplars": base / "exemplars.parquet", "attrs": base / "attrs.json"}  # attrs last: the marker


def clustering_files(profile: str | Profile = "default") -> list[Path]:
    return list(_clustering_files(get_profile(profile)).values())


def _clustering_all(profile: str | Profile) -> dict[str, object]:
    p = get_profile(profile)
    key = clustering_key(p)
    files = _clustering_files(p)

    def load():
        out = {name: pd.read_parquet(files[name]) for name in ("table", "tree", "exemplars")}
        out["table"].attrs.update(json.loads(files["attrs"].read_text()))
        return out

    def compute():
        fit = _fit_clustering(fingerprints.fingerprints(p), p.cluster_params())
        MEMORY[("hdbscan", str(cache_dir()), key)] = fit["fitted"]
        for name in ("tree", "exemplars", "table"):
            write_parquet(fit[name], files[name])
        attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in fit["table"].attrs.items()}
        atomic_write_json(files["attrs"], attrs)  # last: its presence marks a complete entry
        return {name: fit[name] for name in ("table", "tree", "exemplars")}

    return cached_stage("clustering", p, key, files["attrs"].exists, load, compute,
                         n_items=lambda v: len(v["table"]), files=list(files.values()))


def clustering(profile: str | Profile = "default") -> pd.DataFrame:
    """HDBSCAN -> UMAP -> DBSCAN (Fig. 2): material_id, formula, hdbscan_label, probability, umap_x, umap_y,
    dbscan_group; ``attrs``: dbscan_eps, n_clusters, n_unclassified."""
    table = _clustering_all(profile)["table"]
    out = table.copy()
    out.attrs = dict(table.attrs)
    return out


def cluster_tree(profile: str | Profile = "default") -> pd.DataFrame:
    """The condensed tree (:func:`elfutils.analysis.cluster.cluster_tree_table`; Fig. 2a)."""
    return _clustering_all(profile)["tree"].copy()


def exemplars(profile: str | Profile = "default") -> pd.DataFrame:
    """Every cluster's members by membership probability (:func:`elfutils.analysis.cluster.exemplar_table`;
    Fig. 3)."""
    return _clustering_all(profile)["exemplars"].copy()


def hdbscan_model(profile: str | Profile = "default"):
    """The fitted :class:`elfutils.analysis.cluster.FingerprintHDBSCAN` (refitted in-process when the table
    came from
    the disk cache: seconds; needed for ``predict`` in the similarity search)."""
    from elfutils.analysis.cluster import FingerprintHDBSCAN

    p = get_profile(profile)
    _clustering_all(p)
    return memoised(("hdbscan", str(cache_dir()), clustering_key(p)), lambda: FingerprintHDBSCAN(
        p.min_cluster_size, p.min_samples, p.minkowski_p).fit(fingerprints.fingerprints(p)))


def load_clustering(profile, attempts: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(clustering table, cluster tree, exemplars) of one and the same cached clustering stage.

    The three come from separate stage calls, each keyed by the current code and data; if the key changes
    between the calls (a module or the band store edited during a build), they are read again so that the
    exemplars' clusters are the table's clusters.
    """
    for _ in range(attempts):
        key = clustering_key(profile)
        table, tree, chosen = clustering(profile), cluster_tree(profile), exemplars(profile)
        if clustering_key(profile) == key:
            return table, tree, chosen
    raise RuntimeError("the clustering kept changing while it was read "
                       "(code or data edited during the build)")

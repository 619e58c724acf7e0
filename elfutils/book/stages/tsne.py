"""The t-SNE stage (Supplementary Note 1): a second map of the fingerprints' Minkowski distances."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from elfutils.book.cache import cached_stage, code_hash, stage_key, write_parquet
from elfutils.book.profiles import Profile, get_profile
from elfutils.book.stages import fingerprints
from elfutils.paths import cache_dir


def tsne_key(profile: str | Profile = "default") -> str:
    p = get_profile(profile)
    return stage_key("tsne", {"fingerprints": fingerprints.fingerprints_key(p), "p": p.minkowski_p,
                              "perplexity": p.tsne_perplexity, "seed": p.seed,
                              "code": code_hash("analysis.cluster")})


def tsne_files(profile: str | Profile = "default") -> list[Path]:
    return [cache_dir() / "tsne" / f"{tsne_key(profile)}.parquet"]


def tsne(profile: str | Profile = "default") -> pd.DataFrame:
    """Supplementary Note 1: t-SNE of the Minkowski distances: material_id, formula, tsne_x, tsne_y (about
    45 s for the 1950 flat-band materials: committed, so a first build reads it)."""
    p = get_profile(profile)
    key = tsne_key(p)
    [path] = tsne_files(p)

    def compute():
        from elfutils.analysis.cluster import minkowski_distances, tsne_embedding
        from elfutils.analysis.fingerprints import fingerprint_matrix

        table = fingerprints.fingerprints(p)
        xy = tsne_embedding(minkowski_distances(fingerprint_matrix(table), p=p.minkowski_p),
                            perplexity=p.tsne_perplexity, random_state=p.seed)
        df = pd.DataFrame({"material_id": table["material_id"], "formula": table["formula"],
                           "tsne_x": xy[:, 0], "tsne_y": xy[:, 1]})
        write_parquet(df, path)
        return df

    return cached_stage("tsne", p, key, path.exists, lambda: pd.read_parquet(path), compute,
                         n_items=len, files=[path]).copy()

"""The parameter study stage (Fig. 7): cluster counts and validity indices over the profile's (Nc, Ns)
grid."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from elfutils.book.cache import cached_stage, code_hash, stage_key, write_parquet
from elfutils.book.profiles import Profile, get_profile
from elfutils.book.stages import fingerprints
from elfutils.paths import cache_dir


def _run_parameter_study(table: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Seam for tests: elfutils.analysis.validity.parameter_study over the profile's grid."""
    from elfutils.analysis.validity import parameter_study as study

    return study(table, profile.study_min_cluster_sizes, profile.study_min_samples, p=profile.minkowski_p,
                 progress=False)


def parameter_study(profile: str | Profile = "default") -> pd.DataFrame:
    """Fig. 7: one row per (Nc, Ns) with n_clusters, n_unclassified, dbcv, s_dbw."""
    p = get_profile(profile)
    key = parameter_study_key(p)
    [path] = parameter_study_files(p)

    def compute():
        df = _run_parameter_study(fingerprints.fingerprints(p), p)
        write_parquet(df, path)
        return df

    return cached_stage("parameter_study", p, key, path.exists, lambda: pd.read_parquet(path), compute,
                         n_items=len, files=[path]).copy()


def parameter_study_key(profile: str | Profile = "default") -> str:
    p = get_profile(profile)
    return stage_key("parameter_study", {
        "fingerprints": fingerprints.fingerprints_key(p), "nc": p.study_min_cluster_sizes,
        "ns": p.study_min_samples, "p": p.minkowski_p,
        "code": [code_hash("analysis.validity"), code_hash("analysis.cluster")]})


def parameter_study_files(profile: str | Profile = "default") -> list[Path]:
    return [cache_dir() / "parameter_study" / f"{parameter_study_key(profile)}.parquet"]

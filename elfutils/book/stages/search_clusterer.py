"""The HDBSCAN model `elf similar --profile P` joins a query to: fitted once on the profile's fingerprint
table with the search's own parameters (:class:`elfutils.analysis.cluster.FingerprintHDBSCAN`'s defaults, the
paper's Nc, Ns and p) and kept as its plain-array file (:meth:`~FingerprintHDBSCAN.save`: no pickle).

Fitting is mostly the table's pairwise Minkowski distances (about 2 s for the 1950 materials of the default
profile and 13 s for the 4602 of the atlas on a 2-core CPU); the fitted file of the default and atlas profiles
is committed with the other results, so a fresh clone's first search reads it."""

from __future__ import annotations

from pathlib import Path

from elfutils.book.cache import cached_stage, code_hash, stage_key
from elfutils.book.profiles import Profile, get_profile
from elfutils.book.stages import fingerprints
from elfutils.paths import cache_dir

STAGE = "search_clusterer"


def _parameters() -> dict:
    from elfutils.analysis.cluster import FingerprintHDBSCAN

    model = FingerprintHDBSCAN()
    return {name: getattr(model, name) for name in FingerprintHDBSCAN._SAVED_PARAMS}


def clusterer_key(profile: str | Profile = "default") -> str:
    p = get_profile(profile)
    return stage_key(STAGE, {"fingerprints": fingerprints.fingerprints_key(p), "params": _parameters(),
                             "code": code_hash("analysis.cluster")})


def clusterer_files(profile: str | Profile = "default") -> list[Path]:
    return [cache_dir() / STAGE / f"{clusterer_key(profile)}.npz"]


def clusterer(profile: str | Profile = "default"):
    """The fitted :class:`~elfutils.analysis.cluster.FingerprintHDBSCAN` of the profile's fingerprints."""
    from elfutils.analysis.cluster import FingerprintHDBSCAN

    p = get_profile(profile)
    [path] = clusterer_files(p)

    def compute():
        fitted = FingerprintHDBSCAN().fit(fingerprints.fingerprints(p))
        fitted.save(path)
        return fitted

    return cached_stage(STAGE, p, clusterer_key(p), path.exists, lambda: FingerprintHDBSCAN.load(path),
                        compute, files=[path])

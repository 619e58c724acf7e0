"""How a search of a profile's own table is read (:class:`elfutils.analysis.similar.Calibration`): the
sampled pair distances behind ``closer_pairs_percent`` and what the table's own nearest neighbours score.
The same for every ``elf similar --profile P`` (about a second for the atlas's 4602 materials on a 2-core
CPU), so it is worked out once and committed with the other results for the default and atlas profiles."""

from __future__ import annotations

from pathlib import Path

from elfutils.book.cache import cached_stage, code_hash, stage_key
from elfutils.book.profiles import Profile, get_profile
from elfutils.book.stages import fingerprints
from elfutils.paths import cache_dir

STAGE = "search_calibration"


def calibration_key(profile: str | Profile = "default") -> str:
    p = get_profile(profile)
    # the search's own p (MINKOWSKI_P, a constant of analysis.similar's code) is in the code hash
    return stage_key(STAGE, {"fingerprints": fingerprints.fingerprints_key(p),
                             "code": code_hash("analysis.similar")})


def calibration_files(profile: str | Profile = "default") -> list[Path]:
    return [cache_dir() / STAGE / f"{calibration_key(profile)}.npz"]


def calibration(profile: str | Profile = "default"):
    """The :class:`~elfutils.analysis.similar.Calibration` of the profile's fingerprint table, as `elf
    similar` searches it (dense, Minkowski p = 0.2)."""
    from elfutils.analysis.fingerprints import fingerprint_matrix
    from elfutils.analysis.similar import Calibration, calibrate

    p = get_profile(profile)
    [path] = calibration_files(p)

    def compute():
        found = calibrate(fingerprint_matrix(fingerprints.fingerprints(p)))
        found.save(path)
        return found

    return cached_stage(STAGE, p, calibration_key(p), path.exists, lambda: Calibration.load(path), compute,
                        files=[path])

"""The fingerprints stage: the profile's images encoded by its model, one row of 98 numbers per image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from elfutils.book.cache import cached_stage, code_hash, file_hash, stage_key
from elfutils.book.profiles import Profile, get_profile
from elfutils.book.stages import images, model
from elfutils.paths import cache_dir


def _encode(net, images_: np.ndarray) -> np.ndarray:
    """Seam for tests: (N, 98) fingerprints of images (elfutils.nn.training.encode_images)."""
    from elfutils.nn.training import encode_images

    return np.asarray(encode_images(net, images_), dtype=np.float64)


def model_identity(profile: str | Profile) -> dict:
    """What identifies the weights without training them: the committed file's hash, else the model key."""
    profile = model.model_profile(profile)
    committed, _ = model.COMMITTED_MODEL.status(profile)
    if committed is not None:
        return {"committed": file_hash(committed)}
    return {"trained": model.model_key(profile)}


def fingerprints_key(profile: str | Profile = "default") -> str:
    p = get_profile(profile)
    return stage_key("fingerprints", {"model": model_identity(p), "images": images.images_key(p),
                                      "code": code_hash("nn.training")})


def fingerprints(profile: str | Profile = "default") -> pd.DataFrame:
    """The fingerprint table: material_id, formula, f0..f97 (one row per image)."""
    from elfutils.analysis.fingerprints import make_table, read_fingerprints, write_fingerprints

    p = get_profile(profile)
    key = fingerprints_key(p)
    [path] = fingerprints_files(p)

    def compute():
        stack, ids, formulas = images.images(p)
        net, _, _ = model.model(p)
        table = make_table(ids, formulas, _encode(net, stack))
        write_fingerprints(table, path)
        return table

    return cached_stage("fingerprints", p, key, path.exists, lambda: read_fingerprints(path), compute,
                         n_items=len, files=[path]).copy()


def fingerprints_files(profile: str | Profile = "default") -> list[Path]:
    return [cache_dir() / "fingerprints" / f"{fingerprints_key(profile)}.parquet"]

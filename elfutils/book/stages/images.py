"""The images stage: the profile's band structures drawn as binary images with its render settings (the
settings are written into the stack's header), and their data hash as model cards record it."""

from __future__ import annotations

import json

import numpy as np

from elfutils.book.cache import cached_stage, code_hash, memoised, stage_key
from elfutils.book.profiles import Profile, get_profile
from elfutils.book.stages import dataset
from elfutils.io import atomic_write_json
from elfutils.paths import cache_dir


def _render(records, params: dict, skipped: list):
    """Seam for tests: render the records (elfutils.images.render.render_many)."""
    from elfutils.images.render import render_many

    return render_many(records, progress=False, skipped=skipped, **params)


def images_key(profile: str | Profile = "default") -> str:
    p = get_profile(profile)
    return stage_key("images", {"data": dataset.data_key(p), "render": p.render_params(),
                                "code": code_hash("images.render")})


def images(profile: str | Profile = "default") -> tuple[np.ndarray, list[str], list[str]]:
    """Binary band images of the profile's materials: (uint8 (N, S, S) 0/1, ids, formulas).

    Materials that cannot be rendered (no band within the window) are left out; :func:`skipped_images`
    lists them with the reason.
    """
    from elfutils.images.stack import load_image_stack, save_image_stack

    p = get_profile(profile)
    key = images_key(p)
    path = cache_dir() / "images" / f"{key}.npz"

    def compute():
        skipped: list = []
        stack, ids, formulas = _render(dataset.load_dataset(p), p.render_params(), skipped)
        atomic_write_json(path.with_suffix(".skipped.json"), [list(s) for s in skipped])
        save_image_stack(path, stack, ids, formulas, settings=p.render_settings())
        return stack, list(ids), list(formulas)

    return cached_stage("images", p, key, path.exists, lambda: load_image_stack(path), compute,
                         n_items=lambda v: len(v[1]))


def skipped_images(profile: str | Profile = "default") -> list[tuple[str, str]]:
    """(material id, reason) of the materials :func:`images` could not render."""
    images(profile)
    path = cache_dir() / "images" / f"{images_key(profile)}.skipped.json"
    return [tuple(s) for s in json.loads(path.read_text())] if path.exists() else []


def image_data_hash(profile: str | Profile = "default") -> str:
    """The images' data hash as model cards record it (:func:`elfutils.nn.checkpoint.data_hash`)."""
    from elfutils.nn.checkpoint import data_hash

    p = get_profile(profile)

    def digest() -> str:
        stack, ids, _ = images(p)
        return data_hash(np.packbits(stack, axis=-1), ids)

    return memoised(("image_data_hash", str(cache_dir()), images_key(p)), digest)

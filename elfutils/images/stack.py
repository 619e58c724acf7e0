"""Image stacks on disk: many binary band-structure images with their material ids and formulas.

In memory: ``images`` uint8 (N, S, S) with values 0/1 (1 = band-line pixel), plus parallel ``ids`` and
``formulas`` (length N). On disk: one ``.npz`` with

    images        uint8 (N, S, ceil(S/8))  np.packbits along the last axis (8x smaller than raw)
    material_ids  unicode (N,)
    formulas      unicode (N,)
    image_size    int64 scalar             S, to undo the padding of packbits
    render_settings  unicode scalar        JSON of the :class:`~elfutils.images.settings.RenderSettings` that
                                           drew the images (absent in stacks from before: read as the paper's)
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from elfutils.errors import BandDataError
from elfutils.images.settings import RenderSettings
from elfutils.io import atomic_write


def save_image_stack(
    path: str | Path, images: np.ndarray, ids: Sequence[str], formulas: Sequence[str],
    settings: RenderSettings | None = None,
) -> Path:
    """Write an image stack atomically (see :mod:`elfutils.io`), with the render settings that drew it
    (default: the paper's at the images' size). Returns the path."""
    path = Path(path)
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"images must have shape (N, S, S), not {images.shape}")
    if len(ids) != len(images) or len(formulas) != len(images):
        raise ValueError(f"{len(images)} images but {len(ids)} ids and {len(formulas)} formulas")
    if images.size and (images.min() < 0 or images.max() > 1):
        raise ValueError("images must hold only 0 and 1")
    settings = settings or RenderSettings(image_size=int(images.shape[-1]))
    if settings.image_size != images.shape[-1]:
        raise ValueError(f"images are {images.shape[-1]} px, the render settings say {settings.image_size}")
    arrays = {
        "render_settings": np.asarray(json.dumps(settings.to_dict())),
        "images": np.packbits(images.astype(np.uint8), axis=-1),
        "material_ids": np.asarray(list(ids), dtype=str),
        "formulas": np.asarray(list(formulas), dtype=str),
        "image_size": np.int64(images.shape[-1]),
    }
    return atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))


def load_packed_stack(path: str | Path) -> tuple[np.ndarray, list[str], list[str], int]:
    """Read a stack without unpacking: (packed uint8 (N, S, ceil(S/8)), ids, formulas, S)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            packed = data["images"]
            ids = [str(x) for x in data["material_ids"]]
            formulas = [str(x) for x in data["formulas"]]
            size = int(data["image_size"]) if "image_size" in data else packed.shape[-1] * 8
    except FileNotFoundError:
        raise
    except KeyError as exc:
        raise BandDataError(f"not an image stack: missing key {exc}", source=path) from exc
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise BandDataError(f"unreadable image stack: {exc}", source=path) from exc
    if packed.dtype != np.uint8 or packed.ndim != 3 or packed.shape[-1] != (size + 7) // 8:
        expected = f"(N, {size}, {(size + 7) // 8}) uint8"
        problem = f"images are {packed.shape} {packed.dtype}, not {expected}"
        raise BandDataError(problem, source=path, field="images")
    if not len(ids) == len(formulas) == len(packed):
        problem = f"{len(packed)} images but {len(ids)} ids and {len(formulas)} formulas"
        raise BandDataError(problem, source=path)
    return packed, ids, formulas, size


def stack_render_settings(path: str | Path) -> RenderSettings:
    """The render settings a stack was drawn with (``recorded=False``: a stack from before they were
    recorded, read as the paper's at its image size)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            size = int(data["image_size"]) if "image_size" in data else None
            text = str(data["render_settings"]) if "render_settings" in data else None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise BandDataError(f"unreadable image stack: {exc}", source=path) from exc
    try:
        settings = RenderSettings.from_dict(json.loads(text) if text is not None else None, image_size=size)
    except (ValueError, TypeError) as exc:
        raise BandDataError(f"unusable render settings: {exc}", source=path, field="render_settings") from exc
    if size is not None and settings.image_size != size:
        raise BandDataError(f"the render settings say {settings.image_size} px, the images are {size} px",
                            source=path, field="render_settings")
    return settings


def load_image_stack(path: str | Path) -> tuple[np.ndarray, list[str], list[str]]:
    """Read a stack written by save_image_stack: (images uint8 (N, S, S) 0/1, ids, formulas)."""
    packed, ids, formulas, size = load_packed_stack(path)
    return unpack_images(packed, size), ids, formulas


def unpack_images(packed: np.ndarray, size: int | None = None) -> np.ndarray:
    """Packed uint8 (N, S, ceil(S/8)) -> uint8 (N, S, S) 0/1. ``size`` defaults to the packed rows, S."""
    size = packed.shape[-2] if size is None else size
    return np.unpackbits(packed, axis=-1, count=size)

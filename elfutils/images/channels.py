"""Render settings with more than one image plane: the paper's ±4 eV drawing and a zoom around the zero.

The paper's network sees one binary plane of ±4 eV: a flat band 0.05 eV from E_F is one or two pixel rows away
from a dispersive one. :class:`ChannelSettings` draws a record as a stack of planes (``channels``), each the
same size and x axis:

* ``"bands"``: the full window, ±``window_ev`` (the paper's image);
* ``"bands-zoom"``: the same bands within ±``zoom_window_ev`` of the zero (default ±1 eV, four times the
  energy resolution); a record with no band that close draws an empty plane there.

``render()`` returns ``(S, S)`` for one channel (the paper's shape) and ``(C, S, S)`` for more. The settings
travel in a model card exactly as :class:`RenderSettings` do; ``to_dict`` adds ``zoom_window_ev``, which an
older reader refuses ("unknown render settings") rather than drawing a single plane.

Why a subclass in a module of its own, not new fields of RenderSettings: ``elfutils/images/settings.py`` (like
``elfutils/nn/checkpoint.py``) is in the source closure of ``elfutils.nn.training`` whose hash keys the book's
committed fingerprints, clustering and parameter study (``elfutils.book.cache.code_hash("nn.training")``); a
byte changed there re-keys them all (about an hour of recomputation). The class is written as RenderSettings
extended (same defaults, same validation style, same ``to_dict``/``from_dict``); folding it into
RenderSettings, when those results are refreshed anyway, is a move of this class body.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np

from elfutils.data.bands import BandStructure
from elfutils.errors import BandDataError
from elfutils.images.render import render_band_image
from elfutils.images.settings import RenderSettings, RenderSettingsError

CHANNEL_KINDS = ("bands", "bands-zoom")  # what a plane can be (see the module docstring)
ZOOM_WINDOW_EV = 1.0  # ours: ±1 eV holds the flat bands near E_F that the labels are about


@dataclass(frozen=True)
class ChannelSettings(RenderSettings):
    """:class:`RenderSettings` with channels from :data:`CHANNEL_KINDS` and the zoom's half-range in eV."""

    zoom_window_ev: float = ZOOM_WINDOW_EV

    def __post_init__(self):
        problems = []
        base = {f.name: getattr(self, f.name) for f in fields(RenderSettings)}
        try:  # every setting RenderSettings knows, checked its way (channels apart)
            RenderSettings(**{**base, "channels": ("bands",)})
        except RenderSettingsError as exc:
            problems.append(str(exc))
        channels = self.channels
        if (not isinstance(channels, tuple) or not channels or any(c not in CHANNEL_KINDS for c in channels)
                or len(set(channels)) != len(channels)):
            problems.append(f"channels must be a non-empty tuple of distinct names from {CHANNEL_KINDS}, not "
                            f"{channels!r}")
        zoom = self.zoom_window_ev
        if not (isinstance(zoom, (int, float)) and not isinstance(zoom, bool) and 0 < zoom < self.window_ev):
            problems.append(f"zoom_window_ev must be a positive number of eV below window_ev "
                            f"({self.window_ev!r}), not {zoom!r}")
        if problems:
            raise RenderSettingsError("; ".join(problems))

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    def differences(self, other: RenderSettings) -> list[str]:
        """``name: mine vs other`` for every setting that differs; a setting one side lacks shows as None."""
        mine, theirs = self.to_dict(), other.to_dict()
        return [f"{key} {mine.get(key)!r} vs {theirs.get(key)!r}" for key in {**mine, **theirs}
                if mine.get(key) != theirs.get(key)]

    def window_of(self, channel: str) -> float:
        """The energy half-range (eV) a channel draws."""
        return self.zoom_window_ev if channel == "bands-zoom" else self.window_ev

    def render(self, bs: BandStructure) -> np.ndarray:
        """uint8 (S, S) for one channel, (C, S, S) for more; 1 = band line. A record with no band in the full
        window raises :class:`BandDataError` (field ``bands``); an empty zoom is an empty plane."""
        planes = []
        for channel in self.channels:
            try:
                planes.append(render_band_image(bs, size=self.image_size, window=self.window_of(channel),
                                                x_axis=self.x_axis, line_width=self.line_width_px,
                                                engine=self.engine))
            except BandDataError as exc:
                if channel != "bands-zoom" or exc.field != "bands":
                    raise
                planes.append(np.zeros((self.image_size, self.image_size), np.uint8))
        return planes[0] if len(planes) == 1 else np.stack(planes)

    def render_many(self, records: Iterable[BandStructure], progress: bool = False,
                    skipped: list | None = None, total: int | None = None):
        """(images uint8 (N, S, S) or (N, C, S, S), ids, formulas); ``skipped`` as
        :func:`elfutils.images.render.render_many` takes it."""
        from tqdm.auto import tqdm

        if total is None and hasattr(records, "__len__"):
            total = len(records)
        images, ids, formulas = [], [], []
        for bs in tqdm(records, desc="rendering", unit="image", total=total, disable=not progress):
            try:
                images.append(self.render(bs))
            except BandDataError as exc:
                if skipped is None:
                    raise
                skipped.append((bs.material_id or bs.source, str(exc)))
                continue
            ids.append(bs.material_id)
            formulas.append(bs.formula)
        shape = (self.image_size,) * 2 if self.n_channels == 1 else (self.n_channels, *(self.image_size,) * 2)
        stack = np.stack(images) if images else np.zeros((0, *shape), np.uint8)
        return stack, ids, formulas


def settings_from_dict(data: dict | None, image_size: int | None = None) -> RenderSettings:
    """Render settings from a card: :class:`ChannelSettings` when the dict carries ``zoom_window_ev``, else
    :meth:`RenderSettings.from_dict` (``None``: the paper's at ``image_size``, not recorded)."""
    if isinstance(data, dict) and "zoom_window_ev" in data:
        return ChannelSettings.from_dict(data)
    return RenderSettings.from_dict(data, image_size=image_size)

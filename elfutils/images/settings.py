"""Render settings: everything that decides what image a band structure becomes, in one frozen object.

An image stack and a model card carry one (:meth:`RenderSettings.to_dict`), so whoever renders for a model
reads the settings from its card, never from defaults: a model trained on other settings (another window,
x axis or line width) is never fed images drawn the paper's way without a word. Files written before the
settings were recorded read as :data:`PAPER_RENDER` (at their own image size), and say so
(``recorded=False``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from elfutils.constants import ENERGY_WINDOW_EV, IMAGE_SIZE
from elfutils.data.bands import BandStructure
from elfutils.data.energy_zero import ENERGY_ZEROS
from elfutils.images.render import ENGINES, LINE_WIDTH_PX, X_AXES, render_band_image, render_many

CHANNELS = ("bands",)  # one binary channel of band-line pixels (the paper's input)


class RenderSettingsError(ValueError):
    """Settings that cannot be used, or two sets that disagree; the message names both values."""


@dataclass(frozen=True)
class RenderSettings:
    """What an image is drawn with (see :func:`elfutils.images.render.render_band_image`).

    ``energy_zero`` is how band files are read before drawing (``project``: a gapped material's zero just
    above its valence-band maximum; ``file``: the file's own Fermi level); ``channels`` the image planes.
    """

    image_size: int = IMAGE_SIZE
    window_ev: float = ENERGY_WINDOW_EV
    x_axis: str = "index"
    line_width_px: float = LINE_WIDTH_PX
    engine: str = "fast"
    energy_zero: str = "project"
    channels: tuple[str, ...] = CHANNELS
    recorded: bool = True  # False: read from a file that predates recorded settings (the paper's assumed)

    def __post_init__(self):
        problems = []
        if not isinstance(self.image_size, int) or isinstance(self.image_size, bool) or self.image_size < 8:
            problems.append(f"image_size must be an integer >= 8, not {self.image_size!r}")
        if not (isinstance(self.window_ev, (int, float)) and 0 < self.window_ev < 1e3):
            problems.append(f"window_ev must be a positive number of eV, not {self.window_ev!r}")
        if not (isinstance(self.line_width_px, (int, float)) and 0 < self.line_width_px < self.image_size):
            problems.append(f"line_width_px must be a positive width below the image size, not "
                            f"{self.line_width_px!r}")
        for name, value, allowed in (("x_axis", self.x_axis, X_AXES), ("engine", self.engine, ENGINES),
                                     ("energy_zero", self.energy_zero, ENERGY_ZEROS)):
            if value not in allowed:
                problems.append(f"{name} must be one of {allowed}, not {value!r}")
        if not self.channels or any(c not in CHANNELS for c in self.channels):
            problems.append(f"channels must be a non-empty selection of {CHANNELS}, not {self.channels!r}")
        if problems:
            raise RenderSettingsError("; ".join(problems))

    # --- what travels -----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The settings as JSON-ready values (``recorded`` is about the file, not the settings: left out)."""
        out = asdict(self)
        out.pop("recorded")
        out["channels"] = list(self.channels)
        return out

    @classmethod
    def from_dict(cls, data: dict | None, image_size: int | None = None) -> RenderSettings:
        """Settings from a card or stack header; ``None`` (a file from before the settings were recorded)
        gives the paper's, at ``image_size``, marked ``recorded=False``."""
        if data is None:
            return cls(image_size=int(image_size or IMAGE_SIZE), recorded=False)
        if not isinstance(data, dict):
            raise RenderSettingsError(f"render settings must be a JSON object, not {type(data).__name__}")
        known = {f.name for f in fields(cls)} - {"recorded"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise RenderSettingsError(f"unknown render settings {unknown} (known: {sorted(known)})")
        values = dict(data)
        if "channels" in values:
            values["channels"] = tuple(values["channels"]) if isinstance(values["channels"], list) else \
                values["channels"]
        return cls(**values)

    def replace(self, **changes) -> RenderSettings:
        return replace(self, **changes)

    def differences(self, other: RenderSettings) -> list[str]:
        """``name: mine vs other`` for every setting that differs (``recorded`` aside)."""
        mine, theirs = self.to_dict(), other.to_dict()
        return [f"{key} {mine[key]!r} vs {theirs[key]!r}" for key in mine if mine[key] != theirs[key]]

    def require_same(self, other: RenderSettings, mine: str, theirs: str) -> None:
        """Raise :class:`RenderSettingsError` naming both sides and every differing value unless equal."""
        diff = self.differences(other)
        if diff:
            raise RenderSettingsError(f"{mine} and {theirs} were drawn with different render settings: "
                                      + "; ".join(diff) + f" ({mine} first)")

    # --- drawing ----------------------------------------------------------------------------------------
    def render(self, bs: BandStructure) -> np.ndarray:
        """One band structure as this setting's image: uint8 (size, size), 1 = band line."""
        return render_band_image(bs, size=self.image_size, window=self.window_ev, x_axis=self.x_axis,
                                 line_width=self.line_width_px, engine=self.engine)

    def render_many(self, records: Iterable[BandStructure], progress: bool = False,
                    skipped: list | None = None, total: int | None = None):
        """:func:`elfutils.images.render.render_many` with these settings: (images, ids, formulas)."""
        return render_many(records, size=self.image_size, window=self.window_ev, x_axis=self.x_axis,
                           line_width=self.line_width_px, engine=self.engine, progress=progress,
                           skipped=skipped, total=total)


PAPER_RENDER = RenderSettings()  # the paper's: 224 px, ±4 eV, k-index x axis, 2 px lines, the project's zero

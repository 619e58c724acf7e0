"""Band images drawn for a reader: every thumbnail with its energy axis in eV and the zero line.

A model image is a picture of E - E_0 within ±window against the k-path (:mod:`elfutils.images.render`);
shown bare, a reader cannot tell where the zero is or how many eV a band spans. :func:`draw_band_image` is the
one way the book and the library draw one (issue #32: "band thumbnails everywhere with an energy axis and the
zero line"); it marks the image so that :mod:`elfutils.book.figure_notes` can check a built figure for it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BAND_IMAGE_GID = "elf-band-image"  # the artist's gid: this image is a band structure on an energy axis
PICTURE_GID = "elf-picture"  # an image that is not a band image on our axes (a published figure, a photo)
ZERO_LINE = {"color": "tab:red", "linewidth": 0.7, "linestyle": ":"}
ENERGY_LABEL = "E − E$_0$ (eV)"


def draw_band_image(ax, image, window: float | None = None, title: str = "",
                    ticks: Sequence[tuple[float, str]] | None = None, ylabel: bool = True,
                    title_size: float | None = 8, axis_of=None, **imshow):
    """Draw a band image (or pixel probabilities, an RGB overlay of two images, or a difference map with
    ``cmap``/``vmin``/``vmax``) on a matplotlib Axes with the energy axis in eV (ticks at ±window, ±window/2
    and 0; default window: the paper's 4 eV), the zero line, and the high-symmetry ``ticks`` on x when given
    (else none: the x axis of an image is the k-path, one equal slot per branch). With ``axis_of`` (another
    Axes) the image shares that one's energy axis and leaves the tick labels to it. Returns the image
    artist."""
    from elfutils.constants import ENERGY_WINDOW_EV

    window = ENERGY_WINDOW_EV if window is None else float(window)
    kwargs = {"cmap": "gray_r", "vmin": 0, "vmax": 1, "interpolation": "nearest", "aspect": "auto", **imshow}
    if np.ndim(image) == 3:  # RGB(A) pictures carry their colours
        kwargs = {k: v for k, v in kwargs.items() if k not in ("cmap", "vmin", "vmax")}
    artist = ax.imshow(image, extent=(0, 1, -window, window), **kwargs)
    artist.set_gid(BAND_IMAGE_GID)
    ax.axhline(0.0, **ZERO_LINE)
    ax.set_xticks([x for x, _ in ticks or []], [label for _, label in ticks or []])
    ax.set_yticks([-window, -window / 2, 0, window / 2, window])
    if axis_of is not None:
        ax.sharey(axis_of)
        ax.tick_params(axis="y", labelleft=False)
    if ylabel:
        ax.set_ylabel(ENERGY_LABEL)
    if title:
        ax.set_title(title, fontsize=title_size)
    return artist


def mark_picture(artist):
    """Mark an image artist as a picture that is not a band image on our axes (a published figure read by the
    figure reader carries its own axes), so the figure check does not ask it for an energy axis."""
    artist.set_gid(PICTURE_GID)
    return artist


__all__ = ["BAND_IMAGE_GID", "ENERGY_LABEL", "PICTURE_GID", "ZERO_LINE", "draw_band_image", "mark_picture"]

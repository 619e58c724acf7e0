"""What a book figure shows, written into its PNG so the built-book checker can hold the figure to it.

Every chapter promises band thumbnails with an energy axis and the zero line (issue #32). A PNG alone cannot
say which of its pixels are a band image, so the notebook kernel draws figures through :func:`figure_png`:
the PNG matplotlib's inline backend would make, plus a text chunk (:data:`NOTE_KEY`) listing each image in
the figure — a band image (drawn by :func:`elfutils.images.plot.draw_band_image`), a picture marked as not
one (:func:`elfutils.images.plot.mark_picture`), or an unmarked image — and whether it has its energy axis
(tick labels on its own y axis or on one it shares) and the zero line. :func:`problems` turns the notes into
the checker's complaints (rule ``thumbnail-axes`` of :mod:`elfutils.book.html_check`).

``elfutils.book.notebooks.execute`` runs :func:`install` in a hidden first cell of every chapter.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

NOTE_KEY = "elf:images"
MIN_SIDE = 32  # images smaller than this on a side are maps of numbers (latent grids, heat maps)


def _has_energy_axis(ax) -> bool:
    """Tick labels that are numbers on this y axis, or on one it shares (the inner panels of a row)."""
    def labelled(a) -> bool:
        texts = [t.get_text().replace("−", "-") for t in a.yaxis.get_ticklabels() if t.get_visible()]
        numbers = []
        for text in texts:
            try:
                numbers.append(float(text))
            except ValueError:
                continue
        low, high = sorted(a.get_ylim())
        return len(numbers) >= 2 and low <= 0 <= high
    return any(labelled(a) for a in [ax, *ax.get_shared_y_axes().get_siblings(ax)])


def _has_zero_line(ax) -> bool:
    import numpy as np

    for line in ax.lines:
        y = np.asarray(line.get_ydata(), dtype=float)
        if y.size >= 2 and np.all(y == 0) and line.get_visible():
            return True
    return False


def image_notes(fig) -> list[dict]:
    """One note per image of ``fig`` at least :data:`MIN_SIDE` px on a side: its axes' title, ``kind``
    (``band``, ``picture`` or ``unmarked``), ``energy_axis`` and ``zero_line``. Draw the figure first (tick
    labels are set when it is drawn)."""
    import numpy as np

    from elfutils.images.plot import BAND_IMAGE_GID, PICTURE_GID

    notes = []
    for ax in fig.axes:
        for image in ax.get_images():
            shape = np.shape(image.get_array())
            if len(shape) < 2 or min(shape[:2]) < MIN_SIDE:
                continue
            gid = image.get_gid()
            kind = "band" if gid == BAND_IMAGE_GID else "picture" if gid == PICTURE_GID else "unmarked"
            notes.append({"title": ax.get_title() or ax.get_ylabel() or "", "kind": kind,
                          "energy_axis": _has_energy_axis(ax), "zero_line": _has_zero_line(ax)})
    return notes


def problems(notes: list[dict]) -> list[str]:
    """What a reader would miss in a figure with these notes, one line each: a band image without its energy
    axis or zero line, or an image nobody said was a band image or a picture."""
    out = []
    for note in notes:
        name = f"image {note['title']!r}" if note.get("title") else "an untitled image"
        if note["kind"] == "unmarked":
            out.append(f"{name} is neither drawn as a band image (draw_band_image) nor marked as a picture")
        elif note["kind"] == "band":
            missing = [what for what, ok in (("energy axis", note["energy_axis"]),
                                             ("zero line", note["zero_line"])) if not ok]
            if missing:
                out.append(f"band {name} without its {' and '.join(missing)}")
    return out


def figure_png(fig, **kwargs) -> bytes | None:
    """``fig`` as IPython's inline backend prints it (tight bounding box), with :func:`image_notes` in a PNG
    text chunk. None for an empty figure, as IPython returns."""
    from IPython.core.pylabtools import print_figure
    from PIL import Image, PngImagePlugin

    data = print_figure(fig, "png", **{"bbox_inches": "tight", **kwargs})  # draws the figure
    if not data:
        return data
    notes = image_notes(fig)
    if not notes:
        return data
    info = PngImagePlugin.PngInfo()
    info.add_text(NOTE_KEY, json.dumps(notes, ensure_ascii=False))
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).save(out, format="png", pnginfo=info)
    return out.getvalue()


def install(shell=None) -> bool:
    """Make the running IPython kernel display matplotlib figures through :func:`figure_png`. Returns False
    outside IPython."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None:
        return False
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    # pyplot loads its backend lazily; loading it now lets the inline backend register its PNG formatter
    # before this one replaces it, not after
    plt.switch_backend(plt.get_backend())

    shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)
    return True


def read_notes(png: str | Path) -> list[dict] | None:
    """The notes of a PNG written by :func:`figure_png`; None when it has none (not a book figure, or not
    made by matplotlib)."""
    from PIL import Image

    with Image.open(png) as image:
        text = getattr(image, "text", {}).get(NOTE_KEY)
    return json.loads(text) if text else None


SETUP_SOURCE = "from elfutils.book import figure_notes\n\nfigure_notes.install();"

__all__ = ["MIN_SIDE", "NOTE_KEY", "SETUP_SOURCE", "figure_png", "image_notes", "install", "problems",
           "read_notes"]

"""Band structures from published figures: a PNG or JPEG band-structure plot -> one record (issue #33).

The paper promises that elf reads band structures "from figures in papers"; this reader digitises such a
figure, so that ``elf info/render/similar FIGURE.png`` work like they do for a band file. The steps, each on a
library's function (Pillow decodes, scipy.ndimage/scikit-image do the morphology and the connected
components, Tesseract reads text through pytesseract):

1. **The plot frame** (axes box): the longest vertical and horizontal lines (a morphological opening with a
   long line) give the left and bottom axes, meeting at a corner; the top and right ones when drawn.
2. **The energy axis** from the tick labels left of the frame, read by Tesseract (digits only), each matched
   to its tick mark; a line fitted through (row, value) pairs with outliers rejected (at least
   :data:`MIN_TICKS` labels on one line, the value rising upwards). ``energy_range=(lo, hi)`` (``elf ...
   --energy-range LO HI``) gives the energies at the bottom and top of the frame instead. Neither: one
   :class:`BandDataError` saying to pass ``--energy-range``.
3. **The path**: the vertical lines that span the frame (solid or dashed) split it into segments, one branch
   each, :data:`POINTS_PER_SEGMENT` k-points evenly spaced by index within a branch (as our data and the
   index axis of :mod:`elfutils.images.render`). The labels under the frame (Γ, K, M, X, Y, S, ...) are read
   by Tesseract; when they are a label set of :mod:`elfutils.data.kpath`, the branches are put in our order
   for that lattice (a figure drawn Γ-M-K-Γ becomes our Γ-K-M-Γ: branches reordered and reversed).
   ``path="G M K G"`` (``--path``) gives the labels as the figure draws them instead.
4. **The curves**: every pixel that differs from the background, whatever its colour, dash or width, minus
   what is not a band: the frame and the lines through it; horizontal lines across the frame that are
   dashed, lighter or thinner than the curves, or at a tick's or the zero's row (the E_F line, a grid; a
   solid line like the curves elsewhere is a flat band and stays); words inside the frame (Tesseract) with
   the legend handles left of them, and boxes (a legend's frame, however faint) with what they hold; filled
   areas (an opening with a disk wider than a line) and their rims. In each k-point's column (a few pixels
   wide, which bridges dashes) the runs of curve pixels give energies (their centres), assigned to bands as
   eigenvalues are sorted, column by column from the column showing the most: an order-preserving
   assignment of least total shift (:func:`_align`), so that where two lines merge the missing band takes
   the merged line's energy, where a line leaves the frame its band goes out of it, and a run that
   continues no band starts a new one (it split from a line, or entered through the frame's edge). A band
   seen in fewer than :data:`MIN_BAND_COLUMNS` columns is a stray mark and dropped.

The record has one spin channel (both spins of a figure drawn together, as the images draw them), E_F = 0
(the figure's zero): :func:`elfutils.data.readers.read_band_file` then applies the project's one energy zero,
so a gapped figure drawn with its zero mid-gap lands at VBM + 0.05 eV like every other reader.

What a figure cannot say. It has no k coordinates: ``kpoints`` are zero and ``distances`` are the index axis
(branch ``j`` spans ``j .. j+1``). It shows only its own energy window: ``metadata["figure_energy_range"]``
is ``(lo, hi)`` in eV on the record's energy scale (subtract ``efermi`` for the window around the zero),
and a band where it runs outside that window is placed :data:`OUTSIDE_EV` beyond the window's edge, so it
leaves any image window through the same edge; comparisons with other records belong inside the window
read (a figure drawn at ±2 eV leaves the rest of a ±4 eV image unknown, not empty). Other metadata:
``figure_axis`` ("tick labels" or "energy_range option"), ``figure_path`` (the labels as drawn, ``?`` where
unread), ``figure_path_source`` ("labels read", "path option" or "unknown"), ``figure_branch_order``
("ours" when reordered to our path, else "figure"), ``figure_pixels`` (width, height).

Measured on figures drawn from our own records (tests/test_figure_reader.py): the axis within 0.02 eV, and
99-100 % of the line pixels of the record's own 224 px image within 2 px of the digitised one's, both ways
(IoU of the 2-px lines 0.59-0.78). What it does not do: axes on the right or a broken axis, a path jump
(``X|Y``) drawn at one line, labels other than our lattices' (they are kept as drawn, "?" where unread), a
legend box drawn without a frame over curves, an energy axis in other units; Tesseract's English model has
no Γ, so :data:`GAMMA_READINGS` lists what it reads instead.
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from elfutils.constants import POINTS_PER_SEGMENT
from elfutils.data.bands import BandStructure, Branch, pretty_label
from elfutils.data.kpath import (
    MCLC_LABELS,
    MCLC_PATH_OBLIQUE_CELL,
    MCLC_PATH_RECTANGULAR_CELL,
    PATHS_BY_LABELS,
    G,
)
from elfutils.errors import BandDataError

FIGURE_MAGICS = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")  # PNG, JPEG
FIGURE_FORMATS = ("PNG", "JPEG")
MAX_FIGURE_PIXELS = 25_000_000  # refused before decoding (a decompression bomb): 5000 x 5000, ~75 MB as RGB
MIN_FIGURE_SIDE = 100  # pixels: smaller cannot hold an axis, labels and curves
WORK_SIDE = 2000  # larger figures are reduced to this long side before the analysis (bounded memory)
INK_CONTRAST = 0.25  # a pixel whose colour differs from the background by more (0..1, any channel) is ink
FAINT_CONTRAST = 0.08  # a legend's light-grey frame still differs from the background this much
MIN_TICKS = 3  # tick labels on one line needed to trust the energy axis
MIN_CURVE_COVER = 0.7  # a band plot has curves across the path: at least this share of its k columns
MIN_DASHES = 6  # a horizontal line across the frame in this many pieces is dashed: a guide line
DOTTED_COVER = 0.2  # a dotted line at a guide's row inks at least this share of it, in 3 * MIN_DASHES pieces
MIN_BAND_COLUMNS = 4  # a band must be seen in this many k columns (fewer: a stray mark)
OUTSIDE_EV = 10.0  # where a band runs outside the figure's window: this far beyond the window's edge
OCR_SCALE = 4  # text is enlarged at most this much for Tesseract
OCR_TEXT_PX = 30  # Tesseract reads glyphs about this tall best: tick labels are scaled towards it
# what Tesseract's English model makes of a Γ (it has no Greek): read as Γ where a path label is expected
GAMMA_READINGS = frozenset({"Γ", "G", "T", "I", "r", "F", "f", "i", "l", "|", "[", "1", "7", "TH", "TT",
                            "IT"})
OUR_LOOPS = (*PATHS_BY_LABELS.values(), MCLC_PATH_RECTANGULAR_CELL, MCLC_PATH_OBLIQUE_CELL)
KNOWN_LABELS = frozenset().union(*PATHS_BY_LABELS, MCLC_LABELS)


@dataclass(frozen=True)
class FigureOptions:
    """What a figure may not show well enough: the energies at the bottom and top of its frame (eV, the
    figure's own zero) and its path labels as drawn left to right (``"G M K G"``, ``"Γ-M-K-Γ"``)."""

    energy_range: tuple[float, float] | None = None
    path: str | Sequence[str] | None = None

    def __post_init__(self):
        if self.energy_range is not None:
            try:
                lo, hi = (float(v) for v in self.energy_range)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"energy_range must be two numbers (lo, hi), not {self.energy_range!r}") \
                    from exc
            if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
                raise ValueError(f"energy_range must be finite with lo < hi, not {self.energy_range!r}")
            object.__setattr__(self, "energy_range", (lo, hi))
        if self.path is not None:
            object.__setattr__(self, "path", tuple(parse_path(self.path)))


def add_figure_arguments(parser) -> None:
    """``--energy-range LO HI`` and ``--path LABELS`` for a command that reads band files, parsed into
    ``args.figure``: a :class:`FigureOptions`, or None when neither is given. Other files ignore them."""
    import argparse

    class Into(argparse.Action):  # both options build one FigureOptions; a bad value is a usage error
        def __call__(self, parser, namespace, values, option_string=None):
            given = {"energy_range": values} if self.dest == "energy_range" else {"path": values}
            try:
                options = FigureOptions(**{**vars(namespace.figure or FigureOptions()), **given})
            except ValueError as exc:
                parser.error(f"{option_string}: {exc}")
            namespace.figure = options

    parser.set_defaults(figure=None)
    parser.add_argument("--energy-range", nargs=2, type=float, metavar=("LO", "HI"), dest="energy_range",
                        action=Into, default=argparse.SUPPRESS,
                        help="band-structure figures: the energies (eV, the figure's zero) at the bottom and "
                             "top of the plot frame, instead of reading the axis's tick labels")
    parser.add_argument("--path", metavar="LABELS", dest="path", action=Into, default=argparse.SUPPRESS,
                        help="band-structure figures: the path's labels as drawn left to right, e.g. "
                             "'G M K G', instead of reading them under the frame")


def is_figure(head: bytes) -> bool:
    """The first bytes of a file are a PNG's or a JPEG's."""
    return head.startswith(FIGURE_MAGICS)


def figure_id(path: Path) -> str:
    """A figure's material id: its file name without the extension (``fig3b.png`` -> ``fig3b``)."""
    return Path(path).stem


def parse_path(path: str | Sequence[str]) -> list[str]:
    """``"G M K G"``, ``"Γ-M-K-Γ"``, ``"G,X1,Y"`` or a list -> our labels (``\\Gamma``, ``X_1``)."""
    tokens = re.split(r"[\s,;\-–|]+", path.strip()) if isinstance(path, str) else [str(p) for p in path]
    labels = [_canonical(t) for t in tokens if t]
    if len(labels) < 2:
        raise ValueError(f"a path needs at least 2 labels, not {path!r}")
    return labels


def _canonical(token: str) -> str:
    token = token.strip().strip("$").replace("\\mathrm", "").strip("{}")
    if token in {"Γ", "G", "GAMMA", "Gamma", "gamma", "\\Gamma", G}:
        return G
    m = re.fullmatch(r"([A-Za-z])_?\{?([0-9₀-₉])\}?", token)
    if m:
        return f"{m.group(1).upper()}_{int(m.group(2).translate(str.maketrans('₀₁₂₃₄₅₆₇₈₉', '0123456789')))}"
    return token.upper() if len(token) == 1 else token


# --- reading ------------------------------------------------------------------------------------------------
def read_figure(path: str | Path, material_id: str | None = None,
                options: FigureOptions | None = None) -> BandStructure:
    """Digitise a PNG or JPEG band-structure plot (see the module docstring).

    Args:
        path: the figure file.
        material_id: the record's id (default: the file stem).
        options: the energy range and/or path labels, overriding what is read from the figure (default:
            none).

    Returns a record in the figure's own zero (``efermi`` = 0), one spin channel, shape (1, nbands, nk).

    Raises:
        BandDataError: naming the file and what is missing (an unreadable or truncated image, one too small
            or above :data:`MAX_FIGURE_PIXELS`, no plot frame, no readable energy axis, no band curves).
    """
    path = Path(path)
    options = options if options is not None else FigureOptions()
    rgb = _load(path)
    ink = _ink(rgb)
    if ink.mean() < 1e-4:
        raise BandDataError("a blank image (one colour): no band-structure plot in it", path)
    frame = _find_frame(ink, path)
    gray = rgb.mean(axis=2)
    ticks = _tick_rows(ink, frame)
    if options.energy_range is not None:
        lo, hi = options.energy_range
        axis_source = "energy_range option"
    else:
        lo, hi = _read_energy_axis(gray, ink, frame, ticks, path)
        axis_source = "tick labels"
    guides = list(ticks)  # rows where a horizontal line is a guide: the ticks' (a grid) and the zero's
    if lo < 0 < hi:
        guides.append(frame.top + hi / (hi - lo) * (frame.bottom - frame.top))
    bounds = _segment_lines(ink, frame)
    if options.path is not None:
        if len(options.path) != len(bounds):
            drawn = "-".join(pretty_label(label) for label in options.path)
            raise BandDataError(f"the path {drawn} has {len(options.path)} labels but the "
                                f"figure has {len(bounds) - 1} segment(s) ({len(bounds)} labels)", path)
        labels, path_source = list(options.path), "path option"
    else:
        labels = _read_path_labels(gray, ink, frame, bounds)
        path_source = "labels read" if all(labels) else "unknown"
    mask = _curve_mask(rgb, ink, frame, bounds, guides)
    rows = _trace(mask, frame, bounds, path)  # (nbands, nseg * POINTS_PER_SEGMENT) rows, ±inf outside
    energies = _rows_to_energy(rows, frame, lo, hi)
    drawn = [lab or "?" for lab in labels]
    branches, energies, order = _our_order(drawn, energies, path_source != "unknown")
    nk = energies.shape[1]
    distances = np.concatenate([j + np.linspace(0.0, 1.0, POINTS_PER_SEGMENT) for j in range(len(branches))])
    metadata = {"figure_energy_range": (round(lo, 4), round(hi, 4)), "figure_axis": axis_source,
                "figure_path": "-".join(map(pretty_label, drawn)), "figure_path_source": path_source,
                "figure_branch_order": order, "figure_pixels": (int(rgb.shape[1]), int(rgb.shape[0]))}
    return BandStructure(material_id=material_id or figure_id(path), formula="", kpoints=np.zeros((nk, 3)),
                         distances=distances, branches=tuple(branches), energies=energies[None],
                         efermi=0.0, source=str(path), metadata=metadata)


def _load(path: Path) -> np.ndarray:
    """The figure as float32 RGB in 0..1 (transparency on white), reduced to WORK_SIDE; size checked from the
    header before anything is decoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below, by our limit
            im = Image.open(path)
        with im:
            width, height = im.size
            if im.format not in FIGURE_FORMATS:
                raise BandDataError(f"a {im.format} image; the figure reader takes PNG or JPEG", path)
            if width * height > MAX_FIGURE_PIXELS:
                raise BandDataError(f"{width} x {height} = {width * height:,} pixels, above the figure "
                                    f"reader's limit of MAX_FIGURE_PIXELS = {MAX_FIGURE_PIXELS:,} (refused "
                                    "before decoding)", path)
            if min(width, height) < MIN_FIGURE_SIDE:
                raise BandDataError(f"{width} x {height} pixels: too small for a band-structure plot (each "
                                    f"side needs at least MIN_FIGURE_SIDE = {MIN_FIGURE_SIDE})", path)
            im.draft("RGB", (WORK_SIDE, WORK_SIDE))  # JPEG: decode at a reduced scale when that suffices
            rgba = im.convert("RGBA")
    except BandDataError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own check, far above ours
        raise BandDataError(f"above the figure reader's limit of MAX_FIGURE_PIXELS = {MAX_FIGURE_PIXELS:,} "
                            f"pixels, refused before decoding ({exc})", path) from exc
    except (OSError, SyntaxError, ValueError, EOFError, UnidentifiedImageError) as exc:
        raise BandDataError(f"not a readable PNG or JPEG image ({type(exc).__name__}: {exc})", path) from exc
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    im = Image.alpha_composite(white, rgba).convert("RGB")
    if max(im.size) > WORK_SIDE:
        scale = WORK_SIDE / max(im.size)
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.BOX)
    return np.asarray(im, dtype=np.float32) / 255.0


def _ink(rgb: np.ndarray, contrast: float = INK_CONTRAST) -> np.ndarray:
    """Pixels whose colour differs from the background's (the commonest colour) by over ``contrast``."""
    quant = (rgb * 31).round().astype(np.int32)
    codes = quant[..., 0] * 1024 + quant[..., 1] * 32 + quant[..., 2]
    counts = np.bincount(codes.ravel(), minlength=32 ** 3)
    bg_code = int(counts.argmax())
    bg = np.array([bg_code // 1024, bg_code // 32 % 32, bg_code % 32], dtype=np.float32) / 31
    return np.abs(rgb - bg).max(axis=2) > contrast


# --- the frame ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Frame:
    """The axes box: line centres (pixel coordinates, row/column index) and the interior slices."""

    top: float  # centre row of the top edge (the energy at the top of the axis)
    bottom: float
    left: float  # centre column of the left edge (the path's start)
    right: float
    line: int  # thickness of the axis lines, pixels
    rows: slice  # interior rows (inside the lines)
    cols: slice


def _lines(ink: np.ndarray, axis: int, length: int) -> list[tuple[int, int, int, int]]:
    """Straight lines of at least ``length`` pixels (axis 0: vertical, 1: horizontal), as bounding boxes
    (row0, col0, row1, col1), exclusive ends."""
    from scipy import ndimage
    from skimage.measure import label, regionprops

    shape = (length, 1) if axis == 0 else (1, length)
    opened = ndimage.binary_opening(ink, structure=np.ones(shape, bool))
    return [r.bbox for r in regionprops(label(opened, connectivity=2))]


def _find_frame(ink: np.ndarray, src) -> _Frame:
    height, width = ink.shape
    verticals = _lines(ink, 0, max(height // 5, 20))
    horizontals = _lines(ink, 1, max(width // 5, 20))
    missing = BandDataError("no plot frame found (a left and a bottom axis line meeting at a corner, "
                            "spanning a fifth of the image): not a band-structure plot?", src)
    if not verticals or not horizontals:
        raise missing
    tallest = max(b[2] - b[0] for b in verticals)
    widest = max(b[3] - b[1] for b in horizontals)
    tall = sorted((b for b in verticals if b[2] - b[0] >= 0.9 * tallest), key=lambda b: b[1])
    wide = sorted((b for b in horizontals if b[3] - b[1] >= 0.9 * widest), key=lambda b: b[0])
    left, bottom = tall[0], wide[-1]
    # outward ticks lengthen the axis lines past the corner
    tol = max(3 + left[3] - left[1] + bottom[2] - bottom[0], 0.025 * max(height, width))
    if abs(left[2] - bottom[2]) > tol or abs(left[1] - bottom[1]) > tol:  # not meeting at the corner
        raise missing
    line = max(1, min(left[3] - left[1], bottom[2] - bottom[0]))
    top_line = next((b for b in wide if abs(b[0] - left[0]) <= tol), None)
    right_line = next((b for b in tall[::-1] if abs(b[3] - bottom[3]) <= tol), None)
    top = (top_line[0] + top_line[2] - 1) / 2 if top_line else float(left[0])
    right = (right_line[1] + right_line[3] - 1) / 2 if right_line else float(bottom[3] - 1)
    frame = _Frame(top=top, bottom=(bottom[0] + bottom[2] - 1) / 2, left=(left[1] + left[3] - 1) / 2,
                   right=right, line=line,
                   rows=slice(top_line[2] if top_line else left[0], bottom[0]),
                   cols=slice(left[3], right_line[1] if right_line else bottom[3]))
    if frame.right - frame.left < 0.2 * width or frame.bottom - frame.top < 0.2 * height:
        raise missing
    return frame


# --- text ---------------------------------------------------------------------------------------------------
def _ocr(gray: np.ndarray, psm: int, digits: bool = False, scale: int = OCR_SCALE):
    """Tesseract's words in a grey crop (enlarged ``scale`` times): (text, confidence, centre row, centre
    column, height, width), in crop pixels."""
    import os

    import pytesseract
    from PIL import Image, ImageOps

    img = Image.fromarray((np.clip(gray, 0, 1) * 255).astype(np.uint8))
    img = img.resize((img.width * scale, img.height * scale), Image.Resampling.LANCZOS)
    pad = 10 * scale
    img = ImageOps.expand(img, pad, fill=255)
    config = f"--psm {psm}" + (" -c tessedit_char_whitelist=-0123456789." if digits else "")
    # Tesseract's OpenMP threads make these small images several times slower on shared cores (4.2 s
    # against 0.8 s for a 400 x 300 frame): one thread, unless the caller chose otherwise
    unset = "OMP_THREAD_LIMIT" not in os.environ
    if unset:
        os.environ["OMP_THREAD_LIMIT"] = "1"
    try:
        data = pytesseract.image_to_data(img, config=config, output_type=pytesseract.Output.DICT)
    finally:
        if unset:
            os.environ.pop("OMP_THREAD_LIMIT", None)
    return [(text.strip(), float(conf), (top + h / 2 - pad) / scale, (left + w / 2 - pad) / scale,
             h / scale, w / scale)
            for text, conf, top, left, h, w in zip(data["text"], data["conf"], data["top"], data["left"],
                                                   data["height"], data["width"], strict=True)
            if text.strip()]


def _tesseract_missing(exc: Exception) -> bool:
    import pytesseract

    return isinstance(exc, (pytesseract.TesseractNotFoundError, FileNotFoundError))


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) exclusive of every run of True."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _text_block(ink_cols: np.ndarray, right: int, gap: int) -> tuple[int, int] | None:
    """The block of columns with ink nearest left of ``right``, ended by ``gap`` empty columns."""
    cols = np.flatnonzero(ink_cols[:right])
    if cols.size == 0:
        return None
    end = int(cols[-1]) + 1
    start = int(cols[-1])
    while True:
        window = ink_cols[max(0, start - gap):start]
        if not window.any():
            return start, end
        start = max(0, start - gap) + int(np.flatnonzero(window)[0])


def _tick_rows(ink, frame: _Frame) -> list[float]:
    """Rows of the energy axis's tick marks: short horizontal strokes just outside the left axis line."""
    left_line = round(frame.left - frame.line / 2)
    if left_line < 2:
        return []
    r0, r1 = round(frame.top - frame.line), round(frame.bottom + frame.line) + 1
    stub = ink[r0:r1, left_line - 2:left_line].all(axis=1)
    return [r0 + (a + b - 1) / 2 for a, b in _runs(stub) if b - a <= 2 * frame.line + 1]


HINT = "pass --energy-range LO HI (energy_range=(lo, hi)): the energies at the bottom and top of the frame"


def _read_energy_axis(gray, ink, frame: _Frame, ticks: list[float], src) -> tuple[float, float]:
    """(energy at the bottom, energy at the top of the frame) from the tick labels left of it, each label at
    its tick mark's row when one is near."""
    left_line = round(frame.left - frame.line / 2)
    pad = int(0.04 * ink.shape[0])
    r0, r1 = max(0, int(frame.top) - pad), min(ink.shape[0], int(frame.bottom) + pad + 1)
    tick_len = 0
    if ticks:
        row = round(ticks[len(ticks) // 2])
        while left_line - tick_len - 1 >= 0 and ink[row, left_line - tick_len - 1]:
            tick_len += 1
    right = max(0, left_line - tick_len - 1)
    region = ink[r0:r1, :right]
    heights = [b - a for a, b in _runs(region[:, max(0, right - 40):].any(axis=1))]
    text_h = float(np.median(heights)) if heights else 10.0
    block = _text_block(region.any(axis=0), right, max(3, round(0.5 * text_h)))
    if block is None:
        raise BandDataError(f"no tick labels left of the plot frame to read the energy axis from; {HINT}",
                            src)
    c0, c1 = max(0, block[0] - 2), min(ink.shape[1], block[1] + 2)
    # Tesseract reads glyphs about OCR_TEXT_PX tall best: small labels are enlarged, large ones (pymatgen's
    # 30-pt ticks) much less; when a scale reads too few labels, the others are tried
    first = int(np.clip(round(OCR_TEXT_PX / max(text_h, 1.0)), 1, OCR_SCALE))
    fit, points = None, []
    for scale in dict.fromkeys((first, OCR_SCALE, 2, 1)):
        try:
            words = _ocr(gray[r0:r1, c0:c1], psm=6, digits=True, scale=scale)
        except Exception as exc:
            if _tesseract_missing(exc):
                raise BandDataError(f"reading the energy axis needs the tesseract program (`make ocr`, or "
                                    f"apt-get install tesseract-ocr); or {HINT}", src) from exc
            raise
        points = []
        for text, _conf, row, _col, _h, _w in words:
            value = _number(text)
            if value is None:
                continue
            row += r0
            near = [t for t in ticks if abs(t - row) <= 0.6 * text_h]
            points.append((min(near, key=lambda t: abs(t - row)) if near else row, value))
        fit = _fit_axis(points, text_h)
        if fit is not None:
            break
    if fit is None:
        read = ", ".join(f"{v:g}" for _, v in points) or "none"
        raise BandDataError(f"could not read the energy axis: fewer than {MIN_TICKS} tick labels on one "
                            f"line (numbers read: {read}); {HINT}", src)
    slope, intercept = fit
    return slope * frame.bottom + intercept, slope * frame.top + intercept


def _number(text: str) -> float | None:
    text = re.sub(r"^[-−–—=~_]+", "-", text.replace(",", "."))
    if not re.fullmatch(r"-?\d+(\.\d+)?", text):
        return None
    return float(text)


def _fit_axis(points, text_h: float) -> tuple[float, float] | None:
    """value = slope * row + intercept through the most (row, value) pairs (at least MIN_TICKS, values
    rising upwards), then least squares on them; misread labels are outliers."""
    best = None
    for i in range(len(points)):
        for j in range(i + 1, len(points)):
            (ra, va), (rb, vb) = points[i], points[j]
            if abs(rb - ra) < text_h or va == vb:
                continue
            slope = (vb - va) / (rb - ra)
            if slope >= 0:  # energies rise upwards: the row index grows downwards
                continue
            tol = max(1.5, 0.15 * text_h)  # pixels
            inliers = [(r, v) for r, v in points if abs((v - va) / slope + ra - r) <= tol]
            if len({v for _, v in inliers}) == len(inliers) and (best is None or len(inliers) > len(best)):
                best = inliers
    if best is None or len(best) < MIN_TICKS:
        return None
    rows, values = np.array(best).T
    slope, intercept = np.polyfit(rows, values, 1)
    return float(slope), float(intercept)


def _read_path_labels(gray, ink, frame: _Frame, bounds: list[float]) -> list[str | None]:
    """The label under each segment boundary (our spelling), None where unread."""
    from skimage.measure import label, regionprops

    below = round(frame.bottom + frame.line / 2) + 1
    if below >= ink.shape[0] - 3:
        return [None] * len(bounds)
    # what crosses the frame's bottom line (tick marks, the lowest energy label) is no path label
    comps = [c for c in regionprops(label(ink[below:], connectivity=2)) if c.bbox[0] > 0]
    rows = np.zeros(ink.shape[0] - below, bool)
    for c in comps:  # the labels at the path's ends straddle the frame's edges; energy labels lie outside
        if c.bbox[3] > frame.left - frame.line and c.bbox[1] < frame.right + frame.line:
            rows[c.bbox[0]:c.bbox[2]] = True
    runs = _runs(rows)
    if not runs:
        return [None] * len(bounds)
    a, b = runs[0]  # the first line of text under the frame
    comps = [c for c in comps if a <= c.bbox[0] and c.bbox[2] <= b]
    spacing = min(np.diff(bounds)) if len(bounds) > 1 else ink.shape[1]
    labels = []
    for x in bounds:
        near = [c for c in comps if c.bbox[1] - 0.6 * (b - a) <= x <= c.bbox[3] + 0.6 * (b - a)
                and c.bbox[3] - c.bbox[1] < 0.8 * spacing]
        if not near:
            labels.append(None)
            continue
        c0, c1 = min(c.bbox[1] for c in near), max(c.bbox[3] for c in near)
        crop = gray[below + a - 2:below + b + 2, max(0, c0 - 2):c1 + 2]
        read, first = None, int(np.clip(round(OCR_TEXT_PX / max(b - a, 1)), 1, OCR_SCALE))
        for scale in dict.fromkeys((first, OCR_SCALE)):
            try:
                words = _ocr(crop, psm=7, scale=scale)
            except Exception as exc:
                if _tesseract_missing(exc):
                    return [None] * len(bounds)
                raise
            read = _path_label("".join(w[0] for w in words))
            if read is not None:
                break
        labels.append(read)
    return labels


def _path_label(text: str) -> str | None:
    """Tesseract's reading of one path label -> our label, or None."""
    text = re.sub(r"[^A-Za-z0-9Γ|\[]", "", text)
    if not text:
        return None
    if text in GAMMA_READINGS:
        return G
    label = _canonical(text[0] + ("_" + text[1] if len(text) == 2 and text[1].isdigit() else ""))
    return label if label in KNOWN_LABELS else None


# --- the segments -------------------------------------------------------------------------------------------
def _segment_lines(ink, frame: _Frame) -> list[float]:
    """Columns of the path's segment boundaries: the frame's left edge, every vertical line spanning the
    frame (solid or dashed), the right edge."""
    inside = ink[frame.rows, frame.cols]
    coverage = inside.mean(axis=0)
    bounds = [frame.left]
    for a, b in _runs(coverage >= 0.5):
        if b - a <= max(4, 3 * frame.line):
            x = frame.cols.start + (a + b - 1) / 2
            if x - bounds[-1] > 3 * frame.line + 2 and frame.right - x > 3 * frame.line + 2:
                bounds.append(x)
    return [*bounds, frame.right]


# --- the curves ---------------------------------------------------------------------------------------------
def _curve_mask(rgb, ink, frame: _Frame, bounds: list[float], guides: list[float]) -> np.ndarray:
    """Band-curve pixels of the frame's interior (a mask of the full image); ``guides``: rows where a
    horizontal line across the frame is a guide line whatever its look."""
    from scipy import ndimage
    from skimage.morphology import disk, remove_small_objects

    mask = np.zeros_like(ink)
    mask[frame.rows, frame.cols] = ink[frame.rows, frame.cols]
    for x in bounds[1:-1]:  # the vertical lines
        mask[:, max(0, int(x - frame.line - 1)):int(x + frame.line + 2)] = False
    thickness = _line_thickness(mask)
    _drop_text(rgb, mask, frame)
    _drop_legend_boxes(rgb, mask, frame)
    # filled areas: what survives an opening with a disk wider than a line, unless it differs in colour
    # (and its rim, where the fill's colour blends into the background)
    blobs = ndimage.binary_opening(mask, structure=disk(max(3, round(2 * thickness))))
    if blobs.any():
        background = np.median(rgb[~ink], axis=0)
        labels, n = ndimage.label(blobs)
        for i in range(1, n + 1):
            region = ndimage.binary_dilation(labels == i, iterations=2)
            fill = np.median(rgb[labels == i], axis=0)
            mask[region & (_blend_distance(rgb, background, fill) < 0.12)] = False
    _drop_guide_lines(rgb, mask, frame, thickness, guides)
    return remove_small_objects(mask, max_size=max(3, int(thickness ** 2)))


def _blend_distance(rgb, a, b) -> np.ndarray:
    """How far each pixel's colour lies from the colours between ``a`` and ``b`` (0..1 per channel)."""
    d = b - a
    t = np.clip(((rgb - a) @ d) / max(float(d @ d), 1e-9), 0.0, 1.0)
    return np.abs(rgb - (a + t[..., None] * d)).max(axis=2)


MAX_LINE_PX = 12  # a thicker "line" is a filled area (bars), not a band curve


def _line_thickness(mask: np.ndarray) -> float:
    """The curves' typical vertical thickness: the median run of ink down a column (flat parts dominate),
    at most MAX_LINE_PX."""
    padded = np.pad(mask, ((1, 1), (0, 0))).astype(np.int8)
    d = np.diff(padded, axis=0)
    starts, ends = np.nonzero(d.T == 1), np.nonzero(d.T == -1)
    lengths = ends[1] - starts[1]
    return min(float(np.median(lengths)), MAX_LINE_PX) if lengths.size else 2.0


def _drop_text(rgb, mask, frame: _Frame) -> None:
    """Blank words inside the frame (a legend, annotations) and the legend handles left of them."""
    gray = rgb.mean(axis=2)
    r0, c0 = frame.rows.start, frame.cols.start
    try:
        words = _ocr(gray[frame.rows, frame.cols], psm=11, scale=2)
    except Exception as exc:
        if _tesseract_missing(exc):
            return
        raise
    for text, conf, row, col, h, w in words:
        if conf < 70 or sum(ch.isalpha() for ch in text) < 2 or h > 0.06 * (frame.bottom - frame.top):
            continue
        top, bot = round(r0 + row - 0.6 * h), round(r0 + row + 0.6 * h) + 1
        lft, rgt = round(c0 + col - w / 2), round(c0 + col + w / 2) + 1
        if not _is_text(mask, top, bot, lft, rgt, h):
            continue
        mask[max(0, top - round(0.2 * h)):bot + round(0.2 * h), max(0, lft - round(3.5 * h)):rgt + 2] = False


def _drop_legend_boxes(rgb, mask, frame: _Frame) -> None:
    """Blank boxes inside the frame (a legend's frame, however faint: matplotlib draws it light grey) with
    what they hold: two horizontal lines of the same extent joined by vertical lines at both ends."""
    from scipy import ndimage
    from skimage.measure import label, regionprops

    faint = np.zeros_like(mask)
    faint[frame.rows, frame.cols] = _ink(rgb, FAINT_CONTRAST)[frame.rows, frame.cols]
    width, height = frame.right - frame.left, frame.bottom - frame.top
    lines = ndimage.binary_opening(faint, structure=np.ones((1, max(8, round(0.04 * width))), bool))
    spans = [r.bbox for r in regionprops(label(lines, connectivity=2)) if r.bbox[3] - r.bbox[1] < 0.9 * width]
    for (t0, a0, _, b0), (t1, a1, u1, b1) in itertools.combinations(sorted(spans), 2):
        if abs(a0 - a1) > 3 or abs(b0 - b1) > 3 or not 8 <= t1 - t0 <= 0.6 * height:
            continue
        sides = [faint[t0:u1, max(0, x - 2):x + 3].any(axis=1).mean() for x in (min(a0, a1), max(b0, b1) - 1)]
        if min(sides) >= 0.6:
            mask[t0:u1, min(a0, a1):max(b0, b1)] = False


def _is_text(mask, top: int, bot: int, lft: int, rgt: int, h: float) -> bool:
    """Glyphs are small marks inside their word's box; a band curve that Tesseract took for a word runs on
    beyond it. True when most of the box's ink lies in marks that stay within the box grown by ``h``."""
    from skimage.measure import label

    pad = round(h)
    y0, x0 = max(0, top - pad), max(0, lft - pad)
    window = mask[y0:bot + pad, x0:rgt + pad]
    labels = label(window, connectivity=2)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    box = labels[top - y0:bot - y0, lft - x0:rgt - x0]
    ink = box > 0
    return bool(ink.any()) and np.isin(box[ink], edge[edge > 0]).mean() < 0.5


def _drop_guide_lines(rgb, mask, frame: _Frame, thickness: float, guides: list[float]) -> None:
    """Remove horizontal lines across the frame that are no band: at a tick's or the zero's row, dashed, or
    lighter or thinner than the curves (the E_F line, a grid); any other (solid, like the curves) is kept as
    a flat band. Curves crossing a removed line are bridged where ink lies just above and below it."""
    inside = mask[frame.rows, frame.cols]
    coverage = inside.mean(axis=1)
    blanked = ~inside.any(axis=0)  # the columns of the vertical lines, emptied before
    lum = rgb.mean(axis=2)
    lines = [(a, b) for a, b in _runs(coverage >= 0.5) if b - a <= max(4, 3 * thickness)]
    for a, b in _runs(coverage >= DOTTED_COVER):  # a dotted guide (ASE's ':' zero line) inks under half a row
        broken = len(_runs(inside[a + int(np.argmax(coverage[a:b]))] | blanked)) >= 3 * MIN_DASHES
        near = any(a - 2 <= g - frame.rows.start <= b + 1 for g in guides)
        if broken and near and b - a <= max(4, 3 * thickness) and (a, b) not in lines:
            lines.append((a, b))
    curves = mask.copy()
    for a, b in lines:
        curves[frame.rows.start + a:frame.rows.start + b] = False
    curve_lum = float(np.median(lum[curves])) if curves.any() else 0.0
    for a, b in lines:
        r0, r1 = frame.rows.start + a, frame.rows.start + b
        band = mask[r0:r1]
        row = inside[a + int(np.argmax(coverage[a:b]))] | blanked  # the vertical lines' columns count as ink
        dashed = len(_runs(row)) >= MIN_DASHES  # a flat band is crossed by other curves, never broken up
        lighter = float(np.median(lum[r0:r1][band])) > curve_lum + 0.15
        thinner = (b - a) < 0.6 * thickness
        at_guide = any(r0 - 2 <= g <= r1 + 1 for g in guides)
        if not (dashed or lighter or thinner or at_guide):
            continue
        above = mask[max(0, r0 - 1)]
        below = mask[min(mask.shape[0] - 1, r1)]
        mask[r0:r1] = (above | below)[None, :]


def _trace(mask, frame: _Frame, bounds: list[float], src) -> np.ndarray:
    """Band energies as rows, (nbands, nseg * POINTS_PER_SEGMENT): per k-point column the centres of the
    curve runs, assigned to bands column by column from the column showing the most (:func:`_step`); a run
    that continues no band starts one (:func:`_add_band`). Rows -inf/+inf: the band is above/below the
    frame there."""
    thickness = _line_thickness(mask)
    half = max(1, round(thickness))  # columns either side: bridges dashes, and a line's own gaps
    inset = frame.line / 2 + half + 2
    columns = []
    for xa, xb in itertools.pairwise(bounds):
        xs = np.linspace(xa, xb, POINTS_PER_SEGMENT)
        columns.extend(np.clip(xs, xa + inset, xb - inset))
    centres = []
    for x in columns:
        c = round(x)
        strip = mask[frame.rows, max(0, c - half):c + half + 1].any(axis=1)
        centres.append(np.array([frame.rows.start + (a + b - 1) / 2 for a, b in _runs(strip)]))
    counts = np.array([len(c) for c in centres])
    if (counts > 0).mean() < MIN_CURVE_COVER:
        raise BandDataError(f"no band curves across the plot frame (after removing axes, text, guide lines "
                            f"and filled areas, {(counts > 0).mean():.0%} of the path's columns hold a "
                            f"curve, not {MIN_CURVE_COVER:.0%}): not a band-structure plot?", src)
    edge = max(3 * thickness, 0.03 * (frame.bottom - frame.top))  # near enough to the edge to leave
    skip = max(6 * thickness, 0.08 * (frame.bottom - frame.top))  # rows a band may move between columns
    # the reference: the column with the most runs, leaving out each segment's end columns (ticks)
    inner = np.array([i % POINTS_PER_SEGMENT not in (0, POINTS_PER_SEGMENT - 1) for i in range(len(columns))])
    start = int(np.argmax(np.where(inner, counts, -1)))
    rows = {start: np.sort(centres[start])}
    seen = {start: np.ones(counts[start], bool)}
    for order in (range(start + 1, len(columns)), range(start - 1, -1, -1)):
        prev = start
        for i in order:
            rows[i], seen[i], strays = _step(rows[prev], centres[i], frame, edge, skip)
            for c in strays:
                _add_band(rows, seen, i, prev, c, frame, edge)
            prev = i
    out = np.array([rows[i] for i in range(len(columns))]).T  # (nbands, ncols)
    observed = np.array([seen[i] for i in range(len(columns))]).T.sum(axis=1)
    # a band seen in a few columns only is a stray mark (a legend's sample line, a label's glyph)
    keep = observed >= min(MIN_BAND_COLUMNS, observed.max())
    return out[keep]


def _step(prev: np.ndarray, centres: np.ndarray, frame: _Frame, edge: float, skip: float):
    """(rows, observed, strays): the bands' rows in the next column, from their rows in this one and the
    next column's run centres. Each run goes to the band it continues (:func:`_align`); a run further than
    ``skip`` rows from every band is returned among the strays; a band left without a run merged with the
    nearer line beside it, or left the frame when it was near the frame's edge (rows -inf above the frame,
    +inf below)."""
    nb = len(prev)
    target = np.clip(prev, frame.top, frame.bottom)  # a band outside the frame is matched at its edge
    c = np.sort(centres)
    slot = _align(c, target, skip)
    out = np.full(nb, np.nan)
    out[slot[slot >= 0]] = c[slot >= 0]
    observed = np.isfinite(out)
    assigned = np.flatnonzero(observed)
    for k in np.flatnonzero(~observed):
        above = assigned[assigned < k]  # rows grow downwards: lower slot index = higher on the figure
        below = assigned[assigned > k]
        if above.size and below.size:  # between two lines: merged with the nearer one
            a, b = out[above[-1]], out[below[0]]
            out[k] = a if abs(target[k] - a) <= abs(target[k] - b) else b
        elif below.size == 0 and above.size:  # the lowest bands: out through the bottom, or merged
            out[k] = np.inf if prev[k] >= frame.bottom - edge else out[above[-1]]
        elif above.size == 0 and below.size:
            out[k] = -np.inf if prev[k] <= frame.top + edge else out[below[0]]
        else:  # an empty column: bands keep where they were
            out[k] = prev[k]
    return out, observed, c[slot < 0]


def _add_band(rows: dict, seen: dict, i: int, prev: int, c: float, frame: _Frame, edge: float) -> None:
    """A run at row ``c`` of column ``i`` that continues no band: a band that entered through the frame's
    edge, or one that split from a line it was merged with (a degeneracy). Inserted in sorted place into
    every column done so far: outside the frame there, or as a copy of the nearer neighbour."""
    k = int(np.searchsorted(rows[i], c))
    n = len(rows[i])
    if c <= frame.top + edge and (k == 0 or rows[i][k - 1] == -np.inf):
        fill = ("value", -np.inf)
    elif c >= frame.bottom - edge and (k == n or rows[i][k] == np.inf):
        fill = ("value", np.inf)
    else:
        before = rows[prev]
        up = abs(before[k - 1] - c) if k > 0 and np.isfinite(before[k - 1]) else np.inf
        down = abs(before[k] - c) if k < n and np.isfinite(before[k]) else np.inf
        fill = ("copy", k - 1 if up <= down and k > 0 else min(k, n - 1))
    for j in rows:
        value = c if j == i else (fill[1] if fill[0] == "value" else rows[j][fill[1]])
        rows[j] = np.insert(rows[j], k, value)
        seen[j] = np.insert(seen[j], k, j == i)


def _align(c: np.ndarray, v: np.ndarray, skip: float) -> np.ndarray:
    """For each of the sorted values ``c``, the index of the sorted value ``v`` it is assigned to, or -1:
    increasing, least total |c - v| plus ``skip`` per unassigned ``c`` (an unused ``v`` costs nothing).
    Dynamic programming over (c, v) prefixes, one prefix minimum per row."""
    p, q = len(c), len(v)
    if p == 0:
        return np.zeros(0, dtype=int)
    cost = np.abs(c[:, None] - v[None, :])  # (p, q)
    best = np.zeros((p + 1, q + 1))  # best[i, k]: the first i of c within the first k of v
    best[:, 0] = np.arange(p + 1) * skip
    steps = np.zeros((p + 1, q + 1))
    for i in range(1, p + 1):
        step = best[i - 1] + skip  # c[i-1] unassigned
        step[1:] = np.minimum(step[1:], best[i - 1, :-1] + cost[i - 1])  # c[i-1] -> v[k-1]
        steps[i] = step
        best[i] = np.minimum.accumulate(step)
    out = np.full(p, -1)
    k = q
    for i in range(p, 0, -1):
        k = int(np.flatnonzero(steps[i, :k + 1] == best[i, k])[-1])
        if k >= 1 and steps[i, k] == best[i - 1, k - 1] + cost[i - 1, k - 1]:
            out[i - 1] = k - 1
            k -= 1
    return out


def _rows_to_energy(rows: np.ndarray, frame: _Frame, lo: float, hi: float) -> np.ndarray:
    """Pixel rows -> eV (linear between the frame's edges); ±inf -> beyond the window by OUTSIDE_EV."""
    per_row = (lo - hi) / (frame.bottom - frame.top)
    energies = hi + (rows - frame.top) * per_row
    energies = np.where(rows == -np.inf, hi + OUTSIDE_EV, energies)
    return np.where(rows == np.inf, lo - OUTSIDE_EV, energies)


# --- the path order -----------------------------------------------------------------------------------------
def _our_order(labels: list[str], energies: np.ndarray, known: bool):
    """(branches, energies, "ours" or "figure"): the figure's segments in our path's order for its label set
    when it is one of ours, each reversed as needed; else as drawn."""
    n = POINTS_PER_SEGMENT
    segments = [energies[:, j * n:(j + 1) * n] for j in range(len(labels) - 1)]
    pairs = list(itertools.pairwise(labels))
    order = None
    if known and "?" not in labels:
        for loop in OUR_LOOPS:
            if set(loop) == set(labels) and len(loop) == len(labels):
                order = _match(pairs, list(itertools.pairwise(loop)))
                if order is not None:
                    pairs = list(itertools.pairwise(loop))
                    break
    if order is None:
        order, how = [(j, False) for j in range(len(segments))], "figure"
    else:
        how = "ours"
    blocks = [segments[j][:, ::-1] if rev else segments[j] for j, rev in order]
    branches = [Branch(j * n, (j + 1) * n - 1, a, b) for j, (a, b) in enumerate(pairs)]
    return branches, np.concatenate(blocks, axis=1), how


def _match(figure_pairs, our_pairs) -> list[tuple[int, bool]] | None:
    """For each of our segments, the figure's segment between the same labels and whether it is reversed."""
    used, order = set(), []
    for a, b in our_pairs:
        hit = next(((j, (p, q) == (b, a)) for j, (p, q) in enumerate(figure_pairs)
                    if j not in used and {p, q} == {a, b} and p != q), None)
        if hit is None:
            return None
        used.add(hit[0])
        order.append(hit)
    return order

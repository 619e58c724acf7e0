"""Band structures from published figures (#33): elfutils.data.figure_reader on figures the project draws
itself from its own records (data/figure-fixtures, scripts/make_figure_fixtures.py), compared with the
records' own renders; the overrides; the reader's row; one BandDataError naming the file for each bad input;
the CLI."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from elfutils.data.figure_reader import (
    MAX_FIGURE_PIXELS,
    OUTSIDE_EV,
    FigureOptions,
    parse_path,
    read_figure,
)
from elfutils.data.kpath import G
from elfutils.data.readers import file_kind, material_id_of, read_band_file
from elfutils.errors import BandDataError
from elfutils.images.render import iou, render_band_image

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "data" / "figure-fixtures"
MANIFEST = json.loads((FIGURES / "fixtures.json").read_text())
NAMES = sorted(MANIFEST)
needs_ocr = pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs Tesseract: make ocr")

# Measured on the fixtures (Tesseract 5.3.0, 224 px renders inside the window each figure shows), then
# floored a little: (IoU of the line pixels, share of the digitised record's line pixels within 2 px of the
# true record's, and the other way round). The lines are 2 px wide, so one pixel's offset halves an IoU;
# the 2-px shares say how close the curves are.
#   name: measured IoU, digitised-within-2px, truth-within-2px
#   2dm-1-bsplotter.png 0.725 1.000 1.000 | 2dm-1-plain.png 0.743 1.000 1.000
#   2dm-104-q75.jpg 0.703 0.995 0.999 | 2dm-21-gmkg.png 0.722 0.995 0.999
#   2dm-22-midgap-grid.png 0.776 1.000 1.000 | 2dm-25-spins.png 0.589 0.993 0.987
#   2dm-34-2ev.png 0.745 1.000 1.000
FIDELITY = {"2dm-1-bsplotter.png": (0.68, 0.97, 0.97), "2dm-1-plain.png": (0.70, 0.97, 0.97),
            "2dm-104-q75.jpg": (0.66, 0.97, 0.97), "2dm-21-gmkg.png": (0.68, 0.97, 0.97),
            "2dm-22-midgap-grid.png": (0.73, 0.97, 0.97), "2dm-25-spins.png": (0.55, 0.96, 0.95),
            "2dm-34-2ev.png": (0.70, 0.97, 0.97)}
AXIS_TOLERANCE_EV = 0.1


def truth(name: str):
    """The record a fixture was drawn from (project zero)."""
    from elfutils.data.store import BandStore

    source = MANIFEST[name]["source"]
    if ":" in source:
        store, mid = source.split(":")
        return BandStore(ROOT / store).get(mid)
    return read_band_file(ROOT / source)


@pytest.fixture(scope="module")
def digitised():
    """Every fixture read once through the reader table (project zero), by name."""
    if shutil.which("tesseract") is None:
        pytest.skip("needs Tesseract: make ocr")
    return {name: read_band_file(FIGURES / name) for name in NAMES}


def fidelity(figure_record, true_record) -> tuple[float, float, float]:
    """(IoU, share of the figure's line pixels within 2 px of the truth's, and the truth's within 2 px of the
    figure's), both drawn at 224 px, ±4 eV, on the rows inside the energy window the figure shows."""
    a, b = render_band_image(figure_record), render_band_image(true_record)
    lo, hi = np.asarray(figure_record.metadata["figure_energy_range"]) - figure_record.efermi
    energy = 4.0 - (np.arange(224) + 0.5) * 8.0 / 224  # the energy of each image row
    rows = (energy >= lo) & (energy <= hi)
    a, b = a[rows], b[rows]
    near_b = ndimage.distance_transform_edt(b == 0) <= 2
    near_a = ndimage.distance_transform_edt(a == 0) <= 2
    return iou(a, b), float(near_b[a > 0].mean()), float(near_a[b > 0].mean())


def test_the_fixtures_are_small_and_all_listed():
    files = {f.name for f in FIGURES.iterdir()} - {"fixtures.json"}
    assert files == set(MANIFEST)
    assert sum(f.stat().st_size for f in FIGURES.iterdir()) < 600_000


def test_the_reader_table_has_a_figure_row(tmp_path):
    for name in ("a.png", "B.JPG", "c.jpeg"):
        assert file_kind(tmp_path / name) == "figure"
    renamed = tmp_path / "figure.dat"  # no name to go by: the content (PNG / JPEG magic bytes) tells
    for fixture in ("2dm-1-plain.png", "2dm-104-q75.jpg"):
        shutil.copy(FIGURES / fixture, renamed)
        assert file_kind(renamed) == "figure"
    assert material_id_of(FIGURES / "2dm-22-midgap-grid.png") == "2dm-22-midgap-grid"


@pytest.mark.parametrize("name", NAMES)
def test_the_energy_axis_is_read_within_0_1_ev(digitised, name):
    bs = digitised[name]
    lo, hi = bs.metadata["figure_energy_range"]
    want_lo, want_hi = MANIFEST[name]["window_ev"]
    assert bs.metadata["figure_axis"] == "tick labels"
    assert abs(lo - want_lo) < AXIS_TOLERANCE_EV and abs(hi - want_hi) < AXIS_TOLERANCE_EV, (lo, hi)


@pytest.mark.parametrize("name", NAMES)
def test_the_digitised_image_matches_the_records_own(digitised, name):
    measured = fidelity(digitised[name], truth(name))
    print(f"{name}: IoU {measured[0]:.3f}, within 2 px {measured[1]:.3f} / {measured[2]:.3f}")
    assert all(m >= want for m, want in zip(measured, FIDELITY[name], strict=True)), measured


@pytest.mark.parametrize("name", NAMES)
def test_the_path_labels_are_read_and_put_in_our_order(digitised, name):
    bs = digitised[name]
    assert bs.metadata["figure_path_source"] == "labels read"
    assert bs.metadata["figure_branch_order"] == "ours"
    assert bs.path_string() == truth(name).path_string()
    assert bs.nkpoints == 21 * len(bs.branches)


def test_a_figure_drawn_g_m_k_g_is_turned_into_our_g_k_m_g(digitised):
    name = "2dm-21-gmkg.png"
    assert MANIFEST[name]["drawn_path"] == [G, "M", "K", G]
    bs = digitised[name]
    assert bs.metadata["figure_path"] == "Γ-M-K-Γ"  # as drawn
    assert bs.path_string() == "Γ-K-M-Γ"
    # told the figure is drawn in our order, the reader keeps its branches as they are: the image is wrong
    as_drawn = read_band_file(FIGURES / name, figure=FigureOptions(path="G K M G"))
    assert as_drawn.metadata["figure_branch_order"] == "ours"
    assert fidelity(as_drawn, truth(name))[0] < 0.5 * fidelity(bs, truth(name))[0]


def test_a_gapped_figure_drawn_with_its_zero_mid_gap_lands_on_the_project_zero(digitised):
    name = "2dm-22-midgap-grid.png"
    bs, true = digitised[name], truth(name)
    assert MANIFEST[name]["shift_ev"] > 1.0  # the figure's zero sits mid-gap, 1.66 eV above ours
    assert bs.metadata["energy_zero"] == "vbm+offset"
    assert bs.metadata["file_efermi"] == 0.0  # the figure's own zero
    assert abs(bs.efermi + MANIFEST[name]["shift_ev"]) < 0.05  # our zero, in the figure's energies
    assert abs(bs.band_gap() - true.band_gap()) < 0.1


def test_a_narrow_window_is_recorded_and_bands_leaving_it_go_beyond_it(digitised):
    bs = digitised["2dm-34-2ev.png"]
    lo, hi = bs.metadata["figure_energy_range"]
    assert abs(lo + 2) < AXIS_TOLERANCE_EV and abs(hi - 2) < AXIS_TOLERANCE_EV
    energies = bs.energies.ravel()
    outside = (energies < lo) | (energies > hi)
    assert outside.any()
    assert np.allclose(np.abs(energies[outside]), 2 + OUTSIDE_EV, atol=AXIS_TOLERANCE_EV)


@needs_ocr
def test_energy_range_overrides_the_axis():
    name = "2dm-1-plain.png"
    read = read_figure(FIGURES / name, options=FigureOptions(path="G K M G"))
    doubled = read_figure(FIGURES / name, options=FigureOptions(energy_range=(-8, 8), path="G K M G"))
    assert doubled.metadata["figure_axis"] == "energy_range option"
    assert doubled.metadata["figure_energy_range"] == (-8.0, 8.0)
    inside = np.abs(read.energies) < 4
    assert inside.sum() > 100
    assert np.allclose(doubled.energies[inside], 2 * read.energies[inside], atol=0.05)


def _figure_without_ticks(path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bs = truth("2dm-1-plain.png")
    rel = bs.relative_energies()[0]
    fig, ax = plt.subplots(figsize=(5, 3.8), dpi=100)
    for j, b in enumerate(bs.branches):
        ax.plot(j + np.linspace(0, 1, b.end - b.start + 1), rel[:, b.start:b.end + 1].T, color="black")
        ax.axvline(j, color="black", lw=0.8)
    ax.set_xlim(0, 3)
    ax.set_ylim(-4, 4)
    ax.set_yticks([])
    ax.set_xticks(range(4), [r"$\Gamma$", "K", "M", r"$\Gamma$"])
    fig.savefig(path)
    plt.close(fig)
    return path


def test_a_figure_without_tick_labels_needs_the_energy_range(tmp_path):
    path = _figure_without_ticks(tmp_path / "no-ticks.png")
    with pytest.raises(BandDataError, match=r"--energy-range") as err:
        read_band_file(path)
    assert str(path) in str(err.value)
    bs = read_band_file(path, figure=FigureOptions(energy_range=(-4, 4), path="G K M G"))
    iou_, near, _ = fidelity(bs, truth("2dm-1-plain.png"))
    assert near > 0.95 and iou_ > 0.6


def test_options_reach_a_figure_read_by_the_encoder(tmp_path):
    """elf similar reads its queries inside the encoder: --energy-range reaches the figure reader there."""
    from elfutils.analysis.similar import encode_band_files

    path = _figure_without_ticks(tmp_path / "no-ticks.png")
    options = FigureOptions(energy_range=(-4, 4), path="G K M G")
    bs = read_band_file(path, figure=options)
    assert bs.metadata["figure_axis"] == "energy_range option"
    table = encode_band_files([path], "elf-resnet18", device="cpu", figure=options)
    assert len(table) == 1 and table.shape[1] == 2 + 98
    with pytest.raises(BandDataError, match=r"--energy-range"):
        encode_band_files([path], "elf-resnet18", device="cpu")  # no option: the axis cannot be read


@needs_ocr
def test_the_path_option_names_the_figures_labels():
    bs = read_band_file(FIGURES / "2dm-34-2ev.png", figure=FigureOptions(path="Γ-M-K-Γ"))
    assert bs.metadata["figure_path_source"] == "path option"
    assert bs.path_string() == "Γ-K-M-Γ"  # told it is drawn Γ-M-K-Γ: reversed into ours
    with pytest.raises(BandDataError, match=r"has 2 labels but the figure has 3 segment") as err:
        read_band_file(FIGURES / "2dm-34-2ev.png", figure=FigureOptions(path="G K"))
    assert "2dm-34-2ev.png" in str(err.value)


def test_options_are_parsed_and_checked():
    assert parse_path("G M K G") == [G, "M", "K", G]
    assert parse_path("Γ-X1-Y") == [G, "X_1", "Y"]
    assert parse_path(["\\Gamma", "x"]) == [G, "X"]
    for bad in ({"energy_range": (4, -4)}, {"energy_range": (0, float("nan"))}, {"path": "G"}):
        with pytest.raises(ValueError):
            FigureOptions(**bad)


def test_other_files_ignore_figure_options():
    json_file = ROOT / "data" / "2dmatpedia-dft-bands" / "2dm-1.json"
    plain = read_band_file(json_file)
    given = read_band_file(json_file, figure=FigureOptions(energy_range=(-1, 1)))
    assert np.array_equal(plain.energies, given.energies)


# --- bad input: one BandDataError naming the file and what is missing ------------------------------------
def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares ``width x height`` pixels over a few hundred bytes (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 999))
                     + chunk(b"IEND", b""))
    return path


def _bad_inputs(folder: Path) -> dict[str, tuple[Path, str]]:
    """{case: (file, what the message must say)}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    rng = np.random.default_rng(0)
    photo = ndimage.gaussian_filter(rng.random((300, 400, 3)), (8, 8, 0))
    photo = (photo - photo.min()) / np.ptp(photo)
    Image.fromarray((photo * 255).astype(np.uint8)).save(folder / "photo.jpg", quality=80)
    Image.new("RGB", (400, 300), "white").save(folder / "blank.png")
    Image.new("RGB", (400, 300), (200, 30, 30)).save(folder / "red.png")
    Image.new("RGB", (60, 40), "white").save(folder / "tiny.png")
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.bar(["a", "b", "c", "d"], [3, 1, 4, 2])
    fig.savefig(folder / "bars.png")
    plt.close(fig)
    whole = (FIGURES / "2dm-1-plain.png").read_bytes()
    (folder / "truncated.png").write_bytes(whole[: len(whole) // 2])
    whole = (FIGURES / "2dm-104-q75.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (folder / "text.png").write_text("not an image")
    return {
        "photo": (folder / "photo.jpg", r"no plot frame found"),
        "blank": (folder / "blank.png", r"a blank image"),
        "one colour": (folder / "red.png", r"a blank image \(one colour\)"),
        "bar chart": (folder / "bars.png", r"no band curves across the plot frame"),
        "tiny": (folder / "tiny.png", r"60 x 40 pixels: too small"),
        "bomb above ours": (_png_header_only(folder / "big.png", 6000, 5000),
                            rf"30,000,000 pixels, above the figure reader's limit of MAX_FIGURE_PIXELS = "
                            rf"{MAX_FIGURE_PIXELS:,}"),
        "bomb above Pillow's": (_png_header_only(folder / "bomb.png", 60000, 60000),
                                rf"above the figure reader's limit of MAX_FIGURE_PIXELS = "
                                rf"{MAX_FIGURE_PIXELS:,}"),
        "truncated png": (folder / "truncated.png", r"not a readable PNG or JPEG image .*truncated"),
        "truncated jpeg": (folder / "truncated.jpg", r"not a readable PNG or JPEG image .*truncated"),
        "not an image": (folder / "text.png", r"not a readable PNG or JPEG image"),
        "no tick labels": (_figure_without_ticks(folder / "no-ticks.png"), r"pass --energy-range LO HI"),
    }


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    return _bad_inputs(tmp_path_factory.mktemp("bad-figures"))


@pytest.mark.parametrize("case", ["photo", "blank", "one colour", "bar chart", "tiny", "bomb above ours",
                                  "bomb above Pillow's", "truncated png", "truncated jpeg", "not an image",
                                  "no tick labels"])
def test_each_bad_input_is_one_error_naming_the_file(bad_inputs, case):
    path, message = bad_inputs[case]
    started = time.perf_counter()
    with pytest.raises(BandDataError, match=message) as err:
        read_band_file(path)
    assert str(err.value).startswith(f"{path}: ")
    if case.startswith("bomb"):  # refused from the header: nothing decoded
        assert time.perf_counter() - started < 1.0


# --- the command line ------------------------------------------------------------------------------------
def _elf(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "elfutils.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env={**os.environ, "COLUMNS": "200"})


@needs_ocr
def test_elf_render_writes_a_stack_from_a_figure(tmp_path, digitised):
    from elfutils.images.stack import load_image_stack

    name = "2dm-22-midgap-grid.png"
    out = _elf("render", FIGURES / name, "--out", tmp_path / "x.npz", "--no-progress")
    assert out.returncode == 0, out.stderr
    images, ids, _ = load_image_stack(tmp_path / "x.npz")
    assert ids == ["2dm-22-midgap-grid"]
    assert np.array_equal(images[0], render_band_image(digitised[name]))


@needs_ocr
def test_elf_info_shows_a_figure():
    out = _elf("info", FIGURES / "2dm-22-midgap-grid.png")
    assert out.returncode == 0, out.stderr
    assert "2dm-22-midgap-grid" in out.stdout and "Γ-K-M-Γ" in out.stdout and "VBM+0.05" in out.stdout
    # 3.42 eV: the gap of the record the figure was drawn from (2dm-22, Li2O, in the GPAW store)
    assert "gap 3.4" in out.stdout


def test_elf_info_takes_the_energy_range_and_path(tmp_path):
    path = _figure_without_ticks(tmp_path / "no-ticks.png")
    out = _elf("info", path, "--json")
    assert out.returncode != 0 and "--energy-range" in out.stderr
    out = _elf("info", path, "--json", "--energy-range", "-4", "4", "--path", "G K M G")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["path"] == "Γ-K-M-Γ"
    out = _elf("info", path, "--energy-range", "4", "-4")
    assert out.returncode == 2 and "--energy-range: energy_range must be finite with lo < hi" in out.stderr


@pytest.mark.parametrize("command", ["info", "render", "similar"])
def test_the_commands_offer_the_figure_options(command):
    out = _elf(command, "--help")
    assert "--energy-range LO HI" in out.stdout and "--path LABELS" in out.stdout

"""Band-structure images: both renderers, their agreement, the golden image and `elf render`.

Regenerate the golden image (after a deliberate change of the fast renderer) with

    ELF_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_render.py -k golden

and look at tests/golden/2dm-1.png before committing it.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from elfutils.constants import ENERGY_WINDOW_EV, IMAGE_SIZE
from elfutils.data.bands import BandStructure, Branch
from elfutils.errors import BandDataError
from elfutils.images.render import (
    LINE_WIDTH_PX,
    iou,
    load_png,
    render_band_image,
    render_many,
    save_png,
)

GOLDEN = Path(__file__).parent / "golden" / "2dm-1.png"
ENGINES = ("fast", "matplotlib")
IOU_BAR = 0.9
REPEATED_DISTANCES = np.r_[np.arange(11), np.arange(10, 21)]  # k-point 10 repeated as 11 (2Dmatpedia style)


def make_bs(energies, branches, distances=None, material_id="synthetic", efermi=0.0) -> BandStructure:
    """A synthetic record: energies (ns, nb, nk) or (nb, nk) relative to E_F = efermi."""
    energies = np.asarray(energies, dtype=float)
    nk = energies.shape[-1]
    if distances is None:
        distances = np.arange(nk, dtype=float)
    kpoints = np.zeros((nk, 3))
    kpoints[:, 0] = np.asarray(distances) / max(float(np.max(distances)), 1.0)
    return BandStructure(material_id=material_id, formula="X", kpoints=kpoints, distances=distances,
                         branches=tuple(Branch(*b) for b in branches), energies=energies + efermi,
                         efermi=efermi, source=f"{material_id}.json")  # fmt: skip


def components(img) -> int:
    """Number of 8-connected components of line pixels."""
    return ndimage.label(img, structure=np.ones((3, 3)))[1]


# --- basic contract -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_image_is_binary_uint8_of_the_paper_size(fixture_records, engine):
    img = render_band_image(fixture_records["2dm-1"], engine=engine)
    assert img.dtype == np.uint8 and img.shape == (IMAGE_SIZE, IMAGE_SIZE)
    assert set(np.unique(img)) == {0, 1}
    assert 0.01 < img.mean() < 0.3  # lines, not an empty or a filled image


def test_defaults_are_the_papers():
    assert IMAGE_SIZE == 224 and ENERGY_WINDOW_EV == 4.0


@pytest.mark.parametrize("engine", ENGINES)
def test_a_flat_band_lands_on_the_right_row_with_the_chosen_width(engine):
    # E = +2 eV with window 4 -> row coordinate (4 - 2) / 8 * 224 = 56 (a pixel boundary): rows 55..56 (2 px)
    bs = make_bs([[2.0] * 11], [(0, 10, "A", "B")])
    img = render_band_image(bs, engine=engine)
    rows = np.flatnonzero(img.any(axis=1))
    assert 55 in rows and 56 in rows and len(rows) <= 3
    assert img[:, 112].sum() in (2, 3)  # width ~ LINE_WIDTH_PX
    assert img.any(axis=0).all()  # spans the whole width: no margins


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("line_width", [1.5, LINE_WIDTH_PX])
def test_steep_and_thin_bands_stay_connected(engine, line_width):
    # one band zigzagging across almost the whole window in single k-steps, one nearly flat
    zig = np.where(np.arange(41) % 2 == 0, -3.9, 3.9)
    flat = 0.3 + 0.01 * np.sin(np.arange(41))
    for band in (zig, flat, np.linspace(-3.95, 3.95, 41)):
        img = render_band_image(make_bs([band], [(0, 40, "A", "B")]), engine=engine, line_width=line_width)
        assert components(img) == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_every_fixture_band_is_one_connected_piece(fixture_records, engine):
    bs = fixture_records["2dm-21"]  # spin-polarised, 48 bands in the window
    rel = bs.relative_energies().reshape(-1, bs.nkpoints)
    for band in rel:
        if band.min() > -3.5 and band.max() < 3.5:  # wholly inside: cannot be cut by the window edge
            one = make_bs([band], [(b.start, b.end, b.start_label, b.end_label) for b in bs.branches])
            assert components(render_band_image(one, engine=engine)) == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_a_path_jump_is_not_drawn_across(engine):
    # A-B | C-D: +2 eV on the first branch, -2 eV on the second; nothing may bridge them
    e = np.r_[np.full(11, 2.0), np.full(11, -2.0)]
    bs = make_bs([e], [(0, 10, "A", "B"), (11, 21, "C", "D")], distances=REPEATED_DISTANCES)
    assert bs.path_string() == "A-B|C-D"
    for x_axis in ("index", "distance"):
        img = render_band_image(bs, engine=engine, x_axis=x_axis)
        middle = img[70:154]  # rows of -1.5..+1.5 eV
        assert not middle.any(), x_axis
        assert components(img) == 2


def test_a_repeated_kpoint_at_a_continuous_boundary_leaves_no_artifact():
    # A-B-C with B repeated (2Dmatpedia style) draws exactly like one branch A-C without the repeat
    band = 2.5 * np.cos(np.linspace(0, 3 * np.pi, 21))
    repeated = np.r_[band[:11], band[10:]]
    two = make_bs([repeated], [(0, 10, "A", "B"), (11, 21, "B", "C")], distances=REPEATED_DISTANCES)
    one = make_bs([band], [(0, 20, "A", "C")])
    for x_axis in ("index", "distance"):
        a = render_band_image(two, x_axis=x_axis)
        b = render_band_image(one, x_axis=x_axis)
        assert iou(a, b) >= 0.99, x_axis
        assert components(a) == 1


def test_the_repeated_point_with_different_energies_is_not_joined_by_a_vertical_stub():
    # the duplicated point carries different energies (band reordering at the boundary): no vertical line at B
    e = np.r_[np.full(11, 1.0), np.full(11, -1.0)]
    bs = make_bs([e], [(0, 10, "A", "B"), (11, 21, "B", "C")])
    img = render_band_image(bs)
    assert not img[100:124].any()  # -0.43..+0.43 eV: nothing between the two levels


def test_index_axis_gives_every_branch_equal_width_distance_axis_does_not():
    # branch 1 is 3x longer in k than branch 2; a step at the boundary marks where it lands
    e = np.r_[np.full(11, 1.0), np.full(11, -1.0)]
    dist = np.r_[np.linspace(0, 3, 11), np.linspace(3, 4, 11)]
    bs = make_bs([e], [(0, 10, "A", "B"), (11, 21, "B", "C")], distances=dist)
    upper_row = round((4 - 1.0) / 8 * 224)
    idx = np.flatnonzero(render_band_image(bs, x_axis="index")[upper_row])
    dst = np.flatnonzero(render_band_image(bs, x_axis="distance")[upper_row])
    assert abs(idx.max() - 112) <= 2  # ends in the middle
    assert abs(dst.max() - 168) <= 2  # ends at 3/4 of the width


@pytest.mark.parametrize("engine", ENGINES)
def test_both_spin_channels_are_drawn(engine):
    up = [np.full(11, 1.0)]
    down = [np.full(11, -1.0)]
    both = render_band_image(make_bs([up, down], [(0, 10, "A", "B")]), engine=engine)
    only_up = render_band_image(make_bs([up], [(0, 10, "A", "B")]), engine=engine)
    only_down = render_band_image(make_bs([down], [(0, 10, "A", "B")]), engine=engine)
    assert np.array_equal(both, only_up | only_down)
    assert only_up.any() and only_down.any()


def test_spin_polarised_fixture_draws_more_than_its_up_channel(fixture_records):
    bs = fixture_records["2dm-25"]
    assert bs.is_spin_polarized
    up = BandStructure(bs.material_id, bs.formula, bs.kpoints, bs.distances, bs.branches, bs.energies[:1],
                       bs.efermi, bs.source)  # fmt: skip
    assert render_band_image(bs).sum() > render_band_image(up).sum()


@pytest.mark.parametrize("engine", ENGINES)
def test_bands_outside_the_window_are_skipped(engine):
    inside = np.full(11, 0.5)
    img = render_band_image(make_bs([inside], [(0, 10, "A", "B")]), engine=engine)
    with_far = render_band_image(make_bs([inside, np.full(11, -9.0), np.full(11, 7.0)], [(0, 10, "A", "B")]),
                                 engine=engine)  # fmt: skip
    assert np.array_equal(img, with_far)


@pytest.mark.parametrize("engine", ENGINES)
def test_no_band_in_the_window_raises_naming_the_source(engine):
    bs = make_bs([np.full(11, -9.0), np.full(11, 6.0)], [(0, 10, "A", "B")], material_id="2dm-999")
    msg = r"2dm-999\.json: field 'bands': no band inside the ±4 eV window"
    with pytest.raises(BandDataError, match=msg) as e:
        render_band_image(bs, engine=engine)
    assert e.value.field == "bands" and e.value.source == "2dm-999.json"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"x_axis": "energy"}, r"^x_axis must be one of \('index', 'distance'\), not 'energy'$"),
        ({"engine": "opengl"}, r"^engine must be one of \('fast', 'matplotlib'\), not 'opengl'$"),
        ({"line_width": 0}, r"^line_width must be positive, not 0$"),
        ({"window": -1}, r"^window must be positive, not -1$"),
        ({"size": 2}, r"^size must be at least 8 pixels, not 2$"),
    ],
)
def test_bad_arguments_are_rejected(fixture_records, kwargs, message):
    with pytest.raises(ValueError, match=message):
        render_band_image(fixture_records["2dm-1"], **kwargs)


def test_other_sizes_and_windows(fixture_records):
    bs = fixture_records["2dm-1"]
    assert render_band_image(bs, size=64).shape == (64, 64)
    assert render_band_image(bs, window=1.0).sum() < render_band_image(bs, window=4.0).sum()


# --- the two renderers agree on the real data ---------------------------------------------------------------
@pytest.mark.parametrize("x_axis", ["index", "distance"])
def test_fast_and_matplotlib_agree_on_every_fixture(fixture_records, x_axis):
    scores = {}
    for mid, bs in fixture_records.items():
        scores[mid] = iou(render_band_image(bs, x_axis=x_axis, engine="fast"),
                          render_band_image(bs, x_axis=x_axis, engine="matplotlib"))  # fmt: skip
    print(x_axis, {k: round(v, 3) for k, v in sorted(scores.items())})
    assert len(scores) == 12
    assert min(scores.values()) >= IOU_BAR, scores


def test_render_many_returns_a_stack_in_order(fixture_records):
    records = [fixture_records[m] for m in ("2dm-1", "2dm-21", "2dm-4")]
    images, ids, formulas = render_many(records, progress=False)
    assert images.shape == (3, IMAGE_SIZE, IMAGE_SIZE) and images.dtype == np.uint8
    assert ids == ["2dm-1", "2dm-21", "2dm-4"] and formulas[0] == "IrF2"
    assert np.array_equal(images[1], render_band_image(records[1]))


def test_render_many_raises_or_skips_bad_records(fixture_records):
    bad = make_bs([np.full(11, -9.0)], [(0, 10, "A", "B")], material_id="2dm-bad")
    records = [fixture_records["2dm-1"], bad]
    with pytest.raises(BandDataError, match=r"^2dm-bad\.json: field 'bands': no band inside the ±4 eV"):
        render_many(records, progress=False)
    skipped = []
    images, ids, _ = render_many(records, progress=False, skipped=skipped)
    assert ids == ["2dm-1"] and len(images) == 1
    assert skipped[0][0] == "2dm-bad" and "no band inside" in skipped[0][1]


# --- golden image -------------------------------------------------------------------------------------------
def test_golden_image_2dm1(fixture_records):
    img = render_band_image(fixture_records["2dm-1"])
    if os.environ.get("ELF_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        save_png(img, GOLDEN)
    assert GOLDEN.exists(), "no golden image: run with ELF_UPDATE_GOLDEN=1 once"
    golden = load_png(GOLDEN)
    assert golden.shape == img.shape
    assert np.array_equal(img, golden) or iou(img, golden) >= 0.99


def test_png_round_trip(tmp_path, fixture_records):
    img = render_band_image(fixture_records["2dm-15"])
    save_png(img, tmp_path / "x.png")
    assert np.array_equal(load_png(tmp_path / "x.png"), img)


# --- `elf render` end to end --------------------------------------------------------------------------------
def test_elf_render_writes_a_stack_and_skips_bad_inputs(tmp_path, fixture_files):
    from elfutils.cli import main
    from elfutils.images.stack import load_image_stack

    good = [p for p in fixture_files if p.stem in ("2dm-1", "2dm-15")]
    bad = tmp_path / "2dm-0.json"
    bad.write_text('{"bands": {"1": [[0.0, 1.0]]}, "efermi": ')  # truncated JSON
    out = tmp_path / "stack.npz"
    code = main(["render", *map(str, good), str(bad), "--out", str(out), "--png-dir", str(tmp_path / "png"),
                 "--no-progress"])  # fmt: skip
    assert code == 0
    images, ids, formulas = load_image_stack(out)
    assert ids == ["2dm-1", "2dm-15"] and formulas == ["IrF2", "MoF2"]
    assert images.shape == (2, IMAGE_SIZE, IMAGE_SIZE)
    assert np.array_equal(images[0], render_band_image(load_first(good[0])))
    with open(tmp_path / "stack.skipped.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["item"] for r in rows] == [str(bad)]
    assert "not valid JSON" in rows[0]["reason"]
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == ["2dm-1.png", "2dm-15.png"]


def load_first(path):
    from elfutils.data.readers import read_band_file

    return read_band_file(path)


def test_elf_render_with_only_bad_inputs_fails(tmp_path, capsys):
    from elfutils.cli import main

    bad = tmp_path / "broken.json"
    bad.write_text("[1, 2")
    far = tmp_path / "far.txt"
    far.write_text("hello")
    out = tmp_path / "stack.npz"
    missing = tmp_path / "missing.json"
    code = main(["render", str(bad), str(far), str(missing), "--out", str(out), "--no-progress"])
    assert code != 0
    assert not out.exists()
    err = capsys.readouterr().err
    assert "broken.json" in err and "unknown file type" in err and "no such file" in err
    assert (tmp_path / "stack.skipped.csv").exists()


def test_elf_render_reads_stores_and_the_distance_axis(tmp_path, fixture_records):
    from elfutils.cli import main
    from elfutils.data.store import BandStore
    from elfutils.images.stack import load_image_stack

    store = BandStore(tmp_path / "some.elfstore")
    store.append([fixture_records["2dm-1"], fixture_records["2dm-25"]])
    out = tmp_path / "s.npz"
    assert main(["render", str(store.path), "--out", str(out), "--x-axis", "distance", "--no-progress"]) == 0
    images, ids, _ = load_image_stack(out)
    assert ids == ["2dm-1", "2dm-25"]
    direct = render_band_image(fixture_records["2dm-25"], x_axis="distance")
    assert iou(images[1], direct) >= 0.98  # the store keeps energies to 0.004 eV

"""The figure study's parts (issue #33): figures drawn by other people's plotting code are read back, a figure
showing less than the model's window is compared in the window it shares with the references, and the study's
table counts what it says it counts."""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from elfutils.analysis.figure_study import fidelity, own_rank, summarise, wilson, window_rows
from elfutils.analysis.figure_window import (
    BEYOND_EV,
    crop_to_window,
    figure_window,
    group_by_window,
)
from elfutils.data.store import BandStore
from elfutils.errors import BandDataError
from elfutils.images.settings import PAPER_RENDER

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "data" / "bands" / "gpaw-pbe.elfstore"
needs_ocr = pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs Tesseract: make ocr")


@pytest.fixture(scope="module")
def store():
    return BandStore(STORE)


def _as_figure(record, lo, hi):
    """The record as if read from a figure showing lo..hi eV around its zero."""
    meta = dict(record.metadata, figure_energy_range=(lo + record.efermi, hi + record.efermi))
    return dataclasses.replace(record, metadata=meta)


def test_the_shared_window_is_rounded_inward_and_forgives_a_row(store):
    bs = store.get("2dm-34")
    assert figure_window(bs, 4.0) is None  # not a figure
    assert figure_window(_as_figure(bs, -4.01, 3.98), 4.0) is None  # covers ±4 within a row
    assert figure_window(_as_figure(bs, -2.0, 2.0), 4.0) == (-2.0, 2.0)
    assert figure_window(_as_figure(bs, -1.95, 2.05), 4.0) == (-2.0, 2.0)  # a VBM zero 0.05 eV below ours
    assert figure_window(_as_figure(bs, -2.7, 5.3), 4.0) == (-2.5, 4.0)  # a zero drawn mid-gap
    assert figure_window(_as_figure(bs, -6.0, 6.0), 4.0) is None
    with pytest.raises(BandDataError, match=r"less than 1\.0 eV"):
        figure_window(_as_figure(bs, -0.4, 0.4), 4.0)


def test_cropping_moves_what_a_figure_cannot_show_beyond_its_edge(store):
    bs = store.get("2dm-34")
    cropped = crop_to_window(bs, (-2.0, 1.5)).relative_energies()
    rel = bs.relative_energies()
    inside = (rel >= -2.0) & (rel <= 1.5)
    assert np.allclose(cropped[inside], rel[inside])
    assert np.allclose(cropped[rel > 1.5], 1.5 + BEYOND_EV)
    assert np.allclose(cropped[rel < -2.0], -2.0 - BEYOND_EV)
    image, full = PAPER_RENDER.render(crop_to_window(bs, (-2.0, 1.5))), PAPER_RENDER.render(bs)
    rows = window_rows(PAPER_RENDER, (-1.9, 1.4))  # away from the edges, where crossing lines differ
    assert np.array_equal(image[rows], full[rows])
    outside = ~window_rows(PAPER_RENDER, (-2.2, 1.7))
    # outside, only the steep strokes of bands leaving the window remain (as in a digitised figure)
    assert image[outside].sum() < 0.5 * full[outside].sum()  # 2dm-34: 30 %


def test_figures_are_grouped_by_their_shared_window(store):
    a, b = store.get("2dm-34"), store.get("2dm-22")
    groups = group_by_window([a, _as_figure(b, -2, 2), _as_figure(a, -2, 2), _as_figure(b, -4, 4)], 4.0)
    assert groups == {None: [0, 3], (-2.0, 2.0): [1, 2]}


@needs_ocr
def test_a_narrow_figure_lies_closer_to_its_material_in_the_shared_window(store):
    """The committed ±2 eV fixture of 2dm-34 among 60 materials of the embedded store: compared in the
    shared window, its own entry is first and relatively closer (its distance over the median distance to
    the others) than when the rows the figure does not show are drawn empty in a ±4 eV image."""
    from elfutils.analysis.cluster import minkowski_distances
    from elfutils.data.readers import read_band_file
    from elfutils.nn.fingerprinter import load_fingerprinter

    model = load_fingerprinter("elf-resnet18")
    figure = read_band_file(ROOT / "data" / "figure-fixtures" / "2dm-34-2ev.png")
    window = figure_window(figure, model.settings.window_ev)
    assert window == (-2.0, 2.0)
    ids = list(store.ids()[:60]) + ([] if "2dm-34" in store.ids()[:60] else ["2dm-34"])
    refs = [store.get(i) for i in ids]
    own = ids.index("2dm-34")

    def relative_distance(query, references):
        d = minkowski_distances(query.astype(float), references.astype(float))[0]
        return d[own] / np.median(np.delete(d, own)), int((d < d[own]).sum()) + 1

    shared, shared_rank = relative_distance(model.fingerprints([crop_to_window(figure, window)]),
                                            model.fingerprints([crop_to_window(r, window) for r in refs]))
    naive, _ = relative_distance(model.fingerprints([figure]), model.fingerprints(refs))
    print(f"2dm-34: {shared:.3f} of the median distance in the shared window, {naive:.3f} drawn empty")
    assert shared_rank == 1 and shared < naive


STYLE_RECORD = "2dm-22"  # a gapped material: the styles' zeros (VBM, mid-gap, ours) differ


@needs_ocr
@pytest.mark.parametrize("style", ["matplotlib, black lines", "matplotlib, spins, legend, E_F line",
                                   "matplotlib, grid, title, zero mid-gap",
                                   "matplotlib, wide, thick lines, JPEG q75", "pymatgen BSPlotter",
                                   "ASE BandStructure.plot", "sumo SBSPlotter"])
def test_each_plotting_librarys_figure_is_read_back(store, style, tmp_path):
    """Drawn at ±3 eV by the library as its documentation shows: the axis read within 0.05 eV, the zero
    put back on the project's, and the curves within 2 px of the record's own."""
    needs = {"sumo": "sumo", "ASE": "ase"}.get(style.split()[0])
    if needs and importlib.util.find_spec(needs) is None:
        pytest.skip(f"{needs} is not installed (make test installs it)")
    from elfutils.analysis.figure_styles import draw_figure, figure_suffix
    from elfutils.data.readers import read_band_file

    truth = store.get(STYLE_RECORD)
    out = tmp_path / ("figure" + figure_suffix(style))
    drawn = draw_figure(truth, style, (-3.0, 3.0), out)
    record = read_band_file(out)
    lo, hi = record.metadata["figure_energy_range"]
    assert abs(lo + 3.0) < 0.05 and abs(hi - 3.0) < 0.05
    assert abs(record.efermi + drawn.zero_shift_ev) < 0.05  # the project's zero, in the figure's energies
    window = figure_window(record, 4.0)
    measured = fidelity(PAPER_RENDER.render(crop_to_window(record, window)),
                        PAPER_RENDER.render(crop_to_window(truth, window)), window_rows(PAPER_RENDER, window))
    print(style, measured)
    assert measured["digitised_near_true"] > 0.9 and measured["true_near_digitised"] > 0.9


def test_fidelity_and_rank_count_what_they_say():
    a = np.zeros((224, 224), np.uint8)
    a[100:102, :] = 1
    b = np.roll(a, 1, axis=0)  # one row lower: half the pixels shared, all within 2 px
    m = fidelity(a, b, np.ones(224, bool))
    assert m["iou"] == pytest.approx(1 / 3) and m["digitised_near_true"] == m["true_near_digitised"] == 1.0
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    ids = np.array(["a", "b", "c"])
    assert own_rank(np.array([1.9, 1.9]), X, ids, "c") == 1
    assert own_rank(np.array([1.4, 1.4]), X, ids, "c") == 2
    assert own_rank(np.array([1.4, 1.4]), X, ids, "z") is None


def test_the_summary_counts_an_unread_figure_as_a_miss_and_leaves_out_materials_not_held():
    rows = pd.DataFrame({
        "set": "atlas", "style": "s", "window": 4.0,
        "read": [True, True, True, False, True], "axis_read": [True, True, False, False, True],
        "axis_error_ev": [0.01, 0.02, 0.0, np.nan, 0.03], "iou": 0.5, "digitised_near_true": 1.0,
        "true_near_digitised": 1.0, "rank": [1, 5, 20, np.nan, 1],
        "in_dataset": [True, True, True, True, False]})
    table = summarise(rows)
    row = table.iloc[0]
    assert row["n"] == 5 and row["n_ranked"] == 4 and row["axis_read"] == pytest.approx(3 / 5)
    assert row["recall_at_1"] == pytest.approx(1 / 4) and row["recall_at_10"] == pytest.approx(2 / 4)
    assert row["recall_at_10_lo"] < 0.5 < row["recall_at_10_hi"]
    lo, hi = wilson(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)


@needs_ocr
def test_elf_similar_searches_a_narrow_figure_in_its_shared_window(store, monkeypatch, capsys):
    """`elf similar --profile` with a ±2 eV figure and a ±4 eV one: the narrow one is searched among the
    profile's materials cropped to -2..+2 eV (here 40 of the embedded store, standing in for a profile), the
    other as usual; the rows keep the order the files were given, and a note says which was cropped."""
    from elfutils.analysis.fingerprints import make_table
    from elfutils.cli import main
    from elfutils.commands import export_fingerprints
    from elfutils.commands import similar as similar_command
    from elfutils.nn.checkpoint import resolve_model_path
    from elfutils.nn.fingerprinter import load_fingerprinter

    model = load_fingerprinter("elf-resnet18")
    ids = list(dict.fromkeys([*store.ids()[:38], "2dm-34", "2dm-104"]))
    refs = [store.get(i) for i in ids]
    full = make_table(ids, [r.formula for r in refs], model.fingerprints(refs).astype(float))
    asked = []

    def windowed(profile, window, model_=None):
        asked.append(window)
        X = model.fingerprints([crop_to_window(r, window) for r in refs]).astype(float)
        return make_table(ids, [r.formula for r in refs], X)

    monkeypatch.setattr(similar_command, "_profile_fingerprints",
                        lambda profile, m: (full, resolve_model_path("elf-resnet18")))
    monkeypatch.setattr(export_fingerprints, "load_windowed_fingerprints", windowed)
    narrow = str(ROOT / "data" / "figure-fixtures" / "2dm-34-2ev.png")
    wide = str(ROOT / "data" / "figure-fixtures" / "2dm-104-q75.jpg")
    assert main(["similar", narrow, wide, "--k", "3", "--no-cluster"]) == 0
    out = capsys.readouterr().out
    assert asked == [(-2.0, 2.0)]
    assert "compared in the window it shares with the model's images, -2.0..+2.0 eV" in out
    rows = [r for r in map(str.split, out.splitlines()) if r and r[0] in ("2dm-34-2ev", "2dm-104-q75")]
    assert [r[0] for r in rows] == ["2dm-34-2ev"] * 3 + ["2dm-104-q75"] * 3  # the order given
    assert rows[0][3] == "2dm-34"  # rank 1 of the narrow figure: its own material

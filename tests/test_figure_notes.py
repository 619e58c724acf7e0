"""Band thumbnails keep their energy axis and zero line (issue #32 items 6-7): the notes a figure writes into
its PNG (:mod:`elfutils.book.figure_notes`), the checker's ``thumbnail-axes`` rule that reads them from a
built page, and the notebook runner that makes every chapter's figures carry them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from elfutils.book import figure_notes
from elfutils.book.html_check import check_book
from elfutils.images.plot import draw_band_image, mark_picture


@pytest.fixture
def band():
    image = np.zeros((64, 64), dtype=np.uint8)
    image[20, :] = image[40, 10:50] = 1
    return image


def notes_of(fig) -> list[dict]:
    fig.canvas.draw()  # tick labels are set when drawn, as when the figure is printed
    try:
        return figure_notes.image_notes(fig)
    finally:
        plt.close(fig)


def test_each_image_is_noted_with_its_axis_and_zero_line(band):
    fig, axes = plt.subplots(1, 5, sharey=True)
    draw_band_image(axes[0], band, 4.0, "first")
    draw_band_image(axes[1], band, 4.0, "inner", ylabel=False)  # its tick labels are the shared axis's
    axes[1].tick_params(axis="y", labelleft=False)
    axes[2].imshow(band)  # drawn bare
    mark_picture(axes[3].imshow(np.ones((80, 120, 3))))
    axes[4].imshow(np.eye(7))  # a map of numbers, not a picture
    notes = notes_of(fig)
    assert [(n["title"], n["kind"]) for n in notes] == [
        ("first", "band"), ("inner", "band"), ("", "unmarked"), ("", "picture")]
    assert [n["zero_line"] for n in notes[:2]] == [True, True] and notes[1]["energy_axis"]
    assert figure_notes.problems(notes) == [
        "an untitled image is neither drawn as a band image (draw_band_image) nor marked as a picture"]


def test_a_band_image_that_lost_its_axis_or_zero_line_is_a_problem(band):
    fig, axes = plt.subplots(1, 2)
    draw_band_image(axes[0], band, 4.0, "no ticks")
    axes[0].set_yticks([])
    draw_band_image(axes[1], band, 4.0, "no zero")
    axes[1].lines[0].remove()
    assert figure_notes.problems(notes_of(fig)) == ["band image 'no ticks' without its energy axis",
                                                   "band image 'no zero' without its zero line"]


def test_the_png_carries_the_notes(band, tmp_path):
    fig, ax = plt.subplots()
    draw_band_image(ax, band, 2.0, "x")
    data = figure_notes.figure_png(fig)
    plt.close(fig)
    (tmp_path / "f.png").write_bytes(data)
    assert figure_notes.read_notes(tmp_path / "f.png") == [
        {"title": "x", "kind": "band", "energy_axis": True, "zero_line": True}]
    fig, ax = plt.subplots()
    ax.plot([0, 1])  # no image: nothing to note
    (tmp_path / "g.png").write_bytes(figure_notes.figure_png(fig))
    plt.close(fig)
    assert figure_notes.read_notes(tmp_path / "g.png") is None


def page_with_image(src: str) -> str:
    return ("<html><body><main><article class='bd-article' role='main'><section><h1>C</h1>"
            f"<div class='cell_output'><img alt='' src='{src}'></div>"
            "</section></article></main></body></html>")


def test_the_checker_flags_a_thumbnail_without_axes_on_a_built_page(band, tmp_path):
    html = tmp_path / "html"
    (html / "_images").mkdir(parents=True)
    (html / "book").mkdir()
    fig, axes = plt.subplots(1, 2)
    draw_band_image(axes[0], band, 4.0, "kept")
    draw_band_image(axes[1], band, 4.0, "bare")
    axes[1].set_yticks([])
    (html / "_images" / "bad.png").write_bytes(figure_notes.figure_png(fig))
    plt.close(fig)
    fig, ax = plt.subplots()
    draw_band_image(ax, band, 4.0, "fine")
    (html / "_images" / "good.png").write_bytes(figure_notes.figure_png(fig))
    plt.close(fig)
    (html / "book" / "a.html").write_text(page_with_image("../_images/bad.png"))
    (html / "book" / "b.html").write_text(page_with_image("../_images/good.png"))
    (html / "book" / "c.html").write_text(page_with_image("../_images/missing.png"))
    found = [(p.page, p.kind, p.excerpt.split(": ", 1)[1]) for p in check_book(html)]
    assert found == [("book/a.html", "thumbnail-axes", "band image 'bare' without its energy axis")]


def test_executed_chapters_write_the_notes(tmp_path):
    """The runner's hidden first cell makes the kernel's figures carry notes (a bare image is caught)."""
    import json

    from elfutils.book import notebooks

    source = tmp_path / "chapter.py"
    source.write_text("# %% tags=['parameters']\nprofile = 'smoke'\n\n# %%\nimport matplotlib.pyplot as plt\n"
                      "import numpy as np\nplt.imshow(np.eye(64))\nplt.show()\n")
    executed = notebooks.execute(source, tmp_path / "chapter.ipynb", profile="smoke")
    nb = json.loads(executed.read_text())
    assert nb["cells"][0]["metadata"]["tags"] == ["remove-cell"]
    assert nb["cells"][0]["outputs"] == []
    pngs = [o["data"]["image/png"] for c in nb["cells"] for o in c.get("outputs", [])
            if "image/png" in o.get("data", {})]
    assert len(pngs) == 1
    import base64
    import io

    from PIL import Image

    notes = json.loads(Image.open(io.BytesIO(base64.b64decode(pngs[0]))).text[figure_notes.NOTE_KEY])
    assert [n["kind"] for n in notes] == ["unmarked"]

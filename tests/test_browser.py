"""The built book in a real browser: headless Chromium (Debian ``chromium``; ``make browser`` installs it).

Each chapter of ``_toc.yml`` is loaded from a localhost server with every other host unreachable, and must
render text without console errors, uncaught exceptions or failed requests, with every image loaded; a
full-page screenshot of each goes to ``screenshots/``. The internal link check runs over the same build.

Which build: ``ELF_BOOK_HTML`` if set; else ``_build/html`` when it holds every TOC page (what ``make book``
made); else the book is built here, in the smoke profile, in a temporary folder (minutes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from elfutils.book import browser, linkcheck, notebooks, sphinx_ext

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "screenshots"
PAGES = [p + ".html" for p in linkcheck.toc_pages()]


def _has_pages(html: Path) -> bool:
    return all((html / p).is_file() for p in PAGES)


def _jupyter_book() -> list[str]:
    exe = Path(sys.executable).parent / "jupyter-book"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "jupyter_book.cli.main"]


def build_smoke_book(dest: Path) -> Path:
    """Execute every TOC notebook in the smoke profile and build the book, in a copy under ``dest``."""
    shutil.copytree(ROOT / "book", dest / "book", ignore=shutil.ignore_patterns("_executed", "*.ipynb"))
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, dest / name)
    for source in linkcheck.toc_sources():
        notebooks.execute(source, dest / "book" / "_executed" / f"{source.stem}.ipynb", profile="smoke")
    proc = subprocess.run([*_jupyter_book(), "build", str(dest), "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"the book does not build:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    return dest / "_build" / "html"


@pytest.fixture(scope="session")
def html_dir(tmp_path_factory) -> Path:
    if os.environ.get("ELF_BOOK_HTML"):
        html = Path(os.environ["ELF_BOOK_HTML"])
        assert _has_pages(html), f"ELF_BOOK_HTML={html} lacks pages of _toc.yml"
        return html
    html = ROOT / "_build" / "html"
    if _has_pages(html):
        return html
    return build_smoke_book(tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="session")
def chromium():
    found = browser.find_chromium()
    if found is None:
        pytest.fail("headless Chromium is needed for the rendered-book checks: run `make browser` "
                    "(apt-get install chromium) or set ELF_CHROMIUM")
    return found


@pytest.fixture(scope="session")
def loaded(html_dir, chromium) -> dict[str, dict]:
    SCREENSHOTS.mkdir(exist_ok=True)
    return {r["page"]: r for r in browser.browse(html_dir, PAGES, SCREENSHOTS)}


@pytest.mark.parametrize("page", PAGES)
def test_chapter_renders_without_console_errors(page, loaded):
    result = loaded[page]
    assert result["title"], f"{page} has no title"
    problems = [p for p in result["problems"] if not p.startswith("broken image")]
    assert not problems, f"{page}:\n" + "\n".join(problems)


@pytest.mark.parametrize("page", PAGES)
def test_chapter_images_load(page, loaded):
    broken = [p for p in loaded[page]["problems"] if p.startswith("broken image")]
    assert not broken, f"{page}:\n" + "\n".join(broken)
    if "/_executed/" in page:
        assert loaded[page]["images"] >= 1, f"{page} shows no figure"


def test_screenshots_saved(loaded):
    for page, result in loaded.items():
        shot = Path(result["screenshot"])
        assert shot.is_file() and shot.parent == SCREENSHOTS, page
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000, page


def test_internal_links(html_dir):
    broken = linkcheck.check_links(html_dir)
    assert not broken, "\n".join(broken)


def test_checker_catches_what_it_should(tmp_path, chromium):
    """A page with each kind of fault: the checker must report every one (no silent pass)."""
    (tmp_path / "img.png").write_bytes(b"not a png")
    (tmp_path / "bad.html").write_text(
        "<html><head><title>bad</title><script src='https://cdn.example.org/lib.js'></script></head>"
        "<body><main><p>text</p><img src='img.png'><img src='missing.png'></main>"
        "<script>console.error('boom'); undefinedFunction();</script></body></html>")
    (tmp_path / "good.html").write_text(
        "<html><head><title>good</title><link rel='icon' href='data:,'></head>"
        "<body><main><p>fine</p></main></body></html>")
    pages = browser.browse(tmp_path, ["bad.html", "good.html"], tmp_path / "shots")
    results = {r["page"]: r for r in pages}
    bad = "\n".join(results["bad.html"]["problems"])
    assert "console.error: boom" in bad
    assert "undefinedFunction" in bad
    assert "broken image" in bad and "missing.png" in bad and "img.png" in bad
    assert "cdn.example.org" in bad or "ERR_NAME_NOT_RESOLVED" in bad, "other hosts must be unreachable"
    assert results["good.html"]["problems"] == []
    assert (tmp_path / "shots" / "good.png").is_file()


def test_interactive_figure_renders_without_a_cdn(tmp_path, chromium):
    """sphinx_ext.interactive() output + the local plotly.js the Sphinx extension adds: a live plot."""
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs

    fig = go.Figure(go.Scatter(x=[0, 1, 2], y=[1, 0, 1], mode="markers", text=["a", "b", "c"]))
    body = sphinx_ext.interactive(fig, height=300).data
    assert "cdn" not in body.lower() and "plotly-graph-div" in body
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / sphinx_ext.PLOTLY_JS).write_text(get_plotlyjs())
    (tmp_path / "p.html").write_text(
        f"<html><head><title>p</title><link rel='icon' href='data:,'>"
        f"<script src='_static/{sphinx_ext.PLOTLY_JS}'></script></head>"
        f"<body><main>{body}</main></body></html>")
    (result,) = browser.browse(tmp_path, ["p.html"], None)
    assert result["problems"] == [] and result["plots"] == 1


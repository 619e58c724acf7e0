"""The built book in a real browser: headless Chromium driven by Selenium through chromedriver (Debian
``chromium`` and ``chromium-driver``; ``make browser`` installs them).

Each chapter of ``_toc.yml`` is loaded from a localhost server with every other host unreachable, and must
render text without console errors, uncaught exceptions or failed requests, with every image loaded; a
full-page screenshot of each goes to ``screenshots/``. The internal link check runs over the same build.

Which build: ``ELF_BOOK_HTML`` if set (whoever sets it vouches for that build); else ``_build/html`` when
it is a build of the current sources (:func:`stale_reason`: every TOC page there, every notebook executed
from the current source, elfutils and data, and every page newer than what it was made from -- what
``make book`` leaves); else the book is built here from the current sources, in the smoke profile, in a
temporary folder (minutes). A stale ``_build/html`` is never what gets checked.

The test of :func:`stale_reason` itself needs neither a browser nor a build, so it carries no ``browser``
marker and runs in ``make test-fast``; so do those of how ``browse`` finds chromedriver and reads its logs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from elfutils.book import browser, linkcheck, notebooks, plots, sphinx_ext
from elfutils.errors import NotebookError

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


def stale_reason(html: Path, root: Path = ROOT) -> str | None:
    """Why ``html`` is not a build of the book's current sources under ``root`` (None when it is one).

    Current means: every page of ``_toc.yml`` is there; every executed notebook records the signature of the
    current source, elfutils and data (:func:`elfutils.book.notebooks.is_up_to_date`, for the profile it was
    executed in); and every page is newer than its input (the executed notebook, or the Markdown page) and
    than the files every page depends on (``_config.yml``, ``_toc.yml``, ``book/*.bib``, ``book/_static``).
    """
    import nbformat

    pages = linkcheck.toc_pages(root / "_toc.yml")
    missing = [p for p in pages if not (html / f"{p}.html").is_file()]
    if missing:
        more = f" and {len(missing) - 1} more pages" if missing[1:] else ""
        return f"{html} lacks {missing[0]}.html{more}"
    shared = [root / "_config.yml", root / "_toc.yml", *(root / "book").glob("*.bib"),
              *(f for f in (root / "book" / "_static").rglob("*") if f.is_file())]
    for page in pages:
        if "/_executed/" in f"/{page}":
            executed, source = root / f"{page}.ipynb", root / "book" / f"{Path(page).name}.py"
            if not executed.is_file():
                return f"{executed.relative_to(root)} is missing"
            recorded = nbformat.read(str(executed), as_version=4).metadata.get("elf", {})
            signature = notebooks.execution_signature(source, recorded.get("profile", ""))
            if not notebooks.is_up_to_date(executed, signature):
                changed = ", ".join(k for k, v in signature.items() if recorded.get(k) != v)
                return f"{executed.relative_to(root)} was executed from another {changed} than the current"
            inputs = [executed]
        else:
            inputs = [f for f in (root / page).parent.glob(f"{Path(page).name}.*")
                      if f.suffix in (".md", ".ipynb")]
        out = html / f"{page}.html"
        newer = [f for f in (*inputs, *shared) if f.stat().st_mtime > out.stat().st_mtime]
        if newer:
            return f"{out} is older than {newer[0].relative_to(root)}"
    return None


@pytest.fixture(scope="session")
def html_dir(tmp_path_factory) -> Path:
    if os.environ.get("ELF_BOOK_HTML"):
        html = Path(os.environ["ELF_BOOK_HTML"])
        assert _has_pages(html), f"ELF_BOOK_HTML={html} lacks pages of _toc.yml"
        return html
    html = ROOT / "_build" / "html"
    why = stale_reason(html)
    if why is None:
        return html
    print(f"not checking {html}: {why}; building the current sources in the smoke profile instead")
    return build_smoke_book(tmp_path_factory.mktemp("book"))


def test_a_stale_build_is_not_the_one_checked(tmp_path, monkeypatch):
    """stale_reason on a miniature book (a Markdown page and one executed notebook): None for a current build,
    and a reason naming the cause for each way a build goes stale."""
    import nbformat

    # fixed code and data signatures: other work on elfutils while this runs must not change the answer
    monkeypatch.setattr(notebooks, "code_signature", lambda: "code-1")
    monkeypatch.setattr(notebooks, "data_signature", lambda: "data-1")
    root, html = tmp_path / "project", tmp_path / "project" / "_build" / "html"
    (root / "book" / "_executed").mkdir(parents=True)
    (root / "_toc.yml").write_text("root: book/intro\nchapters:\n  - file: book/_executed/demo\n")
    (root / "_config.yml").write_text("title: demo\n")
    (root / "book" / "intro.md").write_text("# Intro\n")
    source, executed = root / "book" / "demo.py", root / "book" / "_executed" / "demo.ipynb"
    source.write_text("# %% tags=['parameters']\nprofile = 'smoke'\n")
    nb = nbformat.v4.new_notebook()
    nb.metadata["elf"] = notebooks.execution_signature(source, "smoke")
    nbformat.write(nb, str(executed))
    pages = [html / "book" / "intro.html", html / "book" / "_executed" / "demo.html"]
    for page in pages:
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text("<html><title>page</title></html>")
    then = time.time() - 1000

    def stamp(path: Path, seconds_after: float) -> None:
        os.utime(path, (then + seconds_after, then + seconds_after))

    for f in (root / "_toc.yml", root / "_config.yml", root / "book" / "intro.md", source, executed):
        stamp(f, 0)
    for page in pages:
        stamp(page, 10)  # built after its inputs
    assert stale_reason(html, root) is None

    source.write_text(source.read_text() + "x = 1\n")  # the notebook's source changed since its execution
    notebook = "book/_executed/demo.ipynb"
    assert stale_reason(html, root) == f"{notebook} was executed from another source than the current"
    source.write_text("# %% tags=['parameters']\nprofile = 'smoke'\n")
    monkeypatch.setattr(notebooks, "code_signature", lambda: "code-2")  # elfutils changed
    assert stale_reason(html, root) == f"{notebook} was executed from another code than the current"
    monkeypatch.setattr(notebooks, "code_signature", lambda: "code-1")
    assert stale_reason(html, root) is None

    for changed in (executed, root / "book" / "intro.md", root / "_config.yml"):  # changed after the build
        stamp(changed, 20)
        reason = stale_reason(html, root)
        assert reason is not None and reason.endswith(f"is older than {changed.relative_to(root)}"), reason
        stamp(changed, 0)
    pages[0].unlink()
    assert stale_reason(html, root) == f"{html} lacks book/intro.html"


def test_browse_drives_chromium_through_chromedriver(tmp_path, monkeypatch):
    """Chromium is driven by Selenium through chromedriver (``ELF_CHROMEDRIVER``, else on PATH), never one
    that Selenium Manager would download: without a chromedriver, browse stops before starting anything."""
    (tmp_path / "p.html").write_text("<html><title>p</title><main>text</main></html>")
    monkeypatch.setenv("ELF_CHROMIUM", str(tmp_path / "chromium"))
    monkeypatch.setenv("ELF_CHROMEDRIVER", "/opt/driver/chromedriver")
    assert browser.find_chromedriver() == "/opt/driver/chromedriver"
    monkeypatch.delenv("ELF_CHROMEDRIVER")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert browser.find_chromedriver() is None
    with pytest.raises(NotebookError, match="no chromedriver found"):
        browser.browse(tmp_path, ["p.html"], None)


def test_chromedriver_logs_read_as_problems():
    """chromedriver's browser log (console, exceptions, other errors) and its performance log (failed
    requests): each error a problem, in the order they happened; warnings and cancelled requests none."""
    url = "http://127.0.0.1:8000/p.html"
    console = [
        {"level": "SEVERE", "source": "console-api", "timestamp": 1,
         "message": f'{url} 2:16 "boom \\"x\\"" 3'},
        {"level": "WARNING", "source": "console-api", "timestamp": 2, "message": f'{url} 2:40 "careful"'},
        {"level": "SEVERE", "source": "javascript", "timestamp": 4,
         "message": f"{url} 2:60 Uncaught ReferenceError: f is not defined"},
        {"level": "SEVERE", "source": "network", "timestamp": 5, "message":
         "http://127.0.0.1:8000/a.js - Failed to load resource: the server responded with a status of 404"},
    ]

    def failed(canceled: bool, timestamp: int) -> dict:
        params = {"canceled": canceled, "errorText": "net::ERR_NAME_NOT_RESOLVED", "type": "Script"}
        return {"timestamp": timestamp,
                "message": json.dumps({"message": {"method": "Network.loadingFailed", "params": params}})}

    assert browser._log_problems(console, [failed(False, 3), failed(True, 6)]) == [
        'console.error: boom "x" 3',
        "request failed: net::ERR_NAME_NOT_RESOLVED (Script)",
        f"uncaught exception: ReferenceError: f is not defined\n    at {url}:3:61",
        "network error: Failed to load resource: the server responded with a status of 404 "
        "http://127.0.0.1:8000/a.js",
    ]


@pytest.fixture(scope="session")
def chromium():
    found = browser.find_chromium()
    if found is None or browser.find_chromedriver() is None:
        pytest.fail("headless Chromium and chromedriver are needed for the rendered-book checks: run "
                    "`make browser` (apt-get install chromium chromium-driver) or set ELF_CHROMIUM and "
                    "ELF_CHROMEDRIVER")
    return found


@pytest.fixture(scope="session")
def loaded(html_dir, chromium) -> dict[str, dict]:
    SCREENSHOTS.mkdir(exist_ok=True)
    return {r["page"]: r for r in browser.browse(html_dir, PAGES, SCREENSHOTS)}


@pytest.mark.browser
@pytest.mark.parametrize("page", PAGES)
def test_chapter_renders_without_console_errors(page, loaded):
    result = loaded[page]
    assert result["title"], f"{page} has no title"
    problems = [p for p in result["problems"] if not p.startswith("broken image")]
    assert not problems, f"{page}:\n" + "\n".join(problems)


@pytest.mark.browser
@pytest.mark.parametrize("page", PAGES)
def test_chapter_images_load(page, loaded):
    broken = [p for p in loaded[page]["problems"] if p.startswith("broken image")]
    assert not broken, f"{page}:\n" + "\n".join(broken)
    if "/_executed/" in page:
        assert loaded[page]["images"] >= 1, f"{page} shows no figure"


@pytest.mark.browser
def test_screenshots_saved(loaded):
    for page, result in loaded.items():
        shot = Path(result["screenshot"])
        assert shot.is_file() and shot.parent == SCREENSHOTS, page
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000, page


@pytest.mark.browser
def test_internal_links(html_dir):
    broken = linkcheck.check_links(html_dir)
    assert not broken, "\n".join(broken)


@pytest.mark.browser
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


@pytest.mark.browser
def test_each_fault_of_a_small_site_is_reported(tmp_path, chromium):
    """A tiny site: a console.error, a thrown exception, a missing image and a script that fetches a missing
    file, each reported by browse with where it happened; a warning is not, a sound page has no problem."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "app.js").write_text(
        "console.warn('only a warning');\n"
        "console.error('chart data', 42);\n"
        "fetch('data/points.json');\n"
        "function draw() { throw new TypeError('no axes to draw on'); }\n"
        "draw();\n")
    (tmp_path / "faulty.html").write_text(
        "<html><head><title>faulty</title><link rel='icon' href='data:,'></head>"
        "<body><main><p>text</p><img src='figures/missing.png'></main>"
        "<script src='lib/app.js'></script></body></html>")
    (tmp_path / "sound.html").write_text(
        "<html><head><title>sound</title><link rel='icon' href='data:,'></head>"
        "<body><main><p>fine</p></main></body></html>")
    results = {r["page"]: r for r in browser.browse(tmp_path, ["faulty.html", "sound.html"], None,
                                                    probe="document.title.toUpperCase()")}
    faulty = results["faulty.html"]["problems"]
    base = results["faulty.html"]["url"].removesuffix("faulty.html")
    assert "console.error: chart data 42" in faulty
    thrown = [p for p in faulty if p.startswith("uncaught exception: TypeError: no axes to draw on")]
    assert thrown and f"{base}lib/app.js:4:25" in thrown[0], faulty
    assert f"broken image: {base}figures/missing.png" in faulty
    not_found = ("network error: Failed to load resource: the server responded with a status of 404 "
                 "(File not found)")
    assert f"{not_found} {base}figures/missing.png" in faulty
    assert f"{not_found} {base}data/points.json" in faulty
    assert not any("only a warning" in p for p in faulty)
    assert results["sound.html"]["problems"] == []
    assert results["sound.html"]["probe"] == "SOUND" and results["sound.html"]["title"] == "sound"


@pytest.mark.browser
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



HOVER_PROBE_JS = """(async () => {
  const gd = document.getElementById('m');
  const img = document.getElementById('m-band');
  const before = img.style.visibility;
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  const x = box.left + xa._offset + xa.l2p(2), y = box.top + ya._offset + ya.l2p(1);
  const target = document.elementFromPoint(x, y);
  for (const type of ['mouseover', 'mousemove']) {
    target.dispatchEvent(new MouseEvent(type, {clientX: x, clientY: y, bubbles: true}));
  }
  await new Promise(r => setTimeout(r, 300));
  await img.decode().catch(() => null);
  return {before: before, after: img.style.visibility, width: img.naturalWidth,
          title: document.getElementById('m-band-title').textContent,
          ticks: Array.from(img.parentElement.previousElementSibling.children).map(s => s.textContent)};
})()"""


@pytest.mark.browser
def test_the_interactive_map_shows_the_band_image_under_the_pointer(tmp_path, chromium):
    """Issue #32 item 6: a real mouse move over a point of the map fills the panel beside it with that
    material's band image, on its energy axis."""
    import numpy as np
    import pandas as pd
    from plotly.offline import get_plotlyjs


    table = pd.DataFrame({"material_id": ["2dm-1", "2dm-2", "2dm-3"], "formula": ["A", "B", "C"],
                          "umap_x": [0.0, 1.0, 2.0], "umap_y": [0.0, 2.0, 1.0], "hdbscan_label": [0, 0, -1],
                          "probability": [1.0, 0.5, 0.0], "dbscan_group": [0, 0, -1]})
    images = {m: np.roll(np.eye(224, dtype=np.uint8), 20 * i, axis=0)
              for i, m in enumerate(table.material_id)}
    body = plots.web.map_search_html(plots.web.interactive_map(table), table, div_id="m", images=images,
                                   window=2.0)
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "plotly.js").write_text(get_plotlyjs())
    (tmp_path / "p.html").write_text(
        "<html><head><meta charset='utf-8'><title>p</title><link rel='icon' href='data:,'>"
        "<script src='_static/plotly.js'></script>"
        f"</head><body><main>{body}</main></body></html>")
    (result,) = browser.browse(tmp_path, ["p.html"], None, probe=HOVER_PROBE_JS)
    assert result["problems"] == [] and result["plots"] == 1
    probe = result["probe"]
    assert probe["before"] == "hidden" and probe["after"] == "visible"
    assert probe["title"].startswith("2dm-3 C") and probe["width"] == plots.web.THUMBNAIL_SIDE
    assert probe["ticks"] == ["2", "1", "0", "−1", "−2"]

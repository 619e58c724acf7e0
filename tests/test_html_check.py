"""The built-book checker (:mod:`elfutils.book.html_check`, issue #32): each rule on small pages made here (a
page with the defect is flagged, a clean one is not), the glue rule on small executed notebooks, the command
line, and the whole checker over a built book.

Which build the last test checks: ``ELF_BOOK_HTML`` if set; else ``_build/html`` when it is a build of the
current sources (``test_browser.stale_reason``); else the smoke book that ``test_browser`` built in this
session's temporary folder (``make test`` runs it first), so this file never builds a book of its own; else
it skips.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from elfutils.book import html_check
from elfutils.book.html_check import Problem, check_book, check_glue, check_page

ROOT = Path(__file__).resolve().parent.parent



def page(body: str) -> str:
    """A page shaped like the book's (sphinx-book-theme: navigation outside the article)."""
    return ("<html><head><title>t</title><style>p{}</style><script>var x = '/work/x';</script></head><body>"
            "<nav><p>Navigation 0.123456 material(s)</p></nav><main><article class='bd-article' role='main'>"
            f"<section><h1>Chapter</h1>{body}</section></article></main></body></html>")


def cell(source: str, output: str, kind: str = "stream") -> str:
    """A notebook cell as MyST-NB renders it: the source, then one output."""
    return ("<div class='cell docutils container'><div class='cell_input docutils container'>"
            "<div class='highlight-ipython3 notranslate'><div class='highlight'>"
            f"<pre>{source}</pre></div></div>"
            "</div><div class='cell_output docutils container'>"
            f"<div class='output {kind} highlight-myst-ansi notranslate'><div class='highlight'><pre>{output}"
            "</pre></div></div></div></div>")


def kinds(problems: list[Problem]) -> list[str]:
    return [p.kind for p in problems]


CLEAN = page(
    "<p>The model reaches an accuracy of 0.93 on 1,234 materials (σ = 0.0123, p = 0.00012).</p>"
    "<p>See <a href='https://doi.org/10.48550/arXiv.2301.12345'>arXiv:2301.12345</a> and "
    "<code>x = 0.123456789</code>; the version is 1.2.3.</p>"
    + cell("import warnings\nwarnings.filterwarnings('ignore')\nprint(len(s))", "done: 3 materials")
    + "<table><tr><th>material</th><th>gap</th></tr><tr><td>2dm-1</td><td>0.1234567</td></tr>"
      "<tr><td>Nano</td><td>NaNO3</td></tr></table>"
      "<ul><li>Either material, or both.</li></ul><p>https://example.org/home/page</p>")


def test_a_clean_page_has_no_problem():
    assert check_page(CLEAN, "clean.html") == []


def test_navigation_scripts_and_styles_are_not_checked():
    assert check_page(page("<p>fine</p>")) == []


@pytest.mark.parametrize("output", [
    "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad",
    "-----\nValueError    Traceback (most recent call last)\nCell In[3], line 1",
])
def test_a_traceback_in_an_output_is_flagged(output):
    problems = check_page(page(cell("f()", output)), "ch.html")
    assert "traceback" in kinds(problems)
    assert problems[0].page == "ch.html" and "Traceback" in problems[0].excerpt


def test_an_error_output_is_a_traceback_even_without_the_header():
    problems = check_page(page(cell("f()", "ValueError: bad", kind="traceback")))
    assert kinds(problems) == ["traceback"]


@pytest.mark.parametrize("line", [
    "x.py:3: UserWarning: the figure has no axes",
    "x.py:3: FutureWarning: the default will change",
    "x.py:3: DeprecationWarning: use y",
    "x.py:3: RuntimeWarning: invalid value encountered in divide",
    "Warning: the store is old",
    "WARNING:root:slow",
    "  warnings.warn(msg)",
])
def test_warning_text_in_an_output_is_flagged(line):
    problems = check_page(page(cell("f()", f"result\n{line}", kind="stderr")))
    assert kinds(problems) == ["warning"], problems


def test_warning_words_in_prose_or_code_are_not_output_warnings():
    body = "<p>A UserWarning: is what the code would print.</p>" + cell("warnings.warn('x')", "ok")
    assert check_page(page(body)) == []


@pytest.mark.parametrize("path", ["/work/main/data/x.json", "/tmp/elf-abc/cache", "/root/.cache/elf",
                                  "/home/user/elf", "/Users/me/elf"])
@pytest.mark.parametrize("where", ["prose", "output", "table"])
def test_an_absolute_build_path_is_flagged(path, where):
    body = {"prose": f"<p>Written to {path}.</p>", "output": cell("print(p)", path),
            "table": f"<table><tr><td>{path}</td></tr></table>"}[where]
    problems = check_page(page(body))
    assert kinds(problems) == ["build-path"] and path.split("/")[1] in problems[0].excerpt


@pytest.mark.parametrize("value", ["nan", "NaN", "<NA>", "NaT", "nan ± 0.1"])
def test_a_missing_value_in_a_table_is_flagged(value):
    html = value.replace("<", "&lt;").replace(">", "&gt;")
    table = ("<table class='dataframe'><thead><tr><th>material</th><th>gap</th></tr></thead>"
             f"<tbody><tr><td>2dm-7</td><td>{html}</td></tr></tbody></table>")
    problems = check_page(page(table))
    assert kinds(problems) == ["nan-in-table"]
    assert "2dm-7" in problems[0].excerpt and value in problems[0].excerpt


@pytest.mark.parametrize("number", ["0.123456", "3.14159", "12.00001", "0.0012345678"])
@pytest.mark.parametrize("block", ["p", "li"])
def test_a_long_float_in_prose_is_flagged(number, block):
    wrapped = f"<ul><li>{number} eV</li></ul>" if block == "li" else f"<p>The gap is {number} eV.</p>"
    problems = check_page(page(wrapped))
    assert kinds(problems) == ["long-float"] and number in problems[0].excerpt


def test_a_long_float_in_a_glued_span_or_emphasis_is_prose():
    body = "<p>It is <span class='pasted-text'>0.876543</span> and <em>1.000001</em>.</p>"
    problems = check_page(page(body))
    assert kinds(problems) == ["long-float", "long-float"]


@pytest.mark.parametrize("number", ["0.1234", "0.00012", "1234.5", "10.1038"])
def test_short_floats_in_prose_are_fine(number):
    assert check_page(page(f"<p>The value is {number}.</p>")) == []


@pytest.mark.parametrize("number", ["4.73e+10", "1.65e+10", "5.009072e+09", "2E7", "12828311831.621"])
@pytest.mark.parametrize("where", ["prose", "table"])
def test_a_raw_distance_in_prose_or_a_table_is_flagged(number, where):
    body = {"prose": f"<p>They are {number} apart.</p>",
            "table": f"<table><tr><th>distance</th></tr><tr><td>{number}</td></tr></table>"}[where]
    problems = check_page(page(body))
    assert kinds(problems) == ["raw-distance"] and number in problems[0].excerpt


@pytest.mark.parametrize("text", ["p = 1e-4", "1.5e5 pairs", "0.31 × median NN", "see 2e+10.x", "v1.2e7",
                                  "4602 materials", "1234567.5 s"])
def test_small_or_negative_exponents_are_not_raw_distances(text):
    assert check_page(page(f"<p>Here {text}.</p>")) == []


@pytest.mark.parametrize("text", ["material(s)", "the band(s) of", "Figure(s)"])
@pytest.mark.parametrize("where", ["prose", "heading", "table", "output"])
def test_an_s_plural_is_flagged(text, where):
    body = {"prose": f"<p>Check the {text}.</p>", "heading": f"<h2>The {text}</h2>",
            "table": f"<table><tr><th>{text}</th></tr><tr><td>1</td></tr></table>",
            "output": cell("show()", f"found 3 {text}")}[where]
    problems = check_page(page(body))
    assert kinds(problems) == ["plural-s"] and "(s)" in problems[0].excerpt


def test_an_s_in_source_code_is_not_a_plural():
    body = cell("names(s)\nlen(s)", "3") + "<p>Call <code>parse_material(s)</code> here.</p>"
    assert check_page(page(body)) == []


def test_a_literal_backtick_in_prose_is_flagged_but_code_spans_are_not():
    glued = "<p>elf prints <span class='pasted-text'>`closer_pairs_percent` instead</span>.</p>"
    problems = check_page(page(glued))
    assert kinds(problems) == ["backtick"] and "`closer_pairs_percent`" in problems[0].excerpt
    rendered = ("<p>elf prints <code class='docutils literal notranslate'><span class='pre'>"
                "closer_pairs_percent</span></code> instead.</p>" + cell("x = '`a`'", "`b`"))
    assert check_page(page(rendered)) == []


def test_each_occurrence_is_reported_once():
    """Nested output elements, a list item around a paragraph, two missing cells in one row: one problem."""
    body = (cell("x", "Traceback (most recent call last)", kind="traceback")
            + "<ul><li><p>material(s) of 0.123456</p></li></ul><p>Two: material(s), band(s).</p>"
            + "<table><tr><td>nan</td><td>NaN</td></tr></table>")
    problems = check_page(page(body))
    assert sorted(kinds(problems)) == ["long-float", "nan-in-table", "plural-s", "plural-s", "plural-s",
                                       "traceback"]


# --- glue values across chapters ----------------------------------------------------------------------------
def notebook(path: Path, **values) -> Path:
    """An executed notebook whose cell glued ``values`` as MyST-NB records them (papermill.record)."""
    outputs = [{"output_type": "display_data", "data": {html_check.GLUE_MIME: v},
                "metadata": {"scrapbook": {"name": k, "mime_prefix": "application/papermill.record/"}}}
               for k, v in values.items()]
    nb = {"cells": [{"cell_type": "code", "source": "glue_values(...)", "metadata": {}, "execution_count": 1,
                     "outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}, *outputs]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb))
    return path


def test_glue_records_are_read_from_an_executed_notebook(tmp_path):
    nb = notebook(tmp_path / "a.ipynb", n_materials="4602", title="'text'")
    assert html_check.glue_records(nb) == {"n_materials": "4602", "title": "'text'"}


def test_one_glue_name_with_two_values_is_flagged(tmp_path):
    a = notebook(tmp_path / "a.ipynb", n_materials="4602", accuracy="0.91")
    b = notebook(tmp_path / "b.ipynb", n_materials="4599", accuracy="0.91")
    c = notebook(tmp_path / "c.ipynb", other="1")
    problems = check_glue([a, b, c], tmp_path, allowed={})
    assert problems == [Problem("b.ipynb", "glue-mismatch", "n_materials = 4599 here, 4602 in a.ipynb")]


def test_equal_glue_values_and_allowed_names_pass(tmp_path):
    a = notebook(tmp_path / "a.ipynb", n_materials="4602", gap="0.30000000000000004", per_page="1",
                 n_shown="'48'")  # a string shows without its quotes
    b = notebook(tmp_path / "b.ipynb", n_materials="4602", gap="0.3", per_page="2", n_shown="48")
    assert check_glue([a, b], tmp_path, allowed={"per_page": ((), "each chapter its own")}) == []
    assert kinds(check_glue([a, b], tmp_path, allowed={})) == ["glue-mismatch"]


def test_a_name_allowed_in_some_chapters_is_still_compared_in_the_others(tmp_path):
    a = notebook(tmp_path / "a.ipynb", n="1")
    b = notebook(tmp_path / "b.ipynb", n="1")
    own = notebook(tmp_path / "own.ipynb", n="2")
    allowed = {"n": (("own",), "its own dataset")}
    assert check_glue([a, b, own], tmp_path, allowed=allowed) == []
    c = notebook(tmp_path / "c.ipynb", n="3")
    assert check_glue([a, b, c, own], tmp_path, allowed=allowed) == [
        Problem("c.ipynb", "glue-mismatch", "n = 3 here, 1 in a.ipynb")]


def test_the_allow_list_gives_a_reason_for_each_name():
    for name, (chapters, reason) in html_check.PER_CHAPTER_GLUE.items():
        assert isinstance(chapters, tuple) and reason.strip() and "\n" not in reason, name
        assert all((ROOT / "book" / f"{c}.py").is_file() for c in chapters), name


# --- the whole book -----------------------------------------------------------------------------------------
def write_book(root: Path, pages: dict[str, str], notebooks: dict[str, dict] | None = None) -> Path:
    html = root / "html"
    for name, text in pages.items():
        (html / name).parent.mkdir(parents=True, exist_ok=True)
        (html / name).write_text(text)
    for name, values in (notebooks or {}).items():
        notebook(html / "_sources" / name, **values)
    return html


def test_check_book_walks_the_pages_and_the_glued_values(tmp_path):
    html = write_book(tmp_path, {
        "book/intro.html": CLEAN,
        "book/_executed/a.html": page("<p>About 0.123456 of it.</p>"),
        "book/_executed/b.html": CLEAN,
        "_static/x.html": page("<p>material(s)</p>"),  # the theme's, not the book's
        "search.html": page("<p>material(s)</p>"),
    }, {"book/_executed/a.ipynb": {"n": "1"}, "book/_executed/b.ipynb": {"n": "2"}})
    problems = check_book(html)
    assert [(p.page, p.kind) for p in problems] == [("book/_executed/a.html", "long-float"),
                                                    ("book/_executed/b.ipynb", "glue-mismatch")]


def test_the_command_line_prints_one_line_per_problem_and_fails(tmp_path, capsys):
    bad = write_book(tmp_path / "bad", {"a.html": page("<p>material(s), 0.1234567</p>")})
    assert html_check.main([str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[:2] for line in lines] == [["a.html", "plural-s"], ["a.html", "long-float"]]
    good = write_book(tmp_path / "good", {"a.html": CLEAN})
    assert html_check.main([str(good)]) == 0
    assert capsys.readouterr().out == ""
    with pytest.raises(FileNotFoundError):
        check_book(tmp_path / "missing")


@pytest.fixture(scope="module")
def built_book(tmp_path_factory) -> Path:
    if os.environ.get("ELF_BOOK_HTML"):
        return Path(os.environ["ELF_BOOK_HTML"])
    from test_browser import _has_pages, stale_reason

    html = ROOT / "_build" / "html"
    why = stale_reason(html)
    if why is None:
        return html
    # the smoke book test_browser built in this session (it runs before this file), if it did
    built = [h for h in sorted(tmp_path_factory.getbasetemp().glob("book*/_build/html")) if _has_pages(h)]
    if built:
        return built[-1]
    pytest.skip(f"no current build of the book ({why}): run `make book-smoke`, or the browser tests first")


@pytest.fixture(scope="module")
def book_problems(built_book) -> list[Problem]:
    return check_book(built_book)


@pytest.mark.parametrize("kind", html_check.KINDS)
def test_the_built_book_has_no_problem_of_each_kind(kind, book_problems):
    found = [str(p) for p in book_problems if p.kind == kind]
    assert not found, f"{len(found)} {kind} problems:\n" + "\n".join(found[:40])


def test_the_built_book_figures_say_what_they_show(built_book):
    """The thumbnail rule is not vacuous: the book's band images carry notes (elfutils.book.figure_notes)."""
    from elfutils.book.figure_notes import read_notes

    noted = [n for png in sorted((built_book / "_images").glob("*.png")) for n in (read_notes(png) or [])]
    assert any(n["kind"] == "band" for n in noted)

"""A checker over the built HTML book (issue #32): what a reader must never see on a page.

Each rule is one kind of :class:`Problem`:

``traceback``
    a Python traceback in a notebook output ("Traceback (most recent call last)", an error output).
``warning``
    warning text in a notebook output: a ``...Warning:`` line (``UserWarning:``, ``FutureWarning:``,
    ``DeprecationWarning:``, ``Warning:``, logging's ``WARNING:``) or a ``warnings.warn(`` line.
``build-path``
    an absolute path of the machine that built the book (``/work/``, ``/tmp/``, ``/root/``, ``/home/``,
    ``/Users/``) in the visible text of a page.
``nan-in-table``
    ``nan``, ``NaN``, ``NaT`` or ``<NA>`` in a table cell: a missing value shown as pandas prints it.
``long-float``
    a number with more than 4 significant decimals in prose (paragraphs and list items; not code, outputs
    printed as code, tables, links or the bibliography): ``0.123456`` reads as noise.
``raw-distance``
    a number of a million or more in scientific notation (``4.73e+10``), or of eight digits or more with
    decimals (``12828311831.621``), in prose or a table cell: in this
    book that is a raw Minkowski distance of fingerprints (~1e10), which a reader cannot judge; give it in
    units of the median nearest-neighbour distance or as ``closer_pairs_percent``.
``plural-s``
    an "(s)" plural ("material(s)") in the visible text, source code aside.
``backtick``
    a literal backtick in prose: Markdown that was shown as plain text (a string glued with ``glue_values``
    and pasted by ``{glue:text}`` keeps its backticks, and Sphinx's smart quotes turn a ``--option`` in it
    into a dash; such text is glued with ``glue_markdown`` and pasted by ``{glue:md}``).
``thumbnail-axes``
    a band image in a figure without its energy axis or the zero line, or an image in a figure that is
    neither drawn as a band image nor marked as a picture (the chapters promise band thumbnails with both).
    The figures say what they show: the notebook kernel writes notes into each PNG
    (:mod:`elfutils.book.figure_notes`); a PNG without notes is not a figure of ours and is not judged.
``glue-mismatch``
    one MyST-NB glue name recorded with different values in two chapters. A name glued in two notebooks is
    meant to be the same quantity (the prose of both chapters calls it the same), so the two values must
    agree; :data:`PER_CHAPTER_GLUE` lists, each with its reason, the names that are per chapter on purpose.
    The values come from the executed notebooks the book was built from (``_sources/`` of the build, which
    Jupyter Book copies there): MyST-NB's ``glue`` records each as a display output of mime type
    ``application/papermill.record/text/plain`` with the name in ``metadata.scrapbook.name``.

:func:`check_book` returns the problems of a build; ``python -m elfutils.book.html_check _build/html``
prints one line per problem and exits 1 when there is any (``make book`` runs it after the build).
"""

from __future__ import annotations

import ast
import json
import math
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

KINDS = ("traceback", "warning", "build-path", "nan-in-table", "long-float", "raw-distance", "plural-s",
         "backtick", "thumbnail-axes", "glue-mismatch")

# Glue names that chapters use on purpose for a quantity of their own: name -> (those chapters, by notebook
# name, or () for every chapter; why, in one line). The other chapters that glue the name must still agree.
PER_CHAPTER_GLUE: dict[str, tuple[tuple[str, ...], str]] = {
    "verdict": ((), "each chapter's own one-sentence conclusion"),
    "k": ((), "each chapter's own neighbour count: UMAP's k (supp_tsne), the hits shown (similarity_search)"),
    "n_candidates": (("fig7_parameter_study", "atlas"),
                     "grid points that pass the selection rule (fig7), the atlas search's flat-band "
                     "candidates (atlas); elsewhere Table 1's duplicate pairs"),
    "n_materials": (("atlas",), "the atlas counts all of 2Dmatpedia, the other chapters the flat-band pool"),
    "n_clusters": (("atlas",), "the atlas's own clustering (all of 2Dmatpedia), not the pool's"),
    "n_unclassified": (("atlas",), "the atlas's own clustering (all of 2Dmatpedia), not the pool's"),
    "n_pool": (("atlas",), "the atlas's materials that are in the flat-band pool, not the pool's size"),
}

GLUE_MIME = "application/papermill.record/text/plain"
EXCERPT = 90  # characters of context in a problem's excerpt

_TRACEBACK = re.compile(r"Traceback \(most recent call last\)")
_WARNING = re.compile(r"\b(?:[A-Za-z]*Warning|WARNING)\b:|\bwarnings\.warn\(")
_BUILD_PATH = re.compile(r"(?<![\w/.~-])/(?:work|tmp|root|home|Users)/")
_MISSING = re.compile(r"(?<![\w.])(?:nan|NaN|NAN|NaT)(?![\w])|<NA>")
_FLOAT = re.compile(r"(?<![\w.:/])(\d+)\.(\d+)(?![\w.]?\d)(?!/)(?![eE][+-]?\d)")  # 4.7e+10: raw-distance
_RAW_DISTANCE = re.compile(r"(?<![\w.])(?:\d(?:\.\d+)?[eE]\+?(?:0?[6-9]|[1-9]\d)|\d{8,}\.\d+)(?![\w.])")
_PLURAL_S = re.compile(r"[A-Za-z]{2,}\(s\)")
_BACKTICK = re.compile(r"`[^`]*`?")
_PROSE = ["p", "li", "dd", "figcaption", "caption", "h1", "h2", "h3", "h4", "h5", "h6"]
# elements whose text is never prose
_NOT_PROSE = ("pre", "code", "table", "a", "script", "style", "kbd", "samp")
_NOT_PROSE_CLASSES = ("highlight", "cell_input", "citation", "bibliography", "footnote", "math")


@dataclass(frozen=True)
class Problem:
    """One finding: the page (relative to the HTML folder), the rule's kind, and a short excerpt."""

    page: str
    kind: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.page}: {self.kind}: {self.excerpt}"


def _excerpt(text: str, start: int, end: int) -> str:
    """The match with some context, on one line, at most about :data:`EXCERPT` characters."""
    pad = max(0, (EXCERPT - (end - start)) // 2)
    a, b = max(0, start - pad), min(len(text), end + pad)
    snippet = " ".join(text[a:b].split())
    return ("…" if a > 0 else "") + snippet + ("…" if b < len(text) else "")


def _significant_decimals(whole: str, fraction: str) -> int:
    """Decimals that carry information: all of them, less the leading zeros of a number below 1."""
    return len(fraction.lstrip("0")) if int(whole) == 0 else len(fraction)


def _content(soup):
    """The page's own content: the theme's article when there is one (no navigation, no page TOC)."""
    return (soup.select_one("article.bd-article") or soup.select_one("[role=main]") or soup.find("main")
            or soup.body or soup)


def _has_class(tag, classes) -> bool:
    return any(c in (tag.get("class") or []) for c in classes)


def _prose_text(block) -> str:
    """The text of a paragraph-like element, without code, links, tables, math and the like inside it."""
    from bs4 import NavigableString

    parts = []
    for node in block.find_all(string=True):
        if type(node) is not NavigableString:
            continue  # comments, CDATA and the like are not shown
        inside = []
        for parent in node.parents:
            if parent is block:
                break
            inside.append(parent)
        if not any(p.name in _NOT_PROSE or _has_class(p, _NOT_PROSE_CLASSES) for p in inside):
            parts.append(str(node))
    return "".join(parts)


def _in_source_code(node) -> bool:
    """Whether a text node is code: a cell's source, inline code, or a code block that is not an output."""
    parents = list(node.parents)
    if any(_has_class(p, ("cell_input",)) or p.name in ("code", "kbd", "samp") for p in parents):
        return True
    if any(_has_class(p, ("cell_output", "output")) for p in parents):
        return False
    return any(p.name == "pre" or _has_class(p, ("highlight", "math")) for p in parents)


def check_page(html: str, page: str = "page.html", page_file: Path | None = None) -> list[Problem]:
    """The problems of one page's HTML (every rule but the glue one, which needs the notebooks). With
    ``page_file`` (where the page lies in a build) its images' notes are read too (``thumbnail-axes``)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for hidden in soup(["script", "style", "template", "noscript"]):
        hidden.decompose()
    content = _content(soup)
    problems: list[Problem] = []

    def add(kind: str, text: str, match) -> None:
        problems.append(Problem(page, kind, _excerpt(text, match.start(), match.end())))

    # notebook outputs: tracebacks and warnings (each output counted once, at its outermost element)
    outputs = [o for o in content.select(".cell_output, div.output")
               if o.find_parent(class_=("cell_output", "output")) is None]
    for output in outputs:
        text = output.get_text("\n")
        found = list(_TRACEBACK.finditer(text))
        error = _has_class(output, ("traceback", "error")) or output.select_one(".traceback, .error")
        if not found and error:
            found = [m for m in [re.search(r"\S.*", text)] if m]
        for match in found:
            add("traceback", text, match)
        for match in _WARNING.finditer(text):
            add("warning", text, match)

    # visible text: build paths anywhere; "(s)" plurals outside source code
    visible = content.get_text(" ")
    for match in _BUILD_PATH.finditer(visible):
        add("build-path", visible, match)
    for node in content.find_all(string=_PLURAL_S):
        if not _in_source_code(node):
            for match in _PLURAL_S.finditer(str(node)):
                add("plural-s", str(node), match)

    # table cells: missing values (one problem per row; the excerpt is the row)
    rows = [row for row in content.find_all("tr")
            if any(_MISSING.search(c.get_text(" ")) for c in row.find_all(["td", "th"]))]
    for row in rows:
        row_text = " | ".join(c.get_text(" ").strip() for c in row.find_all(["td", "th"]))
        match = _MISSING.search(row_text)
        problems.append(Problem(page, "nan-in-table", _excerpt(row_text, match.start(), match.end())))
    # table cells: raw distances (one problem per row)
    for row in content.find_all("tr"):
        row_text = " | ".join(c.get_text(" ").strip() for c in row.find_all(["td", "th"]))
        match = _RAW_DISTANCE.search(row_text)
        if match:
            problems.append(Problem(page, "raw-distance", _excerpt(row_text, match.start(), match.end())))

    # prose: long floats
    for block in content.find_all(_PROSE):
        if block.find_parent(_NOT_PROSE) is not None or any(
                _has_class(p, _NOT_PROSE_CLASSES) for p in [block, *block.parents]):
            continue
        if block.find(_PROSE) is not None:
            continue  # the paragraphs inside it are checked themselves
        text = _prose_text(block)
        for match in _FLOAT.finditer(text):
            if _significant_decimals(match.group(1), match.group(2)) > 4:
                add("long-float", text, match)
        for match in _BACKTICK.finditer(text):
            add("backtick", text, match)
        for match in _RAW_DISTANCE.finditer(text):
            add("raw-distance", text, match)
    if page_file is not None:
        problems += _image_problems(content, page, page_file)
    return problems


def _image_problems(content, page: str, page_file: Path) -> list[Problem]:
    """The ``thumbnail-axes`` problems of a page's content: each image whose PNG notes
    (:func:`elfutils.book.figure_notes.read_notes`) name a band image without its axis or zero line."""
    from elfutils.book.figure_notes import problems as note_problems
    from elfutils.book.figure_notes import read_notes

    out = []
    for img in content.find_all("img"):
        src = (img.get("src") or "").split("#")[0].split("?")[0]
        if not src.lower().endswith(".png") or ":" in src:
            continue
        path = (page_file.parent / src).resolve()
        notes = read_notes(path) if path.is_file() else None
        out += [Problem(page, "thumbnail-axes", f"{src.rsplit('/', 1)[-1][:16]}…: {line}")
                for line in note_problems(notes or [])]
    return out


def glue_records(notebook: Path) -> dict[str, str]:
    """The glued values of an executed notebook: name -> the text form MyST-NB recorded."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    values: dict[str, str] = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            name = ((output.get("metadata") or {}).get("scrapbook") or {}).get("name")
            text = (output.get("data") or {}).get(GLUE_MIME)
            if name and text is not None:
                values[name] = "".join(text) if isinstance(text, list) else str(text)
    return values


def _shown(value: str) -> str:
    """The text a glued value shows: a string's repr (``'48'``) without its quotes."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        try:
            shown = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
        return shown if isinstance(shown, str) else value
    return value


def _same_value(a: str, b: str) -> bool:
    a, b = _shown(a), _shown(b)
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(x) and math.isnan(y))


def check_glue(notebooks: list[Path], root: Path | None = None,
               allowed: dict[str, tuple[tuple[str, ...], str]] | None = None) -> list[Problem]:
    """``glue-mismatch`` problems: a glue name whose value differs between two of ``notebooks``.

    ``allowed`` (default :data:`PER_CHAPTER_GLUE`): name -> (the notebooks, by stem, whose value is their
    own, or () for all; the reason); those notebooks' values are left out of the comparison.
    """
    allowed = PER_CHAPTER_GLUE if allowed is None else allowed
    by_name: dict[str, dict[str, str]] = defaultdict(dict)
    for notebook in sorted(notebooks):
        page = notebook.relative_to(root).as_posix() if root is not None else notebook.name
        for name, value in glue_records(notebook).items():
            by_name[name][page] = value
    problems = []
    for name, values in sorted(by_name.items()):
        own = allowed.get(name, (None, ""))[0]
        if own == ():
            continue
        pages = [page for page in values if not own or Path(page).stem not in own]
        for other in pages[1:]:
            first = pages[0]
            if not _same_value(values[first], values[other]):
                shown = [_shown(values[page]) for page in (first, other)]
                short = [v if len(v) <= 30 else v[:29] + "…" for v in shown]
                problems.append(Problem(other, "glue-mismatch",
                                        f"{name} = {short[1]} here, {short[0]} in {first}"))
    return problems


def book_pages(html_dir: Path) -> list[Path]:
    """The content pages of a build: every ``.html`` but the theme's (``_static``, ``genindex``, search)."""
    skip = {"genindex.html", "search.html", "py-modindex.html"}
    pages = []
    for page in sorted(html_dir.rglob("*.html")):
        rel = page.relative_to(html_dir)
        if rel.parts[0] in ("_static", "_sources", "_images") or rel.name in skip:
            continue
        pages.append(page)
    return pages


def check_book(html_dir: str | Path) -> list[Problem]:
    """Every problem of the book built in ``html_dir``: each page's, then the glue values' across chapters."""
    html_dir = Path(html_dir)
    if not html_dir.is_dir():
        raise FileNotFoundError(f"{html_dir}: no such folder (build the book first: make book)")
    problems = []
    for page in book_pages(html_dir):
        rel = page.relative_to(html_dir).as_posix()
        problems += check_page(page.read_text(encoding="utf-8", errors="replace"), rel, page)
    sources = html_dir / "_sources"
    problems += check_glue(sorted(sources.rglob("*.ipynb")) if sources.is_dir() else [], sources)
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print("usage: python -m elfutils.book.html_check HTML_DIR", file=sys.stderr)
        return 2
    problems = check_book(args[0])
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problems in {args[0]}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

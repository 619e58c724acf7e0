"""Checks of a built book: every internal ``href``/``src`` of every HTML page exists, anchors included
(stdlib ``html.parser``); and the pages the table of contents lists."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from elfutils.errors import NotebookError
from elfutils.paths import PROJECT_ROOT


# --- link check --------------------------------------------------------------------------------------------
class _PageParser(HTMLParser):
    """Collects element ids / anchor names and every href/src of one page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[int, str, str]] = []  # (line, tag, url)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for attr in ("href", "src"):
            value = attrs.get(attr)
            if value is not None and tag != "base":
                self.links.append((self.getpos()[0], tag, value.strip()))

    handle_startendtag = handle_starttag


def _parse(path: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return parser


def built_pages(root: str | Path) -> list[Path]:
    """The HTML pages of a built book (not the theme's Jinja macro files that Sphinx copies into _static)."""
    root = Path(root)
    skip = {"_static", "_sources"}
    return sorted(p for p in root.rglob("*.html") if not skip & set(p.relative_to(root).parts))


def check_links(root: str | Path) -> list[str]:
    """Broken internal links of a built HTML tree: ``'page:line: <tag> url (reason)'`` for each."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise NotebookError(f"{root}: no such folder (build the book first: make book)")
    pages = built_pages(root)
    parsed: dict[Path, _PageParser] = {}

    def page(path: Path) -> _PageParser:
        if path not in parsed:
            parsed[path] = _parse(path)
        return parsed[path]

    broken = []
    for html in pages:
        for line, tag, url in page(html).links:
            if not url or url.startswith("//"):
                continue
            parts = urlsplit(url)
            if parts.scheme:  # http(s), mailto, data, javascript ...: not ours to check
                continue
            rel = html.relative_to(root)
            where = f"{rel}:{line}: <{tag}> {url}"
            target = html if not parts.path else (html.parent / unquote(parts.path)).resolve()
            if not target.is_relative_to(root):
                broken.append(f"{where} (points outside the built site)")
                continue
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{where} (missing file {target.relative_to(root)})")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html" and fragment not in page(target).ids:
                broken.append(f"{where} (no anchor #{fragment} in {target.relative_to(root)})")
    return broken


# --- the book's pages --------------------------------------------------------------------------------------
def toc_pages(toc: str | Path = PROJECT_ROOT / "_toc.yml") -> list[str]:
    """Every file of a Jupyter Book 1 ``_toc.yml`` (root first), without suffix, e.g. ``book/intro``."""
    import yaml

    data = yaml.safe_load(Path(toc).read_text())
    files = [data["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(data)
    return [str(Path(f).with_suffix("")) if Path(f).suffix in (".md", ".ipynb") else f for f in files]


def toc_sources(toc: str | Path = PROJECT_ROOT / "_toc.yml") -> list[Path]:
    """The jupytext sources (``book/<name>.py``) of the TOC's executed notebooks."""
    pages = [f for f in toc_pages(toc) if "/_executed/" in f"/{f}"]
    return [PROJECT_ROOT / "book" / (Path(f).name + ".py") for f in pages]

"""Notebook helpers and the book's Sphinx extension: :func:`glue_values` for the prose, :func:`interactive`
for plotly figures, and (``_config.yml``: ``extra_extensions``) a local copy of plotly.js on the pages that
have one, so the book needs no CDN."""

from __future__ import annotations

from pathlib import Path

PLOTLY_JS = "elf-plotly.min.js"


# --- interactive figures and the Sphinx extension -----------------------------------------------------------
def glue_values(**values) -> None:
    """Glue named values for ``{glue:text}`name:.2f``` roles (MyST-NB), without displaying them.

    numpy scalars become Python numbers first: their text form (``np.float64(0.1)``) would defeat the
    format spec of the role.
    """
    from myst_nb import glue

    for name, value in values.items():
        if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
            value = value.item()
        glue(name, value, display=False)


def glue_markdown(**values: str) -> None:
    """Glue text that holds Markdown (code spans, command lines) for ``{glue:md}`name``` roles:
    ``{glue:text}`` shows a string as plain text, so its backticks would print and Sphinx's smart quotes
    would turn a command's ``--option`` into a dash."""
    from IPython.display import Markdown
    from myst_nb import glue

    for name, value in values.items():
        glue(name, Markdown(value), display=False)


def interactive(fig, height: int | None = None):
    """Show a plotly figure in the book without a CDN: HTML that expects plotly.js to be on the page (this
    module's Sphinx extension adds a local copy to every page that holds such a figure)."""
    from IPython.display import HTML

    html = fig.to_html(include_plotlyjs=False, full_html=False, default_height=height or "100%",
                       config={"responsive": True, "displaylogo": False})
    return HTML(html)


def _page_context(app, pagename, templatename, context, doctree):
    """Per page: add the local plotly.js where a plotly figure is; drop duplicated script tags.

    The duplicates: sphinx-thebe (loaded by Jupyter Book 1 even with thebe off) registers its inline
    ``const THEBE_JS_URL = ...`` script once per read phase, and a second copy on the page is a SyntaxError
    in the browser console.
    """
    if "plotly-graph-div" in (context.get("body") or ""):
        app.add_js_file(PLOTLY_JS, priority=100)
    scripts = context.get("script_files")
    if scripts:
        seen, unique = set(), []
        for js in scripts:
            attributes = getattr(js, "attributes", None) or {}
            key = (str(getattr(js, "filename", js) or ""),
                   tuple(sorted((k, str(v)) for k, v in attributes.items())))
            if key not in seen:
                seen.add(key)
                unique.append(js)
        context["script_files"] = unique


def _write_plotly_js(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    from plotly.offline import get_plotlyjs

    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    (static / PLOTLY_JS).write_text(get_plotlyjs(), encoding="utf-8")


def setup(app):
    """Sphinx extension: local plotly.js for pages with :func:`interactive` figures."""
    app.connect("html-page-context", _page_context, priority=100)
    app.connect("build-finished", _write_plotly_js)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

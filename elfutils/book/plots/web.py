"""What the web page adds to a figure: interactive maps with a search box and a band panel on hover
(:func:`map_search_html`), and tables for download (:func:`csv_download_html`)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from elfutils.book.plots.style import cluster_colors, n_labels
from elfutils.constants import (  # noqa: F401 (notebooks use them)
    PAPER_CO_CLUSTERED,
    PAPER_FIG3_CLUSTERS,
    PAPER_FIG4_SKEWED,
    PAPER_FIG5_MOTIFS,
)


# --- interactive map ---------------------------------------------------------------------------------------
def interactive_map(table: pd.DataFrame, extra: Mapping[str, Sequence] | None = None, colors=None):
    """The fingerprint map as a plotly figure: one trace per cluster (click the legend to hide one,
    double-click to isolate it), unclassified in grey. Hover: material id, formula, cluster, membership
    probability, DBSCAN group and any ``extra`` columns (name -> values aligned with ``table``).

    Uses SVG ``Scatter`` (not WebGL), so it renders in any browser.
    """
    import plotly.graph_objects as go
    from matplotlib.colors import to_hex

    labels = table["hdbscan_label"].to_numpy()
    colors = list(colors) if colors is not None else cluster_colors(n_labels(labels))
    extra = dict(extra or {})
    custom = [table["material_id"].astype(str), table["formula"].astype(str), labels,
              table["probability"].to_numpy(float), table["dbscan_group"].to_numpy()]
    custom += [pd.Series(v).astype(str).to_numpy() for v in extra.values()]
    custom = np.column_stack([np.asarray(c, dtype=object) for c in custom]) if len(table) else None
    lines = ["<b>%{customdata[0]}</b> %{customdata[1]}", "cluster %{customdata[2]}",
             "probability %{customdata[3]:.2f}", "DBSCAN group %{customdata[4]}"]
    lines += [f"{name} %{{customdata[{5 + i}]}}" for i, name in enumerate(extra)]
    template = "<br>".join(lines) + "<extra></extra>"
    fig = go.Figure()
    for c in [-1, *range(n_labels(labels))]:
        mask = labels == c
        if not mask.any():
            continue
        fig.add_trace(go.Scatter(
            x=table["umap_x"].to_numpy()[mask], y=table["umap_y"].to_numpy()[mask], mode="markers",
            name="unclassified" if c < 0 else f"cluster {c} ({int(mask.sum())})",
            marker={"size": 4 if c < 0 else 7, "color": "#b8b8b8" if c < 0 else to_hex(colors[c]),
                    "line": {"width": 0.3, "color": "white"}},
            customdata=custom[mask], hovertemplate=template))
    fig.update_layout(template="plotly_white", height=620, margin={"l": 40, "r": 10, "t": 30, "b": 40},
                      xaxis_title="UMAP 1", yaxis_title="UMAP 2", legend={"itemsizing": "constant"},
                      yaxis={"scaleanchor": "x", "scaleratio": 1})
    return fig


THUMBNAIL_SIDE = 96  # px of the band image the interactive maps show on hover (1 bit a pixel: ~0.5 kB each)


def band_thumbnails(images: Mapping[str, np.ndarray], side: int = THUMBNAIL_SIDE) -> dict[str, str]:
    """material_id -> a ``data:`` URI of its band image as a ``side`` px, one-bit PNG (line pixels black): a
    pixel is black when a fifth or more of the area it covers is line, so thin bands survive the shrink."""
    import base64
    import io

    from PIL import Image

    out = {}
    for material_id, image in images.items():
        white = Image.fromarray((255 * (1 - np.asarray(image, dtype=float))).astype(np.uint8))
        small = white.resize((side, side), Image.Resampling.BOX).point(lambda v: 255 if v > 204 else 0)
        buffer = io.BytesIO()
        small.convert("1").save(buffer, format="png", optimize=True)
        out[str(material_id)] = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return out


def _band_panel_html(div_id: str, window: float) -> str:
    """The panel beside a map that shows the hovered material's band image on its energy axis (ticks at
    ±window, ±window/2 and 0 eV) with the zero line."""
    blank = band_thumbnails({"": np.zeros((THUMBNAIL_SIDE, THUMBNAIL_SIDE))})[""]  # until one is shown
    ticks = "".join(
        f'<span style="position:absolute;right:0.3em;top:{100 * (window - e) / (2 * window):g}%;'
        f'transform:translateY(-50%)">{f"{e:g}".replace("-", "−")}</span>'
        for e in (window, window / 2, 0.0, -window / 2, -window))
    return f"""<div class="elf-band-panel" style="flex:0 0 12em;font-size:0.8em">
<div id="{div_id}-band-title" style="min-height:2.6em">Hover over or click a material to see its bands.</div>
<div style="display:flex;align-items:stretch">
<div style="position:relative;width:2.4em;height:160px">{ticks}</div>
<div style="position:relative;width:160px;height:160px;border:1px solid #444;background:#fff">
<img id="{div_id}-band" alt="band image of the material under the pointer" src="{blank}" \
style="width:100%;height:100%;image-rendering:pixelated;visibility:hidden">
<div style="position:absolute;left:0;right:0;top:50%;border-top:1px dotted #d62728"></div>
</div></div>
<div style="margin-left:2.4em">E − E<sub>0</sub> (eV) against the k-path</div>
</div>"""


def map_search_html(fig, table: pd.DataFrame, div_id: str = "elf-map",
                    images: Mapping[str, np.ndarray] | None = None, window: float | None = None) -> str:
    """HTML for :func:`interactive_map` with a search box: typing a material id (``2dm-2474``) or a formula
    (``InAs``) points an arrow at every matching material. With ``images`` (material_id -> band image drawn
    in ±``window`` eV, default the paper's), a panel beside the map shows the band image of the material under
    the pointer, or of the one clicked or found, on its energy axis with the zero line
    (:func:`band_thumbnails`). Expects plotly.js on the page (as :func:`elfutils.book.sphinx_ext.interactive`
    does: the book's Sphinx extension adds a local copy)."""
    from elfutils.constants import ENERGY_WINDOW_EV

    plot = fig.to_html(include_plotlyjs=False, full_html=False, div_id=div_id, default_height=620,
                       config={"responsive": True, "displaylogo": False})
    columns = zip(table["material_id"], table["formula"], table["umap_x"], table["umap_y"],
                  table["hdbscan_label"], strict=True)
    points = {str(m): [round(float(x), 4), round(float(y), 4), str(f), int(c)] for m, f, x, y, c in columns}
    options = "".join(f'<option value="{html.escape(m)} {html.escape(v[2])}"></option>'
                      for m, v in points.items())
    data = json.dumps(points).replace("</", "<\\/")
    shown = {m: images[m] for m in points if images is not None and m in images}
    pictures = json.dumps(band_thumbnails(shown)).replace("</", "<\\/")
    panel = _band_panel_html(div_id, ENERGY_WINDOW_EV if window is None else float(window)) if shown else ""
    return f"""<div class="elf-map-search" style="margin:0.4em 0 0.4em 0">
<label for="{div_id}-q">Find a material (id or formula): </label>
<input id="{div_id}-q" list="{div_id}-list" placeholder="e.g. 2dm-1 or IrF2" size="26">
<button type="button" id="{div_id}-clear">clear</button>
<span id="{div_id}-msg" style="margin-left:0.6em;color:#555"></span>
<datalist id="{div_id}-list">{options}</datalist>
</div>
<div style="display:flex;gap:0.8em;align-items:flex-start">
<div style="flex:1 1 auto;min-width:0">{plot}</div>
{panel}
</div>
<script>
(function () {{
  var points = {data};
  var pictures = {pictures};
  var input = document.getElementById("{div_id}-q");
  var msg = document.getElementById("{div_id}-msg");
  function show(id) {{
    var img = document.getElementById("{div_id}-band");
    if (!img || !pictures[id]) {{ return; }}
    img.src = pictures[id];
    img.style.visibility = "visible";
    var p = points[id];
    document.getElementById("{div_id}-band-title").textContent =
      id + " " + (p ? p[2] + " (cluster " + p[3] + ")" : "");
  }}
  function hook() {{
    var gd = document.getElementById("{div_id}");
    if (!gd || typeof gd.on !== "function") {{ setTimeout(hook, 100); return; }}
    var pick = function (ev) {{
      if (ev && ev.points && ev.points.length) {{ show(ev.points[0].customdata[0]); }}
    }};
    gd.on("plotly_hover", pick);
    gd.on("plotly_click", pick);
  }}
  hook();
  function mark(query) {{
    var gd = document.getElementById("{div_id}");
    if (!gd || typeof Plotly === "undefined") {{ return; }}
    var q = query.trim().split(/\\s+/)[0] || "";
    var hits = [];
    if (points[q]) {{ hits.push(q); }} else if (q) {{
      for (var id in points) {{ if (points[id][2].toLowerCase() === q.toLowerCase()) {{ hits.push(id); }} }}
    }}
    var notes = hits.slice(0, 20).map(function (id) {{
      var p = points[id];
      return {{x: p[0], y: p[1], text: id + " " + p[2] + " (cluster " + p[3] + ")", showarrow: true,
              arrowhead: 2, ax: 40, ay: -40, bgcolor: "rgba(255,255,255,0.9)", bordercolor: "#222"}};
    }});
    Plotly.relayout(gd, {{annotations: notes}});
    if (hits.length) {{ show(hits[0]); }}
    msg.textContent = q ? (hits.length ? hits.length + " found" : "not in this map") : "";
  }}
  input.addEventListener("change", function () {{ mark(input.value); }});
  input.addEventListener("keydown", function (e) {{ if (e.key === "Enter") {{ mark(input.value); }} }});
  document.getElementById("{div_id}-clear").addEventListener("click", function () {{
    input.value = ""; mark("");
  }});
}})();
</script>"""


def csv_download_html(table: pd.DataFrame, filename: str, text: str | None = None,
                      max_height: str = "22em") -> str:
    """A self-contained download link for a table (CSV in a ``data:`` URI, so it needs no file beside the
    page) above a scrollable copy of the table."""
    import base64

    payload = base64.b64encode(table.to_csv(index=False).encode()).decode()
    link = (f'<p><a download="{html.escape(filename)}" href="data:text/csv;base64,{payload}">'
            f"{html.escape(text or 'Download ' + filename)}</a> ({len(table)} rows)</p>")
    body = table.to_html(index=False, classes="dataframe", border=0, float_format=lambda v: f"{v:.3f}",
                         na_rep="–")  # a missing cell as the book shows one (tables.MISSING_CELL)
    return f'{link}<div style="max-height:{max_height};overflow-y:auto">{body}</div>'

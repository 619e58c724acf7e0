"""The book's notebooks run in the smoke profile and produce their figures and glued numbers; the book tooling
(elfutils.book.notebooks: execute, linkcheck, TOC) behaves.

Every chapter in ``_toc.yml`` runs in CI: a new chapter needs only its notebook and its line in the table of
contents. ``NOTEBOOKS`` may add, per chapter, the least number of figures it must draw and the glue names the
checks should insist on (every glue name its text uses is checked anyway).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from elfutils.book import environment, linkcheck, notebooks, sphinx_ext

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

# source name -> (minimum number of image/png outputs, glue names that must exist)
NOTEBOOKS = {
    "data": (3, ("n_pool", "n_structures", "card_n_done", "fixture_iou_median", "gaps_n", "gaps_n_not_layer",
                 "conv_twin_pct", "conv_far_conduction", "conv_n_soc")),
    "reproducibility": (1, ("git_commit", "profile_name", "machine_device")),
    "fig1_training": (3, ("final_train_bce", "final_val_bce", "val_train_percent", "epochs", "n_train",
                          "train_minutes", "device", "paper_bce", "baseline_bce")),
    "fig6_latent_space": (2, ("walk_a_low", "walk_a_high", "walk_b_low", "walk_b_high", "walk_a_changed_max",
                              "walk_b_changed_max")),
    "supp_architectures": (3, ("n_variants", "arch_epochs", "reference_val_bce", "reference_n_clusters",
                               "deeper_val_change")),
    "fig2_fingerprint_space": (6, ("n_materials", "n_clusters", "n_unclassified", "n_groups", "eps",
                                   "eps_rule",
                                   "frac_pure", "n_pure", "nn_same", "paper_n_clusters", "n_chem_dominated",
                                   "chem_ami", "chem_verdict", "flat_eta2", "flat_top_text")),
    "fig3_exemplars": (1, ("n_shown_clusters", "n_named_pairs", "n_named_in_data", "n_named_same",
                           "nc4_present", "nc4_verdict")),
    "fig4_square_octagon": (2, ("n_named", "n_agree", "skewed_angles", "n_square_octagon", "so_median_all")),
    "fig5_structure": (2, ("n_cnnf_clusters", "n_localised", "radius", "min_members", "paper_n_localised",
                           "big_motifs")),
    "table1_duplicates": (2, ("threshold", "n_candidates", "n_table1_present", "n_table1_found",
                              "paper_max")),
    "figure_reading": (2, ("verdict", "study_text", "example_text", "search_text", "failure_text")),
    "use_elf": (1, ("readers_text", "distance_text", "downloads_text")),
    "elf2": (1, ("verdict", "ys_n_materials", "n_queries", "n_perturbed")),
    "fig7_parameter_study": (4, ("ours_at_paper_n_clusters", "ours_at_paper_n_unclassified",
                                 "ours_at_paper_dbcv", "ours_at_paper_s_dbw",
                                 "rule_text", "suggestion", "paper_verdict")),
    "supp_tsne": (2, ("trustworthiness_umap", "trustworthiness_tsne", "knn_preserved_umap",
                      "knn_preserved_tsne",
                      "overlap", "k")),
    "similarity_search": (1, ("query_id", "twin_text", "cli_exit_code", "cluster_text",
                              "duplicate_threshold", "atlas_exit_code", "atlas_n_materials")),
    "fingerprint_quality": (3, ("elf_twin_hits", "robust_n", "elf_wins", "ours_clusters",
                                "library_euclid_ari", "verdict")),
    "atlas": (3, ("n_materials", "n_pool", "elf_auc", "elf_top", "best_baseline_auc", "discovery_sentence",
                  "params_verdict", "n_flat_clusters", "exemplar_flat_share", "atlas_train_bce",
                  "overlap_reference", "kept_atlas", "flat_model_auc")),
    "paper_vs_reproduction": (0, ("n_rows", "n_materials", "train_bce", "n_clusters", "n_candidates")),
}

GLUE_ROLE = re.compile(r"\{glue(?::(?:text|any|md|math))?\}`([^`]+)`")
GLUE_DIRECTIVE = re.compile(r"```\{glue(?::(?:any|figure|math|md))?\}\s+(\S+)")


def glue_names_used(source: Path) -> set[str]:
    """Glue keys a jupytext source's markdown takes from itself (format specs stripped; ``other::key``
    references to other chapters left out)."""
    text = source.read_text()
    has_spec = re.compile(r"[^:]:[^:]*[a-zA-Z%]$")
    names = {m.rsplit(":", 1)[0] if has_spec.search(m) else m for m in GLUE_ROLE.findall(text)}
    names |= set(GLUE_DIRECTIVE.findall(text))
    return {n for n in names if "::" not in n}


def glued(nb) -> dict[str, dict]:
    """Glued values of an executed notebook: name -> mime bundle (MyST-NB glue / papermill record outputs)."""
    out = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook", {})
            if meta.get("name"):
                prefix = meta.get("mime_prefix", "")
                out[meta["name"]] = {k.removeprefix(prefix): v for k, v in output.get("data", {}).items()}
    return out


def figures(nb) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


@pytest.fixture(scope="session")
def book_cache(tmp_path_factory):
    """One cache for every notebook of the session (a smoke model is trained once, not per notebook)."""
    return tmp_path_factory.mktemp("elf-cache")


@pytest.fixture(scope="session")
def executed(tmp_path_factory, book_cache):
    """Execute each notebook once per session, through the command line the Makefile uses."""
    out_dir = tmp_path_factory.mktemp("executed")
    done: dict[str, Path] = {}

    def run(name: str) -> Path:
        if name not in done:
            dst = out_dir / f"{name}.ipynb"
            env = {**os.environ, "ELF_CACHE_DIR": str(book_cache)}
            proc = subprocess.run(
                [sys.executable, "-m", "elfutils.book.notebooks", "execute", str(BOOK / f"{name}.py"),
                 str(dst),
                 "--profile", "smoke"], capture_output=True, text=True, env=env, timeout=1800)
            assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
            done[name] = dst
        return done[name]

    return run


TOC_CHAPTERS = sorted(source.stem for source in linkcheck.toc_sources())  # the chapters _toc.yml builds


@pytest.mark.slow
@pytest.mark.parametrize("name", TOC_CHAPTERS)
def test_notebook_runs_in_smoke_profile(name, executed):
    min_figures, required = NOTEBOOKS.get(name, (0, ()))
    nb = nbformat.read(str(executed(name)), as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert figures(nb) >= min_figures, f"{name}: {figures(nb)} figure(s), expected at least {min_figures}"
    values = glued(nb)
    missing = (set(required) | glue_names_used(BOOK / f"{name}.py")) - set(values)
    assert not missing, f"{name}: text uses glue names that the notebook never glues: {sorted(missing)}"
    assert all("text/plain" in v for v in values.values())
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "smoke" in injected[0].source
    assert nb.metadata["elf"]["profile"] == "smoke"
    assert nb.metadata["kernelspec"]["name"] == notebooks.KERNEL_NAME


def test_every_notebook_source_has_one_parameters_cell():
    for source in sorted(BOOK.glob("[a-z]*.py")):
        nb = notebooks.read_source(source)
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert "profile" in params[0].source, f"{source.name}: the parameters cell must define profile"
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), \
            f"{source.name}: must open with an H1 title"


def test_toc_lists_existing_sources_and_pages():
    pages = linkcheck.toc_pages()
    assert pages[0] == "book/intro" and (ROOT / "book" / "intro.md").exists()
    for source in linkcheck.toc_sources():
        assert source.exists(), f"_toc.yml lists {source.stem}, but {source.relative_to(ROOT)} does not exist"
    assert set(TOC_CHAPTERS) >= set(NOTEBOOKS), "NOTEBOOKS names a chapter the table of contents lacks"


# --- execute: failures and skipping -------------------------------------------------------------------------
def _source(tmp_path, body: str) -> Path:
    src = tmp_path / "nb.py"
    src.write_text('# %% [markdown]\n# # Title\n\n# %% tags=["parameters"]\nprofile = "default"\n\n' + body)
    return src


@pytest.mark.slow
def test_execute_fails_on_a_cell_error_and_keeps_the_failed_notebook(tmp_path):
    src = _source(tmp_path, "# %%\nraise ValueError(f'bad {profile}')\n")
    dst = tmp_path / "out" / "nb.ipynb"
    env = {**os.environ, "ELF_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "elfutils.book.notebooks", "execute", str(src), str(dst),
                           "--profile", "smoke"], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 1
    assert "ValueError" in proc.stderr and "bad smoke" in proc.stderr
    assert not dst.exists(), "a failed notebook must not land where make would take it as done"
    assert (tmp_path / "out" / "nb.failed.ipynb").exists()


@pytest.mark.slow
def test_execute_injects_the_profile_and_skips_when_up_to_date(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ELF_CACHE_DIR", str(tmp_path / "cache"))  # the timings log goes there
    # the data stays the same between the two runs, even while a DFT batch adds to this checkout's store
    monkeypatch.setattr(notebooks, "data_signature", lambda: "fixed")
    src = _source(tmp_path, "# %%\nimport sys\nprint(profile, sys.executable)\n")
    dst = tmp_path / "nb.ipynb"
    notebooks.execute(src, dst, profile="smoke")
    nb = nbformat.read(str(dst), as_version=4)
    assert nb.cells[-1].outputs[0]["text"].strip() == f"smoke {sys.executable}"
    notebooks.execute(src, dst, profile="smoke", if_changed=True)
    assert "up to date" in capsys.readouterr().out
    assert not notebooks.is_up_to_date(dst, notebooks.execution_signature(src, "default"))
    assert "smoke/nb" in json.loads((tmp_path / "cache" / "timings.json").read_text())["notebooks"]


def test_execute_rejects_bad_sources_and_profiles(tmp_path):
    no_params = tmp_path / "x.py"
    no_params.write_text("# %%\nprint(1)\n")
    with pytest.raises(notebooks.NotebookError, match="exactly one cell tagged 'parameters'"):
        notebooks.read_source(no_params)
    with pytest.raises(notebooks.NotebookError, match="no such notebook source"):
        notebooks.read_source(tmp_path / "missing.py")
    with pytest.raises(ValueError, match="unknown profile"):
        notebooks.execute(_source(tmp_path, ""), tmp_path / "o.ipynb", profile="huge")


def test_kernel_runs_this_interpreter():
    spec = notebooks.kernel_spec()
    assert spec["argv"][0] == sys.executable and spec["language"] == "python"
    assert notebooks.ensure_kernel() == notebooks.KERNEL_NAME
    from jupyter_client.kernelspec import KernelSpecManager

    assert KernelSpecManager().get_kernel_spec(notebooks.KERNEL_NAME).argv[0] == sys.executable


# --- link check ---------------------------------------------------------------------------------------------
def test_linkcheck_reports_missing_files_and_anchors(tmp_path):
    site = tmp_path / "html"
    (site / "book" / "_images").mkdir(parents=True)
    (site / "book" / "_images" / "fig.png").write_bytes(b"png")
    (site / "_static" / "scripts").mkdir(parents=True)
    (site / "_static" / "scripts" / "app.js").write_text("")
    (site / "_static" / "macros.html").write_text('<link href="{{ pathto(x) }}">')  # theme template: ignored
    (site / "book" / "b.html").write_text('<h2 id="sec">x</h2><a name="old"></a>')
    (site / "book" / "a.html").write_text(
        '<a href="b.html#sec">ok</a> <a href="b.html#old">ok</a> <a href="#top">self</a> <p id="top"></p>'
        '<img src="_images/fig.png"> <script src="../_static/scripts/app.js?v=1"></script>'
        '<a href="https://example.org/x">external</a> <a href="mailto:a@b.c">mail</a> <a href="./">dir</a>'
        '<a href="b.html#nope">bad anchor</a> <img src="_images/gone.png"> <a href="c.html">missing</a>'
        '<a href="../../outside.html">outside</a>'
    )
    (site / "book" / "index.html").write_text("<p>index</p>")
    broken = linkcheck.check_links(site)
    assert len(broken) == 4, broken
    assert any("no anchor #nope" in b for b in broken)
    assert any("gone.png" in b for b in broken) and any("c.html" in b for b in broken)
    assert any("outside the built site" in b for b in broken)
    assert notebooks.main(["linkcheck", str(site)]) == 1
    (site / "book" / "a.html").write_text('<a href="b.html#sec">ok</a>')
    assert notebooks.main(["linkcheck", str(site)]) == 0


def test_linkcheck_needs_a_built_book(tmp_path):
    with pytest.raises(notebooks.NotebookError, match="build the book first"):
        linkcheck.check_links(tmp_path / "nothing")


def test_sphinx_extension_adds_plotly_only_where_needed_and_drops_duplicate_scripts():
    from sphinx.builders.html._assets import _JavaScript

    added = []

    class App:
        def add_js_file(self, name, **kwargs):
            added.append(name)

    thebe = {"body": "const THEBE_JS_URL = 1"}
    context = {"body": "<p>no plot</p>", "script_files": [
        _JavaScript(None, **thebe), _JavaScript("_static/a.js"), _JavaScript("", **thebe),
        _JavaScript("_static/a.js"), _JavaScript("_static/b.js", **{"async": "async"})]}
    sphinx_ext._page_context(App(), "p", "page.html", context, None)
    assert added == [] and len(context["script_files"]) == 3
    sphinx_ext._page_context(App(), "p", "page.html", {"body": '<div class="plotly-graph-div">'}, None)
    assert added == [sphinx_ext.PLOTLY_JS]


def test_benchmark_table_names_the_machine_in_both_result_layouts(tmp_path):
    (tmp_path / "render.json").write_text(json.dumps({
        "machine": {"processor": "x86_64", "cpu_count": 2}, "time": "2026-11-25T17:00:00", "speedup": 9.5}))
    (tmp_path / "training-cuda.json").write_text(json.dumps({
        "device_name": "NVIDIA H200", "cpu_count": 16, "date": "2026-11-26T03:58:44",
        "summary": {"train_img_s": 1338.7}}))
    table = environment.benchmark_table(tmp_path).set_index(["benchmark", "measure"])
    render, cuda = table.loc[("render", "speedup")], table.loc[("training-cuda", "summary.train_img_s")]
    assert (render["machine"], render["measured"]) == ("x86_64 x2", "2026-11-25T17:00:00")
    assert (cuda["machine"], cuda["measured"]) == ("NVIDIA H200 x16", "2026-11-26T03:58:44")
    assert cuda["value"] == 1338.7


def test_book_build_table_reads_both_benchmark_files(tmp_path):
    import pandas as pd

    assert environment.book_build_table(tmp_path).empty
    step = {"command": "make book", "seconds": 600.0, "exit_code": 0, "runnable_mean": 2.1}
    (tmp_path / "book-build.json").write_text(json.dumps({
        "profile": "default", "commit": "a" * 40, "time": "2026-11-26T01:00:00", "goal_first_build_s": 1200,
        "steps": {"venv": {**step, "seconds": 60.0}, "first_build": step,
                  "cached_rebuild": {**step, "seconds": 30}}}))
    (tmp_path / "book-build-retrain.json").write_text(json.dumps({
        "profile": "retrain", "commit": "b" * 40, "time": "2026-11-26T02:00:00",
        "steps": {"retrain_build": {**step, "seconds": 9000.0}}}))
    table = environment.book_build_table(tmp_path).set_index(["profile", "step"])
    assert len(table) == 4
    assert table.loc[("default", "first_build"), "minutes"] == 10.0
    assert table.loc[("default", "first_build"), "goal_minutes"] == 20.0
    assert pd.isna(table.loc[("default", "cached_rebuild"), "goal_minutes"])
    assert table.loc[("retrain", "retrain_build"), "minutes"] == 150.0
    assert table.loc[("retrain", "retrain_build"), "commit"] == "b" * 10


def test_executed_notebooks_are_tagged_to_read_like_a_paper():
    import nbformat

    from elfutils.book.notebooks import tag_for_reading

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('profile = "default"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell('profile = "smoke"', metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_markdown_cell("text"),
        nbformat.v4.new_code_cell("plot()"),
        nbformat.v4.new_code_cell("secret()", metadata={"tags": ["remove-input"]}),
    ])
    tags = [c.metadata.get("tags") for c in tag_for_reading(nb).cells]
    assert tags == [["parameters", "hide-input"], ["injected-parameters", "remove-cell"], None,
                    ["hide-input"], ["remove-input"]]

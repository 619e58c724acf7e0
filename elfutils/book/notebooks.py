"""The book's tooling: execute jupytext notebooks with papermill, check the built HTML, view it in Chromium.

Command line (the Makefile calls these)::

    python -m elfutils.book.notebooks execute book/data.py book/_executed/data.ipynb --profile smoke
    python -m elfutils.book.notebooks linkcheck _build/html
    python -m elfutils.book.notebooks browse _build/html --out screenshots

``execute`` converts a py:percent source with jupytext, runs it with papermill on a kernel that is *this*
interpreter (a kernelspec ``elf`` written into the environment at run time, so execution never depends on a
global ``python3`` kernel), injects ``profile`` into the cell tagged ``parameters`` and fails (exit 1) on any
cell error. The executed notebook is moved into place only when the run succeeded (a failed run is kept
beside it as ``NAME.failed.ipynb``), so ``make`` never mistakes a failed notebook for a finished one. Its
metadata records what it was executed from (source, profile, code and data signatures); with ``--if-changed``
an up-to-date notebook is not executed again.

``linkcheck`` checks that every internal ``href``/``src`` of every HTML page of a built book exists, anchors
included (stdlib ``html.parser``). ``browse`` opens each chapter in headless Chromium (Debian ``chromium``),
driven by Selenium through chromedriver (Debian ``chromium-driver``), from a localhost server, with every
other host unreachable, and reports console
errors, failed requests, broken images, and saves a full-page screenshot of each.

This module is also a Sphinx extension (``_config.yml``: ``extra_extensions``): pages with an interactive
plotly figure made by :func:`interactive` get a local copy of plotly.js, so the book needs no CDN.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from elfutils.errors import NotebookError
from elfutils.io import atomic_write_text, atomic_write_via_path
from elfutils.paths import PROJECT_ROOT

KERNEL_NAME = "elf"
DEFAULT_TIMEOUT_S = 4 * 3600  # per cell; training the paper's network on a laptop CPU takes about an hour
PLOTLY_JS = "elf-plotly.min.js"


# --- kernel ------------------------------------------------------------------------------------------------
def kernel_spec() -> dict:
    """A kernelspec that starts ipykernel with this very interpreter."""
    return {
        # log level ERROR: ipykernel 7 warns on every start that local TCP is unencrypted
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--IPKernelApp.log_level=ERROR"],
        "display_name": f"Python {sys.version_info.major}.{sys.version_info.minor} (elf)",
        "language": "python",
        # no progress bars in the book (tqdm falls back to text bars on stderr without ipywidgets, and
        # warns about it on import)
        "env": {"PYTHONHASHSEED": "0", "TQDM_DISABLE": "1", "PYTHONWARNINGS": "ignore:IProgress not found"},
        "metadata": {"debugger": False},
    }


def ensure_kernel() -> str:
    """Install the ``elf`` kernelspec for ``sys.executable`` into this environment; returns its name.

    Falls back to a temporary folder on ``JUPYTER_PATH`` when the environment is read-only.
    """
    spec = json.dumps(kernel_spec(), indent=1) + "\n"
    for base in (Path(sys.prefix) / "share" / "jupyter", None):
        if base is None:
            base = Path(tempfile.mkdtemp(prefix="elf-jupyter-"))
            paths = [str(base), os.environ.get("JUPYTER_PATH")]
            os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in paths if p)
        target = base / "kernels" / KERNEL_NAME / "kernel.json"
        try:
            if not target.exists() or target.read_text() != spec:
                atomic_write_text(target, spec)
            return KERNEL_NAME
        except OSError:
            continue
    raise RuntimeError("could not write a kernelspec")  # pragma: no cover - the temp folder always works


# --- execute -----------------------------------------------------------------------------------------------
def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def code_signature() -> str:
    """Hash of every elfutils source file (a change to the package re-executes the notebooks)."""
    digest = hashlib.sha256()
    for path in sorted((PROJECT_ROOT / "elfutils").rglob("*.py")):
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def data_signature() -> str:
    """Names and sizes of the band stores' parts and of the committed models (cheap; no reading)."""
    from elfutils.paths import committed_models_dir, data_dir

    entries = []
    for root in (data_dir() / "bands", committed_models_dir()):
        if root.exists():
            for path in sorted(root.rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    entries.append(f"{path.relative_to(root)}:{path.stat().st_size}")
    return _sha("\n".join(entries).encode())[:16]


def read_source(src: str | Path):
    """A jupytext source (py:percent, md, ipynb) as an nbformat notebook; it needs one ``parameters`` cell."""
    import jupytext

    src = Path(src)
    if not src.is_file():
        raise NotebookError(f"{src}: no such notebook source")
    nb = jupytext.read(src)
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise NotebookError(f"{src}: needs exactly one cell tagged 'parameters', found {len(tagged)}")
    return nb


def execution_signature(src: Path, profile: str) -> dict:
    return {"source": _sha(Path(src).read_bytes())[:16], "profile": profile, "code": code_signature(),
            "data": data_signature()}


def is_up_to_date(dst: str | Path, signature: dict) -> bool:
    """Whether ``dst`` was executed from exactly this signature."""
    import nbformat

    try:
        nb = nbformat.read(str(dst), as_version=4)
    except (OSError, ValueError):
        return False
    recorded = nb.metadata.get("elf", {})
    return all(recorded.get(k) == v for k, v in signature.items())


def execute(
    src: str | Path,
    dst: str | Path,
    profile: str = "default",
    timeout: int | None = None,
    if_changed: bool = False,
    parameters: dict | None = None,
) -> Path:
    """Execute a notebook source into ``dst`` with papermill; raises NotebookError on any failure, and before
    a kernel starts when the profile's band store is missing (the message says how to build it).

    Args:
        src: jupytext source (``book/x.py``).
        dst: executed notebook (``book/_executed/x.ipynb``), written only on success.
        profile: the value injected as ``profile`` (see :mod:`elfutils.book.profiles`).
        timeout: per-cell limit in seconds (default ``ELF_CELL_TIMEOUT`` or 4 hours).
        if_changed: skip when ``dst`` records the same source, profile, code and data.
        parameters: further parameters to inject.
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from elfutils.book import figure_notes
    from elfutils.book.pipeline import MissingStoreError, require_store
    from elfutils.book.profiles import get_profile

    src, dst = Path(src), Path(dst)
    try:  # unknown names and missing data fail here, before a kernel starts
        require_store(get_profile(profile))
    except MissingStoreError as exc:
        raise NotebookError(f"{src}: {exc}") from None
    nb = read_source(src)
    # hidden first cell: figures carry notes on their band images for the built-book checker
    setup = nbformat.v4.new_code_cell(figure_notes.SETUP_SOURCE, metadata={"tags": ["remove-cell"]})
    nb.cells.insert(0, setup)
    signature = execution_signature(src, profile)
    if if_changed and is_up_to_date(dst, signature):
        print(f"{dst}: up to date ({profile})")
        return dst
    timeout = int(timeout or os.environ.get("ELF_CELL_TIMEOUT", DEFAULT_TIMEOUT_S))
    kernel = ensure_kernel()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel_spec()["display_name"],
                                 "language": "python"}
    nb.metadata.setdefault("language_info", {"name": "python"})
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.stem}.executing.ipynb")
    failed = dst.with_name(f"{dst.stem}.failed.ipynb")
    start = time.perf_counter()
    print(f"executing {src} -> {dst} (profile {profile})", flush=True)
    try:
        papermill.execute_notebook(
            nb, str(tmp), parameters={"profile": profile, **(parameters or {})}, kernel_name=kernel,
            cwd=str(src.resolve().parent), execution_timeout=timeout, progress_bar=False, start_timeout=120,
        )
    except PapermillExecutionError as exc:
        if tmp.exists():
            os.replace(tmp, failed)
        raise NotebookError(
            f"{src}: cell {exc.exec_count} raised {exc.ename}: {exc.evalue}\n"
            f"(the partly executed notebook is in {failed})"
        ) from None
    except Exception as exc:
        if tmp.exists():
            os.replace(tmp, failed)
        raise NotebookError(f"{src}: execution failed: {type(exc).__name__}: {exc}") from exc
    seconds = time.perf_counter() - start
    out = tag_for_reading(nbformat.read(str(tmp), as_version=4))
    out.metadata["elf"] = {**signature, "executed_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                           "seconds": round(seconds, 1), "python": sys.executable}
    atomic_write_via_path(dst, lambda path: nbformat.write(out, path))
    tmp.unlink(missing_ok=True)
    failed.unlink(missing_ok=True)
    _record_notebook_time(src.stem, profile, seconds)
    print(f"{dst}: executed in {seconds:.1f} s", flush=True)
    return dst


READER_TAGS = {"remove-cell", "remove-input", "hide-input", "show-input", "hide-cell", "hide-output"}


def tag_for_reading(nb):
    """Tags that let the book read like a paper: papermill's injected-parameters cell is removed (the
    chapter's own parameters cell already shows them), and every code cell without a display tag of its own
    gets ``hide-input`` — figures and text lead, the code is one click away."""
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags:
            tags.append("remove-cell")
        elif not READER_TAGS & set(tags):
            tags.append("hide-input")
    return nb


def _record_notebook_time(name: str, profile: str, seconds: float) -> None:
    with contextlib.suppress(OSError):
        from elfutils.book.pipeline import record_timing

        record_timing("notebooks", f"{profile}/{name}", {
            "profile": profile, "notebook": name, "seconds": round(seconds, 1),
            "executed_at": time.strftime("%Y-%m-%dT%H:%M:%S")})


from elfutils.book.browser import browse  # noqa: E402  (the command line's subcommands)
from elfutils.book.linkcheck import built_pages, check_links  # noqa: E402


# --- command line -------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m elfutils.book.notebooks",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("execute", help="execute a jupytext source with papermill")
    ex.add_argument("src")
    ex.add_argument("dst")
    ex.add_argument("--profile", default="default")
    ex.add_argument("--timeout", type=int, default=None, help="per-cell limit in s (default 4 h)")
    ex.add_argument("--if-changed", action="store_true",
                    help="skip when DST was executed from the same source, profile, code and data")
    lc = sub.add_parser("linkcheck", help="check the internal links of a built book")
    lc.add_argument("html_dir")
    br = sub.add_parser("browse", help="load every chapter in headless Chromium, save screenshots")
    br.add_argument("html_dir")
    br.add_argument("--out", default="screenshots")
    br.add_argument("--page", action="append", help="a page relative to HTML_DIR (default: the TOC's)")
    args = parser.parse_args(argv)
    try:
        if args.command == "execute":
            execute(args.src, args.dst, args.profile, args.timeout, args.if_changed)
            return 0
        if args.command == "linkcheck":
            broken = check_links(args.html_dir)
            for line in broken:
                print(line)
            n_pages = len(built_pages(args.html_dir))
            print(f"linkcheck: {len(broken)} broken internal link(s) in {n_pages} page(s)")
            return 1 if broken else 0
        results = browse(args.html_dir, args.page, args.out)
        bad = 0
        for r in results:
            status = "ok" if not r["problems"] else f"{len(r['problems'])} problem(s)"
            print(f"{r['page']}: {status}, {r['images']} image(s), screenshot {r['screenshot']}")
            for problem in r["problems"]:
                print(f"    {problem}")
            bad += bool(r["problems"])
        return 1 if bad else 0
    except (NotebookError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

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
included (stdlib ``html.parser``). ``browse`` opens each chapter in headless Chromium (Debian ``chromium``)
over the DevTools protocol from a localhost server, with every other host unreachable, and reports console
errors, failed requests, broken images, and saves a full-page screenshot of each.

This module is also a Sphinx extension (``_config.yml``: ``extra_extensions``): pages with an interactive
plotly figure made by :func:`interactive` get a local copy of plotly.js, so the book needs no CDN.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

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
class NotebookError(RuntimeError):
    """A notebook that cannot be executed or failed while executing."""


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
    from elfutils.paths import data_dir, models_dir

    entries = []
    for root in (data_dir() / "bands", models_dir()):
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

    from elfutils.book.pipeline import MissingStoreError, require_store
    from elfutils.book.profiles import get_profile

    src, dst = Path(src), Path(dst)
    try:  # unknown names and missing data fail here, before a kernel starts
        require_store(get_profile(profile))
    except MissingStoreError as exc:
        raise NotebookError(f"{src}: {exc}") from None
    nb = read_source(src)
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


# --- browser ------------------------------------------------------------------------------------------------
def find_chromium() -> str | None:
    """The Chromium binary: ``ELF_CHROMIUM``, else chromium / chromium-browser / google-chrome on PATH."""
    if os.environ.get("ELF_CHROMIUM"):
        return os.environ["ELF_CHROMIUM"]
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request log on stderr
        pass


@contextlib.contextmanager
def serve(root: str | Path):
    """Serve a folder on ``http://127.0.0.1:<free port>/`` in a thread; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# Evaluated in each page once it has loaded: title, amount of text, images and those that did not load.
PAGE_PROBE_JS = """(async () => {
  await Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)));
  const main = document.querySelector('main') || document.body;
  return {title: document.title, text: main.innerText.length, images: document.images.length,
          plots: document.querySelectorAll('.js-plotly-plot').length,
          broken: Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)
                       .map(i => i.currentSrc || i.src)};
})()"""


class _CDP:
    """A minimal Chrome DevTools Protocol client on one page target (tornado's websocket client)."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.events: list[dict] = []

    @classmethod
    async def connect(cls, url: str):
        from tornado.websocket import websocket_connect

        return cls(await websocket_connect(url, max_message_size=512 * 1024 * 1024))

    async def _read(self, timeout: float) -> dict:
        msg = await asyncio.wait_for(self.ws.read_message(), timeout)
        if msg is None:
            raise NotebookError("the browser closed the DevTools connection")
        return json.loads(msg)

    async def call(self, method: str, timeout: float = 60.0, **params) -> dict:
        self.next_id += 1
        my_id = self.next_id
        await self.ws.write_message(json.dumps({"id": my_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            msg = await self._read(max(deadline - time.monotonic(), 0.01))
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise NotebookError(f"DevTools {method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    async def wait_event(self, method: str, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        for ev in self.events:
            if ev["method"] == method:
                return ev
        while time.monotonic() < deadline:
            try:
                msg = await self._read(max(deadline - time.monotonic(), 0.01))
            except TimeoutError:
                return None
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method:
                    return msg
        return None

    async def drain(self, seconds: float) -> None:
        """Collect events for ``seconds``."""
        await self.wait_event("__never__", seconds)

    async def evaluate(self, expression: str):
        res = await self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                              awaitPromise=True)
        return res.get("result", {}).get("value")


def screenshot_name(page: str) -> str:
    """``book/_executed/data.html`` -> ``data``, ``book/intro.html`` -> ``intro``; other folders: ``a__b``."""
    name = page.removesuffix(".html")
    for prefix in ("book/_executed/", "book/"):
        name = name.removeprefix(prefix)
    return name.replace("/", "__")


def _console_problems(events: list[dict], base_url: str) -> list[str]:
    out = []
    for ev in events:
        method, params = ev["method"], ev.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            out.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            desc = details.get("exception", {}).get("description") or details.get("text", "")
            out.append(f"uncaught exception: {desc}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            text = f"{entry.get('source', 'log')} error: {entry.get('text', '')} {entry.get('url', '')}"
            out.append(text.strip())
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            out.append(f"request failed: {params.get('errorText', '')} ({params.get('type', '')})")
    return out


async def _browse_async(port_file: Path, base_url: str, pages: list[str], out_dir: Path | None,
                        width: int, max_height: int, settle_s: float) -> list[dict]:
    import urllib.request

    deadline = time.monotonic() + 60
    while not port_file.exists() or len(port_file.read_text().split()) < 2:
        if time.monotonic() > deadline:
            raise NotebookError("Chromium did not open its DevTools port within 60 s")
        await asyncio.sleep(0.1)
    port = port_file.read_text().split()[0]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as fh:
        targets = [t for t in json.load(fh) if t.get("type") == "page"]
    if not targets:
        raise NotebookError("Chromium has no page target")
    cdp = await _CDP.connect(targets[0]["webSocketDebuggerUrl"])
    for domain in ("Page", "Runtime", "Log", "Network"):
        await cdp.call(f"{domain}.enable")
    await cdp.call("Network.setCacheDisabled", cacheDisabled=True)
    results = []
    for page in pages:
        url = base_url + page
        await cdp.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1,
                       mobile=False)
        cdp.events.clear()
        await cdp.call("Page.navigate", url=url)
        loaded = await cdp.wait_event("Page.loadEventFired", 60)
        await cdp.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')")
        await cdp.drain(settle_s)
        info = await cdp.evaluate(PAGE_PROBE_JS) or {}
        problems = _console_problems(cdp.events, base_url)
        if loaded is None:
            problems.append("the page did not finish loading within 60 s")
        if not info.get("text"):
            problems.append("the page shows no text")
        problems += [f"broken image: {src}" for src in info.get("broken", [])]
        shot = None
        if out_dir is not None:
            metrics = await cdp.call("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics.get("contentSize", {})
            height = int(min(max(size.get("height", 900), 600), max_height))
            await cdp.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                           deviceScaleFactor=1, mobile=False)
            await cdp.drain(0.3)
            png = await cdp.call("Page.captureScreenshot", format="png", timeout=120)
            shot = out_dir / (screenshot_name(page) + ".png")
            shot.write_bytes(base64.b64decode(png["data"]))
        results.append({"page": page, "url": url, "title": info.get("title", ""),
                        "images": info.get("images", 0), "plots": info.get("plots", 0), "problems": problems,
                        "screenshot": str(shot) if shot else None})
    cdp.ws.close()
    return results


def browse(
    html_dir: str | Path,
    pages: list[str] | None = None,
    out_dir: str | Path | None = None,
    width: int = 1280,
    max_height: int = 8000,
    settle_s: float = 1.5,
) -> list[dict]:
    """Load pages of a built book in headless Chromium; one dict per page (page, url, title, images,
    plots (rendered plotly figures), problems, screenshot). ``problems`` lists console errors, uncaught
    exceptions, failed requests and broken images; hosts other than the local server are unreachable, so a
    page that needs the internet fails.

    Args:
        html_dir: the built HTML (``_build/html``).
        pages: paths relative to it (default: every page of ``_toc.yml``).
        out_dir: where full-page screenshots go (:func:`screenshot_name` + ``.png``); None for none.
    """
    chromium = find_chromium()
    if chromium is None:
        raise NotebookError("no Chromium found: install the Debian package (make browser) "
                            "or set ELF_CHROMIUM")
    html_dir = Path(html_dir)
    if pages is None:
        pages = [p + ".html" for p in toc_pages()]
    missing = [p for p in pages if not (html_dir / p).is_file()]
    if missing:
        raise NotebookError(f"{html_dir}: missing page(s) {', '.join(missing)} (build the book first)")
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="elf-chromium-") as profile_dir, serve(html_dir) as base_url:
        log = open(Path(profile_dir) / "chromium.log", "wb")
        args = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
            "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", f"--user-data-dir={profile_dir}",
            "--remote-debugging-port=0", "--remote-allow-origins=*",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "about:blank",
        ]
        proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        try:
            return asyncio.run(_browse_async(Path(profile_dir) / "DevToolsActivePort", base_url, pages,
                                             out_dir, width, max_height, settle_s))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


# --- what built the book (the reproducibility chapter) ------------------------------------------------------
BOOK_PACKAGES = (
    "elfutils", "numpy", "scipy", "pandas", "pyarrow", "matplotlib", "torch", "torchvision", "safetensors",
    "scikit-learn", "hdbscan", "umap-learn", "pymatgen", "matminer", "gpaw", "ase", "plotly", "jupyter-book",
    "myst-nb", "sphinx", "papermill", "jupytext", "ipykernel",
)


def git_state() -> dict:
    """{"commit": short hash or "unknown ...", "dirty": tracked files changed (None if unknown)}."""

    def git(*args):
        done = subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30)
        if done.returncode:
            raise OSError(done.stderr)
        return done.stdout.strip()

    try:
        return {"commit": git("rev-parse", "--short=12", "HEAD"),
                "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown (not a git checkout)", "dirty": None}


def package_versions(packages=BOOK_PACKAGES) -> dict[str, str]:
    """Python's version and each package's installed version ("not installed" when absent)."""
    import platform
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def machine_info() -> dict:
    """Platform, CPU model, cores, memory (GiB), torch device and GPU, torch threads, interpreter."""
    import platform

    import torch

    from elfutils.paths import default_device

    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        memory = float("nan")
    return {"platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count(),
            "memory_gib": round(memory, 1), "device": default_device(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
            "torch_threads": torch.get_num_threads(), "interpreter": sys.executable}


def _numbers(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            out[f"{prefix}{key}"] = value
        elif isinstance(value, dict) and len(value) <= 12 and key != "machine":
            out.update(_numbers(value, f"{prefix}{key}."))
    return out


def _machine(result: dict) -> str:
    """Where a benchmark ran, from either layout the scripts write: a ``machine`` dict (bench_render,
    bench_book) or top-level device_name / cpu_count (bench_training), e.g. "NVIDIA H200 x16"."""
    machine = result.get("machine", {})
    if isinstance(machine, str):  # a one-line description
        return machine
    name = machine.get("processor") or result.get("device_name", "")
    where = f"{name} x{machine.get('cpu_count', result.get('cpu_count', '?'))}"
    if machine.get("device"):
        where += f", {machine['device']}"
    return where


def benchmark_table(folder: str | Path = PROJECT_ROOT / "benchmarks" / "results"):
    """Every number recorded in ``benchmarks/results/*.json`` (nested keys joined by dots; per-item dicts of
    more than 12 entries left out): a DataFrame with benchmark, measure, value, machine, measured."""
    import pandas as pd

    rows = []
    for path in sorted(Path(folder).glob("*.json")):
        data = json.loads(path.read_text())
        for measure, value in _numbers(data).items():
            rows.append({"benchmark": path.stem, "measure": measure, "value": value,
                         "machine": _machine(data), "measured": data.get("time") or data.get("date", "")})
    return pd.DataFrame(rows, columns=["benchmark", "measure", "value", "machine", "measured"])


def book_build_table(folder: str | Path = PROJECT_ROOT / "benchmarks" / "results"):
    """What benchmarks/bench_book.py recorded (book-build*.json): a DataFrame with one row per timed step
    (profile, step, minutes, goal in minutes where one was set, exit code, mean runnable tasks, commit,
    measured); empty when never run."""
    import pandas as pd

    rows = []
    for path in sorted(Path(folder).glob("book-build*.json")):
        data = json.loads(path.read_text())
        for step, run in data.get("steps", {}).items():
            goal = data.get("goal_first_build_s") if step == "first_build" else None
            rows.append({"profile": data.get("profile"), "step": step, "minutes": round(run["seconds"] / 60,
                                                                                        1),
                         "goal_minutes": goal / 60 if goal else None, "exit_code": run.get("exit_code"),
                         "runnable_mean": run.get("runnable_mean"), "commit": str(data.get("commit",
                                                                                           ""))[:10],
                         "measured": data.get("time", "")})
    columns = ["profile", "step", "minutes", "goal_minutes", "exit_code", "runnable_mean", "commit",
               "measured"]
    return pd.DataFrame(rows, columns=columns)


def epoch_budget_results(path: str | Path = PROJECT_ROOT / "benchmarks" / "results" / "epoch-budget.json"):
    """What benchmarks/epoch_budget.py recorded (dict), or None when it has not been run."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


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

"""The built book in a real browser: each chapter opened in headless Chromium (Debian ``chromium``) over the
DevTools protocol from a localhost server, every other host unreachable; console errors, failed requests and
broken images reported, and a full-page screenshot saved of each."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

from elfutils.book.linkcheck import toc_pages
from elfutils.errors import NotebookError


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
                        width: int, max_height: int, settle_s: float, probe: str | None = None) -> list[dict]:
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
        probed = await cdp.evaluate(probe) if probe else None
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
                        "screenshot": str(shot) if shot else None, "probe": probed})
    cdp.ws.close()
    return results


def browse(
    html_dir: str | Path,
    pages: list[str] | None = None,
    out_dir: str | Path | None = None,
    width: int = 1280,
    max_height: int = 8000,
    settle_s: float = 1.5,
    probe: str | None = None,
) -> list[dict]:
    """Load pages of a built book in headless Chromium; one dict per page (page, url, title, images,
    plots (rendered plotly figures), problems, screenshot). ``problems`` lists console errors, uncaught
    exceptions, failed requests and broken images; hosts other than the local server are unreachable, so a
    page that needs the internet fails.

    Args:
        html_dir: the built HTML (``_build/html``).
        pages: paths relative to it (default: every page of ``_toc.yml``).
        out_dir: where full-page screenshots go (:func:`screenshot_name` + ``.png``); None for none.
        probe: a JavaScript expression run on each page once it has settled (a promise is awaited); its
            value, as JSON, is the result's ``probe`` (what a test asks a live page: e.g. hover a point).
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
                                             out_dir, width, max_height, settle_s, probe))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()

"""The built book in a real browser: each chapter opened in headless Chromium (Debian ``chromium``), driven by
Selenium through chromedriver (Debian ``chromium-driver``), from a localhost server, every other host
unreachable; console errors, uncaught exceptions, failed requests and broken images reported, and a
full-page screenshot saved of each."""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import os
import re
import shutil
import threading
import time
import warnings
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


def find_chromedriver() -> str | None:
    """The chromedriver binary: ``ELF_CHROMEDRIVER``, else chromedriver on PATH (Debian ``chromium-driver``,
    the same version as ``chromium``)."""
    return os.environ.get("ELF_CHROMEDRIVER") or shutil.which("chromedriver")


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

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # every host but the local server: unknown
]


def screenshot_name(page: str) -> str:
    """``book/_executed/data.html`` -> ``data``, ``book/intro.html`` -> ``intro``; other folders: ``a__b``."""
    name = page.removesuffix(".html")
    for prefix in ("book/_executed/", "book/"):
        name = name.removeprefix(prefix)
    return name.replace("/", "__")


# chromedriver's browser log: "<url or source> <line>:<column> <text>", or "<url> - <text>" (0-based place)
_LOG_ENTRY = re.compile(r"(\S*) (?:(\d+):(\d+)|-) (.*)", re.S)
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _unquote(text: str) -> str:
    """chromedriver writes a console call's string arguments as JSON strings: shown as the page wrote them."""
    def plain(m: re.Match) -> str:
        try:
            return json.loads(m.group())
        except ValueError:
            return m.group()
    return _JSON_STRING.sub(plain, text)


def _log_problems(browser_log: list[dict], performance_log: list[dict]) -> list[str]:
    """The problems in chromedriver's logs of one page, in order: console errors and asserts (chromedriver
    logs both as console errors), uncaught exceptions, other errors logged (a 404, say) and failed requests
    (not those cancelled)."""
    found = []
    for entry in browser_log:
        if entry.get("level") != "SEVERE":
            continue
        m = _LOG_ENTRY.fullmatch(entry.get("message", ""))
        origin, line, column, text = m.groups() if m else ("", None, None, entry.get("message", ""))
        source = entry.get("source", "log")
        if source == "console-api":
            problem = f"console.error: {_unquote(text)}"
        elif source == "javascript":
            place = f"\n    at {origin}:{int(line) + 1}:{int(column) + 1}" if line else ""
            problem = f"uncaught exception: {text.removeprefix('Uncaught ')}{place}"
        else:
            problem = f"{source} error: {text} {origin}".strip()
        found.append((entry.get("timestamp", 0), problem))
    for entry in performance_log:  # Network.* events of the DevTools protocol, as chromedriver saw them
        event = json.loads(entry["message"])["message"]
        params = event.get("params", {})
        if event.get("method") == "Network.loadingFailed" and not params.get("canceled"):
            problem = f"request failed: {params.get('errorText', '')} ({params.get('type', '')})"
            found.append((entry.get("timestamp", 0), problem))
    return [problem for _, problem in sorted(found, key=lambda f: f[0])]


def _start(chromium: str, chromedriver: str):
    """Headless Chromium under chromedriver, from these paths only: Selenium Manager never runs (offline)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    options.add_experimental_option("perfLoggingPrefs", {"enableNetwork": True, "enablePage": False})
    with warnings.catch_warnings():  # deprecated for a ClientConfig, which Chrome() does not take yet
        warnings.simplefilter("ignore", DeprecationWarning)
        options.ignore_local_proxy_environment_variables()  # chromedriver is on localhost: never via a proxy
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    return driver


def _viewport(driver, width: int, height: int) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def _visit(driver, url: str, shot: Path | None, width: int, max_height: int, settle_s: float,
           probe: str | None) -> dict:
    from selenium.common.exceptions import TimeoutException

    _viewport(driver, width, 900)
    for log in ("browser", "performance"):  # reading a log empties it: what follows is this page's alone
        driver.get_log(log)
    problems = []
    try:
        driver.get(url)  # returns once the page's load event fired
    except TimeoutException:
        problems.append("the page did not finish loading within 60 s")
    driver.execute_script("document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')")
    time.sleep(settle_s)
    info = driver.execute_script(f"return {PAGE_PROBE_JS};") or {}  # a returned promise is awaited
    probed = driver.execute_script(f"return (\n{probe}\n);") if probe else None
    problems[:0] = _log_problems(driver.get_log("browser"), driver.get_log("performance"))
    if not info.get("text"):
        problems.append("the page shows no text")
    problems += [f"broken image: {src}" for src in info.get("broken", [])]
    if shot is not None:
        metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics.get("contentSize", {})
        _viewport(driver, width, int(min(max(size.get("height", 900), 600), max_height)))
        time.sleep(0.3)
        png = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        shot.write_bytes(base64.b64decode(png["data"]))
    return {"url": url, "title": info.get("title", ""), "images": info.get("images", 0),
            "plots": info.get("plots", 0), "problems": problems, "screenshot": str(shot) if shot else None,
            "probe": probed}


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
    chromedriver = find_chromedriver()
    if chromedriver is None:
        raise NotebookError("no chromedriver found: install the Debian package chromium-driver "
                            "(make browser) or set ELF_CHROMEDRIVER")
    html_dir = Path(html_dir)
    if pages is None:
        pages = [p + ".html" for p in toc_pages()]
    missing = [p for p in pages if not (html_dir / p).is_file()]
    if missing:
        raise NotebookError(f"{html_dir}: missing page(s) {', '.join(missing)} (build the book first)")
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
    with serve(html_dir) as base_url:
        driver = _start(chromium, chromedriver)
        try:
            return [{"page": page, **_visit(driver, base_url + page,
                                            out_dir / (screenshot_name(page) + ".png") if out_dir else None,
                                            width, max_height, settle_s, probe)}
                    for page in pages]
        finally:
            driver.quit()

"""The rendered report in a real browser: headless Chromium opens it from disk, offline.

Chromium is driven over the DevTools protocol through ``--remote-debugging-pipe`` (requests on file
descriptor 3, replies and events on 4, each JSON message ended by a NUL byte), so no WebSocket client
and no extra package is needed, and no port is opened. The page must load with no console error, no
failed request and no request other than file: or data: URLs, every image must decode, and screenshots are kept
for a person to look at: the whole page (tests/artifacts/report.png), the suite overview's first screen
(report-first-screen.png) and each dataset page's verdict (<dataset>-verdict.png).
"""

from __future__ import annotations

import base64
import fcntl
import importlib.util
import json
import math
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe",
)
VIEWPORT_WIDTH = 1440


def chromium_binary() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and Path(candidate).exists() and os.access(candidate, os.X_OK):
            return candidate
    return None


class DevTools:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, binary: str, workdir: Path, timeout: float = 60.0):
        self.timeout = timeout
        self.events: list[dict] = []
        self._buffer = b""
        self._next_id = 0
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # Move the browser's ends above 9 so that the shell can put them on 3 and 4 without a clash.
        child_in = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
        for fd in (to_browser_r, from_browser_w):
            os.close(fd)
        profile = workdir / "profile"
        profile.mkdir(parents=True, exist_ok=True)
        self.stderr_path = workdir / "chromium.stderr.txt"
        script = f'exec 3<&{child_in} 4>&{child_out} {child_in}<&- {child_out}>&-; exec "$@"'
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                ["bash", "-c", script, "chromium", binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                pass_fds=(child_in, child_out), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        os.close(child_in)
        os.close(child_out)
        self._write, self._read = to_browser_w, from_browser_r

    # -- transport --------------------------------------------------------------------------------
    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no message from Chromium in time")
            ready, _, _ = select.select([self._read], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                tail = self.stderr_path.read_text(errors="replace")[-3000:]
                raise EOFError(f"Chromium closed the pipe; its stderr ends:\n{tail}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, session: str | None = None, timeout: float | None = None) -> dict:
        deadline = time.monotonic() + (timeout or self.timeout)
        for event in self.events:
            if event["method"] == method and (session is None or event.get("sessionId") == session):
                return event
        while True:
            event = self._receive(deadline)
            if "method" in event:
                self.events.append(event)
                if event["method"] == method and (session is None or event.get("sessionId") == session):
                    return event

    def drain(self, seconds: float) -> None:
        """Collect events for a little while (late console messages or requests)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                event = self._receive(deadline)
                if "method" in event:
                    self.events.append(event)
        except TimeoutError:
            pass

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (OSError, EOFError, TimeoutError, RuntimeError):
            pass
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
        for fd in (self._write, self._read):
            try:
                os.close(fd)
            except OSError:
                pass

    # -- page helpers -----------------------------------------------------------------------------
    def open_page(self, url: str, width: int = VIEWPORT_WIDTH, height: int = 1000) -> str:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for method in ("Runtime.enable", "Log.enable", "Network.enable", "Page.enable"):
            self.send(method, session=session)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        navigation = self.send("Page.navigate", {"url": url}, session=session)
        assert not navigation.get("errorText"), navigation
        self.wait_for("Page.loadEventFired", session=session)
        return session

    def evaluate(self, session: str, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, session=session)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def screenshot(self, session: str, clip: dict | None = None) -> bytes:
        """The whole page, or the ``clip`` (x, y, width, height in CSS pixels of the page)."""
        if clip is None:
            metrics = self.send("Page.getLayoutMetrics", session=session)
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            clip = {"x": 0, "y": 0, "width": math.ceil(size["width"]), "height": math.ceil(size["height"])}
        shot = self.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True, "clip": {**clip, "scale": 1},
        }, session=session)
        return base64.b64decode(shot["data"])

    # -- what the page did --------------------------------------------------------------------------
    def console_errors(self) -> list[str]:
        errors = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                errors.append(json.dumps(params.get("exceptionDetails", {}))[:500])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")
        return errors

    def requested_urls(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    def failed_requests(self) -> list[str]:
        return [f"{e['params'].get('errorText')} ({e['params'].get('requestId')})"
                for e in self.events if e["method"] == "Network.loadingFailed"]


def _load_test_report_module():
    spec = importlib.util.spec_from_file_location("_schedbench_test_report", Path(__file__).with_name("test_report.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def chromium():
    binary = chromium_binary()
    if binary is None:
        pytest.skip("headless Chromium not found (looked at $CHROMIUM, /usr/bin/chromium and PATH); "
                    "install it, e.g. apt-get install chromium, to run the browser tests")
    return binary


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-report")
    return _load_test_report_module().build_report(root)


@pytest.fixture()
def browser(chromium):
    workdir = Path(tempfile.mkdtemp(prefix="schedbench-chromium-"))
    devtools = DevTools(chromium, workdir)
    try:
        yield devtools
    finally:
        devtools.close()
        shutil.rmtree(workdir, ignore_errors=True)


def test_report_opens_offline_without_errors(browser, rendered):
    url = rendered["report"].resolve().as_uri()
    session = browser.open_page(url)
    images = browser.evaluate(session, """
        Promise.all(Array.from(document.images).map(img =>
            img.decode().then(() => true, () => false).then(decoded => ({
                decoded, alt: img.alt, width: img.naturalWidth, height: img.naturalHeight,
                scheme: img.currentSrc.split(':')[0]}))))
    """)
    layout = browser.evaluate(session, """({
        sections: Array.from(document.querySelectorAll('section[id]')).map(s => s.id),
        overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        title: document.title})""")
    browser.drain(1.0)
    png = browser.screenshot(session)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "report.png").write_bytes(png)

    assert browser.console_errors() == []
    assert browser.failed_requests() == []
    foreign = [u for u in browser.requested_urls() if not u.startswith(("file:", "data:"))]
    assert foreign == [], foreign
    assert any(u.startswith("file:") for u in browser.requested_urls())
    assert len(images) == len(rendered["figures"]) + 1  # and the tuning study's sensitivity figure
    for image in images:
        assert image["decoded"] and image["width"] > 0 and image["height"] > 0, image
        assert image["scheme"] == "data" and image["alt"].strip(), image
    assert layout["sections"][:5] == ["verdict", "attribution", "sensitivity", "tuned", "figures"]
    assert layout["overflow"] <= 0, "the page must not scroll sideways at 1440 px (wide tables scroll inside)"
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_harness_sees_foreign_requests_and_console_errors(browser, tmp_path):
    """The checks above must be able to fail: a page that reaches out and logs an error is caught."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><title>bad</title></head><body>'
                    '<img src="http://127.0.0.1:9/nothing.png" alt="x">'
                    '<script>console.error("deliberate")</script></body></html>')
    browser.open_page(page.as_uri())
    browser.drain(1.0)
    assert any(u.startswith("http://127.0.0.1:9/") for u in browser.requested_urls())
    assert any("deliberate" in e for e in browser.console_errors())
    assert browser.failed_requests()


@pytest.mark.slow
def test_suite_overview_and_every_dataset_page_open_and_every_link_resolves(browser, tiny_run):
    """The tiny suite (two datasets): the overview and each page it links open offline with no console error, no
    failed request and every image decoded, and every link of every page lands on a file and an element."""
    reports = tiny_run[0] / "reports"
    pages = {path.name: path for path in reports.glob("*.html")}
    assert set(pages) == {"report.html", "ionosphere.html", "wine.html"}
    linked = set()
    for name, path in sorted(pages.items()):
        session = browser.open_page(path.resolve().as_uri())
        found = browser.evaluate(session, """
            Promise.all(Array.from(document.images).map(img => img.decode().then(() => true, () => false)))
              .then(decoded => ({
                decoded,
                links: Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href')),
                ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id)}))
        """)
        browser.drain(0.5)
        # For a person to look at: the overview's first screen, and each dataset page's verdict.
        if name == "report.html":
            clip = {"x": 0, "y": 0, "width": VIEWPORT_WIDTH, "height": 1000}
        else:
            clip = browser.evaluate(session, """(() => {
                const box = document.getElementById('verdict').getBoundingClientRect();
                return {x: 0, y: box.top + window.scrollY, width: document.documentElement.clientWidth,
                        height: Math.ceil(box.height)}; })()""")
        png = browser.screenshot(session, clip)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f"{path.stem}-{'first-screen' if name == 'report.html' else 'verdict'}.png"
        shot.write_bytes(png)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and clip["height"] > 100, name
        assert found["decoded"] and all(found["decoded"]), name
        for href in found["links"]:
            if href.startswith("data:"):  # a table's rows, offered for download
                assert href.startswith("data:text/csv;charset=utf-8;base64,"), (name, href[:60])
                continue
            target, _, anchor = href.partition("#")
            if target:
                assert target in pages, (name, href)
                linked.add(target)
            else:
                assert anchor in found["ids"], (name, href)
    assert browser.console_errors() == []
    assert browser.failed_requests() == []
    assert [u for u in browser.requested_urls() if not u.startswith(("file:", "data:"))] == []
    assert linked == set(pages)  # the overview links each page, each page links back

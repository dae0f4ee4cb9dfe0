"""The uci source (fetch_file) against a real local HTTP server that misbehaves in the ways real servers do."""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
import time
import zipfile
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

import pytest

from schedbench.data import DataError
from schedbench.sources.uci import fetch_file

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "bundled" / "ionosphere.data"
SHA256 = "46d52186b84e20be52918adb93e8fb9926b34795ff7504c24350ae0616a04bbd"
GOOD = BUNDLED.read_bytes()
TIMEOUT_S = 0.5
LOG = logging.getLogger("schedbench.test_download")


def flipped(data: bytes, at: int = 1000) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


class Handler(BaseHTTPRequestHandler):
    """Serves one behaviour per path; counts requests per path on the server."""

    def log_message(self, format, *args):  # keep pytest output clean
        pass

    def send_body(self, body: bytes, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        server = self.server
        server.hits[self.path] += 1
        if self.path == "/good/ionosphere.data":
            self.send_body(GOOD)
        elif self.path == "/corrupt/ionosphere.data":
            self.send_body(flipped(GOOD))
        elif self.path == "/truncated/ionosphere.data":
            # Promise the whole file, send half, hang up.
            self.send_response(200)
            self.send_header("Content-Length", str(len(GOOD)))
            self.end_headers()
            self.wfile.write(GOOD[: len(GOOD) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif self.path == "/hang/ionosphere.data":
            # Accept, then say nothing until the test is over (far longer than the client's timeout).
            server.release.wait(10)
        elif self.path == "/flaky/ionosphere.data":
            if server.hits[self.path] <= 2:
                self.send_body(b"try again later\n", status=503)
            else:
                self.send_body(GOOD)
        elif self.path == "/archive/ionosphere.zip":
            self.send_body(zipped({"Index": b"index\n", "ionosphere.names": b"names\n", "ionosphere.data": GOOD}))
        elif self.path == "/archive/other.zip":
            self.send_body(zipped({"ionosphere.names": b"names\n"}))
        else:
            self.send_body(b"not found\n", status=404)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.hits = Counter()
    httpd.release = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    httpd.url = lambda path: f"http://127.0.0.1:{httpd.server_address[1]}{path}"
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def fetch(urls, dest, bundled=BUNDLED, retries=1, **overrides):
    arguments = dict(
        urls=urls, sha256=SHA256, bundled=bundled, dest=dest, rows=351, features=34, labels=["b", "g"],
        timeout_s=TIMEOUT_S, retries=retries, backoff_s=0.0, log=LOG,
    )
    arguments.update(overrides)
    return fetch_file("ionosphere", **arguments)


def test_good_url_is_downloaded_and_published(server, tmp_path):
    dest = tmp_path / "out" / "ionosphere.data"
    url = server.url("/good/ionosphere.data")
    provenance = fetch([url], dest)
    assert dest.read_bytes() == GOOD
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == SHA256
    assert provenance == {
        "dataset": "ionosphere", "source": "download", "url": url, "sha256": SHA256, "bytes": 76467,
        "table_sha256": None, "attempts": [{"url": url, "attempt": 1, "error": None}],
        "notes": ["The bytes' SHA-256 matched."],
    }
    assert sorted(p.name for p in dest.parent.iterdir()) == ["ionosphere.data"]


def test_zip_url_gives_its_member(server, tmp_path):
    dest = tmp_path / "ionosphere.data"
    provenance = fetch([server.url("/archive/ionosphere.zip")], dest)
    assert provenance["source"] == "download"
    assert dest.read_bytes() == GOOD
    assert any("zip" in note for note in provenance["notes"])


@pytest.mark.parametrize(
    "bad_path, expected_error",
    [
        ("/missing/ionosphere.data", "HTTP 404"),
        ("/corrupt/ionosphere.data", "SHA-256 is"),
        ("/truncated/ionosphere.data", f"got {len(GOOD) // 2} of {len(GOOD)} bytes"),
        ("/hang/ionosphere.data", "timed out"),
        ("/archive/other.zip", "0 members named 'ionosphere.data'"),
    ],
)
def test_failing_url_is_skipped_for_the_next_good_one(server, tmp_path, bad_path, expected_error):
    dest = tmp_path / "ionosphere.data"
    bad, good = server.url(bad_path), server.url("/good/ionosphere.data")
    provenance = fetch([bad, good], dest)
    assert provenance["source"] == "download" and provenance["url"] == good
    assert dest.read_bytes() == GOOD
    failure, success = provenance["attempts"]
    assert failure["url"] == bad and expected_error in failure["error"], failure
    assert success == {"url": good, "attempt": 1, "error": None}


def test_all_urls_bad_falls_back_to_bundled_copy(server, tmp_path, caplog):
    dest = tmp_path / "ionosphere.data"
    urls = [server.url(p) for p in ("/missing/ionosphere.data", "/corrupt/ionosphere.data", "/truncated/ionosphere.data")]
    with caplog.at_level(logging.INFO, logger=LOG.name):
        provenance = fetch(urls, dest)
    assert provenance["source"] == "bundled" and provenance["url"] == str(BUNDLED)
    assert dest.read_bytes() == GOOD
    assert [a["url"] for a in provenance["attempts"]] == urls
    assert all(a["error"] for a in provenance["attempts"])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("failed" in message for message in warnings) == 3
    assert any("trying the bundled copy" in message for message in warnings)
    assert any("using bundled copy" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)


def test_nothing_valid_raises_and_writes_nothing(server, tmp_path):
    corrupted_bundled = tmp_path / "bundled" / "ionosphere.data"
    corrupted_bundled.parent.mkdir()
    corrupted_bundled.write_bytes(flipped(GOOD, at=5000))
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "ionosphere.data"
    urls = [server.url("/missing/ionosphere.data"), server.url("/hang/ionosphere.data")]

    with pytest.raises(DataError) as caught:
        fetch(urls, dest, bundled=corrupted_bundled)
    message = str(caught.value)
    for part in (*urls, "HTTP 404", "timed out", str(corrupted_bundled), "SHA-256 is"):
        assert part in message, f"{part!r} not in {message!r}"
    assert not dest.exists()
    assert list(out.iterdir()) == []  # no temporary files either


def test_transient_failures_are_retried(server, tmp_path):
    dest = tmp_path / "ionosphere.data"
    url = server.url("/flaky/ionosphere.data")
    provenance = fetch([url], dest, retries=3)
    assert provenance["source"] == "download"
    assert [(a["attempt"], a["error"]) for a in provenance["attempts"]] == [
        (1, "HTTP 503 Service Unavailable"), (2, "HTTP 503 Service Unavailable"), (3, None),
    ]
    assert server.hits["/flaky/ionosphere.data"] == 3


def test_too_few_retries_for_a_flaky_server_fall_back(server, tmp_path):
    provenance = fetch([server.url("/flaky/ionosphere.data")], tmp_path / "ionosphere.data", retries=2)
    assert provenance["source"] == "bundled"
    assert len(provenance["attempts"]) == 2


def test_not_found_is_not_retried(server, tmp_path):
    missing = server.url("/missing/ionosphere.data")
    provenance = fetch([missing], tmp_path / "ionosphere.data", retries=3)
    assert provenance["source"] == "bundled"
    assert provenance["attempts"] == [{"url": missing, "attempt": 1, "error": "HTTP 404 Not Found"}]
    assert server.hits["/missing/ionosphere.data"] == 1


def test_host_that_does_not_exist_is_not_retried(tmp_path):
    # '.invalid' never resolves (RFC 2606); without a reachable resolver the answer is 'try again' instead.
    host = "schedbench-test.invalid"
    try:
        socket.getaddrinfo(host, 80)
    except socket.gaierror as err:
        if err.errno == socket.EAI_AGAIN:
            pytest.skip("no resolver answers here: the name cannot be told missing")
    url = f"http://{host}/ionosphere.data"
    started = time.monotonic()
    provenance = fetch([url], tmp_path / "ionosphere.data", retries=3, backoff_s=5.0)
    assert provenance["source"] == "bundled"
    assert [a["attempt"] for a in provenance["attempts"]] == [1]
    assert provenance["attempts"][0]["error"].startswith("cannot connect: ")
    assert time.monotonic() - started < 5.0


def test_backoff_waits_between_attempts_only(server, tmp_path):
    started = time.monotonic()
    fetch([server.url("/flaky/ionosphere.data")], tmp_path / "ionosphere.data", retries=3, backoff_s=0.1)
    # Sleeps of 0.1 s and 0.2 s after the two failures, none after the success.
    assert 0.3 <= time.monotonic() - started < 2.0


def test_wrong_checksum_fails_over_to_the_next_source_at_once(server, tmp_path):
    corrupt, good = server.url("/corrupt/ionosphere.data"), server.url("/good/ionosphere.data")
    started = time.monotonic()
    provenance = fetch([corrupt, good], tmp_path / "ionosphere.data", retries=3, backoff_s=5.0)
    assert provenance["source"] == "download" and provenance["url"] == good
    # The same bytes would come back: one request, no backoff, then the next URL.
    assert server.hits["/corrupt/ionosphere.data"] == 1
    assert [a["attempt"] for a in provenance["attempts"] if a["url"] == corrupt] == [1]
    assert time.monotonic() - started < 5.0

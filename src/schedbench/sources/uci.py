"""Source ``uci``: a file downloaded from the configured URLs in order, the repository's bundled copy as the
fallback; only bytes that are the configured table (:func:`schedbench.data.check_pinned_table`) are written."""

from __future__ import annotations

import logging
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from http.client import HTTPException
from io import BytesIO
from pathlib import Path, PurePosixPath

from schedbench.atomic import atomic_write_bytes
from schedbench.data import DataError, check_pinned_table, sha256_hex
from schedbench.sources.base import SourceContext

USER_AGENT = "schedbench-data/0.1 (python urllib)"
# The real file is 76 kB; anything far larger is not it, and should not fill memory.
MAX_BODY_BYTES = 64 * 1024 * 1024


def fetch(name: str, spec: dict, destination: Path, context: SourceContext) -> dict:
    """The registry's entry: :func:`fetch_file` with the dataset's config and the download settings."""
    download = context.download
    return fetch_file(
        name, urls=spec["urls"], sha256=spec["sha256"], bundled=context.repository / spec["bundled"],
        dest=destination, rows=spec["rows"], features=spec["features"], labels=spec["labels"],
        table_sha256=spec["table_sha256"],
        value_range=tuple(spec["value_range"]) if "value_range" in spec else None,
        timeout_s=download["timeout_s"], retries=download["retries"], backoff_s=download["backoff_s"],
        log=context.log,
    )


def _download(url: str, timeout_s: float) -> bytes:
    """The whole body of ``url``, or an exception (OSError, HTTPException, ValueError)."""
    # The socket timeout bounds each wait; the deadline bounds a server that trickles the body.
    deadline = time.monotonic() + timeout_s
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        declared = response.headers.get("Content-Length")
        chunks, size = [], 0
        while chunk := response.read(64 * 1024):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise DataError(f"body larger than {MAX_BODY_BYTES} bytes")
            if time.monotonic() > deadline:
                raise TimeoutError(f"body not complete within {timeout_s:g} s")
            chunks.append(chunk)
    body = b"".join(chunks)
    # http.client returns a short body without complaint when reading in chunks; the length tells.
    if declared is not None and declared.isdigit() and len(body) != int(declared):
        raise ConnectionError(f"truncated body: got {len(body)} of {declared} bytes (Content-Length)")
    return body


def _zip_member(archive_bytes: bytes, member_name: str) -> bytes:
    try:
        archive = zipfile.ZipFile(BytesIO(archive_bytes))
    except zipfile.BadZipFile as err:
        raise DataError(f"not a zip archive ({err})") from None
    with archive:
        matches = [
            info for info in archive.infolist()
            if not info.is_dir() and PurePosixPath(info.filename).name == member_name
        ]
        if len(matches) != 1:
            members = [info.filename for info in archive.infolist()]
            raise DataError(f"zip archive has {len(matches)} members named {member_name!r} (members: {members})")
        if matches[0].file_size > MAX_BODY_BYTES:
            raise DataError(f"zip member {matches[0].filename} is larger than {MAX_BODY_BYTES} bytes")
        return archive.read(matches[0])


# The resolver's "no such name" answers; its "try again" (EAI_AGAIN) is transient and retried.
_NO_SUCH_HOST = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def _is_permanent(error: Exception) -> bool:
    """An answer that will be repeated, so retrying cannot help: a client error (not a timeout or rate limit), a
    host name the resolver says does not exist (an offline machine's usual answer), or a complete body that is
    not the file the checksum pins (wrong bytes, not a zip, no such member)."""
    if isinstance(error, DataError):
        return True
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, socket.gaierror):
        return error.reason.errno in _NO_SUCH_HOST
    return isinstance(error, urllib.error.HTTPError) and 400 <= error.code < 500 and error.code not in (408, 429)


def _describe(error: Exception, timeout_s: float) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        error = error.reason if isinstance(error.reason, Exception) else error
        if not isinstance(error, TimeoutError):
            return f"cannot connect: {error}"
    if isinstance(error, TimeoutError):
        return f"timed out after {timeout_s:g} s"
    if isinstance(error, DataError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def fetch_file(
    name: str,
    *,
    urls: list[str],
    sha256: str,
    bundled: str | Path,
    dest: str | Path,
    rows: int,
    features: int,
    labels: list[str],
    timeout_s: float,
    retries: int,
    backoff_s: float,
    log: logging.Logger,
    table_sha256: str | None = None,
    value_range: tuple[float, float] | None = None,
) -> dict:
    """Publish a verified copy of the data set at ``dest``: the first URL that gives it, else the bundled copy.

    Each URL gets up to ``retries`` attempts, ``backoff_s * 2**k`` seconds apart after the k-th (0-based)
    failure; an HTTP 4xx other than 408/429, a host name that does not resolve, or a body with the wrong
    checksum ends that URL at once. A '.zip' URL is unpacked and its member named like the bundled file taken.
    Only bytes that are the configured table (:func:`schedbench.data.check_pinned_table`) are written. Returns the
    provenance; raises DataError listing every source's failure (``dest`` untouched) if none is valid.
    """
    if retries < 1:
        raise ValueError(f"retries must be at least 1, got {retries}")
    bundled = Path(bundled)
    checks = dict(sha256=sha256, rows=rows, features=features, labels=labels, table_sha256=table_sha256,
                  value_range=value_range)
    attempts = []

    def accept(source: str, url: str, body: bytes, notes: list[str]) -> dict:
        atomic_write_bytes(dest, body)
        digest = sha256_hex(body)
        log.info("%s: using %s copy from %s (%d bytes, sha256 %s) -> %s", name, source, url, len(body), digest, dest)
        return {
            "dataset": name, "source": source, "url": url, "sha256": digest, "bytes": len(body),
            "table_sha256": table_sha256, "attempts": attempts, "notes": notes,
        }

    for url in urls:
        is_zip = urllib.parse.urlsplit(url).path.lower().endswith(".zip")
        for attempt in range(1, retries + 1):
            log.info("%s: GET %s (attempt %d of %d)", name, url, attempt, retries)
            try:
                body = _download(url, timeout_s)
                notes = []
                if is_zip:
                    body = _zip_member(body, bundled.name)
                    notes.append(f"Taken from the member {bundled.name!r} of the zip archive.")
                notes += check_pinned_table(body, **checks)
            except (OSError, HTTPException, ValueError, DataError) as err:
                reason = _describe(err, timeout_s)
                attempts.append({"url": url, "attempt": attempt, "error": reason})
                permanent = _is_permanent(err)
                log.warning(
                    "%s: %s attempt %d of %d failed: %s%s", name, url, attempt, retries, reason,
                    " (not retried)" if permanent and attempt < retries else "",
                )
                if permanent:
                    break
                if attempt < retries and backoff_s > 0:
                    time.sleep(backoff_s * 2 ** (attempt - 1))
                continue
            attempts.append({"url": url, "attempt": attempt, "error": None})
            return accept("download", url, body, notes)

    log.warning("%s: no URL gave a valid copy; trying the bundled copy %s", name, bundled)
    try:
        body = bundled.read_bytes()
        notes = check_pinned_table(body, **checks)
    except (OSError, DataError) as err:
        failures = [
            f"  {a['url']} attempt {a['attempt']}: {a['error']}" for a in attempts
        ] or ["  (no URLs configured)"]
        failures.append(f"  bundled copy {bundled}: {_describe(err, timeout_s)}")
        log.error("%s: no valid copy from any source", name)
        raise DataError(f"no valid copy of data set {name!r} from any source:\n" + "\n".join(failures)) from None
    notes.insert(0, "No URL gave a valid copy; the bundled copy was used.")
    return accept("bundled", str(bundled), body, notes)

"""Getting and checking a dataset (the splits are :mod:`schedbench.splits`).

A table is accepted only if its bytes have the configured SHA-256 and it parses as the expected table:
so every run trains on exactly the same data, whichever source it came from. Errors say which source,
line and column was wrong, and what was expected instead.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from http.client import HTTPException
from io import BytesIO
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from schedbench.atomic import atomic_write_bytes

USER_AGENT = "schedbench-data/0.1 (python urllib)"
# The real file is 76 kB; anything far larger is not it, and should not fill memory.
MAX_BODY_BYTES = 64 * 1024 * 1024
FEATURE_RANGE = (-1.0, 1.0)
# A plain decimal literal. Python's float() would also take 'nan', 'inf', '1_0' and surrounding blanks,
# none of which belongs in this table.
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


class DataError(Exception):
    """The data (a download, the bundled copy or a table) is not what it must be; the message says where."""


# ---------------------------------------------------------------------------------------------------------
# The table


def check_table(
    raw: bytes, *, rows: int | None, features: int, labels: list[str],
    value_range: tuple[float, float] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Parse and check a comma-separated table without header.

    Exactly ``rows`` rows (any number if ``rows`` is None), ``features`` numeric columns, all within
    ``value_range`` (when given), then one label column with values from ``labels``. Returns the frame (columns f0..f{n-1}
    float64 and 'label' str) and notes: human sentences about accepted oddities (CRLF line endings,
    no final newline). Anything else raises DataError naming the line (1-based) and column.
    """
    if not raw:
        raise DataError("empty file (0 bytes)")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(
            f"line {line}: byte 0x{raw[err.start]:02x} at offset {err.start} is not ASCII text"
        ) from None

    notes = []
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
        notes.append("The file has Windows (CRLF) line endings; they were read as plain newlines.")
    has_final_newline = text.endswith("\n")
    if has_final_newline:
        text = text[:-1]
    else:
        notes.append("The file does not end with a newline; its last line was read as complete.")

    # The format has no quoting, so a plain split is the whole grammar: a quote is a bad value, not syntax.
    lines = text.split("\n")
    n_columns = features + 1
    values = np.empty((len(lines), features), dtype=np.float64)
    row_labels = []
    low, high = value_range if value_range is not None else (-math.inf, math.inf)
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            raise DataError(f"line {line_no}: blank line (expected {n_columns} comma-separated columns)")
        cells = line.split(",")
        if len(cells) != n_columns:
            hint = ""
            if line_no == len(lines) and not has_final_newline:
                hint = "; it is the last line and has no final newline, so the file looks truncated"
            raise DataError(
                f"line {line_no}: {len(cells)} columns, expected {n_columns} "
                f"({features} features and a label){hint}"
            )
        for col, cell in enumerate(cells[:features]):
            where = f"line {line_no}, column {col + 1} (f{col})"
            if not _DECIMAL.fullmatch(cell):
                raise DataError(f"{where}: {cell!r} is not a number")
            value = float(cell)
            if not math.isfinite(value):  # an exponent overflowing to inf
                raise DataError(f"{where}: {cell} is not a finite number")
            if not low <= value <= high:
                raise DataError(f"{where}: {cell} is outside [{low:g}, {high:g}]")
            values[line_no - 1, col] = value
        label = cells[features]
        if label not in labels:
            raise DataError(
                f"line {line_no}, column {n_columns} (label): {label!r} is not one of {list(labels)}"
            )
        row_labels.append(label)

    if rows is not None and len(lines) != rows:
        raise DataError(f"expected {rows} rows, got {len(lines)}")

    frame = pd.DataFrame(values, columns=[f"f{col}" for col in range(features)])
    frame["label"] = pd.Series(row_labels, dtype=str)
    return frame, notes


def table_text(frame: pd.DataFrame) -> bytes:
    """The canonical text of a parsed table: every value as the shortest decimal that reads back to the same
    float64, the label last, LF line ends. Two files with the same table (other line endings, other number
    formatting) have the same canonical text; its SHA-256 is the table's checksum (``table_sha256``)."""
    values = frame.drop(columns="label").to_numpy(dtype=np.float64)
    lines = [",".join([*map(repr, map(float, row)), label]) for row, label in zip(values, frame["label"])]
    return ("\n".join(lines) + "\n").encode("ascii")


def table_checksum(frame: pd.DataFrame) -> str:
    """The SHA-256 of a table's canonical text (the config's ``table_sha256``)."""
    return _sha256(table_text(frame))


def load_dataset(path: str | Path, *, features: int, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """X float32 (n, features) and y float32 (n,), labels[i] -> i (b -> 0, g -> 1); file row order."""
    frame, _ = check_table(Path(path).read_bytes(), rows=None, features=features, labels=labels)
    x = frame.drop(columns="label").to_numpy(dtype=np.float32)
    code_of = {label: code for code, label in enumerate(labels)}
    y = frame["label"].map(code_of).to_numpy(dtype=np.float32)
    return x, y


# ---------------------------------------------------------------------------------------------------------
# Fetching


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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


def _is_permanent(error: Exception) -> bool:
    """An answer the server will repeat, so retrying cannot help: a client error (not a timeout or rate limit),
    or a complete body that is not the file the checksum pins (wrong bytes, not a zip, no such member)."""
    if isinstance(error, DataError):
        return True
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


def _checked(body: bytes, sha256: str, rows: int, features: int, labels: list[str],
             table_sha256: str | None = None, value_range: tuple[float, float] | None = None) -> list[str]:
    """check_table's notes, and which checksum matched, if ``body`` is the expected table; DataError otherwise.

    The bytes' SHA-256 must match ``sha256``; failing that, with ``table_sha256`` configured, the parsed table's
    checksum (:func:`table_checksum`) may: the same table with other line endings or number formatting."""
    actual = _sha256(body)
    if actual == sha256.lower():
        try:
            frame, notes = check_table(body, rows=rows, features=features, labels=labels, value_range=value_range)
        except DataError as err:
            raise DataError(f"checksum matches but the table is invalid: {err}") from None
        if table_sha256 is not None and table_sha256 != table_checksum(frame):
            raise DataError("the bytes' checksum matches but the parsed table's does not (table_sha256)")
        return notes + ["The bytes' SHA-256 matched."]
    # Other bytes may still hold the same table; if they do not, say what is wrong with the table too, so that an
    # edited copy is refused with the line and column of the edit, not only with a checksum.
    try:
        frame, notes = check_table(body, rows=rows, features=features, labels=labels, value_range=value_range)
    except DataError as err:
        raise DataError(f"SHA-256 is {actual}, expected {sha256.lower()} ({len(body)} bytes); the table itself: "
                        f"{err}") from None
    if table_sha256 is not None and table_checksum(frame) == table_sha256:
        return notes + [f"The bytes differ from the configured SHA-256 (they are {actual}), but the parsed table's "
                        f"checksum matched: the same table."]
    raise DataError(f"SHA-256 is {actual}, expected {sha256.lower()} ({len(body)} bytes); the table itself checks "
                    "out (rows, columns, values, labels) but is not the configured one: another version of the data")


def fetch_dataset(
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
    failure; an HTTP 4xx other than 408/429, or a body with the wrong checksum, ends that URL at once. A '.zip' URL is unpacked and its member
    named like the bundled file taken. Only bytes with the right SHA-256 that pass check_table are written.
    Returns the provenance; raises DataError listing every source's failure (``dest`` untouched) if none is valid.
    """
    if retries < 1:
        raise ValueError(f"retries must be at least 1, got {retries}")
    bundled = Path(bundled)
    attempts = []

    def accept(source: str, url: str, body: bytes, notes: list[str]) -> dict:
        atomic_write_bytes(dest, body)
        digest = _sha256(body)
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
                notes += _checked(body, sha256, rows, features, labels, table_sha256, value_range)
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
        notes = _checked(body, sha256, rows, features, labels, table_sha256, value_range)
    except (OSError, DataError) as err:
        failures = [
            f"  {a['url']} attempt {a['attempt']}: {a['error']}" for a in attempts
        ] or ["  (no URLs configured)"]
        failures.append(f"  bundled copy {bundled}: {_describe(err, timeout_s)}")
        log.error("%s: no valid copy from any source", name)
        raise DataError(f"no valid copy of data set {name!r} from any source:\n" + "\n".join(failures)) from None
    notes.insert(0, "No URL gave a valid copy; the bundled copy was used.")
    return accept("bundled", str(bundled), body, notes)


# ---------------------------------------------------------------------------------------------------------
# Tables shipped inside scikit-learn


SKLEARN_LOADERS = ("load_breast_cancer", "load_wine", "load_digits", "load_iris")


def export_sklearn(
    name: str, *, loader: str, dest: str | Path, rows: int, features: int, labels: list[str], table_sha256: str,
    log: logging.Logger,
) -> dict:
    """Write a table that ships inside scikit-learn (no network) as this workflow's table file: its canonical
    text (:func:`table_text`), class k labelled ``labels[k]``. It is written only if its shape, labels and table
    checksum are the configured ones; returns the provenance (with scikit-learn's version)."""
    import sklearn
    from sklearn import datasets

    if loader not in SKLEARN_LOADERS:
        raise DataError(f"{name}: unknown scikit-learn loader {loader!r} (known: {', '.join(SKLEARN_LOADERS)})")
    bunch = getattr(datasets, loader)()
    x, target = np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target)
    if x.shape != (rows, features):
        raise DataError(f"{name}: sklearn.datasets.{loader} gives {x.shape[0]} rows x {x.shape[1]} features, "
                        f"expected {rows} x {features}")
    if target.min() < 0 or target.max() >= len(labels):
        raise DataError(f"{name}: sklearn.datasets.{loader} has classes 0..{target.max()}, "
                        f"but {len(labels)} labels are configured")
    frame = pd.DataFrame(x, columns=[f"f{col}" for col in range(features)])
    frame["label"] = np.asarray(labels, dtype=object)[target]
    body = table_text(frame)
    digest = _sha256(body)
    if digest != table_sha256:
        raise DataError(f"{name}: the table from sklearn.datasets.{loader} (scikit-learn {sklearn.__version__}) has "
                        f"checksum {digest}, expected {table_sha256}: not the configured table")
    atomic_write_bytes(dest, body)
    log.info("%s: sklearn.datasets.%s (scikit-learn %s), table sha256 %s -> %s", name, loader, sklearn.__version__,
             digest, dest)
    return {
        "dataset": name, "source": "scikit-learn", "url": f"sklearn.datasets.{loader}", "sha256": digest,
        "bytes": len(body), "table_sha256": digest, "sklearn_version": sklearn.__version__, "attempts": [],
        "notes": [f"Loaded with sklearn.datasets.{loader}() from scikit-learn {sklearn.__version__}, which ships the "
                  f"table: no network."],
    }

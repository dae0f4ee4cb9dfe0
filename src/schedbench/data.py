"""A dataset's table: reading it, checking it, its checksum (where it comes from: :mod:`schedbench.sources`;
the splits: :mod:`schedbench.splits`).

A table is accepted only if its bytes have the configured SHA-256 (or, failing that, its parsed table the configured
``table_sha256``) and it parses as the expected table: so every run trains on exactly the same data, whichever
source it came from. Errors say which line and column was wrong, and what was expected instead.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

# A plain decimal literal. Python's float() would also take 'nan', 'inf', '1_0' and surrounding blanks,
# none of which belongs in this table.
DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


class DataError(Exception):
    """The data (a download, the bundled copy or a table) is not what it must be; the message says where."""


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
            if not DECIMAL.fullmatch(cell):
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
    return sha256_hex(table_text(frame))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_pinned_table(
    body: bytes, *, sha256: str, rows: int | None, features: int, labels: list[str],
    table_sha256: str | None = None, value_range: tuple[float, float] | None = None,
) -> list[str]:
    """:func:`check_table`'s notes, and which checksum matched, if ``body`` is the configured table; DataError
    otherwise.

    The bytes' SHA-256 must match ``sha256``; failing that, with ``table_sha256`` configured, the parsed table's
    checksum (:func:`table_checksum`) may: the same table with other line endings or number formatting."""
    actual = sha256_hex(body)
    checks = dict(rows=rows, features=features, labels=labels, value_range=value_range)
    if actual == sha256.lower():
        try:
            frame, notes = check_table(body, **checks)
        except DataError as err:
            raise DataError(f"checksum matches but the table is invalid: {err}") from None
        if table_sha256 is not None and table_sha256 != table_checksum(frame):
            raise DataError("the bytes' checksum matches but the parsed table's does not (table_sha256)")
        return notes + ["The bytes' SHA-256 matched."]
    # Other bytes may still hold the same table; if they do not, say what is wrong with the table too, so that an
    # edited copy is refused with the line and column of the edit, not only with a checksum.
    try:
        frame, notes = check_table(body, **checks)
    except DataError as err:
        raise DataError(f"SHA-256 is {actual}, expected {sha256.lower()} ({len(body)} bytes); the table itself: "
                        f"{err}") from None
    if table_sha256 is not None and table_checksum(frame) == table_sha256:
        return notes + [f"The bytes differ from the configured SHA-256 (they are {actual}), but the parsed table's "
                        f"checksum matched: the same table."]
    raise DataError(f"SHA-256 is {actual}, expected {sha256.lower()} ({len(body)} bytes); the table itself checks "
                    "out (rows, columns, values, labels) but is not the configured one: another version of the data")


def accepted_table(
    path: str | Path, provenance: str | Path, *, rows: int, features: int, labels: list[str],
    value_range: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """The table of ``path`` (``data/raw/<dataset>.data``), if it is still the file the download rule accepted
    and the configured table: its bytes' SHA-256 and size those of the provenance record ``provenance``
    (``data/raw/<dataset>.provenance.json``, what the report shows), and its table ``rows`` x ``features`` with
    known ``labels`` (:func:`check_table`). Anything else is a DataError naming the file, what differs (expected
    and actual checksum and size, the table's first problem) and what to do: results trained on an edited file
    would be reported under the accepted file's provenance."""
    body = Path(path).read_bytes()
    remedy = (f"Delete {path} and {provenance} to get the configured data again (the next run downloads it), "
              f"or restore the file as it was.")
    try:
        record = json.loads(Path(provenance).read_text(encoding="utf-8"))
        expected_sha256, expected_bytes = str(record["sha256"]).lower(), int(record["bytes"])
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise DataError(f"{provenance}: not a provenance record with the file's sha256 and bytes "
                        f"({type(err).__name__}: {err}); nothing can vouch for {path}. {remedy}") from None
    actual_sha256 = sha256_hex(body)
    differs = []
    if (actual_sha256, len(body)) != (expected_sha256, expected_bytes):
        differs.append(f"SHA-256 is {actual_sha256} ({len(body)} bytes), expected {expected_sha256} "
                       f"({expected_bytes} bytes)")
    try:
        frame, _ = check_table(body, rows=rows, features=features, labels=labels, value_range=value_range)
    except DataError as err:
        differs.append(f"the table: {err}")
    else:
        if differs:
            differs.append(f"the table still has the configured shape ({rows} rows, {features} features, labels "
                           f"{', '.join(labels)}), so values, labels or their formatting were changed")
    if differs:
        raise DataError(f"{path} is not the file the download rule accepted ({provenance}): "
                        f"{'; '.join(differs)}. Refused: results from it would be reported under the accepted "
                        f"file's provenance. {remedy}")
    return frame


def encoded(frame: pd.DataFrame, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """X float32 (n, features) and y float32 (n,) of a checked table, labels[i] -> i (b -> 0, g -> 1); file row
    order."""
    x = frame.drop(columns="label").to_numpy(dtype=np.float32)
    code_of = {label: code for code, label in enumerate(labels)}
    y = frame["label"].map(code_of).to_numpy(dtype=np.float32)
    return x, y


def load_accepted_dataset(path: str | Path, provenance: str | Path, spec: dict) -> tuple[np.ndarray, np.ndarray]:
    """:func:`encoded` of :func:`accepted_table`: what a workflow step reads of ``data/raw/<dataset>.data``,
    ``spec`` being the dataset's config entry (rows, features, labels, value_range)."""
    value_range = tuple(spec["value_range"]) if spec.get("value_range") is not None else None
    frame = accepted_table(path, provenance, rows=spec["rows"], features=spec["features"], labels=spec["labels"],
                           value_range=value_range)
    return encoded(frame, spec["labels"])


def load_dataset(path: str | Path, *, features: int, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`encoded` of any table file of that shape, unchecked against a provenance (a test's copy); the
    workflow reads ``data/raw`` with :func:`load_accepted_dataset`."""
    frame, _ = check_table(Path(path).read_bytes(), rows=None, features=features, labels=labels)
    return encoded(frame, labels)

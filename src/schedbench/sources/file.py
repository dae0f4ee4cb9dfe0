"""Source ``file``: the user's own table, a local CSV file with a header row or a Parquet file (``path``), its label
in column ``label_column`` and its features in ``feature_columns`` (every other column when left out).

The config is checked against the file when it is loaded (:func:`describe` fills in ``rows``, ``features``,
``labels`` and ``table_sha256``, which the plan needs before anything runs), and again by the download rule, which
writes the table's canonical text (:func:`schedbench.data.table_text`) only if the file is still that table. A
relative ``path`` resolves against the directory the workflow runs in (Snakemake's ``--directory``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from schedbench.atomic import atomic_write_bytes
from schedbench.data import DECIMAL, DataError, sha256_hex, table_checksum, table_text
from schedbench.sources.base import SourceContext

PARQUET_SUFFIXES = (".parquet", ".pq")


def fetch(name: str, spec: dict, destination: Path, context: SourceContext) -> dict:
    """Write the table of the user's file at ``destination``, only if it is still the table the config was checked
    against (its rows, features, labels and ``table_sha256``); the provenance names the file and its checksum."""
    path = Path(spec["path"])
    raw, frame, feature_columns = read_table(name, spec)
    found = describe_frame(frame)
    # The config may order the labels (which class is positive); the file decides which there are.
    for key in ("rows", "features", "labels", "table_sha256"):
        if found[key] != (sorted(spec[key]) if key == "labels" else spec[key]):
            raise DataError(f"datasets.{name}: {path} changed since the configuration was checked: its {key} is "
                            f"{found[key]}, expected {spec[key]}")
    body = table_text(frame)
    atomic_write_bytes(destination, body)
    file_sha256 = sha256_hex(raw)
    context.log.info("%s: %s (sha256 %s), table sha256 %s -> %s", name, path, file_sha256, found["table_sha256"],
                     destination)
    return {
        "dataset": name, "source": "file", "url": str(path), "file_sha256": file_sha256,
        "file_bytes": len(raw), "sha256": sha256_hex(body), "bytes": len(body), "table_sha256": found["table_sha256"],
        "label_column": spec["label_column"], "feature_columns": feature_columns, "attempts": [],
        "notes": [(f"Read from the local file {path} (SHA-256 {file_sha256}, {len(raw)} bytes): label column "
                   f"{spec['label_column']!r}, {found['features']} feature columns, {found['rows']} rows; written as "
                   f"the table's canonical text.")],
    }


def describe(name: str, spec: dict) -> dict:
    """``rows``, ``features``, ``labels`` (sorted by their text) and ``table_sha256`` of the file of dataset
    ``name``, after every check of :func:`read_table`; DataError naming the file, row and column otherwise."""
    _, frame, _ = read_table(name, spec)
    return describe_frame(frame)


def describe_frame(frame: pd.DataFrame) -> dict:
    labels = sorted(frame["label"].unique())
    return {"rows": len(frame), "features": frame.shape[1] - 1, "labels": labels,
            "table_sha256": table_checksum(frame)}


def read_table(name: str, spec: dict) -> tuple[bytes, pd.DataFrame, list[str]]:
    """The file's bytes, its table (columns f0..f{n-1} float64, then 'label' str; the file's row order) and the
    names of its feature columns.
    Refused with the file, the row and the column named: a missing file or column, a checksum that differs from
    ``sha256``, a missing value, a feature that is not a number, a label that cannot be written in the table's
    text, fewer than two classes."""
    path = Path(spec["path"])
    where = f"datasets.{name}: {path}"
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{where}: cannot read the file ({err.strerror or err}); a relative path is read from the "
                        f"directory the workflow runs in ({Path.cwd()})") from None
    if spec.get("sha256") and sha256_hex(raw) != spec["sha256"]:
        raise DataError(f"{where}: SHA-256 is {sha256_hex(raw)}, expected {spec['sha256']} (datasets.{name}.sha256): "
                        f"not the configured file")
    cells, row_name = _cells(where, path)
    label_column = spec["label_column"]
    if label_column not in cells.columns:
        raise DataError(f"{where}: no column {label_column!r} (label_column); its columns: {', '.join(cells.columns)}")
    feature_columns = spec.get("feature_columns") or [column for column in cells.columns if column != label_column]
    for column in feature_columns:
        if column not in cells.columns:
            raise DataError(f"{where}: no column {column!r} (feature_columns); its columns: "
                            f"{', '.join(cells.columns)}")
    if label_column in feature_columns:
        raise DataError(f"{where}: the label column {label_column!r} is also in feature_columns")
    if not feature_columns:
        raise DataError(f"{where}: no feature column besides the label column {label_column!r}")

    values = np.empty((len(cells), len(feature_columns)), dtype=np.float64)
    for position, column in enumerate([*feature_columns, label_column]):
        text = cells[column]
        missing = text.str.strip() == ""
        if missing.any():
            raise DataError(f"{where}: {row_name(int(np.argmax(missing.to_numpy())))}, column {column!r}: missing "
                            f"value")
        if column == label_column:
            # The table's text is ASCII and comma-separated, without quoting.
            unwritable = ~text.map(lambda label: label.isascii() and "," not in label and label == label.strip())
            if unwritable.any():
                row = int(np.argmax(unwritable.to_numpy()))
                raise DataError(f"{where}: {row_name(row)}, column {column!r}: label {text.iloc[row]!r} has a comma, "
                                f"surrounding blanks or non-ASCII characters")
            continue
        bad = ~text.str.fullmatch(DECIMAL.pattern)
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            raise DataError(f"{where}: {row_name(row)}, column {column!r}: {text.iloc[row]!r} is not a number")
        values[:, position] = text.astype(np.float64).to_numpy()
        infinite = ~np.isfinite(values[:, position])
        if infinite.any():
            row = int(np.argmax(infinite))
            raise DataError(f"{where}: {row_name(row)}, column {column!r}: {text.iloc[row]} is not a finite number")

    frame = pd.DataFrame(values, columns=[f"f{col}" for col in range(len(feature_columns))])
    frame["label"] = cells[label_column].to_numpy(dtype=object)
    classes = frame["label"].unique()
    if len(classes) < 2:
        raise DataError(f"{where}: column {label_column!r} (label_column) has a single class "
                        f"({', '.join(map(repr, classes)) or 'no rows'}); at least two are needed")
    return raw, frame, list(feature_columns)


def _cells(where: str, path: Path):
    """Every cell of the file as text ('' where a value is missing) and a function naming a row (0-based) as the
    user finds it: the data row, and for a CSV file its line (the header being line 1)."""
    if path.suffix.lower() in PARQUET_SUFFIXES:
        try:
            table = pd.read_parquet(path)
        except (OSError, ValueError) as err:
            raise DataError(f"{where}: not a Parquet file ({err})") from None
        table.columns = [str(column) for column in table.columns]
        cells = table.astype(object).where(table.notna(), "").map(str)
        return cells, lambda row: f"row {row + 1}"
    try:
        # Every cell as text: the checks below name the cell that is not a number; pandas would guess types.
        cells = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise DataError(f"{where}: not a CSV file with a header row ({err})") from None
    # A line with fewer fields than the header has its last values missing.
    return cells.fillna(""), lambda row: f"row {row + 1} (line {row + 2})"

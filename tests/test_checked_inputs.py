"""Nothing wrong reaches the report: a data file edited after its download is refused by every step that reads it,
and a result table edited by hand fails naming its file, row, column and value.

The unit tests use the bundled ionosphere file and tables written by the package; the slow ones rerun a copy of
the tiny run through the real Snakemake command line."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, copy_run, run_snakemake, tiny_config
from schedbench.config import validate_config
from schedbench.data import DataError, accepted_table, load_accepted_dataset, load_dataset
from schedbench.jobs import prepare_job
from schedbench.plan import build_plan
from schedbench.sources.uci import fetch_file
from schedbench.tables import COLUMN_TYPES, TableError, declared_columns, read_table, typed_frame, write_table

BUNDLED = REPO / "data" / "bundled" / "ionosphere.data"
SPEC = {"rows": 351, "features": 34, "labels": ["b", "g"], "value_range": [-1, 1]}
SHA256 = "46d52186b84e20be52918adb93e8fb9926b34795ff7504c24350ae0616a04bbd"


@pytest.fixture
def downloaded(tmp_path) -> tuple[Path, Path]:
    """data/raw/ionosphere.data and its provenance record, as the download rule leaves them (offline: no URL, so
    the bundled copy)."""
    data, provenance = tmp_path / "data/raw/ionosphere.data", tmp_path / "data/raw/ionosphere.provenance.json"
    record = fetch_file("ionosphere", urls=[], sha256=SHA256, bundled=BUNDLED, dest=data, rows=351, features=34,
                        labels=["b", "g"], value_range=(-1, 1), timeout_s=1, retries=1, backoff_s=0,
                        log=logging.getLogger("test"))
    provenance.write_text(json.dumps(record), encoding="utf-8")
    return data, provenance


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="ascii").splitlines()


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


def flip_labels(lines: list[str], count: int) -> list[str]:
    flipped = {"b": "g", "g": "b"}
    return [f"{line.rsplit(',', 1)[0]},{flipped[line.rsplit(',', 1)[1]]}" if i < count else line
            for i, line in enumerate(lines)]


def refusal(data: Path, provenance: Path, **spec) -> str:
    with pytest.raises(DataError) as caught:
        accepted_table(data, provenance, **{"rows": 351, "features": 34, "labels": ["b", "g"], **spec})
    return str(caught.value)


# --- the data file against its provenance and the configured shape -----------------------------------------------

def test_the_accepted_file_reads_as_the_bundled_table(downloaded):
    data, provenance = downloaded
    frame = accepted_table(data, provenance, rows=351, features=34, labels=["b", "g"], value_range=(-1, 1))
    assert frame.shape == (351, 35)
    x, y = load_accepted_dataset(data, provenance, SPEC)
    x_plain, y_plain = load_dataset(BUNDLED, features=34, labels=["b", "g"])
    assert np.array_equal(x, x_plain) and np.array_equal(y, y_plain)


def test_dropped_rows_are_refused_naming_file_checksums_rows_and_remedy(downloaded):
    data, provenance = downloaded
    write_lines(data, flip_labels(lines_of(data)[10:], 20))  # the edit: 10 rows fewer, 20 labels flipped
    message = refusal(data, provenance)
    actual = hashlib.sha256(data.read_bytes()).hexdigest()
    assert f"{data} is not the file the download rule accepted ({provenance})" in message
    assert f"SHA-256 is {actual} ({data.stat().st_size} bytes), expected {SHA256} (76467 bytes)" in message
    assert "expected 351 rows, got 341" in message
    assert f"Delete {data} and {provenance} to get the configured data again" in message
    assert "or restore the file" in message


def test_a_flipped_label_is_refused_though_the_shape_is_right(downloaded):
    data, provenance = downloaded
    write_lines(data, flip_labels(lines_of(data), 1))
    message = refusal(data, provenance)
    assert f"expected {SHA256}" in message
    assert "still has the configured shape (351 rows, 34 features, labels b, g)" in message


def test_the_accepted_bytes_must_still_be_the_configured_table(downloaded):
    """A config changed since the download (another row count): the bytes match their record, the shape does not."""
    data, provenance = downloaded
    message = refusal(data, provenance, rows=350)
    assert "the table: expected 350 rows, got 351" in message
    assert "SHA-256 is" not in message


def test_an_edited_provenance_record_is_refused(downloaded):
    data, provenance = downloaded
    record = json.loads(provenance.read_text())
    provenance.write_text(json.dumps({**record, "sha256": "0" * 64}))
    assert f"expected {'0' * 64} (76467 bytes)" in refusal(data, provenance)
    provenance.write_text("{not json")
    message = refusal(data, provenance)
    assert f"{provenance}: not a provenance record" in message and f"nothing can vouch for {data}" in message


def test_a_value_outside_the_configured_range_is_refused(downloaded):
    data, provenance = downloaded
    lines = lines_of(data)
    lines[4] = "7" + lines[4][1:]  # the first feature of line 5: 1 -> 7
    write_lines(data, lines)
    with pytest.raises(DataError, match=r"line 5, column 1 \(f0\): 7 is outside \[-1, 1\]"):
        load_accepted_dataset(data, provenance, SPEC)


def test_a_training_job_refuses_an_edited_file(downloaded):
    """What the train rule's script calls: prepare_job with the download rule's record."""
    data, provenance = downloaded
    settings = build_plan(validate_config(tiny_config())).job_settings("article", "ionosphere")
    assert prepare_job(settings, "tail", [0], data, provenance=provenance).x.shape == (1, 351, 34)
    write_lines(data, lines_of(data)[:-1])
    with pytest.raises(DataError, match=f"{data} is not the file .* expected 351 rows, got 350"):
        prepare_job(settings, "tail", [0], data, provenance=provenance)


# --- result tables read back ---------------------------------------------------------------------------------------

def valid_table(name: str, rows: int = 4) -> pd.DataFrame:
    """A table of the declared columns, every value one its type allows: names 'x', flags False, counts 1,
    numbers 0.5 (a fraction too), the varied parameter lr0 0.1."""
    columns = declared_columns(name, ["lr0"])
    value = {"object": "x", "bool": False, "int64": 1, "float64": 0.5}
    return typed_frame([{c: 0.1 if c == "lr0" else value[COLUMN_TYPES[c]] for c in columns}] * rows, columns,
                       ["lr0"])


def written(tmp_path: Path, name: str, rows: int = 4) -> Path:
    path = tmp_path / "results" / "article" / "ionosphere" / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table(valid_table(name, rows), path, name)
    return path


def edit_cell(path: Path, row: int, column: str, value: str) -> None:
    """Set the cell of 1-based data row ``row`` as a text editor would, the rest byte for byte."""
    lines = path.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    cells = lines[row].rstrip("\n").split(",")
    cells[header.index(column)] = value
    lines[row] = ",".join(cells) + "\n"
    path.write_text("".join(lines))


def read_error(path: Path, name: str) -> str:
    with pytest.raises(TableError) as caught:
        read_table(path, name)
    return str(caught.value)


@pytest.mark.parametrize("name, column", [
    ("summary", "mean"),  # a fraction
    ("summary", "mean_correct"),  # a number of any size
    ("comparisons", "mean_diff"),  # signed
    ("runs", "val_loss"),
])
def test_a_non_numeric_cell_in_a_number_column_names_file_row_column_and_value(tmp_path, name, column):
    path = written(tmp_path, name)
    read_table(path, name)  # intact: reads
    edit_cell(path, 3, column, "abc")
    assert read_error(path, name) == f"{path}: column {column}, row 3 (line 4): 'abc' is not a number"


@pytest.mark.parametrize("value, what", [("abc", "'abc' is not a number"),
                                         ("2.5", "2.5 is not a finite whole number (a count)"),
                                         ("", "an empty cell is not a finite whole number (a count)")])
def test_a_count_must_be_a_whole_number(tmp_path, value, what):
    path = written(tmp_path, "summary")
    edit_cell(path, 2, "n_seeds", value)
    assert read_error(path, "summary") == f"{path}: column n_seeds, row 2 (line 3): {what}"


@pytest.mark.parametrize("value, shown", [("abc", "'abc'"), ("1", "'1'"), ("", "an empty cell")])
def test_a_flag_must_be_true_or_false(tmp_path, value, shown):
    path = written(tmp_path, "summary")
    edit_cell(path, 4, "ci_degenerate", value)
    assert read_error(path, "summary") == f"{path}: column ci_degenerate, row 4 (line 5): {shown} is not True or False"


def test_the_first_bad_row_is_named_and_the_others_counted(tmp_path):
    path = written(tmp_path, "runs", rows=6)
    for row in (5, 2, 6):
        edit_cell(path, row, "loss", "abc")
    assert read_error(path, "runs") == f"{path}: column loss, row 2 (line 3): 'abc' is not a number (3 rows like it)"


def test_a_table_reads_back_with_its_declared_types(tmp_path):
    path = written(tmp_path, "summary")
    edit_cell(path, 1, "mean_correct", "")  # an empty number is NaN, not an error
    table = read_table(path, "summary")
    assert math.isnan(table["mean_correct"].iloc[0]) and table["n_seeds"].tolist() == [1] * 4
    assert declared_types(table) == {c: COLUMN_TYPES[c] for c in declared_types(table)}


def test_an_empty_table_reads_back_with_its_declared_types(tmp_path):
    """pandas reads every column of a file without rows as text; the declared types hold there too."""
    table = read_table(written(tmp_path, "summary", rows=0), "summary")
    assert declared_types(table) == {c: COLUMN_TYPES[c] for c in declared_types(table)}


def declared_types(table: pd.DataFrame) -> dict[str, str]:
    """The dtype of each column declared as flag, count or number."""
    return {c: str(table[c].dtype) for c in table.columns if COLUMN_TYPES.get(c, "object") != "object"}


def test_names_are_any_text_and_a_wrong_header_is_named(tmp_path):
    path = written(tmp_path, "summary")
    edit_cell(path, 1, "schedule", "abc")
    assert read_table(path, "summary")["schedule"].iloc[0] == "abc"
    path.write_text(path.read_text().replace("mean_correct", "mean_corect", 1))
    assert read_error(path, "summary").startswith(f"{path}: summary table has columns")


# --- the workflow: a refused input leaves the previous results as they were -----------------------------------------

STUDY = Path("results/article/ionosphere")
RESULT_TABLES = ["runs", "predictions", "summary", "comparisons", "friedman", "replication", "majority",
                 "attribution", "reach_profiles", "paired_differences"]


def snapshot(workdir: Path, patterns) -> dict[str, tuple[bytes, int]]:
    """Bytes and modification time of every file matching ``patterns``."""
    return {str(path.relative_to(workdir)): (path.read_bytes(), path.stat().st_mtime_ns)
            for pattern in patterns for path in sorted(workdir.glob(pattern))}


@pytest.mark.slow
def test_an_edited_data_file_is_refused_and_nothing_is_rewritten(tmp_path, tiny_run):
    workdir, configfile = copy_run(tiny_run, tmp_path / "run")
    data = workdir / "data/raw/ionosphere.data"
    write_lines(data, flip_labels(lines_of(data)[10:], 20))
    kept = snapshot(workdir, ["results/*/*/*.csv", "results/*/suite/*.csv", "reports/*.html"])
    assert len(kept) > 20 and "reports/report.html" in kept

    result = run_snakemake(workdir, configfile)
    assert result.returncode != 0
    assert ("schedbench train: data/raw/ionosphere.data is not the file the download rule accepted "
            "(data/raw/ionosphere.provenance.json): SHA-256 is ") in result.stderr
    assert f"expected {SHA256} (76467 bytes); the table: expected 351 rows, got 341" in result.stderr
    # Nothing was trained on it: every table and page is the previous run's, byte for byte, not even rewritten.
    assert snapshot(workdir, kept) == kept


@pytest.mark.slow
def test_a_non_numeric_cell_in_runs_fails_the_statistics_naming_it(tmp_path, tiny_run):
    workdir, configfile = copy_run(tiny_run, tmp_path / "run")
    runs = workdir / STUDY / "runs.csv"
    edit_cell(runs, 3, "val_loss", "abc")
    statistics = [str(STUDY / f"{name}.csv") for name in RESULT_TABLES[2:]]
    report = snapshot(workdir, ["reports/*.html"])

    result = run_snakemake(workdir, configfile)
    assert result.returncode != 0
    assert f"schedbench statistics: {STUDY / 'runs.csv'}: column val_loss, row 3 (line 4): 'abc' is not a number" \
        in result.stderr
    # Snakemake removes a failed job's outputs: the statistics tables are gone, all of them, not half of them.
    assert [name for name in statistics if (workdir / name).exists()] == []
    assert snapshot(workdir, report) == report

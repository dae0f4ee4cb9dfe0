"""Nothing wrong reaches the report: a data file edited after its download is refused by every step that reads it.

The unit tests use the bundled ionosphere file and tables written by the package; the slow ones rerun a copy of
the tiny run through the real Snakemake command line."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, copy_run, run_snakemake, tiny_config
from schedbench.config import validate_config
from schedbench.data import DataError, accepted_table, load_accepted_dataset, load_dataset
from schedbench.jobs import prepare_job
from schedbench.plan import build_plan
from schedbench.sources.uci import fetch_file

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


# --- the workflow: a refused input leaves the previous results as they were -----------------------------------------

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

"""Source ``file``: the user's own CSV table, read and checked when the config is loaded and again by the download
rule; every refusal names the file, the row and the column, and writes nothing."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_snakemake, runnable_config, write_config

from schedbench.config import ConfigError, validate_config
from schedbench.data import DataError, load_accepted_dataset, sha256_hex
from schedbench.sources import SourceContext, fetch


def write_user_csv(path: Path, rows: int = 60) -> Path:
    """The README's example: two measured features, an identifier column and a yes/no label that the features
    separate (yes where width + height > 1)."""
    rng = np.random.default_rng(7)
    lines = ["sample,width,height,label"]
    for row in range(rows):
        width, height = rng.uniform(0, 1, size=2).round(3)
        lines.append(f"s{row},{width},{height},{'yes' if width + height > 1 else 'no'}")
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def file_config(path: Path, **keys) -> dict:
    """The tiny test config, its tuning study on the user's file alone."""
    config = runnable_config("tiny")
    config["datasets"]["mine"] = {"source": "file", "path": str(path), "label_column": "label",
                                  "feature_columns": ["width", "height"], **keys}
    config["studies"]["tuning"]["datasets"] = ["mine"]
    return config


def context() -> SourceContext:
    return SourceContext(repository=Path("."), download={}, log=logging.getLogger("test"))


def test_rows_features_labels_and_checksum_are_read_from_the_file(tmp_path):
    path = write_user_csv(tmp_path / "mine.csv")
    config = validate_config(file_config(path))
    mine = config["datasets"]["mine"]
    assert (mine["rows"], mine["features"], mine["labels"]) == (60, 2, ["no", "yes"])
    destination = tmp_path / "raw" / "mine.data"
    provenance = fetch("mine", mine, destination, context())
    assert provenance["table_sha256"] == mine["table_sha256"] == sha256_hex(destination.read_bytes())
    assert provenance["file_sha256"] == sha256_hex(path.read_bytes())
    assert provenance["feature_columns"] == ["width", "height"]
    record = tmp_path / "raw" / "mine.provenance.json"
    record.write_text(json.dumps(provenance), encoding="utf-8")
    x, y = load_accepted_dataset(destination, record, mine)
    first = path.read_text(encoding="ascii").splitlines()[1].split(",")
    assert x[0].tolist() == pytest.approx([float(first[1]), float(first[2])])
    assert y[0] == ["no", "yes"].index(first[3])


def test_configured_keys_must_match_the_file(tmp_path):
    path = write_user_csv(tmp_path / "mine.csv")
    with pytest.raises(ConfigError, match=r"datasets\.mine\.rows: 61 is configured, but .*mine\.csv has 60"):
        validate_config(file_config(path, rows=61))
    # A configured label order (which class is positive) is kept.
    config = validate_config(file_config(path, labels=["yes", "no"]))
    assert config["datasets"]["mine"]["labels"] == ["yes", "no"]


def test_a_file_other_than_the_configured_sha256_is_refused(tmp_path):
    path = write_user_csv(tmp_path / "mine.csv")
    with pytest.raises(ConfigError, match=r"mine\.csv: SHA-256 is [0-9a-f]{64}, expected 0{64}"):
        validate_config(file_config(path, sha256="0" * 64))


def refused(tmp_path: Path, text: str, match: str, **keys) -> None:
    """The config naming the file is refused with ``match``, and so is the download, which writes nothing."""
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="ascii")
    with pytest.raises(ConfigError, match=match):
        validate_config(file_config(path, **keys))
    spec = {"source": "file", "path": str(path), "label_column": "label", "feature_columns": ["width", "height"],
            "rows": 3, "features": 2, "labels": ["no", "yes"], "table_sha256": "0" * 64, **keys}
    destination = tmp_path / "raw" / "bad.data"
    with pytest.raises(DataError, match=match):
        fetch("mine", spec, destination, context())
    assert not destination.parent.exists() or not any(destination.parent.iterdir())


def test_a_non_numeric_feature_is_refused_naming_file_row_and_column(tmp_path):
    refused(tmp_path, "sample,width,height,label\na,0.1,0.2,no\nb,0.3,wide,yes\nc,0.5,0.6,no\n",
            r"bad\.csv: row 2 \(line 3\), column 'height': 'wide' is not a number")


def test_a_missing_value_is_refused_naming_file_row_and_column(tmp_path):
    refused(tmp_path, "sample,width,height,label\na,0.1,0.2,no\nb,0.3,0.4,yes\nc,,0.6,no\n",
            r"bad\.csv: row 3 \(line 4\), column 'width': missing value")


def test_a_missing_label_is_refused_naming_file_row_and_column(tmp_path):
    refused(tmp_path, "sample,width,height,label\na,0.1,0.2,no\nb,0.3,0.4,\nc,0.5,0.6,no\n",
            r"bad\.csv: row 2 \(line 3\), column 'label': missing value")


def test_a_label_column_that_is_not_there_is_refused(tmp_path):
    refused(tmp_path, "sample,width,height,class\na,0.1,0.2,no\nb,0.3,0.4,yes\nc,0.5,0.6,no\n",
            r"bad\.csv: no column 'label' \(label_column\); its columns: sample, width, height, class")


def test_a_single_class_is_refused(tmp_path):
    refused(tmp_path, "sample,width,height,label\na,0.1,0.2,no\nb,0.3,0.4,no\nc,0.5,0.6,no\n",
            r"bad\.csv: column 'label' \(label_column\) has a single class \('no'\)")


def test_fewer_rows_than_a_split_needs_are_refused_naming_the_file(tmp_path):
    path = tmp_path / "small.csv"
    path.write_text("width,height,label\n0.1,0.2,no\n0.3,0.4,yes\n", encoding="ascii")
    with pytest.raises(ConfigError, match=r"leave an empty part of the 2 rows of datasets\.mine \(file .*small\.csv\) "
                                          r"under heldout"):
        validate_config(file_config(path))


def test_a_parquet_file_is_the_same_table_as_its_csv_and_its_bad_cells_are_named(tmp_path):
    csv = write_user_csv(tmp_path / "mine.csv")
    frame = pd.read_csv(csv)
    frame.to_parquet(tmp_path / "mine.parquet")
    from_csv = validate_config(file_config(csv))["datasets"]["mine"]
    from_parquet = validate_config(file_config(tmp_path / "mine.parquet"))["datasets"]["mine"]
    for key in ("rows", "features", "labels", "table_sha256"):
        assert from_parquet[key] == from_csv[key]
    frame.loc[4, "height"] = None
    frame.to_parquet(tmp_path / "gap.parquet")
    with pytest.raises(ConfigError, match=r"gap\.parquet: row 5, column 'height': missing value"):
        validate_config(file_config(tmp_path / "gap.parquet"))
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(ConfigError, match=r"broken\.parquet: not a Parquet file"):
        validate_config(file_config(tmp_path / "broken.parquet"))


@pytest.mark.slow
def test_a_study_trains_on_the_users_csv_through_the_command_line(tmp_path):
    """The README's example, end to end: a relative path read from the workflow's directory, the table written
    to data/raw with its provenance, and the tuning study trained and aggregated on it."""
    write_user_csv(tmp_path / "mine.csv")
    configfile = write_config(file_config(Path("mine.csv")), tmp_path / "config.yaml")
    result = run_snakemake(tmp_path, configfile, "results/tuning/mine/predictions.csv")
    assert result.returncode == 0, result.stderr[-4000:]
    provenance = json.loads((tmp_path / "data/raw/mine.provenance.json").read_text(encoding="utf-8"))
    assert (provenance["source"], provenance["url"]) == ("file", "mine.csv")
    assert provenance["file_sha256"] == sha256_hex((tmp_path / "mine.csv").read_bytes())
    assert (tmp_path / "results/tuning/mine/predictions.csv").stat().st_size > 0

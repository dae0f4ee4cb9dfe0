"""The suite's datasets as config data: each source (through the registry, as the download rule calls it) gives
the configured table (bytes and parsed-table checksums; scikit-learn's tables offline), and standardisation sees
the training rows of its split only."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from conftest import REPO, load_repo_config

from schedbench.config import load_schema, validate_config
from schedbench.data import DataError, check_table, load_dataset, table_checksum
from schedbench.jobs import preprocess
from schedbench.plan import build_plan
from schedbench.sources import SOURCES, SourceContext, fetch

LOG = logging.getLogger("test")
CONFIG = validate_config(load_repo_config())
SKLEARN = [name for name, spec in CONFIG["datasets"].items() if spec["source"] == "sklearn"]
UCI = [name for name, spec in CONFIG["datasets"].items() if spec["source"] == "uci"]


def test_the_suite_has_the_five_tables_of_the_reference_and_mnist1d_with_each_reference_model():
    datasets = CONFIG["datasets"]
    assert list(datasets) == ["ionosphere", "sonar", "breast_cancer", "wine", "digits", "mnist1d_mlp", "mnist1d_cnn"]
    assert [len(datasets[name]["labels"]) for name in datasets] == [2, 2, 2, 3, 10, 10, 10]
    assert [datasets[name]["group"] for name in datasets] == ["tables"] * 5 + ["mnist1d"] * 2
    plan = build_plan(CONFIG)
    assert plan.datasets["mnist1d_mlp"].model_text == (
        "Dense(100, relu) then Dense(100, relu, residual) then Dense(10, softmax)")
    assert plan.datasets["mnist1d_cnn"].model_text.startswith("Conv1D(25, 5, strides 2, padding 1, relu)")
    assert [datasets[name]["reference"]["accuracy"] for name in ("mnist1d_mlp", "mnist1d_cnn")] == [0.68, 0.94]
    # The default run trains the second group: the optimizers study runs on it.
    assert list(plan.studies["optimizers"].datasets) == ["mnist1d_mlp", "mnist1d_cnn"]
    assert {d for study in plan.studies.values() for d in study.datasets} == set(datasets)


def context(**download) -> SourceContext:
    """The repository's paths and downloads that fail at once (no URL is configured where it matters)."""
    return SourceContext(repository=REPO, download={"timeout_s": 1, "retries": 1, "backoff_s": 0, **download},
                         log=LOG)


def offline(name: str, **changes) -> dict:
    """Dataset ``name``'s config without its URLs (so the bundled copy is used), with ``changes``."""
    spec = dict(CONFIG["datasets"][name], **changes)
    if spec["source"] == "uci":
        spec["urls"] = []
    return spec


def test_every_source_kind_of_the_schema_is_registered_and_no_other():
    schema = load_schema()
    kinds = schema["properties"]["datasets"]["additionalProperties"]["properties"]["source"]["enum"]
    assert sorted(kinds) == sorted(SOURCES)


def test_an_unknown_source_is_refused_naming_the_known_ones(tmp_path):
    with pytest.raises(DataError, match="ionosphere: unknown source 'csv' \\(known: uci, sklearn, file, mnist1d\\)"):
        fetch("ionosphere", offline("ionosphere", source="csv"), tmp_path / "t.data", context())
    assert not (tmp_path / "t.data").exists()


@pytest.mark.parametrize("name", UCI)
def test_a_bundled_copy_has_its_bytes_and_table_checksums(name, tmp_path):
    spec = CONFIG["datasets"][name]
    provenance = fetch(name, offline(name), tmp_path / "t.data", context())
    assert provenance["source"] == "bundled" and provenance["table_sha256"] == spec["table_sha256"]
    assert provenance["url"] == str(REPO / spec["bundled"])
    assert "The bytes' SHA-256 matched." in provenance["notes"]
    x, y = load_dataset(tmp_path / "t.data", features=spec["features"], labels=spec["labels"])
    assert x.shape == (spec["rows"], spec["features"])


def test_the_same_table_with_other_line_endings_is_accepted_by_its_table_checksum(tmp_path):
    spec = CONFIG["datasets"]["sonar"]
    crlf = tmp_path / "sonar.all-data"
    crlf.write_bytes((REPO / spec["bundled"]).read_bytes().replace(b"\n", b"\r\n"))
    provenance = fetch("sonar", offline("sonar", bundled=str(crlf)), tmp_path / "t.data", context())
    assert any("parsed table's checksum matched" in note for note in provenance["notes"])
    # One changed value is another table: refused, and nothing is written.
    changed = crlf.read_bytes().replace(b"0.0200", b"0.0201", 1)
    crlf.write_bytes(changed)
    with pytest.raises(DataError, match="SHA-256 is"):
        fetch("sonar", offline("sonar", bundled=str(crlf)), tmp_path / "u.data", context())
    assert not (tmp_path / "u.data").exists()


def test_an_edited_bundled_copy_is_refused_naming_the_checksum_and_the_place_of_the_edit(tmp_path):
    spec = CONFIG["datasets"]["ionosphere"]
    lines = (REPO / spec["bundled"]).read_bytes().split(b"\n")
    fields = lines[11].split(b",")
    fields[4] = b"abc"
    lines[11] = b",".join(fields)
    edited = tmp_path / "ionosphere.data"
    edited.write_bytes(b"\n".join(lines))
    with pytest.raises(DataError) as caught:
        fetch("ionosphere", offline("ionosphere", bundled=str(edited)), tmp_path / "t.data", context())
    message = str(caught.value)
    assert f"expected {spec['sha256']}" in message
    assert "the table itself: line 12, column 5 (f4): 'abc' is not a number" in message
    assert not (tmp_path / "t.data").exists()


@pytest.mark.parametrize("name", SKLEARN)
def test_a_scikit_learn_table_is_written_offline_with_its_checksum(name, tmp_path):
    spec = CONFIG["datasets"][name]
    provenance = fetch(name, spec, tmp_path / "t.data", context())
    assert provenance["source"] == "scikit-learn" and provenance["sklearn_version"]
    body = (tmp_path / "t.data").read_bytes()
    frame, _ = check_table(body, rows=spec["rows"], features=spec["features"], labels=spec["labels"])
    assert table_checksum(frame) == spec["table_sha256"] == provenance["sha256"]
    json.dumps(provenance)


def test_a_scikit_learn_table_with_another_checksum_is_refused(tmp_path):
    with pytest.raises(DataError, match="not the configured table"):
        fetch("wine", offline("wine", table_sha256="0" * 64), tmp_path / "t.data", context())
    with pytest.raises(DataError, match="gives 178 rows x 13 features, expected 179 x 13"):
        fetch("wine", offline("wine", rows=179), tmp_path / "t.data", context())
    assert not (tmp_path / "t.data").exists()


def test_standardisation_uses_the_training_rows_only():
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 3.0, (40, 4)).astype(np.float32)
    x[:, 3] = 7.0  # constant on every row: centred, not divided by zero
    train, held_out = np.arange(30), np.arange(30, 40)
    scaled = preprocess(x, train, "standardize")
    np.testing.assert_allclose(scaled[train].mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(scaled[train, :3].std(axis=0), 1.0, atol=1e-6)
    assert np.all(scaled[:, 3] == 0.0)
    # Rows outside the training part move nothing: were their values in the mean, this would fail.
    leaked = x.copy()
    leaked[held_out] += 1000.0
    np.testing.assert_array_equal(preprocess(leaked, train, "standardize")[train], scaled[train])
    assert preprocess(x, train, "none") is x

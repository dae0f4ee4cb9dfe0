"""Source ``mnist1d``: MNIST-1D generated offline from the config's generator settings, the process's global random
state left as found; rows, features and labels follow from the settings when the config loads. And, for the new
sources (mnist1d, file), standardisation fitted on each seed's training rows only."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import numpy as np
import pytest
from conftest import run_snakemake, runnable_config, write_config
from test_file_source import file_config, write_user_csv

from schedbench.config import ConfigError, validate_config
from schedbench.data import DataError, load_accepted_dataset, sha256_hex
from schedbench.jobs import prepare_job
from schedbench.plan import build_plan
from schedbench.report.provenance import data_table
from schedbench.sources import SourceContext, fetch
from schedbench.sources import mnist1d as source

# mnist1d 0.0.2.post1's make_dataset(get_dataset_args()): the arrays (schedbench.sources.mnist1d.arrays_checksum)
# and the table's canonical text.
DEFAULT_ARRAYS_SHA256 = "2377c0b18c9f643da2b39e66086395782aac2fcfdd678b89f55a22b17ec47631"
DEFAULT_TABLE_SHA256 = "7205a0c074c872a5d2033badc72400e68b0001f0fed1ba613310013ab5809f3b"
SMALL = {"num_samples": 200, "seed": 3}


def context() -> SourceContext:
    return SourceContext(repository=Path("."), download={}, log=logging.getLogger("test"))


def mnist1d_config(**entry) -> dict:
    """The tiny test config, its tuning study on an MNIST-1D dataset alone."""
    config = runnable_config("tiny")
    config["datasets"]["mnist1d"] = {"source": "mnist1d", **entry}
    config["studies"]["tuning"]["datasets"] = ["mnist1d"]
    return config


def generated(tmp_path: Path, spec: dict, name: str = "mnist1d") -> tuple[Path, Path, dict]:
    """The table and provenance record the download rule would write for dataset ``name``."""
    destination = tmp_path / "raw" / f"{name}.data"
    provenance = fetch(name, spec, destination, context())
    record = tmp_path / "raw" / f"{name}.provenance.json"
    record.write_text(json.dumps(provenance), encoding="utf-8")
    return destination, record, provenance


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    config = validate_config(mnist1d_config())
    spec = config["datasets"]["mnist1d"]
    return spec, *generated(tmp_path_factory.mktemp("default"), spec)


def test_the_schema_defaults_are_the_packages():
    from mnist1d.data import get_dataset_args

    package = get_dataset_args(as_dict=True)
    del package["url"]
    assert source.GENERATOR_DEFAULTS == package
    config = validate_config(mnist1d_config(generator={}))
    assert config["datasets"]["mnist1d"]["generator"] == package


def test_the_default_dataset_is_pinned(default_run):
    spec, destination, record, provenance = default_run
    assert (spec["rows"], spec["features"], spec["labels"]) == (5000, 40, [str(digit) for digit in range(10)])
    arrays = source.generate(spec["generator"])
    assert arrays["x"].shape == (4000, 40) and arrays["x_test"].shape == (1000, 40)
    assert arrays["x"].dtype == np.float64
    assert sorted(set(arrays["y"]) | set(arrays["y_test"])) == list(range(10))
    assert source.arrays_checksum(arrays) == DEFAULT_ARRAYS_SHA256
    assert provenance["arrays_sha256"] == DEFAULT_ARRAYS_SHA256
    assert provenance["table_sha256"] == provenance["sha256"] == DEFAULT_TABLE_SHA256
    assert sha256_hex(destination.read_bytes()) == DEFAULT_TABLE_SHA256
    assert provenance["bytes"] == destination.stat().st_size
    assert provenance["mnist1d_version"] == "0.0.2.post1" and provenance["generator"] == spec["generator"]
    assert "Rows 1 to 4000 are the package's training rows, rows 4001 to 5000 its test rows" in provenance["notes"][0]
    shown = dict(data_table("mnist1d", record, roots=[]).rows)
    assert shown["mnist1d"] == "0.0.2.post1" and shown["SHA-256 of the generated arrays"] == DEFAULT_ARRAYS_SHA256
    # The training rows then the test rows, in the package's order, as the workflow's steps read them.
    x, y = load_accepted_dataset(destination, record, spec)
    np.testing.assert_allclose(x, np.concatenate([arrays["x"], arrays["x_test"]]).astype(np.float32))
    np.testing.assert_array_equal(y, np.concatenate([arrays["y"], arrays["y_test"]]))


def test_the_configured_checksums_are_checked_and_pass(tmp_path):
    spec = validate_config(mnist1d_config(sha256=DEFAULT_ARRAYS_SHA256, table_sha256=DEFAULT_TABLE_SHA256))
    _, _, provenance = generated(tmp_path, spec["datasets"]["mnist1d"])
    assert provenance["table_sha256"] == DEFAULT_TABLE_SHA256


def test_generating_leaves_the_global_random_state_as_found():
    np.random.seed(12345)
    random.seed(678)
    numpy_state, python_state = np.random.get_state(), random.getstate()
    source.generate({**source.GENERATOR_DEFAULTS, **SMALL})
    after = np.random.random(5), np.random.randn(3), random.random()
    np.random.set_state(numpy_state)
    random.setstate(python_state)
    expected = np.random.random(5), np.random.randn(3), random.random()
    np.testing.assert_array_equal(after[0], expected[0])
    np.testing.assert_array_equal(after[1], expected[1])
    assert after[2] == expected[2]


def test_a_changed_setting_changes_the_rows_and_the_checksum(tmp_path):
    config = validate_config(mnist1d_config(generator={"num_samples": 1000, "seed": 1, "final_seq_length": 30}))
    spec = config["datasets"]["mnist1d"]
    assert (spec["rows"], spec["features"]) == (1000, 30)
    destination, record, provenance = generated(tmp_path, spec)
    assert provenance["arrays_sha256"] != DEFAULT_ARRAYS_SHA256
    assert provenance["table_sha256"] != DEFAULT_TABLE_SHA256
    x, y = load_accepted_dataset(destination, record, spec)
    assert x.shape == (1000, 30) and np.bincount(y.astype(int)).tolist() == [100] * 10
    assert "Rows 1 to 800 are the package's training rows, rows 801 to 1000" in provenance["notes"][0]


def test_a_wrong_sha256_is_refused_naming_the_dataset_and_nothing_is_written(tmp_path):
    for key in ("sha256", "table_sha256"):
        spec = validate_config(mnist1d_config(generator=SMALL, **{key: "0" * 64}))["datasets"]["mnist1d"]
        destination = tmp_path / "raw" / "mnist1d.data"
        with pytest.raises(DataError, match=rf"datasets\.mnist1d: .*SHA-256 [0-9a-f]{{64}}, expected 0{{64}} "
                                            rf"\(datasets\.mnist1d\.{key}\)"):
            fetch("mnist1d", spec, destination, context())
        assert not destination.parent.exists()


@pytest.mark.parametrize(("entry", "match"), [
    ({"generator": {"num_sample": 1000}}, r"datasets\.mnist1d\.generator\.num_sample: unknown key"),
    ({"generator": {"num_samples": 1005}}, r"datasets\.mnist1d\.generator\.num_samples: 1005 is not a multiple"),
    ({"generator": {"seed": -1}}, r"datasets\.mnist1d\.generator\.seed: -1 is less than the minimum"),
    ({"generator": {"shuffle_seq": "yes"}}, r"datasets\.mnist1d\.generator\.shuffle_seq: 'yes' is not of type"),
    ({"generator": {"padding": [60, 36]}}, r"datasets\.mnist1d\.generator\.padding: \[60, 36\] is not \[low, high\]"),
    ({"rows": 4000}, r"datasets\.mnist1d\.rows: 4000 is configured, but the generator settings give 5000"),
    ({"urls": ["https://example.org/mnist1d.pkl"]}, r"datasets\.mnist1d\.urls: not allowed: source mnist1d"),
])
def test_a_bad_mnist1d_entry_is_refused_naming_the_key(entry, match):
    with pytest.raises(ConfigError, match=match):
        validate_config(mnist1d_config(**entry))


def test_generator_settings_belong_to_source_mnist1d_only():
    config = runnable_config("tiny")
    config["datasets"]["ionosphere"]["generator"] = {"seed": 1}
    with pytest.raises(ConfigError, match=r"datasets\.ionosphere\.generator: not allowed: only source mnist1d"):
        validate_config(config)


def standardised_by_training_rows(tmp_path: Path, config: dict, dataset: str, data: Path, record: Path) -> None:
    """Each seed's features, as a heldout job prepares them, are the raw table's standardised with the mean and SD
    of that seed's training rows alone."""
    config["datasets"][dataset]["preprocessing"] = "standardize"
    config = validate_config(config)
    settings = build_plan(config).job_settings("tuning", dataset)
    inputs = prepare_job(settings, "heldout", [0, 1], data, provenance=record)
    raw, _ = load_accepted_dataset(data, record, config["datasets"][dataset])
    assert not np.array_equal(inputs.train_rows[0], inputs.train_rows[1])
    for seed in range(2):
        train = inputs.train_rows[seed]
        assert len(train) < len(raw)
        rows = raw[train].astype(np.float64)
        expected = (raw.astype(np.float64) - rows.mean(axis=0)) / rows.std(axis=0)
        np.testing.assert_allclose(inputs.x[seed], expected, rtol=1e-5, atol=1e-5)
        # Fitted on all rows instead, the numbers would differ.
        assert not np.allclose(inputs.x[seed], (raw - raw.mean(axis=0)) / raw.std(axis=0), rtol=1e-5, atol=1e-5)


def test_standardisation_is_fitted_on_each_seeds_training_rows_of_a_mnist1d_table(tmp_path):
    config = mnist1d_config(generator=SMALL)
    spec = validate_config(config)["datasets"]["mnist1d"]
    data, record, _ = generated(tmp_path, spec)
    standardised_by_training_rows(tmp_path, config, "mnist1d", data, record)


def test_standardisation_is_fitted_on_each_seeds_training_rows_of_a_users_file(tmp_path):
    config = file_config(write_user_csv(tmp_path / "mine.csv", rows=120))
    spec = validate_config(config)["datasets"]["mine"]
    data, record, _ = generated(tmp_path, spec, name="mine")
    standardised_by_training_rows(tmp_path, config, "mine", data, record)


@pytest.mark.slow
def test_a_study_trains_on_mnist1d_through_the_command_line(tmp_path):
    """Generated by the download rule into data/raw with its provenance, then trained and aggregated on."""
    configfile = write_config(mnist1d_config(generator=SMALL), tmp_path / "config.yaml")
    result = run_snakemake(tmp_path, configfile, "results/tuning/mnist1d/predictions.csv")
    assert result.returncode == 0, result.stderr[-4000:]
    provenance = json.loads((tmp_path / "data/raw/mnist1d.provenance.json").read_text(encoding="utf-8"))
    assert (provenance["source"], provenance["url"]) == ("mnist1d", "mnist1d.data.make_dataset")
    assert provenance["generator"]["num_samples"] == 200
    assert provenance["sha256"] == sha256_hex((tmp_path / "data/raw/mnist1d.data").read_bytes())
    assert (tmp_path / "results/tuning/mnist1d/predictions.csv").stat().st_size > 0

"""Config validation: every invalid config is refused with a message naming the key, before anything runs."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import load_repo_config, run_snakemake, tiny_config, write_config
from schedbench.config import ConfigError, validate_config
from schedbench.plan import seeds_of
from schedbench.config_files import load_config


def test_repository_config_is_valid_and_gets_defaults():
    config = validate_config(load_repo_config())
    assert config["schedules"]["baseline"]["optimizer"] == {"momentum": 0.0, "name": "sgd", "nesterov": False}
    assert config["schedules"]["plateau"]["optimizer"] == {"momentum": 0.9, "name": "sgd", "nesterov": False}
    assert config["schedules"]["plateau"]["min_delta"] == 1e-4
    assert seeds_of(config["studies"]["article"]) == list(range(50))
    assert config["studies"]["tuning"]["datasets"] == ["ionosphere", "sonar", "breast_cancer", "wine", "digits"]
    assert config["studies"]["article"]["datasets"] == ["ionosphere"]


# (key path shown in the error, a function that breaks the config that way)
INVALID = [
    ("training.epochs", lambda c: c["training"].update(epochs=0)),
    ("training.epochs", lambda c: c["training"].update(epochs=-3)),
    ("training.epochs", lambda c: c["training"].update(epochs="fifty")),
    ("training.batch_size", lambda c: c["training"].update(batch_size=236)),
    ("training.batch_size", lambda c: c["training"].update(batch_size=0)),
    ("studies.article.seeds", lambda c: c["studies"]["article"].update(seeds=[])),
    ("studies.article.seeds", lambda c: c["studies"]["article"].update(seeds=[1, 1])),
    ("training.engine", lambda c: c["training"].update(engine="pytorch")),
    ("schedules.baseline.type", lambda c: c["schedules"]["baseline"].update(type="linear-warmup")),
    ("schedules.drop-decay.epochs_drop", lambda c: c["schedules"]["drop-decay"].pop("epochs_drop")),
    ("schedules.drop-decay.epoch_drop", lambda c: c["schedules"]["drop-decay"].update(epoch_drop=10)),
    ("schedules.time-decay.optimizer.momentum", lambda c: c["schedules"]["time-decay"].update(optimizer={"momentum": 1.5})),
    ("schedules.time-decay.optimizer.beta_1", lambda c: c["schedules"]["time-decay"].update(optimizer={"beta_1": 0.9})),
    ("schedules.time-decay.optimizer.name", lambda c: c["schedules"]["time-decay"].update(optimizer={"name": "lbfgs"})),
    ("schedules.time-decay.per", lambda c: c["schedules"]["time-decay"].update(per="batch")),
    ("schedules.cosine.lr0", lambda c: c["schedules"]["cosine"].update(lr0=-0.1)),
    ("validation_fraction", lambda c: c.update(validation_fraction=1.0)),
    ("validation_fraction", lambda c: c.update(validation_fraction=0)),
    ("validation_fraction", lambda c: c.update(validation_fraction=-0.2)),
    ("report.baseline", lambda c: c["report"].update(baseline="sgd")),
    ("protocols", lambda c: c.update(protocols=["kfold"])),
    ("datasets.ionosphere.sha256", lambda c: c["datasets"]["ionosphere"].update(sha256="abc")),
    ("trainig", lambda c: c.update(trainig={})),
]


@pytest.mark.parametrize("key, mutate", INVALID, ids=[f"{key}-{i}" for i, (key, _) in enumerate(INVALID)])
def test_invalid_config_names_the_key(key, mutate):
    config = load_repo_config()
    mutate(config)
    with pytest.raises(ConfigError) as caught:
        validate_config(config)
    assert key in str(caught.value)


def test_duplicate_schedule_name_is_refused(tmp_path):
    source = write_config(load_repo_config(), tmp_path / "config.yaml").read_text()
    duplicated = source.replace("  time-decay:", "  baseline:", 1)
    path = tmp_path / "duplicate.yaml"
    path.write_text(duplicated)
    with pytest.raises(ConfigError, match="baseline: duplicate key"):
        load_config(path)


def test_each_problem_is_reported_once_by_its_key():
    config = load_repo_config()
    del config["training"]["epochs"], config["training"]["batch_size"]
    with pytest.raises(ConfigError) as caught:
        validate_config(config)
    message = str(caught.value)
    assert message.count("training.epochs: required key is missing") == 1
    assert message.count("training.batch_size: required key is missing") == 1


def test_a_bad_value_in_a_family_both_studies_use_is_reported_once():
    config = load_repo_config()
    config["schedules"]["cosine"]["alpha"] = "x"
    with pytest.raises(ConfigError) as caught:
        validate_config(config)
    assert str(caught.value).count("schedules.cosine.alpha: 'x' is not of type 'number'") == 1


@pytest.mark.parametrize("function", ["no_such_module:f", "os:getcwd", "userschedules:negative"])
def test_unusable_custom_schedule_is_refused_before_anything_runs(function):
    config = load_repo_config()
    config["schedules"]["mine"] = {"type": "custom", "function": function, "per": "epoch"}
    with pytest.raises(ConfigError, match="schedules.mine"):
        validate_config(config)


_BAD_VALUES = st.one_of(
    st.none(), st.text(max_size=5), st.integers(-5, 0), st.floats(allow_nan=True), st.lists(st.integers(), max_size=2)
)
_TARGETS = [
    ("training", "epochs"), ("training", "batch_size"), ("training", "seeds_per_job"), ("training", "threads"),
    ("model", "hidden_units"), ("download", "retries"), ("report", "confidence"),
    ("report", "threads"),
]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(_TARGETS), value=_BAD_VALUES)
def test_generated_bad_values_name_their_key(target, value):
    section, key = target
    config = load_repo_config()
    config.setdefault(section, {})[key] = value
    try:
        validate_config(config)
    except ConfigError as error:
        assert f"{section}.{key}" in str(error)
    else:
        # The only generated values that may pass are valid ones (e.g. a float confidence in (0, 1), a list of
        # hidden layers' widths).
        assert ((section, key) == ("report", "confidence") and isinstance(value, float) and 0 < value < 1) or (
            (section, key) == ("model", "hidden_units") and isinstance(value, list) and value
            and all(isinstance(units, int) and units >= 1 for units in value))


_SCHEDULE_TYPES = ["constant", "inverse_time", "step", "piecewise", "exponential", "polynomial", "cosine",
                   "cosine_restarts", "cyclical", "one_cycle", "warmup_stable_decay", "reduce_on_plateau", "custom"]


@settings(max_examples=100, deadline=None)
@given(kind=st.sampled_from(_SCHEDULE_TYPES), extra=st.sampled_from(["decay", "lr", "warmup", "gamma_", "steps"]))
def test_generated_unknown_schedule_parameter_is_named(kind, extra):
    config = load_repo_config()
    config["schedules"] = {"baseline": {"type": "constant", "lr0": 0.1}, "x": {"type": kind, extra: 1}}
    with pytest.raises(ConfigError) as caught:
        validate_config(config)
    assert "schedules.x" in str(caught.value)


@pytest.mark.slow
@pytest.mark.parametrize("key, mutate", INVALID, ids=[f"{key}-{i}" for i, (key, _) in enumerate(INVALID)])
def test_snakemake_refuses_bad_config_before_running_anything(tmp_path, key, mutate):
    config = tiny_config()
    mutate(config)
    configfile = write_config(copy.deepcopy(config), tmp_path / "config.yaml")
    result = run_snakemake(tmp_path, configfile)
    assert result.returncode != 0
    assert key in result.stderr
    for produced in ("results", "reports", "data", "logs"):
        assert not (tmp_path / produced).exists(), produced


def test_schema_offers_exactly_the_registered_engines():
    from schedbench.config import load_schema
    from schedbench.engines import ENGINES

    assert load_schema()["properties"]["training"]["properties"]["engine"]["enum"] == list(ENGINES)


def test_a_formulas_warmup_steps_is_not_taken_for_the_schedule_free_optimizers():
    """warmup_steps is a parameter of cosine and of the schedule-free optimizers: beside the formula it is the
    formula's, not a setting 'moved to' the optimizer block; momentum there still is."""
    config = load_repo_config()
    config["schedules"]["cosine"].update(warmup_steps=45, warmup_target=0.2)
    assert validate_config(config)["schedules"]["cosine"]["warmup_steps"] == 45
    config["schedules"]["cosine"]["momentum"] = 0.9
    with pytest.raises(ConfigError, match="schedules.cosine.momentum: moved to schedules.cosine.optimizer.momentum"):
        validate_config(config)

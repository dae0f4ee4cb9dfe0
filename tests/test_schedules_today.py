"""Today's schedules: warm-up-stable-decay against transformers' recorded multipliers, the generic linear warm-up
and the decays that end with the run against Keras, their config errors, and every existing schedule's rates
unchanged (recorded before these came in).

Fast (no training).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402

from conftest import load_repo_config  # noqa: E402
from schedbench.config import ConfigError, validate_config  # noqa: E402
from schedbench.engines.keras_fit import PerUpdateRate, keras_rate  # noqa: E402
from schedbench.schedules import ScheduleError, build_schedule  # noqa: E402

REFERENCE = Path(__file__).resolve().parent / "reference"
KS = keras.optimizers.schedules
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def keras_values(schedule, steps) -> np.ndarray:
    # CosineDecay with a warm-up branches on a scalar step: one step per call. Float64 rates keep Keras in float64.
    return np.array([float(keras.ops.convert_to_numpy(schedule(np.int64(t)))) for t in steps])


# --------------------------------------------------------------------------------------------------
# every existing schedule gives the rates it gave before
# --------------------------------------------------------------------------------------------------
def _records():
    recorded = json.loads((REFERENCE / "catalogue_rates.json").read_text(encoding="utf-8"))
    return [(f"{group}/{key}", record) for group, records in recorded.items() for key, record in records.items()]


def test_existing_schedules_give_the_recorded_rates_bit_for_bit():
    records = _records()
    assert len(records) > 100
    changed = []
    for key, record in records:
        rates = build_schedule("recorded", dict(record["spec"])).rates(record["epochs"], record["steps_per_epoch"])
        if hashlib.sha256(rates.astype("<f8").tobytes()).hexdigest() != record["sha256"]:
            changed.append(key)
    assert changed == []


# --------------------------------------------------------------------------------------------------
# warm-up-stable-decay against transformers' get_wsd_schedule
# --------------------------------------------------------------------------------------------------
WSD = json.loads((REFERENCE / "wsd_transformers.json").read_text(encoding="utf-8"))


def _wsd_from_case(case, lr0=0.3, **extra):
    spec = {"type": "warmup_stable_decay", "lr0": lr0, "warmup_steps": case["warmup_steps"],
            "total_steps": case["total_steps"], "decay_fraction": case["decay_steps"] / case["total_steps"],
            "final_ratio": case["min_lr_ratio"], "decay_shape": case["decay_type"], "per": "update", **extra}
    return build_schedule("wsd", spec)


@pytest.mark.parametrize("case", WSD["cases"],
                         ids=[f"{c['decay_type']}-N{c['total_steps']}-W{c['warmup_steps']}-D{c['decay_steps']}-"
                              f"r{c['min_lr_ratio']}" for c in WSD["cases"]])
def test_wsd_matches_transformers(case):
    lr0 = 0.3
    schedule = _wsd_from_case(case, lr0)
    assert schedule.phases() == (case["warmup_steps"], case["total_steps"] - case["warmup_steps"] -
                                 case["decay_steps"], case["decay_steps"])
    steps = np.arange(len(case["multipliers"]))
    expected = lr0 * np.asarray(case["multipliers"])
    got = schedule(steps)
    warmup, ratio = case["warmup_steps"], case["min_lr_ratio"]
    # Stable, cooldown and after: transformers' values.
    np.testing.assert_allclose(got[warmup:], expected[warmup:], rtol=1e-12, atol=0)
    # The warm-up rises from 0, as every schedule's here; transformers' from min_lr_ratio x the peak. They agree
    # where that ratio is 0, and otherwise transformers' is this one rescaled into [ratio, 1].
    progress = steps[:warmup] / max(warmup, 1)
    np.testing.assert_allclose(got[:warmup], lr0 * progress, rtol=1e-12, atol=0)
    np.testing.assert_allclose(expected[:warmup], lr0 * (ratio + (1 - ratio) * progress), rtol=1e-12, atol=0)
    # The cooldown reaches the final ratio only after the run: its last count has p = 1 - 1/D.
    assert got[case["total_steps"] - 1] >= lr0 * ratio
    assert got[case["total_steps"]] == pytest.approx(lr0 * ratio, rel=1e-15)


def test_recorded_reference_names_its_library_version():
    assert (WSD["library"], WSD["version"]) == ("transformers", "5.23.0")
    assert {c["decay_type"] for c in WSD["cases"]} == {"linear", "cosine", "1-sqrt"}
    assert any(c["warmup_steps"] and c["min_lr_ratio"] > 0 for c in WSD["cases"])


def test_wsd_defaults_to_the_run_and_a_1_sqrt_cooldown_of_a_fifth():
    schedule = build_schedule("wsd", {"type": "warmup_stable_decay", "lr0": 0.1, "warmup_steps": 5, "per": "update"})
    with pytest.raises(ScheduleError, match=r"schedules\.wsd: needs the run's length"):
        schedule(3)
    rates = schedule.rates(10, 10)
    assert schedule.with_horizon(100).phases() == (5, 75, 20)
    np.testing.assert_array_equal(rates, schedule.with_horizon(100)(np.arange(100)))
    explicit = build_schedule("wsd", {"type": "warmup_stable_decay", "lr0": 0.1, "warmup_steps": 5, "total_steps": 100,
                                      "decay_fraction": 0.2, "final_ratio": 0.0, "decay_shape": "1-sqrt",
                                      "per": "update"})
    np.testing.assert_array_equal(rates, explicit.rates(10, 10))
    assert rates[80] == 0.1 and rates[81] == pytest.approx(0.1 * (1 - np.sqrt(1 / 20)), rel=1e-15)
    # A horizon set through the seam (a budget's fraction of the run) wins over the run's length.
    shorter = schedule.with_horizon(50).rates(10, 10)
    assert shorter[49] < 0.1 * 0.3 and shorter[50] == 0.0


def test_wsd_per_epoch_counts_epochs():
    schedule = build_schedule("wsd", {"type": "warmup_stable_decay", "lr0": 0.2, "warmup_steps": 2,
                                      "decay_fraction": 0.5, "decay_shape": "linear", "per": "epoch"})
    np.testing.assert_allclose(schedule.epoch_rates(6, 4), [0.0, 0.1, 0.2, 0.2, 0.2 * 2 / 3, 0.2 / 3], rtol=1e-15)
    np.testing.assert_array_equal(schedule.rates(6, 4), np.repeat(schedule.epoch_rates(6, 4), 4))


# --------------------------------------------------------------------------------------------------
# the generic warm-up and the decays that end with the run, against Keras
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lr0, warmup, decay_steps, alpha", [(0.1, 45, 405, 0.0), (0.05, 10, 90, 0.1),
                                                             (0.2, 1, 200, 0.5)])
def test_cosine_generic_warmup_is_keras_warmup_from_zero(lr0, warmup, decay_steps, alpha):
    ours = build_schedule("c", {"type": "cosine", "lr0": lr0, "decay_steps": decay_steps, "alpha": alpha,
                                "warmup_steps": warmup, "per": "update"})
    expected = KS.CosineDecay(np.float64(0.0), decay_steps, alpha=alpha, warmup_target=np.float64(lr0),
                              warmup_steps=warmup)
    steps = np.concatenate([np.arange(0, warmup + decay_steps + 20), [10_000]])
    np.testing.assert_allclose(ours(steps), keras_values(expected, steps), rtol=1e-12, atol=1e-15)
    assert ours(0) == 0.0 and ours(warmup) == pytest.approx(lr0, rel=1e-15)
    assert ours(warmup + decay_steps) == pytest.approx(alpha * lr0, rel=1e-12, abs=1e-18)


@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_cosine_decay_steps_left_out_ends_with_the_run(alpha):
    epochs, spe, warmup = 20, 9, 18
    ours = build_schedule("c", {"type": "cosine", "lr0": 0.1, "alpha": alpha, "warmup_steps": warmup, "per": "update"})
    expected = KS.CosineDecay(np.float64(0.0), epochs * spe - warmup, alpha=alpha, warmup_target=np.float64(0.1),
                              warmup_steps=warmup)
    rates = ours.rates(epochs, spe)
    np.testing.assert_allclose(rates, keras_values(expected, np.arange(epochs * spe)), rtol=1e-12, atol=1e-15)
    assert ours.for_run(epochs, spe).decay_length == epochs * spe - warmup
    # The last update is one update short of the end of the decay: alpha x peak is the rate after the run.
    assert rates[-1] > alpha * 0.1 and ours.with_horizon(epochs * spe)(epochs * spe) == pytest.approx(alpha * 0.1)


def test_linear_decay_to_zero_over_the_run_is_keras_polynomial():
    ours = build_schedule("p", {"type": "polynomial", "lr0": 0.1, "end_lr": 0.0, "power": 1.0, "per": "update"})
    rates = ours.rates(10, 9)
    np.testing.assert_allclose(rates, keras_values(KS.PolynomialDecay(np.float64(0.1), 90, 0.0), np.arange(90)),
                               rtol=1e-12, atol=0)
    np.testing.assert_allclose(rates, 0.1 * (1 - np.arange(90) / 90), rtol=1e-12)


@pytest.mark.parametrize("spec, keras_schedule", [
    ({"type": "exponential", "lr0": 0.1, "decay_rate": 0.5, "decay_steps": 30},
     KS.ExponentialDecay(np.float64(0.1), 30, np.float64(0.5))),
    ({"type": "polynomial", "lr0": 0.1, "end_lr": 0.001, "decay_steps": 60, "power": 2.0},
     KS.PolynomialDecay(np.float64(0.1), 60, np.float64(0.001), power=2.0)),
    ({"type": "piecewise", "boundaries": [20, 50], "values": [0.1, 0.05, 0.01]},
     KS.PiecewiseConstantDecay([20, 50], [np.float64(0.1), np.float64(0.05), np.float64(0.01)])),
    ({"type": "constant", "lr0": 0.1}, None),
])
def test_generic_warmup_rises_from_zero_then_runs_the_formula_on_its_own_clock(spec, keras_schedule):
    warmup = 12
    plain = build_schedule("plain", {**spec, "per": "update"})
    warmed = build_schedule("warm", {**spec, "per": "update", "warmup_steps": warmup})
    steps = np.arange(150)
    got = warmed(steps)
    np.testing.assert_allclose(got[:warmup], plain(0) * steps[:warmup] / warmup, rtol=1e-15, atol=0)
    np.testing.assert_array_equal(got[warmup:], plain(steps[warmup:] - warmup))
    if keras_schedule is not None:
        np.testing.assert_allclose(got[warmup:], keras_values(keras_schedule, steps[warmup:] - warmup), rtol=1e-12)
    assert warmed.params()["warmup_steps"] == warmup and "warmup_steps" not in plain.params()
    assert "horizon" not in warmed.params()


def test_generic_warmup_per_epoch_and_for_a_users_function():
    step = build_schedule("s", {"type": "step", "lr0": 0.1, "drop": 0.5, "epochs_drop": 2.0, "warmup_steps": 2})
    np.testing.assert_allclose(step(np.arange(6)), [0.0, 0.05, 0.1, 0.05, 0.05, 0.025], rtol=1e-15)
    custom = build_schedule("u", {"type": "custom", "function": "userschedules:halving", "kwargs": {"every": 1},
                                  "warmup_steps": 4, "per": "update"})
    np.testing.assert_allclose(custom(np.arange(7)), [0.0, 0.025, 0.05, 0.075, 0.1, 0.05, 0.025], rtol=1e-15)


@pytest.mark.parametrize("spec", [
    {"type": "cyclical", "base_lr": 0.01, "max_lr": 0.1, "step_size": 10, "per": "update"},
    {"type": "one_cycle", "max_lr": 0.1, "total_steps": 100, "per": "update"},
    {"type": "reduce_on_plateau", "lr0": 0.1},
])
def test_schedules_with_a_rise_of_their_own_take_no_warmup(spec):
    with pytest.raises(ScheduleError, match=r"schedules\.x\.warmup_steps: type \w+ takes no warm-up"):
        build_schedule("x", {**spec, "warmup_steps": 5})


# --------------------------------------------------------------------------------------------------
# the keras engine realises the warm-ups
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, kind", [
    ({"type": "cosine", "lr0": 0.1, "warmup_steps": 9, "per": "update"}, KS.CosineDecay),
    ({"type": "constant", "lr0": 0.1, "warmup_steps": 9}, PerUpdateRate),
    ({"type": "exponential", "lr0": 0.1, "decay_rate": 0.5, "decay_steps": 30, "warmup_steps": 9, "per": "update"},
     PerUpdateRate),
    ({"type": "warmup_stable_decay", "lr0": 0.1, "warmup_steps": 9, "per": "update"}, PerUpdateRate),
    ({"type": "warmup_stable_decay", "lr0": 0.1, "warmup_steps": 1, "per": "epoch"},
     keras.callbacks.LearningRateScheduler),
])
def test_keras_engine_realises_the_warmup(spec, kind):
    schedule = build_schedule("x", spec)
    epochs, spe = 6, 9
    learning_rate, callbacks = keras_rate(schedule, epochs, spe)
    expected = schedule.rates(epochs, spe)
    if kind is KS.CosineDecay:
        assert isinstance(learning_rate, KS.CosineDecay) and callbacks == []
        got = np.array([float(keras.ops.convert_to_numpy(learning_rate(np.int64(t)))) for t in range(epochs * spe)])
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)  # Keras computes in float32
    elif kind is PerUpdateRate:
        (callback,) = callbacks
        assert isinstance(callback, PerUpdateRate)
        np.testing.assert_array_equal(callback.rates, expected)
    else:
        (callback,) = callbacks
        assert isinstance(callback, kind)
        assert [callback.schedule(e) for e in range(epochs)] == list(expected[::spe])


def test_existing_cosine_maps_to_the_same_keras_object():
    schedule = build_schedule("c", {"type": "cosine", "lr0": 0.01, "decay_steps": 405, "warmup_steps": 45,
                                    "warmup_target": 0.1, "per": "update"})
    learning_rate, _ = keras_rate(schedule, 50, 9)
    assert learning_rate.get_config() == KS.CosineDecay(0.01, 405, warmup_target=0.1, warmup_steps=45).get_config()


# --------------------------------------------------------------------------------------------------
# config errors, each naming the key
# --------------------------------------------------------------------------------------------------
def _config_with(entry: dict) -> dict:
    config = load_repo_config()
    config["schedules"]["today"] = entry
    config["studies"]["article"]["schedules"].append("today")
    return config


def _refusal(entry: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        validate_config(_config_with(entry))
    return str(caught.value)


@pytest.mark.parametrize("entry, key", [
    ({"type": "warmup_stable_decay", "lr0": 0.1, "warmup_steps": 90, "total_steps": 100, "per": "update"},
     "schedules.today.warmup_steps"),
    # The article's runs are 50 epochs of 4 to 9 updates: a warm-up of 1000 updates is longer than any.
    ({"type": "warmup_stable_decay", "lr0": 0.1, "warmup_steps": 1000, "per": "update"},
     "schedules.today.warmup_steps"),
    ({"type": "warmup_stable_decay", "lr0": 0.1, "decay_shape": "sqrt", "per": "update"},
     "schedules.today.decay_shape"),
    ({"type": "warmup_stable_decay", "lr0": 0.1, "final_ratio": 1.5, "per": "update"}, "schedules.today.final_ratio"),
    ({"type": "warmup_stable_decay", "lr0": 0.1, "final_ratio": -0.1, "per": "update"},
     "schedules.today.final_ratio"),
    ({"type": "warmup_stable_decay", "lr0": 0.1, "decay_fraction": 0.0, "per": "update"},
     "schedules.today.decay_fraction"),
    ({"type": "warmup_stable_decay", "lr0": 0.1, "decay_fraction": 1.2, "per": "update"},
     "schedules.today.decay_fraction"),
    ({"type": "cosine", "lr0": 0.1, "warmup_steps": 1000, "per": "update"}, "schedules.today.warmup_steps"),
    ({"type": "polynomial", "lr0": 0.1, "warmup_steps": 50, "per": "epoch"}, "schedules.today.warmup_steps"),
    ({"type": "cyclical", "base_lr": 0.01, "max_lr": 0.1, "step_size": 10, "per": "update", "warmup_steps": 5},
     "schedules.today.warmup_steps"),
    ({"type": "constant", "lr0": 0.1, "warmup_steps": -1}, "schedules.today.warmup_steps"),
])
def test_bad_warmup_or_decay_is_refused_naming_the_key(entry, key):
    assert key in _refusal(entry)


def test_fitting_warmup_and_decay_configs_are_accepted():
    config = _config_with({"type": "warmup_stable_decay", "lr0": 0.1, "warmup_steps": 100, "per": "update"})
    checked = validate_config(config)["schedules"]["today"]
    assert (checked["decay_fraction"], checked["final_ratio"], checked["decay_shape"]) == (0.2, 0.0, "1-sqrt")
    assert "total_steps" not in checked  # the run's length, filled where the run is known
    # A cosine warm-up without warmup_target, refused before, is the warm-up from 0 to lr0.
    validate_config(_config_with({"type": "cosine", "lr0": 0.1, "warmup_steps": 45, "per": "update"}))

"""Tests of schedbench.schedules: the article's numbers, Keras 3's schedule classes and callback, PyTorch's
documented CyclicLR / OneCycleLR formulas (hand-computed points), custom functions and error handling.

Fast (no training): the whole file runs in a few seconds, most of it importing TensorFlow.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402

from schedbench import schedules as S  # noqa: E402
from schedbench.schedules import ScheduleError, build_schedule  # noqa: E402
from schedbench.schedules.reactive import PlateauState  # noqa: E402

# tests/ holds userschedules.py, the module custom schedules name ("userschedules:halving").
sys.path.insert(0, str(Path(__file__).resolve().parent))

KS = keras.optimizers.schedules
# keras.ops.convert_to_numpy on a TF tensor warns once per call under NumPy 2 (Keras' __array__ shim).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
# Every update counter 0..2000 (four 450-update runs) and some large ones.
STEPS = np.concatenate([np.arange(2001), [4999, 5000, 10_007, 123_456, 1_000_000, 12_345_678]]).astype(np.int64)


def sched(spec: dict, name: str = "s"):
    return build_schedule(name, spec)


def keras_values(schedule, steps=STEPS) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(schedule(steps)), dtype=np.float64)


# --------------------------------------------------------------------------------------------------
# the article
# --------------------------------------------------------------------------------------------------
def test_article_time_based_table():
    """The article's table (epochs 1..5, lr0 0.1, decay 0.001): its formula read recursively, per epoch."""
    schedule = sched({"type": "inverse_time", "lr0": 0.1, "decay": 0.001, "per": "epoch"})
    table = [0.1, 0.0999000999, 0.0997006985, 0.09940249103, 0.09900646517]
    # The table is printed with 10-11 decimals: half a unit of its last printed digit is 5e-11.
    np.testing.assert_allclose(schedule(np.arange(5)), table, rtol=0, atol=5e-11)
    # ... and per epoch: every update of an epoch uses the epoch's rate (9 updates per epoch here).
    rates = schedule.rates(5, 9)
    np.testing.assert_array_equal(rates, np.repeat(schedule(np.arange(5)), 9))


def test_article_time_based_per_update():
    """Keras 2's SGD(decay=0.002), what the article ran: per update; the last of 450 updates."""
    schedule = sched({"type": "inverse_time", "lr0": 0.1, "decay": 0.002, "per": "update"})
    rates = schedule.rates(50, 9)
    assert rates.shape == (450,)
    assert rates[0] == 0.1
    assert rates[-1] == pytest.approx(0.1 / (1 + 0.002 * 449), rel=1e-15)
    assert rates[-1] == pytest.approx(0.0527, abs=5e-5)
    np.testing.assert_allclose(schedule.epoch_rates(50, 9), 0.1 / (1 + 0.002 * 9 * np.arange(50)), rtol=1e-15)


def test_article_step_decay():
    """The article's drop-based decay: the first halving from epoch index 9, the second from 19."""
    schedule = sched({"type": "step", "lr0": 0.1, "drop": 0.5, "epochs_drop": 10})
    rates = schedule(np.arange(30))
    np.testing.assert_array_equal(rates[:9], 0.1)
    np.testing.assert_array_equal(rates[9:19], 0.05)
    np.testing.assert_array_equal(rates[19:29], 0.025)
    assert rates[29] == 0.0125
    assert schedule.per == "epoch"


def article_step_decay(epoch, initial_lrate=0.1, drop=0.5, epochs_drop=10.0):
    """The article's LearningRateScheduler function, verbatim apart from the parameters."""
    return initial_lrate * math.pow(drop, math.floor((1 + epoch) / epochs_drop))


@pytest.mark.parametrize("lr0, drop, epochs_drop", [(0.1, 0.5, 10.0), (0.3, 0.7, 7.0), (0.05, 0.9, 3.0)])
def test_step_matches_article_function(lr0, drop, epochs_drop):
    schedule = sched({"type": "step", "lr0": lr0, "drop": drop, "epochs_drop": epochs_drop})
    epochs = np.arange(2001)
    expected = [article_step_decay(e, lr0, drop, epochs_drop) for e in epochs]
    np.testing.assert_allclose(schedule(epochs), expected, rtol=1e-12)


# --------------------------------------------------------------------------------------------------
# against Keras 3's LearningRateSchedule classes
#
# Keras evaluates its schedules in the dtype of the initial rate: float32 for a Python float, and it casts
# a Python float parameter through float32 too (ExponentialDecay's decay_rate 0.96 becomes 0.959999978...).
# Float32 is Keras' round-off, not the formula: cancellation in 1 + cos(pi f) alone makes late cosine values
# relatively inexact by ~1e-6, and the floor() of CosineDecayRestarts' log-based period index lands
# differently at exact period boundaries in float32 and float64. So Keras is given np.float64 rates and
# parameters and computes in float64, as the schedules do: the comparison then tests the formula at
# rel 1e-6, every counter 0..2000 included, period boundaries too. (The engine tests compare the keras
# engine's own float32 values with an absolute floor; see test_engines.py.)
# --------------------------------------------------------------------------------------------------
F = np.float64
RTOL = 1e-6


def assert_matches_keras(ours, keras_schedule, steps=STEPS):
    got = ours(steps)
    expected = keras_values(keras_schedule, steps)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=0)


@pytest.mark.parametrize("lr0, decay", [(0.1, 0.002), (0.5, 0.01), (0.01, 1e-5)])
def test_inverse_time_update_vs_keras(lr0, decay):
    ours = sched({"type": "inverse_time", "lr0": lr0, "decay": decay, "per": "update"})
    assert_matches_keras(ours, KS.InverseTimeDecay(F(lr0), 1, F(decay)))


@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize("decay_rate, decay_steps", [(0.96, 1.0), (0.1, 450.0), (0.5, 90.0), (0.9, 7.5)])
def test_exponential_vs_keras(decay_rate, decay_steps, staircase):
    ours = sched({"type": "exponential", "lr0": 0.1, "decay_rate": decay_rate, "decay_steps": decay_steps,
                  "staircase": staircase})
    expected = KS.ExponentialDecay(F(0.1), decay_steps, F(decay_rate), staircase=staircase)
    # The largest counters underflow to 0 in both for fast decays; 0 == 0 passes a relative test.
    assert_matches_keras(ours, expected)


@pytest.mark.parametrize(
    "boundaries, values",
    [([100, 250, 400], [0.1, 0.05, 0.02, 0.01]), ([9], [0.2, 0.1]), ([0, 1, 2, 1000], [1.0, 0.5, 0.25, 0.125, 0.0625])],
)
def test_piecewise_vs_keras(boundaries, values):
    ours = sched({"type": "piecewise", "boundaries": boundaries, "values": values})
    expected = KS.PiecewiseConstantDecay(boundaries, [F(v) for v in values])
    assert_matches_keras(ours, expected)
    # values[i] holds up to and including boundaries[i] (Keras: step <= boundary).
    assert ours(boundaries[0]) == values[0] and ours(boundaries[0] + 1) == values[1]
    assert ours.initial_rate == values[0]


@pytest.mark.parametrize("cycle", [False, True])
@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
@pytest.mark.parametrize("decay_steps", [400, 97])
def test_polynomial_vs_keras(decay_steps, power, cycle):
    spec = {"type": "polynomial", "lr0": 0.1, "end_lr": 0.001, "decay_steps": decay_steps, "power": power, "cycle": cycle}
    expected = KS.PolynomialDecay(F(0.1), decay_steps, F(0.001), power=F(power), cycle=cycle)
    assert_matches_keras(sched(spec), expected)


@pytest.mark.parametrize("alpha", [0.0, 0.01, 0.3])
@pytest.mark.parametrize("decay_steps", [450, 1000])
def test_cosine_vs_keras(decay_steps, alpha):
    ours = sched({"type": "cosine", "lr0": 0.1, "decay_steps": decay_steps, "alpha": alpha})
    assert_matches_keras(ours, KS.CosineDecay(F(0.1), decay_steps, alpha=alpha))


def keras_scalar_values(schedule, steps):
    # CosineDecay with warm-up branches with ops.cond on a scalar: one step per call.
    return np.array([float(keras.ops.convert_to_numpy(schedule(np.int64(t)))) for t in steps])


WARMUP_STEPS = np.concatenate([np.arange(0, 600), np.arange(600, 2001, 7), [5000, 1_000_000]]).astype(np.int64)


@pytest.mark.parametrize(
    "lr0, target, warmup_steps, decay_steps, alpha",
    [(0.01, 0.1, 45, 405, 0.01), (0.0, 0.2, 100, 350, 0.0), (0.1, 0.05, 10, 90, 0.5), (0.05, 0.1, 1, 200, 0.0)],
)
def test_cosine_warmup_vs_keras(lr0, target, warmup_steps, decay_steps, alpha):
    spec = {"type": "cosine", "lr0": lr0, "decay_steps": decay_steps, "alpha": alpha,
            "warmup_target": target, "warmup_steps": warmup_steps}
    expected = KS.CosineDecay(F(lr0), decay_steps, alpha=alpha, warmup_target=F(target), warmup_steps=warmup_steps)
    np.testing.assert_allclose(sched(spec)(WARMUP_STEPS), keras_scalar_values(expected, WARMUP_STEPS), rtol=RTOL, atol=0)


def test_cosine_warmup_target_without_warmup_steps_vs_keras():
    spec = {"type": "cosine", "lr0": 0.1, "decay_steps": 450, "warmup_target": 0.2, "warmup_steps": 0}
    expected = KS.CosineDecay(F(0.1), 450, warmup_target=F(0.2), warmup_steps=0)
    steps = np.array([0, 1, 100, 225, 449, 450, 1000])
    np.testing.assert_allclose(sched(spec)(steps), keras_scalar_values(expected, steps), rtol=RTOL)


@pytest.mark.parametrize(
    "first_decay_steps, t_mul, m_mul, alpha",
    [(90, 1.0, 1.0, 0.0), (90, 1.0, 0.8, 0.01), (45, 2.0, 1.0, 0.0), (90, 2.0, 0.8, 0.01), (50, 2.0, 0.5, 0.1),
     (30, 1.5, 0.9, 0.0)],
)
def test_cosine_restarts_vs_keras(first_decay_steps, t_mul, m_mul, alpha):
    spec = {"type": "cosine_restarts", "lr0": 0.1, "first_decay_steps": first_decay_steps, "t_mul": t_mul,
            "m_mul": m_mul, "alpha": alpha}
    ours = sched(spec)
    expected = KS.CosineDecayRestarts(
        F(0.1), first_decay_steps, t_mul=F(t_mul), m_mul=F(m_mul), alpha=F(alpha)
    )
    # In float64 both sides compute the same floor(log(1 + f (t_mul - 1)) / log(t_mul)), and at every
    # counter here (restart boundaries t = 45, 135, 315, ... included) they agree; a float32 Keras flips.
    assert_matches_keras(ours, expected)
    # A restart starts its period at lr0 * m_mul^i (checked where the float64 index is exact).
    assert ours(first_decay_steps) == pytest.approx(0.1 * ((1 - alpha) * m_mul + alpha), rel=1e-12)


@pytest.mark.parametrize(
    "t_mul",
    [
        2.0,
        3.0,
        4.0,
    ],
)
@pytest.mark.parametrize("first_decay_steps", [1, 7, 90])
def test_cosine_restarts_restart_exactly_at_period_boundaries(first_decay_steps, t_mul):
    """SGDR: period i starts at t = T0 (t_mul^i - 1) / (t_mul - 1) with the rate lr0 m_mul^i."""
    schedule = sched({"type": "cosine_restarts", "lr0": 0.1, "first_decay_steps": first_decay_steps,
                      "t_mul": t_mul, "m_mul": 0.5})
    i = np.arange(1, 12)
    starts = first_decay_steps * (t_mul**i - 1) / (t_mul - 1)
    np.testing.assert_allclose(schedule(starts), 0.1 * 0.5**i, rtol=1e-9)


# --------------------------------------------------------------------------------------------------
# cyclical and one-cycle: points of PyTorch's documented formulas, computed by hand
#
# CyclicLR (step_size_up = step_size_down = s, so total_size = 2 s and step_ratio = 1/2):
#   cycle = floor(1 + t / (2 s)),  x = 1 + t / (2 s) - cycle,
#   scale_factor = x / (1/2) if x <= 1/2 else (x - 1) / (1/2 - 1),
#   lr = base_lr + (max_lr - base_lr) * scale_factor * scale_fn,
#   scale_fn = 1 (triangular), 1 / 2^(cycle - 1) (triangular2, per cycle), gamma^t (exp_range, per iteration).
# Here base_lr = 0.01, max_lr = 0.11 (height 0.1), s = 4.
# --------------------------------------------------------------------------------------------------
CYCLIC = {"type": "cyclical", "base_lr": 0.01, "max_lr": 0.11, "step_size": 4}
CYCLIC_POINTS = {
    "triangular": {
        0: 0.01,  # x = 0 -> scale 0
        1: 0.035,  # x = 1/8 -> scale 1/4: 0.01 + 0.1/4
        2: 0.06,  # x = 1/4 -> scale 1/2
        4: 0.11,  # x = 1/2 -> the peak
        5: 0.085,  # x = 5/8 -> (5/8 - 1) / (-1/2) = 3/4
        6: 0.06,
        8: 0.01,  # cycle 2 starts: x = 0
        10: 0.06,
        12: 0.11,
        16: 0.01,
        103: 0.035,  # cycle 13, x = 1 + 103/8 - 13 = 7/8 > 1/2: scale (7/8 - 1) / (-1/2) = 1/4
    },
    "triangular2": {
        4: 0.11,  # cycle 1: full height
        10: 0.035,  # cycle 2, x = 1/4 -> scale 1/2, height halved: 0.01 + 0.1 * 1/2 * 1/2
        12: 0.06,  # cycle 2 peak: 0.01 + 0.1 / 2
        20: 0.035,  # cycle 3 peak: 0.01 + 0.1 / 4
        22: 0.0225,  # cycle 3, x = 3/4 -> scale 1/2: 0.01 + 0.1 / 4 / 2
        28: 0.0225,  # cycle 4 peak: 0.01 + 0.1 / 8
    },
    "exp_range": {  # gamma = 0.9
        0: 0.01,
        2: 0.0505,  # 0.01 + 0.1 * 1/2 * 0.9^2 = 0.01 + 0.05 * 0.81
        4: 0.07561,  # 0.01 + 0.1 * 0.9^4 = 0.01 + 0.06561
        6: 0.03657205,  # 0.01 + 0.1 * 1/2 * 0.9^6 = 0.01 + 0.05 * 0.531441
        12: 0.0382429536481,  # 0.01 + 0.1 * 0.9^12 = 0.01 + 0.1 * 0.282429536481
    },
}


@pytest.mark.parametrize("mode", sorted(CYCLIC_POINTS))
def test_cyclical_hand_points(mode):
    spec = {**CYCLIC, "mode": mode, **({"gamma": 0.9} if mode == "exp_range" else {})}
    schedule = sched(spec)
    points = CYCLIC_POINTS[mode]
    np.testing.assert_allclose(schedule(np.array(list(points))), list(points.values()), rtol=1e-12, atol=1e-15)


# OneCycleLR: initial = max_lr / div_factor, min_lr = initial / final_div_factor; phases (end_step, start, end):
#   two phases:   (pct_start N - 1: initial -> max_lr), (N - 1: max_lr -> min_lr)
#   three phases: (pct_start N - 1: initial -> max_lr), (2 pct_start N - 2: max_lr -> initial), (N - 1: initial -> min_lr)
#   p = (t - previous end_step) / (end_step - previous end_step);
#   cos: end + (start - end) / 2 * (1 + cos(pi p)); linear: start + p (end - start).
# Here max_lr = 0.1, N = 100, pct_start = 0.25, div_factor 25, final_div_factor 1e4:
#   initial = 0.004, min_lr = 4e-7, phase ends 24 and 99 (three phases: 24, 48, 99).
ONE_CYCLE = {"type": "one_cycle", "max_lr": 0.1, "total_steps": 100, "pct_start": 0.25}
ONE_CYCLE_POINTS = {
    ("cos", False): {
        0: 0.004,
        12: 0.052,  # p = 1/2: cos(pi/2) = 0 -> (0.004 + 0.1) / 2
        24: 0.1,
        # t = 54: p = 30/75 = 0.4, 1 + cos(0.4 pi) = 1.30901699437494742: 4e-7 + 0.0999996 / 2 * 1.309016994...
        54: 4e-7 + 0.0999996 / 2 * 1.30901699437494742,
        99: 4e-7,
    },
    ("linear", False): {
        0: 0.004,
        6: 0.028,  # p = 1/4: 0.004 + 0.096 / 4
        12: 0.052,
        24: 0.1,
        54: 0.06000016,  # p = 0.4: 0.1 + 0.4 * (4e-7 - 0.1)
        99: 4e-7,
    },
    ("linear", True): {
        12: 0.052,
        24: 0.1,
        36: 0.052,  # phase 2, p = 12/24 = 1/2: 0.1 + (0.004 - 0.1) / 2
        48: 0.004,
        60: 0.003058917647058824,  # phase 3, p = 12/51: 0.004 + 12/51 * (4e-7 - 0.004) = 0.004 - 0.0039996 * 4/17
        99: 4e-7,
    },
    ("cos", True): {
        36: 0.052,
        48: 0.004,
        # phase 3 midpoint t = 73.5 is not a counter; t = 65: p = 17/51 = 1/3, 1 + cos(pi/3) = 1.5:
        # 4e-7 + (0.004 - 4e-7) / 2 * 1.5 = 4e-7 + 0.0039996 * 0.75
        65: 4e-7 + 0.0039996 * 0.75,
    },
}


@pytest.mark.parametrize("strategy, three_phase", sorted(ONE_CYCLE_POINTS))
def test_one_cycle_hand_points(strategy, three_phase):
    schedule = sched({**ONE_CYCLE, "anneal_strategy": strategy, "three_phase": three_phase})
    points = ONE_CYCLE_POINTS[(strategy, three_phase)]
    np.testing.assert_allclose(schedule(np.array(list(points))), list(points.values()), rtol=1e-12, atol=1e-16)


def test_one_cycle_article_scale_and_past_the_end():
    """pct_start * N not an integer nor exact in binary (0.3 * 100 = 30.000000000000004): the peak is still at
    t = 29; past N - 1 the final rate holds (PyTorch would raise instead of stepping past N)."""
    schedule = sched({"type": "one_cycle", "max_lr": 0.1, "total_steps": 450, "pct_start": 0.3})
    rates = schedule(np.arange(600))
    assert rates[0] == pytest.approx(0.004, rel=1e-12)
    assert int(np.argmax(rates)) == 134  # 0.3 * 450 - 1
    assert rates[134] == pytest.approx(0.1, rel=1e-12)
    assert rates[449] == pytest.approx(4e-7, rel=1e-9)
    np.testing.assert_array_equal(rates[450:], rates[449])
    assert np.all(np.diff(rates[:135]) > 0) and np.all(np.diff(rates[134:450]) < 0)


# --------------------------------------------------------------------------------------------------
# reduce_on_plateau: PlateauState against Keras' own callback
# --------------------------------------------------------------------------------------------------
_TINY_MODEL = []


def tiny_model(lr0: float):
    """A compiled model with an SGD optimizer whose rate is lr0 (built once, the rate reset per use)."""
    if not _TINY_MODEL:
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="binary_crossentropy",
                      metrics=["accuracy"])
        # Build the compiled metrics, so that mode="auto" can see that 'accuracy' is to be maximised.
        model.evaluate(np.zeros((2, 2), np.float32), np.zeros(2, np.float32), verbose=0)
        _TINY_MODEL.append(model)
    model = _TINY_MODEL[0]
    model.optimizer.learning_rate = lr0
    return model


def keras_plateau(values, *, monitor="val_loss", lr0=0.1, mode=None, **kwargs):
    """Drive keras.callbacks.ReduceLROnPlateau on scripted metric values; the float32 rate after each epoch."""
    model = tiny_model(lr0)
    callback = keras.callbacks.ReduceLROnPlateau(monitor=monitor, **({"mode": mode} if mode else {}), **kwargs)
    callback.set_model(model)
    callback.on_train_begin()
    rates = []
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, logs={monitor: float(value)})
        rates.append(np.float32(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
    return np.array(rates, np.float32)


def plateau_rates(values, **spec):
    state = PlateauState(sched({"type": "reduce_on_plateau", **spec}))
    return np.array([state.on_epoch_end(float(v)) for v in values], np.float32)


# Metric values as a Keras fit reports them: float32 numbers.
LOSSES = np.float32([0.7, 0.6, 0.61, 0.6, 0.59995, 0.62, 0.63, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.49, 0.4999,
                     0.48, 0.485, 0.49, 0.495, 0.5, 0.47, 0.47, 0.47, 0.469, 0.4689, 0.4688, 0.5, 0.5, 0.5, 0.5])
ACCURACIES = np.float32(np.array([60, 70, 70, 71, 69, 72, 72, 72, 72, 80, 80, 79, 81, 81, 81, 81, 81, 90, 90, 90]) / 116)


def random_walk(seed, n=300):
    rng = np.random.default_rng(seed)
    return np.float32(0.5 + np.cumsum(rng.normal(0, 0.01, n)) + 0.02 * rng.integers(0, 2, n))


PLATEAU_CASES = [
    {},  # Keras' defaults: factor 0.1, patience 10, min_delta 1e-4, cooldown 0, min_lr 0
    {"factor": 0.5, "patience": 1},
    {"factor": 0.5, "patience": 2, "cooldown": 1},
    {"factor": 0.5, "patience": 3, "cooldown": 4},
    {"factor": 0.5, "patience": 0},
    {"factor": 0.5, "patience": 1, "min_lr": 0.02},
    {"factor": 0.3, "patience": 2, "min_lr": 0.01, "cooldown": 2},
    {"factor": 0.5, "patience": 1, "min_delta": 0.0},
    {"factor": 0.5, "patience": 1, "min_delta": 0.011},
    {"factor": 0.5, "patience": 2, "min_delta": 0.05, "cooldown": 1},
]


@pytest.mark.parametrize("params", PLATEAU_CASES, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "defaults")
@pytest.mark.parametrize("series", ["script", "walk0", "walk1"])
def test_plateau_state_vs_keras_val_loss(params, series):
    values = LOSSES if series == "script" else random_walk(int(series[-1]))
    expected = keras_plateau(values, **params)
    got = plateau_rates(values, lr0=0.1, **params)
    np.testing.assert_array_equal(got, expected)
    if series == "script" and params.get("patience") == 1:
        assert len(set(expected.tolist())) > 2  # the script does make the callback act


@pytest.mark.parametrize("params", PLATEAU_CASES[1:7], ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_plateau_state_vs_keras_val_accuracy(params):
    """monitor val_accuracy: Keras' mode 'auto' maximises it (the model's accuracy metric says 'up')."""
    schedule = sched({"type": "reduce_on_plateau", "monitor": "val_accuracy"})
    assert schedule.mode == "max"
    for values in (ACCURACIES, np.float32(np.round(random_walk(2) * 116) / 116)):
        expected = keras_plateau(values, monitor="val_accuracy", **params)
        np.testing.assert_array_equal(plateau_rates(values, monitor="val_accuracy", lr0=0.1, **params), expected)
        np.testing.assert_array_equal(
            keras_plateau(values, monitor="val_accuracy", mode="max", **params), expected
        )


def test_plateau_first_value_not_finite_vs_keras():
    """A run that is NaN from its first epoch: Keras takes the first value as best whatever it is."""
    values = np.float32([np.nan, 0.5, 0.4, np.inf, 0.3, np.nan, np.nan, np.nan])
    params = {"factor": 0.5, "patience": 1}
    np.testing.assert_array_equal(plateau_rates(values, lr0=0.1, **params), keras_plateau(values, **params))


def test_plateau_min_delta_float32_boundary_vs_keras():
    """best = 0.25, then current = float32(0.25 - 1e-4) = 0.2498999983...: current + 1e-4 < 0.25 in float64
    but rounds to 0.25 in float32, so Keras sees no improvement (and reduces with patience 1)."""
    values = np.float32([0.25, 0.25 - 1e-4, 0.3])
    params = {"factor": 0.5, "patience": 1}
    expected = keras_plateau(values, **params)
    assert expected.tolist() == [np.float32(0.1), np.float32(0.05), np.float32(0.025)]
    np.testing.assert_array_equal(plateau_rates(values, lr0=0.1, **params), expected)


def test_plateau_rate_is_float32_like_keras():
    """Keras keeps the rate in a float32 variable: 0.1 * 0.1 ... rounds at every reduction."""
    values = np.float32(np.full(60, 0.5))
    got = plateau_rates(values, lr0=0.1, factor=0.1, patience=1, min_lr=1e-9)
    np.testing.assert_array_equal(got, keras_plateau(values, factor=0.1, patience=1, min_lr=1e-9))
    assert got[-1] == np.float32(1e-9)


def test_plateau_schedule_is_reactive():
    schedule = sched({"type": "reduce_on_plateau", "lr0": 0.05})
    assert schedule.reactive and schedule.per == "epoch" and schedule.mode == "min"
    # Without reactions its table is the initial rate (what the engines start from).
    np.testing.assert_array_equal(schedule.rates(3, 9), 0.05)


# --------------------------------------------------------------------------------------------------
# custom functions, validation, errors
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("per", ["update", "epoch"])
def test_custom_schedule_gives_the_function_values(per):
    import userschedules

    schedule = sched({"type": "custom", "function": "userschedules:halving", "per": per,
                      "kwargs": {"lr0": 0.2, "every": 3}}, name="mine")
    t = np.arange(20)
    np.testing.assert_array_equal(schedule(t), [userschedules.halving(int(i), lr0=0.2, every=3) for i in t])
    assert schedule.initial_rate == 0.2
    rates = schedule.rates(4, 9)
    counter = np.arange(36) if per == "update" else np.arange(36) // 9
    np.testing.assert_array_equal(rates, [userschedules.halving(int(c), lr0=0.2, every=3) for c in counter])


@pytest.mark.parametrize("function", ["no_such_module_xyz:f", "userschedules:no_such_function", "userschedules"])
def test_custom_bad_import_path_names_the_schedule(function):
    schedule = sched({"type": "custom", "function": function, "per": "epoch"}, name="my-broken-schedule")
    with pytest.raises(ScheduleError, match="my-broken-schedule") as error:
        schedule.rates(5, 9)
    assert function in str(error.value)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@pytest.mark.parametrize(
    "spec",
    [
        {"type": "custom", "function": "userschedules:negative", "per": "update"},
        {"type": "custom", "function": "userschedules:not_finite", "per": "epoch"},
        {"type": "constant", "lr0": -0.1},
        {"type": "constant", "lr0": float("inf")},
        {"type": "inverse_time", "lr0": 0.1, "decay": -0.01, "per": "update"},  # 1 - 0.01 t: 0 at t = 100
        {"type": "piecewise", "boundaries": [5], "values": [0.1, float("nan")]},
    ],
)
def test_rates_rejects_negative_or_non_finite(spec):
    schedule = sched(spec, name="bad-rates")
    with pytest.raises(ScheduleError, match="bad-rates"):
        schedule.rates(50, 9)


def test_build_schedule_rejects_unknown_parameters_and_types():
    with pytest.raises(ScheduleError, match=r"schedules\.fast: unknown parameter\(s\) lr, warmup for type constant"):
        build_schedule("fast", {"type": "constant", "lr0": 0.1, "lr": 0.2, "warmup": 3})
    with pytest.raises(ScheduleError, match="schedules.odd.type: unknown schedule type 'sawtooth'"):
        build_schedule("odd", {"type": "sawtooth", "lr0": 0.1})
    # Another type's parameter is unknown too.
    with pytest.raises(ScheduleError, match="decay_steps"):
        build_schedule("step-ish", {"type": "step", "lr0": 0.1, "decay_steps": 10})


def test_build_schedule_keeps_name_and_params_and_leaves_the_optimizer_aside():
    schedule = build_schedule("time-decay", {"type": "inverse_time", "lr0": 0.1, "decay": 0.002, "per": "update",
                                             "optimizer": {"name": "sgd", "momentum": 0.8, "nesterov": True}})
    assert isinstance(schedule, S.InverseTime)
    assert schedule.name == "time-decay" and not hasattr(schedule, "momentum")
    assert schedule.params() == {"per": "update", "lr0": 0.1, "decay": 0.002}
    with pytest.raises(ScheduleError, match="unknown parameter.*momentum"):
        build_schedule("time-decay", {"type": "inverse_time", "lr0": 0.1, "decay": 0.002, "per": "update",
                                      "momentum": 0.8})
    assert set(S.SCHEDULE_TYPES) == {"constant", "inverse_time", "step", "piecewise", "exponential", "polynomial",
                                     "cosine", "cosine_restarts", "cyclical", "one_cycle", "warmup_stable_decay",
                                     "reduce_on_plateau", "custom"}


def test_steps_per_epoch():
    assert S.steps_per_epoch(235, 28) == 9
    assert S.steps_per_epoch(224, 28) == 8
    assert S.steps_per_epoch(1, 28) == 1

"""Today's schedules in both engines: warm-up-stable-decay and the generic warm-up train alike in Keras ``fit`` (its
CosineDecay warm-up, the per-update table callback, LearningRateScheduler) and the replica engine, on the article's
run (see test_engines.py for the setup and the tolerances)."""

from __future__ import annotations

import numpy as np
import pytest

from schedbench.engines import configure_tensorflow, run_engine
from schedbench.engines.spec import HISTORY_COLUMNS
from test_engines import LOSS_ATOL, LR_ATOL, LR_RTOL, THREADS, make_inputs

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
EPOCHS = 8  # 72 updates: each phase of each schedule below lasts several epochs

TODAY = {
    # Keras: the per-update table. Warm-up 18, stable 36, a 1-sqrt cooldown of 18 to 10 % of the peak.
    "wsd": {"type": "warmup_stable_decay", "lr0": 0.1, "warmup_steps": 18, "decay_fraction": 0.25,
            "final_ratio": 0.1, "per": "update", "optimizer": {"momentum": 0.9}},
    # Keras: LearningRateScheduler.
    "wsd-epoch": {"type": "warmup_stable_decay", "lr0": 0.1, "warmup_steps": 2, "decay_shape": "cosine",
                  "decay_fraction": 0.5, "per": "epoch", "optimizer": {"momentum": 0.8}},
    # Keras: CosineDecay(0.0, 72 - 18, warmup_target=0.1, warmup_steps=18), the decay ending with the run.
    "warm-cosine": {"type": "cosine", "lr0": 0.1, "warmup_steps": 18, "per": "update",
                    "optimizer": {"momentum": 0.9}},
    # Keras: the per-update table (ExponentialDecay has no warm-up).
    "warm-exponential": {"type": "exponential", "lr0": 0.1, "decay_rate": 0.2, "decay_steps": 54, "warmup_steps": 9,
                         "per": "update", "optimizer": {"momentum": 0.9}},
}


@pytest.mark.slow
def test_engines_agree_on_wsd_and_warmed_up_schedules():
    configure_tensorflow(THREADS)
    inputs = make_inputs(TODAY, [0, 3], epochs=EPOCHS)
    keras = run_engine("keras", inputs)
    replica = run_engine("replica", inputs)
    assert replica.history.shape == keras.history.shape == (2 * len(TODAY), EPOCHS, len(HISTORY_COLUMNS))
    for column in ("loss", "val_loss"):
        index = HISTORY_COLUMNS.index(column)
        np.testing.assert_allclose(replica.history[:, :, index], keras.history[:, :, index], rtol=0, atol=LOSS_ATOL)
    lr = HISTORY_COLUMNS.index("lr")
    np.testing.assert_allclose(keras.history[:, :, lr], replica.history[:, :, lr], rtol=LR_RTOL, atol=LR_ATOL)
    np.testing.assert_allclose(replica.val_probability, keras.val_probability, rtol=0, atol=1e-5)
    # The schedules do what they are there for: each warms up from 0 and ends below its peak.
    for i, (_, schedule) in enumerate(inputs.replicas()):
        rates = replica.history[i, :, lr]
        assert rates[0] == 0.0 and rates.max() == pytest.approx(0.1) and rates[-1] < 0.1, schedule.name

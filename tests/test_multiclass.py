"""Multi-class output (Dense(classes, softmax), sparse categorical cross-entropy) and per-seed preprocessed
tables, in both engines, with ``keras.Model.fit`` as the reference.

Data: scikit-learn's wine (178 rows, 13 features, 3 classes), as the workflow writes it, and the job inputs as
its training jobs build them (``prepare_job`` with the tuning study's settings of wine): per seed a stratified
83 / 59 / 36 train / validation / test split, the table standardised with the seed's training rows, Dense(13,
relu) -> Dense(3, softmax) from N(0, 0.05) kernels and zero biases, batch 16 (6 updates per epoch).
Fast tier: the replica engine for a few epochs, the Keras model's shape. ``@pytest.mark.slow``: both engines,
50 epochs, one schedule of every type, the Keras runs in two worker processes (~1 minute on an idle 2-core
machine).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

from conftest import load_repo_config  # noqa: E402
from schedbench.config import validate_config  # noqa: E402
from schedbench.plan import build_plan  # noqa: E402
from schedbench.sources.sklearn import export_table  # noqa: E402
from schedbench.engines import configure_tensorflow, run_engine  # noqa: E402
from schedbench.engines.spec import (  # noqa: E402
    HISTORY_COLUMNS,
    DenseLayer,
    LayerWeights,
    ModelSpec,
    flat_weights,
    history_column,
)
from schedbench.jobs import prepare_job  # noqa: E402
from test_engines import (  # noqa: E402
    DIVERGING, EVERY_TYPE, LR_ATOL, LR_RTOL, MAX_ACCURACY_FLIP_EPOCHS, Y_SCORED, KerasWorkers, counts, with_optimizer,
)

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

CONFIG = validate_config(load_repo_config())
EPOCHS = 50
CLASSES, FEATURES, HIDDEN = 3, 13, 13  # wine's labels and features; its own hidden units in config.yaml
N_TRAIN, N_VAL, N_TEST = 83, 59, 36  # 178 rows under heldout: validation 0.33, test 0.2
STEPS_PER_EPOCH = 6  # batch 16 (wine's own): 5 full batches and one of 3 rows
THREADS = 2  # this process; the Keras workers use 1 each

# Every schedule type of the binary equivalence test (test_engines.EVERY_TYPE), without the divergent run.
SPECS = {name: spec for name, spec in EVERY_TYPE.items() if name not in DIVERGING}

# Tolerances (see test_engines_agree_on_wine_for_every_schedule_type for the measurements behind them).
LOSS_ATOL = 1e-6
PROBABILITY_ATOL = 1e-5


def wine_data() -> Path:
    """The workflow's wine table (sklearn.datasets.load_wine written as data/raw/wine.data is), in the temporary
    directory, so that the Keras worker processes find it too; written atomically, checked by its checksum."""
    spec = CONFIG["datasets"]["wine"]
    path = Path(tempfile.gettempdir()) / f"schedbench-test-wine-{spec['table_sha256'][:12]}.data"
    if not path.exists():
        export_table("wine", loader="load_wine", dest=path, rows=spec["rows"], features=spec["features"],
                       labels=spec["labels"], table_sha256=spec["table_sha256"], log=logging.getLogger("test"))
    return path


def wine_inputs(specs: dict, seeds, epochs: int = EPOCHS, threads: int = THREADS, protocol: str = "heldout"):
    """JobInputs for wine as the workflow's training job builds them (``prepare_job`` with the tuning study's
    settings of wine: its split, standardisation, batch size and hidden units), every schedule its own family;
    the signature of test_engines.make_inputs, for its Keras workers."""
    settings = build_plan(CONFIG).job_settings("tuning", "wine")
    settings["training"] = dict(settings["training"], epochs=epochs)
    settings.update(variants=[[name, name, with_optimizer(spec)] for name, spec in specs.items()], parameters=[])
    return prepare_job(settings, protocol, list(seeds), wine_data(), threads=threads)


def numpy_softmax_model(weights, x):
    """Class probabilities of the model in float64 NumPy."""
    kernel1, bias1, kernel2, bias2 = (w.astype(np.float64) for w in flat_weights(weights))
    logits = np.maximum(x.astype(np.float64) @ kernel1 + bias1, 0.0) @ kernel2 + bias2
    logits -= logits.max(axis=1, keepdims=True)
    probability = np.exp(logits)
    return probability / probability.sum(axis=1, keepdims=True)


def is_multiple(values: np.ndarray, n: int) -> bool:
    """Every value is k / n for an integer k (float32 round-off allowed)."""
    scaled = np.asarray(values, np.float64) * n
    return bool(np.all(np.abs(scaled - np.rint(scaled)) < 1e-4))


# --------------------------------------------------------------------------------------------------
# fast tier
# --------------------------------------------------------------------------------------------------
FAST_SPECS = {
    "constant": {"type": "constant", "lr0": 0.1, "optimizer": {"momentum": 0.9}},
    "inverse-update": EVERY_TYPE["inverse-update"],
}
FAST_SEEDS = [0, 1]


def test_inputs_are_per_seed_standardised_tables():
    inputs = wine_inputs(FAST_SPECS, FAST_SEEDS, epochs=3)
    assert inputs.x.shape == (2, 178, FEATURES) and inputs.x.dtype == np.float32
    assert (inputs.n_train, inputs.n_val, inputs.n_test) == (N_TRAIN, N_VAL, N_TEST)
    assert inputs.steps_per_epoch == STEPS_PER_EPOCH
    for s in range(2):
        train = inputs.x[s, inputs.train_rows[s]].astype(np.float64)
        np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-5)
        np.testing.assert_allclose(train.std(axis=0), 1.0, atol=1e-5)
        # Stratified: each class's share of the validation rows within one row of its share of the table.
        shares = np.bincount(inputs.y.astype(int)) / len(inputs.y)
        assert np.all(np.abs(np.bincount(inputs.y[inputs.val_rows[s]].astype(int)) - shares * N_VAL) <= 1)
        assert inputs.initial_weights[s][1].kernel.shape == (HIDDEN, CLASSES)
    assert not np.allclose(inputs.x[0], inputs.x[1])  # the seeds' tables differ


def test_model_spec_classes():
    hidden = (DenseLayer(3),)
    assert ModelSpec(features=4, hidden=hidden).classes == 2
    assert ModelSpec(features=4, hidden=hidden).outputs == 1
    assert ModelSpec(features=4, hidden=hidden).output == DenseLayer(1, "sigmoid")
    assert ModelSpec(features=4, hidden=hidden, classes=5).output == DenseLayer(5, "softmax")
    assert ModelSpec(features=4, hidden=hidden, classes=5).weight_shapes() == [((4, 3), (3,)), ((3, 5), (5,))]
    for bad in (1, 0, 2.5):
        with pytest.raises(ValueError):
            ModelSpec(features=4, hidden=hidden, classes=bad)


def test_replica_engine_trains_multiclass_runs():
    """3 epochs, 2 seeds x 2 schedules: finite losses, accuracies k / n, class probabilities that sum to 1."""
    inputs = wine_inputs(FAST_SPECS, FAST_SEEDS, epochs=3)
    result = run_engine("replica", inputs)
    k = len(inputs.replicas())
    assert result.history.shape == (k, 3, len(HISTORY_COLUMNS))
    assert np.all(np.isfinite(result.history[:, :, [history_column(name) for name in Y_SCORED]]))
    assert np.all(result.history[:, :, [1, 3]] > 0)
    accuracy, val_accuracy = history_column("accuracy"), history_column("val_accuracy")
    assert is_multiple(result.history[:, :, accuracy], N_TRAIN) and is_multiple(result.history[:, :, val_accuracy], N_VAL)
    assert result.val_probability.shape == (k, N_VAL, CLASSES)
    assert np.all(result.val_probability >= 0)
    np.testing.assert_allclose(result.val_probability.sum(axis=2), 1.0, rtol=0, atol=1e-6)
    # The final model's validation accuracy is the argmax of its probabilities against the labels.
    for i, (s, _) in enumerate(inputs.replicas()):
        truth = inputs.y[inputs.val_rows[s]]
        assert result.history[i, -1, 4] == pytest.approx(np.mean(result.val_probability[i].argmax(axis=1) == truth))
    assert result.test_metrics.shape == (k, 2)
    assert np.all(np.isfinite(result.test_metrics)) and is_multiple(result.test_metrics[:, 1], N_TEST)
    assert result.history[:, -1, 3].max() < np.log(CLASSES)  # it learns (chance: ln 3)


def test_replica_engine_reads_each_seeds_own_table():
    """With lr 0 the final model is the initial one: each run's probabilities, validation loss and accuracy are
    those of its seed's initial weights on its seed's table (float64 NumPy), not on another seed's."""
    configure_tensorflow(THREADS)
    specs = {"frozen": {"type": "constant", "lr0": 0.0}, "other": FAST_SPECS["constant"]}
    inputs = wine_inputs(specs, [0, 5], epochs=1)
    result = run_engine("replica", inputs)
    for i, (s, schedule) in enumerate(inputs.replicas()):
        if schedule.name != "frozen":
            continue
        rows = inputs.val_rows[s]
        expected = numpy_softmax_model(inputs.initial_weights[s], inputs.x[s, rows])
        np.testing.assert_allclose(result.val_probability[i], expected, rtol=0, atol=1e-6)
        other = numpy_softmax_model(inputs.initial_weights[s], inputs.x[1 - s, rows])
        assert np.abs(other - expected).max() > 1e-4  # the check can tell the tables apart
        truth = inputs.y[rows].astype(int)
        loss = -np.mean(np.log(expected[np.arange(len(rows)), truth]))
        assert result.history[i, 0, 3] == pytest.approx(loss, abs=1e-6)
        assert result.history[i, 0, 4] == pytest.approx(np.mean(expected.argmax(axis=1) == truth))


def test_loss_is_computed_from_the_logits_as_keras_does():
    """Keras' softmax caches its logits (``_keras_logits``) and sparse_categorical_crossentropy uses them, so a
    confidently wrong prediction costs its full -log_softmax, not the -log(1e-7) = 16.1 that clipped
    probabilities cap it at. Where no prediction saturates the two differ by round-off only (on the 50-epoch
    runs below by <= 8.3e-7 in val_loss), so this is tested here, with a frozen model whose logits are
    scaled up: replica engine vs Keras' ``model.evaluate`` vs float64 NumPy."""
    from schedbench.engines import keras_fit

    configure_tensorflow(THREADS)
    inputs = wine_inputs({"frozen": {"type": "constant", "lr0": 0.0}}, [0], epochs=1)
    hidden, output = inputs.initial_weights[0]
    weights = [hidden, LayerWeights(kernel=output.kernel * np.float32(5000.0), bias=output.bias)]
    inputs.initial_weights = [weights]
    result = run_engine("replica", inputs)
    rows = inputs.val_rows[0]
    x, truth = inputs.x[0, rows], inputs.y[rows].astype(int)
    kernel1, bias1, kernel2, bias2 = (w.astype(np.float64) for w in flat_weights(weights))
    logits = np.maximum(x.astype(np.float64) @ kernel1 + bias1, 0.0) @ kernel2 + bias2
    log_softmax = logits - logits.max(axis=1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(axis=1, keepdims=True))
    example_loss = -log_softmax[np.arange(len(rows)), truth]
    from_logits = example_loss.mean()
    from_clipped = np.minimum(example_loss, -np.log(1e-7)).mean()
    assert example_loss.max() > 100 and from_logits - from_clipped > 10  # the case tells the two apart

    model = keras_fit.build_model(inputs)
    model.set_weights(flat_weights(weights))
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    keras_loss, keras_accuracy = model.evaluate(x, inputs.y[rows], batch_size=len(rows), verbose=0)
    assert keras_loss == pytest.approx(from_logits, rel=1e-5)
    assert result.history[0, 0, 3] == pytest.approx(from_logits, rel=1e-5)
    assert result.history[0, 0, 4] == pytest.approx(keras_accuracy)


def test_keras_engine_builds_the_softmax_model():
    from schedbench.engines import keras_fit

    configure_tensorflow(THREADS)
    inputs = wine_inputs(FAST_SPECS, [0], epochs=1)
    model = keras_fit.build_model(inputs)
    assert model.output_shape == (None, CLASSES)
    assert model.layers[-1].get_config()["activation"] == "softmax"


# --------------------------------------------------------------------------------------------------
# slow: equivalence with Keras fit, every schedule type
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def every_type(tmp_path_factory):
    workers = KerasWorkers(SPECS, [0], tmp_path_factory.mktemp("multiclass"), epochs=EPOCHS, protocol="heldout",
                           inputs="test_multiclass:wine_inputs")
    inputs = wine_inputs(SPECS, [0])
    replica = run_engine("replica", inputs)
    return inputs, replica, workers.result()


@pytest.mark.slow
def test_engines_agree_on_wine_for_every_schedule_type(every_type):
    """Per run and epoch, the replica engine reproduces Keras fit (softmax + sparse categorical cross-entropy)
    up to float32 round-off, as the binary test does (test_engines.test_engines_agree_on_every_schedule_type):

    - loss, val_loss: |replica - keras| <= LOSS_ATOL = 1e-6 at every epoch, the binary test's tolerance. Both
      engines compute in float32 and call the same tf.nn.sparse_softmax_cross_entropy_with_logits on the
      logits, but the replica's batched matmuls sum in another order and its epoch means divide differently,
      so values differ by ulps (float32 ulp at the losses here, 8e-4 to 1.1: 6e-11 to 1.2e-7). Measured over
      the 14 runs (2-core x86-64, TF 2.21 / Keras 3.15): max |diff| 8.9e-8 (loss), 2.4e-7 (val_loss): ~4x
      headroom, and still >= 100x below what a semantic slip produces on these runs: momentum 0.81 for 0.8
      moves the loss by 1.5e-2, inverse-time decay 0.0021 for 0.002 by 4.5e-4, lr 0.1001 for 0.1 by 9e-4, a
      staircase one epoch early by 1.2e-4 (val_loss 7.7e-4).
    - accuracy, val_accuracy: counts of correct examples (of 119 / 30); a prediction within round-off of a tie
      between two classes may flip: at most MAX_ACCURACY_FLIP_EPOCHS = 2 epochs per run may differ, by one
      example each (the binary test's allowance). Measured: none.
    - lr as the binary test (rel 1e-6, atol 1e-8; reactive rates equal in float32).
    - the final model's class probabilities within PROBABILITY_ATOL = 1e-5, the binary test's (measured: max
      3.9e-7); its held-out test loss within LOSS_ATOL (measured 3.0e-8) and test accuracy equal (of 29).
    """
    inputs, replica, keras = every_type
    k = len(SPECS)
    assert {schedule.type for schedule in inputs.schedules} == {
        "constant", "inverse_time", "step", "piecewise", "exponential", "polynomial", "cosine", "cosine_restarts",
        "cyclical", "one_cycle", "reduce_on_plateau", "custom"}
    assert replica.history.shape == keras.history.shape == (k, EPOCHS, len(HISTORY_COLUMNS))
    assert replica.val_probability.shape == keras.val_probability.shape == (k, N_VAL, CLASSES)
    worst = {"loss": 0.0, "val_loss": 0.0, "probability": 0.0, "test_loss": 0.0}
    flipped = 0
    for i, (_, schedule) in enumerate(inputs.replicas()):
        r, kr = replica.history[i], keras.history[i]
        scored = [history_column(name) for name in Y_SCORED]
        assert np.all(np.isfinite(r[:, scored])) and np.all(np.isfinite(kr[:, scored])), schedule.name
        for column, name in ((1, "loss"), (3, "val_loss")):
            difference = np.abs(r[:, column] - kr[:, column])
            worst[name] = max(worst[name], difference.max())
            assert difference.max() <= LOSS_ATOL, (schedule.name, name, difference.max(), int(difference.argmax()))
        for column, n in ((2, N_TRAIN), (4, N_VAL)):
            flips = np.abs(counts(r[:, column], n) - counts(kr[:, column], n))
            flipped += np.count_nonzero(flips)
            assert flips.max() <= 1 and np.count_nonzero(flips) <= MAX_ACCURACY_FLIP_EPOCHS, (schedule.name, flips)
        if schedule.reactive:
            np.testing.assert_array_equal(np.float32(r[:, 0]), np.float32(kr[:, 0]), err_msg=schedule.name)
        else:
            np.testing.assert_allclose(kr[:, 0], r[:, 0], rtol=LR_RTOL, atol=LR_ATOL, err_msg=schedule.name)
        difference = np.abs(replica.val_probability[i] - keras.val_probability[i]).max()
        worst["probability"] = max(worst["probability"], difference)
        assert difference <= PROBABILITY_ATOL, (schedule.name, difference)
    test_loss = np.abs(replica.test_metrics[:, 0] - keras.test_metrics[:, 0])
    worst["test_loss"] = test_loss.max()
    assert test_loss.max() <= LOSS_ATOL, test_loss
    np.testing.assert_array_equal(counts(replica.test_metrics[:, 1], N_TEST), counts(keras.test_metrics[:, 1], N_TEST))
    print("max |replica - keras|: " + ", ".join(f"{name} {value:.3g}" for name, value in worst.items())
          + f"; epochs with an accuracy flip: {flipped}")


@pytest.mark.slow
def test_every_schedule_type_is_exercised_on_wine(every_type):
    """The schedules do on wine what they are there for (8 updates per epoch here, 9 on ionosphere), and the
    runs learn the task rather than sit at chance."""
    inputs, replica, _ = every_type
    lr = {schedule.name: replica.history[i, :, 0] for i, (_, schedule) in enumerate(inputs.replicas())}
    assert len(np.unique(lr["plateau"])) >= 2 and len(np.unique(lr["plateau-accuracy"])) >= 2
    assert lr["cosine-warmup"][5] > lr["cosine-warmup"][0]
    assert np.any(np.diff(lr["cosine-restarts"]) > 0)
    assert np.all(replica.history[:, -1, 4] >= 0.8)  # final validation accuracy (chance: ~0.4)

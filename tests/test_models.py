"""Models as data: hidden_units (an integer or a list), explicit layers (dense, residual dense, conv1d), the
initializers, per-dataset model blocks, in both engines.

- equivalence (slow): the replica engine against Keras fit, every optimizer, for a two-layer MLP whose second layer
  is residual and for a small CNN, on ionosphere (binary) and wine (multi-class), 3 epochs, one seed; the tolerances
  of test_optimizers;
- the initial weights: an integer hidden_units draws the numbers it drew before layers were data (a pinned
  checksum), a one-entry list the same; each initializer against its formula and Keras' own;
- config: the refusals, each naming its key; the per-dataset model block; the MNIST-1D reference shapes;
- the forward pass of both engines on the MNIST-1D reference models, before any training.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

from conftest import load_repo_config  # noqa: E402
from schedbench.config import ConfigError, validate_config  # noqa: E402
from schedbench.engines import configure_tensorflow, run_engine  # noqa: E402
from schedbench.engines.spec import (  # noqa: E402
    Conv1DLayer, DenseLayer, ModelError, ModelSpec, flat_weights, history_column,
)
from schedbench.jobs import initial_weights, prepare_job  # noqa: E402
from schedbench.plan import build_plan  # noqa: E402
from test_engines import DATA, job_settings, with_optimizer  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
THREADS = 2

RESIDUAL_MLP = {"layers": [{"type": "dense", "units": 24}, {"type": "dense", "units": 24, "residual": True}],
                "initializer": "glorot_uniform"}
SMALL_CNN = {"layers": [{"type": "conv1d", "filters": 4, "kernel_size": 5, "strides": 2, "padding": 1},
                        {"type": "conv1d", "filters": 4, "kernel_size": 3, "strides": 2, "padding": 1},
                        {"type": "conv1d", "filters": 4, "kernel_size": 3, "strides": 2, "padding": 1}],
             "initializer": "he_normal"}
# The MNIST-1D reference models (40 features, 10 classes): the MLP 40-100-100-10 with a residual second layer, and
# the CNN of 25 channels.
MNIST1D_MLP = {"layers": [{"type": "dense", "units": 100}, {"type": "dense", "units": 100, "residual": True}]}
MNIST1D_CNN = {"layers": [{"type": "conv1d", "filters": 25, "kernel_size": 5, "strides": 2, "padding": 1},
                          {"type": "conv1d", "filters": 25, "kernel_size": 3, "strides": 2, "padding": 1},
                          {"type": "conv1d", "filters": 25, "kernel_size": 3, "strides": 2, "padding": 1}]}


def checksum(weights) -> str:
    return hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in flat_weights(weights))).hexdigest()


# --------------------------------------------------------------------------------------------------
# equivalence with Keras fit
# --------------------------------------------------------------------------------------------------
def every_optimizer() -> dict:
    from test_optimizers import OPTIMIZERS

    return {f"{name} constant": {"type": "constant", "lr0": lr0, "optimizer": optimizer}
            for name, (optimizer, lr0) in OPTIMIZERS.items()}


def ionosphere_inputs(model: dict, specs: dict, epochs: int):
    settings = job_settings(specs, epochs)
    settings["model"] = {"hidden_activation": "relu", "init_stddev": 0.05, **model}
    return prepare_job(settings, "tail", [0], DATA, threads=THREADS)


def wine_inputs(model: dict, specs: dict, epochs: int):
    from test_multiclass import CONFIG, wine_data

    settings = build_plan(CONFIG).job_settings("tuning", "wine")
    settings["training"] = dict(settings["training"], epochs=epochs)
    settings["model"] = {"hidden_activation": "relu", "init_stddev": 0.05, **model}
    settings.update(variants=[[name, name, with_optimizer(spec)] for name, spec in specs.items()], parameters=[])
    return prepare_job(settings, "heldout", [0], wine_data(), threads=THREADS)


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["ionosphere", "wine"])
@pytest.mark.parametrize("model", [RESIDUAL_MLP, SMALL_CNN], ids=["residual-mlp", "cnn"])
def test_every_optimizer_trains_alike_in_both_engines(model, dataset):
    from test_optimizers import assert_engines_agree

    configure_tensorflow(THREADS)
    make = ionosphere_inputs if dataset == "ionosphere" else wine_inputs
    inputs = make(model, every_optimizer(), epochs=3)
    assert inputs.model.hidden == ModelSpec.from_config(model, inputs.model.features, inputs.model.classes).hidden
    replica, keras = run_engine("replica", inputs), run_engine("keras", inputs)
    assert_engines_agree(inputs, replica, keras, inputs.n_train, inputs.n_val)
    # With the update compiled by XLA (training.jit_compile; the convolution's windows sliced), alike too.
    xla = run_engine("replica", dataclasses.replace(inputs, jit_compile=True))
    assert_engines_agree(inputs, xla, keras, inputs.n_train, inputs.n_val)
    # Three epochs leave the engines at round-off: no example is scored differently.
    for name, n in (("accuracy", inputs.n_train), ("val_accuracy", inputs.n_val)):
        column = history_column(name)
        np.testing.assert_array_equal(np.round(replica.history[:, :, column] * n),
                                      np.round(keras.history[:, :, column] * n), err_msg=name)
    if inputs.n_test:
        np.testing.assert_allclose(replica.test_metrics[:, 0], keras.test_metrics[:, 0], rtol=0, atol=1e-5)
        np.testing.assert_array_equal(np.round(replica.test_metrics[:, 1] * inputs.n_test),
                                      np.round(keras.test_metrics[:, 1] * inputs.n_test))
    # It learns: every run's training loss falls.
    loss = replica.history[:, :, history_column("loss")]
    assert np.all(loss[:, -1] < loss[:, 0])


def test_both_engines_compute_the_same_forward_pass_on_the_mnist1d_reference_models():
    """Before any training: the replica engine's batched forward pass (conv1d as a product over frames, the residual
    layer, the flatten) gives Keras' predictions of the same model and weights, for two seeds at once."""
    import tensorflow as tf

    from schedbench.engines.keras_fit import keras_model
    from schedbench.engines.replica import forward
    from schedbench.engines.spec import LayerWeights

    configure_tensorflow(THREADS)
    x = np.random.default_rng(3).normal(size=(32, 40)).astype(np.float32)
    for block in (MNIST1D_MLP, {**MNIST1D_CNN, "initializer": "he_normal"}):
        model = ModelSpec.from_config(block, features=40, classes=10)
        seeds = [initial_weights(seed, model) for seed in (0, 1)]
        stacked = [LayerWeights(*(tf.constant(np.stack([w[j].arrays()[a] for w in seeds])) for a in range(2)))
                   for j in range(len(model.layers))]
        logits = forward(model, stacked, tf.constant(np.stack([x, x]))).numpy()
        for s, weights in enumerate(seeds):
            reference = keras_model(model)
            reference.set_weights(flat_weights(weights))
            expected = reference.predict(x, verbose=0)
            np.testing.assert_allclose(tf.nn.softmax(logits[s]).numpy(), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("length, kernel_size, strides, padding",
                         [(40, 5, 2, 1), (19, 3, 2, 1), (10, 3, 2, 1), (12, 4, 3, 0), (9, 3, 1, 2), (7, 7, 1, 0)])
def test_a_convolutions_windows_are_the_same_sliced_for_xla_as_gathered(length, kernel_size, strides, padding):
    """Under jit_compile the windows are slices of the input laid out by stride phase, elsewhere one gather: the
    same values, and the input's gradients to round-off (where more than two windows overlap, the gradient sums
    their parts in another order)."""
    import tensorflow as tf

    from schedbench.engines.replica import _windows

    layer = Conv1DLayer(filters=4, kernel_size=kernel_size, strides=strides, padding=padding)
    h = tf.constant(np.random.default_rng(length).normal(size=(2, 3, length, 5)).astype(np.float32))
    results = []
    for compiled in (False, True):
        with tf.GradientTape() as tape:
            tape.watch(h)
            windows = _windows(layer, h, compiled)
            upstream = tf.constant(np.random.default_rng(1).normal(size=windows.shape).astype(np.float32))
            total = tf.reduce_sum(windows * upstream)
        results.append((windows.numpy(), tape.gradient(total, h).numpy()))
    assert results[0][0].shape == (2, 3, layer.output_length(length), kernel_size, 5)
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------------------------------
# initial weights
# --------------------------------------------------------------------------------------------------
# sha256 of seed 7's weights as drawn before models became data (commit a45b67a): the article's model on ionosphere,
# and Dense(20) on a 13-feature, 3-class table.
PINNED = {(34, 2, 34): "79b89cea96e45b035969be7ca0c6cb6473920b3fbca9a332fcdff117d8a0594d",
          (13, 3, 20): "e89a042ee5af9cab23ee5d6d6bfe45722108f1f610e70dfd4b821aa0e73bd144"}


@pytest.mark.parametrize("features, classes, units", list(PINNED))
def test_an_integer_hidden_units_draws_the_weights_it_always_drew(features, classes, units):
    block = {"hidden_units": units, "hidden_activation": "relu", "init_stddev": 0.05}
    model = ModelSpec.from_config(block, features=features, classes=classes)
    assert checksum(initial_weights(7, model)) == PINNED[features, classes, units]
    # normal is the default initializer, and a one-entry list is the integer
    listed = ModelSpec.from_config({**block, "hidden_units": [units], "initializer": "normal"}, features, classes)
    assert listed == model
    assert checksum(initial_weights(7, listed)) == PINNED[features, classes, units]


def test_a_list_of_hidden_units_is_a_dense_layer_each():
    model = ModelSpec.from_config({"hidden_units": [100, 50], "hidden_activation": "tanh"}, features=40, classes=10)
    assert model.hidden == (DenseLayer(100, "tanh"), DenseLayer(50, "tanh"))
    assert [kernel for kernel, _ in model.weight_shapes()] == [(40, 100), (100, 50), (50, 10)]
    assert model.text == "Dense(100, tanh) then Dense(50, tanh) then Dense(10, softmax)"


def kernels(initializer: str, features: int = 600, units: int = 400, **layers):
    block = {"layers": [{"type": "dense", "units": units}], "initializer": initializer, **layers}
    model = ModelSpec.from_config(block, features=features, classes=2)
    return model, [w.kernel for w in initial_weights(0, model)]


def test_glorot_uniform_draws_within_its_limit_with_the_uniforms_sd():
    import keras

    model, drawn = kernels("glorot_uniform")
    kernel = drawn[0].astype(np.float64)
    limit = np.sqrt(6 / (600 + 400))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.999 * limit
    assert abs(kernel.std() - limit / np.sqrt(3)) < 0.01 * limit / np.sqrt(3)
    assert abs(kernel.mean()) < 0.01 * limit
    reference = keras.ops.convert_to_numpy(keras.initializers.GlorotUniform(seed=1)((600, 400))).astype(np.float64)
    assert abs(reference.std() - kernel.std()) < 0.01 * kernel.std()
    assert abs(np.abs(reference).max() - np.abs(kernel).max()) < 0.01 * limit
    # The output layer's kernel (400, 1) is drawn by the same rule: fan in 400, fan out 1.
    assert np.abs(drawn[1]).max() <= np.sqrt(6 / 401)
    assert np.all(np.concatenate([w.bias for w in initial_weights(0, model)]) == 0)


def test_he_normal_is_truncated_at_two_sd_and_has_sd_sqrt_2_over_fan_in():
    import keras

    _, drawn = kernels("he_normal")
    kernel = drawn[0].astype(np.float64)
    target = np.sqrt(2 / 600)
    # The draw before truncation has SD target / 0.8796...; nothing lies beyond 2 of those SDs.
    assert np.abs(kernel).max() <= 2 * target / 0.87962566103423978 * (1 + 1e-6)
    assert np.abs(kernel).max() > 1.95 * target / 0.87962566103423978
    assert abs(kernel.std() - target) < 0.01 * target
    reference = keras.ops.convert_to_numpy(keras.initializers.HeNormal(seed=1)((600, 400))).astype(np.float64)
    assert abs(reference.std() - kernel.std()) < 0.01 * target
    assert abs(np.abs(reference).max() - np.abs(kernel).max()) < 0.03 * target


def test_normal_has_the_configured_sd():
    _, drawn = kernels("normal", init_stddev=0.2)
    assert abs(drawn[0].std() - 0.2) < 0.002


def test_a_convolutions_fans_are_kernel_size_times_its_channels():
    model = ModelSpec.from_config(MNIST1D_CNN | {"initializer": "glorot_uniform"}, features=40, classes=10)
    assert model.fans() == [(5 * 1, 5 * 25), (3 * 25, 3 * 25), (3 * 25, 3 * 25), (125, 10)]
    weights = initial_weights(0, model)
    assert [w.kernel.shape for w in weights] == [(5, 1, 25), (3, 25, 25), (3, 25, 25), (125, 10)]
    for w, (fan_in, fan_out) in zip(weights, model.fans()):
        limit = np.sqrt(6 / (fan_in + fan_out))
        assert np.abs(w.kernel).max() <= limit and np.abs(w.kernel).max() > 0.9 * limit


# --------------------------------------------------------------------------------------------------
# config
# --------------------------------------------------------------------------------------------------
def config_with(model: dict | None = None, dataset_model: dict | None = None, dataset: str = "ionosphere") -> dict:
    config = load_repo_config()
    if model is not None:
        config["model"] = model
    if dataset_model is not None:
        config["datasets"][dataset]["model"] = dataset_model
    return config


@pytest.mark.parametrize("model, key, words", [
    ({"layers": [{"type": "dense", "units": 34}, {"type": "dense", "units": 20, "residual": True}]},
     "model.layers.1.residual", ["units 20", "input width 34"]),
    ({"layers": [{"type": "dense", "units": 8}, {"type": "conv1d", "filters": 2, "kernel_size": 3}]},
     "model.layers.1.type", ["after a dense layer"]),
    ({"layers": [{"type": "conv1d", "filters": 2, "kernel_size": 40, "padding": 1}]},
     "model.layers.0.kernel_size", ["longer than its padded input", "34 positions", "datasets ionosphere"]),
    ({"hidden_units": 34, "layers": [{"type": "dense", "units": 8}]}, "model.layers", ["hidden_units"]),
    ({"layers": [{"type": "conv1d", "filters": 2, "kernel_size": 3, "units": 4}]}, "model.layers.0.units",
     ["unknown key"]),
    ({"hidden_units": [34, 0]}, "model.hidden_units.1", []),
    ({"layers": [{"type": "dense", "units": 8}], "initializer": "lecun"}, "model.initializer", []),
])
def test_a_model_that_cannot_be_built_is_refused_naming_its_key(model, key, words):
    with pytest.raises(ConfigError) as error:
        validate_config(config_with(model))
    message = str(error.value)
    assert f"{key}:" in message and all(word in message for word in words), message


def test_a_datasets_model_block_is_refused_naming_its_own_key():
    bad = {"layers": [{"type": "dense", "units": 10, "residual": True}]}
    with pytest.raises(ConfigError, match=r"datasets\.sonar\.model\.layers\.0\.residual: .*input width 60"):
        validate_config(config_with(dataset_model=bad, dataset="sonar"))
    both = {"hidden_units": 5, "layers": [{"type": "dense", "units": 5}]}
    with pytest.raises(ConfigError, match=r"datasets\.sonar\.model\.layers: set together"):
        validate_config(config_with(dataset_model=both, dataset="sonar"))
    # wine sets training.hidden_units already (config.yaml): a model block's layers beside it is one too many
    with pytest.raises(ConfigError, match=r"datasets\.wine\.training\.hidden_units"):
        validate_config(config_with(dataset_model={"hidden_units": [5]}, dataset="wine"))


def test_a_model_without_hidden_layers_is_refused():
    with pytest.raises(ConfigError, match="model: sets neither hidden_units nor layers"):
        validate_config(config_with({"hidden_activation": "relu"}))


def test_a_datasets_model_block_overrides_the_top_level_model_for_that_dataset():
    cnn = {"layers": SMALL_CNN["layers"], "initializer": "he_normal"}
    config = validate_config(config_with(dataset_model=cnn))
    plan = build_plan(config)
    ionosphere = plan.datasets["ionosphere"]
    assert ionosphere.model == {"hidden_activation": "relu", "init_stddev": 0.05, **cnn}
    assert ionosphere.model_text == ("Conv1D(4, 5, strides 2, padding 1, relu) then Conv1D(4, 3, strides 2, padding 1, "
                                     "relu) x2 then Flatten then Dense(1, sigmoid)")
    assert ionosphere.model_spec.initializer == "he_normal"
    # the others keep the top-level model, wine its own hidden units (training.hidden_units)
    assert plan.datasets["sonar"].model_text == "Dense(34, relu) then Dense(1, sigmoid)"
    assert plan.datasets["wine"].model_text == "Dense(13, relu) then Dense(3, softmax)"
    # the plan survives its builtins' round trip (the workflow's params), and the job's settings carry the model
    rebuilt = type(plan).from_dict(copy.deepcopy(plan.to_dict()))
    assert rebuilt.datasets["ionosphere"].model_spec == ionosphere.model_spec
    study = plan.studies_of("ionosphere")[0].name
    assert plan.job_settings(study, "ionosphere")["model"] == ionosphere.model


def test_an_older_config_resolves_to_the_same_model_settings():
    """No key is added to a config that does not use the new ones: its jobs' settings, and so the workflow's params,
    stay what they were."""
    plan = build_plan(validate_config(load_repo_config()))
    assert plan.datasets["ionosphere"].model == {"hidden_units": 34, "hidden_activation": "relu", "init_stddev": 0.05}


# --------------------------------------------------------------------------------------------------
# the MNIST-1D reference shapes
# --------------------------------------------------------------------------------------------------
def test_the_mnist1d_reference_cnn_has_the_references_lengths():
    model = ModelSpec.from_config(MNIST1D_CNN, features=40, classes=10)
    assert [shape for shape, _ in model.shapes()] == [(40, 1), (19, 25), (10, 25), (125,)]
    assert [shape for _, shape in model.shapes()] == [(19, 25), (10, 25), (5, 25), (10,)]
    assert model.weight_shapes()[-1] == ((125, 10), (10,))
    assert model.text == ("Conv1D(25, 5, strides 2, padding 1, relu) then Conv1D(25, 3, strides 2, padding 1, relu) "
                          "x2 then Flatten then Dense(10, softmax)")
    assert Conv1DLayer(25, 5, 2, 1).output_length(40) == 19


def test_the_mnist1d_reference_mlp():
    model = ModelSpec.from_config(MNIST1D_MLP, features=40, classes=10)
    assert model.hidden == (DenseLayer(100), DenseLayer(100, residual=True))
    assert [kernel for kernel, _ in model.weight_shapes()] == [(40, 100), (100, 100), (100, 10)]
    assert model.text == "Dense(100, relu) then Dense(100, relu, residual) then Dense(10, softmax)"
    with pytest.raises(ModelError, match=r"layers\.1\.residual"):
        ModelSpec(features=40, hidden=(DenseLayer(100), DenseLayer(50, residual=True)), classes=10)


def test_a_models_arithmetic_and_activations_per_example_count_every_layer():
    """What the training jobs' time and memory requests are sized from (workflow/rules/common.smk)."""
    cnn = ModelSpec.from_config(MNIST1D_CNN, features=40, classes=10)
    # 19 x 5 x 1 x 25, 10 x 3 x 25 x 25, 5 x 3 x 25 x 25 multiply-adds, then 125 x 10.
    assert cnn.multiply_adds_per_example() == 2375 + 18750 + 9375 + 1250
    # Features, each layer's output, each convolution's windows (positions x kernel_size x input channels).
    assert cnn.floats_per_example() == 40 + (475 + 95) + (250 + 750) + (125 + 375) + 10
    assert cnn.parameter_count() == (125 + 25) + (1875 + 25) + (1875 + 25) + (1250 + 10)
    mlp = ModelSpec.from_config(MNIST1D_MLP, features=40, classes=10)
    assert mlp.multiply_adds_per_example() == 40 * 100 + 100 * 100 + 100 * 10
    assert mlp.floats_per_example() == 40 + 100 + 100 + 10


def test_the_reports_methods_say_each_initializer_in_use():
    from schedbench.report.methods import methods_view

    plan = build_plan(validate_config(load_repo_config()))
    assert methods_view(plan, ["ionosphere"])["initializer"] == "a normal distribution with standard deviation 0.05"
    cnn = {"layers": SMALL_CNN["layers"], "initializer": "he_normal"}
    plan = build_plan(validate_config(config_with(dataset_model=cnn)))
    text = methods_view(plan, ["ionosphere", "sonar"])["initializer"]
    assert text.startswith("a normal distribution with standard deviation 0.05 or Keras' He normal initializer")
    assert "truncated at 2 SD" in text
    assert "Conv1D(4, 5, strides 2, padding 1, relu)" in methods_view(plan, ["ionosphere"])["model"]

"""The contract every training engine implements: what a job hands in, what comes back.

This module sits below the engines and below job preparation; it imports neither. A job is one study's
dataset, one evaluation protocol and a chunk of seeds, trained under every schedule of the study. For a given
seed every schedule starts from the same initial weights and sees the same batch order (and, under the
``resplit`` and ``heldout`` protocols, the same split), so comparisons between schedules are paired by seed.

Three seams, each a plain description the engines interpret in one place of their own:

- the model, :class:`ModelSpec`: a list of layers (:class:`Conv1DLayer` first, then :class:`DenseLayer`, plain or
  residual), the output layer derived from the number of classes, and how its kernels start (``initializer``);
  its weights a :class:`LayerWeights` (kernel, bias) per layer;
- the optimizer, :class:`OptimizerSpec`: a name and its parameters (``sgd`` with ``momentum`` and ``nesterov``,
  ``adam``, ``adamw``, ``schedule_free_sgd``, ``schedule_free_adamw``), as the config's
  ``schedules.<family>.optimizer`` block gives them;
- the schedule: a :class:`schedbench.schedules.Schedule`.

An engine is a module with ``train(inputs: JobInputs) -> JobResult``, registered by name in
:mod:`schedbench.engines`. A new layer kind is a dataclass here with a ``kind`` (its shapes in
:meth:`ModelSpec.shapes`), a forward pass in each engine's layer registry and a branch of the config schema's
``$defs/layer``; a new optimizer is a branch of the config schema's ``$defs/optimizer`` and an update in
each engine's optimizer registry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from schedbench.schedules import Schedule, steps_per_epoch

# One row per run and epoch of JobResult.history, in this order; read a column with history_column(name).
# val_loss and val_accuracy score the model to evaluate: x, the average, for a schedule-free optimizer (whose
# gradients, and so loss and accuracy, are taken at y); *_at_y score y, NaN for optimizers without an average.
HISTORY_COLUMNS = ("lr", "loss", "accuracy", "val_loss", "val_accuracy", "val_loss_at_y", "val_accuracy_at_y")
# Rows per block of a replica engine's evaluation (its forward pass over the validation or test rows runs block by
# block; the scores are those of one pass over all rows, bit for bit): what bounds a job's memory, not the rows.
EVALUATION_ROWS = 256


def history_column(name: str) -> int:
    """The index of ``name`` on the last axis of ``JobResult.history``."""
    try:
        return HISTORY_COLUMNS.index(name)
    except ValueError:
        raise KeyError(f"no history column {name!r} (columns: {', '.join(HISTORY_COLUMNS)})") from None


@dataclass(frozen=True)
class DenseLayer:
    """``y = activation(x W + b)``, with W (inputs, units) and b (units,): Keras' ``Dense(units, activation)``.

    ``residual``: ``y = x + activation(x W + b)`` (Keras: ``Add()([x, Dense(units, activation)(x)])``), which needs
    ``units`` equal to the input's width. After convolutions its input is their output flattened position-major
    (Keras' ``Flatten`` on channels-last)."""

    units: int
    activation: str = "relu"
    residual: bool = False

    kind: ClassVar[str] = "dense"

    @property
    def text(self) -> str:
        return f"Dense({self.units}, {self.activation}{', residual' if self.residual else ''})"


@dataclass(frozen=True)
class Conv1DLayer:
    """A 1-D convolution over the features read as a sequence (1 channel at the input): ``padding`` zeros added at
    each end (PyTorch's ``Conv1d(padding=p)``; Keras: ``ZeroPadding1D(p)`` then ``Conv1D(filters, kernel_size,
    strides, padding='valid', activation)``), output length ``(length + 2 padding - kernel_size) // strides + 1``.
    Kernel (kernel_size, input channels, filters), as Keras'; bias (filters,)."""

    filters: int
    kernel_size: int
    strides: int = 1
    padding: int = 0
    activation: str = "relu"

    kind: ClassVar[str] = "conv1d"

    def output_length(self, length: int) -> int:
        return (length + 2 * self.padding - self.kernel_size) // self.strides + 1

    @property
    def text(self) -> str:
        return (f"Conv1D({self.filters}, {self.kernel_size}, strides {self.strides}, padding {self.padding}, "
                f"{self.activation})")


Layer = DenseLayer | Conv1DLayer


@dataclass(frozen=True)
class LayerWeights:
    """One layer's parameters, float32: ``kernel`` (inputs, units) for a dense layer, (kernel_size, input channels,
    filters) for a convolution, and ``bias`` (units or filters,)."""

    kernel: np.ndarray
    bias: np.ndarray

    # The order Keras' get_weights / set_weights list a layer's arrays in.
    NAMES: ClassVar[tuple[str, ...]] = ("kernel", "bias")

    def arrays(self) -> list[np.ndarray]:
        return [getattr(self, name) for name in self.NAMES]


def flat_weights(layers: list[LayerWeights]) -> list[np.ndarray]:
    """A model's weights as Keras lists them: kernel and bias of every layer, input side first."""
    return [array for layer in layers for array in layer.arrays()]


# How every kernel starts (biases start at zero), as Keras' initializer of that name; drawn in schedbench.jobs.
INITIALIZERS = ("normal", "glorot_uniform", "he_normal")
LAYER_KINDS = {DenseLayer.kind: DenseLayer, Conv1DLayer.kind: Conv1DLayer}


class ModelError(ValueError):
    """A model that cannot be built: ``layer`` the index of the hidden layer at fault, ``key`` its setting."""

    def __init__(self, message: str, layer: int | None = None, key: str | None = None):
        super().__init__(message if layer is None else f"layers.{layer}.{key}: {message}")
        self.problem, self.layer, self.key = message, layer, key


def layer_from_config(item: Mapping[str, Any]) -> Layer:
    """A layer from an item of a config's ``model.layers``: ``{type: conv1d, filters: 25, kernel_size: 5}``."""
    item = dict(item)
    return LAYER_KINDS[item.pop("type")](**item)


@dataclass(frozen=True)
class ModelSpec:
    """The hidden layers, then the output layer, as a Keras user writes the model:

    - ``classes == 2``: Dense(1, sigmoid), loss ``binary_crossentropy``; accuracy: P(label 1) > 0.5 == label;
    - ``classes > 2``: Dense(classes, softmax), loss ``sparse_categorical_crossentropy``; accuracy (Keras'
      sparse categorical accuracy): argmax of the class probabilities == label.

    The hidden layers: convolutions (:class:`Conv1DLayer`) first, reading the ``features`` as a sequence with one
    channel, then dense layers (:class:`DenseLayer`), the convolutions' output flattened between them.
    Keras computes both losses from the logits of the output layer (the activation caches them), not from its
    clipped probabilities; see :mod:`schedbench.engines.replica`. Every kernel, the output layer's too, starts as
    Keras' ``initializer`` of that name draws it (:data:`INITIALIZERS`; 'normal' is RandomNormal(0,
    ``init_stddev``)), from the fans :meth:`fans` gives; every bias at zero.
    """

    features: int
    hidden: tuple[Layer, ...]
    init_stddev: float = 0.05
    classes: int = 2
    initializer: str = "normal"

    def __post_init__(self):
        if int(self.classes) != self.classes or self.classes < 2:
            raise ValueError(f"classes must be an integer >= 2, got {self.classes!r}")
        if self.initializer not in INITIALIZERS:
            raise ModelError(f"initializer {self.initializer!r}: one of {', '.join(INITIALIZERS)}")
        object.__setattr__(self, "hidden", tuple(self.hidden))
        problems = self.problems()
        if problems:
            raise ModelError(*problems[0])

    @classmethod
    def from_config(cls, model: Mapping[str, Any], features: int, classes: int) -> ModelSpec:
        """The model a resolved ``model`` block describes (:func:`schedbench.plan.dataset_model`): its ``layers``, or
        one Dense(n, hidden_activation) per entry of ``hidden_units`` (an integer: one layer), then the output layer
        of ``classes``."""
        if "layers" in model:
            hidden = tuple(layer_from_config(item) for item in model["layers"])
        else:
            units = model["hidden_units"]
            hidden = tuple(DenseLayer(n, model.get("hidden_activation", "relu"))
                           for n in ([units] if isinstance(units, int) else units))
        return cls(features=features, hidden=hidden, init_stddev=model.get("init_stddev", 0.05), classes=classes,
                   initializer=model.get("initializer", "normal"))

    def problems(self) -> list[tuple[str, int, str]]:
        """(what is wrong, hidden layer index, its setting at fault) for each layer that cannot be built: a
        convolution after a dense layer, a kernel longer than its padded input, a residual layer whose width is not
        its input's."""
        problems = []
        for index, (layer, (shape, _)) in enumerate(zip(self.hidden, self.shapes())):
            if layer.kind == Conv1DLayer.kind:
                if index and self.hidden[index - 1].kind != Conv1DLayer.kind:
                    problem = "a conv1d layer after a dense layer: the convolutions come first, the dense layers after"
                    problems.append((problem, index, "type"))
                    break
                padded = shape[0] + 2 * layer.padding
                if layer.kernel_size > padded:
                    problem = (f"{layer.kernel_size} is longer than its padded input ({shape[0]} positions + 2 x "
                               f"padding {layer.padding} = {padded})")
                    problems.append((problem, index, "kernel_size"))
                    break
            elif layer.residual and layer.units != shape[0]:
                problem = (f"a residual layer adds its input to its output, so its units must equal its input's width: "
                           f"units {layer.units}, input width {shape[0]}")
                problems.append((problem, index, "residual"))
        return problems

    @property
    def text(self) -> str:
        """The layers as a Keras user writes them, repeats counted: 'Conv1D(4, 3, strides 2, padding 1, relu) x2
        then Flatten then Dense(1, sigmoid)'."""
        words = []
        for layer in self.layers:
            if layer.kind == DenseLayer.kind and words and words[-1][0].startswith("Conv1D"):
                words.append(["Flatten", 1])
            if words and words[-1][0] == layer.text:
                words[-1][1] += 1
            else:
                words.append([layer.text, 1])
        return " then ".join(text if count == 1 else f"{text} x{count}" for text, count in words)

    @property
    def binary(self) -> bool:
        return self.classes == 2

    @property
    def outputs(self) -> int:
        """Units of the output layer: 1 (sigmoid) for two classes, ``classes`` (softmax) otherwise."""
        return 1 if self.binary else self.classes

    @property
    def output(self) -> DenseLayer:
        return DenseLayer(self.outputs, "sigmoid" if self.binary else "softmax")

    @property
    def layers(self) -> tuple[Layer, ...]:
        """Every layer, input side first; the last is :attr:`output`."""
        return (*self.hidden, self.output)

    def shapes(self) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """(input shape, output shape) of every layer of :attr:`layers`, per example: (length, channels) at a
        convolution (the features are (features, 1)), (width,) at a dense layer (a convolution's output
        flattened: length x channels)."""
        shape, shapes = (self.features,), []
        for layer in self.layers:
            if layer.kind == Conv1DLayer.kind:
                into = shape if len(shape) == 2 else (shape[0], 1)
                shape = (layer.output_length(into[0]), layer.filters)
            else:
                into = (math.prod(shape),)
                shape = (layer.units,)
            shapes.append((into, shape))
        return shapes

    def floats_per_example(self) -> int:
        """The activations one example holds in a forward pass: its features, every layer's output and a
        convolution's windows (its input gathered once per kernel offset); what a run's memory grows with."""
        total = self.features
        for layer, (into, out) in zip(self.layers, self.shapes()):
            total += math.prod(out)
            if layer.kind == Conv1DLayer.kind:
                total += out[0] * layer.kernel_size * into[1]
        return total

    def multiply_adds_per_example(self) -> int:
        """Multiply-adds of one example's forward pass: a dense layer's inputs x units, a convolution's output
        positions x kernel_size x input channels x filters. A training step costs about three times its forward
        pass (forward, and the gradients of inputs and of weights)."""
        total = 0
        for layer, (into, out) in zip(self.layers, self.shapes()):
            total += (out[0] * layer.kernel_size * into[1] * out[1] if layer.kind == Conv1DLayer.kind
                      else into[0] * out[0])
        return total

    def parameter_count(self) -> int:
        return sum(math.prod(kernel) + math.prod(bias) for kernel, bias in self.weight_shapes())

    def weight_shapes(self) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """(kernel shape, bias shape) of every layer, input side first: (kernel_size, input channels, filters) at a
        convolution, (inputs, units) at a dense layer, as Keras holds them."""
        out = []
        for layer, (into, _) in zip(self.layers, self.shapes()):
            if layer.kind == Conv1DLayer.kind:
                out.append(((layer.kernel_size, into[1], layer.filters), (layer.filters,)))
            else:
                out.append(((into[0], layer.units), (layer.units,)))
        return out

    def fans(self) -> list[tuple[int, int]]:
        """(fan in, fan out) of every layer's kernel, as Keras' initializers count them: (inputs, units) for a
        dense layer, (kernel_size x input channels, kernel_size x filters) for a convolution."""
        out = []
        for kernel, _ in self.weight_shapes():
            receptive = math.prod(kernel[:-2])
            out.append((receptive * kernel[-2], receptive * kernel[-1]))
        return out


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer by name and its parameters, e.g. ``sgd`` with ``{"momentum": 0.9, "nesterov": False}``.

    What the parameters mean is each engine's business (its optimizer registry); the config schema's
    ``$defs/optimizer`` says which parameters a name takes and fills their defaults.
    """

    name: str = "sgd"
    parameters: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def from_config(cls, block: Mapping[str, Any]) -> OptimizerSpec:
        """From a validated ``optimizer`` block: ``{name: sgd, momentum: 0.9, nesterov: false}``."""
        block = dict(block)
        return cls(name=block.pop("name", "sgd"), parameters=block)

    def __getitem__(self, parameter: str):
        try:
            return self.parameters[parameter]
        except KeyError:
            raise KeyError(f"optimizer {self.name}: no parameter {parameter!r} "
                           f"(given: {', '.join(self.parameters) or 'none'})") from None


@dataclass
class JobInputs:
    """Everything an engine needs; arrays indexed by seed position ``s`` in ``seeds``.

    ``x[s]`` is the whole table as seed ``s``'s split preprocesses it (e.g. standardised with the mean and SD
    of that seed's training rows; for a dataset used raw every seed's slice is the same table). Row indices
    (``train_rows``, ``val_rows``, ``test_rows``, ``batch_rows``) index the rows axis: seed ``s`` trains on
    ``x[s, batch_rows[s, e]]``. Labels do not depend on the seed.

    ``schedules[j]`` is trained with ``optimizers[j]`` (one variant of the study each).
    ``initial_weights[s]`` holds a :class:`LayerWeights` per layer of ``model.layers``, float32.
    """

    x: np.ndarray  # (S, rows, features) float32: the whole table per seed, in file order
    # (rows,) float32: 0/1 for two classes; for more, the class index 0 .. classes - 1, stored as float32 too
    # (exact for any realistic class count; the engines cast it to int64 for the loss, as Keras does)
    y: np.ndarray
    seeds: list[int]
    schedules: list[Schedule]
    optimizers: list[OptimizerSpec]
    model: ModelSpec
    epochs: int
    batch_size: int
    train_rows: np.ndarray  # (S, n_train) row indices into x
    val_rows: np.ndarray  # (S, n_val) row indices into x
    test_rows: np.ndarray  # (S, n_test) row indices into x; n_test = 0 without held-out rows
    batch_rows: np.ndarray  # (S, epochs, n_train): row indices into x, each epoch a fresh permutation
    initial_weights: list[list[LayerWeights]]  # per seed: one per layer of model.layers
    threads: int = 1
    # Keras' compile(jit_compile=...): the update compiled with XLA (faster on larger models, other last bits).
    jit_compile: bool = False
    # Epochs (1-based, before the last) after which the models are also scored on the test rows: the shorter
    # budgets a study reads from this run.
    test_epochs: tuple = ()

    def __post_init__(self):
        if len(self.optimizers) != len(self.schedules):
            raise ValueError(f"{len(self.schedules)} schedules but {len(self.optimizers)} optimizers: "
                             f"each schedule needs its own")
        if any(not 1 <= epoch < self.epochs for epoch in self.test_epochs):
            raise ValueError(f"test_epochs {list(self.test_epochs)}: each must lie within the run's {self.epochs} "
                             "epochs, before its last")

    @property
    def n_train(self) -> int:
        return self.train_rows.shape[1]

    @property
    def n_val(self) -> int:
        return self.val_rows.shape[1]

    @property
    def n_test(self) -> int:
        return self.test_rows.shape[1]

    @property
    def steps_per_epoch(self) -> int:
        return steps_per_epoch(self.n_train, self.batch_size)

    def runs(self) -> list[tuple[int, Schedule, OptimizerSpec]]:
        """(seed position, schedule, optimizer) of every run, seed-major: the order of JobResult's first axis."""
        return [(s, schedule, optimizer) for s in range(len(self.seeds))
                for schedule, optimizer in zip(self.schedules, self.optimizers)]

    def replicas(self) -> list[tuple[int, Schedule]]:
        """(seed position, schedule) of every run, in the order of :meth:`runs`."""
        return [(s, schedule) for s, schedule, _ in self.runs()]


@dataclass
class JobResult:
    """What an engine returns; the first axis follows JobInputs.replicas() (K = seeds x schedules)."""

    history: np.ndarray  # (K, epochs, len(HISTORY_COLUMNS)) per run and epoch; columns: history_column(name)
    # The final model's predictions per validation row, float32: (K, n_val) = P(label 1) for two classes;
    # (K, n_val, classes) = the softmax class probabilities (each row sums to 1 up to round-off) for more.
    val_probability: np.ndarray
    # (K, 2): the final model's loss (binary / sparse categorical cross-entropy) and accuracy on its seed's
    # test rows (NaN if none); the model to evaluate, x for schedule-free optimizers, as val_probability
    test_metrics: np.ndarray
    # (K, 2): the same at y for schedule-free optimizers; NaN for the others (and without test rows)
    test_metrics_at_y: np.ndarray
    # (K, len(JobInputs.test_epochs), 4): test loss, accuracy, loss at y, accuracy at y of the models after each of
    # the test epochs, as test_metrics and test_metrics_at_y score the final one
    test_at_epochs: np.ndarray | None = None

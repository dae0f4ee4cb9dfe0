"""The contract every training engine implements: what a job hands in, what comes back.

This module sits below the engines and below job preparation; it imports neither. A job is one study's
dataset, one evaluation protocol and a chunk of seeds, trained under every schedule of the study. For a given
seed every schedule starts from the same initial weights and sees the same batch order (and, under the
``resplit`` and ``heldout`` protocols, the same split), so comparisons between schedules are paired by seed.

Three seams, each a plain description the engines interpret in one place of their own:

- the model, :class:`ModelSpec`: a list of layers (:class:`DenseLayer` today), the output layer derived from
  the number of classes; its weights a :class:`LayerWeights` (kernel, bias) per layer;
- the optimizer, :class:`OptimizerSpec`: a name and its parameters (``sgd`` with ``momentum`` and ``nesterov``,
  ``adam``, ``adamw``, ``schedule_free_sgd``, ``schedule_free_adamw``), as the config's
  ``schedules.<family>.optimizer`` block gives them;
- the schedule: a :class:`schedbench.schedules.Schedule`.

An engine is a module with ``train(inputs: JobInputs) -> JobResult``, registered by name in
:mod:`schedbench.engines`. A new layer kind is a dataclass here with a ``kind``, and a forward pass in each
engine's layer registry; a new optimizer is a branch of the config schema's ``$defs/optimizer`` and an update in
each engine's optimizer registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from schedbench.schedules import Schedule, steps_per_epoch

# One row per run and epoch of JobResult.history, in this order; read a column with history_column(name).
# val_loss and val_accuracy score the model to evaluate: x, the average, for a schedule-free optimizer (whose
# gradients, and so loss and accuracy, are taken at y); *_at_y score y, NaN for optimizers without an average.
HISTORY_COLUMNS = ("lr", "loss", "accuracy", "val_loss", "val_accuracy", "val_loss_at_y", "val_accuracy_at_y")


def history_column(name: str) -> int:
    """The index of ``name`` on the last axis of ``JobResult.history``."""
    try:
        return HISTORY_COLUMNS.index(name)
    except ValueError:
        raise KeyError(f"no history column {name!r} (columns: {', '.join(HISTORY_COLUMNS)})") from None


@dataclass(frozen=True)
class DenseLayer:
    """``y = activation(x W + b)``, with W (inputs, units) and b (units,): Keras' ``Dense(units, activation)``."""

    units: int
    activation: str = "relu"

    kind: ClassVar[str] = "dense"


@dataclass(frozen=True)
class LayerWeights:
    """One layer's parameters, float32: ``kernel`` (inputs, units) and ``bias`` (units,)."""

    kernel: np.ndarray
    bias: np.ndarray

    # The order Keras' get_weights / set_weights list a layer's arrays in.
    NAMES: ClassVar[tuple[str, ...]] = ("kernel", "bias")

    def arrays(self) -> list[np.ndarray]:
        return [getattr(self, name) for name in self.NAMES]


def flat_weights(layers: list[LayerWeights]) -> list[np.ndarray]:
    """A model's weights as Keras lists them: kernel and bias of every layer, input side first."""
    return [array for layer in layers for array in layer.arrays()]


@dataclass(frozen=True)
class ModelSpec:
    """The hidden layers, then the output layer, as a Keras user writes the model:

    - ``classes == 2``: Dense(1, sigmoid), loss ``binary_crossentropy``; accuracy: P(label 1) > 0.5 == label;
    - ``classes > 2``: Dense(classes, softmax), loss ``sparse_categorical_crossentropy``; accuracy (Keras'
      sparse categorical accuracy): argmax of the class probabilities == label.

    Keras computes both losses from the logits of the output layer (the activation caches them), not from its
    clipped probabilities; see :mod:`schedbench.engines.replica`. Every kernel starts as Keras' 'normal'
    initializer, RandomNormal(0, ``init_stddev``); every bias at zero.
    """

    features: int
    hidden: tuple[DenseLayer, ...]
    init_stddev: float = 0.05
    classes: int = 2

    def __post_init__(self):
        if int(self.classes) != self.classes or self.classes < 2:
            raise ValueError(f"classes must be an integer >= 2, got {self.classes!r}")
        object.__setattr__(self, "hidden", tuple(self.hidden))

    @classmethod
    def from_config(cls, model: Mapping[str, Any], features: int, classes: int) -> ModelSpec:
        """The model a config's ``model`` block describes (with a dataset's own ``hidden_units``): one hidden
        Dense(hidden_units, hidden_activation) layer, then the output layer of ``classes``."""
        return cls(features=features, hidden=(DenseLayer(model["hidden_units"], model["hidden_activation"]),),
                   init_stddev=model["init_stddev"], classes=classes)

    @property
    def text(self) -> str:
        """The layers as a Keras user writes them: 'Dense(34, relu) then Dense(1, sigmoid)'."""
        return " then ".join(f"{type(layer).__name__.removesuffix('Layer')}({layer.units}, {layer.activation})"
                             for layer in self.layers)

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
    def layers(self) -> tuple[DenseLayer, ...]:
        """Every layer, input side first; the last is :attr:`output`."""
        return (*self.hidden, self.output)

    def weight_shapes(self) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """(kernel shape, bias shape) of every layer, input side first."""
        widths = [self.features, *(layer.units for layer in self.layers)]
        return [((n_in, n_out), (n_out,)) for n_in, n_out in zip(widths[:-1], widths[1:])]


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

    def __post_init__(self):
        if len(self.optimizers) != len(self.schedules):
            raise ValueError(f"{len(self.schedules)} schedules but {len(self.optimizers)} optimizers: "
                             f"each schedule needs its own")

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

"""The contract every training engine implements: what a job hands in, what comes back.

This module sits below the engines and below job preparation; it imports neither. A job is one study's
dataset, one evaluation protocol and a chunk of seeds, trained under every schedule of the study. For a given
seed every schedule starts from the same initial weights and sees the same batch order (and, under the
``resplit`` and ``heldout`` protocols, the same split), so comparisons between schedules are paired by seed.

An engine is a module with ``train(inputs: JobInputs) -> JobResult``, registered by name in
:mod:`schedbench.engines`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from schedbench.schedules import Schedule, steps_per_epoch

# One row per run and epoch of JobResult.history, in this order.
HISTORY_COLUMNS = ("lr", "loss", "accuracy", "val_loss", "val_accuracy")


@dataclass(frozen=True)
class ModelSpec:
    """Dense(hidden_units, hidden_activation) -> output layer, as a Keras user writes it:

    - ``classes == 2``: Dense(1, sigmoid), loss ``binary_crossentropy``; accuracy: P(label 1) > 0.5 == label;
    - ``classes > 2``: Dense(classes, softmax), loss ``sparse_categorical_crossentropy``; accuracy (Keras'
      sparse categorical accuracy): argmax of the class probabilities == label.

    Keras computes both losses from the logits of the output layer (the activation caches them), not from its
    clipped probabilities; see :mod:`schedbench.engines.replica`.
    """

    features: int
    hidden_units: int
    hidden_activation: str = "relu"
    init_stddev: float = 0.05
    classes: int = 2

    def __post_init__(self):
        if int(self.classes) != self.classes or self.classes < 2:
            raise ValueError(f"classes must be an integer >= 2, got {self.classes!r}")

    @property
    def binary(self) -> bool:
        return self.classes == 2

    @property
    def outputs(self) -> int:
        """Units of the output layer: 1 (sigmoid) for two classes, ``classes`` (softmax) otherwise."""
        return 1 if self.binary else self.classes


@dataclass
class JobInputs:
    """Everything an engine needs; arrays indexed by seed position ``s`` in ``seeds``.

    ``x[s]`` is the whole table as seed ``s``'s split preprocesses it (e.g. standardised with the mean and SD
    of that seed's training rows; for a dataset used raw every seed's slice is the same table). Row indices
    (``train_rows``, ``val_rows``, ``test_rows``, ``batch_rows``) index the rows axis: seed ``s`` trains on
    ``x[s, batch_rows[s, e]]``. Labels do not depend on the seed.

    ``initial_weights[s]`` is (kernel1 (features, hidden), bias1 (hidden,), kernel2 (hidden, model.outputs),
    bias2 (model.outputs,)), float32: kernel2 is (hidden, 1) for two classes, (hidden, classes) otherwise.
    """

    x: np.ndarray  # (S, rows, features) float32: the whole table per seed, in file order
    # (rows,) float32: 0/1 for two classes; for more, the class index 0 .. classes - 1, stored as float32 too
    # (exact for any realistic class count; the engines cast it to int64 for the loss, as Keras does)
    y: np.ndarray
    seeds: list[int]
    schedules: list[Schedule]
    model: ModelSpec
    epochs: int
    batch_size: int
    train_rows: np.ndarray  # (S, n_train) row indices into x
    val_rows: np.ndarray  # (S, n_val) row indices into x
    test_rows: np.ndarray  # (S, n_test) row indices into x; n_test = 0 without held-out rows
    batch_rows: np.ndarray  # (S, epochs, n_train): row indices into x, each epoch a fresh permutation
    initial_weights: list[tuple[np.ndarray, ...]]  # per seed: kernel1, bias1, kernel2, bias2
    threads: int = 1

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

    def replicas(self) -> list[tuple[int, Schedule]]:
        """(seed position, schedule) of every run, seed-major: the order of JobResult's first axis."""
        return [(s, schedule) for s in range(len(self.seeds)) for schedule in self.schedules]


@dataclass
class JobResult:
    """What an engine returns; the first axis follows JobInputs.replicas() (K = seeds x schedules)."""

    history: np.ndarray  # (K, epochs, len(HISTORY_COLUMNS)) per run and epoch
    # The final model's predictions per validation row, float32: (K, n_val) = P(label 1) for two classes;
    # (K, n_val, classes) = the softmax class probabilities (each row sums to 1 up to round-off) for more.
    val_probability: np.ndarray
    # (K, 2): the final model's loss (binary / sparse categorical cross-entropy) and accuracy on its seed's
    # test rows (NaN if none)
    test_metrics: np.ndarray

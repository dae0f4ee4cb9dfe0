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
    features: int
    hidden_units: int
    hidden_activation: str = "relu"
    init_stddev: float = 0.05


@dataclass
class JobInputs:
    """Everything an engine needs; arrays indexed by seed position ``s`` in ``seeds``."""

    x: np.ndarray  # (rows, features) float32: the whole table, in file order
    y: np.ndarray  # (rows,) float32 in {0, 1}
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
    history: np.ndarray  # (K, epochs, len(HISTORY_COLUMNS)) per run and epoch
    val_probability: np.ndarray  # (K, n_val): the final model's predicted P(label 1) per validation row
    test_metrics: np.ndarray  # (K, 2): the final model's loss and accuracy on its seed's test rows (NaN if none)

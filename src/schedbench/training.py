"""What one training job trains, and the tables it writes.

A job is one dataset, one evaluation protocol and a chunk of seeds, trained under every configured
schedule. For a given seed every schedule starts from the same initial weights and sees the same batch
order (and, under the ``resplit`` protocol, the same split), so comparisons between schedules are paired
by seed. Both engines take the same :class:`JobInputs` and return the same :class:`JobResult`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from schedbench import data as datamod
from schedbench.config import validation_rows
from schedbench.schedules import Schedule, build_schedules, steps_per_epoch

HISTORY_COLUMNS = ("lr", "loss", "accuracy", "val_loss", "val_accuracy")
RUN_COLUMNS = ("dataset", "protocol", "schedule", "seed", "epoch", *HISTORY_COLUMNS, "diverged", "n_val")
PREDICTION_COLUMNS = ("dataset", "protocol", "schedule", "seed", "row", "label", "probability", "correct")

# Independent streams of one seed: initial weights and batch order never share draws
# (stratified_split keeps a stream of its own).
_WEIGHTS_STREAM, _ORDER_STREAM = 0, 1


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
    def steps_per_epoch(self) -> int:
        return steps_per_epoch(self.n_train, self.batch_size)

    def replicas(self) -> list[tuple[int, Schedule]]:
        """(seed position, schedule) of every run, seed-major: the order of JobResult's first axis."""
        return [(s, schedule) for s in range(len(self.seeds)) for schedule in self.schedules]


@dataclass
class JobResult:
    history: np.ndarray  # (K, epochs, 5): HISTORY_COLUMNS per run and epoch
    val_probability: np.ndarray  # (K, n_val): the final model's predicted P(label 1) per validation row


def initial_weights(seed: int, model: ModelSpec) -> tuple[np.ndarray, ...]:
    """Keras' 'normal' initializer (RandomNormal(0, stddev), untruncated) for both kernels, zero biases.

    Drawn with NumPy from the seed alone, so that both engines and every schedule start from the same
    weights; Keras' own draw would tie them to TensorFlow's RNG and to the order layers are built in.
    """
    rng = np.random.default_rng([seed, _WEIGHTS_STREAM])
    kernel1 = rng.normal(0.0, model.init_stddev, (model.features, model.hidden_units)).astype(np.float32)
    kernel2 = rng.normal(0.0, model.init_stddev, (model.hidden_units, 1)).astype(np.float32)
    return kernel1, np.zeros(model.hidden_units, np.float32), kernel2, np.zeros(1, np.float32)


def batch_permutations(seed: int, epochs: int, n_train: int) -> np.ndarray:
    """Positions into the training rows, one fresh permutation per epoch, as ``fit(shuffle=True)`` does."""
    rng = np.random.default_rng([seed, _ORDER_STREAM])
    return np.stack([rng.permutation(n_train) for _ in range(epochs)])


def split_rows(protocol: str, seed: int, y: np.ndarray, validation_fraction: float):
    if protocol == "tail":
        return datamod.tail_split(len(y), validation_fraction)
    n_val = validation_rows(len(y), validation_fraction)
    return datamod.stratified_split(y, n_val, seed)


def prepare_job(config: dict, dataset: str, protocol: str, seeds: list[int], data_path) -> JobInputs:
    spec = config["datasets"][dataset]
    x, y = datamod.load_dataset(data_path, features=spec["features"], labels=spec["labels"])
    training = config["training"]
    model = ModelSpec(features=spec["features"], **config["model"])
    train_rows, val_rows, batch_rows, weights = [], [], [], []
    for seed in seeds:
        train, val = split_rows(protocol, seed, y, config["validation_fraction"])
        train_rows.append(train)
        val_rows.append(val)
        batch_rows.append(train[batch_permutations(seed, training["epochs"], len(train))])
        weights.append(initial_weights(seed, model))
    return JobInputs(
        x=x,
        y=y,
        seeds=list(seeds),
        schedules=build_schedules(config["schedules"]),
        model=model,
        epochs=training["epochs"],
        batch_size=training["batch_size"],
        train_rows=np.stack(train_rows),
        val_rows=np.stack(val_rows),
        batch_rows=np.stack(batch_rows),
        initial_weights=weights,
        threads=training.get("threads", 1),
    )


def configure_tensorflow(threads: int) -> None:
    """Fix thread counts and op determinism before TensorFlow runs anything: reruns give the same bits."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # already initialised in this process (tests): the first setting stands
    tf.config.experimental.enable_op_determinism()


def run_engine(engine: str, inputs: JobInputs) -> JobResult:
    configure_tensorflow(inputs.threads)
    if engine == "keras":
        from schedbench.engines import keras_fit

        return keras_fit.train(inputs)
    from schedbench.engines import replica

    return replica.train(inputs)


def result_tables(inputs: JobInputs, result: JobResult, dataset: str, protocol: str, labels: list[str]):
    """runs (one row per schedule, seed, epoch) and predictions (one row per run and validation row)."""
    replicas = inputs.replicas()
    k, epochs = len(replicas), inputs.epochs
    seeds = np.array([inputs.seeds[s] for s, _ in replicas])
    names = np.array([schedule.name for _, schedule in replicas], dtype=object)
    history = result.history.copy()
    # Engines count correct examples in float32; k / n in float64 is the exact accuracy they stand for.
    history[:, :, 2] = np.round(history[:, :, 2] * inputs.n_train) / inputs.n_train
    history[:, :, 4] = np.round(history[:, :, 4] * inputs.n_val) / inputs.n_val
    non_finite = ~np.isfinite(history[:, :, 1])
    runs = pd.DataFrame(
        {
            "dataset": dataset,
            "protocol": protocol,
            "schedule": np.repeat(names, epochs),
            "seed": np.repeat(seeds, epochs),
            "epoch": np.tile(np.arange(1, epochs + 1), k),
            **{column: history[:, :, i].reshape(-1).astype(np.float64) for i, column in enumerate(HISTORY_COLUMNS)},
            # Once a loss is NaN or inf the run never recovers: every later epoch counts as diverged too.
            "diverged": np.maximum.accumulate(non_finite, axis=1).reshape(-1),
            "n_val": inputs.n_val,
        },
        columns=list(RUN_COLUMNS),
    )
    val_rows = np.stack([inputs.val_rows[s] for s, _ in replicas])
    label_of = np.asarray(labels, dtype=object)
    truth = inputs.y[val_rows].astype(np.int64)
    probability = result.val_probability.astype(np.float64)
    predictions = pd.DataFrame(
        {
            "dataset": dataset,
            "protocol": protocol,
            "schedule": np.repeat(names, inputs.n_val),
            "seed": np.repeat(seeds, inputs.n_val),
            "row": val_rows.reshape(-1) + 1,
            "label": label_of[truth.reshape(-1)],
            "probability": probability.reshape(-1),
            "correct": ((probability > 0.5).astype(np.int64) == truth).reshape(-1),
        },
        columns=list(PREDICTION_COLUMNS),
    )
    names = [schedule.name for schedule in inputs.schedules]
    return sort_rows(runs, names, [protocol]), sort_rows(predictions, names, [protocol])


def sort_rows(table: pd.DataFrame, schedules: list[str], protocols: list[str]) -> pd.DataFrame:
    """Protocols and schedules in config order, then seed, then epoch (runs) or row (predictions):
    the same table whichever way the seeds were split into jobs."""
    position = {
        "protocol": {name: i for i, name in enumerate(protocols)},
        "schedule": {name: i for i, name in enumerate(schedules)},
    }

    def key(column: pd.Series) -> pd.Series:
        return column.map(position[column.name]) if column.name in position else column

    last = "epoch" if "epoch" in table.columns else "row"
    return table.sort_values(["protocol", "schedule", "seed", last], kind="stable", key=key).reset_index(drop=True)

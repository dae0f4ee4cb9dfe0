"""Preparing a training job and turning its result into tables.

A job is one dataset, one evaluation protocol and a chunk of seeds, trained under every configured schedule
(see :mod:`schedbench.engines.spec` for the contract). Here the job's inputs are drawn from the seeds alone:
splits, batch orders and initial weights, so both engines and every schedule of a seed see the same ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schedbench import data as datamod
from schedbench.config import validation_rows
from schedbench.engines.spec import HISTORY_COLUMNS, JobInputs, JobResult, ModelSpec
from schedbench.schedules import build_schedules
from schedbench.tables import PREDICTION_COLUMNS, RUN_COLUMNS, sort_rows

# Independent streams of one seed: initial weights and batch order never share draws
# (stratified_split keeps a stream of its own).
_WEIGHTS_STREAM, _ORDER_STREAM = 0, 1


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


def prepare_job(settings: dict, protocol: str, seeds: list[int], data_path, threads: int = 1) -> JobInputs:
    """The inputs of one job; ``settings`` is :func:`schedbench.config.job_settings` of its dataset."""
    spec = settings["dataset"]
    x, y = datamod.load_dataset(data_path, features=spec["features"], labels=spec["labels"])
    training = settings["training"]
    model = ModelSpec(features=spec["features"], **settings["model"])
    train_rows, val_rows, batch_rows, weights = [], [], [], []
    for seed in seeds:
        train, val = split_rows(protocol, seed, y, settings["validation_fraction"])
        train_rows.append(train)
        val_rows.append(val)
        batch_rows.append(train[batch_permutations(seed, training["epochs"], len(train))])
        weights.append(initial_weights(seed, model))
    return JobInputs(
        x=x,
        y=y,
        seeds=list(seeds),
        schedules=build_schedules(settings["schedules"]),
        model=model,
        epochs=training["epochs"],
        batch_size=training["batch_size"],
        train_rows=np.stack(train_rows),
        val_rows=np.stack(val_rows),
        batch_rows=np.stack(batch_rows),
        initial_weights=weights,
        threads=threads,
    )


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

"""Preparing a training job and turning its result into tables.

A job is one study's dataset, one evaluation protocol and a chunk of seeds, trained under every schedule of the
study (see :mod:`schedbench.engines.spec` for the contract). Here the job's inputs are drawn from the seeds alone:
splits, batch orders and initial weights, so both engines and every schedule of a seed see the same ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schedbench import data as datamod
from schedbench.engines.spec import (
    HISTORY_COLUMNS,
    JobInputs,
    JobResult,
    LayerWeights,
    ModelSpec,
    OptimizerSpec,
    history_column,
)
from schedbench.protocols import PROTOCOLS
from schedbench.schedules import build_schedule
from schedbench.studies import OPTIMIZER, Variant, parameter_values, shown_settings
from schedbench.tables import PREDICTION_COLUMNS, declared_columns, sort_rows

# Independent streams of one seed: initial weights and batch order never share draws
# (stratified_split keeps a stream of its own).
_WEIGHTS_STREAM, _ORDER_STREAM = 0, 1


# Keras' HeNormal draws a normal truncated at 2 SD; this is the SD of the standard normal truncated so, by which
# Keras divides the target SD to keep the truncated draw's SD at sqrt(2 / fan_in).
_TRUNCATED_SD = 0.87962566103423978


def truncated_normal(rng: np.random.Generator, stddev: float, shape) -> np.ndarray:
    """N(0, stddev) with every value beyond 2 SD drawn again until it is within (Keras' TruncatedNormal)."""
    values = rng.normal(0.0, stddev, shape)
    outside = np.abs(values) > 2 * stddev
    while outside.any():
        values[outside] = rng.normal(0.0, stddev, int(outside.sum()))
        outside = np.abs(values) > 2 * stddev
    return values


def draw_kernel(rng: np.random.Generator, model: ModelSpec, shape, fan_in: int, fan_out: int) -> np.ndarray:
    """One kernel as Keras' initializer ``model.initializer`` draws it, in float64."""
    if model.initializer == "glorot_uniform":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, shape)
    if model.initializer == "he_normal":
        return truncated_normal(rng, np.sqrt(2.0 / fan_in) / _TRUNCATED_SD, shape)
    return rng.normal(0.0, model.init_stddev, shape)


def initial_weights(seed: int, model: ModelSpec) -> list[LayerWeights]:
    """Every kernel drawn as Keras' initializer ``model.initializer`` draws it ('normal': RandomNormal(0,
    init_stddev), untruncated; 'glorot_uniform'; 'he_normal'), the output layer's too, zero biases; one
    :class:`LayerWeights` per layer of ``model.layers``, the kernels drawn input side first from one stream.

    Drawn with NumPy from the seed alone, so that both engines and every schedule start from the same
    weights; Keras' own draw would tie them to TensorFlow's RNG and to the order layers are built in.
    """
    rng = np.random.default_rng([seed, _WEIGHTS_STREAM])
    return [LayerWeights(kernel=draw_kernel(rng, model, kernel, fan_in, fan_out).astype(np.float32),
                         bias=np.zeros(bias, np.float32))
            for (kernel, bias), (fan_in, fan_out) in zip(model.weight_shapes(), model.fans())]


def preprocess(x: np.ndarray, train: np.ndarray, how: str) -> np.ndarray:
    """The features one seed's model sees: as they are (``none``), or standardised with the mean and SD of that
    seed's training rows only (``standardize``), so nothing of the validation or test rows leaks into them; a
    feature constant on the training rows is centred, not scaled."""
    if how == "none":
        return x
    rows = x[train].astype(np.float64)
    mean, sd = rows.mean(axis=0), rows.std(axis=0)
    sd[sd == 0] = 1.0
    return ((x.astype(np.float64) - mean) / sd).astype(np.float32)


def batch_permutations(seed: int, epochs: int, n_train: int) -> np.ndarray:
    """Positions into the training rows, one fresh permutation per epoch, as ``fit(shuffle=True)`` does."""
    rng = np.random.default_rng([seed, _ORDER_STREAM])
    return np.stack([rng.permutation(n_train) for _ in range(epochs)])


def prepare_job(settings: dict, protocol: str, seeds: list[int], data_path, threads: int = 1,
                provenance=None) -> JobInputs:
    """The inputs of one job; ``settings`` is :meth:`schedbench.plan.Plan.job_settings` of its study and dataset.
    With ``provenance``, the download rule's record of ``data_path``, the file must still be the one it accepted,
    and the configured table (:func:`schedbench.data.load_accepted_dataset`); without, any table of the configured
    width is read (a test's copy of the bundled data)."""
    spec = settings["dataset"]
    if provenance is None:
        x, y = datamod.load_dataset(data_path, features=spec["features"], labels=spec["labels"])
    else:
        x, y = datamod.load_accepted_dataset(data_path, provenance, spec)
    training = settings["training"]
    model = ModelSpec.from_config(settings["model"], features=spec["features"], classes=len(spec["labels"]))
    protocol_spec = PROTOCOLS[protocol]
    sizes = protocol_spec.sizes(len(y), **settings["split"])
    parts, tables, batch_rows, weights = [], [], [], []
    for seed in seeds:
        train, val, test = protocol_spec.split(seed, y, sizes, settings["split"]["validation_fraction"])
        parts.append((train, val, test))
        tables.append(preprocess(x, train, spec["preprocessing"]))
        batch_rows.append(train[batch_permutations(seed, training["epochs"], len(train))])
        weights.append(initial_weights(seed, model))
    train_rows, val_rows, test_rows = (np.stack(part).astype(np.int64) for part in zip(*parts))
    return JobInputs(
        x=np.stack(tables),
        y=y,
        seeds=list(seeds),
        schedules=[build_schedule(name, entry) for name, _, entry in settings["variants"]],
        optimizers=[OptimizerSpec.from_config(entry["optimizer"]) for _, _, entry in settings["variants"]],
        model=model,
        epochs=training["epochs"],
        batch_size=training["batch_size"],
        train_rows=train_rows,
        val_rows=val_rows,
        test_rows=test_rows,
        batch_rows=np.stack(batch_rows),
        initial_weights=weights,
        threads=threads,
        jit_compile=training["jit_compile"],
        test_epochs=tuple(settings.get("test_epochs", ())),
    )


def optimizer_columns(settings: dict) -> list[str]:
    """The runs table's optimizer columns: ``optimizer`` (its name) and every parameter of the optimizers of the
    study's variants, in order of first appearance, less those among the varied parameters (their columns stand
    with the parameters already)."""
    names = ["optimizer"]
    for _, _, entry in settings["variants"]:
        names += [name for name in shown_settings({OPTIMIZER: entry[OPTIMIZER]}) if name not in names]
    return [name for name in names if name not in settings["parameters"]]


def result_tables(inputs: JobInputs, result: JobResult, settings: dict, dataset: str, protocol: str):
    """runs (one row per schedule, seed and epoch; the final model's test metrics on its last epoch's row, and on
    the rows of the job's ``test_epochs`` (the shorter budgets read from it), NaN on the others: a model is tested
    when it is done, for its budget; ``budget``, the fraction of the run the job trains; last, the optimizer's
    name and settings,
    :func:`optimizer_columns`) and predictions (one row per run and validation row). ``settings`` is the job's
    :meth:`schedbench.plan.Plan.job_settings`."""
    replicas = inputs.replicas()
    k, epochs = len(replicas), inputs.epochs
    seeds = np.array([inputs.seeds[s] for s, _ in replicas])
    names = np.array([schedule.name for _, schedule in replicas], dtype=object)
    entries = {name: (family, entry) for name, family, entry in settings["variants"]}
    history = result.history.copy()
    # Engines count correct examples in float32; k / n in float64 is the exact accuracy they stand for.
    for column, n in (("accuracy", inputs.n_train), ("val_accuracy", inputs.n_val),
                      ("val_accuracy_at_y", inputs.n_val)):
        history[:, :, history_column(column)] = np.round(history[:, :, history_column(column)] * n) / n
    test = np.full((k, epochs, 4), np.nan)
    if inputs.n_test:
        for at, metrics in ((0, result.test_metrics), (2, result.test_metrics_at_y)):
            test[:, -1, at : at + 2] = metrics
        for i, epoch in enumerate(inputs.test_epochs):  # the shorter budgets read from this run
            test[:, epoch - 1] = result.test_at_epochs[:, i]
        test[:, :, 1::2] = np.round(test[:, :, 1::2] * inputs.n_test) / inputs.n_test
    non_finite = ~np.isfinite(history[:, :, history_column("loss")])
    values = [parameter_values(Variant(n, *entries[n]), settings["parameters"]) for n in names]
    parameters = {
        name: np.repeat(np.array([v[name] for v in values], dtype=object), epochs) for name in settings["parameters"]
    }
    optimizer_names = optimizer_columns(settings)
    settings_of = {name: shown_settings({OPTIMIZER: entry[OPTIMIZER]}) for name, (_, entry) in entries.items()}
    optimizer_settings = {
        column: np.repeat(np.array([settings_of[n].get(column) for n in names], dtype=object), epochs)
        for column in optimizer_names
    }
    runs = pd.DataFrame(
        {
            "dataset": dataset,
            "protocol": protocol,
            "family": np.repeat(np.array([entries[n][0] for n in names], dtype=object), epochs),
            **parameters,
            "schedule": np.repeat(names, epochs),
            "seed": np.repeat(seeds, epochs),
            "budget": float(settings.get("budget", 1.0)),
            "epoch": np.tile(np.arange(1, epochs + 1), k),
            **{column: history[:, :, history_column(column)].reshape(-1).astype(np.float64)
               for column in HISTORY_COLUMNS},
            "test_loss": test[:, :, 0].reshape(-1),
            "test_accuracy": test[:, :, 1].reshape(-1),
            "test_loss_at_y": test[:, :, 2].reshape(-1),
            "test_accuracy_at_y": test[:, :, 3].reshape(-1),
            # Once a loss is NaN or inf the run never recovers: every later epoch counts as diverged too.
            "diverged": np.maximum.accumulate(non_finite, axis=1).reshape(-1),
            "n_val": inputs.n_val,
            "n_test": inputs.n_test,
            **optimizer_settings,
        },
        columns=list(declared_columns("runs", settings["parameters"], optimizer_names)),
    )
    val_rows = np.stack([inputs.val_rows[s] for s, _ in replicas])
    label_of = np.asarray(settings["dataset"]["labels"], dtype=object)
    truth = inputs.y[val_rows].astype(np.int64)
    probability = result.val_probability.astype(np.float64)
    if inputs.model.binary:
        predicted = (probability > 0.5).astype(np.int64)
    else:  # the class with the highest probability, and that probability
        predicted = np.argmax(probability, axis=2)
        probability = np.take_along_axis(probability, predicted[:, :, None], axis=2)[:, :, 0]
    predictions = pd.DataFrame(
        {
            "dataset": dataset,
            "protocol": protocol,
            "schedule": np.repeat(names, inputs.n_val),
            "seed": np.repeat(seeds, inputs.n_val),
            "budget": float(settings.get("budget", 1.0)),
            "row": val_rows.reshape(-1) + 1,
            "label": label_of[truth.reshape(-1)],
            "predicted": label_of[predicted.reshape(-1)],
            "probability": probability.reshape(-1),
            "correct": (predicted == truth).reshape(-1),
        },
        columns=list(PREDICTION_COLUMNS),
    )
    order = [schedule.name for schedule in inputs.schedules]
    return sort_rows(runs, order, [protocol]), sort_rows(predictions, order, [protocol])

"""The configuration's checks of each dataset against what its source and its model say, after the schema: what a
source can tell without a download (a file's rows, features and labels, a generator's), and whether each dataset's
resolved model can be built on its features. Part of :func:`schedbench.config.validate_config`."""

from __future__ import annotations

from schedbench.data import DataError
from schedbench.engines.spec import ModelError, ModelSpec
from schedbench.plan import ARCHITECTURE_KEYS, dataset_model, dataset_own_model
from schedbench.sources import file as file_source
from schedbench.sources import mnist1d as mnist1d_source


def derived_dataset_errors(config: dict) -> list[str]:
    """Fill in what the plan needs before anything runs and a source can tell without a download: ``rows``,
    ``features``, ``labels`` and ``table_sha256`` of a ``source: file`` dataset from its file, ``rows``, ``features``
    and ``labels`` (and the generator's defaults) of a ``source: mnist1d`` dataset from its generator settings; and
    check those the config gives against them. The problems."""
    errors = []
    for name, dataset in config["datasets"].items():
        if dataset.get("source") == "file":
            describe, origin = file_source.describe, f"{dataset.get('path')} has"
        elif dataset.get("source") == "mnist1d":
            dataset["generator"] = mnist1d_source.generator_settings(dataset)
            describe, origin = mnist1d_source.describe, "the generator settings give"
        else:
            continue
        try:
            found = describe(name, dataset)
        except DataError as err:
            errors.append(str(err))
            continue
        for key, value in found.items():
            given = dataset.setdefault(key, value)
            if (sorted(given) if key == "labels" else given) != value:
                errors.append(f"datasets.{name}.{key}: {given} is configured, but {origin} {value}")
    return errors


def model_errors(config: dict) -> list[str]:
    """Each model block sets hidden_units or layers, not both; every dataset's resolved model
    (:func:`schedbench.plan.dataset_model`) has one of them, and can be built on the dataset's features (a
    convolution after a dense layer, a kernel longer than its padded input or a residual layer narrower or wider
    than its input named by its layer and key)."""
    errors = []
    both = " and ".join(ARCHITECTURE_KEYS)
    blocks = [("model", config["model"])]
    for name, dataset in config["datasets"].items():
        own = dataset.get("model", {})
        blocks.append((f"datasets.{name}.model", own))
        if "hidden_units" in dataset.get("training", {}) and set(ARCHITECTURE_KEYS) & set(own):
            errors.append(f"datasets.{name}.training.hidden_units: the dataset's model block sets its layers "
                          f"already; set them in datasets.{name}.model only")
    for where, block in blocks:
        if set(ARCHITECTURE_KEYS) <= set(block):
            errors.append(f"{where}.layers: set together with {where}.hidden_units; a model has one or the other")
    if errors:
        return errors
    # The top-level model's problem on every dataset it is wrong for, said once.
    datasets_of: dict[str, list[str]] = {}
    for name, dataset in config["datasets"].items():
        model = dataset_model(config, name)
        if not set(ARCHITECTURE_KEYS) & set(model):
            errors.append(f"model: sets neither {both.replace(' and ', ' nor ')}, nor does datasets.{name}.model")
            continue
        if "features" not in dataset:
            continue
        where = f"datasets.{name}.model" if set(ARCHITECTURE_KEYS) & set(dataset_own_model(config, name)) else "model"
        try:
            ModelSpec.from_config(model, features=dataset["features"], classes=max(2, len(dataset.get("labels", ()))))
        except ModelError as error:
            place = where if error.layer is None else f"{where}.layers.{error.layer}.{error.key}"
            datasets_of.setdefault(f"{place}: {error.problem}", []).append(f"{name}, {dataset['features']} features")
    for error, names in datasets_of.items():
        errors.append(error if not error.startswith("model") else f"{error} (on datasets {'; '.join(names)})")
    return errors

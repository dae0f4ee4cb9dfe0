"""Loading and checking the workflow configuration.

The JSON schema in ``workflow/schemas/config.schema.yaml`` is the single definition of what a valid
config is. Errors name the offending key as a dotted path (``schedules.drop-decay.epochs_drop``).
Checks that a schema cannot express (a batch larger than the training set, a baseline that is not a
configured schedule) follow it here.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import jsonschema
import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""


def _key_path(path) -> str:
    return ".".join(str(part) for part in path) or "<top level>"


def load_schema(schema_path: str | Path = SCHEMA_PATH) -> dict:
    with open(schema_path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


# JSON Schema counts 1.0 as an integer; an epoch count of 1.0 would then break range() far downstream.
_StrictIntegers = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)


def schema_errors(config: dict, schema: dict) -> list[str]:
    """All schema violations, each as 'key.path: message', most relevant first."""
    validator = _StrictIntegers(schema)
    errors = sorted(validator.iter_errors(config), key=jsonschema.exceptions.relevance)
    messages = []
    for error in errors:
        # A failed if/then or oneOf reports its deepest cause; that is the one naming the key.
        leaf = jsonschema.exceptions.best_match([error]) if error.context else error
        where = _key_path(leaf.absolute_path)
        if leaf.validator == "additionalProperties" and "was unexpected" in leaf.message:
            extra = sorted(set(leaf.instance) - set(leaf.schema.get("properties", {})))
            where = ", ".join(f"{where}.{key}" if where != "<top level>" else key for key in extra)
            messages.append(f"{where}: unknown key")
        elif leaf.validator == "required":
            # One error per missing key; its message quotes the key.
            key = leaf.message.split("'")[1] if "'" in leaf.message else leaf.message
            prefix = "" if where == "<top level>" else f"{where}."
            messages.append(f"{prefix}{key}: required key is missing")
        else:
            messages.append(f"{where}: {leaf.message}")
    # JSON Schema's bounds let NaN through (every comparison with it is false); YAML spells it .nan.
    messages.extend(f"{_key_path(path)}: {value} is not a finite number" for path, value in _non_finite(config))
    # A failed $ref and the schema it points to report the same problem twice.
    return list(dict.fromkeys(messages))


def _non_finite(node, path=()):
    if isinstance(node, float) and not math.isfinite(node):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _non_finite(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _non_finite(value, (*path, index))


def seeds_of(training: dict) -> list[int]:
    seeds = training["seeds"]
    if isinstance(seeds, list):
        return list(seeds)
    start = seeds.get("start", 0)
    return list(range(start, start + seeds["count"]))


def seed_chunks(training: dict) -> list[list[int]]:
    seeds = seeds_of(training)
    size = training["seeds_per_job"]
    return [seeds[i : i + size] for i in range(0, len(seeds), size)]


def chunk_names(training: dict) -> list[str]:
    """Stable job names: the first and last seed of each chunk, e.g. 'seeds-0-24'."""
    return [f"seeds-{chunk[0]}-{chunk[-1]}" for chunk in seed_chunks(training)]


def chunk_seeds(training: dict, name: str) -> list[int]:
    for chunk_name, chunk in zip(chunk_names(training), seed_chunks(training)):
        if chunk_name == name:
            return chunk
    raise KeyError(f"no seed chunk named {name!r}")


def job_settings(config: dict, dataset: str) -> dict:
    """Everything a training job's numbers depend on, and nothing else: a change to any of it reruns the
    job (Snakemake's params trigger), a change elsewhere (a mirror URL, the thread count) does not."""
    return {
        "dataset": {key: value for key, value in config["datasets"][dataset].items() if key != "urls"},
        "validation_fraction": config["validation_fraction"],
        "model": config["model"],
        "training": {key: value for key, value in config["training"].items() if key != "threads"},
        "schedules": config["schedules"],
    }


def semantic_errors(config: dict) -> list[str]:
    errors = []
    training = config["training"]
    for name, dataset in config["datasets"].items():
        n_train = training_rows(dataset["rows"], config["validation_fraction"])
        if n_train < 1 or dataset["rows"] - n_train < 1:
            errors.append(
                f"validation_fraction: {config['validation_fraction']} leaves no training or no validation "
                f"rows of the {dataset['rows']} in datasets.{name}"
            )
        elif training["batch_size"] > n_train:
            errors.append(
                f"training.batch_size: {training['batch_size']} is larger than the {n_train} training rows "
                f"of datasets.{name}"
            )
    baseline = config["report"]["baseline"]
    if baseline not in config["schedules"]:
        errors.append(
            f"report.baseline: '{baseline}' is not a configured schedule "
            f"(schedules: {', '.join(config['schedules'])})"
        )
    for name in config["report"]["article"]:
        if name not in config["schedules"]:
            errors.append(f"report.article.{name}: not a configured schedule")
    for name, spec in config["schedules"].items():
        if spec["type"] == "cyclical" and spec["max_lr"] < spec["base_lr"]:
            errors.append(f"schedules.{name}.max_lr: {spec['max_lr']} is below base_lr {spec['base_lr']}")
        if spec["type"] == "piecewise" and len(spec["values"]) != len(spec["boundaries"]) + 1:
            errors.append(
                f"schedules.{name}.values: needs one more entry than boundaries "
                f"({len(spec['boundaries'])} boundaries, {len(spec['values'])} values)"
            )
        if spec["type"] == "piecewise" and spec["boundaries"] != sorted(set(spec["boundaries"])):
            errors.append(f"schedules.{name}.boundaries: must be strictly increasing")
        if spec["type"] == "cosine" and spec["warmup_steps"] > 0 and "warmup_target" not in spec:
            errors.append(f"schedules.{name}.warmup_target: required when warmup_steps > 0 (else no warm-up happens)")
    if not errors:
        errors.extend(_schedule_errors(config))
    return errors


def _schedule_errors(config: dict) -> list[str]:
    """Evaluate every schedule over the whole run now: a user's function that cannot be imported or gives
    no valid rate fails here, naming the schedule, not after the download in the middle of training."""
    from schedbench.schedules import ScheduleError, build_schedule

    errors = []
    for name, spec in config["schedules"].items():
        for dataset in config["datasets"]:
            try:
                build_schedule(name, spec).rates(config["training"]["epochs"], updates_per_epoch(config, dataset))
            except ScheduleError as error:
                errors.append(str(error))
                break
    return errors


def training_rows(rows: int, validation_fraction: float) -> int:
    """Number of training rows under Keras' ``validation_split``: floor(rows * (1 - s))."""
    return math.floor(rows * (1.0 - validation_fraction))


def validation_rows(rows: int, validation_fraction: float) -> int:
    """Number of validation rows under Keras' ``validation_split``: the rest, rows - floor(rows * (1 - s))."""
    return rows - training_rows(rows, validation_fraction)


def updates_per_epoch(config: dict, dataset: str) -> int:
    """Optimizer updates in one epoch of ``dataset``'s training rows (the last batch may be partial)."""
    from schedbench.schedules import steps_per_epoch

    rows = training_rows(config["datasets"][dataset]["rows"], config["validation_fraction"])
    return steps_per_epoch(rows, config["training"]["batch_size"])


def validate_config(config: dict, schema_path: str | Path = SCHEMA_PATH) -> dict:
    """Return a checked copy of ``config`` with the schema's defaults filled in, or raise ConfigError."""
    schema = load_schema(schema_path)
    config = copy.deepcopy(config)
    errors = schema_errors(config, schema)
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))
    # snakemake's validator is the one that fills the schema's defaults in.
    from snakemake.utils import validate

    validate(config, str(schema_path), set_default=True)
    errors = semantic_errors(config)
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))
    return config


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that rejects a key given twice in one mapping (PyYAML keeps the last silently)."""


def _construct_unique_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(f"{key}: duplicate key in {node.start_mark.name}, line {key_node.start_mark.line + 1}")
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def read_yaml_strict(path: str | Path) -> dict:
    """Parse a YAML file, refusing duplicate keys (two schedules of one name would silently become one)."""
    with open(path, encoding="utf-8") as handle:
        try:
            return yaml.load(handle, Loader=_StrictLoader) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML: {error}") from None


def load_config(path: str | Path) -> dict:
    return validate_config(read_yaml_strict(path))

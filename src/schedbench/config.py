"""Loading and checking the workflow configuration.

The JSON schema in ``schemas/config.schema.yaml`` of this package (``workflow/schemas/config.schema.yaml`` links to it,
where Snakemake workflows keep theirs) is the single definition of what a valid
config is. Errors name the offending key as a dotted path (``schedules.drop-decay.epochs_drop``).
Checks that a schema cannot express (a batch larger than the training set, a baseline that is not a
configured schedule) follow it here.
"""

from __future__ import annotations

import copy
import functools
import math
from pathlib import Path

import jsonschema
import yaml
from snakemake.utils import validate

from schedbench import studies
from schedbench.budgets import budget_epochs
from schedbench.config_datasets import derived_dataset_errors, model_errors
from schedbench.plan import (
    dataset_split_sizes,
    dataset_training,
    updates_per_epoch,
)
from schedbench.protocols import PROTOCOLS
from schedbench.schedules import ScheduleError, build_schedule
from schedbench.schedules.formulas import cooldown_steps

# Package data, so that an installed (not editable) schedbench validates a config too.
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""


def _key_path(path) -> str:
    return ".".join(str(part) for part in path) or "<top level>"


@functools.lru_cache(maxsize=None)
def _parsed_schema(schema_path: str) -> dict:
    with open(schema_path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_schema(schema_path: str | Path = SCHEMA_PATH) -> dict:
    """The schema, parsed once per process (parsing it was a third of a config check); a copy each time, so that
    no caller's changes reach another."""
    return copy.deepcopy(_parsed_schema(str(schema_path)))


# JSON Schema counts 1.0 as an integer; an epoch count of 1.0 would then break range() far downstream.
_StrictIntegers = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)


def _filling_defaults(validator_class):
    """The validator, also writing each property's schema default into the instance where the key is missing
    (what snakemake.utils.validate does for the whole config; here for one schedule entry at a time)."""
    check_properties = validator_class.VALIDATORS["properties"]

    def properties(validator, declared, instance, schema):
        if isinstance(instance, dict):
            for key, subschema in declared.items():
                if "default" in subschema:
                    instance.setdefault(key, copy.deepcopy(subschema["default"]))
        yield from check_properties(validator, declared, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": properties})


_FillingDefaults = _filling_defaults(_StrictIntegers)


def schema_errors(config: dict, schema: dict, prefix: str = "", fill_defaults: bool = False) -> list[str]:
    """All schema violations, each as 'key.path: message', most relevant first; ``prefix`` is the key path of
    ``config`` within the whole configuration."""
    parts = tuple(prefix.split(".")) if prefix else ()
    return list(dict.fromkeys(f"{_key_path((*parts, *path))}: {problem}"
                              for path, problem in schema_problems(config, schema, fill_defaults)))


def schema_problems(config: dict, schema: dict, fill_defaults: bool = False) -> list[tuple[tuple, str]]:
    """All schema violations, most relevant first, each as (the key path within ``config`` it is about, what is
    wrong)."""
    validator = (_FillingDefaults if fill_defaults else _StrictIntegers)(schema)
    errors = sorted(validator.iter_errors(config), key=jsonschema.exceptions.relevance)
    problems = []
    for error in errors:
        # A failed if/then or oneOf reports its deepest cause; that is the one naming the key.
        leaf = jsonschema.exceptions.best_match([error]) if error.context else error
        path = tuple(leaf.absolute_path)
        if leaf.validator == "additionalProperties" and "was unexpected" in leaf.message:
            known = leaf.schema.get("properties", {})
            extra = sorted(set(leaf.instance) - set(known))
            problems += [((*path, key), _unknown_key(path, leaf.instance, known)) for key in extra]
        elif leaf.validator == "not" and leaf.validator_value == {}:
            # A key that does not apply where it stands; its schema's description says why.
            problems.append((path, f"not allowed: {leaf.schema.get('description', 'this key does not apply here')}"))
        elif leaf.validator == "required":
            # One error per missing key; its message quotes the key.
            key = leaf.message.split("'")[1] if "'" in leaf.message else leaf.message
            problems.append(((*path, key), "required key is missing"))
        else:
            problems.append((path, leaf.message))
    # JSON Schema's bounds let NaN through (every comparison with it is false); YAML spells it .nan.
    problems += [(path, f"{value} is not a finite number") for path, value in _non_finite(config)]
    # A failed $ref and the schema it points to report the same problem twice.
    return list(dict.fromkeys(problems))


def _unknown_key(path: tuple, block: dict, known) -> str:
    """What an unexpected key is: within an optimizer block, a parameter its optimizer does not take (naming both
    and the ones it does take); elsewhere, an unknown key."""
    if path[-1:] == (studies.OPTIMIZER,) and "name" in known:
        parameters = ", ".join(key for key in known if key != "name") or "none"
        return f"not a parameter of optimizer {block.get('name', 'sgd')} (its parameters: {parameters})"
    return "unknown key"


def _non_finite(node, path=()):
    if isinstance(node, float) and not math.isfinite(node):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _non_finite(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _non_finite(value, (*path, index))


def semantic_errors(config: dict) -> list[str]:
    errors = []
    used = {(name, protocol) for study in config["studies"].values()
            for name in study["datasets"] if name in config["datasets"] for protocol in study["protocols"]}
    for name, dataset in config["datasets"].items():
        for protocol in sorted(p for d, p in used if d == name):
            n_train, n_val, n_test = dataset_split_sizes(config, name, protocol)
            if min(n_train, n_val) < 1 or (PROTOCOLS[protocol].has_test_rows and n_test < 1):
                errors.append(
                    f"validation_fraction/test_fraction: {config['validation_fraction']}/{config['test_fraction']} "
                    f"leave an empty part of the {dataset['rows']} rows of datasets.{name}{_file_of(dataset)} under "
                    f"{protocol} ({n_train} training, {n_val} validation, {n_test} test)"
                )
            elif dataset_training(config, name)["batch_size"] > n_train:
                errors.append(
                    f"training.batch_size: {dataset_training(config, name)['batch_size']} is larger than the "
                    f"{n_train} training rows of datasets.{name} under {protocol}"
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
    if {"suite", "report", "budgets"} & set(config["datasets"]):
        errors.append("datasets: 'suite', 'report' and 'budgets' name the workflow's own outputs "
                      "(results/<study>/suite, reports/report.html, results/<study>/budgets); choose another dataset "
                      "name")
    for study in config["studies"]:
        if study in RESERVED_TARGETS or study.startswith("figures_"):
            errors.append(f"studies.{study}: the name is taken by a workflow rule "
                          f"({', '.join(sorted(RESERVED_TARGETS))}, figures_<study>)")
    if errors:
        return errors
    errors.extend(studies.study_errors(config))
    if errors:
        return errors
    for study in config["studies"]:
        for variant in studies.variants(config, study):
            errors.extend(f"{_key_path(_place(config, study, variant.family, variant.spec, path))}: {problem}"
                          for path, problem in _entry_problems(variant.spec))
    if not errors:
        errors.extend(_schedule_errors(config))
    return list(dict.fromkeys(errors))


# Study names become target rules (snakemake --cores 4 <study>); these are the workflow's own.
RESERVED_TARGETS = frozenset({"all", "download", "train", "aggregate", "statistics", "tuning_statistics",
                              "sensitivity_figure", "suite", "report"})


def _entry_problems(spec: dict) -> list[tuple[tuple, str]]:
    """What the schema cannot see wrong with a variant, each as (the key path within ``spec``, what is wrong)."""
    problems = []
    if spec["type"] == "cyclical" and spec["max_lr"] < spec["base_lr"]:
        problems.append((("max_lr",), f"{spec['max_lr']} is below base_lr {spec['base_lr']}"))
    if spec["type"] == "piecewise" and len(spec["values"]) != len(spec["boundaries"]) + 1:
        problems.append((("values",), f"needs one more entry than boundaries ({len(spec['boundaries'])} "
                                      f"boundaries, {len(spec['values'])} values)"))
    if spec["type"] == "piecewise" and spec["boundaries"] != sorted(set(spec["boundaries"])):
        problems.append((("boundaries",), "must be strictly increasing"))
    if spec["type"] == "warmup_stable_decay" and "total_steps" in spec:
        cooldown = cooldown_steps(spec["decay_fraction"], spec["total_steps"])
        if spec["warmup_steps"] + cooldown > spec["total_steps"]:
            problems.append((("warmup_steps",), f"{spec['warmup_steps']} and the cooldown's {cooldown} (decay_fraction "
                                                f"{spec['decay_fraction']} of total_steps) exceed total_steps "
                                                f"{spec['total_steps']}"))
    return problems


def _schedule_errors(config: dict) -> list[str]:
    """Evaluate every schedule a study trains (each variant, the study's overrides and grid applied) over the whole
    run now, on every dataset and protocol of the study: a user's function that cannot be imported or gives no valid
    rate fails here, naming the schedule, not after the download in the middle of training. A user's function is
    evaluated on every run in use even where no study trains it (whether it imports and gives rates is the code's,
    not a study's); a formula no study trains is not, since no run length can be wrong for it (a short test run
    keeps the catalogue's long-warmup entries)."""
    checks, in_use, trained = [], [], set()
    for study, settings in config["studies"].items():
        # A study with budgets trains runs of each budget's length too: a warm-up may not fit the shortest.
        runs = [(dataset, protocol, epochs) for dataset in settings["datasets"] for protocol in settings["protocols"]
                for epochs in budget_epochs(config, study, dataset)]
        in_use += runs
        trained.update(settings["schedules"])
        checks += [(variant.name, variant.spec, runs) for variant in studies.variants(config, study)]
    checks += [(family, spec, in_use) for family, entry in config["schedules"].items()
               if family not in trained and entry["type"] == "custom" for spec in studies.expand(entry)]
    errors, checked = [], set()
    for name, spec, where in checks:
        for dataset, protocol, epochs in dict.fromkeys(where):
            key = (studies.identity(spec), updates_per_epoch(config, dataset, protocol), epochs)
            if key in checked:
                continue
            checked.add(key)
            try:
                build_schedule(name, spec).rates(epochs, key[1])
            except ScheduleError as error:
                errors.append(f"{error} (a run of {epochs} epochs on datasets.{dataset})")
                break
    return list(dict.fromkeys(errors))


def _grid_errors(config: dict, schema: dict) -> list[str]:
    """Check every variant a family or a study's grid can give against the schedule schema, and fill the schema's
    defaults into the catalogue entries (lists stay lists)."""
    schedule_schema = {"$defs": schema["$defs"], "$ref": "#/$defs/schedule"}
    errors = _moved_optimizer_errors(config, schema)
    if errors:
        return errors
    for family, entry in config["schedules"].items():
        for key, value in studies.grids(entry):
            if not value or len(set(map(studies.value_text, value))) < len(value):
                errors.append(f"schedules.{family}.{key}: a grid needs distinct values, got {value}")
        for spec in studies.expand(entry):
            errors.extend(f"{_key_path(_place(config, None, family, spec, path))}: {problem}"
                          for path, problem in schema_problems(spec, schedule_schema, fill_defaults=True))
            for key, value in spec.items():
                if key == studies.OPTIMIZER and isinstance(value, dict) and isinstance(entry.get(key), dict):
                    for parameter, setting in value.items():
                        entry[key].setdefault(parameter, setting)
                else:
                    entry.setdefault(key, copy.deepcopy(value))
    catalogue_errors = set(errors)
    for study, settings in config["studies"].items():
        for family in settings["schedules"]:
            if family in config["schedules"]:
                for spec in studies.expand(studies.family_entry(config, study, family)):
                    for path, problem in schema_problems(spec, schedule_schema):
                        place = _place(config, study, family, spec, path)
                        error = f"{_key_path(place)}: {problem}"
                        # What the catalogue entry gets wrong is said once, not again for every study that uses it.
                        if place[0] != "schedules":
                            errors.append(error)
                        elif error not in catalogue_errors:
                            errors.append(f"{error} (as studies.{study} sets it)")
    # A bad grid value is one error, however many families and variants it reaches.
    return list(dict.fromkeys(errors))


def _place(config: dict, study: str | None, family: str, spec: dict, path: tuple) -> tuple:
    """The key path in the config that sets what ``path`` of a variant's ``spec`` is about: the study's grid, its
    override of the family, or the family's catalogue entry (``study`` None: the catalogue alone), whichever
    :func:`studies.family_entry` took it from; down to the value's index where that setting is a grid."""
    if not path:  # about the entry as a whole
        return ("schedules", family)
    depth = 2 if path[:1] == (studies.OPTIMIZER,) and len(path) > 1 else 1
    setting, rest = path[:depth], path[depth:]
    override = config["studies"][study].get("overrides", {}).get(family, {}) if study else {}
    if study and setting in {laid for laid, _ in studies.laid_grid(config, study, family)}:
        place = ("studies", study, "grid", *setting)
    elif _lookup(override, setting) is not _MISSING:
        place = ("studies", study, "overrides", family, *setting)
    else:
        place = ("schedules", family, *setting)
    source, value = _lookup(config, place), _lookup(spec, setting)
    if isinstance(source, list) and not isinstance(value, list) and value in source:
        place = (*place, source.index(value))  # a grid's value: the variant holds one of the list's
    return (*place, *rest)


_MISSING = object()


def _lookup(node, path: tuple):
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


def _moved_optimizer_errors(config: dict, schema: dict) -> list[str]:
    """An optimizer parameter set beside the formula (where momentum and nesterov once were), named with the place
    it now goes: its family's, override's or grid's optimizer block."""
    optimizer = schema["$defs"]["optimizer"]
    parameters = {key for branch in optimizer.get("allOf", []) for key in branch["then"].get("properties", {})}
    parameters.discard("name")
    # A name that is also a formula's parameter (warmup_steps) beside the formula is the formula's: the schedule
    # branches judge it.
    parameters -= {key for branch in schema["$defs"]["schedule"].get("allOf", [])
                   for key in branch["then"].get("properties", {})}
    places = [(f"schedules.{family}", entry) for family, entry in config["schedules"].items()]
    for study, settings in config["studies"].items():
        places += [(f"studies.{study}.overrides.{family}", entry)
                   for family, entry in settings.get("overrides", {}).items()]
        places.append((f"studies.{study}.grid", settings.get("grid", {})))
    return [f"{where}.{key}: moved to {where}.optimizer.{key}"
            for where, entry in places for key in entry if key in parameters]


def validate_config(config: dict, schema_path: str | Path = SCHEMA_PATH) -> dict:
    """Return a checked copy of ``config`` with the schema's defaults filled in, or raise ConfigError."""
    schema = load_schema(schema_path)
    config = copy.deepcopy(config)
    errors = schema_errors(config, schema)
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))
    band_set = {"equivalence_examples", "equivalence_points"} & set(config["report"])
    if len(band_set) == 2:
        raise ConfigError("invalid configuration:\n  report.equivalence_examples and report.equivalence_points: the "
                          "equivalence band is set twice; set it in examples or in points, not both")
    band_in_points = band_set == {"equivalence_points"}
    # snakemake's validator is the one that fills the schema's defaults in.
    validate(config, str(schema_path), set_default=True)
    for study in config["studies"].values():
        study.setdefault("datasets", list(config["datasets"]))
    if band_in_points:  # the schema's default band in examples gives way to the band set in points
        del config["report"]["equivalence_examples"]
    errors = (_grid_errors(config, schema) or derived_dataset_errors(config) or model_errors(config)
              or semantic_errors(config))
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))
    return config


def _file_of(dataset: dict) -> str:
    return f" (file {dataset['path']})" if dataset.get("source") == "file" else ""

"""Studies: which runs a question needs, spelled out from the config.

A *study* (``config.yaml``'s ``studies``) names its datasets, protocols, seeds and schedule *families*: entries of
the ``schedules`` catalogue. A family whose parameters hold lists, or a study with a ``grid``, expands into one
*variant* per combination (the cartesian product, first parameter slowest); every variant is one schedule of the
training jobs, named ``<family>`` when its family has one variant and ``<family> lr0=0.3 momentum=0.9`` (the
family's varied parameters, in the entry's order) otherwise.

An entry's ``optimizer`` block (``{name: sgd, momentum: 0.9, nesterov: false}``) holds the optimizer's settings;
its parameters may be grids too (``optimizer: {momentum: [0.0, 0.9]}``, and a study's ``grid`` mirrors that:
``grid: {lr0: [...], optimizer: {momentum: [...]}}``). Names, varied parameters and table columns show an
optimizer parameter by its own name (``momentum``), at the block's place in the entry, the optimizer's name as
``optimizer``: :func:`shown_settings` is that flat view of a variant.

A study without a grid compares schedules as configured, and adds *controls* (``controls: true``): for every
schedule whose optimizer settings differ from the baseline's, the baseline's formula trained with that
schedule's optimizer, so that a gain can be split into the optimizer's part and the schedule's. A study with a grid is a *tuning* study: it must hold out test rows (protocol ``heldout``), every
family gets the same number of variants, and its grid holds its own controls.

Everything here works on the validated config's plain data and imports nothing heavy: the workflow calls it
while it is parsed.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

from schedbench import protocols
from schedbench.budgets import dataset_epochs, epochs_of_budget

# Parameters whose value is a list by nature (piecewise's boundaries and values): a list there is the value, not a
# grid. Neither the formula's type nor a user's function can be a grid either.
LIST_VALUED = frozenset({"boundaries", "values", "kwargs"})
NOT_GRIDDED = frozenset({"type", "function"}) | LIST_VALUED
# The entry's block of optimizer settings; its "name" (shown as "optimizer") cannot be a grid.
OPTIMIZER = "optimizer"
# How a tuning study picks each family's variant on each seed (schedbench.stats.studies.select_tuned applies it).
SELECTION_RULE = (
    "For each family and seed, the variant with the most correct validation examples at the final epoch is "
    "chosen; ties go to the lower final validation loss (a non-finite loss counting as the worst), then to the "
    "smaller lr0, then to the variant listed first in the config."
)


@dataclass(frozen=True)
class Variant:
    """One schedule of a study's training jobs: its name, its family, and its scalar config entry."""

    name: str
    family: str
    spec: dict = field(hash=False, compare=False)
    control: bool = False  # added as the control of schedules whose optimizer settings differ from the baseline's


def is_grid(key: str, value) -> bool:
    return key not in NOT_GRIDDED and isinstance(value, list)


def _paths(entry: dict):
    """(path, shown name, value) of every setting of an entry in its order, the optimizer block's in its place:
    ``("lr0",)``, ``("optimizer", "name")`` shown as ``optimizer``, ``("optimizer", "momentum")`` as ``momentum``."""
    for key, value in entry.items():
        if key == OPTIMIZER and isinstance(value, dict):
            for parameter, setting in value.items():
                yield (key, parameter), (OPTIMIZER if parameter == "name" else parameter), setting
        else:
            yield (key,), key, value


def _path_is_grid(path: tuple, value) -> bool:
    return path != (OPTIMIZER, "name") and is_grid(path[-1], value)


def grids(entry: dict) -> list[tuple[str, list]]:
    """(dotted key within the entry, values) of every grid of an entry: ``lr0``, ``optimizer.momentum``."""
    return [(".".join(path), value) for path, _, value in _paths(entry) if _path_is_grid(path, value)]


def shown_settings(spec: dict) -> dict:
    """A variant's settings by the names its variant name and the tables' parameter columns show them."""
    return {shown: value for _, shown, value in _paths(spec)}


def _with(entry: dict, path: tuple, value) -> dict:
    """``entry`` with the setting at ``path`` replaced (the optimizer block copied, never shared)."""
    if len(path) == 1:
        return {**entry, path[0]: value}
    return {**entry, path[0]: {**entry[path[0]], path[1]: value}}


def overridden_entry(config: dict, study: str, family: str) -> dict:
    """The family's catalogue entry with the study's overrides of it (an overridden optimizer block merged into the
    entry's)."""
    entry = dict(config["schedules"][family])
    for key, value in config["studies"][study].get("overrides", {}).get(family, {}).items():
        entry[key] = {**entry.get(key, {}), **value} if key == OPTIMIZER else value
    return entry


def laid_grid(config: dict, study: str, family: str) -> list[tuple[tuple, list]]:
    """(path within the entry, values) of each of the study's grid settings that :func:`family_entry` lays over the
    family: those its overridden entry has (a grid key the family lacks is refused by :func:`study_errors`)."""
    entry = overridden_entry(config, study, family)
    laid = []
    for key, values in config["studies"][study].get("grid", {}).items():
        if key == OPTIMIZER:
            laid += [((OPTIMIZER, parameter), options) for parameter, options in values.items()
                     if parameter in entry.get(OPTIMIZER, {}) and parameter != "name"]
        elif key in entry and key not in NOT_GRIDDED:  # a grid of those is refused (study_errors)
            laid.append(((key,), values))
    return laid


def family_entry(config: dict, study: str, family: str) -> dict:
    """The family's entry as the study trains it: :func:`overridden_entry`, with the study's grid laid over it."""
    entry = overridden_entry(config, study, family)
    for path, values in laid_grid(config, study, family):
        entry = _with(entry, path, list(values))
    return entry


def expand(entry: dict) -> list[dict]:
    """Every scalar entry of a family, one per combination of its list-valued parameters (the optimizer block's
    included), the first in the entry's order slowest."""
    paths = [(path, value) for path, _, value in _paths(entry) if _path_is_grid(path, value)]
    out = []
    for values in itertools.product(*(value for _, value in paths)):
        spec = entry
        for (path, _), value in zip(paths, values):
            spec = _with(spec, path, value)
        out.append(spec)
    return out


def varied(entry: dict) -> list[str]:
    """The parameters a family varies over, by their shown names: those given as lists of more than one value."""
    return [shown for path, shown, value in _paths(entry) if _path_is_grid(path, value) and len(value) > 1]


def value_text(value) -> str:
    """A parameter value as the variant names show it: shortest round-tripping float, true/false, as is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _named(family: str, spec: dict, keys: list[str]) -> str:
    shown = shown_settings(spec)
    return " ".join([family, *(f"{key}={value_text(shown[key])}" for key in keys)])


def _normal(value):
    """1 and 1.0 alike, within the optimizer block too."""
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items()}
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def identity(spec: dict) -> str:
    """What makes two variants the same training run: the scalar entry, with 1 and 1.0 alike, and SGD's nesterov
    meaningless without momentum (its update is the same either way)."""
    normal = _normal(spec)
    optimizer = normal.get(OPTIMIZER, {})
    if optimizer.get("name", "sgd") == "sgd" and not optimizer.get("momentum"):
        normal[OPTIMIZER] = {**optimizer, "nesterov": False}
    return json.dumps(normal, sort_keys=True, default=str)


def has_grid(config: dict, study: str) -> bool:
    return any(varied(family_entry(config, study, family)) for family in config["studies"][study]["schedules"])


def family_variants(config: dict, study: str) -> list[Variant]:
    """The study's families expanded, in study order (no controls)."""
    out = []
    for family in config["studies"][study]["schedules"]:
        entry = family_entry(config, study, family)
        keys = varied(entry)
        for spec in expand(entry):
            out.append(Variant(_named(family, spec, keys) if keys else family, family, spec))
    return out


def variants(config: dict, study: str) -> list[Variant]:
    """Every schedule the study's jobs train: the families' variants, then the controls they need.

    A control already among the variants (a family that is the baseline's formula with those optimizer settings)
    is not trained twice: the attribution uses that variant.
    """
    out = family_variants(config, study)
    if not needs_controls(config, study):
        return out
    known = {identity(v.spec) for v in out}
    for variant in out[:]:
        control = _control(config, study, variant)
        if control is not None and identity(control.spec) not in known:
            known.add(identity(control.spec))
            out.append(control)
    return out


def needs_controls(config: dict, study: str) -> bool:
    settings = config["studies"][study]
    return (settings["controls"] and not has_grid(config, study)
            and config["report"]["baseline"] in settings["schedules"])


def _control(config: dict, study: str, variant: Variant) -> Variant | None:
    """The baseline's formula, as this study trains it, with the variant's optimizer; None where they agree."""
    baseline = config["report"]["baseline"]
    base = family_entry(config, study, baseline)
    mine = shown_settings({OPTIMIZER: variant.spec[OPTIMIZER]})
    theirs = shown_settings({OPTIMIZER: base[OPTIMIZER]})
    # Sorted, so that a control's name does not depend on the order a config file lists the settings in.
    differing = sorted(key for key, value in mine.items() if key not in theirs or value != theirs[key])
    if variant.family == baseline or not differing:
        return None
    spec = {**base, OPTIMIZER: dict(variant.spec[OPTIMIZER])}
    return Variant(_named(baseline, spec, differing), baseline, spec, control=True)


def attributions(config: dict, study: str) -> list[tuple[str, str]]:
    """(schedule, its control) for every variant outside the baseline's family; the control is the baseline
    itself where the optimizer settings agree. Empty for a study without controls. A tuning study's pairs are of
    families: :func:`tuned_attributions`."""
    if has_grid(config, study):
        return tuned_attributions(config, study)
    if not needs_controls(config, study):
        return []
    baseline = config["report"]["baseline"]
    by_identity = {identity(v.spec): v.name for v in variants(config, study)}
    pairs = []
    for variant in family_variants(config, study):
        if variant.family == baseline:
            continue
        control = _control(config, study, variant)
        pairs.append((variant.name, baseline if control is None else by_identity[identity(control.spec)]))
    return pairs


def _tuned_identity(block: dict) -> str:
    """A family's settings as tuning sees them: a tuned (list-valued) setting stands for its name alone, so that two
    families tuned over different grids of lr0 share a formula when everything else agrees."""
    return identity({key: "<tuned>" if is_grid(key, value) else value for key, value in block.items()})


def tuned_attributions(config: dict, study: str) -> list[tuple[str, str]]:
    """(family, its control family) of a tuning study whose families pair schedules with optimizers: the control of
    a family is the study's family with the baseline's formula and the family's optimizer (its name and untuned
    settings), so that the tuned family's gain over the tuned baseline splits into the optimizer's part (control -
    baseline) and the schedule's (family - control). A family with the baseline's optimizer is its schedule's part
    entirely (control: the baseline), a control family its optimizer's (control: itself); a family whose control the
    study lacks is left out. Empty when every
    family has the baseline's optimizer: then there is nothing to split."""
    baseline = config["report"]["baseline"]
    families = config["studies"][study]["schedules"]
    entries = {family: family_entry(config, study, family) for family in families}

    def formula(family: str) -> str:
        return _tuned_identity({k: v for k, v in entries[family].items() if k != OPTIMIZER})

    def optimizer(family: str) -> str:
        return _tuned_identity(entries[family].get(OPTIMIZER, {}))

    if all(optimizer(family) == optimizer(baseline) for family in families):
        return []
    controls = {optimizer(family): family for family in families if formula(family) == formula(baseline)}
    pairs = []
    for family in families:
        control = controls.get(optimizer(family))
        if family != baseline and control is not None:  # a control family is its own control: all optimizer
            pairs.append((family, control))
    return pairs


def parameters(config: dict, study: str) -> list[str]:
    """The study's varied parameters (the tables' parameter columns): every parameter that takes more than one
    value within a family, controls included, in order of first appearance."""
    by_family: dict[str, list[Variant]] = {}
    for variant in variants(config, study):
        by_family.setdefault(variant.family, []).append(variant)
    names: list[str] = []
    for members in by_family.values():
        shown = [shown_settings(m.spec) for m in members]
        for key in shown[0]:
            if key not in names and len({value_text(s.get(key)) for s in shown}) > 1:
                names.append(key)
    return names


def parameter_values(variant: Variant, names) -> dict:
    """The variant's value of each varied parameter; None where its formula has no such parameter."""
    shown = shown_settings(variant.spec)
    return {name: shown.get(name) for name in names}


def _budget_errors(config: dict, study: str, settings: dict) -> list[str]:
    where = f"studies.{study}.budgets"
    budgets = settings["budgets"]
    if budgets == [1.0]:
        return []
    errors = []
    if not has_grid(config, study):
        errors.append(f"{where}: a study with budgets tunes every family at each budget, so it needs a grid "
                      "(studies.<name>.grid, or a family with a list of lr0)")
    if budgets != sorted(budgets) or budgets[-1] != 1:
        errors.append(f"{where}: {budgets} must ascend and end with 1.0, the full run (the run the budgets that "
                      "need no retraining are read from)")
    for dataset in settings["datasets"]:
        epochs = dataset_epochs(config, dataset)
        by_epochs: dict[int, list[float]] = {}
        for budget in budgets:
            by_epochs.setdefault(epochs_of_budget(budget, epochs), []).append(budget)
        errors += [f"{where}: {' and '.join(f'{b:g}' for b in same)} are all {n} epoch{'s' if n > 1 else ''} of the "
                   f"{epochs} of datasets.{dataset} (each budget's epochs are its fraction rounded half up, at least "
                   f"1); give budgets that differ by at least an epoch, or train for more epochs"
                   for n, same in by_epochs.items() if len(same) > 1]
    return errors


def study_errors(config: dict) -> list[str]:
    """What a study asks for that cannot be run or would not be fair, each naming the key."""
    errors = []
    baseline = config["report"]["baseline"]
    for study, settings in config["studies"].items():
        errors.extend(_one_study_errors(config, study, settings, baseline))
    return errors


def _one_study_errors(config: dict, study: str, settings: dict, baseline: str) -> list[str]:
    """One study's errors; later checks need the earlier ones passed (known names, then a valid grid)."""
    where = f"studies.{study}"
    errors = []
    for key in ("datasets", "schedules"):
        unknown = [name for name in settings[key] if name not in config[key]]
        if unknown:
            errors.append(f"{where}.{key}: {', '.join(map(str, unknown))} not configured under {key}")
    # One line each, so that each is located where it is set (often config.yaml, under a user's narrower study).
    errors += [f"{where}.overrides.{name}: not among the study's schedules ({', '.join(settings['schedules'])}); "
               f"to drop an override inherited from an earlier config file, set it to null ({name}: null)"
               for name in settings.get("overrides", {}) if name not in settings["schedules"]]
    if errors:
        return errors
    for key, values in settings.get("grid", {}).items():
        if key == OPTIMIZER:
            for parameter in values:
                lacking = [family for family in settings["schedules"]
                           if parameter not in config["schedules"][family].get(OPTIMIZER, {})]
                if parameter == "name":
                    errors.append(f"{where}.grid.{key}.name: cannot be a grid")
                elif lacking:
                    errors.append(f"{where}.grid.{key}.{parameter}: the optimizer of schedule(s) "
                                  f"{', '.join(lacking)} has no parameter {parameter}")
            continue
        lacking = [family for family in settings["schedules"] if key not in config["schedules"][family]]
        if key in NOT_GRIDDED:
            errors.append(f"{where}.grid.{key}: cannot be a grid")
        elif lacking:
            errors.append(f"{where}.grid.{key}: schedule(s) {', '.join(lacking)} have no parameter {key}")
    if baseline not in settings["schedules"]:
        errors.append(f"{where}.schedules: must include the baseline '{baseline}' (report.baseline)")
    if errors:
        return errors
    seen: dict[str, str] = {}
    for variant in family_variants(config, study):
        first = seen.setdefault(identity(variant.spec), variant.name)
        if first != variant.name:
            errors.append(f"{where}: '{first}' and '{variant.name}' are the same variant (identical settings)")
    if has_grid(config, study):
        errors.extend(_tuning_errors(config, study))
    return errors + _budget_errors(config, study, settings)


def _tuning_errors(config: dict, study: str) -> list[str]:
    settings, where = config["studies"][study], f"studies.{study}"
    errors = []
    held_out = protocols.held_out()
    without_test = [p for p in settings["protocols"] if p not in held_out]
    if without_test:
        errors.append(
            f"{where}.protocols: a study with a grid chooses each family's variant on validation rows and scores it "
            f"on test rows, so its protocols must be {', '.join(held_out)} (not {', '.join(without_test)})"
        )
    budgets = {}
    for variant in family_variants(config, study):
        budgets[variant.family] = budgets.get(variant.family, 0) + 1
    if len(set(budgets.values())) > 1:
        sizes = ", ".join(f"{family} {n}" for family, n in budgets.items())
        errors.append(f"{where}: every family needs the same number of variants; variants per family: {sizes}")
    return errors

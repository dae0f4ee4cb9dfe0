"""The design in words and tables, from the plan: the page header, the Methods section and the schedules table,
each for the datasets one page reports (a dataset's page states that dataset's model, batch size, protocols, seeds
and primary score; the overview states what its datasets share and lists what differs)."""

from __future__ import annotations

from collections.abc import Sequence

from schedbench.plan import SCORE_TEXT, Plan, StudyPlan
from schedbench.protocols import PROTOCOLS
from schedbench.report.format import monte_carlo_floor, pct, percent_label, pvalue
from schedbench.report.verdict import NOETHER_RUNS
from schedbench.report.views import Table
from schedbench.schedules import build_schedule
from schedbench.studies import shown_settings, value_text

LR_NOTE = (
    "For per-update schedules the lr column is the rate of the epoch's first update; the rate changes "
    "within the epoch, at every update."
)


def _joined(values) -> str:
    """Distinct values in order, 'a', 'a or b', 'a, b or c'."""
    distinct = [str(v) for v in dict.fromkeys(values)]
    return distinct[0] if len(distinct) == 1 else ", ".join(distinct[:-1]) + " or " + distinct[-1]


def _split_clause(protocols: list[str]) -> str:
    if not protocols:
        return ""
    names = " and ".join(protocols) if len(protocols) < 3 else ", ".join(protocols[:-1]) + " and " + protocols[-1]
    return f" (and, under {names}, the split)"


def _seed_text(seeds: Sequence[int]) -> str:
    seeds = list(seeds)
    consecutive = seeds == list(range(seeds[0], seeds[0] + len(seeds)))
    return (f"{len(seeds)} seeds ({seeds[0]} to {seeds[-1]})" if consecutive
            else f"{len(seeds)} seeds ({', '.join(map(str, seeds))})")


def _param_text(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_param_text(v) for v in value) + ")"
    return str(value)


def protocol_description(plan: Plan, protocol: str, datasets: Sequence[str]) -> str:
    """The protocol in words, with the validation and test rows of ``datasets`` under it."""
    sizes = [plan.datasets[d].sizes[protocol] for d in datasets if protocol in plan.datasets[d].sizes]
    return PROTOCOLS[protocol].describe(_joined(sorted(s[1] for s in sizes)), _joined(sorted(s[2] for s in sizes)))


def _setting_text(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _param_text(value)


def optimizer_text(block: dict) -> str:
    """A family's ``optimizer`` block as the tables show it: 'sgd (momentum 0.9, nesterov no)'."""
    settings = ", ".join(f"{key} {_setting_text(value)}" for key, value in block.items() if key != "name")
    return f"{block['name']} ({settings})" if settings else block["name"]


def schedule_view(plan: Plan, dataset: str) -> tuple[Table, str]:
    """The schedules of the first study without a grid on ``dataset`` (the families as configured, then their
    controls) as a table, or when every study of the dataset has a grid, each family of the first one at its first
    grid point; and a sentence on what they share (updates per epoch of ``dataset`` under that study's first
    protocol) and, for a grid, what it varies."""
    mine = plan.studies_of(dataset)
    plain = [study for study in mine if not study.tuning]
    study = plain[0] if plain else mine[0]
    variants = list(study.variants)
    if not plain:
        variants = list({v.family: v for v in reversed(variants)}.values())[::-1]
    of_dataset = plan.datasets[dataset]
    epochs, batch_size = of_dataset.training["epochs"], of_dataset.training["batch_size"]
    spe = of_dataset.updates_per_epoch(study.protocols[0])
    # Set to the run's length: a formula that ends with the run (decay_steps left out) needs it for its first rate.
    schedules = [build_schedule(v.name, v.spec).for_run(epochs, spe) for v in variants]
    rows = []
    for variant, schedule in zip(variants, schedules):
        params = {k: v for k, v in schedule.params().items() if k != "per"}
        counter = f"epoch (reacts to {schedule.monitor})" if schedule.reactive else schedule.per
        rows.append([
            schedule.name, schedule.type, counter, schedule.equation,
            ", ".join(f"{k} = {_param_text(v)}" for k, v in params.items()),
            optimizer_text(variant.spec["optimizer"]), f"{schedule.initial_rate:g}",
        ])
    starts = sorted({round(s.initial_rate, 12) for s in schedules})
    differ = ["how the rate decays"]
    if len({optimizer_text(v.spec["optimizer"]) for v in variants}) > 1:
        differ.append("in the optimizer settings they are paired with")
    if len(starts) == 1:
        sentence = (f"All {len(schedules)} schedules start at a learning rate of {starts[0]:g} and train the same "
                    f"{epochs} epochs ({spe} updates per epoch), with the batch size {batch_size}; they differ in "
                    f"{' and '.join(differ)}.")
    else:
        sentence = (f"The schedules start at different rates ({', '.join(f'{s:g}' for s in starts)}); all train "
                    f"the same {epochs} epochs ({spe} updates per epoch), with the batch size {batch_size}.")
    if not plain:
        sentence += (f" The study {study.name} trains every family over its grid ({_grid_text(study.grid)}); the "
                     "table shows each family at the grid's first point.")
    table = Table(
        id="schedule-table",
        caption=f"Schedules of the study {study.name}: the formula (t counts updates or epochs from 0, as the 'counts "
                "per' column says), its parameters and the optimizer it is paired with; a control is the "
                "baseline's formula with another schedule's optimizer settings.",
        columns=["Schedule", "Type", "Counts per", "Equation", "Parameters", "Optimizer", "First rate"],
        rows=rows,
    )
    return table, sentence


def families_table(study: StudyPlan) -> Table:
    """A tuning study's families by schedule and optimizer: the formula, its fixed parameters, the optimizer with its
    fixed settings, and what each family is tuned over (its variants' varied settings)."""
    rows = []
    for family in study.families:
        members = [variant for variant in study.variants if variant.family == family and not variant.control]
        shown = [shown_settings(variant.spec) for variant in members]
        varied = {key: list(dict.fromkeys(s[key] for s in shown)) for key in shown[0]
                  if len({value_text(s.get(key)) for s in shown}) > 1}
        first = members[0].spec
        fixed = {key: value for key, value in first.items()
                 if key not in ("type", "optimizer", "per") and key not in varied}
        optimizer = {key: value for key, value in first["optimizer"].items() if key == "name" or key not in varied}
        rows.append([
            family, first["type"], ", ".join(f"{k} = {_setting_text(v)}" for k, v in fixed.items()),
            optimizer_text(optimizer),
            "; ".join(f"{key} in {', '.join(_param_text(v) for v in values)}" for key, values in varied.items()),
            str(len(members)),
        ])
    return Table(
        id=f"families-{study.name}",
        caption=(f"The families of the study {study.name}: each a schedule (its type and fixed parameters) paired with "
                 f"an optimizer (its fixed settings), tuned on validation rows over the settings in the last columns."),
        columns=["Family", "Schedule", "Fixed parameters", "Optimizer", "Tuned over", "Variants"],
        rows=rows,
    )


def _grid_text(grid: dict, prefix: str = "") -> str:
    """A study's grid in words: 'lr0 in 0.01, 0.03, 0.1; momentum in 0, 0.9'."""
    parts = []
    for key, values in grid.items():
        if isinstance(values, dict):
            parts.append(_grid_text(values))
        else:
            parts.append(f"{key} in {', '.join(_param_text(v) for v in values)}")
    return "; ".join(parts)


_INITIALIZER_TEXT = {
    "glorot_uniform": "Keras' Glorot uniform initializer (U(-l, l), l = sqrt(6 / (fan in + fan out)))",
    "he_normal": "Keras' He normal initializer (a normal distribution truncated at 2 SD, SD sqrt(2 / fan in))",
}


def _initializer_text(datasets) -> str:
    """How the kernels start on the page's datasets: the normal distribution and its SDs, and the other
    initializers in use."""
    used = [d.model.get("initializer", "normal") for d in datasets]
    parts = []
    if "normal" in used:
        stddevs = _joined(f"{d.model['init_stddev']:g}" for d, name in zip(datasets, used) if name == "normal")
        parts.append(f"a normal distribution with standard deviation {stddevs}")
    parts += [text for name, text in _INITIALIZER_TEXT.items() if name in used]
    return " or ".join(parts)


def _compiled_text(datasets) -> str:
    """Which of the page's datasets train with each update compiled by XLA (training.jit_compile): a clause after
    the engine's name, empty where none does."""
    compiled = [d.name for d in datasets if d.training["jit_compile"]]
    if not compiled:
        return ""
    where = "" if len(compiled) == len(datasets) else f" on {', '.join(compiled)}"
    return f", each update compiled by XLA (jit_compile){where}"


def _model_text(plan: Plan, datasets: Sequence[str]) -> str:
    """Each dataset's network and loss; one clause when the page has one dataset."""
    def one(name):
        return f"{plan.datasets[name].model_text} ({plan.datasets[name].loss_text})"
    if len(datasets) == 1:
        return one(datasets[0])
    return "; ".join(f"{name}: {one(name)}" for name in datasets)


def methods_view(plan: Plan, datasets: Sequence[str]) -> dict:
    """What the header and the Methods section of a page reporting ``datasets`` state."""
    report = plan.report
    mine = [study for study in plan.studies.values() if set(study.datasets) & set(datasets)]
    used = {p for study in mine for p in study.protocols}
    protocols = [p for p in PROTOCOLS if p in used]
    of_datasets = [plan.datasets[d] for d in datasets]
    return {
        "protocols": [(p, protocol_description(plan, p, datasets)) for p in protocols],
        "primary": [(study.name, p, SCORE_TEXT[study.primary_score(p)]) for study in mine for p in study.protocols],
        "resplit_clause": _split_clause([p for p in protocols if PROTOCOLS[p].split_per_seed]),
        "seeds": "; ".join(f"{_seed_text(study.seeds)} in the study {study.name}" for study in mine),
        "engine": plan.engine,
        "compiled": _compiled_text(of_datasets),
        "epochs": _joined(d.training["epochs"] for d in of_datasets),
        "batch_size": _joined(d.training["batch_size"] for d in of_datasets),
        "model": _model_text(plan, datasets),
        "confidence": percent_label(report["confidence"]),
        "alpha": f"{1 - report['confidence']:g}",
        "resamples": f"{report['bootstrap_resamples']:,}",
        "rng_seed": report["rng_seed"],
        "target": pct(report["target_accuracy"], 0),
        "baseline": report["baseline"],
        "equivalence": plan.band_text,
        "equivalence_min_seeds": report["equivalence_min_seeds"],
        # Noether's number is the default; another minimum is the configuration's choice and is called that.
        "noether_minimum": report["equivalence_min_seeds"] == NOETHER_RUNS,
        "noether_runs": NOETHER_RUNS,
        "monte_carlo_floor": pvalue(monte_carlo_floor(report["bootstrap_resamples"])),
        "resplit": any(PROTOCOLS[p].corrected_t for p in protocols),
        "initializer": _initializer_text(of_datasets),
        "optimizers": _joined(dict.fromkeys(variant.spec["optimizer"]["name"] for study in mine
                                            for variant in study.variants)),
    }

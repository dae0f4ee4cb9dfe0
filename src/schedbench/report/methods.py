"""The design of the study in words and tables, from the configuration: the protocols, the schedules, the
Methods section. The configuration is the validated one, with the schema's defaults filled in."""

from __future__ import annotations

from schedbench import studies
from schedbench.config import dataset_split_sizes, seeds_of, updates_per_epoch
from schedbench.report.format import monte_carlo_floor, pct, percent_label, pvalue
from schedbench.report.verdict import NOETHER_RUNS
from schedbench.report.views import Table
from schedbench.schedules import build_schedule

LR_NOTE = (
    "For per-update schedules the lr column is the rate of the epoch's first update; the rate changes "
    "within the epoch, at every update."
)
PROTOCOL_TEXT = {
    "tail": (
        "the article's split: the last third of the file validates ({n_val} rows), the same rows for every "
        "seed; a seed varies only the initial weights and the batch order"
    ),
    "resplit": (
        "every seed also draws its own stratified split of the same size ({n_val} validation rows), so the "
        "variance of the split is inside the spread over seeds (Bouthillier et al.)"
    ),
    "heldout": (
        "every seed draws its own stratified split into training, validation ({n_val} rows) and test rows "
        "({n_test}); the final model is tested once on the test rows, which no choice is ever made on"
    ),
}
PROTOCOL_ORDER = ("tail", "resplit", "heldout")


def protocol_description(protocol: str, n_val, n_test) -> str:
    return PROTOCOL_TEXT[protocol].format(n_val=n_val, n_test=n_test)


def _sizes_text(config: dict, protocol: str, part: int) -> str:
    datasets = {d for study in config["studies"].values() if protocol in study["protocols"] for d in study["datasets"]}
    sizes = sorted({dataset_split_sizes(config, d, protocol)[part] for d in datasets})
    return " or ".join(map(str, sizes))


def _seed_text(seeds: list[int]) -> str:
    consecutive = seeds == list(range(seeds[0], seeds[0] + len(seeds)))
    return (f"{len(seeds)} seeds ({seeds[0]} to {seeds[-1]})" if consecutive
            else f"{len(seeds)} seeds ({', '.join(map(str, seeds))})")


def _param_text(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_param_text(v) for v in value) + ")"
    return str(value)


def schedule_view(config: dict, dataset: str) -> tuple[Table, str]:
    """The schedules of the first study without a grid (the families as configured, then their controls; the first
    variant of each family when every study has a grid) as a table, and a sentence on what they share (updates per
    epoch of ``dataset`` under that study's first protocol)."""
    plain = studies.plain_studies(config)
    study = plain[0] if plain else next(iter(config["studies"]))
    variants = studies.variants(config, study)
    if not plain:
        variants = list({v.family: v for v in reversed(variants)}.values())[::-1]
    schedules = [build_schedule(v.name, v.spec) for v in variants]
    epochs = config["training"]["epochs"]
    spe = updates_per_epoch(config, dataset, config["studies"][study]["protocols"][0])
    rows = []
    for variant, schedule in zip(variants, schedules):
        optimizer = variant.spec["optimizer"]
        params = {k: v for k, v in schedule.params().items() if k != "per"}
        counter = f"epoch (reacts to {schedule.monitor})" if schedule.reactive else schedule.per
        rows.append([
            schedule.name, schedule.type, counter, schedule.equation,
            ", ".join(f"{k} = {_param_text(v)}" for k, v in params.items()),
            f"{optimizer['momentum']:g}", "yes" if optimizer["nesterov"] else "no", f"{schedule.initial_rate:g}",
        ])
    starts = sorted({round(s.initial_rate, 12) for s in schedules})
    if len(starts) == 1:
        sentence = (f"All {len(schedules)} schedules start at a learning rate of {starts[0]:g} and train the same "
                    f"{epochs} epochs ({spe} updates per epoch), with the batch size "
                    f"{config['training']['batch_size']}; they differ in how the rate decays and in the momentum "
                    f"they are paired with.")
    else:
        sentence = (f"The schedules start at different rates ({', '.join(f'{s:g}' for s in starts)}); all train "
                    f"the same {epochs} epochs ({spe} updates per epoch).")
    table = Table(
        id="schedule-table",
        caption=f"Schedules of the study {study}: the formula (t counts updates or epochs from 0, as the 'counts per' "
                "column says), its parameters and the SGD settings it is paired with; a control is the baseline's "
                "formula with another schedule's SGD settings.",
        columns=["Schedule", "Type", "Counts per", "Equation", "Parameters", "Momentum", "Nesterov", "First rate"],
        rows=rows,
    )
    return table, sentence


def methods_view(config: dict) -> dict:
    report = config["report"]
    used = {p for study in config["studies"].values() for p in study["protocols"]}
    protocols = [p for p in PROTOCOL_ORDER if p in used]
    seed_text = "; ".join(f"{_seed_text(seeds_of(settings))} in the study {study}"
                          for study, settings in config["studies"].items())
    return {
        "protocols": [(p, protocol_description(p, _sizes_text(config, p, 1), _sizes_text(config, p, 2)))
                      for p in protocols],
        "resplit_clause": (" (and, under resplit and heldout, the split)"
                           if {"resplit", "heldout"} & used else ""),
        "seeds": seed_text,
        "engine": config["training"]["engine"],
        "epochs": config["training"]["epochs"],
        "batch_size": config["training"]["batch_size"],
        "confidence": percent_label(report["confidence"]),
        "alpha": f"{1 - report['confidence']:g}",
        "resamples": f"{report['bootstrap_resamples']:,}",
        "rng_seed": report["rng_seed"],
        "target": pct(report["target_accuracy"], 0),
        "baseline": report["baseline"],
        "equivalence": f"{report['equivalence_examples']:g}",
        "equivalence_min_seeds": report["equivalence_min_seeds"],
        # Noether's number is the default; another minimum is the configuration's choice and is called that.
        "noether_minimum": report["equivalence_min_seeds"] == NOETHER_RUNS,
        "noether_runs": NOETHER_RUNS,
        "monte_carlo_floor": pvalue(monte_carlo_floor(report["bootstrap_resamples"])),
        "resplit": "resplit" in used,
        "hidden_units": config["model"]["hidden_units"],
        "hidden_activation": config["model"]["hidden_activation"],
        "init_stddev": f"{config['model']['init_stddev']:g}",
    }

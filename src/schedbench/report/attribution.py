"""The report's "Schedule or optimizer?": a study's attribution table as a view, with the sentences the verdict and
the overview's answer take from it (what carries each gain, and why where the design can say). Every number comes
from an attribution table the statistics rules wrote (a study with controls, or a tuning study with control
families)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from markupsafe import Markup

from schedbench.report.format import bold, finite, interval, number, percent_label, pvalue, signed
from schedbench.report.views import Table, with_csv

# An optimizer's or a schedule's share of a gain at least this large "carries" it.
MOSTLY = 2.0 / 3.0


@dataclass
class AttributionView:
    name: str  # for element ids
    dataset: str
    title: str
    protocol: str
    description: str  # the study's, from the config
    table: Table
    headline: Markup
    why: str  # what explains the optimizer's part, where the optimizer says ("" otherwise)
    rows: pd.DataFrame  # the attribution table's rows shown (what the overview's answer reads)


def _shown(low, high, p_holm, alpha: float) -> bool:
    """A part of the gain is shown when its Holm-adjusted sign-flip p is below alpha and its interval excludes 0."""
    return finite(p_holm) and p_holm < alpha and finite(low) and finite(high) and (low > 0 or high < 0)


def carried_by(row, alpha: float) -> str:
    """Which part carries a schedule's difference from the baseline, in words (one attribution row)."""
    optimizer = _shown(row["optimizer_diff_ci_low"], row["optimizer_diff_ci_high"], row["p_optimizer_holm"], alpha)
    schedule = _shown(row["schedule_diff_ci_low"], row["schedule_diff_ci_high"], row["p_schedule_holm"], alpha)
    if optimizer and schedule:
        total = row["total_diff"]
        share = row["optimizer_diff"] / total if finite(total) and total != 0 else float("nan")
        if finite(share) and share >= MOSTLY:
            return "mostly the optimizer"
        if finite(share) and share <= 1 - MOSTLY:
            return "mostly the schedule"
        return "both"
    if optimizer:
        return "the optimizer"
    if schedule:
        return "the schedule"
    return "neither shown"


def points_range(values, scale: float = 100.0) -> str:
    """Fractions as signed points, '+0.50' or '+0.20 to +1.10' (one value when they agree to the shown digits)."""
    low, high = min(values) * scale, max(values) * scale
    return f"{low:+.2f}" if abs(high - low) < 0.005 else f"{low:+.2f} to {high:+.2f}"


def attribution_view(rows: pd.DataFrame, *, name: str, dataset: str, title: str, protocol: str, description: str,
                     confidence: float, settings: Mapping[str, dict] | None = None,
                     tuned: bool = False) -> AttributionView:
    """One (study, dataset, protocol)'s attribution rows as a table, a headline for the verdict and, from
    ``settings`` (schedule name -> its scalar config entry), why the optimizer's part exists. ``tuned``: the rows
    are a tuning study's families against their control families, on the tuned choice's test accuracy."""
    alpha, conf = 1.0 - confidence, percent_label(confidence)
    what = "schedule" if not tuned else "family"
    body, labels = [], []
    for _, row in rows.iterrows():
        label = carried_by(row, alpha)
        labels.append(label)
        body.append([
            row["schedule"], row["control"], str(int(row["n_pairs"])),
            signed(row["total_diff"], 2, 100.0),
            interval(row["total_diff_ci_low"], row["total_diff_ci_high"], signed=True),
            signed(row["optimizer_diff"], 2, 100.0),
            interval(row["optimizer_diff_ci_low"], row["optimizer_diff_ci_high"], signed=True),
            signed(row["schedule_diff"], 2, 100.0),
            interval(row["schedule_diff_ci_low"], row["schedule_diff_ci_high"], signed=True),
            number(row["p_schedule_better"], 2),
            interval(row["p_schedule_better_ci_low"], row["p_schedule_better_ci_high"], scale=1.0),
            pvalue(row["p_optimizer_holm"]), pvalue(row["p_schedule_holm"]), label,
        ])
    metric = ("held-out test accuracy of each family's tuned choice" if tuned else "final validation accuracy")
    control = ("the control family, the baseline's formula with the family's optimizer tuned alike" if tuned else
               "the control, the baseline's formula with the schedule's optimizer and its settings")
    table = Table(
        id=f"attribution-{name}-{protocol}",
        caption=(f"{title} ({protocol}): each {what}'s difference from the {'tuned ' if tuned else ''}baseline "
                 f"in {metric} (percentage points, paired by seed), split into the optimizer's part "
                 f"({control}, minus the baseline) and "
                 f"the schedule's part (the {what} minus its control); the parts add up seed by seed. {conf} paired "
                 f"bootstrap intervals; P(schedule > control) with its exact interval; sign-flip p-values, "
                 f"Holm-adjusted: the schedule's part over the table's rows, the optimizer's part over the distinct "
                 f"controls (one test each). A part is shown when its Holm p is below {alpha:g} and its "
                 f"interval excludes 0; 'mostly' means at least two thirds of the total."),
        columns=[what.capitalize(), "Control", "Pairs", "Total (points)", f"{conf} interval", "Optimizer part (points)",
                 f"{conf} interval", "Schedule part (points)", f"{conf} interval", "P(schedule > control)",
                 f"{conf} interval", "p optimizer part (Holm)", "p schedule part (Holm)", "Carried by"],
        rows=body,
    )
    table = with_csv(table, rows, f"attribution-{name}-{protocol}", collapsed=False)
    why = " ".join(part for part in (momentum_why(rows, settings or {}), unexplained_why(labels)) if part)
    return AttributionView(name, dataset, title, protocol, description, table,
                           _attribution_headline(rows, labels, tuned), why, rows)


def momentum_why(rows: pd.DataFrame, settings: Mapping[str, dict]) -> str:
    """Heavy-ball momentum m sums past gradients with weights m^k, so once the gradient changes slowly SGD's step is
    lr0 / (1 - m): a control with momentum steps like plain SGD at that larger rate. Said for the SGD controls whose
    momentum differs from the baseline's; empty where there are none."""
    baseline_names = set(rows["baseline"]) if len(rows) else set()
    if len(baseline_names) != 1 or next(iter(baseline_names)) not in settings:
        return ""
    base = settings[next(iter(baseline_names))]
    base_step = _effective_step(base)
    steps = []
    for control in dict.fromkeys(rows["control"]):
        spec = settings.get(control)
        step = _effective_step(spec) if spec else None
        if step is not None and base_step and step != base_step:
            steps.append(f"{control} steps like plain SGD at {step:.3g} (lr0 {spec['lr0']:g}, momentum "
                         f"{spec['optimizer']['momentum']:g}), {step / base_step:.3g} times the baseline's {base_step:.3g}")
    if not steps:
        return ""
    return ("Why: with heavy-ball momentum m, SGD's steady step is lr0 / (1 - m), so "
            + "; ".join(steps) + ". The optimizer's part is the effect of that larger step, not of a schedule.")


def unexplained_why(labels: list[str]) -> str:
    """What the attribution leaves unexplained: a schedule's part has no mechanism this design measures; with no
    part shown there is no gain to explain. Empty when the optimizer carries every difference."""
    if any(label in ("the schedule", "mostly the schedule", "both") for label in labels):
        return ("Nothing in this design explains the schedule's part: the control removes the optimizer's settings, "
                "and what remains is the formula's own effect on these runs (how it helps, e.g. smaller steps late in "
                "training, is not measured).")
    if labels and all(label == "neither shown" for label in labels):
        return "Neither part is shown to differ from zero, so there is no gain to explain."
    return ""


def _effective_step(spec: dict) -> float | None:
    optimizer = spec.get("optimizer", {})
    if optimizer.get("name") != "sgd" or "lr0" not in spec:
        return None
    return spec["lr0"] / (1.0 - optimizer["momentum"])


def _attribution_headline(rows: pd.DataFrame, labels: list[str], tuned: bool = False) -> Markup:
    plural = "families" if tuned else "schedules"
    if rows.empty:
        return Markup("No {} differs from the baseline in its optimizer settings: nothing to split.").format(
            "family" if tuned else "schedule")
    controlled = rows[rows["control"] != rows["baseline"]]
    n = len(rows)
    counts = {label: labels.count(label) for label in dict.fromkeys(labels)}
    tally = Markup(", ").join(Markup("{} of {}: {}").format(k, n, bold(label)) for label, k in counts.items())
    if controlled.empty:
        return Markup("Every {} runs the baseline's optimizer settings, so each difference is the schedule's "
                      "alone ({}).").format("family" if tuned else "schedule", tally)
    control = ("the baseline's formula under the same optimizer, tuned alike (the control family)" if tuned else
               "the baseline's formula with the same optimizer settings (the control)")
    return Markup(
        "Against the {}baseline the {} differ by {} points in total; {} accounts for {} points of it, the schedule "
        "itself for {} points. What carries the difference: {}.").format(
        "tuned " if tuned else "", plural, points_range(rows["total_diff"]), control,
        points_range(controlled["optimizer_diff"]), points_range(rows["schedule_diff"]), tally)

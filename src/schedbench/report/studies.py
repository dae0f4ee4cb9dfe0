"""The report's sections on a tuning study: the learning-rate sensitivity and the tuned comparison (with its split into
optimizer and schedule, :mod:`schedbench.report.attribution`), as plain data for the template, with the
sentences the verdict takes from them. Every number comes from a table the statistics rules wrote."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from markupsafe import Markup

from schedbench.report.format import bold, interval, pct, percent_label, signed
from schedbench.report.verdict import decide
from schedbench.report.attribution import AttributionView
from schedbench.report.views import FigureView, Table, comparison_tables, with_csv
from schedbench.report.wording import words
from schedbench.stats.reading import Decision
from schedbench.studies import SELECTION_RULE, value_text
from schedbench.tables import parameter_columns

TUNED_METRIC = "held-out test accuracy of the tuned choice"


@dataclass
class TuningView:
    study: str
    name: str  # for element ids
    dataset: str
    title: str
    protocol: str
    description: str  # the study's, from the config
    figure: FigureView | None
    attribution: AttributionView | None  # families split into optimizer and schedule; None when nothing splits
    sensitivity: Markup | None
    budget: Markup
    rule: str
    summary: Table
    vs_baseline: Table
    vs_baseline_tests: Table
    pairs: Table
    pairs_tests: Table
    headline: Markup
    sentences: list[Markup]


def baseline_rate_why(sensitivity: pd.DataFrame, *, baseline: str, setting: Mapping[str, object],
                      reference_lr0: float | None, dataset: str) -> str:
    """Where the baseline's formula, at the baseline's own optimizer ``setting`` (parameter -> value, e.g.
    {"momentum": 0.0}), scores best over a tuning study's grid of lr0, and how far the reference (the article's)
    rate falls below it: the sensitivity's half of the why. Empty when the grid has no such line or the reference
    rate is among the best."""
    rows = sensitivity[sensitivity["family"] == baseline]
    fixed = parameter_columns(sensitivity.columns, "sensitivity")
    setting = {column: value for column, value in setting.items() if column in fixed and column != "lr0"}
    for column, value in setting.items():
        rows = rows[rows[column] == value]
    rows = rows.dropna(subset=["lr0"]).sort_values("lr0", kind="stable") if "lr0" in rows else rows.iloc[0:0]
    if rows.empty or not rows["best"].any() or reference_lr0 is None:
        return ""
    at_reference = rows[rows["lr0"] == reference_lr0]
    if at_reference.empty or bool(at_reference["best"].iloc[0]):
        return ""
    best = rows.loc[rows["best"], "lr0"].to_numpy(dtype=float)
    where = f"{best[0]:g}" if len(best) == 1 else f"{best.min():g} to {best.max():g}"
    gap = float(rows["val_accuracy_median"].max() - at_reference["val_accuracy_median"].iloc[0]) * 100.0
    shown = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in setting.items())
    return (f"The tuning study's sensitivity on {dataset} agrees: the baseline's formula{' with ' + shown if shown else ''} "
            f"scores best at lr0 {where}, and at the article's {reference_lr0:g} its median validation accuracy is "
            f"{gap:.1f} points lower: the baseline steps too little.")


def _grid_text(grid: dict) -> str:
    return "; ".join(f"{key} in {{{', '.join(f'{v:g}' if isinstance(v, float) else str(v) for v in values)}}}"
                     for key, values in grid.items())


def _decide_frame(summary: pd.DataFrame) -> pd.DataFrame:
    """The tuned summary in the shape :func:`schedbench.report.verdict.decide` reads (schedule = family)."""
    return pd.DataFrame({
        "schedule": summary["family"],
        "mean": summary["test_accuracy_mean"],
        "n_val": summary["n_test"].astype(int),
        "n_seeds": summary["n_seeds"].astype(int),
        "ci_low": summary["test_accuracy_ci_low"],
        "ci_high": summary["test_accuracy_ci_high"],
        "ci_degenerate": summary["test_accuracy_ci_degenerate"],
    })


def _families(names: list[str], n: int) -> str:
    """``names`` among ``n`` families, in words; all of several are not listed again."""
    if len(names) == n > 1:
        return f"all {n} families"
    return f"{len(names)} of {n} famil{'y' if n == 1 else 'ies'} ({', '.join(names)})"


def _best_stretch(line: pd.DataFrame, within: str) -> tuple[str, bool]:
    """One line's (a family at one setting, sorted by lr0) grid points tied for best, in words, and whether the
    tie covers the whole grid. Consecutive grid points tied are a flat stretch; scattered ones are listed."""
    grid = line["lr0"].to_numpy(dtype=float)
    tied = line["best"].to_numpy(dtype=bool)
    rates = grid[tied]
    if len(rates) == 1:
        return f"{rates[0]:g}", False
    if tied.all():
        return f"flat over the whole grid: lr0 from {grid[0]:g} to {grid[-1]:g} scores {within}", True
    where = np.flatnonzero(tied)
    if where[-1] - where[0] + 1 == len(where):
        return f"flat: lr0 from {rates[0]:g} to {rates[-1]:g} scores {within}", False
    return f"tied: lr0 {', '.join(f'{r:g}' for r in rates)} score {within}", False


def sensitivity_sentence(sensitivity: pd.DataFrame, reference_lr0: float | None,
                         tie_examples: float) -> Markup | None:
    """Where each family's best initial rate lies (by median validation accuracy over seeds), per setting of the
    other varied parameters: one rate, or the whole stretch of rates tied with it (the table's ``best``: within
    ``tie_examples`` validation examples of the top median), never one rate picked among ties; which families' best
    lies at the grid's edge (``at_edge``: the grid does not bracket the optimum); how far the reference rate falls
    short of the top median; and how many runs diverged per family."""
    parameters = list(parameter_columns(sensitivity.columns, "sensitivity"))
    diverged = _diverged_text(sensitivity)
    if "lr0" not in parameters or sensitivity.empty:
        return diverged
    n_val = int(sensitivity["n_val"].iloc[0])
    within = ("the same median as the best" if tie_examples == 0 else
              f"within {tie_examples:g} validation example{'s' if tie_examples != 1 else ''} "
              f"({tie_examples / n_val * 100:.2f} points) of the best median")
    others = [p for p in parameters if p != "lr0"]
    parts = []
    for key, grp in (sensitivity.groupby(others, sort=True, dropna=False) if others else [((), sensitivity)]):
        key = key if isinstance(key, tuple) else (key,)
        setting = ", ".join(f"{p} {v:g}" if isinstance(v, float) else f"{p} {value_text(v)}"
                            for p, v in zip(others, key))
        best, gaps, holding, edges = {}, [], [], {"largest": [], "smallest": []}
        for family, rows in grp.groupby("family", sort=False):
            rows = rows.dropna(subset=["lr0"]).sort_values("lr0", kind="stable")
            # A rate at which most runs diverged is no "best lr0", whatever accuracy its runs were left with.
            rows = rows.assign(best=rows["best"] & (2 * rows["n_diverged"] <= rows["n_seeds"]))
            if rows.empty or not rows["best"].any():
                continue
            stretch, whole = _best_stretch(rows, within)
            best.setdefault(stretch, []).append(family)
            if not whole:
                for side, row in (("smallest", rows.iloc[0]), ("largest", rows.iloc[-1])):
                    if row["at_edge"] and row["best"]:
                        edges[side].append(family)
            top = rows["val_accuracy_median"].max()
            at_reference = rows[rows["lr0"] == reference_lr0]["val_accuracy_median"]
            if len(at_reference):
                gaps.append(float(top - at_reference.iloc[0]))
                holding.append(family)
        n = sum(len(families) for families in best.values())
        if not n:
            parts.append(f"{'with ' + setting + ', ' if setting else ''}no lr0 trained without most runs diverging")
            continue
        where = "; ".join(f"{stretch} for {_families(families, n)}" for stretch, families in best.items())
        text = f"{'with ' + setting + ', ' if setting else ''}the best lr0 per family: {where}"
        flagged = [f"{side} lr0 for {_families(families, n)}" for side, families in edges.items() if families]
        if flagged:
            text += f"; the best lies at the grid's {' and at its '.join(flagged)}: " \
                    f"the grid does not bracket the optimum"
        if gaps and reference_lr0 is not None:
            low, high = min(gaps) * 100, max(gaps) * 100
            by = f"{low:.1f}" if abs(high - low) < 0.05 else f"{low:.1f} to {high:.1f}"
            # Families of their own grids: the gap is of those whose grid holds the reference rate, and says so.
            if len(holding) == n:
                text += f"; the article's {reference_lr0:g} is {by} points below each family's best median"
            else:
                text += (f"; the article's {reference_lr0:g}, in the grids of {_families(holding, n)}, is {by} "
                         f"points below each one's best median")
        parts.append(text)
    sentence = Markup("Learning-rate sensitivity (median validation accuracy over seeds): {}.").format(
        ". ".join(part if i == 0 else part[0].upper() + part[1:] for i, part in enumerate(parts)))
    return sentence + Markup(" ") + diverged if diverged else sentence


def _diverged_text(sensitivity: pd.DataFrame) -> Markup | None:
    """Diverged runs per family, with the rates they diverged at; None when no run diverged."""
    counts = []
    for family, rows in sensitivity.groupby("family", sort=False):
        k = int(rows["n_diverged"].sum())
        if k:
            lr = rows.loc[rows["n_diverged"] > 0, "lr0"] if "lr0" in rows else pd.Series(dtype=float)
            rates = sorted(set(pd.to_numeric(lr, errors="coerce").dropna()))
            at = f" (at lr0 {', '.join(f'{r:g}' for r in rates)})" if rates else ""
            counts.append(f"{family} {k} of {int(rows['n_seeds'].sum())}{at}")
    if not counts:
        return None
    return Markup(
        "Diverged runs (non-finite loss): {}; they count with their accuracy in the medians that find the best lr0, "
        "and the figure draws them apart from the accuracy axis.").format("; ".join(counts))


def tuning_view(summary: pd.DataFrame, comparisons: pd.DataFrame, sensitivity: pd.DataFrame, *, study: str, name: str,
                dataset: str, title: str, protocol: str, description: str, reference_lr0: float | None, grid: dict,
                figure: FigureView | None, baseline: str, confidence: float, equivalence_examples: float,
                sensitivity_tie_examples: float,
                equivalence_min_seeds: int, resamples: int,
                attribution: AttributionView | None = None) -> TuningView:
    """One (tuning study, dataset, protocol): the tuned families' summary, their comparisons on test rows, and the
    verdict's words on them, on the sensitivity over the grid and, with ``attribution`` (the families split into
    optimizer and schedule), on where the gains come from."""
    conf = percent_label(confidence)
    n_test = int(summary["n_test"].iloc[0]) if len(summary) else 0
    budget = int(summary["n_candidates"].max()) if len(summary) else 0
    rows = []
    for _, row in summary.iterrows():
        rows.append([
            row["family"], str(int(row["n_candidates"])), str(int(row["n_seeds"])),
            f"{row['modal_choice']} ({pct(row['modal_share'], 0)})", str(int(row["n_choices"])),
            pct(row["val_accuracy_mean"]), pct(row["test_accuracy_mean"]),
            interval(row["test_accuracy_ci_low"], row["test_accuracy_ci_high"]),
            f"{pct(row['test_accuracy_median'])} [{pct(row['test_accuracy_q25'])}, {pct(row['test_accuracy_q75'])}]",
            signed(row["optimism"], 2, 100.0), interval(row["optimism_ci_low"], row["optimism_ci_high"], signed=True),
        ])
    table = Table(
        id=f"tuned-summary-{name}-{protocol}",
        caption=(f"{title}: each family tuned on every seed with the same {budget} variants, then scored on "
                 f"the seed's {n_test} held-out test rows. The variant chosen most often (share of seeds) and the "
                 f"number of distinct choices show how stable the choice is; validation accuracy of the choice "
                 f"(selected on it: optimistic); test accuracy mean with its {conf} bootstrap interval, median and "
                 f"quartiles; optimism = validation minus test accuracy of the choice (points) with its {conf} paired "
                 f"bootstrap interval."),
        columns=["Family", "Budget", "Seeds", "Chosen most often", "Distinct choices", "Validation acc. of choice",
                 "Test accuracy (mean)", f"{conf} interval", "Test median [IQR]", "Optimism (points)",
                 f"{conf} interval"],
        rows=rows,
        row_classes=["baseline" if family == baseline else "" for family in summary["family"]],
    )
    rule = dict(equivalence_examples=equivalence_examples, equivalence_min_seeds=equivalence_min_seeds,
                resamples=resamples)
    tables = {}
    for key, part, what in (("vs", comparisons["vs_baseline"], f"Each tuned family against {baseline}"),
                            ("pairs", ~comparisons["vs_baseline"], "All other pairs of tuned families")):
        shown, tests = comparison_tables(comparisons[part], n_test, confidence, f"tuned-{key}-{name}-{protocol}",
                                         f"{what} ({title})", metric=TUNED_METRIC, **rule)
        csv_name = f"tuned-{'comparisons' if key == 'vs' else 'pairs'}-{name}-{protocol}"
        tables[key] = (with_csv(shown, comparisons[part], csv_name, collapsed=key != "vs"), with_csv(tests, None))
    facts = decide(_decide_frame(summary), comparisons, baseline=baseline, confidence=confidence,
                   metric=TUNED_METRIC, unit="test example", **rule)
    if len(sensitivity):  # the runs the choices were made from: when most diverged, the verdict leads with it
        facts = replace(facts, n_runs=int(sensitivity["n_seeds"].sum()),
                        n_diverged=int(sensitivity["n_diverged"].sum()))
    headline, sentences = words(facts)
    vs = comparisons[comparisons["vs_baseline"] & (comparisons["b"] == baseline)]
    equivalent = vs.loc[vs["decision"] == Decision.EQUIVALENT.value, "a"].tolist()  # not the negligible leads
    if equivalent:
        headline += Markup(" Practically equivalent to the tuned {} (within +/-{:g} test example): {}.").format(
            baseline, equivalence_examples, Markup(", ").join(bold(name) for name in equivalent))
    if len(summary):
        optimism = float((summary["optimism"] * summary["n_seeds"]).sum() / summary["n_seeds"].sum())
        sentences.append(Markup(
            "Optimism of selection: the chosen variants score {} points more on the validation rows they were chosen "
            "on than on the test rows, on average over families and seeds; choosing on validation rows and "
            "reporting them would overstate every family by about that much.").format(signed(optimism, 2, 100.0)))
    budget_text = Markup(
        "Budget: every family gets the same {} variants per seed ({}), {} seeds, one choice per seed, so the "
        "variance of the choice is inside the results.").format(
        budget, _grid_text(grid) if grid else "each over its own grid: the families table", int(summary["n_seeds"].max())
        if len(summary) else 0)
    for _, row in summary[summary["x_minus_y"].notna()].iterrows():
        sentences.append(Markup(
            "{} Keras scores a schedule-free model at y, the point its gradients are taken at, not at the average x "
            "its authors evaluate: scored at y, {}'s tuned choice reaches {} test accuracy against {} at x "
            "(x - y = {} points, {} interval {}).").format(
            bold("The Keras pitfall:"), bold(row["family"]), pct(row["test_accuracy_at_y_mean"]),
            pct(row["test_accuracy_mean"]), signed(row["x_minus_y"], 2, 100.0), conf,
            interval(row["x_minus_y_ci_low"], row["x_minus_y_ci_high"], signed=True)))
    if attribution is not None:
        sentences.append(Markup("{} {}").format(bold("Schedule or optimizer?"), attribution.headline)
                         + (Markup(" {}").format(attribution.why) if attribution.why else ""))
    sentence = sensitivity_sentence(sensitivity, reference_lr0, sensitivity_tie_examples)
    table = with_csv(table, summary, f"tuned-summary-{name}-{protocol}", collapsed=False)
    return TuningView(study, name, dataset, title, protocol, description, figure, attribution, sentence, budget_text,
                      SELECTION_RULE, table,
                      *tables["vs"], *tables["pairs"], headline, sentences)

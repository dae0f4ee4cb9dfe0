"""The tables of a study: where a schedule's gain comes from, and what tuning a family over its grid buys.

A study's schedule *families* (config entries) expand into *variants*, one per point of a parameter grid
(lr0 x momentum, ...). Every function here takes the per-run frame of :func:`schedbench.runs.final_epoch`
(or the ``tuned`` table built from it): ``schedule`` holds the variant's name, ``family`` its family's, and
each varied parameter has a column of its own, named in ``parameters``. Columns are declared in
:mod:`schedbench.tables`.

* the attribution of a gain to optimizer and schedule lives in :mod:`schedbench.stats.attribution`; the study
  tables built here call it.
* :func:`sensitivity_table`: every variant's accuracy over seeds, the raw material of a sensitivity plot, with the
  grid points tied for best per family and whether the best lies at the grid's edge.
* :func:`select_tuned`, :func:`tuned_summary_table`, :func:`tuned_comparison_table`: per seed, the variant
  a practitioner tuning on validation would pick (:data:`schedbench.studies.SELECTION_RULE`), what it
  scores on the held-out test split, and the families compared on that test score.

Conventions are those of :mod:`schedbench.stats.tabulate`: tests and differences on integer counts of correct
examples, pairing by seed (inner join), a fresh ``numpy.random.default_rng(seed)`` for every interval, Holm
within a family of comparisons.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from schedbench.forked import forked_map
from schedbench.runs import final_epoch
from schedbench.stats.distributions import paired_difference_table, reach_profile_table
from schedbench.stats.estimators import bootstrap_ci, interval_is_degenerate
from schedbench.stats.reading import band_examples
from schedbench.stats import tabulate
from schedbench.stats.attribution import attribution_table, tuned_attribution_table
from schedbench.stats.budgets import budget_view
from schedbench.stats.tabulate import counts_by_name, paired_comparisons
from schedbench.tables import (
    typed_frame,
    GROUP_KEYS,
    TUNED_SUMMARY_COLUMNS,
    declared_columns,
    parameter_columns,
)

__all__ = [
    "attribution_table", "sensitivity_table", "select_tuned", "choose_variant",
    "tuned_summary_table", "tuned_comparison_table", "tuned_attribution_table", "statistics_tables",
    "tuning_tables",
]


_PROTOCOL_KEYS = ["dataset", "protocol"]


def _mean(x: np.ndarray) -> float:
    """The mean, NaN (without numpy's warning) when there is nothing to average."""
    return float(np.mean(x)) if x.size else math.nan


def _quartiles(values: pd.Series) -> dict[str, float]:
    """mean, median, q25, q75 (linear-interpolated percentiles) of the values that are not NaN; all NaN when
    none is (a test accuracy without a test split)."""
    x = values.to_numpy(dtype=float)
    x = x[~np.isnan(x)]
    if not x.size:
        return {"mean": math.nan, "median": math.nan, "q25": math.nan, "q75": math.nan}
    q25, median, q75 = np.percentile(x, [25.0, 50.0, 75.0])
    return {"mean": float(np.mean(x)), "median": float(median), "q25": float(q25), "q75": float(q75)}


# --------------------------------------------------------------------------------------------------
# sensitivity: every variant over seeds
# --------------------------------------------------------------------------------------------------
def sensitivity_table(per_run: pd.DataFrame, parameters: Sequence[str], *, tie_examples: float | None = None,
                      tie_points: float | None = None) -> pd.DataFrame:
    """Every variant's final accuracy over seeds; columns ``declared_columns("sensitivity", parameters)``.

    One row per (dataset, protocol, schedule), in order of first appearance, carrying the variant's family
    and parameter values; n_seeds runs, n_diverged of them with a non-finite loss (kept, with their accuracy);
    n_val validation rows. val_accuracy_*: mean, median, q25, q75 (linear-interpolated percentiles) of the final
    validation accuracy over all runs; test_accuracy_*: the same of the final model's test accuracy, over the runs
    that have one (NaN without a test split). *_finite_median, _q25, _q75: the same over the runs that did not
    diverge only (NaN when every run diverged), what the figure draws on its accuracy axis.

    ``best`` and ``at_edge`` (see :func:`_best_on_grid`) read the lr0 grid of each *line*: a family's variants at
    one setting of the other varied parameters. A variant is ``best`` when its median validation accuracy over all
    runs is within the equivalence band of the line's highest: ``tie_examples`` validation examples, or
    ``tie_points`` points of accuracy (:func:`schedbench.stats.reading.band_examples`) (every tie is kept: a flat stretch
    is reported whole, never broken toward one rate); ``at_edge`` when it is best and its lr0 is the line's
    smallest or largest, so the grid does not bracket the optimum.
    """
    rows = []
    for (dataset, protocol, schedule), grp in per_run.groupby(list(GROUP_KEYS), sort=False):
        stable = grp[~grp["diverged"].astype(bool)]
        row = {
            "dataset": dataset, "protocol": protocol, "family": grp["family"].iloc[0],
            **{parameter: grp[parameter].iloc[0] for parameter in parameters},
            "schedule": schedule, "n_seeds": len(grp), "n_diverged": int(grp["diverged"].sum()),
            "n_val": int(grp["n_val"].iloc[0]),
        }
        for prefix, column in (("val_accuracy", "accuracy"), ("test_accuracy", "test_accuracy")):
            row.update({f"{prefix}_{name}": value for name, value in _quartiles(grp[column]).items()})
            row.update({f"{prefix}_finite_{name}": value for name, value in _quartiles(stable[column]).items()
                        if name != "mean"})
        rows.append(row)
    table = typed_frame(rows, declared_columns("sensitivity", parameters), parameters)
    best, at_edge = _best_on_grid(table, parameters, tie_examples, tie_points)
    table["best"], table["at_edge"] = best, at_edge
    return table


def _best_on_grid(table: pd.DataFrame, parameters: Sequence[str],
                  tie_examples: float | None, tie_points: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(best, at_edge) for every row of a sensitivity table, as boolean arrays.

    A line is a (dataset, protocol, family) at one setting of the varied parameters other than lr0; its grid is
    the lr0 values of its rows. With m_i the median final validation accuracy over seeds of row i (diverged runs
    included: a rate where runs diverge is not a good rate), a row is best when
    ``m_i >= max_j m_j - band / n_val`` (plus 1e-9 for rounding), band = ``tie_examples`` or ``tie_points`` / 100 *
    n_val (:func:`schedbench.stats.reading.band_examples`), so with ``tie_examples`` 0 only exact
    ties share the best, with the equivalence band a stretch no more than the band below the top does. at_edge:
    best, and lr0 is min or max of the line's grid (a one-point grid is its own edge). Rows without an lr0 (or
    a table without lr0), whose median is NaN, or where every run diverged are neither; the top is taken over the
    rest, so a line where every run diverged has no best.
    """
    best = np.zeros(len(table), dtype=bool)
    at_edge = np.zeros(len(table), dtype=bool)
    if "lr0" not in parameters or table.empty:
        return best, at_edge
    lr = pd.to_numeric(table["lr0"], errors="coerce").to_numpy(dtype=float)
    placed = table.reset_index(drop=True)[~np.isnan(lr)]
    keys = ["dataset", "protocol", "family", *(p for p in parameters if p != "lr0")]
    for _, line in placed.groupby(keys, sort=False, dropna=False):
        at = line.index.to_numpy()
        medians = line["val_accuracy_median"].to_numpy(dtype=float, copy=True)
        # A grid point where every run diverged has no accuracy to rank: it is never best.
        medians[(line["n_diverged"] == line["n_seeds"]).to_numpy()] = np.nan
        if np.isnan(medians).all():
            continue
        n_val = line["n_val"].to_numpy(dtype=float)
        band = band_examples(n_val, equivalence_examples=tie_examples, equivalence_points=tie_points)
        tolerance = band / n_val + 1e-9
        tied = medians >= np.nanmax(medians) - tolerance  # NaN compares False
        edge = (lr[at] == lr[at].min()) | (lr[at] == lr[at].max())
        best[at], at_edge[at] = tied, tied & edge
    return best, at_edge


# --------------------------------------------------------------------------------------------------
# tuning: the variant chosen on validation, scored on test
# --------------------------------------------------------------------------------------------------
def choose_variant(candidates: pd.DataFrame, *, lr_parameter: str | None = "lr0") -> int:
    """The position in ``candidates`` (one family's runs of one seed, in config order) of the variant
    :data:`schedbench.studies.SELECTION_RULE` picks.

    Each step keeps the candidates that are best on its criterion, exactly (counts and losses are compared
    as they are, no tolerance): most ``correct``; lowest ``val_loss``, non-finite (diverged) as +inf; smallest
    ``lr_parameter``, a step skipped when the column is absent or a remaining candidate has no value
    (NaN): a variant without an lr0 is neither smaller nor larger than one with; then the first.
    """
    remaining = np.arange(len(candidates))
    correct = candidates["correct"].to_numpy(dtype=float)
    remaining = remaining[correct[remaining] == correct[remaining].max()]
    loss = candidates["val_loss"].to_numpy(dtype=float)
    loss = np.where(np.isfinite(loss), loss, np.inf)
    remaining = remaining[loss[remaining] == loss[remaining].min()]
    if lr_parameter is not None and lr_parameter in candidates.columns:
        lr = candidates[lr_parameter].to_numpy(dtype=float)[remaining]
        if np.all(np.isfinite(lr)):
            remaining = remaining[lr == lr.min()]
    return int(remaining[0])


def select_tuned(per_run: pd.DataFrame, parameters: Sequence[str], *, lr_parameter: str = "lr0") -> pd.DataFrame:
    """Per (dataset, protocol, family, seed) the variant chosen on validation
    (:data:`schedbench.studies.SELECTION_RULE`, with ``lr_parameter`` as the learning rate); columns
    ``declared_columns("tuned", parameters)``.

    Rows: groups and families in order of first appearance, seeds ascending. Config order is the order in
    which the variants first appear in ``per_run`` (final_epoch keeps it). n_candidates: the number of the
    family's variants that have a run for that seed, the candidates of the choice. The chosen run gives
    the parameter values, diverged (its loss became non-finite: a choice can only land there when every
    candidate did worse), val_accuracy (its final validation accuracy), val_loss, test_accuracy, test_loss,
    n_val, n_test.
    """
    config_order = {name: i for i, name in enumerate(pd.unique(per_run["schedule"]))}
    rows = []
    for (dataset, protocol, family), runs in per_run.groupby([*_PROTOCOL_KEYS, "family"], sort=False):
        for seed, candidates in runs.groupby("seed", sort=True):
            candidates = candidates.iloc[np.argsort(candidates["schedule"].map(config_order).to_numpy(), kind="stable")]
            chosen = candidates.iloc[choose_variant(candidates, lr_parameter=lr_parameter)]
            rows.append({
                "dataset": dataset, "protocol": protocol, "family": family,
                **{parameter: chosen[parameter] for parameter in parameters},
                "schedule": chosen["schedule"], "seed": seed, "n_candidates": len(candidates),
                "diverged": bool(chosen["diverged"]),
                "val_accuracy": chosen["accuracy"], "val_loss": chosen["val_loss"],
                "test_accuracy": chosen["test_accuracy"], "test_loss": chosen["test_loss"],
                "n_val": chosen["n_val"], "n_test": chosen["n_test"],
                "test_accuracy_at_y": chosen.get("test_accuracy_at_y", float("nan")),
            })
    return typed_frame(rows, declared_columns("tuned", parameters), parameters)


def tuned_summary_table(tuned: pd.DataFrame, *, confidence: float, resamples: int, seed: int) -> pd.DataFrame:
    """What tuning each family buys, over seeds; columns ``TUNED_SUMMARY_COLUMNS``.

    One row per (dataset, protocol, family) of ``tuned`` (:func:`select_tuned`), in order of first
    appearance. n_candidates: the largest n_candidates of its seeds; n_seeds; n_test. val_accuracy_mean: the mean
    validation accuracy of the chosen variants (optimistic: it is what they were chosen on);
    test_accuracy_*: mean with its bootstrap interval, median, q25, q75 of their test accuracy, over the
    seeds that have one. optimism: mean(val_accuracy - test_accuracy) over those seeds, with its paired
    bootstrap interval: how much the choice flatters itself. test_accuracy_at_y_mean, x_minus_y and its interval:
    a schedule-free family's choice scored at y (what Keras' evaluate scores) and its paired difference from the
    score at x, over the seeds with both (NaN for families without an average). modal_choice: the variant chosen most often
    (ties: the one chosen first, i.e. for the lowest seed), modal_share: the share of seeds that chose it,
    n_choices: the number of distinct variants chosen.
    """
    interval = dict(confidence=confidence, resamples=resamples, seed=seed)
    rows = []
    for (dataset, protocol, family), grp in tuned.groupby([*_PROTOCOL_KEYS, "family"], sort=False):
        val = grp["val_accuracy"].to_numpy(dtype=float)
        test = grp["test_accuracy"].to_numpy(dtype=float)
        tested = ~np.isnan(test)
        test_location = _quartiles(grp["test_accuracy"])
        test_low, test_high = bootstrap_ci(test[tested], **interval)
        optimism_low, optimism_high = bootstrap_ci(val[tested], test[tested], paired=True, **interval)
        modal, share, n_choices = _modal_choice(grp["schedule"])
        at_y = (grp["test_accuracy_at_y"].to_numpy(dtype=float) if "test_accuracy_at_y" in grp
                else np.full(len(grp), np.nan))  # a tuned table from before optimizers had an average
        scored_at_y = tested & ~np.isnan(at_y)
        x_y_low, x_y_high = bootstrap_ci(test[scored_at_y], at_y[scored_at_y], paired=True, **interval)
        rows.append({
            "dataset": dataset, "protocol": protocol, "family": family,
            "n_candidates": int(grp["n_candidates"].max()), "n_seeds": len(grp), "n_test": _split_size(grp, "n_test"),
            "val_accuracy_mean": _mean(val), "test_accuracy_mean": test_location["mean"],
            "test_accuracy_ci_low": test_low, "test_accuracy_ci_high": test_high,
            "test_accuracy_median": test_location["median"], "test_accuracy_q25": test_location["q25"],
            "test_accuracy_q75": test_location["q75"],
            "optimism": _mean(val[tested] - test[tested]),
            "optimism_ci_low": optimism_low, "optimism_ci_high": optimism_high,
            "modal_choice": modal, "modal_share": share, "n_choices": n_choices,
            "test_accuracy_ci_degenerate": interval_is_degenerate(test_low, test_high, int(tested.sum())),
            "test_accuracy_at_y_mean": _mean(at_y[scored_at_y]),
            "x_minus_y": _mean(test[scored_at_y] - at_y[scored_at_y]),
            "x_minus_y_ci_low": x_y_low, "x_minus_y_ci_high": x_y_high,
        })
    return typed_frame(rows, TUNED_SUMMARY_COLUMNS)


def _modal_choice(choices: pd.Series) -> tuple[str, float, int]:
    """(the most frequent value, its share, the number of distinct values); ties go to the value that
    appears first."""
    names = pd.unique(choices)
    counts = np.array([(choices == name).sum() for name in names])
    modal = int(np.argmax(counts))  # argmax takes the first of equal maxima
    return str(names[modal]), float(counts[modal] / len(choices)), len(names)


def _split_size(grp: pd.DataFrame, column: str) -> int:
    """The one size of a split (n_val, n_test) within a (dataset, protocol): counts of correct examples on
    splits of different sizes would not be comparable."""
    sizes = pd.unique(grp[column])
    if len(sizes) != 1:
        raise ValueError(f"{column} differs within a (dataset, protocol): {sorted(sizes)}")
    return int(sizes[0])


def tuned_comparison_table(tuned: pd.DataFrame, *, baseline: str, **rule) -> pd.DataFrame:
    """The tuned families compared on the test split; columns ``COMPARISON_COLUMNS``. ``rule`` holds the
    keyword arguments of :func:`schedbench.stats.tabulate.paired_comparisons` but the ratios (confidence,
    resamples, seed, equivalence_examples or equivalence_points, equivalence_min_seeds).

    The comparisons table of :func:`schedbench.stats.tabulate.paired_comparisons` (the same statistics,
    families, Holm and Bonferroni rules, reading and equivalence call) with families in place of schedules:
    a and b are family names, ``baseline`` the baseline family's, and each family's counts are the correct
    test examples of its chosen variant per seed (round(test_accuracy * n_test)), paired by seed, so
    mean_diff is in examples / n_test, ``equivalence_examples`` counts test examples and a band in points is
    ``equivalence_points`` / 100 * n_test (the row's band_examples). Seeds without a
    test accuracy take no part; a (dataset, protocol) without a test split (n_test 0) has no rows.
    p_t_corrected and p_t_corrected_holm stay NaN: Nadeau and Bengio's correction assumes differences
    measured on resampled train/test splits of one size, whose ratio it needs; the test split here is a
    held-out split scored after selecting on validation, not that design, so the correction is not applied.
    A baseline family absent from ``tuned`` is a ValueError.
    """
    if baseline not in set(tuned["family"]):
        raise ValueError(f"baseline family {baseline!r} is not in the tuned table")
    return paired_comparisons(_test_counts(tuned), baseline=baseline, **rule)


def _test_counts(tuned: pd.DataFrame) -> Iterator[tuple[str, str, int, Mapping[str, pd.Series]]]:
    """(dataset, protocol, n_test, {family: correct test examples by seed}) per group with a test split."""
    for (dataset, protocol), grp in tuned.groupby(_PROTOCOL_KEYS, sort=False):
        n_test = _split_size(grp, "n_test")
        if n_test <= 0:
            continue
        counts = grp.assign(test_correct=np.rint(grp["test_accuracy"].to_numpy(dtype=float) * n_test))
        by_family = {
            family: series.dropna()
            for family, series in counts_by_name(counts, "family", "test_correct").items()
            if series.notna().any()
        }
        yield dataset, protocol, n_test, by_family


def equivalence_band(report: Mapping) -> dict[str, float | None]:
    """The band's keyword arguments for :func:`schedbench.stats.tabulate.paired_comparisons` from the plan's
    ``report`` settings, which hold one of report.equivalence_examples and report.equivalence_points."""
    return {"equivalence_examples": report.get("equivalence_examples"),
            "equivalence_points": report.get("equivalence_points")}


def statistics_tables(runs: pd.DataFrame, predictions: pd.DataFrame, report: Mapping, *, compared: Sequence[str],
                      attributions: Sequence[tuple[str, str]], test_train_ratios: Mapping[str, float],
                      processes: int = 1) -> dict[str, pd.DataFrame]:
    """Every table of a study without a grid: {name: table} for ``schedbench.tables.STATISTICS_TABLES``.

    ``report`` is the plan's ``report`` settings. The summary describes every schedule, controls included; the
    comparisons and the Friedman test cover the schedules in ``compared`` (the study's own, not its controls, whose
    part the attribution table tests), so the controls do not change the multiplicity of the study's comparisons.
    The reach profiles and the paired differences (what the figures draw) cover every schedule, controls included.
    ``processes`` > 1: the tables are built by that many forked workers (:func:`schedbench.forked.forked_map`), the
    same tables."""
    common = dict(confidence=report["confidence"], resamples=report["bootstrap_resamples"], seed=report["rng_seed"])
    shown = runs[runs["schedule"].isin(compared)]
    per_run = final_epoch(runs)
    builders = {
        "summary": lambda: tabulate.summary_table(runs, target_accuracy=report["target_accuracy"], **common),
        "comparisons": lambda: tabulate.comparison_table(
            shown, baseline=report["baseline"], **equivalence_band(report),
            equivalence_min_seeds=report["equivalence_min_seeds"], test_train_ratios=test_train_ratios, **common),
        "friedman": lambda: tabulate.friedman_table(shown),
        "replication": lambda: tabulate.replication_table(runs, report["article"], confidence=report["confidence"]),
        "majority": lambda: tabulate.majority_table(predictions),
        "attribution": lambda: attribution_table(per_run, attributions, baseline=report["baseline"], **common),
        "reach_profiles": lambda: reach_profile_table(per_run, **common),
        "paired_differences": lambda: paired_difference_table(per_run, report["baseline"]),
    }
    return dict(zip(builders, forked_map(lambda build: build(), list(builders.values()), processes)))


def tuning_tables(runs: pd.DataFrame, report: Mapping,
                  attributions: Sequence[tuple[str, str]] = ()) -> dict[str, pd.DataFrame]:
    """Every table of a tuning study from its runs table: {name: table} for ``schedbench.tables.TUNING_TABLES``;
    ``report`` is the config's ``report`` section, ``attributions`` the study's (family, control family) pairs.
    The tables are those of the full runs (:func:`schedbench.stats.budgets.budget_view` at budget 1.0): a study with
    budgets has its shorter runs in the same table, and the budget tables (:mod:`schedbench.stats.budget_tables`)
    read them."""
    per_run = final_epoch(budget_view(runs, 1.0))
    parameters = list(parameter_columns(runs.columns, "runs"))
    common = dict(confidence=report["confidence"], resamples=report["bootstrap_resamples"], seed=report["rng_seed"])
    tuned = select_tuned(per_run, parameters)
    return {
        "sensitivity": sensitivity_table(per_run, parameters, tie_examples=report.get("equivalence_examples"),
                                         tie_points=report.get("equivalence_points")),
        "tuned": tuned,
        "tuned_summary": tuned_summary_table(tuned, **common),
        "tuned_comparisons": tuned_comparison_table(
            tuned, baseline=report["baseline"], **equivalence_band(report),
            equivalence_min_seeds=report["equivalence_min_seeds"], **common),
        "attribution": tuned_attribution_table(tuned, attributions, baseline=report["baseline"], **common),
    }

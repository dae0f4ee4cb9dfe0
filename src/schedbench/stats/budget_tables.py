"""The budget tables of one dataset of a tuning study: every family tuned per budget, what it scores, and how fast
it reaches the target.

Each budget's runs are those of :func:`schedbench.stats.budgets.budget_view`; on them every family is tuned per seed
exactly as the study's tuning tables tune it (:func:`schedbench.stats.studies.select_tuned`, on the validation rows
at the budget's last epoch) and the choice is scored on its test rows at that epoch.

* :func:`budget_table`: one row per (dataset, protocol, family, budget, seed), the choice, its scores and its
  updates to the validation target.
* :func:`budget_summary_table`: per family and budget, the test accuracy over seeds with its interval, the median
  updates to target with an order-statistic interval (:func:`schedbench.stats.estimators.median_interval`, which
  takes a target never reached, inf, as it is), the training it cost, and the best family at each budget.
* :func:`budget_comparison_table`: at each budget every other family against the best one, with the paired
  machinery of the tuned comparisons (one Holm family per budget).

Conventions are those of :mod:`schedbench.stats.studies`; columns are declared in :mod:`schedbench.tables`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from schedbench.runs import final_epoch
from schedbench.stats.budgets import (
    at_budget,
    budget_epochs,
    budget_view,
    full_run_epochs,
    sorted_budgets,
    target_accuracies,
    trained_variants,
)
from schedbench.stats.estimators import bootstrap_ci, median_interval
from schedbench.stats.studies import (
    _modal_choice,
    _quartiles,
    _split_size,
    equivalence_band,
    select_tuned,
    tuned_comparison_table,
)
from schedbench.tables import (
    BUDGET_COMPARISON_COLUMNS,
    BUDGET_SUMMARY_COLUMNS,
    RUN_KEYS,
    declared_columns,
    parameter_columns,
    typed_frame,
)

__all__ = ["budget_table", "budget_summary_table", "budget_comparison_table", "budget_tables"]

_PROTOCOL_KEYS = ["dataset", "protocol"]
# Mean counts of correct test examples are compared after rounding to this many decimals (float noise is no lead).
_COUNT_DECIMALS = 9


def _per_run(view: pd.DataFrame, targets: Mapping[tuple[str, str], float]) -> pd.DataFrame:
    """:func:`schedbench.runs.final_epoch` of a view, each (dataset, protocol) with its own target: a run's
    ``epochs_to_target`` is the first epoch of the view reaching it."""
    parts = [final_epoch(grp, target_accuracy=targets.get(key, math.nan))
             for key, grp in view.groupby(_PROTOCOL_KEYS, sort=False)]
    return pd.concat(parts, ignore_index=True)


def budget_table(runs: pd.DataFrame, budgets: Sequence[float], *, updates_per_epoch: Mapping[str, int],
                 targets: Mapping[tuple[str, str], float]) -> pd.DataFrame:
    """Every family tuned at every budget; columns ``declared_columns("budgets", parameters)``, the study's varied
    parameters being those of ``runs``.

    Rows: (dataset, protocol, family) in order of first appearance, then budgets ascending, then seeds. At each
    budget b, :func:`schedbench.stats.studies.select_tuned` of the budget's view
    (:func:`schedbench.stats.budgets.budget_view`) chooses the variant; the row holds its parameters, ``schedule``,
    its validation and test scores at the view's last epoch, ``epochs`` = b * E, ``updates`` = epochs x the
    protocol's ``updates_per_epoch`` (what the result took), ``obtained`` (read or trained), ``target_accuracy``
    (``targets`` of its (dataset, protocol)) and ``updates_to_target``: the first epoch of the chosen run within the
    budget whose validation accuracy reaches the target (within 1e-9), in updates at that epoch's end; inf when
    none does. A protocol missing from ``updates_per_epoch`` is a ValueError.
    """
    parameters = list(parameter_columns(runs.columns, "runs"))
    missing = [p for p in pd.unique(runs["protocol"]) if p not in updates_per_epoch]
    if missing:
        raise ValueError(f"no updates per epoch for protocols {missing}")
    epochs = full_run_epochs(runs)
    rows = []
    for budget in sorted_budgets(budgets):
        per_run = _per_run(budget_view(runs, budget), targets)
        of_run = dict(zip(zip(*(per_run[key] for key in RUN_KEYS)),
                          zip(per_run["obtained"], per_run["epochs_to_target"].astype(float))))
        for choice in select_tuned(per_run, parameters).to_dict("records"):
            obtained, epochs_to_target = of_run[tuple(choice[key] for key in RUN_KEYS)]
            per_epoch = int(updates_per_epoch[choice["protocol"]])
            trained = budget_epochs(epochs[choice["dataset"]], budget)
            rows.append({
                **choice, "budget": budget, "epochs": trained, "updates": trained * per_epoch, "obtained": obtained,
                "target_accuracy": targets.get((choice["dataset"], choice["protocol"]), math.nan),
                "updates_to_target": epochs_to_target * per_epoch,
            })
    table = typed_frame(rows, declared_columns("budgets", parameters), parameters)
    order = [pd.Categorical(table[c], categories=pd.unique(table[c])).codes for c in ("dataset", "protocol", "family")]
    at = np.lexsort((np.arange(len(table)), *reversed(order)))
    return table.iloc[at].reset_index(drop=True)


def budget_summary_table(budgets: pd.DataFrame, *, trained: Mapping[tuple[str, str, str, float], int],
                         confidence: float, resamples: int, seed: int) -> pd.DataFrame:
    """Each family at each budget over seeds; columns ``BUDGET_SUMMARY_COLUMNS``.

    One row per (dataset, protocol, family, budget) of ``budgets`` (:func:`budget_table`), in its order. epochs,
    updates, target_accuracy: the budget's; obtained: the choices' (``mixed`` if they differ); n_seeds, n_test;
    test_accuracy_*: mean with its bootstrap interval, median, q25, q75 over the seeds with a test accuracy;
    modal_choice and modal_share as in the tuned summary; reached_target: seeds whose choice reached the target;
    updates_to_target_median with its order-statistic interval at ``confidence``
    (:func:`schedbench.stats.estimators.median_interval`: inf where the target was not reached on enough seeds, NaN
    with too few seeds); training_updates: the updates trained per seed for this budget, ``trained`` variants of
    the family at it (:func:`schedbench.stats.budgets.trained_variants`; none when read) x updates.
    best: the family with the highest mean count of correct test examples at its (dataset, protocol, budget), ties
    to the first in order (the study's); no family where no mean exists.
    """
    rows = []
    for (dataset, protocol, family, budget), grp in budgets.groupby([*_PROTOCOL_KEYS, "family", "budget"],
                                                                    sort=False):
        test = grp["test_accuracy"].to_numpy(dtype=float)
        tested = ~np.isnan(test)
        location = _quartiles(grp["test_accuracy"])
        low, high = bootstrap_ci(test[tested], confidence=confidence, resamples=resamples, seed=seed)
        to_target = grp["updates_to_target"].to_numpy(dtype=float)
        target_low, target_high = median_interval(to_target, confidence)
        modal, share, _ = _modal_choice(grp["schedule"])
        obtained = pd.unique(grp["obtained"])
        updates = int(grp["updates"].iloc[0])
        rows.append({
            "dataset": dataset, "protocol": protocol, "family": family, "budget": float(budget),
            "epochs": int(grp["epochs"].iloc[0]), "updates": updates,
            "obtained": obtained[0] if len(obtained) == 1 else "mixed", "n_seeds": len(grp),
            "n_test": _split_size(grp, "n_test"), "test_accuracy_mean": location["mean"],
            "test_accuracy_ci_low": low, "test_accuracy_ci_high": high,
            "test_accuracy_median": location["median"], "test_accuracy_q25": location["q25"],
            "test_accuracy_q75": location["q75"], "modal_choice": modal, "modal_share": share,
            "target_accuracy": float(grp["target_accuracy"].iloc[0]),
            "reached_target": int(np.isfinite(to_target).sum()),
            "updates_to_target_median": float(np.median(to_target)) if to_target.size else math.nan,
            "updates_to_target_ci_low": target_low, "updates_to_target_ci_high": target_high,
            "training_updates": trained.get((dataset, protocol, family, float(budget)), 0) * updates,
            "best": False,
        })
    table = typed_frame(rows, BUDGET_SUMMARY_COLUMNS)
    counts = np.round(table["test_accuracy_mean"].to_numpy(dtype=float) * table["n_test"].to_numpy(dtype=float),
                      _COUNT_DECIMALS)
    for _, problem in table.groupby([*_PROTOCOL_KEYS, "budget"], sort=False):
        at = problem.index.to_numpy()
        if not np.isnan(counts[at]).all():
            table.loc[at[np.nanargmax(counts[at])], "best"] = True  # nanargmax takes the first of equal maxima
    return table


def budget_comparison_table(budgets: pd.DataFrame, summary: pd.DataFrame, **rule) -> pd.DataFrame:
    """At each budget, every other family against the best; columns ``BUDGET_COMPARISON_COLUMNS``: ``budget`` then
    those of the tuned comparisons.

    Per (dataset, protocol, budget) of ``summary`` (:func:`budget_summary_table`) with a best family: the
    vs-baseline rows of :func:`schedbench.stats.studies.tuned_comparison_table` of the budget's rows of
    ``budgets``, the best family as baseline: a = the other family, b = the best, test counts paired by seed, one
    Holm family (and one Bonferroni level) per budget. ``rule``: the keyword arguments of
    :func:`schedbench.stats.tabulate.paired_comparisons` (confidence, resamples, seed, the equivalence band,
    equivalence_min_seeds).
    """
    parts = []
    for (dataset, protocol, budget), problem in summary.groupby([*_PROTOCOL_KEYS, "budget"], sort=False):
        best = problem.loc[problem["best"].astype(bool), "family"]
        if best.empty:
            continue
        rows = budgets[(budgets["dataset"] == dataset) & (budgets["protocol"] == protocol)
                       & at_budget(budgets["budget"], float(budget))]
        compared = tuned_comparison_table(rows, baseline=best.iloc[0], all_pairs=False, **rule)
        parts.extend(compared.assign(budget=float(budget)).to_dict("records"))
    return typed_frame(parts, BUDGET_COMPARISON_COLUMNS)


def budget_tables(runs: pd.DataFrame, report: Mapping, *, budgets: Sequence[float],
                  updates_per_epoch: Mapping[str, int], target_accuracy: float | None) -> dict[str, pd.DataFrame]:
    """Every budget table of one dataset of a tuning study: {name: table} for ``schedbench.tables.BUDGET_TABLES``.

    ``report``: the plan's report settings (confidence, bootstrap_resamples, rng_seed, the equivalence band,
    equivalence_min_seeds, target_fraction); ``budgets``: the study's; ``updates_per_epoch``: {protocol: updates per
    epoch of the dataset}; ``target_accuracy``: the dataset's configured validation target, or None for
    ``report.target_fraction`` of the best family's median tuned validation accuracy at budget 1.0
    (:func:`schedbench.stats.budgets.target_accuracies`)."""
    common = dict(confidence=report["confidence"], resamples=report["bootstrap_resamples"], seed=report["rng_seed"])
    parameters = list(parameter_columns(runs.columns, "runs"))
    full = select_tuned(final_epoch(budget_view(runs, 1.0)), parameters)
    targets = target_accuracies(full, configured=target_accuracy, fraction=report["target_fraction"])
    table = budget_table(runs, budgets, updates_per_epoch=updates_per_epoch, targets=targets)
    summary = budget_summary_table(table, trained=trained_variants(runs, sorted_budgets(budgets)), **common)
    return {
        "budgets": table,
        "budget_summary": summary,
        "budget_comparisons": budget_comparison_table(
            table, summary, **equivalence_band(report), equivalence_min_seeds=report["equivalence_min_seeds"],
            **common),
    }

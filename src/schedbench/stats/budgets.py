"""The budget axis of a tuning study: each family as if trained for a fraction of the run, and what it then takes
to reach a target.

A study with ``budgets`` (fractions b of each dataset's E epochs, 1.0 among them) trains every variant for the full
run (``budget`` 1.0 in the runs table). A *horizon-bound* variant (its rates depend on the run's length: cosine
without decay_steps, WSD without total_steps) is trained again for each b < 1 with its horizon set to b * E epochs: runs
with ``budget`` b. A *horizon-free* variant (constant, inverse-time, schedule-free, plateau) is not: its full run's
first b * E epochs are what a b * E-epoch run would train, and that run's row at epoch b * E carries the test
metrics of the model at that epoch.

* :func:`budget_view`: a runs table with one run per (dataset, protocol, schedule, seed) as if trained for one
  budget, its rows ``trained`` or ``read``; :func:`schedbench.runs.final_epoch` and the tuning of
  :mod:`schedbench.stats.studies` take it unchanged. Every tuning table of a study is built from the budget-1.0
  view (the full runs).
* :func:`budget_epochs`, :func:`trained_variants`, :func:`target_accuracies`: what a budget's rows are, what training
  it cost, and the validation target the time to target is measured against.
* Across a study's datasets: :func:`time_to_target_profile_table` (AlgoPerf's performance profiles over (dataset,
  budget) problems) and :func:`best_by_budget_table` (the best family per problem, and whether each horizon-free
  family is practically equivalent to it).

The per-dataset tables (budgets, budget_summary, budget_comparisons) are built in
:mod:`schedbench.stats.budget_tables`. Columns are declared in :mod:`schedbench.tables`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from schedbench.budgets import epochs_of_budget
from schedbench.stats.reading import Decision
from schedbench.tables import (
    BEST_BY_BUDGET_COLUMNS,
    RUN_KEYS,
    TIME_TO_TARGET_PROFILE_COLUMNS,
    typed_frame,
)

__all__ = [
    "READ", "TRAINED", "DEFAULT_RATIO_TAUS", "at_budget", "sorted_budgets", "budget_view", "budget_epochs",
    "full_run_epochs", "trained_variants",
    "target_accuracies", "time_to_target_profile_table", "best_by_budget_table", "budget_profile_tables",
]

# What a view's run is (its ``obtained`` column): read from the full run's history, or trained for the budget.
READ = "read"
TRAINED = "trained"
# Budgets are fractions written to CSV and read back: compared with this tolerance.
_BUDGET_TOLERANCE = 1e-9
# Ratios to the fastest family (AlgoPerf's tau, from 1: as fast as the fastest, to 4).
DEFAULT_RATIO_TAUS = (1.0, 1.25, 1.5, 2.0, 3.0, 4.0)
_PROBLEM_KEYS = ["dataset", "protocol", "budget"]


def at_budget(budgets: pd.Series, budget: float) -> np.ndarray:
    """Which of ``budgets`` (a table's budget column) are ``budget``, as a boolean array."""
    return np.isclose(budgets.to_numpy(dtype=float), budget, rtol=0.0, atol=_BUDGET_TOLERANCE)


def _checked_budgets(runs: pd.DataFrame) -> pd.Series:
    """The runs table's ``budget`` column; a ValueError when it has none or a row lacks one."""
    if "budget" not in runs.columns:
        raise ValueError("runs has no budget column (the fraction of the run each run was trained for)")
    budgets = runs["budget"].astype(float)
    if budgets.isna().any():
        raise ValueError(f"runs has {int(budgets.isna().sum())} rows without a budget")
    return budgets


def sorted_budgets(budgets: Sequence[float]) -> list[float]:
    """The budgets ascending, as floats; a ValueError without 1.0 (the full run, which the target rests on)."""
    ordered = sorted(float(b) for b in budgets)
    if not any(math.isclose(b, 1.0, rel_tol=0.0, abs_tol=_BUDGET_TOLERANCE) for b in ordered):
        raise ValueError(f"budgets {ordered} lack 1.0, the full run")
    return ordered


def full_run_epochs(runs: pd.DataFrame) -> dict[str, int]:
    """{dataset: E}, the last epoch of the dataset's full runs (budget 1.0); a dataset without full runs is a
    ValueError."""
    budgets = _checked_budgets(runs)
    full = runs[at_budget(budgets, 1.0)]
    last = {str(dataset): int(epoch) for dataset, epoch in full.groupby("dataset", sort=False)["epoch"].max().items()}
    missing = [str(d) for d in pd.unique(runs["dataset"]) if str(d) not in last]
    if missing:
        raise ValueError(f"runs has no full runs (budget 1.0) for datasets {missing}")
    return last


def budget_epochs(epochs: int, budget: float) -> int:
    """The epochs a budget trains of a run of ``epochs``, as the plan gives its jobs
    (:func:`schedbench.studies.epochs_of_budget`); a budget outside (0, 1] is a ValueError."""
    if not 0 < budget <= 1:
        raise ValueError(f"budget {budget}: a budget is a fraction of the run, within (0, 1]")
    return epochs_of_budget(budget, epochs)


def budget_view(runs: pd.DataFrame, budget: float) -> pd.DataFrame:
    """The runs table as if every run had been trained for ``budget`` (a fraction of the run): one run per
    (dataset, protocol, schedule, seed), in the order of ``runs``.

    A schedule with runs of this budget (a horizon-bound variant, trained again with its horizon at b * E) brings
    those (``obtained`` "trained"); every other schedule brings its full run's rows up to epoch b * E, E being the
    last epoch of the dataset's full runs (``obtained`` "read"). At budget 1.0 the view is the full runs, all
    "trained". Every row's ``budget`` is the view's; ``obtained`` is the last column. The view is a runs table:
    :func:`schedbench.runs.final_epoch` reads each run's last row, at b * E, whose test columns are the model's
    at that epoch.

    A ValueError when runs has no budget column or a row without one, when a schedule has runs of this budget for
    some of its seeds but not all, when such a run does not end at b * E, or when a run to be read has no test score
    at b * E although its split has test rows and it has not diverged: neither trained for the budget nor scored
    there, its result would be silently missing.
    """
    budgets = _checked_budgets(runs)
    epochs = full_run_epochs(runs)
    full = at_budget(budgets, 1.0)
    if math.isclose(budget, 1.0, rel_tol=0.0, abs_tol=_BUDGET_TOLERANCE):
        return runs.loc[full].assign(budget=1.0, obtained=TRAINED)
    last = runs["dataset"].astype(str).map({d: budget_epochs(e, budget) for d, e in epochs.items()}).to_numpy()
    own = at_budget(budgets, budget)
    schedule = ["dataset", "protocol", "schedule"]
    bound = runs.loc[own, schedule].drop_duplicates()
    has_own = pd.MultiIndex.from_frame(runs[schedule]).isin(pd.MultiIndex.from_frame(bound))
    _check_trained(runs, full & has_own, own, last, budget)
    read = full & ~has_own & (runs["epoch"].to_numpy() <= last)
    _check_read(runs, read & (runs["epoch"].to_numpy() == last), budget)
    view = runs.loc[own | read].assign(budget=float(budget))
    view["obtained"] = np.where(own[own | read], TRAINED, READ)
    return view


def _check_trained(runs: pd.DataFrame, full: np.ndarray, own: np.ndarray, last: np.ndarray, budget: float) -> None:
    """Every seed of a horizon-bound schedule has a run of the budget, ending at b * E."""
    keys = list(RUN_KEYS)
    full_runs = runs.loc[full, keys].drop_duplicates()
    own_runs = runs.loc[own, keys].drop_duplicates()
    lacking = full_runs.merge(own_runs, how="left", indicator=True).query("_merge == 'left_only'")
    if len(lacking):
        first = lacking.iloc[0]
        raise ValueError(f"schedule {first['schedule']!r} ({first['dataset']}, {first['protocol']}) has runs of budget "
                         f"{budget} but none for seed {first['seed']} ({len(lacking)} runs like it)")
    ends = runs.loc[own].assign(_last=last[own]).groupby(keys, sort=False)[["epoch", "_last"]].max()
    short = ends[ends["epoch"] != ends["_last"]]
    if len(short):
        (dataset, protocol, schedule, seed), row = next(short.iterrows())
        raise ValueError(f"the budget-{budget} run of schedule {schedule!r} ({dataset}, {protocol}, seed {seed}) ends "
                         f"at epoch {row['epoch']}, not at {row['_last']}")


def _check_read(runs: pd.DataFrame, ends: np.ndarray, budget: float) -> None:
    """Every run read at the budget has its test score on its row at b * E (``ends``) where its split has test rows
    and the run had not diverged by then."""
    if not {"test_accuracy", "n_test", "diverged"} <= set(runs.columns):
        return
    unscored = (ends & (runs["n_test"].to_numpy() > 0) & runs["test_accuracy"].isna().to_numpy()
                & ~runs["diverged"].fillna(False).astype(bool).to_numpy())
    if unscored.any():
        first = runs.loc[unscored].iloc[0]
        raise ValueError(f"schedule {first['schedule']!r} ({first['dataset']}, {first['protocol']}, seed "
                         f"{first['seed']}) has no run of budget {budget} and its full run no test score at epoch "
                         f"{first['epoch']} ({int(unscored.sum())} runs like it)")


def trained_variants(runs: pd.DataFrame, budgets: Sequence[float]) -> dict[tuple[str, str, str, float], int]:
    """{(dataset, protocol, family, budget): the family's variants trained for the budget}: every variant at 1.0,
    the horizon-bound ones (those with runs of the budget) below; a family read at a budget has none there. The
    budgets are keys as given."""
    runs_budget = _checked_budgets(runs)
    counts = {}
    for budget in budgets:
        trained = runs[at_budget(runs_budget, budget)]
        for (dataset, protocol, family), grp in trained.groupby(["dataset", "protocol", "family"], sort=False):
            counts[(dataset, protocol, family, budget)] = int(grp["schedule"].nunique())
    return counts


def target_accuracies(tuned: pd.DataFrame, *, configured: float | None,
                      fraction: float) -> dict[tuple[str, str], float]:
    """{(dataset, protocol): the validation accuracy a run's time to target is measured against}.

    ``configured`` (the dataset's ``target_accuracy``) when set; else ``fraction`` (``report.target_fraction``)
    times the highest, over families, of the median validation accuracy of a family's tuned choices in ``tuned``
    (:func:`schedbench.stats.studies.select_tuned` of the budget-1.0 view): a level the best family reaches on half
    of its seeds, less a margin. NaN when no choice has a validation accuracy."""
    targets = {}
    for (dataset, protocol), grp in tuned.groupby(["dataset", "protocol"], sort=False):
        if configured is not None:
            targets[(dataset, protocol)] = float(configured)
            continue
        medians = grp.groupby("family", sort=False)["val_accuracy"].median()
        targets[(dataset, protocol)] = float(fraction * medians.max()) if medians.notna().any() else math.nan
    return targets


# --------------------------------------------------------------------------------------------------
# across datasets
# --------------------------------------------------------------------------------------------------
def _require(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{what} is missing columns: {missing}")


def time_to_target_profile_table(summaries: pd.DataFrame, taus: Sequence[float] = DEFAULT_RATIO_TAUS
                                 ) -> pd.DataFrame:
    """AlgoPerf's performance profiles of the time to target; columns ``TIME_TO_TARGET_PROFILE_COLUMNS``.

    ``summaries``: the datasets' budget summaries concatenated. A problem is a (dataset, protocol, budget); a
    family's ratio on it is its ``updates_to_target_median`` over the smallest of the problem's families. For each
    family (order of appearance) and tau (the given order), fraction = the share of the n_problems problems on
    which its ratio is at most tau (within 1e-9): at tau = 1 the share it is (jointly) fastest on. A family that
    did not reach the target on a problem (median inf) or has no row there is within no tau. Problems that no
    family reached are left out of n_problems: they rank nobody. fraction is NaN when no problem is left.
    """
    _require(summaries, ("dataset", "protocol", "family", "budget", "updates_to_target_median"), "summaries")
    medians = summaries.loc[:, [*_PROBLEM_KEYS, "family", "updates_to_target_median"]].reset_index(drop=True)
    medians["updates_to_target_median"] = medians["updates_to_target_median"].astype(float)
    fastest = medians.groupby(_PROBLEM_KEYS, sort=False)["updates_to_target_median"].transform("min")
    reached = np.isfinite(fastest.to_numpy())
    medians = medians[reached].assign(ratio=(medians["updates_to_target_median"] / fastest)[reached])
    n = len(medians.drop_duplicates(_PROBLEM_KEYS))
    rows = []
    for family in pd.unique(summaries["family"]):
        ratios = medians.loc[medians["family"] == family, "ratio"].to_numpy(dtype=float)
        for tau in taus:
            within = int(np.sum(ratios <= float(tau) + 1e-9))
            rows.append({"family": family, "tau": float(tau), "fraction": within / n if n else math.nan,
                         "n_problems": n})
    return typed_frame(rows, TIME_TO_TARGET_PROFILE_COLUMNS)


def best_by_budget_table(summaries: pd.DataFrame, comparisons: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, protocol, budget) the best family and how each horizon-free family stands against it; columns
    ``BEST_BY_BUDGET_COLUMNS``.

    ``summaries`` and ``comparisons``: the datasets' budget summaries and budget comparisons concatenated. The best
    family is the summary's ``best`` row (its test_accuracy mean and interval); a problem without one (no test
    split) has no rows. A horizon-free family is one read (``obtained`` "read") at some budget below 1.0 of the
    dataset; it has a row at every budget, 1.0 included. ``decision``: its comparison's decision against the best
    (a = the family, b = the best), empty for the best itself or without a comparison; ``practically_equivalent``:
    the best itself, or a decision inside the equivalence band (equivalent, or a reliable difference smaller than
    the band: :attr:`schedbench.stats.reading.Decision.tie`). A dataset without horizon-free families has one row
    per budget with ``family`` empty.
    """
    _require(summaries, (*_PROBLEM_KEYS, "family", "obtained", "best", "test_accuracy_mean", "test_accuracy_ci_low",
                         "test_accuracy_ci_high"), "summaries")
    _require(comparisons, (*_PROBLEM_KEYS, "a", "b", "decision"), "comparisons")
    decisions = {(d, p, round(float(bu), 9), a, b): decision for d, p, bu, a, b, decision in zip(
        comparisons["dataset"], comparisons["protocol"], comparisons["budget"], comparisons["a"], comparisons["b"],
        comparisons["decision"])}
    rows = []
    for (dataset, protocol), grp in summaries.groupby(["dataset", "protocol"], sort=False):
        below = grp["budget"].astype(float) < 1.0 - _BUDGET_TOLERANCE
        free = list(pd.unique(grp.loc[below & (grp["obtained"] == READ), "family"]))
        for budget, problem in grp.groupby("budget", sort=True):
            best = problem[problem["best"].astype(bool)]
            if best.empty:
                continue
            best = best.iloc[0]
            shown = {"dataset": dataset, "protocol": protocol, "budget": float(budget),
                     "best_family": best["family"],
                     **{c: best[c] for c in ("test_accuracy_mean", "test_accuracy_ci_low", "test_accuracy_ci_high")}}
            if not free:
                rows.append({**shown, "family": "", "decision": "", "practically_equivalent": False})
            for family in free:
                # The best family has no comparison with itself: its decision stays empty.
                decision = decisions.get((dataset, protocol, round(float(budget), 9), family, best["family"]), "")
                rows.append({**shown, "family": family, "decision": decision,
                             "practically_equivalent": family == best["family"] or (
                                 bool(decision) and Decision.of(decision).tie)})
    return typed_frame(rows, BEST_BY_BUDGET_COLUMNS)


def budget_profile_tables(summaries: pd.DataFrame, comparisons: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The tables across a study's datasets: {name: table} for ``schedbench.tables.BUDGET_PROFILE_TABLES``, from the
    datasets' budget summaries and budget comparisons (concatenated)."""
    return {
        "time_to_target_profiles": time_to_target_profile_table(summaries),
        "best_by_budget": best_by_budget_table(summaries, comparisons),
    }


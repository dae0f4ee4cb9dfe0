"""The result tables: their columns, how they are read and written, their row order.

Every CSV file the workflow writes under ``results/`` is declared here (``COLUMNS``), written through
:func:`write_table` and read back through :func:`read_table`, which fixes the types once: names (datasets,
protocols, schedules, labels) are always strings, so a schedule called ``NA``, ``null`` or ``123`` comes back
as itself; flags are booleans. Statistics, figures and the report take per-run numbers from the runs table's
per-run view, :func:`schedbench.runs.final_epoch`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from schedbench.atomic import write_csv
from schedbench.engines.spec import HISTORY_COLUMNS

RUN_KEYS = ("dataset", "protocol", "schedule", "seed")
GROUP_KEYS = ("dataset", "protocol", "schedule")

# Where a table holds the study's varied parameters (lr0, momentum, ...): one column each, named as the
# parameter, in the study's order. They differ between studies, so the declaration holds this placeholder.
PARAMETERS = "<parameters>"

# Where the runs table holds each run's optimizer: its name (``optimizer``) and settings, one column per parameter of
# the study's optimizers (empty where a run's optimizer lacks it), less the varied ones (already PARAMETERS columns).
OPTIMIZER_SETTINGS = "<optimizer settings>"

# *_at_y: schedule-free optimizers' scores at y, the point their gradients are taken at (val_loss, val_accuracy and
# the test columns score x, the average); NaN for the other optimizers.
RUN_COLUMNS = (
    "dataset", "protocol", "family", PARAMETERS, "schedule", "seed", "budget", "epoch", *HISTORY_COLUMNS,
    "test_loss", "test_accuracy", "test_loss_at_y", "test_accuracy_at_y", "diverged", "n_val", "n_test",
    OPTIMIZER_SETTINGS,
)
# probability: P(labels[1]) for two classes; the predicted class's probability for more.
PREDICTION_COLUMNS = (*RUN_KEYS, "budget", "row", "label", "predicted", "probability", "correct")
SUMMARY_CONTRACT = (
    "dataset", "protocol", "schedule", "n_seeds", "mean", "sd", "median", "min", "max", "ci_low", "ci_high",
)
SUMMARY_COLUMNS = SUMMARY_CONTRACT + (
    "n_val", "mean_correct", "iqr", "iqm", "iqm_ci_low", "iqm_ci_high", "median_ci_low", "median_ci_high",
    "final_val_loss_mean", "final_val_loss_ci_low", "final_val_loss_ci_high", "best_epoch_accuracy_mean",
    "epochs_to_target_median", "reached_target", "n_diverged", "noise_floor_low", "noise_floor_high",
    "ci_degenerate", "median_ci_degenerate", "iqm_ci_degenerate",
    # The run's family and the study's varied parameters (lr0, momentum, ...): variants group without their names.
    "family", PARAMETERS,
)
COMPARISON_COLUMNS = (
    "dataset", "protocol", "a", "b", "n_pairs", "mean_diff", "mean_diff_examples", "diff_ci_low",
    "diff_ci_high", "wins", "ties", "losses", "p_a_better", "p_a_better_ci_low", "p_a_better_ci_high",
    "reading", "cliffs_delta", "rank_biserial", "hedges_dz", "p_sign_flip", "p_wilcoxon", "p_t",
    "p_t_corrected", "p_holm", "equivalent", "vs_baseline",
    "family_size", "diff_ci_low_adj", "diff_ci_high_adj", "diff_ci_degenerate", "p_a_better_ci_low_adj",
    "p_a_better_ci_high_adj", "paired_dominance", "p_sign_flip_exact", "p_t_corrected_holm", "confidence_adj",
    # What the design could have detected (80 % power at the family's level), and the one decision per pair.
    "mde", "mde_examples", "decision",
    # The equivalence band the row was called with, in examples of its split (report.equivalence_examples, or
    # report.equivalence_points / 100 * n): the report states the band from the table.
    "band_examples",
)
FRIEDMAN_COLUMNS = ("dataset", "protocol", "n_seeds", "n_schedules", "statistic", "p")
REPLICATION_COLUMNS = (
    "dataset", "protocol", "schedule", "article", "article_correct", "n_val", "n_seeds", "mean", "median",
    "min", "max", "frac_below", "frac_equal", "frac_above", "article_percentile",
    "article_floor_low", "article_floor_high",
)
MAJORITY_COLUMNS = ("dataset", "protocol", "n_seeds", "majority_accuracy")
# What the figures draw of the per-seed distributions (schedbench.stats.distributions): the share of seeds reaching
# each threshold of correct validation examples with its bootstrap band, and the paired differences by seed.
REACH_PROFILE_COLUMNS = (
    "dataset", "protocol", "schedule", "n_seeds", "n_val", "threshold_correct", "share", "share_low", "share_high",
)
PAIRED_DIFFERENCE_COLUMNS = ("dataset", "protocol", "schedule", "baseline", "seed", "difference_correct")
# The ablation: schedule against baseline split into the control's part (optimizer settings) and the rest.
ATTRIBUTION_COLUMNS = (
    "dataset", "protocol", "schedule", "control", "baseline", "n_pairs", "n_val",
    "total_diff", "total_diff_ci_low", "total_diff_ci_high",
    "optimizer_diff", "optimizer_diff_ci_low", "optimizer_diff_ci_high",
    "schedule_diff", "schedule_diff_ci_low", "schedule_diff_ci_high",
    "p_schedule_better", "p_schedule_better_ci_low", "p_schedule_better_ci_high",
    "p_schedule", "p_schedule_holm", "p_optimizer", "p_optimizer_holm",
)
SENSITIVITY_COLUMNS = (
    "dataset", "protocol", "family", PARAMETERS, "schedule", "n_seeds", "n_diverged",
    "val_accuracy_mean", "val_accuracy_median", "val_accuracy_q25", "val_accuracy_q75",
    "test_accuracy_mean", "test_accuracy_median", "test_accuracy_q25", "test_accuracy_q75",
    # The grid read per family (ties kept whole, an optimum at the grid's edge flagged) and the quartiles over the
    # runs that did not diverge, what the figure draws on its accuracy axis.
    "n_val", "best", "at_edge",
    "val_accuracy_finite_median", "val_accuracy_finite_q25", "val_accuracy_finite_q75",
    "test_accuracy_finite_median", "test_accuracy_finite_q25", "test_accuracy_finite_q75",
)
TUNED_COLUMNS = (
    "dataset", "protocol", "family", PARAMETERS, "schedule", "seed", "n_candidates", "diverged",
    "val_accuracy", "val_loss", "test_accuracy", "test_loss", "n_val", "n_test",
    # The chosen model scored at y, where a schedule-free optimizer takes its gradients and what Keras' evaluate
    # scores (NaN for optimizers without an average): the Keras pitfall, measured.
    "test_accuracy_at_y",
)
TUNED_SUMMARY_COLUMNS = (
    "dataset", "protocol", "family", "n_candidates", "n_seeds", "n_test",
    "val_accuracy_mean", "test_accuracy_mean", "test_accuracy_ci_low", "test_accuracy_ci_high",
    "test_accuracy_median", "test_accuracy_q25", "test_accuracy_q75",
    "optimism", "optimism_ci_low", "optimism_ci_high", "modal_choice", "modal_share", "n_choices",
    "test_accuracy_ci_degenerate",
    # Schedule-free families: the tuned choice's test accuracy at y, and x - y paired by seed with its bootstrap
    # interval (NaN for optimizers without an average).
    "test_accuracy_at_y_mean", "x_minus_y", "x_minus_y_ci_low", "x_minus_y_ci_high",
)

# The budget axis of a tuning study (schedbench.stats.budgets, schedbench.stats.budget_tables): per dataset, every
# family tuned per budget (a fraction of the run); obtained: "read" from the full run's history or "trained" for the
# budget. updates_to_target: the first whole epoch's end (in updates) reaching target_accuracy, inf when never.
BUDGET_COLUMNS = (
    "dataset", "protocol", "family", PARAMETERS, "schedule", "seed", "budget", "epochs", "updates", "obtained",
    "diverged", "val_accuracy", "val_loss", "test_accuracy", "n_val", "n_test", "target_accuracy", "updates_to_target",
)
BUDGET_SUMMARY_COLUMNS = (
    "dataset", "protocol", "family", "budget", "epochs", "updates", "obtained", "n_seeds", "n_test",
    "test_accuracy_mean", "test_accuracy_ci_low", "test_accuracy_ci_high", "test_accuracy_median",
    "test_accuracy_q25", "test_accuracy_q75", "modal_choice", "modal_share", "target_accuracy", "reached_target",
    "updates_to_target_median", "updates_to_target_ci_low", "updates_to_target_ci_high", "training_updates", "best",
)
# Every other family (a) against the best family at the budget (b).
BUDGET_COMPARISON_COLUMNS = ("budget", *COMPARISON_COLUMNS)
# Across a study's datasets, in results/{study}/budgets/: profiles over (dataset, budget) problems of the ratio of a
# family's median updates to target to the problem's smallest, and the best family per problem with each
# horizon-free family's decision against it.
TIME_TO_TARGET_PROFILE_COLUMNS = ("family", "tau", "fraction", "n_problems")
BEST_BY_BUDGET_COLUMNS = (
    "dataset", "protocol", "budget", "best_family", "test_accuracy_mean", "test_accuracy_ci_low",
    "test_accuracy_ci_high", "family", "decision", "practically_equivalent",
)

# Across the datasets of a tuning study (schedbench.stats.suite), in results/{study}/suite/.
SUITE_RANK_COLUMNS = ("dataset", "family", "test_accuracy_mean", "rank")
SUITE_AVERAGE_RANK_COLUMNS = ("family", "n_datasets", "average_rank", "best_count")
# One row over every dataset ("all"), then one per group of datasets when there are several.
SUITE_FRIEDMAN_COLUMNS = (
    "dataset_group", "n_datasets", "n_families", "alpha", "friedman_chi2", "friedman_p", "iman_davenport_f", "iman_davenport_p",
    "q_alpha", "critical_difference", "mde_rank_diff",
)
SUITE_POSTHOC_COLUMNS = ("a", "b", "vs_baseline", "rank_diff", "z", "p", "p_holm", "nemenyi_different")
SUITE_PROFILE_COLUMNS = ("family", "tau", "fraction", "n_datasets")
SUITE_WIN_TIE_LOSS_COLUMNS = (
    "a", "b", "wins", "ties", "losses", "ties_equivalent", "n_datasets", "ties_negligible", "inconclusive",
)
SUITE_NORMALISED_COLUMNS = ("dataset", "family", "test_accuracy_mean", "majority_accuracy", "normalised_score")
# The groups of families the critical-difference diagram joins: one row per family of each group.
SUITE_GROUP_COLUMNS = ("group", "family", "average_rank")
# Each tuned family against the tuned baseline on each dataset, oriented family - baseline: what the overview's
# answer and its figure read.
SUITE_VS_BASELINE_COLUMNS = (
    "dataset", "protocol", "family", "n_test", "n_pairs", "mean_diff", "mean_diff_examples", "diff_ci_low_adj",
    "diff_ci_high_adj", "band_examples", "mde_examples", "decision",
)

# Table name (the file is results/{dataset}/{name}.csv) -> its columns, in file order.
COLUMNS = {
    "runs": RUN_COLUMNS,
    "predictions": PREDICTION_COLUMNS,
    "summary": SUMMARY_COLUMNS,
    "comparisons": COMPARISON_COLUMNS,
    "friedman": FRIEDMAN_COLUMNS,
    "replication": REPLICATION_COLUMNS,
    "majority": MAJORITY_COLUMNS,
    "reach_profiles": REACH_PROFILE_COLUMNS,
    "paired_differences": PAIRED_DIFFERENCE_COLUMNS,
    "attribution": ATTRIBUTION_COLUMNS,
    "sensitivity": SENSITIVITY_COLUMNS,
    "tuned": TUNED_COLUMNS,
    "tuned_summary": TUNED_SUMMARY_COLUMNS,
    # The tuned families compared on test accuracy: the statistics of the comparisons table.
    "tuned_comparisons": COMPARISON_COLUMNS,
    "suite_ranks": SUITE_RANK_COLUMNS,
    "suite_average_ranks": SUITE_AVERAGE_RANK_COLUMNS,
    "suite_friedman": SUITE_FRIEDMAN_COLUMNS,
    "suite_posthoc": SUITE_POSTHOC_COLUMNS,
    "suite_profiles": SUITE_PROFILE_COLUMNS,
    "suite_win_tie_loss": SUITE_WIN_TIE_LOSS_COLUMNS,
    "suite_scores": SUITE_NORMALISED_COLUMNS,
    "suite_groups": SUITE_GROUP_COLUMNS,
    "suite_vs_baseline": SUITE_VS_BASELINE_COLUMNS,
    "budgets": BUDGET_COLUMNS,
    "budget_summary": BUDGET_SUMMARY_COLUMNS,
    "budget_comparisons": BUDGET_COMPARISON_COLUMNS,
    "time_to_target_profiles": TIME_TO_TARGET_PROFILE_COLUMNS,
    "best_by_budget": BEST_BY_BUDGET_COLUMNS,
}
SUITE_TABLES = ("suite_ranks", "suite_average_ranks", "suite_friedman", "suite_posthoc", "suite_profiles",
                "suite_win_tie_loss", "suite_scores", "suite_groups", "suite_vs_baseline")
# What the statistics of a study without a grid write, and of a study with one (a tuning study).
STATISTICS_TABLES = ("summary", "comparisons", "friedman", "replication", "majority", "attribution",
                     "reach_profiles", "paired_differences")
# Of those, the ones only the figures read (the report shows them as figures).
FIGURE_ONLY_TABLES = ("reach_profiles", "paired_differences")
TUNING_TABLES = ("sensitivity", "tuned", "tuned_summary", "tuned_comparisons", "attribution")
# What the budget statistics write per dataset (results/{study}/{dataset}/) and across datasets
# (results/{study}/budgets/).
BUDGET_TABLES = ("budgets", "budget_summary", "budget_comparisons")
BUDGET_PROFILE_TABLES = ("time_to_target_profiles", "best_by_budget")
NAME_COLUMNS = frozenset({
    "dataset", "protocol", "family", "schedule", "a", "b", "label", "predicted", "reading", "control", "baseline", "decision",
    "modal_choice", "dataset_group", "obtained", "best_family",
})
FLAG_COLUMNS = frozenset({
    "diverged", "correct", "equivalent", "vs_baseline", "diff_ci_degenerate", "p_sign_flip_exact", "ci_degenerate",
    "median_ci_degenerate", "iqm_ci_degenerate", "test_accuracy_ci_degenerate", "nemenyi_different",
    "best", "at_edge", "practically_equivalent",
})
# Whole numbers: counts (of seeds, rows, pairs, datasets, ...), indices and ranks of a choice.
COUNT_COLUMNS = frozenset({
    "seed", "epoch", "row", "n_val", "n_test", "n_seeds", "n_diverged", "n_pairs", "n_schedules", "wins", "ties",
    "losses", "family_size", "reached_target", "n_candidates", "n_choices", "n_datasets", "n_families", "best_count",
    "ties_equivalent", "ties_negligible", "inconclusive", "threshold_correct", "difference_correct", "group",
    "epochs", "updates", "training_updates", "n_problems",
})
# Every declared column's pandas type: names (object, always str), flags (bool), counts (int64), the rest float64.
# A study's varied parameters (PARAMETERS) keep the type their values have (numbers, or True/False).
COLUMN_TYPES = {
    column: "object" if column in NAME_COLUMNS else "bool" if column in FLAG_COLUMNS
    else "int64" if column in COUNT_COLUMNS else "float64"
    for columns in COLUMNS.values() for column in columns if column not in (PARAMETERS, OPTIMIZER_SETTINGS)
}


def parameter_columns(columns: Sequence[str], name: str) -> tuple[str, ...]:
    """The varied parameters among a table's ``columns``: what stands where its declaration has PARAMETERS.
    A ValueError when the other columns are not exactly the declared ones."""
    return _placeholder_columns(columns, name).get(PARAMETERS, ())


def optimizer_setting_columns(columns: Sequence[str], name: str) -> tuple[str, ...]:
    """The optimizer's name and settings among a table's ``columns`` (where its declaration has
    OPTIMIZER_SETTINGS, at the end)."""
    return _placeholder_columns(columns, name).get(OPTIMIZER_SETTINGS, ())


def _placeholder_columns(columns: Sequence[str], name: str) -> dict[str, tuple[str, ...]]:
    """What stands in ``columns`` where table ``name``'s declaration has a placeholder (PARAMETERS, and the
    OPTIMIZER_SETTINGS that only ends a declaration); a ValueError when the other columns are not the declared ones
    or a placeholder's column repeats a declared name."""
    declared = COLUMNS[name]
    columns = tuple(columns)
    fixed = [column for column in declared if column not in (PARAMETERS, OPTIMIZER_SETTINGS)]
    found: dict[str, tuple[str, ...]] = {}
    rest = columns
    if declared[-1:] == (OPTIMIZER_SETTINGS,):
        last = declared[-2]
        at = len(columns) - 1 - columns[::-1].index(last) if last in columns else len(columns)
        found[OPTIMIZER_SETTINGS], rest = columns[at + 1:], columns[:at + 1]
        declared = declared[:-1]
    if PARAMETERS not in declared:
        matches = rest == declared
    else:
        at = declared.index(PARAMETERS)
        before, after = declared[:at], declared[at + 1:]
        n_parameters = len(rest) - len(before) - len(after)
        found[PARAMETERS] = rest[at: at + n_parameters]
        matches = n_parameters >= 0 and rest[:at] == before and rest[at + n_parameters:] == after
    extra = [column for placeholder in found.values() for column in placeholder]
    if not matches or set(extra) & set(fixed) or len(set(extra)) < len(extra):
        expected = declared_columns(name, ["<parameter>", "..."], ["<optimizer setting>", "..."])
        raise ValueError(f"{name} table has columns {list(columns)}, expected {list(expected)}")
    return found


def declared_columns(name: str, parameters: Sequence[str] = (), optimizer_settings: Sequence[str] = ()
                     ) -> tuple[str, ...]:
    """The columns of table ``name`` with these varied parameters (and, for runs, optimizer settings), in file
    order."""
    out: list[str] = []
    for column in COLUMNS[name]:
        out += parameters if column == PARAMETERS else optimizer_settings if column == OPTIMIZER_SETTINGS else [column]
    return tuple(out)


def typed_frame(rows: Sequence[dict], columns: Sequence[str], parameters: Sequence[str] = ()) -> pd.DataFrame:
    """The table of ``rows`` with exactly ``columns``, each of its :data:`COLUMN_TYPES` type (names as they are),
    the varied ``parameters`` as their values are. Fixing the types here makes an empty table and a full one
    write the same way; a column declared nowhere is a ValueError."""
    df = pd.DataFrame(list(rows), columns=list(columns))
    for column in columns:
        if column in parameters:
            continue
        if column not in COLUMN_TYPES:
            raise ValueError(f"column {column!r} has no declared type in schedbench.tables.COLUMN_TYPES")
        if COLUMN_TYPES[column] != "object":
            df[column] = df[column].astype(COLUMN_TYPES[column])
    return df


def write_table(table: pd.DataFrame, path: str | os.PathLike, name: str) -> None:
    """Write one of the declared tables atomically; its columns must be exactly the declared ones (with the
    study's varied parameters where the declaration has PARAMETERS)."""
    parameter_columns(table.columns, name)
    write_csv(table, path)


# Columns that hold a fraction in [0, 1]: accuracies (and their means, quantiles, intervals, spreads), shares,
# probabilities and p-values. Checked on reading (:func:`check_table`); differences (mean_diff, optimism) are not
# among them, being signed.
FRACTION_COLUMNS = frozenset({
    "accuracy", "val_accuracy", "test_accuracy", "probability", "majority_accuracy", "val_accuracy_at_y",
    "test_accuracy_at_y",
    "mean", "sd", "median", "min", "max", "ci_low", "ci_high", "iqr", "iqm", "iqm_ci_low", "iqm_ci_high",
    "median_ci_low", "median_ci_high", "best_epoch_accuracy_mean", "noise_floor_low", "noise_floor_high",
    "article", "frac_below", "frac_equal", "frac_above", "article_percentile", "article_floor_low",
    "article_floor_high", "share", "share_low", "share_high", "fraction", "modal_share",
    "val_accuracy_mean", "val_accuracy_median", "val_accuracy_q25", "val_accuracy_q75",
    "test_accuracy_mean", "test_accuracy_median", "test_accuracy_q25", "test_accuracy_q75",
    "test_accuracy_ci_low", "test_accuracy_ci_high",
    "p_a_better", "p_a_better_ci_low", "p_a_better_ci_high", "p_a_better_ci_low_adj", "p_a_better_ci_high_adj",
    "p_sign_flip", "p_wilcoxon", "p_t", "p_t_corrected", "p_holm", "p_t_corrected_holm", "confidence_adj",
    "p_schedule_better", "p_schedule_better_ci_low", "p_schedule_better_ci_high", "p_schedule", "p_schedule_holm",
    "p_optimizer", "p_optimizer_holm", "p", "friedman_p", "iman_davenport_p", "alpha", "budget", "target_accuracy",
})
# Accuracies pass through float32 in training: 1.0 may come back a hair above it.
_FRACTION_TOLERANCE = 1e-6


class TableError(ValueError):
    """A result table read back is not what :func:`write_table` writes; the message names the file, the column,
    the row and the value."""


def _cell(value) -> str:
    """A cell as the message shows it: a number as itself, text quoted, an empty cell as such."""
    if isinstance(value, str):
        return repr(value)
    return "an empty cell" if pd.isna(value) else f"{value}"


def _first_bad(path, column: str, bad: pd.Series, values: pd.Series, what: str) -> TableError:
    """The error for the rows of ``column`` flagged by ``bad``: the file, the column, the first such row (counted
    from 1 after the header, as a spreadsheet shows it less the header line, and its line in the file), its value,
    and how many there are. Only the first is located: the check itself stays vectorised."""
    rows = np.flatnonzero(bad.to_numpy())
    first = int(rows[0])
    more = f" ({len(rows)} rows like it)" if len(rows) > 1 else ""
    return TableError(f"{path}: column {column}, row {first + 1} (line {first + 2}): {_cell(values.iloc[first])} "
                      f"is not {what}{more}")


def _numbers(table: pd.DataFrame, column: str, path) -> pd.Series:
    """The column as float64; a cell that is neither a number nor empty is a TableError. A column pandas already
    read as numbers costs nothing; text is parsed once, vectorised."""
    cells = table[column]
    if pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells):
        return cells.astype(np.float64)
    values = pd.to_numeric(cells, errors="coerce")
    not_a_number = values.isna() & cells.notna()
    if not_a_number.any():
        raise _first_bad(path, column, not_a_number, cells, "a number")
    return values.astype(np.float64)


def _flags(table: pd.DataFrame, column: str, path) -> pd.Series:
    """The column as bool; anything but True or False (in any case), an empty cell included, is a TableError."""
    cells = table[column]
    if pd.api.types.is_bool_dtype(cells):
        return cells
    flags = cells.astype(str).str.lower().map({"true": True, "false": False})
    if flags.isna().any():
        raise _first_bad(path, column, flags.isna(), cells, "True or False")
    return flags.astype(bool)


def check_table(table: pd.DataFrame, path: str | os.PathLike) -> pd.DataFrame:
    """The values of a table read back (:func:`read_table`) checked and of their declared types
    (:data:`COLUMN_TYPES`), so that a damaged or hand-edited file fails naming itself instead of ending in a
    TypeError far away, or printing, say, a mean accuracy of 750.00 %. Flags are True or False; numbers
    (float64) are numbers or empty (NaN); fractions (:data:`FRACTION_COLUMNS`: accuracies, shares, probabilities,
    p-values) lie in [0, 1] or are empty; counts (:data:`COUNT_COLUMNS`) are finite whole numbers (int64). Names
    are any text, the study's varied parameters as pandas read them. A TableError names the file, the column, the
    first offending row and its value."""
    # Columns are replaced, never written into: the caller's frame stays as it was.
    table = table.copy(deep=False)
    for column in table.columns:
        kind = COLUMN_TYPES.get(column)
        if kind == "bool":
            table[column] = _flags(table, column, path)
        if kind not in ("float64", "int64"):
            continue
        values = _numbers(table, column, path)
        if column in FRACTION_COLUMNS:
            outside = values.notna() & ~values.between(-_FRACTION_TOLERANCE, 1 + _FRACTION_TOLERANCE)
            if outside.any():
                raise _first_bad(path, column, outside, values, "a fraction in [0, 1]")
        if kind == "int64":
            whole = np.isfinite(values) & (values == values.round())
            if not whole.all():
                raise _first_bad(path, column, ~whole, table[column], "a finite whole number (a count)")
            values = values.astype(np.int64)
        table[column] = values
    return table


def read_table(path: str | os.PathLike, name: str) -> pd.DataFrame:
    """A table as written by :func:`write_table`: names as strings (never NaN or numbers), flags as booleans,
    counts as int64, other numbers as float64 with missing ones (empty cells) NaN; parameter columns as pandas
    reads them (numbers, or True/False). Its columns and values are checked (:func:`check_table`): a TableError
    names the file, the column, the row and the value."""
    header = pd.read_csv(path, nrows=0).columns
    try:
        parameter_columns(header, name)
    except ValueError as error:
        raise TableError(f"{path}: {error}") from None
    table = pd.read_csv(
        path,
        dtype={c: str for c in header if COLUMN_TYPES.get(c) == "object"},
        keep_default_na=False,
        na_values={c: ["", "nan", "NaN"] for c in header if COLUMN_TYPES.get(c) != "object"},
        # A column's type from the whole column, not chunk by chunk: an optimizer setting only some runs have
        # (nesterov: true/false for SGD, empty for Adam) would otherwise come back with types varying by chunk.
        low_memory=False,
    )
    return check_table(table, path)


def sort_rows(table: pd.DataFrame, schedules: Sequence[str], protocols: Sequence[str]) -> pd.DataFrame:
    """Protocols and schedules in config order, then budget (the fraction of the run trained: 1 for the whole run),
    seed, then epoch (runs) or row (predictions): the same table whichever way the seeds were split into jobs."""
    position = {
        "protocol": {name: i for i, name in enumerate(protocols)},
        "schedule": {name: i for i, name in enumerate(schedules)},
    }

    def key(column: pd.Series) -> pd.Series:
        return column.map(position[column.name]) if column.name in position else column

    last = "epoch" if "epoch" in table.columns else "row"
    return table.sort_values(["protocol", "schedule", "budget", "seed", last], kind="stable",
                             key=key).reset_index(drop=True)

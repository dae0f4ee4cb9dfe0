"""What the template shows, as plain data (:class:`Table`, :class:`FigureView`, :class:`ProtocolView`,
:class:`DatasetView`), and the builders of the result tables: each takes rows of a table the statistics rule
wrote and only formats them."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import pandas as pd
from markupsafe import Markup

from schedbench.report.format import count, finite, interval, number, pct, pct_k, percent_label, pvalue, signed

# A cell that reads as a number (or as one missing): its column is right-aligned.
_NUMERIC = re.compile(r"^(n/a$|never|[\[+\-]?\d)")


@dataclass
class Table:
    id: str
    caption: str
    columns: list[str]
    rows: list[list[str]]
    row_classes: list[str] = field(default_factory=list)
    note: str = ""
    numeric: list[bool] = field(default_factory=list)  # right-align these columns; derived from the cells

    def __post_init__(self):
        if not self.row_classes:
            self.row_classes = [""] * len(self.rows)
        if not self.numeric:
            self.numeric = [i > 0 and bool(self.rows) and all(_NUMERIC.match(str(row[i])) for row in self.rows)
                            for i in range(len(self.columns))]


@dataclass
class FigureView:
    title: str
    caption: Markup  # HTML rendered from the figure's reStructuredText caption
    alt: str
    src: str  # data:image/png;base64,...
    protocol: str | None = None


@dataclass
class ProtocolView:
    name: str
    description: str
    n_seeds: int
    n_val: int
    headline: Markup
    verdict: list[Markup]
    summary: Table
    secondary: Table
    vs_baseline: Table
    vs_baseline_tests: Table
    pairs: Table
    pairs_tests: Table
    replication: Table | None
    replication_notes: list[str]


@dataclass
class DatasetView:
    name: str
    protocols: list[ProtocolView]
    protocol_difference: list[Markup]
    dataset_figures: list[FigureView]
    protocol_figures: list[tuple[str, Markup, list[FigureView]]]  # (title, caption, one per protocol)
    missing_figures: list[str]
    friedman: Table
    diverged_counts: Table
    diverged_runs: Table | None
    n_diverged: int
    provenance: Table
    replication_gap: str | None = None


def in_order(frame: pd.DataFrame, column: str, order: list[str]) -> pd.DataFrame:
    """Rows sorted by ``column`` in the given order (names not in it last), otherwise kept as they are."""
    position = {name: i for i, name in enumerate(order)}
    return frame.sort_values(column, key=lambda s: s.map(position).fillna(len(order)), kind="stable")


# --------------------------------------------------------------------------------------------------
# per schedule, pairs, Friedman
# --------------------------------------------------------------------------------------------------
def summary_tables(summary: pd.DataFrame, protocol: str, baseline: str, confidence: float,
                   target: float, dataset: str) -> tuple[Table, Table]:
    conf = percent_label(confidence)
    main, secondary, classes = [], [], []
    for _, row in summary.iterrows():
        n_val = int(row["n_val"])
        main.append([
            row["schedule"],
            str(int(row["n_seeds"])),
            pct_k(row["mean"], n_val),
            interval(row["ci_low"], row["ci_high"]),
            number(row["sd"] * 100),
            pct_k(row["median"], n_val),
            interval(row["median_ci_low"], row["median_ci_high"]),
            number(row["iqr"] * 100),
            pct(row["iqm"]),
            interval(row["iqm_ci_low"], row["iqm_ci_high"]),
            f"{pct(row['min'])} to {pct(row['max'])} ({count(row['min'] * n_val)} to {count(row['max'] * n_val)})",
        ])
        ett = float(row["epochs_to_target_median"])
        secondary.append([
            row["schedule"],
            number(row["final_val_loss_mean"], 4),
            interval(row["final_val_loss_ci_low"], row["final_val_loss_ci_high"], scale=1.0, digits=4),
            pct(row["best_epoch_accuracy_mean"]),
            "never (median run)" if math.isinf(ett) else number(ett, 1),
            f"{int(row['reached_target'])} of {int(row['n_seeds'])}",
            f"{int(row['n_diverged'])}",
            interval(row["noise_floor_low"], row["noise_floor_high"]),
        ])
        classes.append("baseline" if row["schedule"] == baseline else "")
    main_table = Table(
        id=f"summary-{dataset}-{protocol}",
        caption=f"Final-epoch validation accuracy per schedule ({protocol}). Means and medians also as correct "
                f"examples k/n_val; intervals are {conf} percentile bootstraps over seeds, in percent; SD and IQR in "
                f"percentage points.",
        columns=["Schedule", "Seeds", "Mean (k/n)", f"{conf} interval", "SD (points)", "Median (k/n)",
                 f"{conf} interval", "IQR (points)", "IQM", f"{conf} interval", "Min to max (k)"],
        rows=main, row_classes=classes,
    )
    secondary_table = Table(
        id=f"secondary-{dataset}-{protocol}",
        caption=f"Secondary metrics ({protocol}). The final validation loss breaks accuracy ties (runs with a "
                f"finite loss); the best-epoch accuracy is optimistic, it picks the epoch on the validation set; "
                f"epochs to reach {pct(target, 0)} count from 1 (never reached counts as infinite, as in AlgoPerf). "
                f"The last column is the Wilson {conf} interval of a single run scoring the median: the noise "
                f"floor of any one-seed claim.",
        columns=["Schedule", "Final val. loss (mean)", f"{conf} interval", "Best-epoch accuracy (mean, optimistic)",
                 f"Epochs to {pct(target, 0)} (median)", f"Runs reaching {pct(target, 0)}", "Diverged runs",
                 "One-run Wilson interval at the median"],
        rows=secondary, row_classes=classes,
    )
    return main_table, secondary_table


def comparison_tables(rows: pd.DataFrame, n_val: int, confidence: float, table_id: str,
                      what: str) -> tuple[Table, Table]:
    conf = percent_label(confidence)
    main, tests, classes = [], [], []
    for _, row in rows.iterrows():
        main.append([
            row["a"],
            row["b"],
            str(int(row["n_pairs"])),
            signed(row["mean_diff"], 2, 100.0),
            interval(row["diff_ci_low"], row["diff_ci_high"], signed=True),
            signed(row["mean_diff_examples"], 2),
            interval(row["diff_ci_low"], row["diff_ci_high"], scale=n_val, signed=True),
            f"{int(row['wins'])} / {int(row['ties'])} / {int(row['losses'])}",
            number(row["p_a_better"], 2),
            interval(row["p_a_better_ci_low"], row["p_a_better_ci_high"], scale=1.0),
            row["reading"],
            pvalue(row["p_holm"]),
            "yes" if row["equivalent"] else "no",
        ])
        tests.append([
            row["a"],
            row["b"],
            number(row["cliffs_delta"], 3),
            number(row["rank_biserial"], 3),
            number(row["hedges_dz"], 2),
            pvalue(row["p_sign_flip"]),
            pvalue(row["p_holm"]),
            pvalue(row["p_wilcoxon"]),
            pvalue(row["p_t"]),
        ])
        classes.append("good" if row["reading"].startswith("significant") else "")
    main_table = Table(
        id=table_id,
        caption=f"{what}: A minus B in final validation accuracy, paired by seed. Differences in percentage points "
                f"and in examples of {n_val} with {conf} paired bootstrap intervals; wins / ties / losses over "
                f"seeds; P(A>B) = (wins + ties/2) / pairs with its interval and Bouthillier et al.'s reading; the "
                f"sign-flip permutation p-value Holm-adjusted over the family; equivalent = the difference's "
                f"interval lies inside +/-1 example.",
        columns=["A", "B", "Pairs", "Diff. (points)", f"{conf} interval", "Diff. (examples)", f"{conf} interval",
                 "W / T / L", "P(A>B)", f"{conf} interval", "Reading", "p (Holm)", "Equivalent (+/-1)"],
        rows=main, row_classes=classes,
    )
    tests_table = Table(
        id=f"{table_id}-tests",
        caption=f"{what}, effect sizes and tests: Cliff's delta (unpaired), matched-pairs rank-biserial "
                f"(Pratt), Hedges-corrected d_z (n/a when the differences have no spread); p-values of the "
                f"sign-flip permutation test (primary) before and after Holm's adjustment, Wilcoxon signed-rank "
                f"(Pratt) and the paired t-test (for reference only).",
        columns=["A", "B", "Cliff's delta", "Rank-biserial", "Hedges d_z", "p sign-flip", "p sign-flip (Holm)",
                 "p Wilcoxon", "p paired t"],
        rows=tests, row_classes=classes,
    )
    return main_table, tests_table


def friedman_table(friedman: pd.DataFrame, confidence: float, dataset: str) -> Table:
    rows = []
    for _, row in friedman.iterrows():
        decision = "the schedules differ" if finite(row["p"]) and row["p"] < 1 - confidence else "no difference shown"
        rows.append([row["protocol"], str(int(row["n_seeds"])), str(int(row["n_schedules"])),
                     number(row["statistic"], 2), pvalue(row["p"]), decision])
    return Table(
        id=f"friedman-{dataset}",
        caption=f"Friedman omnibus test over all schedules ({dataset}), seeds as blocks, on correct counts "
                f"(complete blocks only). A small p says at least one schedule differs; the paired comparisons "
                f"say which.",
        columns=["Protocol", "Seeds", "Schedules", "Chi-square (Friedman)", "p", f"At alpha = {1 - confidence:g}"],
        rows=rows,
    )


def diverged_tables(finals: pd.DataFrame, schedules: list[str], protocols: list[str],
                    dataset: str) -> tuple[Table, Table | None]:
    """Diverged runs counted per schedule and protocol, and listed one by one (None when there is none).
    ``finals`` is :func:`schedbench.tables.final_epoch` of the runs."""
    counts = []
    for name in schedules:
        cells = [name]
        for protocol in protocols:
            sub = finals[(finals["schedule"] == name) & (finals["protocol"] == protocol)]
            cells.append(f"{int(sub['diverged'].sum())} of {len(sub)}")
        counts.append(cells)
    bad = in_order(in_order(finals[finals["diverged"]].sort_values("seed", kind="stable"), "protocol", protocols),
                   "schedule", schedules)
    listed = [[row["protocol"], row["schedule"], str(int(row["seed"])), number(row["first_diverged_epoch"], 0),
               pct_k(row["accuracy"], int(row["n_val"]))] for _, row in bad.iterrows()]
    diverged_counts = Table(
        id=f"diverged-counts-{dataset}",
        caption=f"Diverged runs per schedule ({dataset}): a run diverged when its training loss became NaN or "
                f"infinite; it keeps its (final) accuracy in every statistic.",
        columns=["Schedule", *protocols], rows=counts)
    diverged_runs = Table(
        id=f"diverged-runs-{dataset}", caption=f"Every diverged run ({dataset}).",
        columns=["Protocol", "Schedule", "Seed", "First diverged epoch", "Final accuracy"], rows=listed,
        row_classes=["diverged"] * len(listed)) if listed else None
    return diverged_counts, diverged_runs


# --------------------------------------------------------------------------------------------------
# replication of the article
# --------------------------------------------------------------------------------------------------
def majority_note(protocol: str, majority: float | None) -> list[str]:
    if majority is None:
        return []
    return [f"Majority-class accuracy of the validation split ({protocol}): {pct(majority)}. Always answering "
            f"the most frequent label scores this; any model must beat it."]


def replication_view(rows: pd.DataFrame, protocol: str, confidence: float,
                     dataset: str) -> tuple[Table | None, str | None]:
    """The replication table of one protocol (None without article values) and the sentence on the article's
    own gap between single runs (the same for every protocol: it is about the article's numbers)."""
    if rows.empty:
        return None, None
    conf = percent_label(confidence)
    out = [[
        row["schedule"],
        pct(row["article"]),
        f"{count(row['article_correct'])}/{int(row['n_val'])}" if finite(row["article_correct"]) else "not a k/n value",
        pct_k(row["mean"], int(row["n_val"])),
        pct_k(row["median"], int(row["n_val"])),
        f"{pct(row['min'])} to {pct(row['max'])}",
        f"{row['frac_below'] * 100:.0f} / {row['frac_equal'] * 100:.0f} / {row['frac_above'] * 100:.0f} %",
        f"{row['article_percentile'] * 100:.0f} %",
        interval(row["article_floor_low"], row["article_floor_high"]),
    ] for _, row in rows.iterrows()]
    table = Table(
        id=f"replication-{dataset}-{protocol}",
        caption=f"The article's single-seed results beside ours ({protocol}, {int(rows['n_seeds'].iloc[0])} seeds): "
                f"the share of our seeds scoring below / equal to / above the article's number, the article's "
                f"mid-rank percentile in our distribution, and the Wilson {conf} interval of one run scoring the "
                f"article's number (the noise floor of a one-seed result).",
        columns=["Schedule", "Article", "As examples", "Our mean", "Our median", "Our range",
                 "Seeds below / equal / above", "Article's percentile", f"One-run Wilson {conf} interval"],
        rows=out,
    )
    gap = None
    if len(rows) >= 2:
        low, high = rows.loc[rows["article"].idxmin()], rows.loc[rows["article"].idxmax()]
        if finite(low["article_floor_high"]) and finite(high["article_floor_low"]):
            # Marginal intervals say how a single score would move on new data; they are no test of the gap,
            # since both runs are scored on the same rows: the paired comparison over seeds is.
            gap = (
                f"The article's gap between {low['schedule']} ({pct(low['article'])}) and {high['schedule']} "
                f"({pct(high['article'])}) comes from one run each. On a new validation set of the same size, each "
                f"of those single scores would carry the Wilson intervals "
                f"{interval(low['article_floor_low'], low['article_floor_high'])} and "
                f"{interval(high['article_floor_low'], high['article_floor_high'])}; on these rows the runs are "
                f"paired, and the paired comparison over our seeds (tables above) is what tests the gap.")
    return table, gap

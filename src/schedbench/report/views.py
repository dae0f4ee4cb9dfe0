"""What the template shows, as plain data (:class:`Table`, :class:`FigureView`, :class:`ProtocolView`,
:class:`DatasetView`), and the builders of the result tables: each takes rows of a table the statistics rule
wrote and only formats them."""

from __future__ import annotations

import base64
import dataclasses
import math
import re
from dataclasses import dataclass, field

import pandas as pd
from markupsafe import Markup

from schedbench.report.format import (
    count,
    finite,
    flagged,
    interval,
    number,
    pct,
    pct_k,
    percent_label,
    pvalue,
    pvalue_mc,
    signed,
)
from schedbench.report.verdict import NOETHER_RUNS
from schedbench.report.wording import READING_LABELS
from schedbench.stats.reading import Reading

# A cell that reads as a number (or as one missing): its column is right-aligned. An interval may open with a
# sign ('[+0.50, ...'), a Monte Carlo p with its floor ('< 0.002 ...'), a missing number its reason ('n/a (...)').
_NUMERIC = re.compile(r"^(n/a($| \()|never|< |\[?[+\-]?\d)")
# What a zero-width interval over several seeds is: the grid of 1/n_val steps, not a precise estimate.
DEGENERATE_SUMMARY = "degenerate: the grid, not certainty"
NOISE_FLOOR = ("Test-set noise of one run: Wilson interval of a single score at the median on a new validation set "
               "of this size; not the seed-to-seed spread (SD)")


@dataclass
class Table:
    id: str
    caption: str
    columns: list[str]
    rows: list[list[str]]
    row_classes: list[str] = field(default_factory=list)
    note: str = ""
    numeric: list[bool] = field(default_factory=list)  # right-align these columns; derived from the cells
    # Long or secondary tables are shown folded (a click opens them); csv is the rows shown, unrounded, as a data URI
    # (csv_data_uri) the caption links for download, named csv_name.
    collapsed: bool = False
    csv: str = ""
    csv_name: str = ""

    def __post_init__(self):
        if not self.row_classes:
            self.row_classes = [""] * len(self.rows)
        if not self.numeric:
            self.numeric = [i > 0 and bool(self.rows) and all(_NUMERIC.match(str(row[i])) for row in self.rows)
                            for i in range(len(self.columns))]


def csv_data_uri(frame: pd.DataFrame) -> str:
    """A table's rows as a CSV data URI, so a page can offer them for download without another file."""
    body = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(body).decode("ascii")


def with_csv(table: Table, frame: pd.DataFrame | None, name: str = "", collapsed: bool = True) -> Table:
    """``table`` folded (unless ``collapsed`` is False) with ``frame``, the rows it shows, linked as ``name``.csv;
    a ``frame`` of None links nothing (a table beside another that links the same rows)."""
    if frame is None:
        return dataclasses.replace(table, collapsed=collapsed)
    return dataclasses.replace(table, collapsed=collapsed, csv=csv_data_uri(frame), csv_name=f"{name}.csv")


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
    robust: Table
    secondary: Table
    vs_baseline: Table
    vs_baseline_tests: Table
    pairs: Table
    pairs_tests: Table
    replication: Table | None
    replication_notes: list[str]


@dataclass
class DatasetView:
    name: str  # heads the view and keys its element ids
    dataset: str
    protocols: list[ProtocolView]
    protocol_difference: list[Markup]
    dataset_figures: list[FigureView]
    protocol_figures: list[tuple[str, Markup, list[FigureView]]]  # (title, caption, one per protocol)
    missing_figures: list[str]
    friedman: Table
    diverged_counts: Table
    diverged_runs: Table | None
    n_diverged: int
    replication_gap: str | None = None


def in_order(frame: pd.DataFrame, column: str, order: list[str]) -> pd.DataFrame:
    """Rows sorted by ``column`` in the given order (names not in it last), otherwise kept as they are."""
    position = {name: i for i, name in enumerate(order)}
    return frame.sort_values(column, key=lambda s: s.map(position).fillna(len(order)), kind="stable")


# --------------------------------------------------------------------------------------------------
# per schedule, pairs, Friedman
# --------------------------------------------------------------------------------------------------
def n_val_text(frame: pd.DataFrame) -> str:
    """The validation size(s) of a table's rows, for captions."""
    sizes = sorted({int(n) for n in frame["n_val"]}) if len(frame) else []
    return " or ".join(map(str, sizes)) or "n_val"


def summary_tables(summary: pd.DataFrame, protocol: str, baseline: str, confidence: float,
                   target: float, dataset: str) -> tuple[Table, Table, Table]:
    conf = percent_label(confidence)
    main, robust, secondary, classes = [], [], [], []
    for _, row in summary.iterrows():
        n_val = int(row["n_val"])
        main.append([
            row["schedule"],
            str(int(row["n_seeds"])),
            pct_k(row["mean"], n_val),
            flagged(interval(row["ci_low"], row["ci_high"]), row["ci_degenerate"], DEGENERATE_SUMMARY),
            number(row["sd"] * 100),
            f"{pct(row['min'])} to {pct(row['max'])} ({count(row['min'] * n_val)} to {count(row['max'] * n_val)})",
        ])
        robust.append([
            row["schedule"],
            pct_k(row["median"], n_val),
            flagged(interval(row["median_ci_low"], row["median_ci_high"]), row["median_ci_degenerate"],
                    DEGENERATE_SUMMARY),
            number(row["iqr"] * 100),
            pct(row["iqm"]),
            flagged(interval(row["iqm_ci_low"], row["iqm_ci_high"]), row["iqm_ci_degenerate"], DEGENERATE_SUMMARY),
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
                f"percentage points. An interval marked degenerate has zero width although there are several seeds: "
                f"every resample gave the same value because the accuracies move in steps of one example of "
                f"{n_val_text(summary)} (most seeds on the same count), so it shows the grid, not certainty.",
        columns=["Schedule", "Seeds", "Mean (k/n)", f"{conf} interval", "SD (points)", "Min to max (k)"],
        rows=main, row_classes=classes,
    )
    robust_table = Table(
        id=f"robust-{dataset}-{protocol}",
        caption=f"Robust estimates per schedule ({protocol}): the median and the interquartile mean (IQM), less moved "
                f"by one odd seed than the mean, with {conf} percentile bootstrap intervals; IQR in percentage points.",
        columns=["Schedule", "Median (k/n)", f"{conf} interval", "IQR (points)", "IQM", f"{conf} interval"],
        rows=robust, row_classes=classes,
    )
    secondary_table = Table(
        id=f"secondary-{dataset}-{protocol}",
        caption=f"Secondary metrics ({protocol}). The final validation loss breaks accuracy ties (runs with a "
                f"finite loss); the best-epoch accuracy is optimistic, it picks the epoch on the validation set; "
                f"epochs to reach {pct(target, 0)} count from 1 (never reached counts as infinite, as in AlgoPerf). "
                f"Last column. {NOISE_FLOOR}. It is a {conf} interval: how far one published score could move on "
                f"other rows, where the SD says how much seeds disagree.",
        columns=["Schedule", "Final val. loss (mean)", f"{conf} interval", "Best-epoch accuracy (mean, optimistic)",
                 f"Epochs to {pct(target, 0)} (median)", f"Runs reaching {pct(target, 0)}", "Diverged runs",
                 f"Test-set noise of one run ({conf} Wilson interval at the median; not the SD)"],
        rows=secondary, row_classes=classes,
    )
    return (with_csv(main_table, summary, f"summary-{dataset}-{protocol}", collapsed=False),
            with_csv(robust_table, None), with_csv(secondary_table, None))


def _family(rows: pd.DataFrame) -> tuple[str, str]:
    """(header label, caption phrase) of the Bonferroni level the rows' *_adj intervals were taken at. A table
    holds one family (the comparisons with the baseline, or the other pairs, of one protocol), so one m."""
    families = rows[["family_size", "confidence_adj"]].drop_duplicates() if len(rows) else rows
    if len(families) != 1:
        return "Bonferroni, 1 - alpha/m", "the Bonferroni level 1 - alpha/m of each row's family"
    m, level = int(families["family_size"].iloc[0]), percent_label(families["confidence_adj"].iloc[0])
    if m == 1:
        return f"{level} (m = 1)", f"{level} (one comparison in the family: nothing to adjust)"
    return f"{level}, Bonferroni (m = {m})", f"the Bonferroni level {level} = 1 - alpha/{m} ({m} comparisons)"


def _holm_text(p, exact) -> str:
    """A Holm-adjusted p; one adjusted from a Monte Carlo p carries that estimate's imprecision, and says so."""
    return pvalue(p) if exact else f"{pvalue(p)} (from a Monte Carlo p)"


def _equivalent_text(equivalent, n_pairs: int, min_seeds: int) -> str:
    """The equivalence call in a cell. Below the minimum of seeds the table's False is no call, not a call of
    'not equivalent': the cell says so."""
    if bool(equivalent):
        return "yes"
    return "no" if n_pairs >= min_seeds else f"not called: {n_pairs} of {min_seeds} seeds"


def _effect_size_text(d_z, n_pairs: int) -> str:
    """Hedges' d_z in a cell, or 'n/a' with the reason it is undefined: fewer than 3 pairs (the small-sample
    correction J = 1 - 3 / (4 (n - 1) - 1) is 0 at n = 2, so no standardized effect can be estimated), or
    differences without spread (the sd it divides by is 0)."""
    if finite(d_z):
        return number(d_z, 2)
    if n_pairs < 3:
        return f"n/a (n = {n_pairs} < 3)"
    return "n/a (no spread)"


def comparison_tables(rows: pd.DataFrame, n_val: int, confidence: float, table_id: str, what: str, *,
                      equivalence_examples: float = 1, equivalence_min_seeds: int = NOETHER_RUNS,
                      resamples: int = 0, metric: str = "final validation accuracy") -> tuple[Table, Table]:
    """The main table (differences, P(A>B), reading, equivalence) and the tests table of one family of
    comparison rows. ``resamples`` is the R of a Monte Carlo sign-flip p (``report.bootstrap_resamples``);
    ``n_val`` the number of rows the accuracies count (validation rows, or test rows for ``metric``)."""
    conf = percent_label(confidence)
    label, phrase = _family(rows)
    corrected = bool(len(rows)) and bool(rows["p_t_corrected"].notna().any())
    monte_carlo = bool(len(rows)) and not bool(rows["p_sign_flip_exact"].all())
    main, tests, classes = [], [], []
    for _, row in rows.iterrows():
        degenerate = row["diff_ci_degenerate"]
        reading = Reading.of(row["reading"])
        main.append([
            row["a"],
            row["b"],
            str(int(row["n_pairs"])),
            signed(row["mean_diff"], 2, 100.0),
            flagged(interval(row["diff_ci_low"], row["diff_ci_high"], signed=True), degenerate),
            signed(row["mean_diff_examples"], 2),
            flagged(interval(row["diff_ci_low"], row["diff_ci_high"], scale=n_val, signed=True), degenerate),
            flagged(interval(row["diff_ci_low_adj"], row["diff_ci_high_adj"], scale=n_val, signed=True), degenerate),
            f"{int(row['wins'])} / {int(row['ties'])} / {int(row['losses'])}",
            number(row["p_a_better"], 2),
            interval(row["p_a_better_ci_low_adj"], row["p_a_better_ci_high_adj"], scale=1.0),
            READING_LABELS[reading],
            _holm_text(row["p_holm"], row["p_sign_flip_exact"]),
            _equivalent_text(row["equivalent"], int(row["n_pairs"]), equivalence_min_seeds),
        ])
        cells = [
            row["a"],
            row["b"],
            number(row["paired_dominance"], 3),
            number(row["cliffs_delta"], 3),
            number(row["rank_biserial"], 3),
            _effect_size_text(row["hedges_dz"], int(row["n_pairs"])),
            pvalue_mc(row["p_sign_flip"], row["p_sign_flip_exact"], resamples),
            _holm_text(row["p_holm"], row["p_sign_flip_exact"]),
            pvalue(row["p_wilcoxon"]),
            pvalue(row["p_t"]),
        ]
        if corrected:
            cells += [pvalue(row["p_t_corrected"]), pvalue(row["p_t_corrected_holm"])]
        tests.append(cells)
        classes.append("good" if reading.winner > 0 else "")
    band = f"+/-{equivalence_examples:g}"
    main_table = Table(
        id=table_id,
        caption=f"{what}: A minus B in {metric}, paired by seed. Differences in percentage points "
                f"and in examples of {n_val} with {conf} paired bootstrap intervals (descriptions); wins / ties / "
                f"losses over seeds; P(A>B) = (wins + ties/2) / pairs and Bouthillier et al.'s reading. One "
                f"multiplicity rule over the family: the interval of P(A>B) the reading rests on and the interval of "
                f"the difference the equivalence call rests on are taken at {phrase}, and the sign-flip permutation "
                f"p-value is Holm-adjusted over the same family; equivalent = that interval of the difference lies "
                f"inside {band} example and there are at least {equivalence_min_seeds} paired seeds; with fewer, "
                f"no call is made either way ('not called'). An interval "
                f"marked degenerate has zero width over several seeds: every seed gave the same difference, so it "
                f"shows the grid of whole examples, not certainty.",
        columns=["A", "B", "Pairs", "Diff. (points)", f"{conf} interval", "Diff. (examples)", f"{conf} interval",
                 f"Interval for equivalence (examples), {label}", "W / T / L", "P(A>B)",
                 f"P(A>B) interval, {label}", "Reading", "p (Holm)",
                 f"Equivalent ({band}, at least {equivalence_min_seeds} seeds)"],
        rows=main, row_classes=classes,
    )
    question = "on these seeds' splits" if corrected else "on these validation rows"
    caption = (
        f"{what}, effect sizes and tests. Effect sizes: paired dominance = (wins - losses) / pairs, the paired "
        f"counterpart of Cliff's delta; Cliff's delta in its unpaired form (every run of A against every run of B, "
        f"the pairing by seed ignored), for comparison with studies that report it; matched-pairs rank-biserial "
        f"in Pratt's variant (zero differences ranked and counted in the denominator); Hedges-corrected d_z (n/a "
        f"with fewer than 3 pairs, where the correction leaves nothing to estimate, or when the differences have no "
        f"spread). Tests over seeds, which answer \"does A beat B {question}?\": the "
        f"sign-flip permutation test (primary; exact for whole-example differences) before and after Holm's "
        f"adjustment over the family, Wilcoxon signed-rank (Pratt's zeros, exact given the observed ranks) and the "
        f"paired t-test (for reference only).")
    if corrected:
        caption += (" Nadeau and Bengio's corrected t, before and after Holm's adjustment over the family, answers "
                    "\"would A beat B on new data from the same distribution?\": it counts the variance of the split.")
    if monte_carlo:
        caption += (f" A sign-flip p marked Monte Carlo is an estimate from {resamples:,} resamples: it cannot go "
                    f"below its floor 2/(R + 1), printed as '< floor', and its standard error follows it.")
    tests_table = Table(
        id=f"{table_id}-tests",
        caption=caption,
        columns=["A", "B", "Paired dominance (paired)", "Cliff's delta (unpaired)",
                 "Rank-biserial (Pratt: zeros ranked, in the denominator)", "Hedges d_z", "p sign-flip",
                 "p sign-flip (Holm)", "p Wilcoxon", "p paired t"]
                + (["p corrected t (Nadeau-Bengio)", "p corrected t (Holm)"] if corrected else []),
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
    ``finals`` is :func:`schedbench.runs.final_epoch` of the runs."""
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
                f"mid-rank percentile in our distribution, and the test-set noise of one run: Wilson {conf} "
                f"interval of a single score at the article's number on a new validation set of this size; not the "
                f"seed-to-seed spread (SD). It is how far the article's one-seed result could move on other rows.",
        columns=["Schedule", "Article", "As examples", "Our mean", "Our median", "Our range",
                 "Seeds below / equal / above", "Article's percentile",
                 f"Test-set noise of one run (Wilson {conf}, at the article's number)"],
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

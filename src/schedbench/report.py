"""The HTML report: one self-contained file that answers "which schedule is better, by how much, how sure?".

:func:`render_report` reads each dataset's CSV files (runs, predictions, summary, comparisons, friedman),
takes the figures already written by :func:`schedbench.plots.save_figures`, and renders
``templates/report.html.j2`` with Jinja2 (autoescaping on). Figures are embedded as base64 PNG data URIs
and the CSS is inline: the file has no external reference and opens offline. It is written atomically.

Numbers come from :mod:`schedbench.stats` (its tables, and :func:`~schedbench.stats.replication_table` and
:func:`~schedbench.stats.wilson_interval` here); this module only words and formats them. The order of the
page: verdict in plain words, figures, tables, methods, provenance, appendices (all pairs, run time).
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.metadata
import math
import os
import platform
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import yaml
from markupsafe import Markup

from schedbench import plots, stats
from schedbench.config import seeds_of, validation_rows
from schedbench.io import atomic_write_text
from schedbench.schedules import build_schedules, steps_per_epoch

LR_NOTE = (
    "For per-update schedules the lr column is the rate of the epoch's first update; the rate changes "
    "within the epoch, at every update."
)
# Bouthillier et al.: paired runs needed to detect P(A>B) = 0.75 at alpha = beta = 0.05 (Noether's rule).
NOETHER_RUNS = 29

FIGURE_TEXT = {
    "schedules": (
        "Learning-rate schedules",
        "Learning rate against training progress, log scale, for every configured schedule. Formula schedules "
        "are drawn per optimizer update, as they are applied. The time-based schedule is also drawn dashed in "
        "its other reading (the article's per-epoch formula, not run). The reactive plateau schedule has no "
        "formula: its lines are the rates each seed actually got (runs.csv lr).",
        "Line chart of learning rate on a log scale against epochs for every configured schedule",
    ),
    "article-schedules": (
        "The article's two schedules",
        "The article's settings over 100 epochs. Left: time-based decay (lr0 0.1, decay 0.002) per update as "
        "Keras' SGD(decay) applied it, per epoch by the formula as printed, and per epoch read recursively as "
        "the article's table. The three readings end far apart. Right: drop-based decay, halving every 10 epochs.",
        "Two line charts: time-based decay in three readings and the drop-based staircase over 100 epochs",
    ),
    "learning-curves": (
        "Learning curves",
        "Validation accuracy per epoch: median over seeds (thick line), interquartile band, one faint line per "
        "seed, and the majority-class accuracy (dashed), the score of always answering the most frequent label.",
        "Small multiples of validation accuracy per epoch, one panel per schedule, with median and "
        "interquartile band",
    ),
    "final-accuracy": (
        "Final accuracy per seed",
        "Every seed's final validation accuracy as a dot; accuracies can only take the values k/n_val (grid "
        "lines). Grey lines join the runs of one seed across schedules (same initial weights and batch order); "
        "black bars are means; crosses would mark diverged runs.",
        "Dot plot of final validation accuracy per seed for each schedule with lines joining the same seed",
    ),
    "intervals": (
        "Interval estimates",
        "Mean, median and interquartile mean (IQM) of the final accuracy with percentile bootstrap intervals "
        "over seeds (rliable style). Non-overlap is suggestive only; the paired comparisons below are the test.",
        "Three panels of point estimates with bootstrap intervals for mean, median and IQM per schedule",
    ),
    "differences": (
        "Paired differences against the baseline",
        "Histogram over seeds of (schedule minus baseline) in correct validation examples, with the mean "
        "difference and its paired bootstrap interval (diamond) and the +/-1 example equivalence band (green).",
        "Histograms of paired differences in examples against the baseline, one panel per schedule",
    ),
    "improvement": (
        "Probability of improvement",
        "P(A > B) over paired seeds with its exact (Clopper-Pearson) interval: above the line each schedule against the "
        "baseline, below it every other pair. 0.5 = no difference; Bouthillier et al. call an improvement "
        "significant when the interval lies above 0.5 and meaningful when P(A > B) > 0.75.",
        "Interval plot of the probability of improvement for every pair of schedules",
    ),
    "ecdf": (
        "Performance profiles",
        "Share of seeds whose final accuracy reaches at least tau (1 - ECDF), with pointwise bootstrap bands, "
        "each schedule beside the baseline (grey). A curve further right is better at every threshold.",
        "Step plots of the share of seeds reaching each accuracy threshold, each schedule against the baseline",
    ),
}

READING_WORDS = {
    "significant and meaningful": "significant and meaningful (interval above 0.5 and P(A>B) > 0.75)",
    "significant": "significant but not meaningful (interval above 0.5, P(A>B) at most 0.75)",
    "meaningful": "meaningful but not significant (P(A>B) > 0.75, but the interval reaches 0.5)",
    "neither": "neither significant nor meaningful (the interval includes 0.5)",
    "b significant and meaningful": "significant and meaningful in the baseline's favour",
    "b significant": "significant in the baseline's favour",
    "b meaningful": "meaningful in the baseline's favour",
}
_MIRROR = {"significant and meaningful": "b significant and meaningful", "significant": "b significant",
           "meaningful": "b meaningful", "neither": "neither"}
_MIRROR.update({v: k for k, v in list(_MIRROR.items())})


# --------------------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------------------
def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def pct(x, digits: int = 2) -> str:
    """0.96121 -> '96.12 %'."""
    return f"{float(x) * 100:.{digits}f} %" if _finite(x) else "n/a"


def count(k) -> str:
    """A count of examples: an integer when it is one, else one decimal (a mean)."""
    if not _finite(k):
        return "n/a"
    k = float(k)
    # Accuracies pass through float32 in training: 109/116 may come back as 109.0000014 examples.
    return f"{k:.0f}" if abs(k - round(k)) < 1e-4 else f"{k:.1f}"


def pct_k(x, n_val: int, digits: int = 2) -> str:
    """0.99138, 116 -> '99.14 % (115/116)'."""
    if not _finite(x):
        return "n/a"
    return f"{pct(x, digits)} ({count(float(x) * n_val)}/{n_val})"


def interval(low, high, scale: float = 100.0, digits: int = 2, unit: str = "", signed: bool = False) -> str:
    """An interval as '[low, high]' (scaled, e.g. fractions to percent)."""
    if not (_finite(low) and _finite(high)):
        return "n/a"
    sign = "+" if signed else ""
    return f"[{float(low) * scale:{sign}.{digits}f}, {float(high) * scale:{sign}.{digits}f}]{unit}"


def signed(x, digits: int = 2, scale: float = 1.0) -> str:
    return f"{float(x) * scale:+.{digits}f}" if _finite(x) else "n/a"


def pvalue(p) -> str:
    if not _finite(p):
        return "n/a"
    p = float(p)
    if p < 0.001:
        return f"{p:.1e}"
    return f"{p:.3f}"


def number(x, digits: int = 2) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, (float, np.floating)) and math.isinf(x):
        return "never" if x > 0 else "-inf"
    return f"{float(x):.{digits}f}" if _finite(x) else "n/a"


_NUMERIC = re.compile(r"^(n/a$|never|[\[+\-]?\d)")


def _bold(text) -> Markup:
    return Markup("<strong>{}</strong>").format(text)


# --------------------------------------------------------------------------------------------------
# views handed to the template
# --------------------------------------------------------------------------------------------------
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
    caption: str
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
    majority: float | None
    best: str | None
    convincing: list[str]
    baseline_mean: float
    baseline_ci_width: float


@dataclass
class DatasetView:
    name: str
    protocols: list[ProtocolView]
    protocol_difference: list[Markup]
    dataset_figures: list[FigureView]
    protocol_figures: list[tuple[str, str, list[FigureView]]]  # (title, caption, one per protocol)
    missing_figures: list[str]
    friedman: Table
    diverged_counts: Table
    diverged_runs: Table | None
    n_diverged: int
    provenance: Table
    replication_gap: str | None = None


PROTOCOL_TEXT = {
    "tail": (
        "the article's split: the last third of the file validates ({n_val} rows), the same rows for every "
        "seed; a seed varies only the initial weights and the batch order"
    ),
    "resplit": (
        "every seed also draws its own stratified split of the same size ({n_val} validation rows), so the "
        "variance of the split is inside the intervals (Bouthillier et al.)"
    ),
}


# --------------------------------------------------------------------------------------------------
# reading the inputs
# --------------------------------------------------------------------------------------------------
def _git_commit() -> str:
    """HEAD of the git checkout the report is made in ('unknown' outside one), marked when the tree is dirty."""
    for where in (Path.cwd(), Path(__file__).resolve().parent):
        try:
            head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        if not head:
            continue
        try:
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                                   capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            dirty = ""
        return head + (" (with uncommitted changes)" if dirty else "")
    return "unknown"


def _version(*distributions: str) -> str:
    for name in distributions:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "not installed"


def package_versions() -> list[tuple[str, str]]:
    return [
        ("python", platform.python_version()),
        ("tensorflow", _version("tensorflow", "tensorflow-cpu")),
        ("keras", _version("keras")),
        ("numpy", _version("numpy")),
        ("pandas", _version("pandas")),
        ("scipy", _version("scipy")),
        ("snakemake", _version("snakemake")),
        ("matplotlib", _version("matplotlib")),
        ("seaborn", _version("seaborn")),
        ("jinja2", _version("jinja2")),
        ("schedbench", _version("schedbench")),
    ]


def machine_info() -> list[tuple[str, str]]:
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        memory_text = f"{memory / 2**30:.1f} GiB"
    except (ValueError, OSError, AttributeError):
        memory_text = "unknown"
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return [
        ("Platform", platform.platform()),
        ("Machine", platform.machine() or "unknown"),
        ("Processor", platform.processor() or "unknown"),
        ("CPUs", f"{os.cpu_count()} ({usable} usable by this process)"),
        ("Memory", memory_text),
    ]


def read_benchmarks(benchmarks: Sequence[tuple[str | os.PathLike, int]]) -> pd.DataFrame:
    """One row per Snakemake benchmark file: job, runs, seconds, runs per second, max RSS (MB)."""
    rows = []
    for path, n_runs in benchmarks:
        path = Path(path)
        seconds, rss = math.nan, math.nan
        try:
            table = pd.read_csv(path, sep="\t")
            seconds = float(pd.to_numeric(table["s"], errors="coerce").sum())
            if "max_rss" in table:
                rss = float(pd.to_numeric(table["max_rss"], errors="coerce").max())
        except (OSError, KeyError, ValueError, pd.errors.ParserError):
            pass
        rows.append({"job": str(path), "runs": int(n_runs), "seconds": seconds, "max_rss": rss})
    return pd.DataFrame(rows, columns=["job", "runs", "seconds", "max_rss"])


# --------------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------------
def _ordered(frame: pd.DataFrame, column: str, order: list[str]) -> pd.DataFrame:
    position = {name: i for i, name in enumerate(order)}
    return frame.sort_values(column, key=lambda s: s.map(position).fillna(len(order)), kind="stable")


def summary_tables(summary: pd.DataFrame, protocol: str, baseline: str, confidence: float,
                   target: float, dataset: str) -> tuple[Table, Table]:
    conf = f"{confidence * 100:g} %"
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
    conf = f"{confidence * 100:g} %"
    main, tests, classes = [], [], []
    for _, row in rows.iterrows():
        main.append([
            str(row["a"]),
            str(row["b"]),
            str(int(row["n_pairs"])),
            signed(row["mean_diff"], 2, 100.0),
            interval(row["diff_ci_low"], row["diff_ci_high"], signed=True),
            signed(row["mean_diff_examples"], 2),
            interval(row["diff_ci_low"], row["diff_ci_high"], scale=n_val, signed=True),
            f"{int(row['wins'])} / {int(row['ties'])} / {int(row['losses'])}",
            number(row["p_a_better"], 2),
            interval(row["p_a_better_ci_low"], row["p_a_better_ci_high"], scale=1.0),
            str(row["reading"]),
            pvalue(row["p_holm"]),
            "yes" if bool(row["equivalent"]) else "no",
        ])
        tests.append([
            str(row["a"]),
            str(row["b"]),
            number(row["cliffs_delta"], 3),
            number(row["rank_biserial"], 3),
            number(row["hedges_dz"], 2),
            pvalue(row["p_sign_flip"]),
            pvalue(row["p_holm"]),
            pvalue(row["p_wilcoxon"]),
            pvalue(row["p_t"]),
        ])
        classes.append("good" if str(row["reading"]).startswith("significant") else "")
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


# --------------------------------------------------------------------------------------------------
# the verdict
# --------------------------------------------------------------------------------------------------
def _oriented(comparisons: pd.DataFrame, a: str, b: str) -> dict | None:
    """The comparison of a against b, flipping the stored (b, a) row when needed (A and B swap roles:
    differences change sign, P(A>B) becomes 1 - P, the reading mirrors)."""
    direct = comparisons[(comparisons["a"] == a) & (comparisons["b"] == b)]
    if len(direct):
        return direct.iloc[0].to_dict()
    flipped = comparisons[(comparisons["a"] == b) & (comparisons["b"] == a)]
    if not len(flipped):
        return None
    row = flipped.iloc[0].to_dict()
    out = dict(row, a=a, b=b, wins=row["losses"], losses=row["wins"])
    for key in ("mean_diff", "mean_diff_examples", "cliffs_delta", "rank_biserial", "hedges_dz"):
        out[key] = -row[key]
    out["diff_ci_low"], out["diff_ci_high"] = -row["diff_ci_high"], -row["diff_ci_low"]
    out["p_a_better"] = 1.0 - row["p_a_better"]
    out["p_a_better_ci_low"] = 1.0 - row["p_a_better_ci_high"]
    out["p_a_better_ci_high"] = 1.0 - row["p_a_better_ci_low"]
    out["reading"] = _MIRROR.get(row["reading"], row["reading"])
    return out


def _the_baseline(name: str) -> Markup:
    """'the baseline', naming it unless it is called 'baseline'."""
    return Markup("the baseline") if name == "baseline" else Markup("the baseline {}").format(_bold(name))


def _convincing(row: Mapping, alpha: float) -> bool:
    """Beats B convincingly: P(A>B)'s interval above 0.5, Holm-adjusted p below alpha, difference interval
    above zero."""
    return (str(row["reading"]).startswith("significant") and _finite(row["p_holm"])
            and float(row["p_holm"]) < alpha and float(row["diff_ci_low"]) > 0)


def verdict(summary: pd.DataFrame, comparisons: pd.DataFrame, *, baseline: str, confidence: float,
            equivalence_examples: float = 1.0, optimizers: Mapping[str, tuple[float, bool]] | None = None
            ) -> tuple[Markup, list[Markup], str | None, list[str]]:
    """Headline, sentences, best schedule and the schedules that beat the baseline convincingly, for one
    (dataset, protocol). ``optimizers`` maps a schedule to its (momentum, nesterov), to say when a comparison
    changes the optimizer too."""
    alpha = 1.0 - confidence
    conf = f"{confidence * 100:g} %"
    if summary.empty:
        return Markup("No results."), [Markup("There are no runs for this protocol.")], None, []
    by_name = summary.set_index("schedule")
    n_val = int(summary["n_val"].iloc[0])
    n_seeds = int(summary["n_seeds"].min())
    point = 100.0 / n_val
    vs = comparisons[comparisons["vs_baseline"].astype(bool) & (comparisons["b"] == baseline)]
    convincing = [r["a"] for _, r in vs.iterrows() if _convincing(r, alpha)]
    sentences: list[Markup] = []
    if baseline not in by_name.index:
        best = str(summary.loc[summary["mean"].idxmax(), "schedule"])
        sentences.append(Markup("The baseline {} has no runs here; {} has the highest mean, {}.").format(
            _bold(baseline), _bold(best), pct_k(by_name.loc[best, "mean"], n_val)))
        return Markup("No baseline to compare with."), sentences, best, []
    base = by_name.loc[baseline]
    others = summary[summary["schedule"] != baseline]
    if others.empty:
        return (Markup("Only the baseline was run."), [Markup("Only {} was run: nothing to compare.").format(
            _bold(baseline))], baseline, [])
    top = others.loc[others["mean"].idxmax()]
    best = str(top["schedule"])
    row = _oriented(comparisons, best, baseline)
    if float(top["mean"]) <= float(base["mean"]):
        sentences.append(Markup(
            "No schedule has a higher mean final validation accuracy than {} ({}). The closest, "
            "{}, scores {}.").format(_the_baseline(baseline), pct_k(base["mean"], n_val), _bold(best),
                                     pct_k(top["mean"], n_val)))
        best_overall = baseline
    else:
        sentences.append(Markup(
            "{} has the highest mean final validation accuracy: {}, against {} for {}.").format(
            _bold(best), pct_k(top["mean"], n_val), pct_k(base["mean"], n_val), _the_baseline(baseline)))
        best_overall = best
    if row is not None:
        sentences.append(Markup(
            "By how much: {} points, {} examples of {} ({} paired bootstrap interval {} points, {} examples)."
        ).format(signed(row["mean_diff"], 2, 100.0), signed(row["mean_diff_examples"], 1), n_val, conf,
                 interval(row["diff_ci_low"], row["diff_ci_high"], signed=True),
                 interval(row["diff_ci_low"], row["diff_ci_high"], scale=n_val, digits=1, signed=True)))
        sentences.append(Markup(
            "How sure: it beats the baseline on {} of {} seeds ({} ties, {} losses); P(A&gt;B) = {} {}, which "
            "Bouthillier et al. would read as {}. The sign-flip permutation test gives p = {} after Holm's "
            "adjustment over the {} comparisons with the baseline.").format(
            int(row["wins"]), int(row["n_pairs"]), int(row["ties"]), int(row["losses"]),
            number(row["p_a_better"], 2), interval(row["p_a_better_ci_low"], row["p_a_better_ci_high"], scale=1.0),
            READING_WORDS.get(str(row["reading"]), str(row["reading"])), pvalue(row["p_holm"]), len(vs)))
        low_ex, high_ex = row["diff_ci_low"] * n_val, row["diff_ci_high"] * n_val
        band = f"+/-{equivalence_examples:g} example ({equivalence_examples * point:.2f} points)"
        if bool(row["equivalent"]):
            sentences.append(Markup(
                "Practically equivalent to the baseline: the whole interval of the difference lies inside {}."
            ).format(band))
        elif low_ex > equivalence_examples:
            sentences.append(Markup(
                "Not practically equivalent to the baseline: the whole interval lies above {}, so the gain is "
                "more than one validation example.").format(band))
        elif high_ex < -equivalence_examples:
            sentences.append(Markup(
                "Not practically equivalent: the whole interval lies below {}, the baseline is better.").format(band))
        else:
            sentences.append(Markup(
                "Neither equivalence nor a difference beyond {} is shown: the interval of the difference "
                "straddles the band's edge.").format(band))
    if convincing:
        sentences.append(Markup(
            "Schedules that beat the baseline convincingly (P(A&gt;B) interval above 0.5, Holm-adjusted p &lt; {:g}, "
            "difference interval above 0): {}.").format(alpha, Markup(", ").join(_bold(n) for n in convincing)))
    else:
        sentences.append(Markup("{}").format(_bold(
            "No schedule beats the baseline convincingly: none has a P(A>B) interval above 0.5 together with a "
            f"Holm-adjusted p < {alpha:g} and a difference interval above 0.")))
    ties, equivalent_to_best = [], []
    if best_overall != baseline and len(others) > 1:
        for name in others["schedule"]:
            pair = _oriented(comparisons, best, name) if name != best else None
            if pair is None:
                continue
            if bool(pair["equivalent"]):
                equivalent_to_best.append(name)
            # Separated only by the same bar as against the baseline; anything less is not settled.
            if not _convincing(pair, alpha):
                ties.append(Markup("{} (P = {} {}, Holm p = {})").format(
                    name, number(pair["p_a_better"], 2),
                    interval(pair["p_a_better_ci_low"], pair["p_a_better_ci_high"], scale=1.0),
                    pvalue(pair["p_holm"])))
        if ties:
            sentences.append(Markup(
                "The top is not settled: {} does not beat {} convincingly.").format(
                _bold(best), Markup(", ").join(ties)))
        else:
            sentences.append(Markup(
                "{} beats every other schedule convincingly too (P(A&gt;B) interval above 0.5, Holm-adjusted p "
                "&lt; {:g}, difference interval above 0).").format(_bold(best), alpha))
        if equivalent_to_best:
            sentences.append(Markup(
                "Practically equivalent to {} (the interval of the difference inside {}): {}.").format(
                _bold(best), f"+/-{equivalence_examples:g} example", Markup(", ").join(
                    _bold(n) for n in equivalent_to_best)))
    if optimizers and best_overall != baseline and best in optimizers and baseline in optimizers:
        if optimizers[best] != optimizers[baseline]:
            sentences.append(Markup(
                "The comparison changes more than the schedule: {} runs SGD with momentum {:g}{}, {} with "
                "momentum {:g}{} (as in the article), so the difference is that of schedule and optimizer "
                "together.").format(
                _bold(best), optimizers[best][0], " (Nesterov)" if optimizers[best][1] else "",
                _bold(baseline), optimizers[baseline][0], " (Nesterov)" if optimizers[baseline][1] else ""))
    if n_seeds < NOETHER_RUNS:
        sentences.append(Markup(
            "Only {} seeds: fewer than the {} paired runs Bouthillier et al. need to detect P(A&gt;B) = 0.75 at "
            "alpha = beta = 0.05; a moderate real improvement can go undetected.").format(n_seeds, NOETHER_RUNS))
    if n_seeds <= 5:
        sentences.append(Markup(
            "With {} seeds an exact sign or rank test cannot give p below 2^(1 - n) = {}.").format(
            n_seeds, pvalue(2.0 ** (1 - n_seeds))))
    if row is not None and best_overall != baseline:
        status = ("convincingly better" if best in convincing else
                  "practically equivalent" if bool(row["equivalent"]) else "not convincingly better")
        headline = Markup("{} has the highest mean: {} examples ({} points) over {}, P(A&gt;B) = {}; {}.").format(
            _bold(best), signed(row["mean_diff_examples"], 1), signed(row["mean_diff"], 2, 100.0), baseline,
            number(row["p_a_better"], 2), status)
        if equivalent_to_best:
            headline += Markup(" It is practically equivalent to {}: no single winner.").format(
                Markup(", ").join(_bold(n) for n in equivalent_to_best))
    else:
        headline = Markup("No schedule beats the baseline {}.").format(_bold(baseline))
    return headline, sentences, best_overall, convincing


def protocol_difference(views: list[ProtocolView]) -> list[Markup]:
    """How the conclusions of two (or more) protocols differ, in words."""
    if len(views) < 2:
        return []
    parts = []
    bests = [v.best for v in views]
    if len(set(bests)) == 1:
        parts.append(Markup("The best schedule by mean is the same under every protocol: {}.").format(
            _bold(bests[0])))
    else:
        parts.append(Markup("The best schedule by mean differs: {}.").format(
            Markup("; ").join(Markup("{} under {}").format(_bold(v.best), v.name) for v in views)))
    sets = [frozenset(v.convincing) for v in views]
    if len(set(sets)) == 1:
        parts.append(Markup("The set of schedules that beat the baseline convincingly is the same ({}).").format(
            ", ".join(views[0].convincing) if views[0].convincing else "none"))
    else:
        parts.append(Markup("Schedules that beat the baseline convincingly: {}.").format(
            Markup("; ").join(Markup("{} under {}").format(", ".join(v.convincing) or "none", v.name)
                              for v in views)))
    parts.append(Markup("The baseline scores {}; the width of its mean's interval is {}.").format(
        Markup("; ").join(Markup("{} under {}").format(pct(v.baseline_mean), v.name) for v in views),
        Markup("; ").join(Markup("{:.2f} points under {}").format(v.baseline_ci_width * 100, v.name)
                          for v in views)))
    if any(v.name == "resplit" for v in views) and any(v.name == "tail" for v in views):
        tail = next(v for v in views if v.name == "tail")
        resplit = next(v for v in views if v.name == "resplit")
        if tail.majority is not None and resplit.majority is not None:
            parts.append(Markup(
                "The tail split is easier and unbalanced (majority class {} against {} for a stratified "
                "split), and under resplit the split's own variance enters every interval: conclusions that "
                "hold under both protocols are the ones to trust beyond this particular validation set.").format(
                pct(tail.majority), pct(resplit.majority)))
    return parts


# --------------------------------------------------------------------------------------------------
# assembling one dataset
# --------------------------------------------------------------------------------------------------
def _data_uri(path: str | os.PathLike) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _figure_views(dataset: str, protocols: list[str], figures: Mapping[str, str | os.PathLike]):
    dataset_figures, protocol_figures, missing = [], [], []
    for name in plots.DATASET_FIGURES:
        title, caption, alt = FIGURE_TEXT[name]
        if name in figures and Path(figures[name]).exists():
            dataset_figures.append(FigureView(title, caption, f"{alt} ({dataset}).", _data_uri(figures[name])))
        else:
            missing.append(name)
    for kind in plots.PROTOCOL_FIGURES:
        title, caption, alt = FIGURE_TEXT[kind]
        items = []
        for protocol in protocols:
            key = f"{protocol}-{kind}"
            if key in figures and Path(figures[key]).exists():
                items.append(FigureView(f"{title} ({protocol})", caption, f"{alt} ({dataset}, {protocol} protocol).",
                                        _data_uri(figures[key]), protocol))
            else:
                missing.append(key)
        if items:
            protocol_figures.append((title, caption, items))
    return dataset_figures, protocol_figures, missing


def _provenance_table(dataset: str, provenance: Mapping | None) -> Table:
    provenance = provenance or {}
    attempts = provenance.get("attempts") or []
    attempt_text = "; ".join(
        f"{a.get('url')} attempt {a.get('attempt')}: {a.get('error') or 'ok'}" for a in attempts) or "none recorded"
    rows = [
        ["source", str(provenance.get("source", "unknown"))],
        ["URL or path", str(provenance.get("url", "unknown"))],
        ["SHA-256", str(provenance.get("sha256", "unknown"))],
        ["bytes", str(provenance.get("bytes", "unknown"))],
        ["download attempts", attempt_text],
        ["notes", " ".join(provenance.get("notes") or []) or "none"],
    ]
    return Table(id=f"provenance-{dataset}", caption=f"Data provenance of {dataset}.", columns=["Field", "Value"],
                 rows=rows)


def _dataset_view(config: dict, dataset: str, results_dir, figures, provenance) -> DatasetView:
    report = config["report"]
    baseline = report["baseline"]
    confidence = float(report.get("confidence", 0.95))
    equivalence = float(report.get("equivalence_examples", plots.EQUIVALENCE_EXAMPLES))
    order = list(config["schedules"])
    optimizers = {name: (float(spec.get("momentum", 0.0)), bool(spec.get("nesterov", False)))
                  for name, spec in config["schedules"].items()}
    tables = plots.read_results(results_dir, dataset)
    runs, predictions = tables["runs"], tables["predictions"]
    summary, comparisons, friedman = tables["summary"], tables["comparisons"], tables["friedman"]
    protocols = [p for p in config["protocols"]]
    majority = plots.majority_class_accuracy(predictions) if not predictions.empty else {}
    replication = (stats.replication_table(runs, report.get("article", {}))
                   if not runs.empty and report.get("article") else pd.DataFrame())
    finals = plots.final_epoch(runs) if not runs.empty else pd.DataFrame()
    views = []
    replication_gap = None
    for protocol in protocols:
        s = _ordered(summary[summary["protocol"] == protocol], "schedule", order) if not summary.empty else summary
        c = comparisons[comparisons["protocol"] == protocol] if not comparisons.empty else comparisons
        if not c.empty:
            c = c.assign(vs_baseline=c["vs_baseline"].astype(str).str.lower().isin(["true", "1"]),
                         equivalent=c["equivalent"].astype(str).str.lower().isin(["true", "1"]))
        n_val = int(s["n_val"].iloc[0]) if not s.empty else 0
        n_seeds = int(s["n_seeds"].max()) if not s.empty else 0
        headline, sentences, best, convincing = verdict(s, c if not c.empty else pd.DataFrame(
            columns=list(stats.COMPARISON_COLUMNS)), baseline=baseline, confidence=confidence,
            equivalence_examples=equivalence, optimizers=optimizers)
        main, secondary = summary_tables(s, protocol, baseline, confidence, report.get("target_accuracy", 0.95),
                                         dataset)
        empty = pd.DataFrame(columns=list(stats.COMPARISON_COLUMNS))
        vs_rows = c[c["vs_baseline"]] if not c.empty else empty
        pair_rows = c[~c["vs_baseline"]] if not c.empty else empty
        vs_table, vs_tests = comparison_tables(vs_rows, n_val, confidence, f"vs-baseline-{dataset}-{protocol}",
                                               f"Each schedule against {baseline} ({protocol})")
        pair_table, pair_tests = comparison_tables(pair_rows, n_val, confidence, f"pairs-{dataset}-{protocol}",
                                                   f"All other pairs ({protocol})")
        rep_table, rep_notes, gap = _replication(replication, protocol, majority.get(protocol), confidence, dataset)
        replication_gap = replication_gap or gap
        base = s[s["schedule"] == baseline]
        views.append(ProtocolView(
            name=protocol,
            description=PROTOCOL_TEXT.get(protocol, "a custom protocol ({n_val} validation rows)").format(n_val=n_val),
            n_seeds=n_seeds, n_val=n_val, headline=headline, verdict=sentences, summary=main, secondary=secondary,
            vs_baseline=vs_table, vs_baseline_tests=vs_tests, pairs=pair_table, pairs_tests=pair_tests,
            replication=rep_table, replication_notes=rep_notes, majority=majority.get(protocol), best=best,
            convincing=convincing,
            baseline_mean=float(base["mean"].iloc[0]) if len(base) else math.nan,
            baseline_ci_width=float(base["ci_high"].iloc[0] - base["ci_low"].iloc[0]) if len(base) else math.nan,
        ))
    dataset_figures, protocol_figures, missing = _figure_views(dataset, protocols, figures or {})
    friedman_rows = []
    for _, row in friedman.iterrows():
        decision = ("the schedules differ" if _finite(row["p"]) and row["p"] < 1 - confidence
                    else "no difference shown")
        friedman_rows.append([str(row["protocol"]), str(int(row["n_seeds"])), str(int(row["n_schedules"])),
                              number(row["statistic"], 2), pvalue(row["p"]), decision])
    friedman_table = Table(
        id=f"friedman-{dataset}",
        caption=f"Friedman omnibus test over all schedules ({dataset}), seeds as blocks, on correct counts "
                f"(complete blocks only). A small p says at least one schedule differs; the paired comparisons "
                f"say which.",
        columns=["Protocol", "Seeds", "Schedules", "Chi-square (Friedman)", "p", f"At alpha = {1 - confidence:g}"],
        rows=friedman_rows,
    )
    counts, listed = [], []
    if not finals.empty:
        for name in order:
            cells = [name]
            for protocol in protocols:
                sub = finals[(finals["schedule"] == name) & (finals["protocol"] == protocol)]
                cells.append(f"{int(sub['diverged'].sum())} of {len(sub)}")
            counts.append(cells)
        bad = finals[finals["diverged"]]
        for _, row in _ordered(bad, "schedule", order).iterrows():
            listed.append([str(row["protocol"]), str(row["schedule"]), str(int(row["seed"])),
                           number(row["first_diverged_epoch"], 0), pct_k(row["accuracy"], int(row["n_val"]))])
    diverged_counts = Table(
        id=f"diverged-counts-{dataset}",
        caption=f"Diverged runs per schedule ({dataset}): a run diverged when its training loss became NaN or "
                f"infinite; it keeps its (final) accuracy in every statistic.",
        columns=["Schedule", *protocols], rows=counts)
    diverged_runs = Table(
        id=f"diverged-runs-{dataset}", caption=f"Every diverged run ({dataset}).",
        columns=["Protocol", "Schedule", "Seed", "First diverged epoch", "Final accuracy"], rows=listed,
        row_classes=["diverged"] * len(listed)) if listed else None
    return DatasetView(
        name=dataset, protocols=views, protocol_difference=protocol_difference(views),
        dataset_figures=dataset_figures, protocol_figures=protocol_figures, missing_figures=missing,
        friedman=friedman_table, diverged_counts=diverged_counts, diverged_runs=diverged_runs,
        n_diverged=len(listed), provenance=_provenance_table(dataset, provenance), replication_gap=replication_gap,
    )


def _replication(replication: pd.DataFrame, protocol: str, majority: float | None, confidence: float,
                 dataset: str) -> tuple[Table | None, list[str], str | None]:
    """The replication table of one protocol, its notes (majority class) and the sentence on the article's
    own gap between single runs (the same for every protocol)."""
    notes, gap = [], None
    conf = f"{confidence * 100:g} %"
    if majority is not None:
        notes.append(f"Majority-class accuracy of the validation split ({protocol}): {pct(majority)}. Always "
                     f"answering the most frequent label scores this; any model must beat it.")
    rows = replication[replication["protocol"] == protocol] if not replication.empty else replication
    if rows is None or rows.empty:
        return None, notes, None
    out = []
    floors = {}
    for _, row in rows.iterrows():
        n_val = int(row["n_val"])
        k = row["article_correct"]
        floor = stats.wilson_interval(float(k), n_val, confidence) if _finite(k) else (math.nan, math.nan)
        floors[row["schedule"]] = (row["article"], floor)
        out.append([
            str(row["schedule"]),
            pct(row["article"]),
            f"{count(k)}/{n_val}" if _finite(k) else "not a k/n value",
            pct_k(row["mean"], n_val),
            pct_k(row["median"], n_val),
            f"{pct(row['min'])} to {pct(row['max'])}",
            f"{row['frac_below'] * 100:.0f} / {row['frac_equal'] * 100:.0f} / {row['frac_above'] * 100:.0f} %",
            f"{row['article_percentile'] * 100:.0f} %",
            interval(*floor),
        ])
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
    if len(floors) >= 2:
        (low_name, (low_value, low_floor)), (high_name, (high_value, high_floor)) = (
            min(floors.items(), key=lambda kv: kv[1][0]), max(floors.items(), key=lambda kv: kv[1][0]))
        if _finite(low_floor[1]) and _finite(high_floor[0]):
            # Marginal intervals say how a single score would move on new data; they are no test of the gap,
            # since both runs are scored on the same rows: the paired comparison over seeds is.
            gap = (
                f"The article's gap between {low_name} ({pct(low_value)}) and {high_name} ({pct(high_value)}) comes "
                f"from one run each. On a new validation set of the same size, each of those single scores would "
                f"carry the Wilson intervals {interval(*low_floor)} and {interval(*high_floor)}; on these rows the "
                f"runs are paired, and the paired comparison over our seeds (tables above) is what tests the gap.")
    return table, notes, gap


# --------------------------------------------------------------------------------------------------
# schedules, methods, run time
# --------------------------------------------------------------------------------------------------
def _param_text(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_param_text(v) for v in value) + ")"
    return str(value)


def schedule_view(config: dict, dataset: str | None) -> tuple[Table, str]:
    schedules = build_schedules(config["schedules"])
    epochs = config["training"]["epochs"]
    spe = None
    if dataset is not None:
        rows_total = config["datasets"][dataset]["rows"]
        n_train = rows_total - validation_rows(rows_total, config["validation_fraction"])
        spe = steps_per_epoch(n_train, config["training"]["batch_size"])
    rows = []
    for schedule in schedules:
        params = {k: v for k, v in schedule.params().items() if k != "per"}
        counter = f"epoch (reacts to {schedule.monitor})" if schedule.reactive else schedule.per
        rows.append([
            schedule.name, schedule.type, counter, schedule.equation,
            ", ".join(f"{k} = {_param_text(v)}" for k, v in params.items()),
            f"{schedule.momentum:g}", "yes" if schedule.nesterov else "no", f"{schedule.initial_rate:g}",
        ])
    starts = sorted({round(s.initial_rate, 12) for s in schedules})
    per_epoch = f" ({spe} updates per epoch)" if spe else ""
    if len(starts) == 1:
        sentence = (f"All {len(schedules)} schedules start at a learning rate of {starts[0]:g} and train the same "
                    f"{epochs} epochs{per_epoch}, with the batch size {config['training']['batch_size']}; they "
                    f"differ in how the rate decays and in the momentum they are paired with.")
    else:
        sentence = (f"The schedules start at different rates ({', '.join(f'{s:g}' for s in starts)}); all train "
                    f"the same {epochs} epochs{per_epoch}.")
    table = Table(
        id="schedule-table",
        caption="Configured schedules: the formula (t counts updates or epochs from 0, as the 'counts per' column "
                "says), its parameters and the SGD settings it is paired with.",
        columns=["Schedule", "Type", "Counts per", "Equation", "Parameters", "Momentum", "Nesterov", "First rate"],
        rows=rows,
    )
    return table, sentence


def runtime_view(benchmarks: Sequence[tuple[str | os.PathLike, int]]) -> tuple[Table | None, str]:
    frame = read_benchmarks(benchmarks)
    if frame.empty:
        return None, "No benchmark files were given, so no run time is reported."
    rows = []
    for _, row in frame.iterrows():
        rate = row["runs"] / row["seconds"] if _finite(row["seconds"]) and row["seconds"] > 0 else math.nan
        rows.append([row["job"], str(int(row["runs"])), number(row["seconds"], 1), number(rate, 2),
                     number(row["max_rss"], 0)])
    total_runs = int(frame["runs"].sum())
    total_seconds = float(frame["seconds"].sum(min_count=1))
    total_rate = total_runs / total_seconds if _finite(total_seconds) and total_seconds > 0 else math.nan
    rows.append(["total", str(total_runs), number(total_seconds, 1), number(total_rate, 2), ""])
    table = Table(
        id="runtime-table",
        caption="Training jobs from Snakemake's benchmark files: wall-clock seconds of each job, the runs it "
                "trained (seeds x schedules) and the resulting training runs per second.",
        columns=["Job (benchmark file)", "Runs", "Seconds", "Runs per second", "Max RSS (MB)"],
        rows=rows, row_classes=[""] * (len(rows) - 1) + ["total"],
    )
    sentence = (f"{total_runs} training runs in {number(total_seconds, 1)} s of job time: "
                f"{number(total_rate, 2)} runs per second overall.")
    return table, sentence


def methods_view(config: dict) -> dict:
    report = config["report"]
    sizes = sorted({validation_rows(spec["rows"], config["validation_fraction"])
                    for spec in config["datasets"].values()})
    n_val = " or ".join(str(n) for n in sizes) if sizes else "the same number of"
    seeds = seeds_of(config["training"])
    consecutive = bool(seeds) and seeds == list(range(seeds[0], seeds[0] + len(seeds)))
    seed_text = (f"{len(seeds)} seeds ({seeds[0]} to {seeds[-1]})" if consecutive
                 else f"{len(seeds)} seeds ({', '.join(map(str, seeds))})")
    return {
        "protocols": [(p, PROTOCOL_TEXT.get(p, "a custom protocol ({n_val} validation rows)").format(n_val=n_val))
                      for p in config["protocols"]],
        "resplit_clause": " (and, under resplit, the split)" if "resplit" in config["protocols"] else "",
        "seeds": seed_text,
        "engine": config["training"].get("engine", "unknown"),
        "epochs": config["training"]["epochs"],
        "batch_size": config["training"]["batch_size"],
        "confidence": f"{float(report.get('confidence', 0.95)) * 100:g} %",
        "alpha": f"{1 - float(report.get('confidence', 0.95)):g}",
        "resamples": f"{int(report.get('bootstrap_resamples', 50000)):,}",
        "rng_seed": report.get("rng_seed", "unknown"),
        "target": pct(report.get("target_accuracy", 0.95), 0),
        "baseline": report["baseline"],
        "equivalence": f"{float(report.get('equivalence_examples', 1)):g}",
        "resplit": "resplit" in config["protocols"],
        "hidden_units": config["model"]["hidden_units"],
        "hidden_activation": config["model"]["hidden_activation"],
        "init_stddev": f"{config['model']['init_stddev']:g}",
    }


# --------------------------------------------------------------------------------------------------
# the entry point
# --------------------------------------------------------------------------------------------------
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("schedbench", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def build_context(config: dict, datasets: list[str], results_dir, figures, provenance, benchmarks,
                  now: dt.datetime | None = None) -> dict:
    now = now or dt.datetime.now(dt.timezone.utc)
    views = [_dataset_view(config, d, results_dir, (figures or {}).get(d, {}), (provenance or {}).get(d))
             for d in datasets]
    schedule_table, schedule_sentence = schedule_view(config, datasets[0] if datasets else None)
    runtime_table, runtime_sentence = runtime_view(benchmarks or [])
    return {
        "title": "Learning-rate schedules compared: " + ", ".join(datasets),
        "datasets": views,
        "multi_protocol": len(config["protocols"]) > 1,
        "baseline": config["report"]["baseline"],
        "schedule_table": schedule_table,
        "schedule_sentence": schedule_sentence,
        "lr_note": LR_NOTE,
        "methods": methods_view(config),
        "config_yaml": yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=110),
        "versions": package_versions(),
        "git_commit": _git_commit(),
        "rendered_utc": now.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "machine": machine_info(),
        "runtime_table": runtime_table,
        "runtime_sentence": runtime_sentence,
    }


def render_html(context: dict) -> str:
    return _environment().get_template("report.html.j2").render(**context)


def render_report(
    config: dict,
    datasets: list[str],
    results_dir: str | os.PathLike,
    figures: Mapping[str, Mapping[str, str | os.PathLike]],
    provenance: Mapping[str, Mapping],
    benchmarks: Sequence[tuple[str | os.PathLike, int]],
    out_path: str | os.PathLike,
) -> Path:
    """Write the self-contained HTML report to ``out_path`` atomically and return the path.

    ``results_dir`` holds ``<dataset>/runs.csv`` etc.; ``figures`` maps dataset -> {figure name -> PNG path}
    (as returned by :func:`schedbench.plots.save_figures`); ``provenance`` maps dataset -> the JSON of
    ``data/raw/<dataset>.provenance.json``; ``benchmarks`` lists (benchmark TSV, runs the job trained).
    """
    html = render_html(build_context(config, datasets, results_dir, figures, provenance, benchmarks))
    atomic_write_text(out_path, html)
    return Path(out_path)


__all__ = ["render_report", "render_html", "build_context", "verdict", "LR_NOTE", "FIGURE_TEXT"]

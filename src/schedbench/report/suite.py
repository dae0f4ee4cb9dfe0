"""The overview's answer across datasets (and, :func:`band_table`, the equivalence band each dataset was called with): a tuning study's suite tables (``results/{study}/suite/``) as views, with
the words that say what five datasets can and cannot conclude. Every number comes from the suite rule's tables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from markupsafe import Markup

from schedbench.figures.registry import BY_NAME
from schedbench.report.captions import data_uri
from schedbench.report.format import bold, number, pct, pvalue
from schedbench.report.views import FigureView, Table
from schedbench.report.wording import the_baseline
from schedbench.tables import read_table


@dataclass
class SuiteView:
    title: str
    headline: Markup
    sentences: list[Markup]
    figures: list[FigureView]
    tables: list[Table]


def _pivot(frame: pd.DataFrame, value, families: list[str]) -> tuple[list[str], list[list[str]]]:
    """Datasets as rows, families as columns, ``value(row)`` as cells."""
    datasets = list(pd.unique(frame["dataset"]))
    cells = {(row["dataset"], row["family"]): value(row) for _, row in frame.iterrows()}
    return ["Dataset", *families], [[d, *(cells.get((d, f), "n/a") for f in families)] for d in datasets]


def suite_view(study: str, tables: Mapping[str, pd.DataFrame], figures: Mapping[str, str | os.PathLike],
               captions: Mapping[str, Markup], *, baseline: str, alpha: float,
               references: Mapping[str, Mapping] | None = None) -> SuiteView:
    """The study's verdict across its datasets; ``references``, dataset -> its published figure
    (``datasets.<name>.reference``), adds a sentence setting each beside the best tuned family's mean here."""
    average = tables["suite_average_ranks"].sort_values("average_rank", kind="stable")
    families = list(tables["suite_average_ranks"]["family"])
    friedman = tables["suite_friedman"].iloc[0]
    n, k, cd = int(friedman["n_datasets"]), int(friedman["n_families"]), float(friedman["critical_difference"])
    differ = friedman["friedman_p"] < alpha
    headline = Markup("Across {} datasets the average ranks of the tuned families are {}; Friedman's test over "
                      "datasets gives p = {}: {}.").format(
        n, Markup(", ").join(Markup("{} {}").format(bold(f), number(r, 2))
                             for f, r in zip(average["family"], average["average_rank"])),
        pvalue(friedman["friedman_p"]),
        "the families differ somewhere" if differ else "no difference between the families is shown")
    posthoc = tables["suite_posthoc"]
    apart = posthoc[posthoc["nemenyi_different"]]
    sentences = [
        Markup("What the suite can conclude: Nemenyi's test tells two families apart only when their average ranks "
               "differ by more than CD = {} (at alpha = {:g}), while ranks span 1 to {}. With {} datasets only a family "
               "that ranks ahead of another on nearly every dataset can be told apart from it, and the Friedman test "
               "has little power: a result without a difference means the suite cannot separate the families, not "
               "that they perform alike.").format(number(cd, 2), alpha, k, n),
        Markup("Pairs Nemenyi tells apart: {}.").format(
            Markup(", ").join(Markup("{} and {}").format(bold(a), bold(b)) for a, b in zip(apart["a"], apart["b"]))
            if len(apart) else "none"),
    ]
    sentences.append(_ranks_and_profiles(average, tables["suite_profiles"], n))
    if published := published_sentence(tables["suite_ranks"], references or {}):
        sentences.append(published)
    vs = posthoc[posthoc["vs_baseline"]]
    better = vs[(vs["p_holm"] < alpha)]
    sentences.append(Markup("Against {} (Demsar's z on average ranks, Holm): {}.").format(
        the_baseline(baseline), Markup(", ").join(bold(name) for name in
                                          [a if a != baseline else b for a, b in zip(better["a"], better["b"])])
        if len(better) else "no family differs"))
    rank_columns, rank_rows = _pivot(tables["suite_ranks"],
                                     lambda r: f"{pct(r['test_accuracy_mean'])} ({number(r['rank'], 1)})", families)
    score_columns, score_rows = _pivot(tables["suite_scores"], lambda r: number(r["normalised_score"], 2), families)
    wtl = tables["suite_win_tie_loss"]
    wtl_cells = {(r["a"], r["b"]): _win_tie_loss_cell(r) for _, r in wtl.iterrows()}
    view_tables = [
        Table(id=f"suite-ranks-{study}", caption=(
            "Tuned test accuracy (mean over seeds) and rank (1 = best, ties share the average rank) of each family on "
            "each dataset."), columns=rank_columns, rows=rank_rows),
        Table(id=f"suite-average-{study}", caption=(
            f"Average rank over the {n} datasets and the number of datasets on which the family ranks first."),
              columns=["Family", "Datasets", "Average rank", "Best on"],
              rows=[[r["family"], str(int(r["n_datasets"])), number(r["average_rank"], 2), str(int(r["best_count"]))]
                    for _, r in average.iterrows()],
              row_classes=["baseline" if f == baseline else "" for f in average["family"]]),
        Table(id=f"suite-friedman-{study}", caption=(
            "Friedman's test over datasets (blocks) and families, Iman and Davenport's F, Nemenyi's q and critical "
            "difference, and the gap in average ranks from the baseline this design would detect with 80 % power: "
            "over every dataset, then over each group of datasets alone when there are several (n/a: a group of one "
            "dataset)."),
              columns=["Datasets of", "Datasets", "Families", "Chi-square", "p", "Iman-Davenport F", "p (F)",
                       "q_alpha", "Critical difference", "Detectable rank gap (80 % power)"],
              rows=[[row["dataset_group"], str(int(row["n_datasets"])), str(int(row["n_families"])),
                     number(row["friedman_chi2"], 2), pvalue(row["friedman_p"]), number(row["iman_davenport_f"], 2),
                     pvalue(row["iman_davenport_p"]), number(row["q_alpha"], 3),
                     number(row["critical_difference"], 2), number(row["mde_rank_diff"], 2)]
                    for _, row in tables["suite_friedman"].iterrows()]),
        Table(id=f"suite-wtl-{study}", caption=(
            "Wins / ties / losses of the row's family against the column's over datasets, each decided by that "
            "dataset's own paired comparison on test rows and its decision: a win is 'better' (reliably better and not "
            "inside the equivalence band), a tie is 'equivalent' or a reliable but negligible difference inside the band, "
            "and a dataset where neither is shown is counted as inconclusive, never as a tie. Beside each count: what "
            "its ties are (equivalent, or negligible) and how many datasets were left undecided."),
              columns=["Family", *families],
              rows=[[a, *(wtl_cells.get((a, b), "") for b in families)] for a in families]),
        Table(id=f"suite-scores-{study}", caption=(
            "Normalised scores: (accuracy - majority-class accuracy) / (best family's accuracy - majority-class "
            "accuracy) on each dataset: 1 = the best family there, 0 = always answering the most frequent class."),
              columns=score_columns, rows=score_rows),
    ]
    view_figures = [
        FigureView(BY_NAME[name].title, captions[name], f"{BY_NAME[name].alt} ({study}).", data_uri(path))
        for name, path in figures.items()
    ]
    return SuiteView(f"{study}: {n} datasets", headline, sentences, view_figures, view_tables)


def published_sentence(ranks: pd.DataFrame, references: Mapping[str, Mapping]) -> Markup | None:
    """Each dataset's published test accuracy beside the best tuned family's mean here; None without any."""
    parts = []
    for dataset, rows in ranks.groupby("dataset", sort=False):
        if dataset not in references:
            continue
        best = rows.loc[rows["test_accuracy_mean"].idxmax()]
        parts.append(Markup("{}: {} published ({}), {} here ({}, the best tuned family's mean)").format(
            bold(dataset), pct(references[dataset]["accuracy"]), references[dataset]["source"],
            pct(best["test_accuracy_mean"]), best["family"]))
    if not parts:
        return None
    return Markup("Published figures, for context only (trained otherwise, so not compared): {}.").format(
        Markup("; ").join(parts))


def _win_tie_loss_cell(row) -> str:
    """'0 / 4 / 0 (ties: 3 equivalent, 1 negligible; 1 inconclusive)': why each tie is a tie, and what was not
    decided."""
    why = []
    if row["ties"]:
        kinds = [f"{int(row[column])} {word}" for column, word in (("ties_equivalent", "equivalent"),
                                                                    ("ties_negligible", "negligible")) if row[column]]
        why.append("ties: " + ", ".join(kinds))
    if row["inconclusive"]:
        why.append(f"{int(row['inconclusive'])} inconclusive")
    cell = f"{int(row['wins'])} / {int(row['ties'])} / {int(row['losses'])}"
    return cell + (f" ({'; '.join(why)})" if why else "")


def _ranks_and_profiles(average: pd.DataFrame, profiles: pd.DataFrame, n: int) -> Markup:
    """Why the rank table and the performance profiles can crown different families, with who each crowns: the
    best average rank, and the family within the smallest positive tau of the best on the most datasets."""
    taus = sorted(t for t in set(profiles["tau"]) if t > 0)
    if average.empty or not taus:
        return Markup("")
    at = profiles[profiles["tau"] == taus[0]]
    most = at.loc[at["fraction"] == at["fraction"].max(), "family"].tolist()
    first = average.iloc[0]
    crowned = Markup("the best average rank is {}'s ({}); within {} points of the best on the most datasets ({} of "
                     "{}): {}").format(bold(first["family"]), number(first["average_rank"], 2), f"{taus[0] * 100:g}",
                                       round(float(at["fraction"].max()) * n), n,
                                       Markup(", ").join(bold(f) for f in most))
    return Markup("Ranks and performance profiles answer different questions: a rank counts only the order on each "
                  "dataset (a lead of 0.01 points is a whole place), a profile how close in points a family comes to "
                  "the best. Here {}{}.").format(
        crowned, Markup(": both crown {}").format(bold(first["family"])) if first["family"] in most else "")


def band_table(plan, results: Mapping[str, Mapping[str, Mapping[str, str | os.PathLike]]]) -> Table | None:
    """Each dataset's equivalence band in examples and in points with the number of rows its comparisons are scored
    on (validation rows for the schedules, test rows for the tuned families), read from the comparisons tables'
    ``band_examples`` beside the summaries' n_val / n_test: band in points = band_examples / n * 100. One row per
    (dataset, protocol, split), in the plan's order; None when no comparison was made.

    ``plan``: :class:`schedbench.plan.Plan`; ``results``: study -> dataset -> {table name: CSV path}, as for
    :func:`schedbench.report.render.render_report`."""
    rows = {}
    for study, of_study in plan.studies.items():
        for dataset in of_study.datasets:
            paths = results.get(study, {}).get(dataset, {})
            for comparisons, summary, size, split in (("comparisons", "summary", "n_val", "validation"),
                                                      ("tuned_comparisons", "tuned_summary", "n_test", "test (tuned)")):
                if comparisons not in paths or summary not in paths:
                    continue
                bands = read_table(paths[comparisons], comparisons)
                sizes = read_table(paths[summary], summary)
                for protocol, of_protocol in bands.groupby("protocol", sort=False):
                    n = int(sizes.loc[sizes["protocol"] == protocol, size].iloc[0])
                    band = float(of_protocol["band_examples"].iloc[0])
                    rows.setdefault((dataset, protocol, split), [
                        dataset, protocol, f"{n} {split}", f"+/-{band:.3g}", f"+/-{band / n * 100:.2f}"])
    if not rows:
        return None
    return Table(id="equivalence-bands", caption=(
        "The equivalence band each comparison was called with: a difference whose family-level interval lies within "
        "+/- the band (with enough seeds) counts as equivalent. The band is set in examples or in points of accuracy "
        "(report.equivalence_examples or report.equivalence_points); on n rows, points = examples / n * 100."),
        columns=["Dataset", "Protocol", "Rows scored", "Band (examples)", "Band (points)"], rows=list(rows.values()))

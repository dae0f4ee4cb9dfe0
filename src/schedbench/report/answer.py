"""The overview's first screen: which schedule, on which data, by how much, how sure, and why, in a few sentences
and one figure.

The answer comes from the designs that remove the confound: the tuned comparison of each tuning study across its
datasets (``suite_vs_baseline``, ``suite_friedman``: every family tuned over the same grid on validation rows and
scored on held-out test rows), then the attribution of a study without a grid (the article's comparison, each
schedule with its own optimizer settings, split into the optimizer's part and the schedule's). Every number is read
from those tables or views; nothing is recomputed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import os
from collections.abc import Mapping, Sequence

import pandas as pd
from markupsafe import Markup

from schedbench.figures.registry import BY_NAME
from schedbench.report.captions import data_uri
from schedbench.report.format import bold, number, pvalue, signed
from schedbench.report.attribution import carried_by, points_range
from schedbench.report.views import FigureView
from schedbench.report.wording import the_baseline
from schedbench.stats.reading import Decision


# The suite figure the answer shows (the overview's one figure); the suite section shows the others.
ANSWER_FIGURE = "vs-baseline"


@dataclass
class AnswerView:
    sentences: list[Markup]  # the answer, before its figure
    figure: FigureView | None
    # What the other studies answer, after the figure (a study with budgets leads, with its figure).
    after: list[Markup] = field(default_factory=list)


def decision_counts(decisions: pd.Series) -> Markup:
    """'19 equivalent; 6 inconclusive', in the decision table's order, the decisions that occur (semicolons: a
    decision's own name may hold a comma)."""
    parts = [Markup("{} {}").format(int((decisions == d.value).sum()), d.value)
             for d in Decision if (decisions == d.value).any()]
    return Markup("; ").join(parts)


def _example_range(values: pd.Series, sizes: pd.Series) -> Markup:
    """'0.8 to 1.8 examples (0.36 to 4.17 points)' over rows (examples, rows scored)."""
    known = values.notna()
    if not known.any():
        return Markup("a size it cannot state (too few seeds, or every seed gave the same difference)")
    values, sizes = values[known], sizes[known]
    points = values / sizes * 100.0
    if values.min() == values.max():
        return Markup("{} examples ({} points)").format(number(values.min(), 1), number(points.min(), 2))
    return Markup("{} to {} examples ({} to {} points)").format(
        number(values.min(), 1), number(values.max(), 1), number(points.min(), 2), number(points.max(), 2))


def _pair(row) -> Markup:
    return Markup("{} on {} ({} examples, {} points of {} test rows: {})").format(
        bold(row["family"]), row["dataset"], signed(row["mean_diff_examples"], 1), signed(row["mean_diff"], 2, 100.0),
        int(row["n_test"]), row["decision"])


def tuned_why(family: str, attribution: pd.DataFrame, *, alpha: float) -> Markup | None:
    """Why ``family`` differs from the tuned baseline, from a tuning study's attribution rows over its datasets (each
    family against its control family): the optimizer's part, the schedule's part and what carries the difference.
    None when the study splits nothing or has no row for the family."""
    rows = attribution[attribution["schedule"] == family] if len(attribution) else attribution
    if rows.empty:
        return None
    n, control = rows["dataset"].nunique(), rows["control"].iloc[0]
    where = f"across the {n} datasets" if n > 1 else "on its one dataset"
    labels = [carried_by(row, alpha) for _, row in rows.iterrows()]
    tally = Markup(", ").join(Markup("{} on {} of {}").format(bold(label), labels.count(label), n)
                              for label in dict.fromkeys(labels))
    if control == rows["baseline"].iloc[0]:
        return Markup("{} {} runs the baseline's optimizer, so its whole difference is its schedule's: {} points "
                      "{} ({}).").format(bold("Why:"), bold(family), points_range(rows["schedule_diff"]), where, tally)
    if control == family:
        return Markup("{} {} is the baseline's schedule with another optimizer, so its whole difference is the "
                      "optimizer's: {} points {} ({}).").format(
            bold("Why:"), bold(family), points_range(rows["optimizer_diff"]), where, tally)
    return Markup("{} of {}'s difference from the tuned baseline, its optimizer's part ({} minus the baseline) is {} "
                  "points and its schedule's part ({} minus {}) {} points {}; what carries it: {}.").format(
        bold("Why:"), bold(family), control, points_range(rows["optimizer_diff"]), family, control,
        points_range(rows["schedule_diff"]), where, tally)


def _friedman_sentence(friedman: pd.DataFrame) -> Markup:
    """The omnibus test over the datasets (the first row of ``suite_friedman``) and per group of datasets (the
    others), with the rank gap it could have detected."""
    row = friedman.iloc[0]
    n, k = int(row["n_datasets"]), int(row["n_families"])
    reach = row["mde_rank_diff"]
    if not reach <= k - 1:
        power = Markup("not even a family ranking first on every dataset (a gap of {}) would be detected with 80 % "
                       "power: across datasets this design cannot separate families, only each dataset's own "
                       "comparisons can").format(k - 1)
    else:
        power = Markup("a family would have to rank {} places ahead of the baseline on average (ranks 1 to {}) to be "
                       "detected with 80 % power, so with this few datasets the suite can only separate families that "
                       "win almost everywhere").format(number(reach, 1), k)
    sentence = Markup("Across the {} datasets Friedman's test gives p = {}; {}.").format(
        n, pvalue(row["friedman_p"]), power)
    groups = friedman.iloc[1:]
    if len(groups):
        sentence += Markup(" Per group of datasets: {}.").format(Markup("; ").join(
            Markup("{} ({} dataset{}) p = {}").format(bold(g["dataset_group"]), int(g["n_datasets"]),
                                                      "" if int(g["n_datasets"]) == 1 else "s", pvalue(g["friedman_p"]))
            for _, g in groups.iterrows()))
    return sentence


def tuned_answer(study: str, vs_baseline: pd.DataFrame, friedman: pd.DataFrame, *, baseline: str,
                 attribution: pd.DataFrame | None = None, alpha: float = 0.05) -> list[Markup]:
    """Which family, on which data, by how much, how sure and (from the study's ``attribution`` rows over its
    datasets, where it pairs schedules with optimizers) why, from one tuning study's suite tables."""
    if vs_baseline.empty:
        return [Markup("The study {} compared no family with {}.").format(study, the_baseline(baseline))]
    datasets = list(dict.fromkeys(vs_baseline["dataset"]))
    decisions = vs_baseline["decision"]
    beyond = vs_baseline[decisions == Decision.BETTER.value]
    worse = vs_baseline[decisions == Decision.WORSE.value]
    design = Markup("study {}: every family tuned over the same number of settings on validation rows and scored on "
                    "held-out test "
                    "rows; {} comparisons with {} on {} datasets: {}").format(
        study, len(vs_baseline), the_baseline(baseline, tuned=True), len(datasets), decision_counts(decisions))
    if len(beyond):
        which = Markup("{} ({}): {}.").format(
            bold(f"Better than the tuned baseline beyond the equivalence band on {beyond['dataset'].nunique()} of "
                 f"{len(datasets)} datasets"), design, Markup("; ").join(_pair(row) for _, row in beyond.iterrows()))
    else:
        which = Markup("{} ({}).").format(
            bold(f"No family beats the tuned baseline beyond the equivalence band on any of the {len(datasets)} "
                 f"datasets"), design)
        means = vs_baseline["mean_diff"].dropna()
        if len(means):
            top = vs_baseline.loc[means.idxmax()]
            which += Markup(" {}: {}.").format(
                "The largest mean gain" if top["mean_diff"] > 0 else
                "No family has a higher mean anywhere; the closest", _pair(top))
    sentences = [which]
    explained = beyond if len(beyond) else vs_baseline
    means = explained["mean_diff"].dropna()
    why = (tuned_why(explained.loc[means.idxmax(), "family"], attribution, alpha=alpha)
           if attribution is not None and len(means) else None)
    if len(worse):
        sentences.append(Markup("Worse than the baseline beyond the band: {}.").format(
            Markup("; ").join(_pair(row) for _, row in worse.iterrows())))
    undecided = vs_baseline[decisions == Decision.INCONCLUSIVE.value]
    if len(undecided):
        sentences.append(Markup(
            "How sure: where neither a difference nor equivalence was shown ({} comparisons), this design would have "
            "detected a difference of {} with 80 % power; smaller gains there cannot be ruled out.").format(
            len(undecided), _example_range(undecided["mde_examples"], undecided["n_test"])))
    else:
        sentences.append(Markup("How sure: every comparison was decided (a reliable difference or equivalence within "
                                "the band, at the family-level confidence)."))
    if not friedman.empty:
        sentences.append(_friedman_sentence(friedman))
    if why is not None:
        sentences.append(why)
    return sentences


def article_answer(attribution) -> Markup:
    """Why a configured comparison differs, from one attribution view (:class:`schedbench.report.studies.
    AttributionView`): its headline and its why."""
    return Markup("{} ({}, {} split; each schedule with its own optimizer settings, as the article trained them): "
                  "{}{}").format(
        bold("Why the configured schedules differ"), attribution.title, attribution.protocol, attribution.headline,
        Markup(" {}").format(attribution.why) if attribution.why else "")


def answer_view(suite_tables: Mapping[str, Mapping[str, pd.DataFrame]],
                suite_figures: Mapping[str, Mapping[str, str | os.PathLike]], attributions: Sequence,
                captions: Mapping[str, Markup], *, baseline: str, tunings: Sequence = (),
                alpha: float = 0.05, budget_sentences: Sequence[Markup] = (),
                budget_figure: FigureView | None = None) -> AnswerView | None:
    """The overview's answer: a study with budgets first (``budget_sentences``, from
    :func:`schedbench.report.budgets.budget_answer`, and its accuracy-by-budget figure as the one figure), then each
    tuning study's suite (study -> its tables, study -> its figure paths, with the attributions of its ``tunings``
    views for the why), then the attribution of each configured comparison; None when there is none of them."""
    sentences: list[Markup] = []
    figure = budget_figure
    for study, tables in suite_tables.items():
        split = [t.attribution.rows for t in tunings if t.study == study and t.attribution is not None]
        sentences += tuned_answer(study, tables["suite_vs_baseline"], tables["suite_friedman"], baseline=baseline,
                                  attribution=pd.concat(split, ignore_index=True) if split else None, alpha=alpha)
        path = suite_figures.get(study, {}).get(ANSWER_FIGURE)
        if figure is None and path is not None and os.path.exists(path):
            spec = BY_NAME[ANSWER_FIGURE]
            figure = FigureView(spec.title, captions[ANSWER_FIGURE], f"{spec.alt} ({study}).", data_uri(path))
    sentences += [article_answer(a) for a in attributions]
    if budget_sentences:
        return AnswerView(list(budget_sentences), figure, sentences)
    return AnswerView(sentences, figure) if sentences else None

"""The report on a study with budgets (schedbench.report.budgets), from hand-made budget tables: the best family per
budget and by how much, the horizon-free families' equivalence calls, cost, time to target, the tables, and the
overview's answer that leads with "which schedule, with which optimizer, for which budget"."""

from __future__ import annotations

import html
import math
import re

import pandas as pd
import pytest
from conftest import REPO
from markupsafe import Markup

from schedbench.report.answer import answer_view
from schedbench.report.budgets import (
    budget_answer,
    budget_view,
    cost_sentence,
    headline,
    horizon_free,
    horizon_free_sentence,
    time_to_target_sentence,
)
from schedbench.report.views import FigureView
from schedbench.tables import COMPARISON_COLUMNS

FAMILIES = ["constant", "cosine", "wsd"]
EPOCHS, UPDATES_PER_EPOCH, VARIANTS = 40, 10, 4
# Mean test accuracy per budget and family: cosine best at 1/4, wsd at 1/2 and 1.
MEANS = {0.25: {"constant": 0.80, "cosine": 0.84, "wsd": 0.83},
         0.5: {"constant": 0.86, "cosine": 0.87, "wsd": 0.88},
         1.0: {"constant": 0.90, "cosine": 0.91, "wsd": 0.915}}
OPTIMIZERS = {"constant lr0=0.1": "SGD with momentum 0.9", "cosine lr0=0.1": "SGD with momentum 0.9",
              "wsd lr0=0.01": "AdamW (weight_decay 0.004)"}
CHOICE = {"constant": "constant lr0=0.1", "cosine": "cosine lr0=0.1", "wsd": "wsd lr0=0.01"}
# Updates to the target at the full budget: (median, low, high, seeds that reached it).
TO_TARGET = {"constant": (300, 250, 350, 10), "cosine": (250, 200, math.inf, 8),
             "wsd": (math.inf, math.inf, math.inf, 3)}


def summary_table(dataset="d1", means=MEANS) -> pd.DataFrame:
    rows = []
    for budget, of_budget in means.items():
        top = max(of_budget.values())
        for family in FAMILIES:
            mean = of_budget[family]
            epochs = int(budget * EPOCHS)
            read = family == "constant" and budget < 1.0
            median, low, high, reached = TO_TARGET[family] if budget == 1.0 else (100, 90, 110, 10)
            rows.append({
                "dataset": dataset, "protocol": "heldout", "family": family, "budget": budget, "epochs": epochs,
                "updates": epochs * UPDATES_PER_EPOCH, "obtained": "read" if read else "trained", "n_seeds": 10,
                "n_test": 50, "test_accuracy_mean": mean, "test_accuracy_ci_low": mean - 0.02,
                "test_accuracy_ci_high": mean + 0.01, "test_accuracy_median": mean, "test_accuracy_q25": mean - 0.01,
                "test_accuracy_q75": mean + 0.01, "modal_choice": CHOICE[family], "modal_share": 0.7,
                "target_accuracy": 0.85, "reached_target": reached, "updates_to_target_median": median,
                "updates_to_target_ci_low": low, "updates_to_target_ci_high": high,
                "training_updates": 0 if read else VARIANTS * epochs * UPDATES_PER_EPOCH, "best": mean == top,
            })
    return pd.DataFrame(rows)


def _comparison(budget, a, b, decision, mde_examples=2.0, dataset="d1"):
    row = dict.fromkeys(COMPARISON_COLUMNS, math.nan)
    row.update(dataset=dataset, protocol="heldout", a=a, b=b, decision=decision, band_examples=1.0,
               mde_examples=mde_examples, mde=mde_examples / 50, mean_diff=-0.01, n_pairs=10)
    return {"budget": budget, **row}


def comparisons_table(constant_calls=("inconclusive", "equivalent", "equivalent"), dataset="d1") -> pd.DataFrame:
    best = {0.25: "cosine", 0.5: "wsd", 1.0: "wsd"}
    runner = {0.25: ("wsd", "equivalent"), 0.5: ("cosine", "worse, negligible"), 1.0: ("cosine", "inconclusive")}
    rows = []
    for (budget, b), call in zip(best.items(), constant_calls):
        rows.append(_comparison(budget, "constant", b, call, mde_examples=2.5, dataset=dataset))
        rows.append(_comparison(budget, runner[budget][0], b, runner[budget][1], mde_examples=1.5, dataset=dataset))
    return pd.DataFrame(rows)


def _text(markup) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", str(markup)))


def _view(summary=None, comparisons=None):
    return budget_view(summary_table() if summary is None else summary,
                       comparisons_table() if comparisons is None else comparisons,
                       study="budgets", name="d1", dataset="d1", title="budgets, d1", protocol="heldout",
                       families=FAMILIES, optimizers=OPTIMIZERS, confidence=0.95)


def test_each_budget_names_its_best_family_with_its_optimizer_and_its_lead_over_the_next():
    sentences = [_text(s) for s in _view().sentences[:3]]
    assert sentences[0].startswith("At 1/4 of the run (10 epochs, 100 updates), cosine with SGD with momentum 0.9 "
                                   "is best: 84.00 % test accuracy [82.00, 85.00]")
    assert "1.00 points (0.5 of 50 test examples) above the next, wsd (83.00 %)" in sentences[0]
    assert sentences[0].endswith("paired by seed, wsd is practically equivalent to it (within +/-1 test examples).")
    assert sentences[1].startswith("At 1/2 of the run (20 epochs, 200 updates), wsd with AdamW (weight_decay 0.004) "
                                   "is best")
    assert "wsd is reliably worse" not in sentences[1]
    assert sentences[1].endswith("cosine is reliably worse, but within the +/-1 example band.")
    assert sentences[2].startswith("At the full run (40 epochs, 400 updates), wsd with AdamW")
    assert ("0.50 points (0.3 of 50 test examples) above the next, cosine (91.00 %); paired by seed, cosine is "
            "neither shown different nor equivalent (a difference of 1.5 test examples (3.00 points) would have been "
            "detected with 80 % power).") in sentences[2]


def test_the_headline_groups_consecutive_budgets_with_the_same_best():
    assert _text(headline(summary_table())) == "Best family by budget: cosine at 1/4; wsd at 1/2 and 1."


def test_a_horizon_free_family_inconclusive_somewhere_is_not_called_equivalent_everywhere():
    summary = summary_table()
    assert horizon_free(summary) == ["constant"]
    text = _text(horizon_free_sentence(summary, comparisons_table(), "constant"))
    assert text == ("constant (horizon-free: read from its full run at each shorter budget, no retraining) is not "
                    "shown practically equivalent to the best at every budget: inconclusive at 1/4 (there a "
                    "difference of 2.5 test examples (5.00 points) would have been detected with 80 % power); "
                    "equivalent at 1/2, 1.")


def test_a_horizon_free_family_equivalent_or_best_at_every_budget_is_called_so():
    means = {budget: dict(of_budget) for budget, of_budget in MEANS.items()}
    means[0.25]["constant"] = 0.85  # now the best at 1/4
    summary = summary_table(means=means)
    comparisons = comparisons_table(("equivalent", "equivalent", "equivalent"))
    text = _text(horizon_free_sentence(summary, comparisons, "constant"))
    assert text.endswith("is practically equivalent to the best family at every budget, within the band: the best "
                         "at 1/4; equivalent at 1/2, 1.")
    text = _text(horizon_free_sentence(summary_table(), comparisons, "constant"))
    assert text.endswith("is practically equivalent to the best family at every budget, within the band: equivalent "
                         "at 1/4, 1/2, 1.")


def test_a_reliable_but_negligible_difference_counts_as_practically_equivalent_as_best_by_budget_does():
    calls = ("worse, negligible", "equivalent", "equivalent")
    text = _text(horizon_free_sentence(summary_table(), comparisons_table(calls), "constant"))
    assert text.endswith("is practically equivalent to the best family at every budget, within the band: worse, "
                         "negligible at 1/4; equivalent at 1/2, 1.")


def test_worse_beyond_the_band_is_named_with_its_budgets():
    text = _text(horizon_free_sentence(summary_table(), comparisons_table(("worse", "worse", "equivalent")),
                                       "constant"))
    assert text.endswith("not shown practically equivalent to the best at every budget: worse at 1/4, 1/2; "
                         "equivalent at 1.")


def test_without_a_detectable_size_or_a_median_interval_the_sentences_say_why():
    comparisons = comparisons_table(("inconclusive", "inconclusive", "equivalent"))
    comparisons.loc[comparisons["a"] == "constant", "mde_examples"] = math.nan
    text = _text(horizon_free_sentence(summary_table(), comparisons, "constant"))
    assert text.endswith("inconclusive at 1/4, 1/2 (there the design cannot state what it would have detected: too few "
                         "seeds, or every seed gave the same difference); equivalent at 1.")
    summary = summary_table()
    summary[["updates_to_target_ci_low", "updates_to_target_ci_high"]] = math.nan
    assert "fastest cosine, median 250 updates (no interval: too few seeds)" in _text(time_to_target_sentence(summary))


def test_cost_sums_the_updates_trained_over_budgets_and_read_budgets_cost_nothing():
    text = _text(cost_sentence(summary_table()))
    assert "constant 1600 (1 of 3 budgets trained)" in text
    assert "cosine 2800 (3 of 3 budgets trained, 1.8 x the cheapest)" in text
    assert "wsd 2800 (3 of 3 budgets trained, 1.8 x the cheapest)" in text


def test_time_to_target_names_the_fastest_median_and_the_families_that_never_reach_it():
    text = _text(time_to_target_sentence(summary_table()))
    assert text == ("Time to target (85.00 % validation accuracy) over the full run: fastest cosine, median 250 updates "
                    "[200, never], reached by 8 of 10 seeds; the median run of wsd never reached it.")


def test_the_accuracy_table_marks_the_best_per_budget_and_how_each_result_was_obtained():
    view = _view()
    accuracy = view.accuracy
    assert accuracy.columns == ["Family", "1/4 (10 epochs)", "1/2 (20 epochs)", "1 (40 epochs)",
                                "Updates trained per seed"]
    rows = {row[0]: [_text(cell) for cell in row[1:]] for row in accuracy.rows}
    assert list(rows) == FAMILIES
    assert rows["cosine"][0] == "84.00 % [82.00, 85.00], trained, best"
    assert rows["constant"][0] == "80.00 % [78.00, 81.00], read"
    assert rows["constant"][2] == "90.00 % [88.00, 91.00], trained"
    assert [cells[1].endswith("best") for cells in rows.values()] == [False, False, True]
    assert rows["constant"][-1] == "1600"
    assert accuracy.csv and not accuracy.collapsed
    ttt = {row[0]: row[1:] for row in view.time_to_target.rows}
    assert ttt["wsd"][-1] == "never [never, never]; 3 of 10 reached"
    assert ttt["cosine"][-1] == "250 [200, never]; 8 of 10 reached"


def _answer(comparisons=None):
    summaries = pd.concat([summary_table("d1"), summary_table("d2")], ignore_index=True)
    if comparisons is None:
        comparisons = pd.concat([comparisons_table(dataset="d1"),
                                 comparisons_table(("equivalent",) * 3, dataset="d2")], ignore_index=True)
    return [_text(s) for s in budget_answer("budgets", summaries, comparisons, OPTIMIZERS)]


def test_the_overview_answer_says_which_schedule_with_which_optimizer_for_which_budget_first():
    first, by_how_much, constant = _answer()
    assert first.startswith("Which schedule, with which optimizer, for which budget (study budgets, every family "
                            "tuned at each budget on validation rows and scored on held-out test rows): ")
    assert ("on d1, cosine with SGD with momentum 0.9 at 1/4; wsd with AdamW (weight_decay 0.004) at 1/2 and 1 "
            "(the full run: 40 epochs); on d2, cosine") in first
    assert by_how_much == ("By how much: the best leads the next family by 0.50 to 1.00 points of test accuracy across "
                           "the 6 (dataset, budget) problems; paired by seed the next family is 2 equivalent; "
                           "2 inconclusive; 2 worse, negligible.")
    assert constant == ("constant (horizon-free, read from its full run): practically equivalent to the best (or the "
                        "best) on 5 of the 6 problems (1 inconclusive, 5 equivalent); where inconclusive, a difference "
                        "of 2.5 test examples (5.00 points) would have been detected with 80 % power.")


def test_the_answer_view_leads_with_the_budget_sentences_and_shows_the_budget_figure():
    figure = FigureView("Test accuracy by budget", Markup("<p>caption</p>"), "alt", "data:image/png;base64,")
    sentences = [Markup(s) for s in _answer()]
    view = answer_view({}, {}, [], {}, baseline="constant", budget_sentences=sentences, budget_figure=figure)
    assert view.sentences == sentences and view.figure is figure
    assert answer_view({}, {}, [], {}, baseline="constant") is None


def test_warmup_stable_decay_gets_its_equivalence_call_beside_the_horizon_free_and_the_seeds_limit_is_said():
    summaries = summary_table("d1")
    comparisons = comparisons_table(dataset="d1")
    sentences = [_text(s) for s in budget_answer("budgets", summaries, comparisons, OPTIMIZERS, anytime=["wsd"],
                                                 min_seeds=29)]
    wsd = [s for s in sentences if s.startswith("wsd (")]
    # wsd is best at 1/2 and 1, and at 1/4 equivalent to cosine.
    assert wsd == ["wsd (warmup-stable-decay, trained for each budget): practically equivalent to the best (or the "
                   "best) on every one of the 3 problems (1 equivalent, 2 best)."]
    assert sentences[-1].startswith("With 10 seeds paired per comparison, fewer than the 29 an equivalence call "
                                    "needs (report.equivalence_min_seeds), no family could be shown equivalent")
    enough = [_text(s) for s in budget_answer("budgets", summaries, comparisons, OPTIMIZERS, min_seeds=10)]
    assert not any(s.startswith("With 10 seeds") for s in enough)


def test_a_study_best_with_one_family_throughout_says_so_once():
    means = {budget: {"constant": 0.95, "cosine": 0.5, "wsd": 0.4} for budget in MEANS}
    first = _text(budget_answer("budgets", summary_table(means=means), comparisons_table(), OPTIMIZERS)[0])
    assert "on d1, constant with SGD with momentum 0.9 at every budget (the full run: 40 epochs)" in first
    assert _text(headline(summary_table(means=means))) == "Best family by budget: constant at every budget."


def test_the_budget_answer_comes_before_its_figure_and_the_other_studies_after_it():
    figure = FigureView("Test accuracy by budget", Markup("<p>caption</p>"), "alt", "data:image/png;base64,")
    attribution = type("Attribution", (), {"title": "article, ionosphere", "protocol": "tail",
                                           "headline": Markup("the optimizer"), "why": None})()
    view = answer_view({}, {}, [attribution], {}, baseline="constant", budget_sentences=[Markup("budgets first")],
                       budget_figure=figure)
    assert view.sentences == [Markup("budgets first")] and view.figure is figure
    assert len(view.after) == 1 and "Why the configured schedules differ" in view.after[0]


@pytest.mark.parametrize("decision", ["equivalent", "inconclusive"])
def test_a_family_that_is_always_best_is_the_best_at_every_budget(decision):
    means = {budget: {"constant": 0.95, "cosine": 0.5, "wsd": 0.4} for budget in MEANS}
    summary = summary_table(means=means)
    text = _text(horizon_free_sentence(summary, comparisons_table((decision,) * 3), "constant"))
    assert text.endswith("at every budget, within the band: the best at 1/4, 1/2, 1.")


@pytest.mark.slow
def test_the_budget_section_and_the_overview_answer_render(tmp_path):
    """On a real tiny report (no study of the tiny config has budgets: no budget view of its own), the page renders
    the budget views it is given after the tuned comparison, and the overview's answer opens with the budget sentences and
    shows the accuracy-by-budget figure as its one figure."""
    from test_report import DATASET, build_report, captions, figures_of, results_of

    from schedbench.figures.budgets import draw_accuracy_by_budget
    from schedbench.figures.registry import BUDGET_FIGURES
    from schedbench.figures.style import figure_png
    from schedbench.report.captions import data_uri, render_caption
    from schedbench.report.render import build_context, dataset_page, render_html

    built = build_report(tmp_path / "built")
    context = build_context(built["plan"], results_of(built), figures_of(built), captions(),
                            {DATASET: built["provenance_path"]}, built["benchmarks"])
    assert context["budgets"] == []  # every study of the plan has the full run only
    png = tmp_path / "accuracy-by-budget.png"
    png.write_bytes(figure_png(draw_accuracy_by_budget(summary_table(), families=FAMILIES)))
    spec = BUDGET_FIGURES[0]
    caption = render_caption(spec.name, (REPO / "workflow/report" / spec.caption_file).read_text(encoding="utf-8"))
    figure = FigureView(spec.title, caption, spec.alt, data_uri(png))
    view = budget_view(summary_table(DATASET), comparisons_table(dataset=DATASET), study="tuning",
                       name=f"budgets-tuning-{DATASET}", dataset=DATASET, title=f"tuning, {DATASET}",
                       protocol="heldout", families=FAMILIES, optimizers=OPTIMIZERS, confidence=0.95,
                       figures=[figure])
    sentences = budget_answer("tuning", summary_table(DATASET), comparisons_table(dataset=DATASET), OPTIMIZERS)
    context["budgets"] = [view]
    context["answer"] = answer_view({}, {}, context["attributions"], {}, baseline="constant",
                                    budget_sentences=sentences, budget_figure=figure)
    page = render_html(dataset_page(context, built["plan"], DATASET))
    assert page.index('<section id="tuned">') < page.index('<section id="budgets">') < page.index(
        '<section id="figures">')
    section = page[page.index('<section id="budgets">'):]
    assert 'id="budget-accuracy-budgets-tuning-ionosphere-heldout"' in section
    assert 'id="budget-time-to-target-budgets-tuning-ionosphere-heldout"' in section
    assert "Best family by budget: <strong>cosine</strong> at 1/4" in section
    assert section.count(figure.src) == 1
    assert 'href="#budgets"' in page and 'id="verdict-budgets"' in page
    overview = render_html(context, "overview.html.j2")
    answer = overview[overview.index('<section id="answer">'):overview.index("</section>")]
    assert re.search(r'<p class="headline"><strong>Which schedule, with which optimizer, for which budget', answer)
    assert answer.count("<img ") == 1 and figure.src in answer

"""The overview's first screen (schedbench.report.answer): which family, on which data, by how much, how sure and
why, from the suite's tables; and, on a real tiny run, that the overview opens with it."""

from __future__ import annotations

import html
import math
import re

import pandas as pd
import pytest

from schedbench.report.answer import tuned_answer
from schedbench.tables import SUITE_FRIEDMAN_COLUMNS, SUITE_VS_BASELINE_COLUMNS


def _row(dataset, family, diff, decision, n_test=50, mde=2.0):
    return {"dataset": dataset, "protocol": "heldout", "family": family, "n_test": n_test, "n_pairs": 10,
            "mean_diff": diff / n_test, "mean_diff_examples": diff, "diff_ci_low_adj": (diff - 1) / n_test,
            "diff_ci_high_adj": (diff + 1) / n_test, "band_examples": 1.0, "mde_examples": mde, "decision": decision}


FRIEDMAN = pd.DataFrame([dict(zip(SUITE_FRIEDMAN_COLUMNS, ("all", 2, 3, 0.05, 1.0, 0.61, 0.5, 0.6, 2.3, 2.3, 1.9)))])


def _text(sentences) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", str(s))) for s in sentences]


def test_no_gain_beyond_the_band_leads_with_that_and_names_the_largest_gain():
    table = pd.DataFrame([_row("d1", "A", 0.4, "equivalent"), _row("d1", "B", 0.9, "inconclusive", mde=1.7),
                          _row("d2", "A", -0.2, "equivalent", n_test=200),
                          _row("d2", "B", 0.1, "inconclusive", n_test=200, mde=3.0)], columns=SUITE_VS_BASELINE_COLUMNS)
    first, *rest = _text(tuned_answer("tuning", table, FRIEDMAN, baseline="base"))
    assert first.startswith("No family beats the tuned baseline beyond the equivalence band on any of the 2 datasets")
    assert "4 comparisons with the tuned baseline base on 2 datasets: 2 equivalent; 2 inconclusive" in first
    assert first.endswith("The largest mean gain: B on d1 (+0.9 examples, +1.80 points of 50 test rows: inconclusive).")
    # How sure: what the inconclusive pairs could have shown, in examples and in points of their own rows.
    assert ("where neither a difference nor equivalence was shown (2 comparisons), this design would have detected a "
            "difference of 1.7 to 3.0 examples (1.50 to 3.40 points)") in rest[0]
    assert "Friedman's test gives p = 0.61" in rest[1] and "rank 1.9 places ahead" in rest[1]


def test_the_friedman_sentence_says_when_no_rank_gap_could_be_detected_and_gives_each_group():
    table = pd.DataFrame([_row("d1", "A", 0.4, "equivalent"), _row("d2", "A", 0.1, "equivalent")],
                         columns=SUITE_VS_BASELINE_COLUMNS)
    groups = pd.DataFrame([dict(zip(SUITE_FRIEDMAN_COLUMNS, row)) for row in [
        ("all", 2, 3, 0.05, 1.0, 0.61, 0.5, 0.6, 2.3, 2.3, 3.1),
        ("tables", 1, 3, 0.05, math.nan, math.nan, math.nan, math.nan, 2.3, 3.3, 4.4),
        ("mnist1d", 1, 3, 0.05, math.nan, math.nan, math.nan, math.nan, 2.3, 3.3, 4.4)]])
    text = " ".join(_text(tuned_answer("tuning", table, groups, baseline="base")))
    assert "not even a family ranking first on every dataset (a gap of 2) would be detected" in text
    assert "Per group of datasets: tables (1 dataset) p = n/a; mnist1d (1 dataset) p = n/a." in text


def test_gains_and_losses_beyond_the_band_are_named_with_their_dataset():
    table = pd.DataFrame([_row("d1", "A", 4.0, "better"), _row("d2", "A", -3.0, "worse"),
                          _row("d2", "B", 0.2, "better, negligible")], columns=SUITE_VS_BASELINE_COLUMNS)
    text = _text(tuned_answer("tuning", table, FRIEDMAN, baseline="base"))
    assert text[0].startswith("Better than the tuned baseline beyond the equivalence band on 1 of 2 datasets")
    assert text[0].endswith("A on d1 (+4.0 examples, +8.00 points of 50 test rows: better).")
    assert "1 better; 1 better, negligible; 1 worse" in text[0]
    assert text[1] == "Worse than the baseline beyond the band: A on d2 (-3.0 examples, -6.00 points of 50 test rows: worse)."
    assert text[2].startswith("How sure: every comparison was decided")


@pytest.mark.slow
def test_the_overview_opens_with_the_tuned_answer_and_its_figure(tiny_run):
    """The overview's first section is the answer: the tuned comparison across datasets first (never the
    configured comparison's 'has the highest mean'), then why the configured schedules differ, and one figure."""
    page = (tiny_run[0] / "reports" / "report.html").read_text(encoding="utf-8")
    sections = re.findall(r'<section id="([^"]+)"', page)
    assert sections[0] == "answer"
    answer = page[page.index('<section id="answer"'):page.index("</section>")]
    paragraphs = _text(re.findall(r"<p[^>]*>(.*?)</p>", answer, flags=re.S))
    assert paragraphs[0].startswith(("No family beats the tuned baseline", "Better than the tuned baseline"))
    assert "has the highest mean" not in " ".join(paragraphs)
    assert any(p.startswith("Why the configured schedules differ") and "lr0 / (1 - m)" in p for p in paragraphs)
    assert answer.count("<img") == 1 and "Each tuned family against the tuned baseline" in answer


# --------------------------------------------------------------------------------------------------
# why: what the sensitivity adds to the attribution, and what nothing explains
# --------------------------------------------------------------------------------------------------
def _sensitivity(medians: dict[tuple[float, float], float], best: set[tuple[float, float]]) -> pd.DataFrame:
    from schedbench.tables import declared_columns

    rows = []
    for (lr0, momentum), median in medians.items():
        row = {column: 0.0 for column in declared_columns("sensitivity", ["lr0", "momentum"])}
        row.update(dataset="d", protocol="heldout", family="base", schedule=f"base lr0={lr0} momentum={momentum}",
                   lr0=lr0, momentum=momentum, val_accuracy_median=median, best=(lr0, momentum) in best,
                   at_edge=False, n_seeds=10, n_diverged=0, n_val=100)
        rows.append(row)
    return pd.DataFrame(rows)


def test_the_sensitivity_says_where_the_baselines_own_setting_scores_best_and_how_far_the_reference_falls_short():
    from schedbench.report.studies import baseline_rate_why

    sensitivity = _sensitivity({(0.1, 0.0): 0.80, (0.3, 0.0): 0.90, (1.0, 0.0): 0.905, (0.1, 0.9): 0.95},
                               best={(0.3, 0.0), (1.0, 0.0), (0.1, 0.9)})
    why = baseline_rate_why(sensitivity, baseline="base", dataset="d", reference_lr0=0.1,
                            setting={"lr0": 0.1, "momentum": 0.0, "optimizer": "sgd", "type": "constant"})
    assert why == ("The tuning study's sensitivity on d agrees: the baseline's formula with momentum 0 scores best at "
                   "lr0 0.3 to 1, and at the article's 0.1 its median validation accuracy is 10.5 points lower: the "
                   "baseline steps too little.")
    # At momentum 0.9 the reference rate is among the best: nothing to add.
    assert baseline_rate_why(sensitivity, baseline="base", dataset="d", reference_lr0=0.1,
                             setting={"lr0": 0.1, "momentum": 0.9}) == ""


def test_a_schedules_part_is_said_to_be_unexplained_and_no_gain_needs_no_why():
    from schedbench.report.attribution import unexplained_why

    assert unexplained_why(["mostly the optimizer", "the optimizer"]) == ""
    assert unexplained_why(["mostly the optimizer", "the schedule"]).startswith(
        "Nothing in this design explains the schedule's part")
    assert unexplained_why(["neither shown", "neither shown"]) == (
        "Neither part is shown to differ from zero, so there is no gain to explain.")


def test_a_suite_tie_says_what_kind_of_tie_it_is_and_what_was_left_undecided():
    from schedbench.report.suite import _win_tie_loss_cell

    row = {"wins": 1, "ties": 3, "losses": 0, "ties_equivalent": 2, "ties_negligible": 1, "inconclusive": 1}
    assert _win_tie_loss_cell(row) == "1 / 3 / 0 (ties: 2 equivalent, 1 negligible; 1 inconclusive)"
    assert _win_tie_loss_cell(dict(row, ties=0, ties_equivalent=0, ties_negligible=0, inconclusive=0)) == "1 / 0 / 0"


def test_when_every_family_trails_the_baseline_the_answer_says_so_and_an_unknown_mde_is_not_a_number():
    table = pd.DataFrame([_row("d1", "A", -0.4, "equivalent"), _row("d1", "B", -0.9, "inconclusive", mde=math.nan)],
                         columns=SUITE_VS_BASELINE_COLUMNS)
    first, sure, _ = _text(tuned_answer("tuning", table, FRIEDMAN, baseline="base"))
    assert first.endswith("No family has a higher mean anywhere; the closest: A on d1 (-0.4 examples, -0.80 points of "
                          "50 test rows: equivalent).")
    assert "a size it cannot state" in sure and "n/a" not in sure


def _split(dataset, family, control, optimizer, schedule, shown=True):
    """One attribution row (fractions of 100 test rows); both parts shown (p 0.001, intervals off 0) or neither."""
    p = 0.001 if shown else 0.5
    return {"dataset": dataset, "protocol": "heldout", "schedule": family, "control": control, "baseline": "base",
            "n_pairs": 30, "n_val": 100, "total_diff": optimizer + schedule,
            "total_diff_ci_low": optimizer + schedule - 0.005, "total_diff_ci_high": optimizer + schedule + 0.005,
            "optimizer_diff": optimizer, "optimizer_diff_ci_low": optimizer - 0.005 if shown else -0.01,
            "optimizer_diff_ci_high": optimizer + 0.005, "schedule_diff": schedule,
            "schedule_diff_ci_low": schedule - 0.005 if shown else -0.01, "schedule_diff_ci_high": schedule + 0.005,
            "p_schedule_better": 0.8, "p_schedule_better_ci_low": 0.6, "p_schedule_better_ci_high": 0.9,
            "p_schedule": p, "p_schedule_holm": p, "p_optimizer": p, "p_optimizer_holm": p}


def test_the_answer_says_why_the_leading_family_differs_splitting_optimizer_and_schedule():
    table = pd.DataFrame([_row("d1", "adamw-cosine", 4.0, "better"), _row("d2", "adamw-cosine", 3.0, "better"),
                          _row("d1", "sgd-cosine", 1.0, "inconclusive")], columns=SUITE_VS_BASELINE_COLUMNS)
    attribution = pd.DataFrame([_split("d1", "adamw-cosine", "adamw-constant", 0.03, 0.01),
                                _split("d2", "adamw-cosine", "adamw-constant", 0.02, 0.01),
                                _split("d1", "sgd-cosine", "base", 0.0, 0.01, shown=False)])
    why = _text(tuned_answer("optimizers", table, FRIEDMAN, baseline="base", attribution=attribution))[-1]
    assert why == ("Why: of adamw-cosine's difference from the tuned baseline, its optimizer's part (adamw-constant "
                   "minus the baseline) is +2.00 to +3.00 points and its schedule's part (adamw-cosine minus "
                   "adamw-constant) +1.00 points across the 2 datasets; what carries it: mostly the optimizer on 2 of "
                   "2.")
    # A family with the baseline's optimizer: the whole difference is its schedule's.
    alone = pd.DataFrame([_row("d1", "sgd-cosine", 1.0, "inconclusive")], columns=SUITE_VS_BASELINE_COLUMNS)
    why = _text(tuned_answer("optimizers", alone, FRIEDMAN, baseline="base", attribution=attribution))[-1]
    assert why.startswith("Why: sgd-cosine runs the baseline's optimizer, so its whole difference is its schedule's: "
                          "+1.00 points on its one dataset (neither shown on 1 of 1)")


def test_published_figures_are_set_beside_the_best_tuned_family_and_only_where_configured():
    from schedbench.report.suite import published_sentence

    ranks = pd.DataFrame({"dataset": ["m", "m", "t"], "family": ["A", "B", "A"],
                          "test_accuracy_mean": [0.80, 0.875, 0.9], "rank": [2.0, 1.0, 1.0]})
    text = _text([published_sentence(ranks, {"m": {"accuracy": 0.94, "source": "its paper's CNN"}})])[0]
    assert text == ("Published figures, for context only (trained otherwise, so not compared): m: 94.00 % published "
                    "(its paper's CNN), 87.50 % here (B, the best tuned family's mean).")
    assert published_sentence(ranks, {}) is None

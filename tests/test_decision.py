"""The minimum detectable effect and the one decision per pair (schedbench.stats.reading.decide_pair): closed forms,
a simulation, every decision reached by a hand-made row, and the words and the tables agreeing with it."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from schedbench.report.verdict import _pair, decide
from schedbench.report.wording import DECISION_WORDS, words
from schedbench.stats import tabulate
from schedbench.stats.reading import Decision, Reading, decide_pair
from schedbench.stats.significance import minimum_detectable_effect
from schedbench.stats.ranks import minimum_detectable_rank_diff

# ------------------------------------------------------------------------------------------------
# minimum detectable effect
# ------------------------------------------------------------------------------------------------


def _t_power(effect: float, sd: float, n: int, alpha: float) -> float:
    """The paired t-test's power written out (noncentral t), to check the solver against."""
    critical = stats.t.ppf(1 - alpha / 2, n - 1)
    noncentrality = effect * math.sqrt(n) / sd
    return stats.nct.sf(critical, n - 1, noncentrality) + stats.nct.cdf(-critical, n - 1, noncentrality)


def test_mde_matches_cohens_table_and_the_normal_limit():
    # Cohen (1988), G*Power: a one-sample (paired) t-test, two-sided alpha 0.05, needs n = 34 for d = 0.5 at power
    # 0.8 (its power there 0.808), so the MDE of 34 pairs of SD 1 lies just below 0.5, and 33 pairs need more.
    assert _t_power(0.5, 1.0, 34, 0.05) == pytest.approx(0.8078, abs=5e-4)
    assert 0.49 < minimum_detectable_effect(1.0, 34, 0.05) < 0.5 < minimum_detectable_effect(1.0, 33, 0.05)
    # At the MDE the power is 0.8 exactly, and the MDE scales with the SD.
    assert _t_power(minimum_detectable_effect(3.0, 7, 0.01), 3.0, 7, 0.01) == pytest.approx(0.8, abs=1e-8)
    assert minimum_detectable_effect(2.0, 10, 0.05) == pytest.approx(2 * minimum_detectable_effect(1.0, 10, 0.05))
    # Large n: the normal closed form (z_{1-alpha/2} + z_{0.8}) sd / sqrt(n).
    normal = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * 1.0 / math.sqrt(10_000)
    assert minimum_detectable_effect(1.0, 10_000, 0.05) == pytest.approx(normal, rel=1e-3)
    # With few pairs the t quantiles make it much larger than the normal form: 5 pairs, 1.68 sd against 1.25.
    assert minimum_detectable_effect(1.0, 5, 0.05) == pytest.approx(1.682, abs=1e-3)


@pytest.mark.parametrize("sd, n", [(1.0, 1), (1.0, 0), (0.0, 5), (math.nan, 5), (math.inf, 5)])
def test_mde_is_undefined_without_a_spread_to_scale_it(sd, n):
    assert math.isnan(minimum_detectable_effect(sd, n, 0.05))


def test_mde_is_detected_four_times_in_five_by_simulation():
    # 2000 paired designs of 8 pairs, normal differences of SD 2 around the MDE at alpha 0.05 / 3: the paired t-test
    # rejects in 80 % of them (binomial SE 0.009; the seed is fixed, so the check cannot flake).
    rng = np.random.default_rng(20161)
    sd, n, alpha = 2.0, 8, 0.05 / 3
    effect = minimum_detectable_effect(sd, n, alpha)
    differences = rng.normal(effect, sd, size=(2000, n))
    rejected = stats.ttest_1samp(differences, 0.0, axis=1).pvalue < alpha
    assert rejected.mean() == pytest.approx(0.8, abs=0.03)
    # Half the MDE is detected far less often: the number is a threshold, not a formality.
    halved = stats.ttest_1samp(rng.normal(effect / 2, sd, size=(2000, n)), 0.0, axis=1).pvalue < alpha
    assert halved.mean() < 0.4


def test_the_suites_mde_is_the_normal_power_formula_over_the_rank_se():
    se = math.sqrt(6 * 7 / (6 * 5))
    expected = (stats.norm.ppf(1 - 0.05 / 5 / 2) + stats.norm.ppf(0.8)) * se
    assert minimum_detectable_rank_diff(6, 5, 0.05) == pytest.approx(expected)
    assert math.isnan(minimum_detectable_rank_diff(1, 5, 0.05)) and math.isnan(minimum_detectable_rank_diff(3, 0, 0.05))


# ------------------------------------------------------------------------------------------------
# the decision table
# ------------------------------------------------------------------------------------------------
RULE = dict(alpha=0.05, equivalence_examples=1.0, equivalence_min_seeds=29)


@pytest.mark.parametrize("row, expected", [
    # reading, p_holm, p_t_corrected_holm, interval (examples), n_pairs
    (("significant and meaningful", 1e-6, math.nan, 1.5, 4.0, 36), Decision.BETTER),
    (("significant and meaningful", 1e-6, math.nan, 0.3, 0.9, 36), Decision.BETTER_NEGLIGIBLE),
    (("significant and meaningful", 1e-6, math.nan, 0.3, 0.9, 12), Decision.BETTER),  # too few seeds to call small
    (("neither", 0.6, math.nan, -0.5, 0.6, 36), Decision.EQUIVALENT),
    (("neither", 0.6, math.nan, -0.5, 0.6, 12), Decision.INCONCLUSIVE),
    (("meaningful", 0.2, math.nan, -0.5, 2.5, 36), Decision.INCONCLUSIVE),
    (("significant", 1e-6, 0.3, 1.5, 4.0, 36), Decision.INCONCLUSIVE),  # the corrected t does not agree
    (("significant", 1e-6, 1e-3, 1.5, 4.0, 36), Decision.BETTER),
    (("b significant", 1e-6, math.nan, -0.9, -0.2, 36), Decision.WORSE_NEGLIGIBLE),
    (("b significant and meaningful", 1e-6, math.nan, -3.0, -1.2, 36), Decision.WORSE),
])
def test_every_decision_is_reached_by_a_hand_made_row(row, expected):
    reading, p_holm, p_t, low, high, n = row
    assert decide_pair(reading, p_holm, p_t, low, high, n_pairs=n, **RULE) is expected
    # Swapping A and B mirrors the decision.
    mirrored = decide_pair(Reading.of(reading).mirrored(), p_holm, p_t, -high, -low, n_pairs=n, **RULE)
    assert mirrored is expected.mirrored()


def test_the_hand_made_rows_reach_every_decision():
    rows = [(("significant and meaningful", 1e-6, math.nan, 1.5, 4.0, 36)),
            (("significant and meaningful", 1e-6, math.nan, 0.3, 0.9, 36)), (("neither", 0.6, math.nan, -0.5, 0.6, 36)),
            (("neither", 0.6, math.nan, -0.5, 0.6, 12)), (("b significant", 1e-6, math.nan, -0.9, -0.2, 36)),
            (("b significant", 1e-6, math.nan, -3.0, -1.2, 36))]
    reached = {decide_pair(r, p, t, lo, hi, n_pairs=n, **RULE) for r, p, t, lo, hi, n in rows}
    assert reached == set(Decision)


def test_no_pair_is_both_reliably_different_and_equivalent_over_a_grid():
    """Over every combination of a grid of row facts: a reliable difference is never called equivalent, an
    equivalent call always has its interval inside the band over enough seeds, and swapping A and B mirrors."""
    grid = itertools.product(list(Reading), [1e-4, 0.03, 0.2, math.nan], [math.nan, 1e-3, 0.3],
                             [-3.0, -1.0, -0.4, 0.0, 0.2, 1.0, 2.0], [-2.0, -0.3, 0.0, 0.5, 1.0, 1.01, 3.0], [5, 29, 40])
    seen = set()
    for reading, p_holm, p_t, low, high, n in grid:
        if low > high:
            continue
        decision = decide_pair(reading, p_holm, p_t, low, high, n_pairs=n, **RULE)
        seen.add(decision)
        inside = n >= 29 and -1 <= low and high <= 1
        if decision in (Decision.BETTER, Decision.BETTER_NEGLIGIBLE):
            assert reading.winner > 0 and low > 0 and p_holm < 0.05
        if decision is Decision.EQUIVALENT:
            assert inside and not (reading.winner > 0 and low > 0 and p_holm < 0.05 and not p_t >= 0.05)
        if decision.tie:
            assert inside
        assert decide_pair(reading.mirrored(), p_holm, p_t, -high, -low, n_pairs=n, **RULE) is decision.mirrored()
    assert seen == set(Decision)


def _runs(correct: dict[str, list[int]], n_val: int = 116) -> pd.DataFrame:
    return pd.DataFrame([
        {"dataset": "d", "protocol": "tail", "schedule": schedule, "seed": seed, "epoch": epoch, "lr": 0.1,
         "loss": 0.3, "accuracy": 0.9, "val_loss": 0.2, "val_accuracy": k / n_val, "diverged": False, "n_val": n_val}
        for schedule, counts in correct.items() for seed, k in enumerate(counts) for epoch in (1, 2)])


def test_the_tables_decision_agrees_with_their_equivalence_call_and_the_verdicts_bar():
    rng = np.random.default_rng(7)
    for trial in range(12):
        n = int(rng.choice([6, 30, 40]))
        base = rng.integers(100, 110, size=n)
        correct = {"baseline": list(base)}
        for name, shift in (("a", 0.0), ("b", 0.6), ("c", 3.0)):
            correct[name] = list(base + np.round(rng.normal(shift, rng.choice([0.5, 2.0]), size=n)).astype(int))
        comparisons = tabulate.comparison_table(_runs(correct), baseline="baseline", resamples=300, seed=trial)
        for _, row in comparisons.iterrows():
            decision, pair = Decision.of(row["decision"]), _pair(row)
            assert (decision is Decision.EQUIVALENT) <= bool(row["equivalent"])
            assert decision.tie == bool(row["equivalent"])
            assert pair.convincing(0.05) == (decision in (Decision.BETTER, Decision.BETTER_NEGLIGIBLE))
            assert pair.flipped().decision is decision.mirrored()
            d = np.array(correct[row["a"]]) - np.array(correct[row["b"]])
            # Defined exactly where the differences have a spread; 0.05 / m is the family's level.
            assert math.isfinite(row["mde_examples"]) == bool(np.std(d) > 0)
            if np.std(d) > 0:
                assert row["mde_examples"] == pytest.approx(
                    minimum_detectable_effect(float(np.std(d, ddof=1)), n, 0.05 / row["family_size"]))
                assert row["mde"] == pytest.approx(row["mde_examples"] / 116)


def test_the_mde_column_is_the_formula_at_the_familys_level():
    base = [100, 101, 102, 103, 104, 105] * 2
    correct = {"baseline": base, "x": [k + d for k, d in zip(base, [1, 0, 2, -1, 0, 1] * 2)],
               "y": [k + d for k, d in zip(base, [0, 0, 1, 0, -1, 0] * 2)]}
    comparisons = tabulate.comparison_table(_runs(correct), baseline="baseline", resamples=300, seed=1)
    row = comparisons[(comparisons["a"] == "x") & (comparisons["b"] == "baseline")].iloc[0]
    d = np.array([1, 0, 2, -1, 0, 1] * 2, dtype=float)
    # Two comparisons with the baseline: the family's level is 0.05 / 2.
    assert row["mde_examples"] == pytest.approx(minimum_detectable_effect(float(np.std(d, ddof=1)), 12, 0.025))
    assert row["mde"] == pytest.approx(row["mde_examples"] / 116)


def test_the_mde_of_identical_differences_is_undefined():
    base = [100, 101, 102, 103, 104, 105]
    comparisons = tabulate.comparison_table(_runs({"baseline": base, "x": [k + 2 for k in base]}),
                                            baseline="baseline", resamples=300, seed=1)
    assert math.isnan(comparisons["mde_examples"].iloc[0]) and math.isnan(comparisons["mde"].iloc[0])


# ------------------------------------------------------------------------------------------------
# words
# ------------------------------------------------------------------------------------------------
def _facts(correct: dict[str, list[int]]):
    runs = _runs(correct)
    summary = tabulate.summary_table(runs, resamples=500, seed=1)
    comparisons = tabulate.comparison_table(runs, baseline="baseline", resamples=500, seed=1)
    return decide(summary, comparisons, baseline="baseline", confidence=0.95, equivalence_examples=1)


def test_a_reliable_but_negligible_gain_is_worded_as_negligible_and_never_as_equivalent():
    base = [100, 101, 102, 103, 104, 105] * 6
    facts = _facts({"baseline": base, "other": [k + d for k, d in zip(base, [1, 1, 0] * 12)]})
    pair = facts.leader_vs_baseline
    assert pair.decision is Decision.BETTER_NEGLIGIBLE and pair.equivalent and facts.convincing == ("other",)
    headline, sentences = words(facts)
    page = str(headline) + " ".join(str(s) for s in sentences)
    assert DECISION_WORDS[Decision.BETTER_NEGLIGIBLE] in str(headline)
    assert "Reliably better but negligible" in page
    assert "convincingly better" not in page and "ractically equivalent" not in page


def test_an_inconclusive_pair_states_what_the_design_could_have_detected():
    rng = np.random.default_rng(3)
    base = list(rng.integers(108, 114, size=12))
    facts = _facts({"baseline": base, "other": [k + d for k, d in zip(base, [2, -1, 0, 1] * 3)]})
    pair = facts.leader_vs_baseline
    assert pair.decision is Decision.INCONCLUSIVE and facts.best == "other"
    headline, sentences = words(facts)
    mde = f"{pair.mde_examples:.1f} examples or more ({pair.mde_examples * 100 / 116:.2f} points)"
    assert "inconclusive" in str(headline) and f"would have detected a difference of {mde}" in str(headline)
    text = " ".join(str(s) for s in sentences)
    assert text.count(f"would have detected a difference of {mde}") >= 2  # the band sentence and the "no" sentence


def test_an_mde_beyond_the_scored_rows_is_said_to_detect_nothing():
    base = [100, 101]
    facts = _facts({"baseline": base, "other": [base[0] + 30, base[1] - 20]})
    pair = facts.leader_vs_baseline
    assert pair.decision is Decision.INCONCLUSIVE and pair.mde_examples > 116
    assert "could not have detected any possible difference" in str(words(facts)[0])


def test_when_the_baseline_leads_the_headline_names_it_once_and_says_what_could_have_been_seen():
    """The headline of a page where nothing beats the baseline: the closest schedule, its distance, its decision
    and the detectable difference; the baseline called 'the baseline', never 'the baseline baseline'."""
    rng = np.random.default_rng(5)
    base = list(rng.integers(108, 114, size=12))
    facts = _facts({"baseline": base, "other": [k + d for k, d in zip(base, [-2, 1, 0, -1] * 3)]})
    assert facts.best == "baseline"
    headline = str(words(facts)[0])
    pair = facts.leader_vs_baseline
    assert headline.startswith("No schedule has a higher mean than the baseline; the closest, <strong>other</strong>,"
                               f" is {pair.mean_diff_examples:+.1f} examples")
    assert "baseline baseline" not in headline
    assert f"would have detected a difference of {pair.mde_examples:.1f} examples or more" in headline

"""Tests of schedbench.stats: hand-computed small cases, degenerate inputs, and the tables."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats as sps

from schedbench import tables
from schedbench.stats import estimators as E
from schedbench.stats import significance as G
from schedbench.stats import tabulate as T
from schedbench.stats.distributions import paired_difference_table, reach_profile_table
from schedbench.stats.reading import Reading

R = 2000  # small resample count: the tests stay fast


# --------------------------------------------------------------------------------------------------
# descriptive statistics and intervals
# --------------------------------------------------------------------------------------------------
def test_iqm_hand_cases():
    assert E.iqm([1, 2, 3, 4, 5, 6, 7, 8]) == 4.5  # cuts 2 from each end: mean(3, 4, 5, 6)
    assert E.iqm([100, 1, 2, 3, 4, 5, 6, -100]) == 3.5  # outliers are cut
    assert E.iqm([7.0]) == 7.0
    assert E.iqm([1, 2, 3]) == 2.0  # int(0.75) = 0: plain mean
    assert E.iqm([2, 2, 2, 2]) == 2.0
    assert math.isnan(E.iqm([]))
    np.testing.assert_allclose(E.iqm(np.array([[1, 2, 3, 4, 5, 6, 7, 8]] * 2), axis=-1), [4.5, 4.5])


def test_bootstrap_ci_degenerate_cases():
    assert E.bootstrap_ci([0.9], statistic=np.mean, resamples=R, seed=0) == (0.9, 0.9)
    m = float(np.mean([0.9] * 7))  # the interval collapses exactly onto the statistic
    assert E.bootstrap_ci([0.9] * 7, statistic=np.mean, resamples=R, seed=0) == (m, m)
    v = E.iqm([0.9] * 7)  # (value, value) with value = statistic(x), here 0.9 up to rounding
    assert E.bootstrap_ci([0.9] * 7, statistic=E.iqm, resamples=R, seed=0) == (v, v) == pytest.approx((0.9, 0.9))
    lo, hi = E.bootstrap_ci([], statistic=np.mean, resamples=R, seed=0)
    assert math.isnan(lo) and math.isnan(hi)
    lo, hi = E.bootstrap_ci([0.5, np.nan], statistic=np.mean, resamples=R, seed=0)
    assert math.isnan(lo) and math.isnan(hi)


def test_bootstrap_ci_n2_hand():
    # Resampling [0, 1]: means 0 (1/4), 0.5 (1/2), 1 (1/4): the 95 % percentile interval is [0, 1].
    assert E.bootstrap_ci([0.0, 1.0], statistic=np.mean, resamples=R, seed=0) == (0.0, 1.0)


def test_bootstrap_ci_reproducible_and_sane():
    x = np.array([0.90, 0.92, 0.95, 0.95, 0.97, 0.88, 0.91, 0.99])
    a = E.bootstrap_ci(x, statistic=np.mean, confidence=0.95, resamples=R, seed=20161)
    b = E.bootstrap_ci(x, statistic=np.mean, confidence=0.95, resamples=R, seed=20161)
    assert a == b  # bitwise
    assert x.min() <= a[0] < x.mean() < a[1] <= x.max()
    narrow = E.bootstrap_ci(x, statistic=np.mean, confidence=0.5, resamples=R, seed=20161)
    assert a[0] <= narrow[0] <= narrow[1] <= a[1]
    # a Generator is accepted too
    g = E.bootstrap_ci(x, statistic=np.mean, resamples=R, seed=np.random.default_rng(20161))
    assert g == a
    with pytest.raises(TypeError):
        E.bootstrap_ci(x, statistic=np.mean, resamples=R, seed=None)


def test_paired_bootstrap_ci():
    # Constant difference 1 though a and b vary: every resample has mean difference 1.
    assert E.bootstrap_ci([1, 2, 3], [0, 1, 2], paired=True, resamples=R, seed=0) == (1.0, 1.0)
    assert E.bootstrap_ci([3], [1], paired=True, resamples=R, seed=0) == (2.0, 2.0)
    assert E.bootstrap_ci([5, 5, 5], [4, 4, 4], paired=True, resamples=R, seed=0) == (1.0, 1.0)
    lo, hi = E.bootstrap_ci([], [], paired=True, resamples=R, seed=0)
    assert math.isnan(lo) and math.isnan(hi)
    # n = 2, differences 0 and 2: resampled mean difference 0, 1, 2 -> interval [0, 2]
    assert E.bootstrap_ci([1, 3], [1, 1], paired=True, resamples=R, seed=0) == (0.0, 2.0)
    with pytest.raises(ValueError):
        E.bootstrap_ci([1, 2], [1], paired=True, resamples=R, seed=0)


def _scipy_interval(samples, statistic, confidence, paired, seed):
    result = sps.bootstrap(samples, statistic, n_resamples=R, batch=10_000, vectorized=True, paired=paired,
                           confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed))
    return (float(result.confidence_interval.low), float(result.confidence_interval.high))


@pytest.mark.parametrize("paired", [False, True], ids=["one-sample", "paired"])
def test_several_intervals_from_one_resampling_are_each_as_scipy_gives_it_alone(paired):
    # Every (statistic, level) of bootstrap_cis, bit for bit the interval of its own scipy call with the same seed.
    rng = np.random.default_rng(5)
    samples = (rng.integers(20, 40, 17) / 40, rng.integers(20, 40, 17) / 40)[: 1 + paired]
    functions = (E._mean_diff, lambda a, b, axis=-1: np.median(a - b, axis=axis)) if paired else (np.mean, E.iqm)
    levels = (0.95, 0.99, 0.5)
    intervals = E.bootstrap_cis(*samples, statistics=functions, paired=paired, confidences=levels, resamples=R,
                                seed=7)
    expected = [[_scipy_interval(samples, f, c, paired, 7) for c in levels] for f in functions]
    assert intervals == expected
    assert intervals[0][2][1] - intervals[0][2][0] < intervals[0][1][1] - intervals[0][1][0]  # 50 % inside 99 %
    # None is the default statistic; the degenerate cases give one defined interval per statistic and level.
    assert E.bootstrap_cis(*samples, statistics=(None,), paired=paired, resamples=R, seed=7)[0][0] == expected[0][0]
    constant = [np.full(4, 0.5)] * (1 + paired)
    value = 0.0 if paired else 0.5
    assert E.bootstrap_cis(*constant, statistics=functions, paired=paired, confidences=levels, resamples=R,
                           seed=7) == [[(value, value)] * 3] * 2
    empty = E.bootstrap_cis(*[[]] * (1 + paired), statistics=functions, paired=paired, confidences=levels,
                            resamples=R, seed=7)
    assert len(empty) == 2 and all(len(row) == 3 and all(math.isnan(v) for v in np.ravel(row)) for row in empty)


def test_paired_bootstrap_is_paired():
    # Large between-seed spread, tiny constant-sign differences: the paired interval stays positive.
    a = np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    b = a - np.array([1, 2, 1, 2, 1, 2])
    lo, hi = E.bootstrap_ci(a, b, paired=True, resamples=R, seed=1)
    assert 1.0 <= lo <= hi <= 2.0


def test_bootstrap_ci_reproduces_the_former_functions():
    # Recorded from the former bootstrap_ci and paired_bootstrap_ci (one function each) before they merged:
    # the tables' numbers must not move.
    a = np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    b = a - np.array([1, 2, 1, 2, 1, 2])
    assert E.bootstrap_ci(a, b, paired=True, resamples=R, seed=1) == (1.1666666666666667, 1.8333333333333333)
    ka = np.array([101, 103, 99, 104, 102, 100, 105, 98.0])
    kb = np.array([100, 100, 100, 101, 103, 99, 101, 99.0])
    assert E.bootstrap_ci(ka, kb, paired=True, resamples=R, seed=20161) == (-0.25, 2.5)
    assert E.bootstrap_ci(ka, kb, paired=True, confidence=0.5, resamples=R, seed=20161) == (0.625, 1.625)
    x = np.array([0.90, 0.92, 0.95, 0.95, 0.97, 0.88, 0.91, 0.99])
    assert E.bootstrap_ci(x, statistic=np.mean, resamples=R, seed=20161) == (0.9099999999999999, 0.96)
    assert E.bootstrap_ci(x, resamples=R, seed=20161) == (0.9099999999999999, 0.96)  # the mean by default
    assert E.bootstrap_ci(x, statistic=E.iqm, resamples=R, seed=20161) == (0.9025000000000001, 0.9650000000000001)


def test_bootstrap_ci_sample_count():
    with pytest.raises(ValueError):
        E.bootstrap_ci([1, 2, 3], [1, 2, 3], resamples=R, seed=0)  # two samples only when paired
    with pytest.raises(ValueError):
        E.bootstrap_ci([1, 2, 3], paired=True, resamples=R, seed=0)
    with pytest.raises(ValueError):
        E.bootstrap_ci(resamples=R, seed=0)


def test_reach_profile_is_bootstrap_ci_threshold_by_threshold():
    correct = np.random.default_rng(3).integers(104, 116, 40).astype(float)
    thresholds = np.arange(102, 118)
    share, low, high = E.reach_profile(correct, thresholds, confidence=0.9, resamples=R, seed=11)
    for tau, s, lo, hi in zip(thresholds, share, low, high):
        expected = E.bootstrap_ci(correct, statistic=lambda x, axis=-1, tau=tau: np.mean(x >= tau, axis=axis),
                                  confidence=0.9, resamples=R, seed=11)
        assert s == np.mean(correct >= tau)
        assert (lo, hi) == expected, tau
    assert share[0] == 1.0 and share[-1] == 0.0 and np.all(np.diff(share) <= 0)


def test_reach_profile_degenerate_cases():
    share, low, high = E.reach_profile([110.0] * 5, [109, 110, 111], resamples=R, seed=0)
    assert share.tolist() == low.tolist() == high.tolist() == [1.0, 1.0, 0.0]
    assert all(np.isnan(v).all() for v in E.reach_profile([], [1, 2], resamples=R, seed=0))


def test_wilson_interval():
    lo, hi = E.wilson_interval(115, 116, 0.95)
    assert (round(lo, 3), round(hi, 3)) == (0.953, 0.998)
    assert E.wilson_interval(0, 10)[0] == 0.0
    assert E.wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert all(math.isnan(v) for v in E.wilson_interval(0, 0))
    with pytest.raises(ValueError):
        E.wilson_interval(11, 10)
    # fractional k (median of an even number of runs): closed form, continuous with scipy's integers
    z = special.ndtri(0.975)
    for k in range(11):
        p, n = k / 10, 10
        c = (p + z * z / (2 * n)) / (1 + z * z / n)
        h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        assert E.wilson_interval(k, 10) == pytest.approx((c - h, c + h), abs=1e-12)
    lo8, hi8 = E.wilson_interval(8, 10)
    lo85, hi85 = E.wilson_interval(8.5, 10)
    lo9, hi9 = E.wilson_interval(9, 10)
    assert lo8 < lo85 < lo9 and hi8 < hi85 < hi9


# --------------------------------------------------------------------------------------------------
# P(A>B), win/tie/loss, effect sizes
# --------------------------------------------------------------------------------------------------
def test_win_tie_loss_and_prob_improvement():
    a = [5, 6, 4, 3, 7]
    b = [4, 6, 4, 4, 5]
    assert E.win_tie_loss(a, b) == (2, 2, 1)
    assert E.prob_improvement(a, b) == pytest.approx(0.6)  # (2 + 2/2) / 5
    assert E.prob_improvement(b, a) == pytest.approx(0.4)
    assert E.prob_improvement([1, 1], [1, 1]) == 0.5
    assert E.prob_improvement([2], [1]) == 1.0
    assert math.isnan(E.prob_improvement([], []))
    lo, hi = E.prob_improvement_ci(a, b)
    assert 0.0 <= lo <= 0.6 <= hi <= 1.0
    # 5 wins of 5: Clopper-Pearson lower bound 0.025 ** (1/5) = 0.4782; it must not clear 0.5, as the exact
    # sign test (p = 2 ** (1 - 5) = 0.0625) does not.
    lo, hi = E.prob_improvement_ci([2, 3, 4, 5, 6], [1, 1, 1, 1, 1])
    assert lo == pytest.approx(0.025 ** 0.2, abs=1e-9) and hi == 1.0
    # 2 wins, 2 ties, 1 loss: P = (1 + 2 q) / 5 over q's exact interval for 2 of 3.
    q_low, q_high = 0.0943, 0.9916
    lo, hi = E.prob_improvement_ci([5, 6, 4, 3, 7], [4, 6, 4, 4, 5])
    assert (lo, hi) == (pytest.approx((1 + 3 * q_low) / 5, abs=1e-3), pytest.approx((1 + 3 * q_high) / 5, abs=1e-3))
    assert E.prob_improvement_ci([1, 1], [1, 1]) == (0.5, 0.5)
    assert all(math.isnan(v) for v in E.prob_improvement_ci([], []))


def test_cliffs_delta():
    # 1 vs 2,2: less, less; 2 vs 2,2: ties; 3 vs 2,2: greater, greater -> 0
    assert E.cliffs_delta([1, 2, 3], [2, 2]) == 0.0
    assert E.cliffs_delta([3, 4], [1, 2, 3]) == pytest.approx(5 / 6)
    assert E.cliffs_delta([1, 2, 3], [3, 4]) == pytest.approx(-5 / 6)
    assert E.cliffs_delta([1, 1], [1, 1, 1]) == 0.0
    assert E.cliffs_delta([2], [1]) == 1.0
    assert math.isnan(E.cliffs_delta([], [1]))


def test_rank_biserial_paired_pratt():
    # d = 0, 1, -2, 3; |d| ranks 1, 2, 3, 4 (zero ranked, then dropped): R+ = 6, R- = 3, total 10
    assert E.rank_biserial_paired([0, 1, 0, 3], [0, 0, 2, 0]) == pytest.approx(0.3)
    # ties: d = 1, 1, -1 -> ranks 2, 2, 2: (4 - 2) / 6
    assert E.rank_biserial_paired([1, 1, 0], [0, 0, 1]) == pytest.approx(1 / 3)
    assert E.rank_biserial_paired([2, 3], [1, 1]) == 1.0
    # a zero pulls it below 1: d = 0, 1 -> ranks 1, 2 -> 2 / 3
    assert E.rank_biserial_paired([1, 2], [1, 1]) == pytest.approx(2 / 3)
    assert E.rank_biserial_paired([4, 4, 4], [4, 4, 4]) == 0.0
    assert math.isnan(E.rank_biserial_paired([], []))


def test_hedges_dz():
    # d = 1, 2, 3: mean 2, sd 1, J = 1 - 3/7 = 4/7
    assert E.hedges_dz([1, 2, 3], [0, 0, 0]) == pytest.approx(8 / 7)
    assert E.hedges_dz([0, 0, 0], [1, 2, 3]) == pytest.approx(-8 / 7)
    assert math.isnan(E.hedges_dz([1, 3], [0, 0]))  # n = 2: J = 0, undefined (not 0.0)
    assert math.isnan(E.hedges_dz([1], [0]))  # n < 2
    assert math.isnan(E.hedges_dz([2, 3, 4], [1, 2, 3]))  # sd of differences 0
    assert math.isnan(E.hedges_dz([1, 1], [1, 1]))


# --------------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------------
def test_sign_flip_exact_hand_cases():
    # [1,1,1]: 8 sign patterns, only all-plus reaches mean 1: 2 * 1/8
    assert G.sign_flip_test([1, 1, 1], resamples=R, seed=0).p == pytest.approx(0.25)
    # [1,2,-1]: sums over the 8 patterns 4,2,2,0,0,-2,-2,-4; observed 2: 2 * 3/8
    assert G.sign_flip_test([1, 2, -1], resamples=R, seed=0).p == pytest.approx(0.75)
    # zeros flip to themselves: [1,0,1,1] behaves like [1,1,1]
    assert G.sign_flip_test([1, 0, 1, 1], resamples=R, seed=0).p == pytest.approx(0.25)
    assert G.sign_flip_test([-2, 2, 0], resamples=R, seed=0).p == 1.0  # capped
    assert G.sign_flip_test([0, 0, 0], resamples=R, seed=0).p == 1.0
    assert G.sign_flip_test([3], resamples=R, seed=0).p == 1.0
    assert math.isnan(G.sign_flip_test([], resamples=R, seed=0).p)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 10])
def test_sign_flip_minimum_p_is_2_to_1_minus_n(n):
    # The most extreme data (all differences of one sign) gives the smallest exact p: 2**(1-n).
    assert G.sign_flip_test(np.ones(n), resamples=2**n, seed=0).p == pytest.approx(2.0 ** (1 - n))
    if n == 5:
        assert 2.0 ** (1 - n) > 0.05  # five seeds can never reach p < 0.05


def test_sign_flip_is_exact_for_counts_at_any_n():
    # 50 seeds, every difference +1: the exact p is 2 * 2**-50 (~1.8e-15), far below any Monte Carlo floor.
    result = G.sign_flip_test(np.ones(50), resamples=1000, seed=1)
    assert result.exact and result.p == pytest.approx(2.0 ** -49, rel=1e-12)
    assert result.floor == 0.0 and result.standard_error == 0.0


def test_sign_flip_falls_back_to_monte_carlo_with_its_floor_for_non_integer_differences():
    d = np.full(20, 0.5)  # not whole examples: Monte Carlo, p = 2 (0 + 1) / (1000 + 1), the floor
    result = G.sign_flip_test(d, resamples=1000, seed=1)
    assert not result.exact and result.resamples == 1000
    assert result.p == pytest.approx(2 / 1001) == result.floor
    assert result.standard_error == pytest.approx(math.sqrt(result.p * (1 - result.p) / 1000))
    rng = np.random.default_rng(5)
    d = rng.normal(size=25)
    assert G.sign_flip_test(d, resamples=1000, seed=7) == G.sign_flip_test(d, resamples=1000, seed=7)


def _brute_force_two_sided(weights, observed):
    sums = np.array([np.dot(signs, weights) for signs in itertools.product([-1, 1], repeat=len(weights))])
    return min(1.0, 2 * min(np.mean(sums <= observed + 1e-9), np.mean(sums >= observed - 1e-9)))


@pytest.mark.parametrize("trial", range(40))
def test_exact_sign_flip_and_wilcoxon_equal_brute_force_enumeration(trial):
    rng = np.random.default_rng(trial)
    d = rng.integers(-3, 4, size=int(rng.integers(2, 11)))  # zeros and ties on purpose
    assert G.sign_flip_test(d, seed=0).p == pytest.approx(_brute_force_two_sided(np.abs(d), d.sum()), abs=1e-12)
    nonzero = d != 0
    if nonzero.any():
        ranks = sps.rankdata(np.abs(d))  # Pratt: zeros ranked, then left out
        weights = ranks[nonzero]
        observed = np.sum(np.sign(d[nonzero]) * weights)
        assert G.wilcoxon_p(d, np.zeros_like(d)) == pytest.approx(_brute_force_two_sided(weights, observed),
                                                                  abs=1e-12)


def test_exact_wilcoxon_equals_scipy_without_ties_or_zeros():
    d = np.random.default_rng(3).normal(size=12)
    assert G.wilcoxon_p(d, np.zeros(12)) == pytest.approx(sps.wilcoxon(d, method="exact").pvalue, rel=1e-12)


def test_signed_sum_null_is_a_distribution():
    values, probabilities = G.signed_sum_null([1, 2, 0, 2])
    assert values[0] == -5 and values[-1] == 5 and probabilities.sum() == pytest.approx(1.0)
    assert probabilities[values == 5][0] == pytest.approx(1 / 8)  # zero weights flip to themselves
    with pytest.raises(ValueError):
        G.signed_sum_null([-1])


def test_family_confidence_is_bonferroni():
    assert G.family_confidence(0.95, 1) == 0.95
    assert G.family_confidence(0.95, 5) == pytest.approx(0.99)


def test_wilcoxon_p():
    assert G.wilcoxon_p([1, 2, 3, 4, 5], [0] * 5) == pytest.approx(2 / 32)  # exact, no ties
    assert G.wilcoxon_p([1, 1, 1], [0, 0, 0]) == pytest.approx(0.25)  # ties: exact conditional
    assert G.wilcoxon_p([3, 3, 3], [3, 3, 3]) == 1.0
    assert math.isnan(G.wilcoxon_p([1], [0]))
    assert math.isnan(G.wilcoxon_p([], []))
    p = G.wilcoxon_p([1, 2, 2, 0, 5, 3], [0, 1, 1, 0, 1, 1])  # a zero and ties (Pratt)
    assert 0.0 < p <= 1.0


def test_paired_t_p():
    t = 2 / (1 / math.sqrt(3))  # d = 1, 2, 3
    assert G.paired_t_p([1, 2, 3], [0, 0, 0]) == pytest.approx(2 * sps.t.sf(t, 2))
    assert G.paired_t_p([1, 1], [1, 1]) == 1.0
    assert math.isnan(G.paired_t_p([2, 3], [1, 2]))  # constant nonzero difference
    assert math.isnan(G.paired_t_p([1], [0]))


def test_friedman_test():
    # 3 seeds each ranking the schedules 1, 2, 3: Q = 12/(3*3*4) * (9+36+81) - 3*3*4 = 6, p = exp(-3)
    stat, p = G.friedman_test([[1, 2, 3], [1, 2, 3], [1, 2, 3]])
    assert stat == pytest.approx(6.0)
    assert p == pytest.approx(math.exp(-3))
    assert G.friedman_test([[5, 5, 5], [7, 7, 7]]) == (0.0, 1.0)  # every block tied
    assert all(math.isnan(v) for v in G.friedman_test([[1, 2], [1, 2], [2, 1]]))  # 2 schedules
    assert all(math.isnan(v) for v in G.friedman_test([[1, 2, 3]]))  # 1 seed
    # incomplete blocks are dropped
    assert G.friedman_test([[1, 2, 3], [np.nan, 1, 2], [1, 2, 3], [1, 2, 3]]) == pytest.approx((6.0, math.exp(-3)))


def test_holm_hand_worked():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(G.holm(p), [0.03, 0.06, 0.06, 0.02])
    out = G.holm([0.01, np.nan, 0.04, 0.03, 0.005])
    assert math.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2, 3, 4]], [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_array_equal(G.holm([0.5, 0.6]), [1.0, 1.0])  # capped
    np.testing.assert_array_equal(G.holm([0.2]), [0.2])
    assert G.holm([]).size == 0
    assert np.isnan(G.holm([np.nan, np.nan])).all()
    with pytest.raises(ValueError):
        G.holm([1.5])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 1), st.just(float("nan"))), max_size=12))
def test_holm_properties(p):
    p = np.array(p, dtype=float)
    adj = G.holm(p)
    ok = ~np.isnan(p)
    assert np.array_equal(np.isnan(adj), ~ok)
    assert np.all(adj[ok] >= p[ok]) and np.all(adj[ok] <= 1.0)
    order = np.argsort(p[ok], kind="stable")
    assert np.all(np.diff(adj[ok][order]) >= 0)  # monotone


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=15))
def test_symmetries(pairs):
    a = np.array([x for x, _ in pairs], dtype=float)
    b = np.array([y for _, y in pairs], dtype=float)
    assert E.prob_improvement(a, b) + E.prob_improvement(b, a) == pytest.approx(1.0)
    assert E.cliffs_delta(a, b) == pytest.approx(-E.cliffs_delta(b, a))
    assert E.rank_biserial_paired(a, b) == pytest.approx(-E.rank_biserial_paired(b, a))
    assert -1.0 <= E.rank_biserial_paired(a, b) <= 1.0
    w, t, l = E.win_tie_loss(a, b)
    assert w + t + l == a.size and E.win_tie_loss(b, a) == (l, t, w)


def test_epochs_to_target():
    assert E.epochs_to_target([0.5, 0.9, 0.96, 0.97], 0.95) == 3.0
    assert E.epochs_to_target([0.5, 0.9], 0.95) == math.inf
    assert E.epochs_to_target([], 0.95) == math.inf
    assert E.epochs_to_target([0.95, 0.5], 0.95) == 1.0  # reaching exactly counts
    assert E.epochs_to_target([np.nan, 111 / 116], 111 / 116) == 2.0


# --------------------------------------------------------------------------------------------------
# tables on a small synthetic runs frame (n_val = 10, three epochs)
# --------------------------------------------------------------------------------------------------
N_VAL = 10
TRAJ = {  # (protocol, schedule, seed) -> correct counts per epoch; schedules deliberately not sorted
    ("tail", "zeta", 0): [5, 7, 8],
    ("tail", "zeta", 1): [6, 9, 9],
    ("tail", "zeta", 2): [7, 7, 7],
    ("tail", "zeta", 3): [9, 8, 9],
    ("tail", "alpha", 3): [7, 9, 10],  # seeds out of order on purpose
    ("tail", "alpha", 0): [6, 8, 9],
    ("tail", "alpha", 1): [9, 9, 9],
    ("tail", "alpha", 2): [8, 8, 8],
    ("tail", "mid", 1): [7, 7, 7],  # no seed 0: paired comparisons use 3 seeds
    ("tail", "mid", 2): [9, 10, 9],  # diverges at epoch 3 (NaN loss)
    ("tail", "mid", 3): [8, 9, 9],
    ("resplit", "zeta", 0): [6, 7, 8],  # a one-seed group
}


def make_runs() -> pd.DataFrame:
    rows = []
    for (protocol, schedule, seed), counts in TRAJ.items():
        for epoch, k in enumerate(counts, start=1):
            div = (schedule, seed) == ("mid", 2) and epoch == 3
            rows.append({
                "dataset": "ionosphere", "protocol": protocol, "schedule": schedule, "seed": seed,
                "epoch": epoch, "lr": 0.1, "loss": math.nan if div else 0.5, "accuracy": 0.8,
                "val_loss": math.nan if div else 0.1 * k + 0.01 * seed, "val_accuracy": k / N_VAL,
                "diverged": div, "n_val": N_VAL,
            })
    # shuffle the epochs order within the frame: final epoch = max epoch, not last row
    return pd.DataFrame(rows).iloc[::-1].reset_index(drop=True)


def test_summary_table_columns_and_order():
    s = T.summary_table(make_runs(), resamples=R, seed=20161, target_accuracy=0.9)
    assert tuple(s.columns[: len(tables.SUMMARY_CONTRACT)]) == (
        "dataset", "protocol", "schedule", "n_seeds", "mean", "sd", "median", "min", "max", "ci_low", "ci_high",
    )
    assert tuple(s.columns) == tables.declared_columns("summary")  # no study: no varied parameters
    # reversed frame: first appearance is resplit, then tail; schedules zeta (first row), mid, alpha
    assert list(zip(s.protocol, s.schedule)) == [
        ("resplit", "zeta"), ("tail", "zeta"), ("tail", "mid"), ("tail", "alpha"),
    ]


def test_summary_table_values():
    s = T.summary_table(make_runs(), resamples=R, seed=20161, target_accuracy=0.9)
    s = s.set_index(["protocol", "schedule"])
    z = s.loc[("tail", "zeta")]  # finals 8, 9, 7, 9
    assert z.n_seeds == 4 and z.n_val == N_VAL
    assert z["mean"] == pytest.approx(0.825)
    assert z["sd"] == pytest.approx(math.sqrt(0.0275 / 3))
    assert (z["median"], z["min"], z["max"]) == pytest.approx((0.85, 0.7, 0.9))
    assert z.mean_correct == pytest.approx(8.25)
    assert z.iqr == pytest.approx(np.percentile([0.8, 0.9, 0.7, 0.9], 75) - np.percentile([0.8, 0.9, 0.7, 0.9], 25))
    assert z.iqm == pytest.approx(0.85)  # trims one from each end: mean(0.8, 0.9)
    assert z.ci_low <= z["mean"] <= z.ci_high
    assert z.iqm_ci_low <= z.iqm <= z.iqm_ci_high
    assert z.median_ci_low <= z["median"] <= z.median_ci_high
    assert z.best_epoch_accuracy_mean == pytest.approx(0.825)
    assert z.epochs_to_target_median == math.inf  # [inf, 2, inf, 1]
    assert z.reached_target == 2 and z.n_diverged == 0
    assert (z.noise_floor_low, z.noise_floor_high) == pytest.approx(E.wilson_interval(8.5, N_VAL))
    assert z.final_val_loss_mean == pytest.approx(np.mean([0.8, 0.91, 0.72, 0.93]))

    a = s.loc[("tail", "alpha")]  # finals 9, 9, 8, 10; bests 9, 9, 8, 10; reach 0.9 at 3, 1, inf, 2
    assert a["mean"] == pytest.approx(0.9) and a.best_epoch_accuracy_mean == pytest.approx(0.9)
    assert a.epochs_to_target_median == 2.5 and a.reached_target == 3
    assert (a.noise_floor_low, a.noise_floor_high) == pytest.approx(E.wilson_interval(9, N_VAL))

    m = s.loc[("tail", "mid")]  # finals 7, 9, 9; bests 7, 10, 9; seed 2 diverged
    assert m.n_seeds == 3 and m["mean"] == pytest.approx(25 / 30)
    assert m.best_epoch_accuracy_mean == pytest.approx(26 / 30)
    assert m.n_diverged == 1 and m.epochs_to_target_median == 2.0
    assert m.final_val_loss_mean == pytest.approx(np.mean([0.71, 0.93]))  # finite losses only

    one = s.loc[("resplit", "zeta")]
    assert one.n_seeds == 1 and math.isnan(one.sd)
    assert (one.ci_low, one.ci_high) == (0.8, 0.8)
    assert (one.iqm_ci_low, one.iqm_ci_high, one.median_ci_low, one.median_ci_high) == (0.8, 0.8, 0.8, 0.8)


def test_summary_table_deterministic():
    runs = make_runs()
    s1 = T.summary_table(runs, resamples=R, seed=20161)
    s2 = T.summary_table(runs.copy(), resamples=R, seed=20161)
    assert s1.equals(s2)
    assert s1.to_csv(index=False) == s2.to_csv(index=False)


def test_comparison_table():
    c = T.comparison_table(make_runs().query("protocol == 'tail'"), baseline="zeta", confidence=0.95,
                           resamples=R, seed=20161)
    assert tuple(c.columns) == tables.COMPARISON_COLUMNS
    # order of first appearance in the (reversed) frame: mid, alpha; then the pair (mid, alpha)
    assert list(zip(c.a, c.b, c.vs_baseline)) == [
        ("mid", "zeta", True), ("alpha", "zeta", True), ("mid", "alpha", False),
    ]
    c = c.set_index(["a", "b"])
    r = c.loc[("alpha", "zeta")]  # d = 1, 0, 1, 1 examples
    assert r.n_pairs == 4 and (r.wins, r.ties, r.losses) == (3, 1, 0)
    assert r.mean_diff_examples == pytest.approx(0.75) and r.mean_diff == pytest.approx(0.075)
    assert r.p_a_better == pytest.approx(0.875)
    assert r.p_sign_flip == pytest.approx(0.25)
    assert r.diff_ci_low >= 0.0 and r.diff_ci_high <= 0.1
    assert r.rank_biserial == pytest.approx((3 * 3) / 10)  # zero rank 1, three ties at rank 3
    assert r.cliffs_delta == pytest.approx(E.cliffs_delta([9, 9, 8, 10], [8, 9, 7, 9]))
    r = c.loc[("mid", "zeta")]  # seeds 1..3: d = -2, 2, 0
    assert r.n_pairs == 3 and (r.wins, r.ties, r.losses) == (1, 1, 1)
    assert r.mean_diff == 0.0 and r.p_a_better == 0.5 and r.p_sign_flip == 1.0
    assert r.reading == "neither"
    r = c.loc[("mid", "alpha")]  # seeds 1..3: d = -2, 1, -1
    assert (r.wins, r.ties, r.losses) == (1, 0, 2)
    assert r.mean_diff_examples == pytest.approx(-2 / 3)
    assert r.p_sign_flip == pytest.approx(0.75)
    # Holm families: vs-baseline {1.0, 0.25} -> {1.0, 0.5}; the all-pairs row alone keeps its p
    assert c.loc[("alpha", "zeta")].p_holm == pytest.approx(0.5)
    assert c.loc[("mid", "zeta")].p_holm == 1.0
    assert c.loc[("mid", "alpha")].p_holm == pytest.approx(0.75)
    assert c["equivalent"].dtype == bool and c["vs_baseline"].dtype == bool


def test_comparison_equivalence_and_reading():
    rows = []
    for schedule, finals in {"base": [8, 9, 7, 9, 8, 8], "same": [8, 9, 7, 9, 8, 8], "up": [10] * 6}.items():
        for seed, k in enumerate(finals):
            rows.append({"dataset": "d", "protocol": "tail", "schedule": schedule, "seed": seed, "epoch": 1,
                         "val_loss": 0.1, "val_accuracy": k / N_VAL, "diverged": False, "n_val": N_VAL})
    c = T.comparison_table(pd.DataFrame(rows), baseline="base", resamples=R, seed=1).set_index(["a", "b"])
    same = c.loc[("same", "base")]
    assert same.p_sign_flip == 1.0 and same.p_wilcoxon == 1.0 and same.p_t == 1.0
    assert (same.diff_ci_low, same.diff_ci_high) == (0.0, 0.0) and math.isnan(same.hedges_dz)
    assert same.diff_ci_degenerate  # six identical pairs: a zero-width interval is discreteness, not proof
    assert not same.equivalent  # 6 seeds < the 29 an equivalence call needs
    assert same.reading == "neither" and same.rank_biserial == 0.0 and same.paired_dominance == 0.0
    enough = T.comparison_table(pd.DataFrame(rows), baseline="base", resamples=R, seed=1, equivalence_min_seeds=6)
    assert enough.set_index(["a", "b"]).loc[("same", "base")].equivalent
    up = c.loc[("up", "base")]
    assert not up.equivalent and up.wins == 6 and up.p_a_better == 1.0 and up.paired_dominance == 1.0
    assert up.p_sign_flip == pytest.approx(2.0 ** (1 - 6)) and up.p_sign_flip_exact
    # Two comparisons with the baseline: unadjusted, 6 wins of 6 read 'significant' (95 % lower bound 0.54);
    # at the family's Bonferroni level 97.5 % the bound is 0.48, and Holm's p is 0.0625: both say 'not shown'.
    assert up.family_size == 2 and up.p_a_better_ci_low > 0.5 > up.p_a_better_ci_low_adj
    assert up.reading == "meaningful" and up.p_holm == pytest.approx(0.0625)
    down = c.loc[("same", "up")]
    assert down.family_size == 1 and down.p_a_better_ci_low_adj == down.p_a_better_ci_low
    assert down.reading == "b significant and meaningful" and down.p_a_better == 0.0
    with pytest.raises(ValueError):
        T.comparison_table(pd.DataFrame(rows), baseline="nope", resamples=R, seed=1)


def test_comparison_table_deterministic():
    runs = make_runs()
    c1 = T.comparison_table(runs, baseline="zeta", confidence=0.95, resamples=R, seed=20161)
    c2 = T.comparison_table(runs, baseline="zeta", confidence=0.95, resamples=R, seed=20161)
    assert c1.equals(c2)
    assert c1.to_csv(index=False) == c2.to_csv(index=False)


def test_friedman_and_replication_tables():
    runs = make_runs()
    f = T.friedman_table(runs)
    assert tuple(f.columns) == tables.FRIEDMAN_COLUMNS
    tail = f.set_index("protocol").loc["tail"]
    assert tail.n_seeds == 3 and tail.n_schedules == 3  # seed 0 lacks 'mid'
    m = np.array([[7, 9, 9], [9, 8, 7], [9, 10, 9]], dtype=float)  # seeds 1..3 x (mid, alpha, zeta)
    assert (tail.statistic, tail.p) == pytest.approx(G.friedman_test(m))
    one = f.set_index("protocol").loc["resplit"]
    assert math.isnan(one.statistic) and math.isnan(one.p)

    rep = T.replication_table(runs, {"alpha": 0.9, "zeta": 0.8512, "absent": 0.5}, confidence=0.95)
    assert tuple(rep.columns) == tables.REPLICATION_COLUMNS
    rep = rep.set_index(["protocol", "schedule"])
    a = rep.loc[("tail", "alpha")]  # finals 9, 9, 8, 10 vs 9
    assert a.article_correct == 9 and (a.frac_below, a.frac_equal, a.frac_above) == (0.25, 0.5, 0.25)
    assert a.article_percentile == 0.5
    z = rep.loc[("tail", "zeta")]  # 0.8512 is not k/10: compared as a float with 0.8, 0.9, 0.7, 0.9
    assert math.isnan(z.article_correct) and (z.frac_below, z.frac_equal, z.frac_above) == (0.5, 0.0, 0.5)
    assert ("tail", "mid") not in rep.index


def test_replication_floor():
    rep = T.replication_table(make_runs(), {"alpha": 0.9, "zeta": 0.8512}, confidence=0.9)
    rep = rep.set_index(["protocol", "schedule"])
    a = rep.loc[("tail", "alpha")]  # 0.9 = 9/10: the Wilson interval of one run scoring 9 of 10
    assert (a.article_floor_low, a.article_floor_high) == E.wilson_interval(9, N_VAL, 0.9)
    assert a.article_floor_low < 0.9 < a.article_floor_high
    z = rep.loc[("tail", "zeta")]  # not a k/10 value: no count, no floor
    assert math.isnan(z.article_floor_low) and math.isnan(z.article_floor_high)


def make_predictions(labels: dict) -> pd.DataFrame:
    """(protocol, seed) -> validation labels; every schedule of a seed predicts on the same rows."""
    rows = []
    for (protocol, seed), seed_labels in labels.items():
        for schedule in ("zeta", "alpha"):
            for row, label in enumerate(seed_labels):
                rows.append({"dataset": "ionosphere", "protocol": protocol, "schedule": schedule, "seed": seed,
                             "row": row, "label": label, "probability": 0.5, "correct": True})
    return pd.DataFrame(rows)


def test_majority_table():
    tail = ["g", "g", "g", "b"]  # one split shared by every seed
    labels = {("tail", seed): tail for seed in range(3)}
    # resplit: each seed has its own split, majority shares 3/4, 2/4 (a tie), 4/4
    labels.update({("resplit", 0): ["b", "b", "g", "b"], ("resplit", 1): ["g", "b", "b", "g"],
                   ("resplit", 2): ["g"] * 4})
    m = T.majority_table(make_predictions(labels))
    assert tuple(m.columns) == tables.MAJORITY_COLUMNS
    assert list(zip(m.dataset, m.protocol)) == [("ionosphere", "tail"), ("ionosphere", "resplit")]
    assert m.n_seeds.tolist() == [3, 3] and m.n_seeds.dtype == np.int64
    assert m.majority_accuracy.tolist() == pytest.approx([0.75, (0.75 + 0.5 + 1.0) / 3])
    # a seed missing the first schedule still counts, through the schedule it has
    predictions = make_predictions(labels)
    partial = predictions[~((predictions.seed == 2) & (predictions.schedule == "zeta"))]
    assert T.majority_table(partial).equals(m)


def test_tables_reject_bad_input():
    runs = make_runs()
    with pytest.raises(ValueError):
        T.summary_table(runs.drop(columns=["n_val"]), resamples=R, seed=0)
    with pytest.raises(ValueError):
        T.summary_table(pd.concat([runs, runs.iloc[:1]]), resamples=R, seed=0)


def test_corrected_resampled_t():
    a, b = [5, 7, 9, 11], [4, 5, 6, 7]  # differences 1, 2, 3, 4
    assert G.corrected_resampled_t_p(a, b, 0.0) == pytest.approx(G.paired_t_p(a, b), rel=1e-12)
    # s^2 = 5/3; variance 5/3 * (1/4 + 1/2) = 1.25; t = 2.5 / sqrt(1.25), 3 degrees of freedom.
    expected = 2 * sps.t.sf(2.5 / math.sqrt(1.25), df=3)
    assert G.corrected_resampled_t_p(a, b, 0.5) == pytest.approx(expected, rel=1e-12)
    assert G.corrected_resampled_t_p(a, b, 0.5) > G.paired_t_p(a, b)
    assert G.corrected_resampled_t_p([1, 2], [1, 2], 0.5) == 1.0
    assert math.isnan(G.corrected_resampled_t_p([1], [0], 0.5))


def test_corrected_t_only_under_resplit():
    rows = []
    for protocol in ("tail", "resplit"):
        for schedule, shift in (("baseline", 0), ("other", 2)):
            for seed, k in enumerate([100, 103, 101, 104, 102]):
                rows.append({"dataset": "d", "protocol": protocol, "schedule": schedule, "seed": seed, "epoch": 1,
                             "val_loss": 0.1, "val_accuracy": (k + shift * (1 + seed % 3)) / 116, "diverged": False,
                             "n_val": 116})
    table = T.comparison_table(pd.DataFrame(rows), baseline="baseline", resamples=200, seed=1,
                               test_train_ratios={"resplit": 116 / 235}).set_index("protocol")
    assert math.isnan(table.loc["tail", "p_t_corrected"])
    assert table.loc["resplit", "p_t_corrected"] > table.loc["resplit", "p_t"]


def test_summary_flags_zero_width_intervals_as_degenerate():
    rows = []
    n_val = 116
    for schedule, finals in {"ceiling": [115] * 9 + [114], "spread": [100, 104, 108, 112, 115] * 2}.items():
        for seed, k in enumerate(finals):
            rows.append({"dataset": "d", "protocol": "tail", "schedule": schedule, "seed": seed, "epoch": 1,
                         "val_loss": 0.1, "val_accuracy": k / n_val, "diverged": False, "n_val": n_val})
    summary = T.summary_table(pd.DataFrame(rows), resamples=R, seed=1).set_index("schedule")
    ceiling, spread = summary.loc["ceiling"], summary.loc["spread"]
    # Most seeds at the ceiling: every resampled median is 115/116, an interval of zero width.
    assert ceiling.median_ci_low == ceiling.median_ci_high == 115 / n_val and ceiling.median_ci_degenerate
    assert not ceiling.ci_degenerate  # the mean still moves with the one seed below
    assert not (spread.ci_degenerate or spread.median_ci_degenerate or spread.iqm_ci_degenerate)


@pytest.mark.parametrize("trial", range(5))
def test_reading_equivalence_and_adjusted_p_never_contradict(trial):
    rng = np.random.default_rng(trial)
    rows = []
    for schedule, shift in {"base": 0, "a": 1, "b": 1, "c": 0, "d": 2}.items():
        for seed in range(30):
            k = int(np.clip(100 + shift + rng.integers(-2, 3), 0, 116))
            rows.append({"dataset": "d", "protocol": "tail", "schedule": schedule, "seed": seed, "epoch": 1,
                         "val_loss": 0.1, "val_accuracy": k / 116, "diverged": False, "n_val": 116})
    c = T.comparison_table(pd.DataFrame(rows), baseline="base", resamples=2000, seed=1, equivalence_min_seeds=29)
    significant = c["reading"].str.contains("significant")
    assert (c.loc[significant, "p_holm"] < 0.05).all()
    assert (c["p_a_better_ci_low_adj"] <= c["p_a_better_ci_low"]).all()
    assert (c["diff_ci_low_adj"] <= c["diff_ci_low"] + 1e-12).all()
    equivalent = c[c["equivalent"]]
    assert ((equivalent["diff_ci_low_adj"] * 116 >= -1 - 1e-9) & (equivalent["diff_ci_high_adj"] * 116 <= 1 + 1e-9)).all()
    assert set(c["family_size"]) == {4, 6}


# --------------------------------------------------------------------------------------------------
# majority-class score, the figures' distribution tables, the reading
# --------------------------------------------------------------------------------------------------
def test_majority_accuracy_is_the_mean_over_seeds_of_the_scored_rows_majority_share():
    assert E.majority_accuracy([["a", "a", "b"], ["b", "b", "b", "a"]]) == pytest.approx((2 / 3 + 3 / 4) / 2)
    assert math.isnan(E.majority_accuracy([]))
    with pytest.raises(ValueError, match="no scored rows"):
        E.majority_accuracy([["a"], []])


def _per_run(counts: dict[str, list[int]], n_val: int = 10) -> pd.DataFrame:
    """A final_epoch-like view: schedule -> correct counts of seeds 0, 1, ..."""
    return pd.DataFrame([{"dataset": "d", "protocol": "tail", "schedule": name, "seed": seed, "correct": k,
                          "n_val": n_val} for name, ks in counts.items() for seed, k in enumerate(ks)])


def test_reach_profile_table_puts_every_schedule_on_one_grid_with_its_band():
    table = reach_profile_table(_per_run({"base": [5, 6, 6, 7], "new": [7, 7, 8, 9]}), resamples=2000, seed=3)
    assert tuple(table.columns) == tables.REACH_PROFILE_COLUMNS
    new = table[table["schedule"] == "new"]
    assert new["threshold_correct"].tolist() == list(range(4, 11))  # one below 5 .. one above 9, within n_val
    assert new["share"].tolist() == [1.0, 1.0, 1.0, 1.0, 0.5, 0.25, 0.0]
    share, low, high = E.reach_profile([7, 7, 8, 9], np.arange(4, 11), resamples=2000, seed=3)
    assert new["share_low"].tolist() == low.tolist() and new["share_high"].tolist() == high.tolist()
    assert (new["share_low"] <= new["share"]).all() and (new["share"] <= new["share_high"]).all()


def test_paired_difference_table_pairs_by_seed_against_the_baseline():
    per_run = _per_run({"base": [5, 6, 6], "new": [7, 6]})
    table = paired_difference_table(per_run, "base")
    assert tuple(table.columns) == tables.PAIRED_DIFFERENCE_COLUMNS
    assert table[["schedule", "seed", "difference_correct"]].values.tolist() == [["new", 0, 2], ["new", 1, 0]]
    assert paired_difference_table(per_run, "absent").empty


def test_the_reading_mirrors_and_names_its_winner():
    assert Reading.decide(0.8, 0.6, 0.9, True) is Reading.SIGNIFICANT_AND_MEANINGFUL
    assert Reading.decide(0.8, 0.6, 0.9, False) is Reading.MEANINGFUL
    assert Reading.decide(0.1, 0.02, 0.4, True) is Reading.B_SIGNIFICANT_AND_MEANINGFUL
    assert Reading.decide(math.nan, math.nan, math.nan, False) is Reading.NEITHER
    for reading in Reading:
        assert reading.mirrored().mirrored() is reading and reading.mirrored().winner == -reading.winner
    assert Reading.of("b significant") is Reading.B_SIGNIFICANT
    with pytest.raises(ValueError, match="'better'"):
        Reading.of("better")

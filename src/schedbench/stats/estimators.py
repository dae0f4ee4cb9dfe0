"""Estimators for comparing learning-rate schedules over seeds: small pure functions over numpy arrays.

In the spirit of rliable's ``metrics.py``: each function takes the per-seed values (one sample, or two
samples paired by position, i.e. by seed) and returns numbers; no tables, no pandas. Everything here is
deterministic: every random procedure takes an explicit ``seed`` (an ``int``, from the config's
``report.rng_seed``, or a ``numpy.random.Generator``), so the same input and seed give bitwise-identical
numbers.

Conventions and documented choices
----------------------------------
* Intervals are percentile bootstraps over seeds (``scipy.stats.bootstrap``, ``method='percentile'``,
  vectorised, fixed batch size); a paired interval resamples the seeds, each carrying both of its values.
* Degenerate inputs never raise; they return a defined value:

  ================================  ==========================================================
  input                             result
  ================================  ==========================================================
  empty sample                      NaN (intervals: (NaN, NaN))
  n = 1, or all values equal         bootstrap intervals collapse to (value, value)
  non-finite value in a sample       bootstrap intervals (NaN, NaN)
  all paired differences zero        sign-flip, Wilcoxon and t p-values 1.0; rank-biserial 0.0
  n < 2                              Wilcoxon and t p-values NaN; Hedges d_z NaN
  sd of differences 0 (nonzero)      Hedges d_z NaN; paired-t p NaN (t is infinite)
  n = 2                              Hedges d_z 0.0 (J = 1 - 3/(4*1-1) = 0)
  Friedman: < 3 schedules/< 2 seeds  (NaN, NaN); every block fully tied -> (0.0, 1.0)
  ================================  ==========================================================

* ``rank_biserial_paired`` is Pratt-consistent (as ``wilcoxon(zero_method='pratt')``): zero
  differences are ranked with the others (they get the smallest ranks) but contribute to neither
  rank sum; the denominator is the total rank sum n(n+1)/2. Zeros therefore pull it towards 0, as
  ties pull P(A>B) towards 0.5.
* ``wilcoxon_p`` keeps scipy's ``method='auto'``: exact without ties or zeros (n <= 50); with ties or
  zeros an exact permutation distribution for n <= 13 and the normal approximation above 13
  (no continuity correction). All of these are deterministic.
* ``sign_flip_test`` is exact when 2**n <= resamples, otherwise Monte Carlo with p = (b + 1)/(R + 1)
  per side; two-sided p = 2 * min(one-sided p), capped at 1. Its smallest possible exact value is
  2**(1 - n): five seeds can never give p < 0.05.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import special, stats

__all__ = [
    "iqm", "bootstrap_ci", "wilson_interval", "win_tie_loss", "prob_improvement", "prob_improvement_ci",
    "cliffs_delta", "rank_biserial_paired", "hedges_dz", "sign_flip_test", "wilcoxon_p", "paired_t_p",
    "corrected_resampled_t_p", "friedman_test", "holm", "epochs_to_target",
]

# Resamples are drawn in batches of this size: bounds memory (batch x n floats) and, being fixed,
# keeps the random stream, hence every interval, identical from run to run.
_BATCH = 10_000
# Tolerance for comparing accuracies (exact multiples of 1/n_val) with a threshold.
_EPS = 1e-9

Seed = int | np.random.Generator


# --------------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------------
def _vec(x) -> np.ndarray:
    """A 1-D float array (a copy is not guaranteed)."""
    return np.asarray(x, dtype=float).reshape(-1)


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = _vec(a), _vec(b)
    if a.shape != b.shape:
        raise ValueError(f"paired samples must have the same length, got {a.size} and {b.size}")
    return a, b


def _rng(seed: Seed) -> np.random.Generator:
    """A fresh Generator for an int seed; a Generator is used as given (its state advances)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError("seed must be an int or a numpy.random.Generator (explicit, for reproducibility)")
    return np.random.default_rng(int(seed))


def _mean_diff(a, b, axis=-1):
    return np.mean(a - b, axis=axis)


def _zero_to_positive(v: float) -> float:
    """Turn -0.0 into 0.0 (keeps CSV output free of '-0.0')."""
    return v + 0.0


# --------------------------------------------------------------------------------------------------
# descriptive statistics and intervals
# --------------------------------------------------------------------------------------------------
def iqm(x, axis=None):
    """Interquartile mean: the 25 % trimmed mean (``scipy.stats.trim_mean(x, 0.25)``), as rliable.

    ``int(0.25 * n)`` values are cut from each end, so n <= 3 gives the plain mean. Empty -> NaN.
    With ``axis`` given it works along that axis (usable as a vectorised bootstrap statistic).
    """
    if axis is None:
        x = _vec(x)
        if x.size == 0:
            return math.nan
        return float(stats.trim_mean(x, 0.25))
    return stats.trim_mean(np.asarray(x, dtype=float), 0.25, axis=axis)


def bootstrap_ci(
    *samples,
    statistic: Callable | None = None,
    paired: bool = False,
    confidence: float = 0.95,
    resamples: int = 50_000,
    seed: Seed,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over seeds.

    One sample ``x`` (one value per seed; ``paired=False``): the interval of ``statistic(x, axis=-1)``,
    by default the mean. Two samples ``a, b`` with ``paired=True`` (``a[i]`` and ``b[i]`` belong to the
    same seed; each seed's pair is resampled as a unit): the interval of ``statistic(a, b, axis=-1)``, by
    default the mean difference mean(a - b). The statistic must be vectorised (``np.mean``,
    ``np.median``, ``iqm`` ...). Uses ``scipy.stats.bootstrap(method='percentile', vectorized=True)``.
    Defined degenerate cases: empty or non-finite input -> (NaN, NaN); n = 1, or every sample constant
    -> (value, value) with value = statistic(*samples).
    """
    if paired:
        if len(samples) != 2:
            raise ValueError(f"paired=True needs two samples, got {len(samples)}")
        samples = _pair(*samples)
        statistic = _mean_diff if statistic is None else statistic
    else:
        if len(samples) != 1:
            raise ValueError(f"bootstrap_ci needs one sample (two with paired=True), got {len(samples)}")
        samples = (_vec(samples[0]),)
        statistic = np.mean if statistic is None else statistic
    n = samples[0].size
    if n == 0 or not all(np.all(np.isfinite(s)) for s in samples):
        return (math.nan, math.nan)
    if n < 2 or all(np.all(s == s[0]) for s in samples):
        value = float(statistic(*samples, axis=-1))
        return (value, value)
    res = stats.bootstrap(
        samples,
        statistic,
        n_resamples=int(resamples),
        batch=_BATCH,
        vectorized=True,
        paired=paired,
        confidence_level=confidence,
        method="percentile",
        rng=_rng(seed),
    )
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def wilson_interval(k: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for k successes out of n (the single-run binomial noise floor).

    115/116 at 95 % -> (0.9528, 0.9985). Integral k uses
    ``scipy.stats.binomtest(k, n).proportion_ci(method='wilson')``; a fractional k (e.g. the median of
    an even number of runs, 110.5 correct) uses the same closed-form Wilson formula with p = k/n.
    n <= 0 or NaN k -> (NaN, NaN).
    """
    if n is None or not np.isfinite(n) or n <= 0 or k is None or not np.isfinite(k):
        return (math.nan, math.nan)
    if k < 0 or k > n:
        raise ValueError(f"k must lie in [0, n], got k={k}, n={n}")
    if float(k).is_integer() and float(n).is_integer():
        ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
        return (float(ci.low), float(ci.high))
    z = special.ndtri(0.5 + confidence / 2.0)
    p = k / n
    denom = 1.0 + z * z / n
    center = (p + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    return (float(max(0.0, center - half)), float(min(1.0, center + half)))


# --------------------------------------------------------------------------------------------------
# paired comparisons: probability of improvement, effect sizes
# --------------------------------------------------------------------------------------------------
def win_tie_loss(a, b) -> tuple[int, int, int]:
    """Counts of seeds where a > b, a == b, a < b (paired by position)."""
    a, b = _pair(a, b)
    return (int(np.sum(a > b)), int(np.sum(a == b)), int(np.sum(a < b)))


def prob_improvement(a, b) -> float:
    """Paired probability of improvement P(A>B) = (wins + ties/2) / n. Empty -> NaN.

    P(A>B) + P(B>A) = 1. Its interval: ``prob_improvement_ci``.
    """
    a, b = _pair(a, b)
    if a.size == 0:
        return math.nan
    w, t, _ = win_tie_loss(a, b)
    return (w + 0.5 * t) / a.size


def prob_improvement_ci(a, b, *, confidence: float = 0.95) -> tuple[float, float]:
    """Exact interval of the paired P(A>B), consistent with the exact sign test.

    Given the t ties among n pairs, the wins follow Binomial(wins + losses, q); the Clopper-Pearson interval
    of q (``scipy.stats.binomtest(...).proportion_ci(method='exact')``) maps to P = (t/2 + q (n - t)) / n.
    Unlike a percentile bootstrap it does not collapse to a point with few seeds (5 wins of 5 give
    [0.478, 1], not [1, 1]: the sign test's p is 0.0625). All pairs tied -> (0.5, 0.5); empty -> NaN.
    """
    a, b = _pair(a, b)
    n = a.size
    if n == 0:
        return (math.nan, math.nan)
    w, t, l = win_tie_loss(a, b)
    if w + l == 0:
        return (0.5, 0.5)
    q = stats.binomtest(w, w + l).proportion_ci(confidence_level=confidence, method="exact")
    return ((t / 2 + q.low * (w + l)) / n, (t / 2 + q.high * (w + l)) / n)


def cliffs_delta(a, b) -> float:
    """Cliff's delta, unpaired: (#{a_i > b_j} - #{a_i < b_j}) / (n_a n_b) over all pairs. Empty -> NaN."""
    a, b = _vec(a), _vec(b)
    if a.size == 0 or b.size == 0:
        return math.nan
    bs = np.sort(b)
    n_less_than_a = np.searchsorted(bs, a, side="left").sum()  # b_j < a_i
    n_greater_than_a = (b.size - np.searchsorted(bs, a, side="right")).sum()  # b_j > a_i
    return _zero_to_positive(float(n_less_than_a - n_greater_than_a) / (a.size * b.size))


def rank_biserial_paired(a, b) -> float:
    """Matched-pairs rank-biserial correlation, Pratt-consistent.

    d = a - b; the |d| are ranked (average ranks for ties) with the zeros included;
    r = (R+ - R-) / (n (n + 1) / 2) where R+ / R- sum the ranks of positive / negative d. Zeros
    contribute to neither sum but to the denominator. All-zero -> 0.0; empty -> NaN.
    Pass integer counts so that ties are exact.
    """
    a, b = _pair(a, b)
    d = a - b
    n = d.size
    if n == 0 or not np.all(np.isfinite(d)):
        return math.nan
    if np.all(d == 0):
        return 0.0
    r = stats.rankdata(np.abs(d), method="average")
    r_plus = float(r[d > 0].sum())
    r_minus = float(r[d < 0].sum())
    return _zero_to_positive((r_plus - r_minus) / (n * (n + 1) / 2.0))


def hedges_dz(a, b) -> float:
    """Paired standardized mean difference d_z = mean(d) / sd(d) * J, J = 1 - 3 / (4 (n - 1) - 1).

    NaN when n < 2 or the sd of the differences (ddof=1) is 0 or not finite. Note J = 0 at n = 2,
    so d_z = 0.0 there (one degree of freedom cannot estimate a standardized effect).
    """
    a, b = _pair(a, b)
    d = a - b
    n = d.size
    if n < 2:
        return math.nan
    sd = float(np.std(d, ddof=1))
    if not np.isfinite(sd) or sd == 0.0:
        return math.nan
    j = 1.0 - 3.0 / (4.0 * (n - 1) - 1.0)
    return _zero_to_positive(float(np.mean(d)) / sd * j)


# --------------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------------
def sign_flip_test(diff, *, resamples: int = 50_000, seed: Seed) -> float:
    """Two-sided paired sign-flip permutation test of mean(diff) = 0.

    ``scipy.stats.permutation_test`` with ``permutation_type='samples'`` on the one sample of paired
    differences (the null flips each difference's sign); statistic: the mean. Exact when
    2**n <= resamples, Monte Carlo otherwise. Minimum exact p = 2**(1 - n).
    Empty or non-finite -> NaN; all differences zero, or n = 1 -> 1.0.
    """
    d = _vec(diff)
    if d.size == 0 or not np.all(np.isfinite(d)):
        return math.nan
    if np.all(d == 0) or d.size == 1:
        return 1.0  # n = 1: the two sign patterns are the two extremes, 2 * min(1/2, 1) = 1
    res = stats.permutation_test(
        (d,),
        np.mean,
        permutation_type="samples",
        vectorized=True,
        n_resamples=int(resamples),
        batch=_BATCH,
        alternative="two-sided",
        rng=_rng(seed),
    )
    return float(min(1.0, res.pvalue))


def wilcoxon_p(a, b) -> float:
    """Two-sided Wilcoxon signed-rank p (``scipy.stats.wilcoxon(zero_method='pratt')``, method 'auto').

    n < 2 -> NaN; all differences zero -> 1.0. Deterministic (see module notes).
    """
    a, b = _pair(a, b)
    d = a - b
    if d.size < 2 or not np.all(np.isfinite(d)):
        return math.nan
    if np.all(d == 0):
        return 1.0
    return float(stats.wilcoxon(d, zero_method="pratt", alternative="two-sided").pvalue)


def paired_t_p(a, b) -> float:
    """Two-sided paired t-test p (``scipy.stats.ttest_rel``), for reference.

    n < 2 -> NaN; all differences zero -> 1.0; constant nonzero differences (sd 0, t infinite) -> NaN.
    """
    a, b = _pair(a, b)
    d = a - b
    if d.size < 2 or not np.all(np.isfinite(d)):
        return math.nan
    if np.all(d == 0):
        return 1.0
    if np.all(d == d[0]):
        return math.nan
    return float(stats.ttest_rel(a, b).pvalue)


def corrected_resampled_t_p(a, b, test_train_ratio: float) -> float:
    """Nadeau & Bengio's (2003) corrected resampled t-test, two-sided, for runs on J random re-splits.

    The training sets of different splits overlap, so the differences are correlated and the plain
    variance s^2 / J is too small; the correction uses s^2 (1/J + n_test / n_train), df = J - 1
    (``scipy.stats.t``). Same degenerate cases as ``paired_t_p``.
    """
    a, b = _pair(a, b)
    d = a - b
    if d.size < 2 or not np.all(np.isfinite(d)):
        return math.nan
    if np.all(d == 0):
        return 1.0
    variance = np.var(d, ddof=1) * (1.0 / d.size + test_train_ratio)
    if variance == 0:
        return math.nan
    statistic = np.mean(d) / math.sqrt(variance)
    return float(2.0 * stats.t.sf(abs(statistic), df=d.size - 1))


def friedman_test(matrix) -> tuple[float, float]:
    """Friedman omnibus test; ``matrix`` is seeds (blocks, rows) x schedules (columns).

    Rows with a NaN are dropped (complete blocks only). Needs >= 3 schedules and >= 2 seeds, else
    (NaN, NaN). If every block is fully tied the statistic is 0/0: defined as (0.0, 1.0).
    Otherwise ``scipy.stats.friedmanchisquare`` (tie-corrected, chi-square p).
    """
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2:
        raise ValueError("friedman_test needs a 2-D matrix (seeds x schedules)")
    m = m[~np.isnan(m).any(axis=1)]
    n, k = m.shape
    if k < 3 or n < 2:
        return (math.nan, math.nan)
    if np.all(m == m[:, :1]):
        return (0.0, 1.0)
    res = stats.friedmanchisquare(*(m[:, j] for j in range(k)))
    return (float(res.statistic), float(res.pvalue))


def holm(pvalues) -> np.ndarray:
    """Holm step-down adjusted p-values, in the input order.

    NaNs are ignored (m counts the non-NaN values) and stay NaN. With p_(1) <= ... <= p_(m):
    adj_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)). Monotone in p, never below p, capped at 1.
    """
    p = np.asarray(pvalues, dtype=float).reshape(-1)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    if idx.size == 0:
        return out
    if np.any((p[idx] < 0) | (p[idx] > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    m = idx.size
    order = idx[np.argsort(p[idx], kind="stable")]
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adjusted
    return out


# --------------------------------------------------------------------------------------------------
# learning curves
# --------------------------------------------------------------------------------------------------
def epochs_to_target(val_acc_by_epoch, target: float) -> float:
    """First 1-based epoch whose accuracy is >= target (tolerance 1e-9); never reached -> inf.

    ``val_acc_by_epoch[i]`` is the accuracy after epoch i + 1. NaN never reaches the target.
    """
    acc = _vec(val_acc_by_epoch)
    hits = np.flatnonzero(acc >= target - _EPS)
    return float(hits[0] + 1) if hits.size else math.inf

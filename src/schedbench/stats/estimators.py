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
  all paired differences zero        rank-biserial and paired dominance 0.0
  n < 3                              Hedges d_z NaN (at n = 2, J = 1 - 3/(4*1-1) = 0)
  sd of differences 0 (nonzero)      Hedges d_z NaN
  ================================  ==========================================================

  (Tests and their degenerate cases: :mod:`schedbench.stats.significance`.)
* An interval is degenerate when it has zero width although it rests on more than one value: every
  resample gave the same number. On a 1/n_val grid that is discreteness (e.g. most seeds at the ceiling),
  not certainty; ``interval_is_degenerate`` says so and the tables carry the flag.

* ``rank_biserial_paired`` is Pratt-consistent (as ``wilcoxon(zero_method='pratt')``): zero
  differences are ranked with the others (they get the smallest ranks) but contribute to neither
  rank sum; the denominator is the total rank sum n(n+1)/2. Zeros therefore pull it towards 0, as
  ties pull P(A>B) towards 0.5.
  This is the variant of ``scipy.stats.wilcoxon(zero_method='pratt')``; pingouin's drops the zeros from
  the denominator too (Wilcox's method) and reads larger when ties at zero dominate.
* Effect sizes, paired and not: ``paired_dominance`` = P(A>B) - P(B>A) over seeds, (wins - losses) / n,
  is the paired counterpart of ``cliffs_delta``, which compares every run of A with every run of B and
  ignores the pairing (kept, labelled unpaired, for comparison with studies that report it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import special, stats

__all__ = [
    "iqm", "bootstrap_ci", "bootstrap_cis", "interval_is_degenerate", "wilson_interval", "win_tie_loss",
    "prob_improvement", "prob_improvement_ci", "paired_dominance", "cliffs_delta", "rank_biserial_paired",
    "hedges_dz", "epochs_to_target", "majority_accuracy", "median_interval",
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
def as_vector(x) -> np.ndarray:
    """A 1-D float array (a copy is not guaranteed)."""
    return np.asarray(x, dtype=float).reshape(-1)


def as_pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = as_vector(a), as_vector(b)
    if a.shape != b.shape:
        raise ValueError(f"paired samples must have the same length, got {a.size} and {b.size}")
    return a, b


def as_generator(seed: Seed) -> np.random.Generator:
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
        x = as_vector(x)
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
    return bootstrap_cis(*samples, statistics=(statistic,), paired=paired, confidences=(confidence,),
                         resamples=resamples, seed=seed)[0][0]


def bootstrap_cis(
    *samples,
    statistics: Sequence[Callable | None] = (None,),
    paired: bool = False,
    confidences: Sequence[float] = (0.95,),
    resamples: int = 50_000,
    seed: Seed,
) -> list[list[tuple[float, float]]]:
    """Several intervals from one resampling of the seeds: ``intervals[i][j]`` is the interval of
    ``statistics[i]`` at ``confidences[j]``, bit for bit what :func:`bootstrap_ci` gives for that statistic and
    level with the same ``seed`` (an int seed draws the same resamples on every call, so they can be shared).
    ``None`` is the default statistic (the mean; the mean difference with ``paired=True``)."""
    if paired:
        if len(samples) != 2:
            raise ValueError(f"paired=True needs two samples, got {len(samples)}")
        samples = as_pair(*samples)
        default = _mean_diff
    else:
        if len(samples) != 1:
            raise ValueError(f"a bootstrap needs one sample (two with paired=True), got {len(samples)}")
        samples = (as_vector(samples[0]),)
        default = np.mean
    functions = [default if statistic is None else statistic for statistic in statistics]
    n = samples[0].size
    if n == 0 or not all(np.all(np.isfinite(s)) for s in samples):
        return [[(math.nan, math.nan)] * len(confidences) for _ in functions]
    if n < 2 or all(np.all(s == s[0]) for s in samples):
        values = [float(function(*samples, axis=-1)) for function in functions]
        return [[(value, value)] * len(confidences) for value in values]

    def every_statistic(*resampled, axis=-1):
        return np.stack([function(*resampled, axis=axis) for function in functions])

    statistic = functions[0] if len(functions) == 1 else every_statistic
    common = dict(batch=_BATCH, vectorized=True, paired=paired, method="percentile")
    result = stats.bootstrap(samples, statistic, n_resamples=int(resamples), confidence_level=confidences[0],
                             rng=as_generator(seed), **common)
    bounds = [result.confidence_interval]
    for confidence in confidences[1:]:
        # The first call's resamples at another level: no new draws.
        bounds.append(stats.bootstrap(samples, statistic, n_resamples=0, bootstrap_result=result,
                                      confidence_level=confidence, **common).confidence_interval)
    low = [np.atleast_1d(bound.low) for bound in bounds]
    high = [np.atleast_1d(bound.high) for bound in bounds]
    return [[(float(low[j][i]), float(high[j][i])) for j in range(len(confidences))] for i in range(len(functions))]


def median_interval(x, confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free interval of the median by order statistics (``scipy.stats.quantile_test``'s interval,
    two-sided): (x_(l), x_(u)) with the ranks l and u that cover the median with probability >= ``confidence``
    under Binomial(n, 1/2), for any continuous distribution.

    Unlike a bootstrap it takes infinite values as they are (a time to a target never reached): the median of
    [1, 2, 3, 4, 5, 6, inf x 6] lies in (3, inf). NaN where no pair of order statistics reaches ``confidence``
    (n <= 5 at 95 %: the widest, (min, max), covers 1 - 2 / 2**n) and for an empty sample; NaN values are left
    out.
    """
    values = as_vector(x)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return (math.nan, math.nan)
    interval = stats.quantile_test(values, q=0.0, p=0.5).confidence_interval(confidence_level=confidence)
    return (float(interval.low), float(interval.high))


def reach_profile(values, thresholds, *, confidence: float = 0.95, resamples: int = 50_000,
                  seed: Seed) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Share of seeds reaching each threshold, ``mean(x >= tau)``, with a pointwise percentile bootstrap band.

    Returns (share, low, high), one value per threshold. One resampling of the seeds serves every threshold:
    the band equals ``bootstrap_ci(x, statistic=lambda s, axis: np.mean(s >= tau, axis=axis), seed=seed)``
    threshold by threshold, at the cost of one call. Empty or non-finite input -> NaN; n = 1 or a constant
    sample -> a band of zero width.
    """
    x = as_vector(values)
    thresholds = np.asarray(thresholds, dtype=float)
    if x.size == 0 or not np.all(np.isfinite(x)):
        nan = np.full(thresholds.shape, math.nan)
        return nan, nan.copy(), nan.copy()
    share = (x[None, :] >= thresholds[:, None]).mean(axis=1)
    if x.size < 2 or np.all(x == x[0]):
        return share, share.copy(), share.copy()

    def reach(sample, axis=-1):
        return np.stack([np.mean(sample >= tau, axis=axis) for tau in thresholds])

    res = stats.bootstrap((x,), reach, n_resamples=int(resamples), batch=_BATCH, vectorized=True,
                          confidence_level=confidence, method="percentile", rng=as_generator(seed))
    return share, np.asarray(res.confidence_interval.low, dtype=float), np.asarray(res.confidence_interval.high,
                                                                                     dtype=float)


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
    a, b = as_pair(a, b)
    return (int(np.sum(a > b)), int(np.sum(a == b)), int(np.sum(a < b)))


def prob_improvement(a, b) -> float:
    """Paired probability of improvement P(A>B) = (wins + ties/2) / n. Empty -> NaN.

    P(A>B) + P(B>A) = 1. Its interval: ``prob_improvement_ci``.
    """
    a, b = as_pair(a, b)
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
    a, b = as_pair(a, b)
    n = a.size
    if n == 0:
        return (math.nan, math.nan)
    w, t, l = win_tie_loss(a, b)
    if w + l == 0:
        return (0.5, 0.5)
    q = stats.binomtest(w, w + l).proportion_ci(confidence_level=confidence, method="exact")
    return ((t / 2 + q.low * (w + l)) / n, (t / 2 + q.high * (w + l)) / n)


def paired_dominance(a, b) -> float:
    """(wins - losses) / n over paired seeds, in [-1, 1]: Cliff's delta restricted to the pairs of one seed,
    i.e. P(A>B) - P(B>A) with ties counting for neither. Empty -> NaN."""
    a, b = as_pair(a, b)
    if a.size == 0:
        return math.nan
    w, _, l = win_tie_loss(a, b)
    return _zero_to_positive((w - l) / a.size)


def interval_is_degenerate(low: float, high: float, n: int) -> bool:
    """True when an interval over n > 1 values has zero width: every resample gave the same number."""
    return bool(n > 1 and math.isfinite(low) and math.isfinite(high) and high - low <= 1e-12)


def cliffs_delta(a, b) -> float:
    """Cliff's delta, unpaired (every a_i against every b_j, the pairing by seed ignored): (#{a_i > b_j} - #{a_i < b_j}) / (n_a n_b) over all pairs. Empty -> NaN."""
    a, b = as_vector(a), as_vector(b)
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
    a, b = as_pair(a, b)
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

    NaN (undefined) when n < 3 or the sd of the differences (ddof=1) is 0 or not finite. At n = 2 the
    correction J is 0: one degree of freedom cannot estimate a standardized effect, and d_z = 0.0 there would
    read as "no effect" for pairs that won 2 of 2 by several examples; NaN says "undefined" instead.
    """
    a, b = as_pair(a, b)
    d = a - b
    n = d.size
    if n < 3:
        return math.nan
    sd = float(np.std(d, ddof=1))
    if not np.isfinite(sd) or sd == 0.0:
        return math.nan
    j = 1.0 - 3.0 / (4.0 * (n - 1) - 1.0)
    return _zero_to_positive(float(np.mean(d)) / sd * j)


# --------------------------------------------------------------------------------------------------
# learning curves
# --------------------------------------------------------------------------------------------------
def epochs_to_target(val_acc_by_epoch, target: float) -> float:
    """First 1-based epoch whose accuracy is >= target (tolerance 1e-9); never reached -> inf.

    ``val_acc_by_epoch[i]`` is the accuracy after epoch i + 1. NaN never reaches the target.
    """
    acc = as_vector(val_acc_by_epoch)
    hits = np.flatnonzero(acc >= target - _EPS)
    return float(hits[0] + 1) if hits.size else math.inf


def majority_accuracy(scored_labels) -> float:
    """The majority-class score: the accuracy of always answering the most frequent class of the scored rows.

    ``scored_labels``: one sequence of labels per seed, the rows that seed's accuracies are measured on (the
    validation rows under tail and resplit, the test rows under heldout). For seed s with n_s scored rows of
    which c_s belong to its most frequent class, the score is c_s / n_s; the result is their mean over the S
    seeds, (1 / S) sum_s c_s / n_s. It is the accuracy a model that learned nothing but the scored rows' class
    balance would reach, the floor every reported accuracy is read against. NaN without seeds; a seed without
    rows is a ValueError.
    """
    shares = []
    for labels in scored_labels:
        labels = np.asarray(labels, dtype=object).reshape(-1)
        if labels.size == 0:
            raise ValueError("majority_accuracy: a seed has no scored rows")
        _, counts = np.unique(labels.astype(str), return_counts=True)
        shares.append(counts.max() / labels.size)
    return float(np.mean(shares)) if shares else math.nan

"""Tests of paired differences over seeds, and one multiplicity rule: small pure functions over numpy arrays.

Accuracies on n validation rows are counts k / n, so the paired differences between two schedules are whole
examples, most of them 0 or +-1. On such data the randomisation distributions are cheap to compute exactly,
and normal approximations are off by a factor of two (scipy's Wilcoxon falls back to one with ties or zeros
above 13 pairs). So:

* ``sign_flip_test`` (primary): the randomisation test of the mean difference, which flips the sign of each
  seed's difference. Exact for integer differences (their sum's null distribution by convolution, any n);
  Monte Carlo only for non-integer differences, with p = (b + 1) / (R + 1) per side, whose floor 2 / (R + 1)
  and standard error the result carries.
* ``wilcoxon_p``: the signed-rank test with Pratt's treatment of zeros (ranked with the others, then left
  out), exact conditional on the observed ranks, ties included (the same convolution over doubled mid-ranks).
* ``paired_t_p`` (reference) and ``corrected_resampled_t_p``: Nadeau and Bengio's t for re-split protocols.
  The sign-flip and Wilcoxon tests answer "does A beat B on these seeds' splits?"; the corrected t answers
  "would A beat B on new data from the same distribution?", counting the variance of the split.
* Two-sided p-values are 2 * min(one-sided p), capped at 1, as scipy's ``permutation_test``.
* Multiplicity: within a family of m comparisons, p-values are Holm-adjusted and every interval a decision
  rests on is taken at the Bonferroni level 1 - alpha / m (``family_confidence``): each controls the
  family-wise error at alpha, and a call that needs both (schedbench.stats.tabulate) never contradicts either.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import optimize, stats

from schedbench.stats.estimators import Seed, as_generator, as_pair, as_vector

__all__ = [
    "PValue", "signed_sum_null", "sign_flip_test", "wilcoxon_p", "paired_t_p", "corrected_resampled_t_p",
    "friedman_test", "holm", "family_confidence", "minimum_detectable_effect", "DETECTION_POWER",
]

# The power at which a design's minimum detectable effect is stated (the conventional 80 %).
DETECTION_POWER = 0.8

# Beyond this many support points (sum of |integer differences|) the exact null is not computed.
_EXACT_SUPPORT_LIMIT = 2_000_000
_BATCH = 10_000


class PValue(NamedTuple):
    """A p-value and how it was obtained: exact, or Monte Carlo with R resamples (``resamples`` 0 = exact)."""

    p: float
    resamples: int = 0

    @property
    def exact(self) -> bool:
        return self.resamples == 0

    @property
    def floor(self) -> float:
        """The smallest two-sided p the Monte Carlo estimate can give, 2 / (R + 1); 0 when exact."""
        return 0.0 if self.exact else min(1.0, 2.0 / (self.resamples + 1))

    @property
    def standard_error(self) -> float:
        """Binomial standard error of a Monte Carlo p, sqrt(p (1 - p) / R); 0 when exact."""
        return 0.0 if self.exact else math.sqrt(self.p * (1.0 - self.p) / self.resamples)


def signed_sum_null(weights) -> tuple[np.ndarray, np.ndarray]:
    """Null distribution of T = sum_i s_i w_i with independent signs s_i = +-1 (probability 1/2 each), for
    non-negative integer weights: (values, probabilities), values ascending from -sum(w) to +sum(w).

    Computed by adding one weight at a time (a convolution with two point masses), O(n sum(w)).
    """
    w = np.asarray(weights, dtype=np.int64).reshape(-1)
    if np.any(w < 0):
        raise ValueError("weights must be non-negative integers")
    total = int(w.sum())
    probabilities = np.zeros(2 * total + 1)
    probabilities[total] = 1.0
    for weight in w[w > 0]:
        shifted = np.zeros_like(probabilities)
        shifted[: probabilities.size - weight] += probabilities[weight:]
        shifted[weight:] += probabilities[: probabilities.size - weight]
        probabilities = 0.5 * shifted
    return np.arange(-total, total + 1), probabilities


def _two_sided(values: np.ndarray, probabilities: np.ndarray, observed: float) -> float:
    """2 * min(P(T <= t), P(T >= t)), capped at 1."""
    tolerance = 1e-9 * max(1.0, abs(observed))
    below = probabilities[values <= observed + tolerance].sum()
    above = probabilities[values >= observed - tolerance].sum()
    return float(min(1.0, 2.0 * min(below, above)))


def _integers(x: np.ndarray) -> np.ndarray | None:
    rounded = np.rint(x)
    return rounded.astype(np.int64) if np.all(np.abs(x - rounded) <= 1e-9 * np.maximum(1.0, np.abs(x))) else None


def sign_flip_test(diff, *, resamples: int = 50_000, seed: Seed) -> PValue:
    """Two-sided paired sign-flip test of mean(diff) = 0: the null flips each difference's sign.

    Integer differences (counts of examples): exact, from :func:`signed_sum_null` of the |differences|,
    statistic the sum (equivalently the mean). Otherwise Monte Carlo with ``resamples`` draws
    (``scipy.stats.permutation_test``, ``permutation_type='samples'``). The smallest exact p is 2**(1 - n'),
    n' = the number of non-zero differences: five seeds can never give p < 0.05.
    Empty or non-finite -> NaN; all differences zero, or n = 1 -> 1.0 (exact).
    """
    d = as_vector(diff)
    if d.size == 0 or not np.all(np.isfinite(d)):
        return PValue(math.nan)
    if np.all(d == 0) or d.size == 1:
        return PValue(1.0)
    counts = _integers(d)
    if counts is not None and np.abs(counts).sum() <= _EXACT_SUPPORT_LIMIT:
        values, probabilities = signed_sum_null(np.abs(counts))
        return PValue(_two_sided(values, probabilities, float(counts.sum())))
    res = stats.permutation_test(
        (d,), np.mean, permutation_type="samples", vectorized=True, n_resamples=int(resamples), batch=_BATCH,
        alternative="two-sided", rng=as_generator(seed),
    )
    return PValue(float(min(1.0, res.pvalue)), int(resamples))


def _differences(a, b) -> tuple[np.ndarray, float | None]:
    """The paired differences a - b, and the p-value when they settle it without a test: NaN for fewer than
    two pairs or a non-finite value, 1.0 when every difference is zero."""
    a, b = as_pair(a, b)
    d = a - b
    if d.size < 2 or not np.all(np.isfinite(d)):
        return d, math.nan
    if np.all(d == 0):
        return d, 1.0
    return d, None


def wilcoxon_p(a, b) -> float:
    """Two-sided Wilcoxon signed-rank p, Pratt's zeros, exact conditional on the observed ranks.

    The |d| are ranked with the zeros (average ranks for ties); the zeros are then left out and the null
    gives every other rank a random sign. With doubled mid-ranks as integer weights, W+ - W- is a signed
    sum: :func:`signed_sum_null` gives its exact distribution whatever the ties. Without ties or zeros this
    is scipy's exact test. n < 2 -> NaN; all differences zero -> 1.0.
    """
    d, settled = _differences(a, b)
    if settled is not None:
        return settled
    doubled_ranks = np.rint(2.0 * stats.rankdata(np.abs(d), method="average")).astype(np.int64)
    nonzero = d != 0
    weights = doubled_ranks[nonzero]
    observed = float(np.sum(np.sign(d[nonzero]) * weights))
    values, probabilities = signed_sum_null(weights)
    return _two_sided(values, probabilities, observed)


def paired_t_p(a, b) -> float:
    """Two-sided paired t-test p (``scipy.stats.ttest_rel``), for reference.

    n < 2 -> NaN; all differences zero -> 1.0; constant nonzero differences (sd 0, t infinite) -> NaN.
    """
    d, settled = _differences(a, b)
    if settled is not None:
        return settled
    if np.all(d == d[0]):
        return math.nan
    return float(stats.ttest_rel(d, np.zeros_like(d)).pvalue)  # the test of a - b is the test of d against 0


def corrected_resampled_t_p(a, b, test_train_ratio: float) -> float:
    """Nadeau & Bengio's (2003) corrected resampled t-test, two-sided, for runs on J random re-splits.

    The training sets of different splits overlap, so the differences are correlated and the plain
    variance s^2 / J is too small; the correction uses s^2 (1/J + n_test / n_train), df = J - 1
    (``scipy.stats.t``). Same degenerate cases as ``paired_t_p``.
    """
    d, settled = _differences(a, b)
    if settled is not None:
        return settled
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


def family_confidence(confidence: float, family_size: int) -> float:
    """Bonferroni level for each of ``family_size`` intervals that share the error rate 1 - confidence."""
    return 1.0 - (1.0 - confidence) / max(1, family_size)


def minimum_detectable_effect(sd: float, n: int, alpha: float, power: float = DETECTION_POWER) -> float:
    """The smallest true mean paired difference a two-sided paired t-test at level ``alpha`` detects with
    probability ``power``, for n pairs whose differences have standard deviation ``sd`` (the same unit out).

    Formula (exact for normal differences): the paired t statistic on n pairs follows a noncentral t with
    df = n - 1 and noncentrality lambda = delta sqrt(n) / sd, so its power is
        P(T' > t_c) + P(T' < -t_c),  T' ~ nct(n - 1, lambda),  t_c = t_{1 - alpha/2, n - 1}
    (``scipy.stats.nct``, ``scipy.stats.t``). The MDE is delta* = lambda* sd / sqrt(n), lambda* the root of
    power(lambda) = ``power`` (``scipy.optimize.brentq``; the power rises with lambda). The normal shortcut
    (z_{1-alpha/2} + z_{power}) sd / sqrt(n) is its large-n limit and starts the bracket; with a few seeds
    it is far too optimistic (n = 5, alpha 0.05: 1.25 sd against the exact 1.68 sd), hence the exact root.
    Why a t-test when the calls use sign-flip tests and bootstrap intervals: it is the standard closed form
    for a paired design's power, the sign-flip test of the mean converges to it, and it needs only the
    observed spread; read it as the order of magnitude the design could see, not a property of each test.

    Degenerate cases: n < 2 -> NaN (no spread can be estimated). sd = 0 with n >= 2 -> NaN as well: every
    pair gave the same difference, so the seeds carry no estimate of the noise and the t-test is undefined
    (t infinite or 0/0); returning 0 would claim any difference is detectable, which the exact tests' floor
    2^(1 - n) contradicts. Non-finite sd, or alpha or power outside (0, 1) -> NaN.
    """
    if not (n >= 2 and math.isfinite(sd) and sd > 0 and 0 < alpha < 1 and 0 < power < 1):
        return math.nan
    df = n - 1
    critical = float(stats.t.ppf(1.0 - alpha / 2.0, df))

    def shortfall(noncentrality: float) -> float:
        # The far tail is below 1e-8 wherever scipy's nct underflows to NaN in it (large df and lambda).
        far_tail = float(np.nan_to_num(stats.nct.cdf(-critical, df, noncentrality), nan=0.0))
        return float(stats.nct.sf(critical, df, noncentrality)) + far_tail - power

    high = float(stats.norm.ppf(1.0 - alpha / 2.0) + stats.norm.ppf(power)) + 1.0
    while shortfall(high) < 0:
        high *= 2.0
    noncentrality = optimize.brentq(shortfall, 0.0, high, xtol=1e-10)
    return float(noncentrality * sd / math.sqrt(n))

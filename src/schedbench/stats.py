"""Statistics for comparing learning-rate schedules over seeds.

Small pure functions (in the spirit of rliable) plus four table builders that the report uses.
Everything here is deterministic: every random procedure takes an explicit ``seed`` (an ``int``, from
the config's ``report.rng_seed``, or a ``numpy.random.Generator``), so the same input and seed give
bitwise-identical numbers.

Conventions and documented choices
----------------------------------
* Primary metric: the final-epoch validation accuracy of each run. A run is one
  (dataset, protocol, schedule, seed); its final epoch is its own largest ``epoch``. A diverged run
  keeps its accuracy and counts like any other run; ``n_diverged`` counts runs with ``diverged`` true
  at any epoch.
* Accuracies are k / n_val. For tests, ranks, ties and the comparison table the accuracies are turned
  back into integer counts of correct examples (``round(accuracy * n_val)``), so that ties are exact
  and differences are whole examples. ``n_val`` must be the same for every run of a (dataset, protocol)
  (it is: the validation set has a fixed size under both protocols); otherwise a ``ValueError``.
* Intervals are percentile bootstraps over seeds (``scipy.stats.bootstrap``, ``method='percentile'``,
  vectorised, fixed batch size). In the tables every interval draws from a fresh
  ``numpy.random.default_rng(seed)``: a row's numbers do not depend on which other rows exist.
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
* Holm in ``comparison_table``: applied to the sign-flip p-values, within each (dataset, protocol),
  separately for the family of vs-baseline rows and for the family of all-pairs rows.
* Reading of P(A>B) (Bouthillier et al.): 'significant' if the interval's lower bound > 0.5,
  'meaningful' if P(A>B) > 0.75, both -> 'significant and meaningful'. Mirrored for B:
  'b significant' if the upper bound < 0.5, 'b meaningful' if P(A>B) < 0.25, 'b significant and
  meaningful'. Otherwise (or undefined) 'neither'.
* Equivalence: the bootstrap interval of the mean difference lies inside the closed band
  [-equivalence_examples, +equivalence_examples] examples.
* The final validation loss statistics use only runs whose final loss is finite (diverged runs
  have NaN/inf losses); the accuracy statistics use every run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import special, stats

__all__ = [
    "iqm",
    "bootstrap_ci",
    "paired_bootstrap_ci",
    "wilson_interval",
    "prob_improvement",
    "prob_improvement_ci",
    "win_tie_loss",
    "cliffs_delta",
    "rank_biserial_paired",
    "hedges_dz",
    "sign_flip_test",
    "wilcoxon_p",
    "paired_t_p",
    "corrected_resampled_t_p",
    "friedman_test",
    "holm",
    "epochs_to_target",
    "summary_table",
    "comparison_table",
    "friedman_table",
    "replication_table",
    "SUMMARY_CONTRACT",
    "SUMMARY_COLUMNS",
    "COMPARISON_COLUMNS",
    "FRIEDMAN_COLUMNS",
    "REPLICATION_COLUMNS",
]

# Resamples are drawn in batches of this size: bounds memory (batch x n floats) and, being fixed,
# keeps the random stream, hence every interval, identical from run to run.
_BATCH = 10_000
# Tolerance for comparing accuracies (exact multiples of 1/n_val) with a threshold.
_EPS = 1e-9

RUN_KEYS = ("dataset", "protocol", "schedule", "seed")
GROUP_KEYS = ("dataset", "protocol", "schedule")
REQUIRED_COLUMNS = (
    "dataset", "protocol", "schedule", "seed", "epoch", "val_loss", "val_accuracy", "diverged", "n_val",
)

SUMMARY_CONTRACT = (
    "dataset", "protocol", "schedule", "n_seeds", "mean", "sd", "median", "min", "max", "ci_low", "ci_high",
)
SUMMARY_COLUMNS = SUMMARY_CONTRACT + (
    "n_val", "mean_correct", "iqr", "iqm", "iqm_ci_low", "iqm_ci_high", "median_ci_low", "median_ci_high",
    "final_val_loss_mean", "final_val_loss_ci_low", "final_val_loss_ci_high", "best_epoch_accuracy_mean",
    "epochs_to_target_median", "reached_target", "n_diverged", "noise_floor_low", "noise_floor_high",
)
COMPARISON_COLUMNS = (
    "dataset", "protocol", "a", "b", "n_pairs", "mean_diff", "mean_diff_examples", "diff_ci_low",
    "diff_ci_high", "wins", "ties", "losses", "p_a_better", "p_a_better_ci_low", "p_a_better_ci_high",
    "reading", "cliffs_delta", "rank_biserial", "hedges_dz", "p_sign_flip", "p_wilcoxon", "p_t",
    "p_t_corrected", "p_holm",
    "equivalent", "vs_baseline",
)
FRIEDMAN_COLUMNS = ("dataset", "protocol", "n_seeds", "n_schedules", "statistic", "p")
REPLICATION_COLUMNS = (
    "dataset", "protocol", "schedule", "article", "article_correct", "n_val", "n_seeds", "mean", "median",
    "min", "max", "frac_below", "frac_equal", "frac_above", "article_percentile",
)

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


def _mean_stat(x, axis=-1):
    return np.mean(x, axis=axis)


def _median_stat(x, axis=-1):
    return np.median(x, axis=axis)


def _mean_diff_stat(a, b, axis=-1):
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


def _iqm_stat(x, axis=-1):
    return stats.trim_mean(x, 0.25, axis=axis)


def bootstrap_ci(
    x,
    statistic: Callable = _mean_stat,
    *,
    confidence: float = 0.95,
    resamples: int = 50_000,
    seed: Seed,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over the values ``x`` (one per seed).

    ``statistic(sample, axis=-1)`` must be vectorised (``np.mean``, ``np.median``, ``iqm`` ...).
    Uses ``scipy.stats.bootstrap(method='percentile', vectorized=True)``.
    Defined degenerate cases: empty or non-finite input -> (NaN, NaN); n = 1 or all values equal ->
    (value, value) with value = statistic(x).
    """
    x = _vec(x)
    if x.size == 0 or not np.all(np.isfinite(x)):
        return (math.nan, math.nan)
    if x.size < 2 or np.all(x == x[0]):
        value = float(statistic(x, axis=-1))
        return (value, value)
    res = stats.bootstrap(
        (x,),
        statistic,
        n_resamples=int(resamples),
        batch=_BATCH,
        vectorized=True,
        paired=False,
        confidence_level=confidence,
        method="percentile",
        rng=_rng(seed),
    )
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def paired_bootstrap_ci(
    a,
    b,
    statistic: Callable = _mean_diff_stat,
    *,
    confidence: float = 0.95,
    resamples: int = 50_000,
    seed: Seed,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(a, b, axis=-1)`` resampling seeds jointly.

    ``a[i]`` and ``b[i]`` belong to the same seed (``paired=True``: the pair is resampled as a unit).
    The default statistic is the mean difference mean(a - b).
    Degenerate cases: empty or non-finite -> (NaN, NaN); n = 1 or all pairs identical ->
    (value, value).
    """
    a, b = _pair(a, b)
    if a.size == 0 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return (math.nan, math.nan)
    if a.size < 2 or (np.all(a == a[0]) and np.all(b == b[0])):
        value = float(statistic(a, b, axis=-1))
        return (value, value)
    res = stats.bootstrap(
        (a, b),
        statistic,
        n_resamples=int(resamples),
        batch=_BATCH,
        vectorized=True,
        paired=True,
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
        _mean_stat,
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


# --------------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------------
def _appearance_codes(s: pd.Series) -> np.ndarray:
    """Integer code of each value in order of first appearance."""
    uniques = pd.unique(s)
    return pd.Categorical(s, categories=uniques).codes


def _per_run(runs: pd.DataFrame, target_accuracy: float) -> pd.DataFrame:
    """One row per run (dataset, protocol, schedule, seed), ordered by first appearance of dataset,
    protocol, schedule, then by seed. Columns: the keys, accuracy (final epoch), correct (integer),
    n_val, val_loss (final epoch), best_accuracy, diverged (any epoch), epochs_to_target."""
    missing = [c for c in REQUIRED_COLUMNS if c not in runs.columns]
    if missing:
        raise ValueError(f"runs is missing columns: {missing}")
    keys = list(RUN_KEYS)
    df = runs.loc[:, list(REQUIRED_COLUMNS)].reset_index(drop=True)
    if df.duplicated(keys + ["epoch"]).any():
        raise ValueError("runs has duplicated (dataset, protocol, schedule, seed, epoch) rows")
    codes = pd.DataFrame({
        "_d": _appearance_codes(df["dataset"]),
        "_p": _appearance_codes(df["protocol"]),
        "_s": _appearance_codes(df["schedule"]),
    })
    df["diverged"] = df["diverged"].fillna(False).astype(bool)
    df = pd.concat([df, codes], axis=1)
    df = df.sort_values(["_d", "_p", "_s", "seed", "epoch"], kind="stable").reset_index(drop=True)
    g = df.groupby(keys, sort=False)
    last = g.tail(1).set_index(keys)  # sorted by epoch within a run: the final (max) epoch
    out = last.loc[:, ["_d", "_p", "_s", "val_accuracy", "val_loss", "n_val"]].rename(
        columns={"val_accuracy": "accuracy"}
    )
    out["best_accuracy"] = g["val_accuracy"].max()
    out["diverged"] = g["diverged"].any()
    reached = df[df["val_accuracy"] >= target_accuracy - _EPS].groupby(keys, sort=False)["epoch"].min()
    out["epochs_to_target"] = reached.reindex(out.index).astype(float).fillna(math.inf)
    out = out.reset_index()
    out["n_val"] = out["n_val"].astype(np.int64)
    out["accuracy"] = out["accuracy"].astype(float)
    out["val_loss"] = out["val_loss"].astype(float)
    out["correct"] = np.rint(out["accuracy"].to_numpy() * out["n_val"].to_numpy()).astype(np.int64)
    nv = out.groupby(["dataset", "protocol"], sort=False)["n_val"].nunique()
    if (nv > 1).any():
        bad = [tuple(i) for i in nv[nv > 1].index]
        raise ValueError(f"n_val differs between runs of the same (dataset, protocol): {bad}")
    return out


def summary_table(
    runs: pd.DataFrame,
    *,
    confidence: float = 0.95,
    resamples: int = 50_000,
    seed: int = 20161,
    target_accuracy: float = 0.95,
) -> pd.DataFrame:
    """One row per (dataset, protocol, schedule) describing the final-epoch validation accuracy over
    seeds; columns ``SUMMARY_COLUMNS`` (the fixed contract ``SUMMARY_CONTRACT`` first).

    Row order: dataset, protocol, schedule, each in order of first appearance in ``runs``.
    mean/sd (ddof=1, NaN for n = 1)/median/min/max/iqr (linear-interpolated quartiles)/iqm of the
    accuracy; ci_* = bootstrap interval of the mean, iqm_ci_* of the IQM, median_ci_* of the median;
    mean_correct = mean number of correct validation examples (mean * n_val);
    final_val_loss_* over runs with a finite final loss; best_epoch_accuracy_mean = mean of each run's
    best epoch (optimistic: selects on validation); epochs_to_target_median (inf when the median run
    never reaches target_accuracy) and reached_target (runs that did); n_diverged; noise_floor_* =
    Wilson interval of one run at the median number of correct examples.
    """
    per_run = _per_run(runs, target_accuracy)
    rows = []
    for (dataset, protocol, schedule), grp in per_run.groupby(list(GROUP_KEYS), sort=False):
        x = grp["accuracy"].to_numpy(dtype=float)
        correct = grp["correct"].to_numpy(dtype=float)
        n = x.size
        n_val = int(grp["n_val"].iloc[0])
        ci = bootstrap_ci(x, _mean_stat, confidence=confidence, resamples=resamples, seed=seed)
        iqm_ci = bootstrap_ci(x, _iqm_stat, confidence=confidence, resamples=resamples, seed=seed)
        med_ci = bootstrap_ci(x, _median_stat, confidence=confidence, resamples=resamples, seed=seed)
        loss = grp["val_loss"].to_numpy(dtype=float)
        loss = loss[np.isfinite(loss)]
        loss_ci = bootstrap_ci(loss, _mean_stat, confidence=confidence, resamples=resamples, seed=seed)
        q1, q3 = np.percentile(x, [25.0, 75.0])
        ett = grp["epochs_to_target"].to_numpy(dtype=float)
        floor = wilson_interval(float(np.median(correct)), n_val, confidence)
        rows.append({
            "dataset": dataset,
            "protocol": protocol,
            "schedule": schedule,
            "n_seeds": n,
            "mean": float(np.mean(x)),
            "sd": float(np.std(x, ddof=1)) if n > 1 else math.nan,
            "median": float(np.median(x)),
            "min": float(np.min(x)),
            "max": float(np.max(x)),
            "ci_low": ci[0],
            "ci_high": ci[1],
            "n_val": n_val,
            "mean_correct": float(np.mean(correct)),
            "iqr": float(q3 - q1),
            "iqm": iqm(x),
            "iqm_ci_low": iqm_ci[0],
            "iqm_ci_high": iqm_ci[1],
            "median_ci_low": med_ci[0],
            "median_ci_high": med_ci[1],
            "final_val_loss_mean": float(np.mean(loss)) if loss.size else math.nan,
            "final_val_loss_ci_low": loss_ci[0],
            "final_val_loss_ci_high": loss_ci[1],
            "best_epoch_accuracy_mean": float(np.mean(grp["best_accuracy"].to_numpy(dtype=float))),
            "epochs_to_target_median": float(np.median(ett)),
            "reached_target": int(np.sum(np.isfinite(ett))),
            "n_diverged": int(np.sum(grp["diverged"].to_numpy(dtype=bool))),
            "noise_floor_low": floor[0],
            "noise_floor_high": floor[1],
        })
    return _frame(rows, SUMMARY_COLUMNS, ints=("n_seeds", "n_val", "reached_target", "n_diverged"))


def _frame(rows: list[dict], columns: Sequence[str], *, ints=(), bools=()) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(columns))
    for c in ints:
        df[c] = df[c].astype(np.int64)
    for c in bools:
        df[c] = df[c].astype(bool)
    for c in columns:
        if c not in ints and c not in bools and c not in ("dataset", "protocol", "schedule", "a", "b", "reading"):
            df[c] = df[c].astype(float)
    return df


def _reading(p: float, low: float, high: float) -> str:
    a_sig, a_mean = low > 0.5, p > 0.75
    b_sig, b_mean = high < 0.5, p < 0.25
    if a_sig or a_mean:
        return "significant and meaningful" if a_sig and a_mean else ("significant" if a_sig else "meaningful")
    if b_sig or b_mean:
        return (
            "b significant and meaningful" if b_sig and b_mean else ("b significant" if b_sig else "b meaningful")
        )
    return "neither"


def _compare(
    ka: np.ndarray, kb: np.ndarray, n_val: int, *, confidence: float, resamples: int, seed: int,
    equivalence_examples: float, test_train_ratio: float | None = None,
) -> dict:
    """All statistics of one paired comparison on integer correct counts (ka, kb, same seed order)."""
    d = ka - kb
    n = d.size
    lo_ex, hi_ex = paired_bootstrap_ci(
        ka, kb, _mean_diff_stat, confidence=confidence, resamples=resamples, seed=seed
    )
    p = prob_improvement(ka, kb)
    p_lo, p_hi = prob_improvement_ci(ka, kb, confidence=confidence)
    w, t, l = win_tie_loss(ka, kb)
    mean_ex = float(np.mean(d)) if n else math.nan
    tol = 1e-9
    equivalent = bool(
        n > 0 and lo_ex >= -equivalence_examples - tol and hi_ex <= equivalence_examples + tol
    )
    return {
        "n_pairs": n,
        "mean_diff": mean_ex / n_val,
        "mean_diff_examples": mean_ex,
        "diff_ci_low": lo_ex / n_val,
        "diff_ci_high": hi_ex / n_val,
        "wins": w,
        "ties": t,
        "losses": l,
        "p_a_better": p,
        "p_a_better_ci_low": p_lo,
        "p_a_better_ci_high": p_hi,
        "reading": _reading(p, p_lo, p_hi),
        "cliffs_delta": cliffs_delta(ka, kb),
        "rank_biserial": rank_biserial_paired(ka, kb),
        "hedges_dz": hedges_dz(ka, kb),
        "p_sign_flip": sign_flip_test(d, resamples=resamples, seed=seed),
        "p_wilcoxon": wilcoxon_p(ka, kb),
        "p_t": paired_t_p(ka, kb),
        "p_t_corrected": (corrected_resampled_t_p(ka, kb, test_train_ratio)
                          if test_train_ratio is not None else math.nan),
        "equivalent": equivalent,
    }


def comparison_table(
    runs: pd.DataFrame,
    *,
    baseline: str,
    confidence: float = 0.95,
    resamples: int = 50_000,
    seed: int = 20161,
    equivalence_examples: float = 1,
    test_train_ratio: float | None = None,
) -> pd.DataFrame:
    """Paired comparisons of final-epoch validation accuracy; columns ``COMPARISON_COLUMNS``.

    Per (dataset, protocol), in order of first appearance: first every schedule a != baseline against
    b = baseline (vs_baseline True), then every unordered pair (a, b) of the other schedules, a before
    b in order of first appearance (vs_baseline False). Runs are paired by seed (inner join; n_pairs).
    All statistics are computed on integer correct counts: mean_diff (fraction, a - b),
    mean_diff_examples, diff_ci_* (paired bootstrap of the mean difference, as fractions), win/tie/loss,
    P(A>B) with its exact interval and reading, Cliff's delta (unpaired form), paired
    rank-biserial (Pratt), Hedges d_z, sign-flip / Wilcoxon (Pratt) / paired-t p-values; p_holm =
    Holm over p_sign_flip within (dataset, protocol), the vs-baseline family and the all-pairs family
    adjusted separately; equivalent = diff interval inside +/- equivalence_examples examples;
    p_t_corrected = Nadeau-Bengio's corrected t with ``test_train_ratio`` (n_val / n_train) for the
    ``resplit`` protocol only (NaN under ``tail``, where every seed shares one split).
    A baseline missing from a (dataset, protocol) gives that group only all-pairs rows; a baseline
    missing from every group is a ValueError.
    """
    per_run = _per_run(runs, target_accuracy=1.0)
    if baseline not in set(per_run["schedule"]):
        raise ValueError(f"baseline schedule {baseline!r} is not in runs")
    rows = []
    for (dataset, protocol), grp in per_run.groupby(["dataset", "protocol"], sort=False):
        n_val = int(grp["n_val"].iloc[0])
        by_schedule = {
            s: g.set_index("seed")["correct"] for s, g in grp.groupby("schedule", sort=False)
        }
        schedules = list(by_schedule)
        others = [s for s in schedules if s != baseline]
        pairs = [(s, baseline, True) for s in others] if baseline in by_schedule else []
        pairs += [(a, b, False) for a, b in combinations(others, 2)]
        family = []
        for a, b, vs in pairs:
            joined = pd.concat([by_schedule[a].rename("a"), by_schedule[b].rename("b")], axis=1, join="inner")
            joined = joined.sort_index(kind="stable")
            ka = joined["a"].to_numpy(dtype=float)
            kb = joined["b"].to_numpy(dtype=float)
            row = {"dataset": dataset, "protocol": protocol, "a": a, "b": b}
            row.update(_compare(ka, kb, n_val, confidence=confidence, resamples=resamples, seed=seed,
                                equivalence_examples=equivalence_examples,
                                test_train_ratio=test_train_ratio if protocol == "resplit" else None))
            row["vs_baseline"] = vs
            family.append(row)
        for flag in (True, False):
            members = [r for r in family if r["vs_baseline"] is flag]
            adjusted = holm([r["p_sign_flip"] for r in members])
            for r, adj in zip(members, adjusted):
                r["p_holm"] = float(adj)
        rows.extend(family)
    return _frame(
        rows,
        COMPARISON_COLUMNS,
        ints=("n_pairs", "wins", "ties", "losses"),
        bools=("equivalent", "vs_baseline"),
    )


def friedman_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Friedman omnibus per (dataset, protocol) on correct counts, seeds as blocks; only seeds with a
    run for every schedule enter (n_seeds). Columns ``FRIEDMAN_COLUMNS``."""
    per_run = _per_run(runs, target_accuracy=1.0)
    rows = []
    for (dataset, protocol), grp in per_run.groupby(["dataset", "protocol"], sort=False):
        schedules = list(pd.unique(grp["schedule"]))
        matrix = grp.pivot(index="seed", columns="schedule", values="correct")
        matrix = matrix.reindex(columns=schedules).sort_index().dropna(axis=0, how="any")
        statistic, p = friedman_test(matrix.to_numpy(dtype=float))
        rows.append({
            "dataset": dataset, "protocol": protocol, "n_seeds": int(matrix.shape[0]),
            "n_schedules": len(schedules), "statistic": statistic, "p": p,
        })
    return _frame(rows, FRIEDMAN_COLUMNS, ints=("n_seeds", "n_schedules"))


def replication_table(runs: pd.DataFrame, article: Mapping[str, float]) -> pd.DataFrame:
    """Where the article's single-seed results fall in our seed distribution.

    One row per (dataset, protocol, schedule) whose schedule has an article value (table order as
    ``summary_table``; schedules of ``article`` absent from runs are skipped). article_correct: the
    article's value as a count of correct examples when it is a k/n_val rounded to the article's
    precision (|k/n_val - article| <= 0.5e-4, i.e. 0.005 percentage points; 0.9914 -> 115/116), else
    NaN. frac_below / frac_equal / frac_above: fractions of seeds scoring below, equal to and above
    the article (in counts when article_correct is defined, else as floats);
    article_percentile = frac_below + frac_equal / 2 (mid-rank percentile of the article's number in
    our distribution). The majority-class line is the caller's.
    """
    per_run = _per_run(runs, target_accuracy=1.0)
    rows = []
    for (dataset, protocol, schedule), grp in per_run.groupby(list(GROUP_KEYS), sort=False):
        if schedule not in article:
            continue
        value = float(article[schedule])
        n_val = int(grp["n_val"].iloc[0])
        x = grp["accuracy"].to_numpy(dtype=float)
        k = round(value * n_val)
        if abs(k / n_val - value) <= 0.5e-4 + 1e-12:
            ours, ref, article_correct = grp["correct"].to_numpy(dtype=float), float(k), float(k)
        else:
            ours, ref, article_correct = x, value, math.nan
        n = x.size
        below = float(np.sum(ours < ref)) / n
        equal = float(np.sum(ours == ref)) / n
        above = float(np.sum(ours > ref)) / n
        rows.append({
            "dataset": dataset, "protocol": protocol, "schedule": schedule, "article": value,
            "article_correct": article_correct, "n_val": n_val, "n_seeds": n,
            "mean": float(np.mean(x)), "median": float(np.median(x)),
            "min": float(np.min(x)), "max": float(np.max(x)),
            "frac_below": below, "frac_equal": equal, "frac_above": above,
            "article_percentile": below + equal / 2.0,
        })
    return _frame(rows, REPLICATION_COLUMNS, ints=("n_val", "n_seeds"))

"""Rank statistics over datasets, as pure functions of numbers (Demsar 2006, JMLR 7: "Statistical comparisons of
classifiers over multiple data sets"): datasets are the blocks, families the treatments. The tables built on them
are :mod:`schedbench.stats.suite`'s.

* :func:`friedman_statistics`: Friedman's chi-square (tie-corrected) and Iman and Davenport's F, with their p.
* :func:`nemenyi_q`, :func:`critical_difference`: Nemenyi's q_alpha and CD = q_alpha sqrt(k (k + 1) / (6 N)).
* :func:`rank_difference_se`: the standard error of a difference of two average ranks, sqrt(k (k + 1) / (6 N)).
* :func:`minimum_detectable_rank_diff`: the rank gap to the baseline Demsar's z test detects at a given power.
* :func:`nemenyi_groups`: the groups of families a critical-difference diagram joins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy import stats

from schedbench.stats.significance import DETECTION_POWER

__all__ = ["friedman_statistics", "nemenyi_q", "rank_difference_se", "critical_difference",
           "minimum_detectable_rank_diff", "nemenyi_groups"]


def friedman_statistics(matrix) -> tuple[float, float, float, float]:
    """(chi2, p, F, p_F) for a blocks (rows) x treatments (columns) matrix of values or within-row ranks.

    chi2: Friedman's statistic with the tie correction (that of ``scipy.stats.friedmanchisquare``):
    [12 / (N k (k + 1)) sum_j R_j^2 - 3 N (k + 1)] / [1 - sum (t^3 - t) / (N k (k^2 - 1))], R_j the rank sums,
    t the sizes of tied groups; p from chi-square with k - 1 df. F = (N - 1) chi2 / (N (k - 1) - chi2), Iman and
    Davenport's correction, with p from F(k - 1, (k - 1)(N - 1)); a perfect agreement of every block (chi2 =
    N (k - 1)) gives F = inf, p 0. Needs N >= 2 and k >= 2, else NaNs; every block fully tied: (0, 1, 0, 1).
    """
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2:
        raise ValueError("friedman_statistics needs a 2-D matrix (blocks x treatments)")
    n, k = m.shape
    if n < 2 or k < 2 or not np.all(np.isfinite(m)):
        return (math.nan, math.nan, math.nan, math.nan)
    r = np.apply_along_axis(stats.rankdata, 1, m)  # ranks within blocks (the direction does not matter)
    ties = 0.0
    for row in m:
        _, t = np.unique(row, return_counts=True)
        ties += float(np.sum(t ** 3 - t))
    correction = 1.0 - ties / (n * k * (k * k - 1))
    if correction <= 0:
        return (0.0, 1.0, 0.0, 1.0)
    rank_sums = r.sum(axis=0)
    chi2 = (12.0 / (n * k * (k + 1)) * float(np.sum(rank_sums ** 2)) - 3.0 * n * (k + 1)) / correction
    chi2 = max(chi2, 0.0)
    p = float(stats.chi2.sf(chi2, k - 1))
    denominator = n * (k - 1) - chi2
    if denominator <= 1e-12 * n * k:
        return (chi2, p, math.inf, 0.0)
    f = (n - 1) * chi2 / denominator
    return (chi2, p, float(f), float(stats.f.sf(f, k - 1, (k - 1) * (n - 1))))


def nemenyi_q(n_families: int, alpha: float) -> float:
    """Nemenyi's q_alpha for k families: the studentized range quantile (infinite df) over sqrt(2), Demsar's
    Table 5a (k = 4, alpha 0.05: 2.569). NaN for k < 2."""
    if n_families < 2:
        return math.nan
    return float(stats.studentized_range.ppf(1.0 - alpha, n_families, np.inf) / math.sqrt(2.0))


def rank_difference_se(n_families: int, n_datasets: int) -> float:
    """The standard error of a difference of two average ranks under the null, sqrt(k (k + 1) / (6 N))."""
    if n_families < 2 or n_datasets < 1:
        return math.nan
    return math.sqrt(n_families * (n_families + 1) / (6.0 * n_datasets))


def critical_difference(n_families: int, n_datasets: int, alpha: float) -> float:
    """Nemenyi's critical difference of average ranks, CD = q_alpha sqrt(k (k + 1) / (6 N)); NaN for k < 2 or
    N < 1."""
    return nemenyi_q(n_families, alpha) * rank_difference_se(n_families, n_datasets)


def minimum_detectable_rank_diff(n_families: int, n_datasets: int, alpha: float,
                                 power: float = DETECTION_POWER) -> float:
    """The smallest true gap in average ranks between a family and the baseline that Demsar's z test detects with
    probability ``power`` at the Bonferroni level alpha / (k - 1) of the k - 1 comparisons with the baseline
    (Holm's first step; two-sided): (z_{1 - alpha / (2 (k - 1))} + z_{power}) sqrt(k (k + 1) / (6 N)).

    The z test is itself a normal approximation, so its power is the normal one (the far tail, below 1e-3 here,
    is left out). The suite's answer to "which difference would this design have found": on 5 datasets and 6
    families a family must move about 4 of the 5 possible places. NaN for k < 2 or N < 1."""
    se = rank_difference_se(n_families, n_datasets)
    if not math.isfinite(se):
        return math.nan
    level = alpha / (n_families - 1)
    return float((stats.norm.ppf(1.0 - level / 2.0) + stats.norm.ppf(power)) * se)


def nemenyi_groups(average_ranks: Mapping[str, float], cd: float) -> list[list[str]]:
    """The groups a critical-difference diagram joins: the maximal sets of families whose average ranks all lie
    within ``cd`` of each other (|R_i - R_j| <= cd, i.e. no pair shown different), each listed best rank
    first, groups in order of their best rank; groups of one family are left out.

    On a line the maximal cliques are runs of consecutive ranks: for each family (by rank) the run reaching
    as far as ``cd`` allows, kept when it ends beyond the previous family's run.
    ranks 1.0, 1.5, 3.0, 3.2 with cd 1.0 -> [[A, B], [C, D]]."""
    if not np.isfinite(cd):
        return []
    order = sorted(average_ranks, key=lambda f: (average_ranks[f], list(average_ranks).index(f)))
    r = [float(average_ranks[f]) for f in order]
    groups, last_end = [], -1
    for i in range(len(r)):
        j = i
        while j + 1 < len(r) and r[j + 1] - r[i] <= cd + 1e-12:
            j += 1
        if j > last_end:
            if j > i:
                groups.append(order[i:j + 1])
            last_end = j
    return groups

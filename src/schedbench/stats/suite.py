"""The verdict of a tuning study across datasets: the tables built from the per-dataset tables.

A tuning study writes, per dataset, ``tuned_summary`` (one row per family) and ``tuned_comparisons`` (paired
comparisons of the families on test accuracy). The builders here take those tables concatenated over the
datasets and follow Demsar (2006, JMLR 7: "Statistical comparisons of classifiers over multiple data sets"):
datasets are the blocks, families the treatments, and only the families' *ranks* within a dataset travel
across datasets. The rank statistics themselves (Friedman, Nemenyi, the detectable rank gap) are pure functions
of numbers in :mod:`schedbench.stats.ranks`.

* :func:`rank_table`, :func:`average_rank_table`: ranks per dataset (1 = best, ties share the average rank)
  and their averages over datasets.
* :func:`friedman_over_datasets`: Friedman's chi-square, Iman and Davenport's F, and Nemenyi's critical
  difference CD = q_alpha sqrt(k (k + 1) / (6 N)), q_alpha = studentized_range.ppf(1 - alpha, k, inf) / sqrt(2).
* :func:`posthoc_table`: Demsar's z of every pair of average ranks, Holm over the pairs with the baseline (the
  control), and Nemenyi's call for every pair; :func:`nemenyi_group_table`: the maximal groups the CD
  diagram joins (:func:`schedbench.stats.ranks.nemenyi_groups`).
* :func:`performance_profile_table`: AlgoPerf-style profiles on absolute accuracy gaps.
* :func:`win_tie_loss_table`: per ordered pair of families, the datasets each wins, ties, loses or leaves
  undecided by the comparisons' own decisions (:func:`schedbench.stats.reading.decide_pair`).
* :func:`normalised_score_table`: 0 = majority-class guessing, 1 = the dataset's best family.
* :func:`vs_baseline_table`: each family against the baseline on each dataset, oriented family - baseline, with
  its test rows, band, detectable difference and decision (the overview's answer).

Conventions and documented choices
----------------------------------
* One block per dataset: a table holding two protocols of one dataset is a ValueError (pass one protocol's
  rows), as is a family listed twice for one dataset.
* Means are ranked as mean counts of correct test examples (test_accuracy_mean * n_test) rounded to 1e-9,
  so that two families with the same counts tie exactly whatever the float noise of their means.
* A family without a test accuracy on a dataset (NaN mean) has no rank there. The cross-dataset statistics
  (average ranks, Friedman, post-hoc) use the complete blocks only: the datasets that rank every family of
  the table (ranks among fewer families are not on the same scale). :func:`rank_table` still lists the rest.
* Performance profiles count a family missing from a dataset as not within any tolerance of its best
  (AlgoPerf scores a failed workload the same way); their denominator is every dataset.
* With five datasets these tests have little power: the Friedman table carries the critical difference so that
  a reader sees the rank gap a "difference" needs.

Columns are declared in :mod:`schedbench.tables` (``SUITE_*_COLUMNS``); every builder returns exactly them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from schedbench.stats.ranks import (
    critical_difference,
    friedman_statistics,
    minimum_detectable_rank_diff,
    nemenyi_groups,
    nemenyi_q,
    rank_difference_se,
)
from schedbench.stats.reading import Decision
from schedbench.stats.significance import holm
from schedbench.tables import (
    SUITE_AVERAGE_RANK_COLUMNS,
    SUITE_FRIEDMAN_COLUMNS,
    SUITE_GROUP_COLUMNS,
    SUITE_NORMALISED_COLUMNS,
    SUITE_POSTHOC_COLUMNS,
    SUITE_PROFILE_COLUMNS,
    SUITE_RANK_COLUMNS,
    SUITE_VS_BASELINE_COLUMNS,
    SUITE_WIN_TIE_LOSS_COLUMNS,
    typed_frame,
)

__all__ = [
    "DEFAULT_TAUS", "rank_table", "average_rank_table", "rank_matrix", "friedman_over_datasets", "posthoc_table",
    "performance_profile_table", "win_tie_loss_table", "normalised_score_table", "nemenyi_group_table",
    "vs_baseline_table",
]

# Tolerances in accuracy (AlgoPerf's tau, here an absolute gap to the dataset's best family).
DEFAULT_TAUS = (0.0, 0.005, 0.01, 0.02, 0.05)
# Counts of correct examples are compared after rounding to this many decimals.
_COUNT_DECIMALS = 9
# Tolerance for comparing accuracies with a threshold (accuracies are multiples of 1 / (n_test * n_seeds)).
_EPS = 1e-9


# --------------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------------
def _require(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{what} is missing columns: {missing}")


def _one_protocol_per_dataset(table: pd.DataFrame, what: str) -> None:
    if "protocol" in table.columns and len(table):
        protocols = table.groupby("dataset", sort=False)["protocol"].nunique()
        if (protocols > 1).any():
            raise ValueError(f"{what} holds several protocols for datasets {list(protocols[protocols > 1].index)}: "
                             "pass the rows of one protocol")


def _means(summaries: pd.DataFrame) -> pd.DataFrame:
    """dataset, family, test_accuracy_mean, count (mean correct test examples rounded to 1e-9), rows with a test
    accuracy only, in the order of ``summaries``."""
    _require(summaries, ("dataset", "family", "test_accuracy_mean", "n_test"), "summaries")
    _one_protocol_per_dataset(summaries, "summaries")
    if summaries.duplicated(["dataset", "family"]).any():
        raise ValueError("summaries lists a family twice for one dataset")
    df = summaries.loc[:, ["dataset", "family", "test_accuracy_mean", "n_test"]].reset_index(drop=True)
    df["test_accuracy_mean"] = df["test_accuracy_mean"].astype(float)
    df = df[df["test_accuracy_mean"].notna()].reset_index(drop=True)
    df["count"] = np.round(df["test_accuracy_mean"].to_numpy() * df["n_test"].to_numpy(dtype=float), _COUNT_DECIMALS)
    return df


def _families(*columns: pd.Series) -> list[str]:
    """Names in order of first appearance over the given columns, read row by row."""
    if not columns or not len(columns[0]):
        return []
    stacked = np.column_stack([c.to_numpy(dtype=object) for c in columns]).reshape(-1)
    return list(dict.fromkeys(stacked))


# --------------------------------------------------------------------------------------------------
# ranks
# --------------------------------------------------------------------------------------------------
def rank_table(summaries: pd.DataFrame) -> pd.DataFrame:
    """The families ranked within each dataset; columns ``SUITE_RANK_COLUMNS``.

    ``summaries``: the datasets' tuned_summary tables concatenated (dataset, family, test_accuracy_mean,
    n_test; one protocol per dataset). rank 1 = the highest test_accuracy_mean; families with equal mean counts
    of correct test examples (rounded to 1e-9) share the average of their ranks. Rows: datasets in order of
    first appearance, then families in the order of the table; families without a test accuracy are left out.
    """
    means = _means(summaries)
    rows = []
    for dataset, grp in means.groupby("dataset", sort=False):
        ranks = stats.rankdata(-grp["count"].to_numpy(), method="average")
        rows.extend(
            {"dataset": dataset, "family": family, "test_accuracy_mean": mean, "rank": float(rank)}
            for family, mean, rank in zip(grp["family"], grp["test_accuracy_mean"], ranks)
        )
    return typed_frame(rows, SUITE_RANK_COLUMNS)


def rank_matrix(ranks: pd.DataFrame) -> pd.DataFrame:
    """Datasets (rows, order of appearance) x families (columns, order of appearance) of ``rank_table``'s ranks,
    complete blocks only: a dataset lacking a rank for some family is left out."""
    _require(ranks, ("dataset", "family", "rank"), "ranks")
    if ranks.duplicated(["dataset", "family"]).any():
        raise ValueError("ranks lists a family twice for one dataset")
    families = _families(ranks["family"])
    datasets = list(dict.fromkeys(ranks["dataset"]))
    matrix = ranks.pivot(index="dataset", columns="family", values="rank").reindex(index=datasets, columns=families)
    return matrix.dropna(axis=0, how="any").astype(float)


def average_rank_table(ranks: pd.DataFrame) -> pd.DataFrame:
    """Each family's average rank over the complete blocks of :func:`rank_matrix`; columns
    ``SUITE_AVERAGE_RANK_COLUMNS``, families in order of appearance.

    n_datasets: the complete blocks (the same N for every family, the N of the Friedman test); best_count: the
    datasets on which the family ranks first, ties for first included (a shared first place counts for each).
    """
    matrix = rank_matrix(ranks)
    m = matrix.to_numpy(dtype=float)
    n = m.shape[0]
    best = (m == m.min(axis=1, keepdims=True)) if n else np.zeros_like(m, dtype=bool)
    rows = [
        {"family": family, "n_datasets": n, "average_rank": float(m[:, j].mean()) if n else math.nan,
         "best_count": int(best[:, j].sum())}
        for j, family in enumerate(matrix.columns)
    ]
    return typed_frame(rows, SUITE_AVERAGE_RANK_COLUMNS)


# --------------------------------------------------------------------------------------------------
# Friedman, Iman-Davenport, Nemenyi
# --------------------------------------------------------------------------------------------------
def friedman_over_datasets(ranks: pd.DataFrame, alpha: float = 0.05,
                           groups: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The omnibus test over datasets; columns ``SUITE_FRIEDMAN_COLUMNS``.

    ``ranks``: :func:`rank_table`. Blocks: the complete datasets (n_datasets = N), treatments the families
    (n_families = k). friedman_chi2 / friedman_p, iman_davenport_f / iman_davenport_p: see
    :func:`friedman_statistics` (Demsar recommends the F: the chi-square is conservative); q_alpha and
    critical_difference: Nemenyi's, at ``alpha``. On N = 5 datasets the chi-square approximation is rough and
    both tests have little power: read a large p as "not shown", never as "equal".

    The first row (``dataset_group`` "all") tests every complete dataset. ``groups`` maps each dataset to its group
    (the config's ``datasets.<name>.group``); when the datasets fall in more than one group, one row per group
    follows, in order of first appearance, testing that group's datasets alone (NaN statistics for a group of one
    dataset: a block alone says nothing about ranks).
    """
    matrix = rank_matrix(ranks)
    parts = [("all", matrix)]
    if groups:
        of = [groups.get(dataset, "") for dataset in matrix.index]
        if len(set(of)) > 1:
            parts += [(group, matrix[[g == group for g in of]]) for group in dict.fromkeys(of)]
    return typed_frame([_friedman_row(group, part, alpha) for group, part in parts], SUITE_FRIEDMAN_COLUMNS)


def _friedman_row(group: str, matrix: pd.DataFrame, alpha: float) -> dict:
    n, k = matrix.shape
    chi2, p, f, p_f = friedman_statistics(matrix.to_numpy(dtype=float))
    return {
        "dataset_group": group, "n_datasets": n, "n_families": k, "alpha": float(alpha), "friedman_chi2": chi2,
        "friedman_p": p, "iman_davenport_f": f, "iman_davenport_p": p_f, "q_alpha": nemenyi_q(k, alpha),
        "critical_difference": critical_difference(k, n, alpha),
        "mde_rank_diff": minimum_detectable_rank_diff(k, n, alpha),
    }


# --------------------------------------------------------------------------------------------------
# post-hoc
# --------------------------------------------------------------------------------------------------
def posthoc_table(ranks: pd.DataFrame, baseline: str, alpha: float = 0.05) -> pd.DataFrame:
    """Pairwise comparisons of average ranks (complete blocks); columns ``SUITE_POSTHOC_COLUMNS``.

    Rows: first every family a != baseline against b = baseline (vs_baseline True), then every other pair
    (a, b), a before b in order of appearance. rank_diff = R_a - R_b (negative: a ranks better);
    z = rank_diff / sqrt(k (k + 1) / (6 N)) (Demsar's z) and p its two-sided normal p, for every pair;
    p_holm: Holm over the k - 1 pairs with the baseline (Demsar's comparison with a control), NaN for the others;
    nemenyi_different: |rank_diff| > CD (Nemenyi's all-pairs test at ``alpha``).
    A baseline without ranks is a ValueError.
    """
    matrix = rank_matrix(ranks)
    families = list(matrix.columns)
    if baseline not in families:
        raise ValueError(f"baseline family {baseline!r} has no ranks")
    n, k = matrix.shape
    average = dict(zip(families, matrix.to_numpy(dtype=float).mean(axis=0) if n else [math.nan] * k))
    se = rank_difference_se(k, n)
    cd = critical_difference(k, n, alpha)
    others = [f for f in families if f != baseline]
    pairs = [(f, baseline, True) for f in others] + [(a, b, False) for a, b in combinations(others, 2)]
    rows = []
    for a, b, vs in pairs:
        diff = average[a] - average[b]
        z = diff / se if se > 0 else math.nan
        rows.append({
            "a": a, "b": b, "vs_baseline": vs, "rank_diff": diff, "z": z,
            "p": float(2.0 * stats.norm.sf(abs(z))) if np.isfinite(z) else math.nan,
            "p_holm": math.nan, "nemenyi_different": bool(abs(diff) > cd) if np.isfinite(cd) else False,
        })
    control = [r for r in rows if r["vs_baseline"]]
    for r, adjusted in zip(control, holm([r["p"] for r in control])):
        r["p_holm"] = float(adjusted)
    return typed_frame(rows, SUITE_POSTHOC_COLUMNS)


def nemenyi_group_table(average_ranks: pd.DataFrame, cd: float) -> pd.DataFrame:
    """:func:`nemenyi_groups` of ``average_rank_table``'s finite average ranks as a table; columns
    ``SUITE_GROUP_COLUMNS``: one row per family of each group (group 1 the best-ranked), best rank first. No rows
    when ``cd`` is NaN (too few datasets) or no two families lie within it."""
    ranks = {str(f): float(r) for f, r in zip(average_ranks["family"], average_ranks["average_rank"]) if np.isfinite(r)}
    rows = [{"group": number, "family": family, "average_rank": ranks[family]}
            for number, group in enumerate(nemenyi_groups(ranks, cd), start=1) for family in group]
    return typed_frame(rows, SUITE_GROUP_COLUMNS)


# --------------------------------------------------------------------------------------------------
# performance profiles, win/tie/loss, normalised scores
# --------------------------------------------------------------------------------------------------
def performance_profile_table(summaries: pd.DataFrame, taus: Sequence[float] = DEFAULT_TAUS) -> pd.DataFrame:
    """AlgoPerf-style performance profiles on absolute accuracy; columns ``SUITE_PROFILE_COLUMNS``.

    For each family (order of appearance) and tau (the given order): fraction = the share of the n_datasets
    datasets (every dataset with a test accuracy for some family) on which the family's test_accuracy_mean is
    at least the dataset's best mean minus tau (within 1e-9). A family without a test accuracy on a dataset
    counts there as outside every tolerance. fraction at tau = 0: the share of datasets the family is
    (jointly) best on.
    """
    means = _means(summaries)
    datasets = list(dict.fromkeys(means["dataset"]))
    best = means.groupby("dataset", sort=False)["test_accuracy_mean"].max()
    gap = best.reindex(means["dataset"]).to_numpy() - means["test_accuracy_mean"].to_numpy()
    n = len(datasets)
    rows = []
    for family in _families(means["family"]):
        mine = gap[(means["family"] == family).to_numpy()]
        for tau in taus:
            within = int(np.sum(mine <= float(tau) + _EPS))
            rows.append({"family": family, "tau": float(tau), "fraction": within / n if n else math.nan,
                         "n_datasets": n})
    return typed_frame(rows, SUITE_PROFILE_COLUMNS)


def win_tie_loss_table(comparisons: pd.DataFrame) -> pd.DataFrame:
    """Wins, ties and losses over datasets for every ordered pair of families, by the comparisons' own decisions;
    columns ``SUITE_WIN_TIE_LOSS_COLUMNS``.

    ``comparisons``: the datasets' tuned_comparisons tables concatenated (dataset, a, b, decision; one protocol per
    dataset). Each unordered pair appears once per dataset, either way round; both orders are derived (the
    decision mirrored, :meth:`schedbench.stats.reading.Decision.mirrored`). For the ordered pair (a, b), over the
    n_datasets datasets that compared it (:func:`schedbench.stats.reading.decide_pair`):
    wins = decision BETTER (a reliably better, not inside the equivalence band), losses = WORSE;
    ties = the decisions inside the band: EQUIVALENT (ties_equivalent, no reliable difference) plus BETTER_NEGLIGIBLE
    and WORSE_NEGLIGIBLE (ties_negligible, a reliable difference smaller than the band); inconclusive = INCONCLUSIVE
    (neither a difference nor equivalence shown: never a tie). wins + ties + losses + inconclusive = n_datasets.
    Rows: a in order of appearance, then b. A pair compared twice on one dataset is a ValueError.
    """
    _require(comparisons, ("dataset", "a", "b", "decision"), "comparisons")
    _one_protocol_per_dataset(comparisons, "comparisons")
    outcomes: dict[tuple[str, str], list[Decision]] = {}
    seen = set()
    for dataset, a, b, stored in zip(comparisons["dataset"], comparisons["a"], comparisons["b"],
                                     comparisons["decision"]):
        key = (dataset, frozenset((a, b)))
        if key in seen:
            raise ValueError(f"the pair ({a}, {b}) is compared twice on dataset {dataset}")
        seen.add(key)
        decision = Decision.of(stored)
        outcomes.setdefault((a, b), []).append(decision)
        outcomes.setdefault((b, a), []).append(decision.mirrored())
    families = _families(comparisons["a"], comparisons["b"])
    rows = []
    for a in families:
        for b in families:
            if (a, b) not in outcomes:
                continue
            results = outcomes[(a, b)]
            equivalent = results.count(Decision.EQUIVALENT)
            negligible = results.count(Decision.BETTER_NEGLIGIBLE) + results.count(Decision.WORSE_NEGLIGIBLE)
            rows.append({"a": a, "b": b, "wins": results.count(Decision.BETTER), "ties": equivalent + negligible,
                         "losses": results.count(Decision.WORSE), "ties_equivalent": equivalent,
                         "n_datasets": len(results), "ties_negligible": negligible,
                         "inconclusive": results.count(Decision.INCONCLUSIVE)})
    return typed_frame(rows, SUITE_WIN_TIE_LOSS_COLUMNS)


def normalised_score_table(summaries: pd.DataFrame, majority: Mapping[str, float]) -> pd.DataFrame:
    """Test accuracy rescaled per dataset so that 0 = majority-class guessing and 1 = the dataset's best family;
    columns ``SUITE_NORMALISED_COLUMNS``.

    normalised_score = (test_accuracy_mean - majority) / (best - majority), best = the dataset's highest
    test_accuracy_mean; NaN when best equals the majority accuracy (within 1e-9: no family beats guessing, the
    scale is undefined). Below 0: worse than guessing. ``majority`` maps each dataset to its majority-class test
    accuracy; a dataset missing from it is a ValueError. Rows as :func:`rank_table`.
    """
    means = _means(summaries)
    missing = [d for d in dict.fromkeys(means["dataset"]) if d not in majority]
    if missing:
        raise ValueError(f"no majority-class accuracy for datasets {missing}")
    rows = []
    for dataset, grp in means.groupby("dataset", sort=False):
        base = float(majority[dataset])
        best = float(grp["test_accuracy_mean"].max())
        span = best - base
        for family, mean in zip(grp["family"], grp["test_accuracy_mean"]):
            rows.append({"dataset": dataset, "family": family, "test_accuracy_mean": mean, "majority_accuracy": base,
                         "normalised_score": (mean - base) / span if abs(span) > _EPS else math.nan})
    return typed_frame(rows, SUITE_NORMALISED_COLUMNS)


def vs_baseline_table(summaries: pd.DataFrame, comparisons: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Each family against the baseline on each dataset, oriented family - baseline; columns
    ``SUITE_VS_BASELINE_COLUMNS``.

    From the comparisons with the baseline (a or b is ``baseline``): a row stored as (baseline, family) has its
    differences negated, its interval swapped and its decision mirrored; ``mde_examples`` and ``band_examples`` are
    sizes and keep their sign. ``n_test`` is the rows each seed scored (the summaries' n_test of the dataset).
    Rows: datasets in order of appearance, families in the summaries' order. A dataset without the baseline has
    no rows.
    """
    _require(comparisons, ("dataset", "protocol", "a", "b", "decision", "mean_diff", "mean_diff_examples",
                           "diff_ci_low_adj", "diff_ci_high_adj", "band_examples", "mde_examples", "n_pairs"),
             "comparisons")
    _require(summaries, ("dataset", "family", "n_test"), "summaries")
    _one_protocol_per_dataset(comparisons, "comparisons")
    n_test = {d: int(n) for d, n in zip(summaries["dataset"], summaries["n_test"])}
    order = {(d, f): i for i, (d, f) in enumerate(zip(summaries["dataset"], summaries["family"]))}
    rows = []
    for _, row in comparisons.iterrows():
        if baseline not in (row["a"], row["b"]) or row["a"] == row["b"]:
            continue
        flipped = row["a"] == baseline
        sign = -1.0 if flipped else 1.0
        low, high = row["diff_ci_low_adj"], row["diff_ci_high_adj"]
        decision = Decision.of(row["decision"])
        rows.append({
            "dataset": row["dataset"], "protocol": row["protocol"], "family": row["b"] if flipped else row["a"],
            "n_test": n_test[row["dataset"]], "n_pairs": int(row["n_pairs"]),
            "mean_diff": sign * row["mean_diff"], "mean_diff_examples": sign * row["mean_diff_examples"],
            "diff_ci_low_adj": -high if flipped else low, "diff_ci_high_adj": -low if flipped else high,
            "band_examples": row["band_examples"], "mde_examples": row["mde_examples"],
            "decision": (decision.mirrored() if flipped else decision).value,
        })
    rows.sort(key=lambda r: order.get((r["dataset"], r["family"]), len(order)))
    return typed_frame(rows, SUITE_VS_BASELINE_COLUMNS)


def suite_tables(summaries: pd.DataFrame, comparisons: pd.DataFrame, majority: Mapping[str, float], *,
                 baseline: str, alpha: float, groups: Mapping[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """Every table across the datasets of a tuning study: {name: table} for ``schedbench.tables.SUITE_TABLES``,
    from the datasets' tuned summaries and tuned comparisons (concatenated) and their majority-class scores
    (:func:`schedbench.stats.estimators.majority_accuracy` on each dataset's test rows); ``groups``, each dataset's
    group, splits the Friedman test by group besides the overall one."""
    ranks = rank_table(summaries)
    average_ranks = average_rank_table(ranks)
    friedman = friedman_over_datasets(ranks, alpha, groups)
    return {
        "suite_ranks": ranks,
        "suite_average_ranks": average_ranks,
        "suite_friedman": friedman,
        "suite_posthoc": posthoc_table(ranks, baseline, alpha),
        "suite_profiles": performance_profile_table(summaries),
        "suite_win_tie_loss": win_tie_loss_table(comparisons),
        "suite_scores": normalised_score_table(summaries, majority),
        "suite_groups": nemenyi_group_table(average_ranks, float(friedman["critical_difference"].iloc[0])),
        "suite_vs_baseline": vs_baseline_table(summaries, comparisons, baseline),
    }

"""The statistics tables the report reads, built from the per-run final-epoch view.

``summary_table``, ``comparison_table``, ``friedman_table`` and ``replication_table`` take the runs table
(one row per run and epoch); ``majority_table`` takes the predictions table. Their columns are declared in
:mod:`schedbench.tables`; every number comes from :mod:`schedbench.stats.estimators`. The core of the
comparisons table, :func:`paired_comparisons`, takes integer counts per name and seed, so that the studies'
tuned families (:mod:`schedbench.stats.studies`) are compared by the same code. (Over 400 lines: the
conventions below bind these tables together, and splitting them would scatter one multiplicity rule.)

Conventions and documented choices
----------------------------------
* Primary metric: the final-epoch validation accuracy of each run (:func:`schedbench.runs.final_epoch`).
  A run is one (dataset, protocol, schedule, seed); its final epoch is its own largest ``epoch``. A
  diverged run keeps its accuracy and counts like any other run; ``n_diverged`` counts runs with
  ``diverged`` true at any epoch.
* Accuracies are k / n_val. For tests, ranks, ties and the comparison table the accuracies are turned
  back into integer counts of correct examples (``round(accuracy * n_val)``), so that ties are exact
  and differences are whole examples. ``n_val`` must be the same for every run of a (dataset, protocol)
  (it is: the validation set has a fixed size under both protocols); otherwise a ``ValueError``.
* Every interval draws from a fresh ``numpy.random.default_rng(seed)``: a row's numbers do not depend on
  which other rows exist.
* One multiplicity rule in ``comparison_table``: within each (dataset, protocol) the vs-baseline rows form
  one family and the all-pairs rows another. In a family of m comparisons the sign-flip p-values (and,
  under resplit, the corrected-t p-values) are Holm-adjusted, and the intervals the reading and the
  equivalence call rest on (``*_adj``) are taken at the Bonferroni level 1 - alpha / m. The unadjusted
  intervals stay in the table as descriptions.
* Reading of P(A>B) (Bouthillier et al.), on the adjusted interval: 'significant' if its lower bound
  > 0.5 and the Holm-adjusted sign-flip p is below alpha (two tests at one family-wise level: the reading
  never contradicts p_holm), 'meaningful' if P(A>B) > 0.75, both -> 'significant and meaningful'. Mirrored for B:
  'b significant' if the upper bound < 0.5 (and p_holm < alpha), 'b meaningful' if P(A>B) < 0.25, 'b significant and
  meaningful'. Otherwise (or undefined) 'neither'. The interval of P(A>B) is Clopper-Pearson on
  wins / (wins + losses) with the ties held fixed, the interval the exact sign test inverts; with no
  losses its upper bound is the point estimate itself.
* Equivalence: at least ``equivalence_min_seeds`` pairs (29 by default: Noether's number of paired runs
  that detects P(A>B) = 0.75 at alpha = beta = 0.05; with fewer, a moderate difference can hide inside
  the band) and the adjusted interval of the mean difference inside the closed band [-band, +band] examples.
  The band is ``equivalence_examples`` (1 by default) or, when set in points of accuracy, ``equivalence_points``
  / 100 * n on the group's n rows (:func:`schedbench.stats.reading.band_examples`; it may be fractional); each row
  carries the band it was called with (``band_examples``).
* The final validation loss statistics use only runs whose final loss is finite (diverged runs
  have NaN/inf losses); the accuracy statistics use every run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from itertools import combinations

import numpy as np
import pandas as pd

from schedbench.runs import final_epoch
from schedbench.stats.estimators import (
    bootstrap_cis,
    cliffs_delta,
    hedges_dz,
    interval_is_degenerate,
    iqm,
    majority_accuracy,
    paired_dominance,
    prob_improvement,
    prob_improvement_ci,
    rank_biserial_paired,
    wilson_interval,
    win_tie_loss,
)
from schedbench.stats.reading import Reading, band_examples, decide_pair
from schedbench.stats.significance import (
    corrected_resampled_t_p,
    family_confidence,
    friedman_test,
    holm,
    minimum_detectable_effect,
    paired_t_p,
    sign_flip_test,
    wilcoxon_p,
)
from schedbench.tables import (
    typed_frame,
    COMPARISON_COLUMNS,
    FRIEDMAN_COLUMNS,
    GROUP_KEYS,
    MAJORITY_COLUMNS,
    REPLICATION_COLUMNS,
    declared_columns,
    parameter_columns,
)

__all__ = [
    "summary_table", "comparison_table", "paired_comparisons", "friedman_table", "replication_table", "majority_table",
    "counts_by_name", "paired_by_seed",
]


def summary_table(
    runs: pd.DataFrame,
    *,
    confidence: float = 0.95,
    resamples: int = 50_000,
    seed: int = 20161,
    target_accuracy: float = 0.95,
) -> pd.DataFrame:
    """One row per (dataset, protocol, schedule) describing the final-epoch validation accuracy over
    seeds; columns ``SUMMARY_COLUMNS`` (the fixed contract ``schedbench.tables.SUMMARY_CONTRACT`` first).

    Row order: dataset, protocol, schedule, each in order of first appearance in ``runs``.
    mean/sd (ddof=1, NaN for n = 1)/median/min/max/iqr (linear-interpolated quartiles)/iqm of the
    accuracy; ci_* = bootstrap interval of the mean, iqm_ci_* of the IQM, median_ci_* of the median;
    mean_correct = mean number of correct validation examples (mean * n_val);
    final_val_loss_* over runs with a finite final loss; best_epoch_accuracy_mean = mean of each run's
    best epoch (optimistic: selects on validation); epochs_to_target_median (inf when the median run
    never reaches target_accuracy) and reached_target (runs that did); n_diverged; noise_floor_* =
    Wilson interval of one run at the median number of correct examples (the sampling noise of one score on
    a new validation set of this size, not the seed-to-seed spread, which is sd); *_degenerate: the
    interval has zero width although there are several seeds. Last, the schedule's ``family`` and the study's
    varied parameters, as the runs table has them (a runs table without a family column: each schedule its own
    family, no parameters).
    """
    per_run = final_epoch(runs, target_accuracy)
    parameters = parameter_columns(runs.columns, "runs") if "family" in runs.columns else ()
    interval = dict(confidences=(confidence,), resamples=resamples, seed=seed)
    rows = []
    for (dataset, protocol, schedule), grp in per_run.groupby(list(GROUP_KEYS), sort=False):
        x = grp["accuracy"].to_numpy(dtype=float)
        correct = grp["correct"].to_numpy(dtype=float)
        n = x.size
        n_val = int(grp["n_val"].iloc[0])
        [ci], [iqm_ci], [med_ci] = bootstrap_cis(x, statistics=(np.mean, iqm, np.median), **interval)
        loss = grp["val_loss"].to_numpy(dtype=float)
        loss = loss[np.isfinite(loss)]
        [[loss_ci]] = bootstrap_cis(loss, **interval)
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
            "ci_degenerate": interval_is_degenerate(*ci, n),
            "median_ci_degenerate": interval_is_degenerate(*med_ci, n),
            "iqm_ci_degenerate": interval_is_degenerate(*iqm_ci, n),
            "family": grp["family"].iloc[0] if "family" in grp else schedule,
            **{parameter: grp[parameter].iloc[0] for parameter in parameters},
        })
    return typed_frame(rows, declared_columns("summary", parameters), parameters)


def _compare(
    ka: np.ndarray, kb: np.ndarray, n_examples: int, *, confidence: float, family_size: int, resamples: int, seed: int,
    equivalence_examples: float, equivalence_min_seeds: int, test_train_ratio: float | None = None,
) -> dict:
    """All statistics of one paired comparison on integer correct counts (ka, kb, same seed order) out of
    ``n_examples``, the size of the split they were counted on.

    The reading and the equivalence call use the intervals at the family's Bonferroni level; the plain
    ``confidence`` intervals are reported beside them as descriptions."""
    d = ka - kb
    n = d.size
    adjusted = family_confidence(confidence, family_size)
    interval = dict(paired=True, resamples=resamples, seed=seed)
    [[(lo_ex, hi_ex), (lo_adj, hi_adj)]] = bootstrap_cis(ka, kb, confidences=(confidence, adjusted), **interval)
    p = prob_improvement(ka, kb)
    p_lo, p_hi = prob_improvement_ci(ka, kb, confidence=confidence)
    p_lo_adj, p_hi_adj = prob_improvement_ci(ka, kb, confidence=adjusted)
    w, t, l = win_tie_loss(ka, kb)
    mean_ex = float(np.mean(d)) if n else math.nan
    tol = 1e-9
    equivalent = bool(
        n >= equivalence_min_seeds and lo_adj >= -equivalence_examples - tol
        and hi_adj <= equivalence_examples + tol
    )
    sign_flip = sign_flip_test(d, resamples=resamples, seed=seed)
    mde_ex = minimum_detectable_effect(float(np.std(d, ddof=1)) if n >= 2 else math.nan, n, 1.0 - adjusted)
    return {
        "n_pairs": n,
        "mean_diff": mean_ex / n_examples,
        "mean_diff_examples": mean_ex,
        "diff_ci_low": lo_ex / n_examples,
        "diff_ci_high": hi_ex / n_examples,
        "wins": w,
        "ties": t,
        "losses": l,
        "p_a_better": p,
        "p_a_better_ci_low": p_lo,
        "p_a_better_ci_high": p_hi,
        "cliffs_delta": cliffs_delta(ka, kb),
        "rank_biserial": rank_biserial_paired(ka, kb),
        "hedges_dz": hedges_dz(ka, kb),
        "p_sign_flip": sign_flip.p,
        "p_wilcoxon": wilcoxon_p(ka, kb),
        "p_t": paired_t_p(ka, kb),
        "p_t_corrected": (corrected_resampled_t_p(ka, kb, test_train_ratio)
                          if test_train_ratio is not None else math.nan),
        "equivalent": equivalent,
        "family_size": family_size,
        "diff_ci_low_adj": lo_adj / n_examples,
        "diff_ci_high_adj": hi_adj / n_examples,
        "diff_ci_degenerate": interval_is_degenerate(lo_ex, hi_ex, n),
        "p_a_better_ci_low_adj": p_lo_adj,
        "p_a_better_ci_high_adj": p_hi_adj,
        "paired_dominance": paired_dominance(ka, kb),
        "p_sign_flip_exact": sign_flip.exact,
        "confidence_adj": adjusted,
        "mde": mde_ex / n_examples,
        "mde_examples": mde_ex,
    }


def comparison_table(
    runs: pd.DataFrame,
    *,
    baseline: str,
    confidence: float = 0.95,
    resamples: int = 50_000,
    seed: int = 20161,
    equivalence_examples: float | None = None,
    equivalence_points: float | None = None,
    equivalence_min_seeds: int = 29,
    test_train_ratios: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Paired comparisons of final-epoch validation accuracy; columns ``COMPARISON_COLUMNS``.

    The schedules of each (dataset, protocol) compared on their integer counts of correct validation
    examples, n = n_val: see :func:`paired_comparisons` for the rows, their order and every statistic.
    p_t_corrected = Nadeau-Bengio's corrected t with ``test_train_ratios[protocol]`` (n_val / n_train) for the
    protocols whose seeds each draw their own split (NaN under ``tail``, where every seed shares one).
    A baseline missing from a (dataset, protocol) gives that group only all-pairs rows; a baseline
    missing from every group is a ValueError.
    """
    per_run = final_epoch(runs)
    if baseline not in set(per_run["schedule"]):
        raise ValueError(f"baseline schedule {baseline!r} is not in runs")
    groups = (
        (dataset, protocol, int(grp["n_val"].iloc[0]), counts_by_name(grp, "schedule", "correct"))
        for (dataset, protocol), grp in per_run.groupby(["dataset", "protocol"], sort=False)
    )
    return paired_comparisons(
        groups, baseline=baseline, confidence=confidence, resamples=resamples, seed=seed,
        equivalence_examples=equivalence_examples, equivalence_points=equivalence_points,
        equivalence_min_seeds=equivalence_min_seeds, test_train_ratios=test_train_ratios,
    )


def counts_by_name(grp: pd.DataFrame, name: str, counts: str) -> dict[str, pd.Series]:
    """{value of column ``name``: its ``counts`` indexed by seed}, names in order of first appearance."""
    return {key: g.set_index("seed")[counts] for key, g in grp.groupby(name, sort=False)}


def paired_by_seed(series: Mapping[str, pd.Series]) -> pd.DataFrame:
    """The series side by side, one column per key, over the seeds they all have (inner join), seeds
    ascending: the pairing every paired statistic here rests on."""
    joined = pd.concat([s.rename(key) for key, s in series.items()], axis=1, join="inner")
    return joined.sort_index(kind="stable")


def paired_comparisons(
    groups: Iterable[tuple[str, str, int, Mapping[str, pd.Series]]],
    *,
    baseline: str,
    confidence: float,
    resamples: int,
    seed: int,
    equivalence_min_seeds: int,
    equivalence_examples: float | None = None,
    equivalence_points: float | None = None,
    test_train_ratios: Mapping[str, float] | None = None,
    all_pairs: bool = True,
) -> pd.DataFrame:
    """The comparisons table (columns ``COMPARISON_COLUMNS``) of integer counts paired by seed.

    ``groups`` yields (dataset, protocol, n, counts): ``counts`` maps each compared name (a schedule, a
    tuned family) to its integer counts of correct examples out of n, indexed by seed, names in order of
    first appearance. Per group, in the order given: first every name a != baseline against b = baseline
    (vs_baseline True; none when the group lacks the baseline), then every unordered pair (a, b) of the
    other names, a before b (vs_baseline False; none with ``all_pairs`` false, which leaves the vs-baseline rows as
    they are: each family is adjusted on its own). Pairs join on seed (inner join; n_pairs).
    mean_diff (fraction of n, a - b), mean_diff_examples, diff_ci_* (paired bootstrap of the mean
    difference, as fractions), win/tie/loss, P(A>B) with its exact interval, paired dominance, Cliff's
    delta (unpaired form), paired rank-biserial (Pratt), Hedges d_z, sign-flip (exact for counts) /
    Wilcoxon (Pratt, exact) / paired-t p-values; p_t_corrected in the groups of a protocol that
    ``test_train_ratios`` maps to its n_val / n_train (those whose seeds each draw a split: see
    :data:`schedbench.protocols.PROTOCOLS`), NaN elsewhere.
    One multiplicity rule per family (within a group, the vs-baseline rows are one family, the all-pairs
    rows another; ``family_size`` m): p_holm and p_t_corrected_holm are Holm-adjusted, and the reading and
    the equivalence call use the *_adj intervals at the Bonferroni level 1 - alpha / m.
    equivalent = at least ``equivalence_min_seeds`` pairs and the adjusted difference interval inside
    +/- equivalence_examples examples. decision: :func:`schedbench.stats.reading.decide_pair` of the row (the one
    reading the report and the suite use). mde_examples: :func:`schedbench.stats.significance.
    minimum_detectable_effect` of the paired differences' SD over n_pairs at the family's level alpha / m (power
    0.8), mde the same as a fraction of n.
    """
    rows = []
    for dataset, protocol, n, by_name in groups:
        band = band_examples(n, equivalence_examples=equivalence_examples, equivalence_points=equivalence_points)
        others = [name for name in by_name if name != baseline]
        families = {
            True: [(name, baseline) for name in others] if baseline in by_name else [],
            False: list(combinations(others, 2)) if all_pairs else [],
        }
        for vs, pairs in families.items():
            family = []
            for a, b in pairs:
                joined = paired_by_seed({"a": by_name[a], "b": by_name[b]})
                ka = joined["a"].to_numpy(dtype=float)
                kb = joined["b"].to_numpy(dtype=float)
                row = {"dataset": dataset, "protocol": protocol, "a": a, "b": b, "vs_baseline": vs,
                       "band_examples": band}
                row.update(_compare(ka, kb, n, confidence=confidence, family_size=len(pairs),
                                    resamples=resamples, seed=seed, equivalence_examples=band,
                                    equivalence_min_seeds=equivalence_min_seeds,
                                    test_train_ratio=(test_train_ratios or {}).get(protocol)))
                family.append(row)
            for column, source in (("p_holm", "p_sign_flip"), ("p_t_corrected_holm", "p_t_corrected")):
                for r, adj in zip(family, holm([r[source] for r in family])):
                    r[column] = float(adj)
            for r in family:
                r["reading"] = Reading.decide(r["p_a_better"], r["p_a_better_ci_low_adj"], r["p_a_better_ci_high_adj"],
                                              r["p_holm"] < 1.0 - confidence).value
                r["decision"] = decide_pair(
                    r["reading"], r["p_holm"], r["p_t_corrected_holm"], r["diff_ci_low_adj"] * n,
                    r["diff_ci_high_adj"] * n, alpha=1.0 - confidence, equivalence_examples=band,
                    n_pairs=r["n_pairs"], equivalence_min_seeds=equivalence_min_seeds).value
            rows.extend(family)
    return typed_frame(rows, COMPARISON_COLUMNS)


def friedman_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Friedman omnibus per (dataset, protocol) on correct counts, seeds as blocks; only seeds with a
    run for every schedule enter (n_seeds). Columns ``FRIEDMAN_COLUMNS``."""
    per_run = final_epoch(runs)
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
    return typed_frame(rows, FRIEDMAN_COLUMNS)


def replication_table(runs: pd.DataFrame, article: Mapping[str, float], *, confidence: float) -> pd.DataFrame:
    """Where the article's single-seed results fall in our seed distribution.

    One row per (dataset, protocol, schedule) whose schedule has an article value (table order as
    ``summary_table``; schedules of ``article`` absent from runs are skipped). article_correct: the
    article's value as a count of correct examples when it is a k/n_val rounded to the article's
    precision (|k/n_val - article| <= 0.5e-4, i.e. 0.005 percentage points; 0.9914 -> 115/116), else
    NaN. frac_below / frac_equal / frac_above: fractions of seeds scoring below, equal to and above
    the article (in counts when article_correct is defined, else as floats);
    article_percentile = frac_below + frac_equal / 2 (mid-rank percentile of the article's number in
    our distribution); article_floor_* = Wilson interval (at ``confidence``) of one run scoring
    article_correct of n_val, the noise floor of the article's one-seed result (NaN without
    article_correct). The majority-class accuracy is ``majority_table``'s.
    """
    per_run = final_epoch(runs)
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
        floor = wilson_interval(article_correct, n_val, confidence)
        rows.append({
            "dataset": dataset, "protocol": protocol, "schedule": schedule, "article": value,
            "article_correct": article_correct, "n_val": n_val, "n_seeds": n,
            "mean": float(np.mean(x)), "median": float(np.median(x)),
            "min": float(np.min(x)), "max": float(np.max(x)),
            "frac_below": below, "frac_equal": equal, "frac_above": above,
            "article_percentile": below + equal / 2.0,
            "article_floor_low": floor[0], "article_floor_high": floor[1],
        })
    return typed_frame(rows, REPLICATION_COLUMNS)


def majority_table(predictions: pd.DataFrame) -> pd.DataFrame:
    """The majority-class score of each (dataset, protocol) on the rows its accuracies are scored on (the
    predictions table holds each run's validation rows); columns ``MAJORITY_COLUMNS``, rows in order of first
    appearance. majority_accuracy: :func:`schedbench.stats.estimators.majority_accuracy` over the n_seeds seeds
    (under ``resplit`` each seed has its own split, under ``tail`` they share one).
    """
    rows = []
    for (dataset, protocol), grp in predictions.groupby(["dataset", "protocol"], sort=False):
        # Every schedule of a seed validates on the same rows: the first schedule's predictions suffice.
        first = grp.groupby("seed", sort=False)["schedule"].transform("first")
        labels = grp.loc[grp["schedule"] == first].groupby("seed")["label"]
        rows.append({
            "dataset": dataset, "protocol": protocol, "n_seeds": labels.ngroups,
            "majority_accuracy": majority_accuracy(seed_labels.to_numpy() for _, seed_labels in labels),
        })
    return typed_frame(rows, MAJORITY_COLUMNS)

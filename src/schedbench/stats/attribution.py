"""Schedule or optimizer? A gain over the baseline split, seed by seed, into the part its optimizer explains and the
part its schedule does: :func:`attribution_table` for a study with controls (final validation accuracy), and
:func:`tuned_attribution_table` for a tuning study whose families pair schedules with optimizers (the held-out test
score of each family's tuned choice against its control family's). Conventions are those of
:mod:`schedbench.stats.tabulate`: integer counts, pairing by seed (inner join), a fresh generator per interval, Holm
within a family of tests."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from schedbench.stats.estimators import bootstrap_ci, prob_improvement, prob_improvement_ci
from schedbench.stats.significance import holm, sign_flip_test
from schedbench.stats.tabulate import counts_by_name, paired_by_seed
from schedbench.tables import ATTRIBUTION_COLUMNS, typed_frame

__all__ = ["attribution_table", "tuned_attribution_table"]

_PROTOCOL_KEYS = ["dataset", "protocol"]


# --------------------------------------------------------------------------------------------------
# attribution: schedule - baseline = (control - baseline) + (schedule - control)
# --------------------------------------------------------------------------------------------------
def attribution_table(
    per_run: pd.DataFrame,
    attributions: Sequence[tuple[str, str]],
    *,
    baseline: str,
    confidence: float = 0.95,
    resamples: int = 50_000,
    seed: int = 20161,
) -> pd.DataFrame:
    """A schedule's gain over the baseline split into its optimizer settings' part and its formula's part;
    columns ``ATTRIBUTION_COLUMNS``.

    ``attributions`` holds (schedule, control) pairs: the control is the baseline's formula trained with the
    schedule's optimizer settings (control == baseline when they are the baseline's). One row per
    (dataset, protocol) and pair, groups in order of first appearance, pairs in the given order; a pair
    whose schedule, control or baseline has no run in a group is skipped there. The three are paired by
    seed (inner join; n_pairs). On integer correct counts, per seed:
    total = schedule - baseline, optimizer = control - baseline, schedule = schedule - control, so that
    total == optimizer + schedule exactly. *_diff: the mean difference as a fraction of n_val;
    *_ci_*: its paired bootstrap interval. p_schedule_better: P(schedule > control) with its exact interval;
    p_schedule / p_optimizer: the sign-flip test of the schedule / optimizer part; p_schedule_holm:
    Holm-adjusted over the rows of the (dataset, protocol); p_optimizer_holm: over its distinct controls
    (rows sharing a control share one test). A control equal to the baseline makes the optimizer part
    exactly 0, interval [0, 0], p 1.0.
    """
    rows = []
    for (dataset, protocol), grp in per_run.groupby(_PROTOCOL_KEYS, sort=False):
        counts = counts_by_name(grp, "schedule", "correct")
        n_val = int(grp["n_val"].iloc[0])
        group = [
            {
                "dataset": dataset, "protocol": protocol, "schedule": schedule, "control": control,
                "baseline": baseline,
                **_decompose(
                    paired_by_seed({"schedule": counts[schedule], "control": counts[control],
                                    "baseline": counts[baseline]}),
                    n_val, confidence=confidence, resamples=resamples, seed=seed,
                ),
            }
            for schedule, control in attributions
            if {schedule, control, baseline} <= counts.keys()
        ]
        for row, adjusted in zip(group, holm([row["p_schedule"] for row in group])):
            row["p_schedule_holm"] = float(adjusted)
        # Schedules sharing a control share one optimizer test: the family is the distinct controls.
        distinct = {row["control"]: row["p_optimizer"] for row in group}
        adjusted = dict(zip(distinct, holm(list(distinct.values()))))
        for row in group:
            row["p_optimizer_holm"] = float(adjusted[row["control"]])
        rows.extend(group)
    return typed_frame(rows, ATTRIBUTION_COLUMNS)


def _decompose(
    paired: pd.DataFrame, n_val: int, *, confidence: float, resamples: int, seed: int
) -> dict:
    """The attribution statistics of one schedule from its counts paired by seed (columns schedule,
    control, baseline): see :func:`attribution_table`."""
    k_schedule, k_control, k_baseline = (
        paired[column].to_numpy(dtype=float) for column in ("schedule", "control", "baseline")
    )
    row = {"n_pairs": len(paired), "n_val": n_val}
    parts = {
        "total": (k_schedule, k_baseline),
        "optimizer": (k_control, k_baseline),
        "schedule": (k_schedule, k_control),
    }
    for part, (better, worse) in parts.items():
        low, high = bootstrap_ci(better, worse, paired=True, confidence=confidence, resamples=resamples, seed=seed)
        row[f"{part}_diff"] = _mean(better - worse) / n_val
        row[f"{part}_diff_ci_low"] = low / n_val
        row[f"{part}_diff_ci_high"] = high / n_val
    row["p_schedule_better"] = prob_improvement(k_schedule, k_control)
    row["p_schedule_better_ci_low"], row["p_schedule_better_ci_high"] = prob_improvement_ci(
        k_schedule, k_control, confidence=confidence
    )
    row["p_schedule"] = sign_flip_test(k_schedule - k_control, resamples=resamples, seed=seed).p
    row["p_optimizer"] = sign_flip_test(k_control - k_baseline, resamples=resamples, seed=seed).p
    return row


def tuned_attribution_table(tuned: pd.DataFrame, attributions: Sequence[tuple[str, str]], *, baseline: str,
                            **common) -> pd.DataFrame:
    """:func:`attribution_table` of a tuning study's families, on the held-out test score of each family's tuned
    choice (the ``tuned`` table): ``attributions`` pairs each family with its control family (the baseline's
    formula with the family's optimizer, tuned alike). The table's ``n_val`` holds the test rows scored; seeds
    without a test score are left out."""
    tuned = tuned[tuned["test_accuracy"].notna()]  # a seed without test rows has nothing to split
    per_family = pd.DataFrame({
        "dataset": tuned["dataset"], "protocol": tuned["protocol"], "schedule": tuned["family"],
        "seed": tuned["seed"], "correct": np.round(tuned["test_accuracy"] * tuned["n_test"]).astype("int64"),
        "n_val": tuned["n_test"],
    })
    return attribution_table(per_family, attributions, baseline=baseline, **common)


def _mean(x: np.ndarray) -> float:
    """The mean, NaN (without numpy's warning) when there is nothing to average."""
    return float(np.mean(x)) if x.size else math.nan

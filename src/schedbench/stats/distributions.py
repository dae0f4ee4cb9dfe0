"""The per-seed distributions the figures draw, as tables: how many seeds reach each accuracy (a performance
profile, with its bootstrap band) and the paired differences against the baseline, seed by seed.

Both take the per-run view (:func:`schedbench.runs.final_epoch`) and work on integer counts of correct
validation examples, as :mod:`schedbench.stats.tabulate` does; their columns are declared in
:mod:`schedbench.tables` (``REACH_PROFILE_COLUMNS``, ``PAIRED_DIFFERENCE_COLUMNS``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schedbench.stats.estimators import Seed, reach_profile
from schedbench.tables import PAIRED_DIFFERENCE_COLUMNS, REACH_PROFILE_COLUMNS, typed_frame

__all__ = ["reach_profile_table", "paired_difference_table"]


def reach_profile_table(per_run: pd.DataFrame, *, confidence: float = 0.95, resamples: int = 50_000,
                        seed: Seed) -> pd.DataFrame:
    """The share of seeds reaching each threshold of correct validation examples, with a pointwise percentile
    bootstrap band; columns ``REACH_PROFILE_COLUMNS``.

    For a schedule with counts c_1..c_n over its n seeds, share(t) = (1/n) #{i : c_i >= t} (one minus the ECDF
    just below t), and [share_low, share_high] its band (:func:`schedbench.stats.estimators.reach_profile`, one
    resampling of the seeds for every threshold, a fresh generator from ``seed`` per schedule). The thresholds t
    of a (dataset, protocol) are the whole counts from one below its lowest count to one above its highest,
    clipped to [0, n_val]: every schedule of it on the same grid. Rows: dataset, protocol and schedule in order of
    first appearance, then t ascending.
    """
    rows = []
    for (dataset, protocol), runs in per_run.groupby(["dataset", "protocol"], sort=False):
        n_val = int(runs["n_val"].iloc[0])
        grid = np.arange(int(runs["correct"].min()) - 1, int(runs["correct"].max()) + 2)
        grid = grid[(grid >= 0) & (grid <= n_val)]
        for schedule, own in runs.groupby("schedule", sort=False):
            correct = own["correct"].to_numpy(dtype=float)
            share, low, high = reach_profile(correct, grid, confidence=confidence, resamples=resamples, seed=seed)
            rows.extend(
                {"dataset": dataset, "protocol": protocol, "schedule": schedule, "n_seeds": len(correct),
                 "n_val": n_val, "threshold_correct": int(t), "share": s, "share_low": lo, "share_high": hi}
                for t, s, lo, hi in zip(grid, share, low, high)
            )
    return typed_frame(rows, REACH_PROFILE_COLUMNS)


def paired_difference_table(per_run: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Every schedule minus the ``baseline`` in correct validation examples, seed by seed; columns
    ``PAIRED_DIFFERENCE_COLUMNS``.

    difference_correct = c_schedule(seed) - c_baseline(seed) over the seeds both ran (an inner join on the seed).
    A (dataset, protocol) without baseline runs has no rows. Rows: dataset, protocol and schedule in order of first
    appearance, then the schedule's seeds in its own order.
    """
    rows = []
    for (dataset, protocol), runs in per_run.groupby(["dataset", "protocol"], sort=False):
        base = runs[runs["schedule"] == baseline].set_index("seed")["correct"]
        if base.empty:
            continue
        for schedule, own in runs[runs["schedule"] != baseline].groupby("schedule", sort=False):
            joined = pd.concat([own.set_index("seed")["correct"].rename("a"), base.rename("b")], axis=1, join="inner")
            rows.extend(
                {"dataset": dataset, "protocol": protocol, "schedule": schedule, "baseline": baseline, "seed": s,
                 "difference_correct": int(d)}
                for s, d in zip(joined.index, joined["a"] - joined["b"])
            )
    return typed_frame(rows, PAIRED_DIFFERENCE_COLUMNS)

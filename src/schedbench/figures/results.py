"""Figures of the results of one protocol: learning curves, final accuracies, intervals, paired differences,
probability of improvement and performance profiles. Each takes the dataset's :class:`FigureData` and a
protocol. Accuracies are drawn in percent; differences in validation examples (one example = 100 / n_val
points). Every statistic comes from the statistics tables (intervals, paired differences, reach profiles with their
bands); what is computed here only summarises the drawn points (medians, quartiles, means).
"""

from __future__ import annotations

import math

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from schedbench.figures.data import FigureData
from schedbench.figures.style import (
    BAND_COLOUR, REFERENCE_COLOUR, finish_grid, grid_shape, new_figure, no_data, percent_axis, protocol_rows,
    schedule_colours, style, wrapped,
)


def _schedules_of(data: FigureData, table, protocol: str):
    """A table's rows of ``protocol``, the schedules they hold in the study's order, and each one's colour."""
    rows = protocol_rows(table, protocol)
    order = [s for s in data.order if s in set(rows["schedule"])]
    return rows, order, schedule_colours(order, data.baseline)


def learning_curves(data: FigureData, protocol: str) -> Figure:
    """Validation accuracy per epoch, one panel per schedule: median over seeds, interquartile band,
    one faint line per seed, and the majority-class accuracy as a dashed reference."""
    runs, order, colours = _schedules_of(data, data.runs, protocol)
    majority = data.majority.get(protocol)
    with style():
        if not order:
            return no_data(new_figure(10, 3), f"no runs for protocol {protocol}")
        nrows, ncols = grid_shape(len(order))
        fig = new_figure(3.7 * ncols + 0.4, 2.2 * nrows + 0.9)
        axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)).ravel()
        for ax, name in zip(axes, order):
            sub = runs[runs["schedule"] == name]
            wide = sub.pivot(index="epoch", columns="seed", values="val_accuracy").sort_index() * 100.0
            epochs = wide.index.to_numpy()
            colour = colours[name]
            ax.plot(epochs, wide.to_numpy(), color=colour, alpha=0.12, lw=0.6)
            values = wide.to_numpy()
            with np.errstate(all="ignore"):
                q1, med, q3 = np.nanpercentile(values, [25, 50, 75], axis=1)
            ax.fill_between(epochs, q1, q3, color=colour, alpha=0.3, lw=0, label="interquartile range")
            ax.plot(epochs, med, color=colour, lw=2.0, label="median")
            if majority is not None:
                ax.axhline(majority * 100.0, color=REFERENCE_COLOUR, ls="--", lw=1.0,
                           label=f"majority class {majority * 100:.2f} %")
            ax.set_title(wrapped(f"{name} ({wide.shape[1]} seeds)", 40))
            percent_axis(ax)
            ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
        finish_grid(axes, len(order), ncols, "epoch", "validation accuracy (%)")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False)
        fig.suptitle(f"Learning curves ({protocol}): validation accuracy per epoch")
    return fig


def _dot_offsets(correct: np.ndarray, width: float = 0.7, step: float = 0.06) -> np.ndarray:
    """Horizontal offsets that lay runs with the same count side by side (a dot plot), deterministic."""
    offsets = np.zeros(len(correct))
    for value in np.unique(correct):
        idx = np.flatnonzero(correct == value)
        gap = min(step, width / max(len(idx), 1))
        offsets[idx] = (np.arange(len(idx)) - (len(idx) - 1) / 2.0) * gap
    return offsets


def final_accuracy(data: FigureData, protocol: str) -> Figure:
    """Final-epoch validation accuracy of every seed as a dot on the k/n_val grid, one column per schedule,
    grey lines joining each seed across schedules, a black bar at each schedule's mean; diverged runs
    are drawn as crosses."""
    final, order, colours = _schedules_of(data, data.finals, protocol)
    majority = data.majority.get(protocol)
    with style():
        if not order:
            return no_data(new_figure(10, 3), f"no runs for protocol {protocol}")
        fig = new_figure(min(11.0, max(6.5, 0.95 * len(order) + 2.8)), 5.6)
        ax = fig.add_subplot()
        n_val = int(final["n_val"].iloc[0])
        position = {name: i for i, name in enumerate(order)}
        final = final[final["schedule"].isin(order)].copy()
        final["x"] = final["schedule"].map(position).astype(float)
        for name in order:
            rows = final["schedule"] == name
            sub = final.loc[rows].sort_values("seed")
            final.loc[sub.index, "x"] = sub["x"] + _dot_offsets(sub["correct"].to_numpy())
        final["y"] = final["correct"] / n_val * 100.0
        diverged_labelled = False
        crowd = int(final.groupby(["schedule", "correct"]).size().max())
        size = float(np.clip(22.0 * 20.0 / max(crowd, 1), 6.0, 22.0))  # smaller dots when many share a value
        for _, seed_runs in final.groupby("seed", sort=True):
            seed_runs = seed_runs.sort_values("x")
            ax.plot(seed_runs["x"], seed_runs["y"], color=REFERENCE_COLOUR, alpha=0.22, lw=0.7, zorder=1)
        for name in order:
            sub = final[final["schedule"] == name]
            ok, bad = sub[~sub["diverged"]], sub[sub["diverged"]]
            ax.scatter(ok["x"], ok["y"], s=size, color=colours[name], edgecolor="white", lw=0.4, zorder=3)
            if len(bad):
                ax.scatter(bad["x"], bad["y"], s=46, marker="X", color="#d62728", zorder=4,
                           label=None if diverged_labelled else "diverged run")
                diverged_labelled = True
            mean = sub["y"].mean()
            i = position[name]
            ax.hlines(mean, i - 0.38, i + 0.38, color="black", lw=2.0, zorder=5,
                      label="mean over seeds" if i == 0 else None)
        low_k, high_k = int(final["correct"].min()), int(final["correct"].max())
        for k in range(low_k - 1, high_k + 2):
            ax.axhline(k / n_val * 100.0, color="#dddddd", lw=0.6, zorder=0)
        span = (high_k - low_k + 2) / n_val * 100.0
        lo_y, hi_y = (low_k - 1) / n_val * 100.0, min(100.0, (high_k + 1) / n_val * 100.0)
        if majority is not None and majority * 100.0 >= lo_y - span:
            ax.axhline(majority * 100.0, color=REFERENCE_COLOUR, ls="--", lw=1.1,
                       label=f"majority class {majority * 100:.2f} %")
            lo_y = min(lo_y, majority * 100.0 - 0.5 / n_val * 100.0)
        elif majority is not None:
            ax.plot([], [], " ", label=f"majority class {majority * 100:.2f} % (below the axis)")
        ax.set_ylim(lo_y, hi_y + 0.3 / n_val * 100.0)
        ax.set_xticks(range(len(order)), [wrapped(name) for name in order], rotation=25 if len(order) > 4 else 0,
                      ha="right" if len(order) > 4 else "center", rotation_mode="anchor")
        ax.set_xlim(-0.6, len(order) - 0.4)
        ax.grid(False, axis="x")
        ax.grid(False, axis="y")
        ax.set_ylabel(f"final validation accuracy (%; steps of 1/{n_val} = {100 / n_val:.3f} points)")
        ax.set_xlabel("schedule (lines join runs of the same seed)")
        if high_k - low_k + 3 <= 16:  # ticks on the grid of attainable accuracies
            ticks = np.arange(low_k - 1, high_k + 2) / n_val * 100.0
            ax.set_yticks(ticks, [f"{t:.2f} %" for t in ticks])
        else:
            percent_axis(ax, decimals=1)
        secondary = ax.secondary_yaxis("right", functions=(lambda y: y * n_val / 100.0, lambda k: k * 100.0 / n_val))
        secondary.set_ylabel(f"correct validation examples (of {n_val})")
        secondary.yaxis.set_major_locator(
            mpl.ticker.MultipleLocator(1) if high_k - low_k + 3 <= 16 else mpl.ticker.MaxNLocator(integer=True))
        ax.legend(loc="lower right", frameon=True, framealpha=0.9)
        ax.set_title(f"Final accuracy per seed ({protocol}, {final['seed'].nunique()} seeds)")
    return fig


def intervals(data: FigureData, protocol: str) -> Figure:
    """Mean, median and IQM of the final accuracy per schedule with their bootstrap intervals (summary.csv)."""
    confidence = data.confidence
    summary = protocol_rows(data.summary, protocol).set_index("schedule")
    order = [s for s in data.order if s in summary.index]
    colours = schedule_colours(order, data.baseline)
    metrics = [("Mean", "mean", "ci_low", "ci_high"),
               ("Median", "median", "median_ci_low", "median_ci_high"),
               ("IQM", "iqm", "iqm_ci_low", "iqm_ci_high")]
    with style():
        if not order:
            return no_data(new_figure(10, 3), f"no summary rows for protocol {protocol}")
        fig = new_figure(8.0, 0.4 * len(order) + 1.8)
        axes = fig.subplots(1, 3, sharey=True, sharex=True)
        y = np.arange(len(order))[::-1]
        for ax, (title, point, low, high) in zip(axes, metrics):
            for yi, name in zip(y, order):
                row = summary.loc[name]
                lo, hi, value = row[low] * 100.0, row[high] * 100.0, row[point] * 100.0
                ax.hlines(yi, lo, hi, color=colours[name], lw=7, alpha=0.45)
                ax.plot([value, value], [yi - 0.3, yi + 0.3], color=colours[name], lw=2.2)
            ax.set_title(title)
            ax.grid(False, axis="y")
            percent_axis(ax, axis="x")
            ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(4, steps=[1, 2, 5, 10]))
        axes[0].set_yticks(y, [wrapped(name, 22) for name in order])
        fig.supxlabel("final validation accuracy (%)", fontsize=10)
        axes[0].set_ylabel("schedule")
        axes[0].set_ylim(-0.7, len(order) - 0.3)
        fig.suptitle(f"Point estimates with {confidence * 100:g} % bootstrap intervals ({protocol})")
    return fig


def differences(data: FigureData, protocol: str) -> Figure:
    """Histogram over seeds of (schedule - baseline) in correct validation examples, one panel per schedule,
    with the +/- equivalence band, zero, and the mean difference with its paired bootstrap interval
    (the paired_differences table and comparisons.csv)."""
    baseline, equivalence_examples = data.baseline, data.equivalence_examples
    final = protocol_rows(data.finals, protocol)
    order = data.order
    others = [s for s in order if s != baseline and s in set(final["schedule"])]
    colours = schedule_colours(order, baseline)
    rows = protocol_rows(data.comparisons, protocol)
    rows = rows[rows["vs_baseline"] & (rows["b"] == baseline)].set_index("a")
    paired = protocol_rows(data.paired_differences, protocol)
    paired = paired[paired["baseline"] == baseline]
    with style():
        if baseline not in set(final["schedule"]) or not others:
            return no_data(new_figure(10, 3), f"no paired differences against {baseline} ({protocol})")
        n_val = int(final["n_val"].iloc[0])
        diffs = {name: paired.loc[paired["schedule"] == name, "difference_correct"].to_numpy(dtype=np.int64)
                 for name in others}
        everything = np.concatenate(list(diffs.values()))
        lo = min(int(everything.min()), -int(math.ceil(equivalence_examples))) - 1
        hi = max(int(everything.max()), int(math.ceil(equivalence_examples))) + 1
        nrows, ncols = grid_shape(len(others))
        fig = new_figure(3.7 * ncols + 0.4, 2.2 * nrows + 1.0)
        axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)).ravel()
        top = max(np.bincount(d - lo).max() for d in diffs.values())
        for ax, name in zip(axes, others):
            d = diffs[name]
            ax.axvspan(-equivalence_examples, equivalence_examples, color=BAND_COLOUR, alpha=0.13, lw=0,
                       label=f"equivalence band +/-{equivalence_examples:g} example")
            sns.histplot(x=d, discrete=True, ax=ax, color=colours[name], alpha=0.8, edgecolor="white",
                         binrange=(lo, hi))
            ax.axvline(0, color="black", lw=0.9)
            if name in rows.index:
                row = rows.loc[name]
                mean = row["mean_diff_examples"]
                ci = (row["diff_ci_low_adj"] * n_val, row["diff_ci_high_adj"] * n_val)
                ax.errorbar([mean], [top * 1.12], xerr=[[mean - ci[0]], [ci[1] - mean]], fmt="D", ms=5,
                            color="black", capsize=3, lw=1.4, label=f"mean with its family-level interval (Bonferroni over {int(row['family_size'])})")
            ax.set_title(wrapped(f"{name} - {baseline} ({len(d)} seeds)", 40))
            ax.set_xlim(lo - 0.5, hi + 0.5)
            ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
            ax.yaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
            ax.set_ylim(0, top * 1.3)
        finish_grid(axes, len(others), ncols, f"difference (examples; 1 = {100 / n_val:.2f} points)", "seeds")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False)
        fig.suptitle(f"Paired differences against {baseline}, in examples ({protocol})")
    return fig


def improvement(data: FigureData, protocol: str) -> Figure:
    """P(A > B) over paired seeds with its exact interval for every comparison of the protocol
    (against the baseline first, then all other pairs), reference lines at 0.5 and 0.75."""
    confidence = data.confidence
    rows = protocol_rows(data.comparisons, protocol)
    with style():
        if rows.empty:
            return no_data(new_figure(10, 3), f"no comparisons for protocol {protocol}")
        rows = pd.concat([rows[rows["vs_baseline"]], rows[~rows["vs_baseline"]]])
        colours = schedule_colours(data.order, data.baseline)
        lines = sum(wrapped(f"{a} > {b}", 36).count("\n") + 1 for a, b in zip(rows["a"], rows["b"]))
        fig = new_figure(8.0, 0.18 * lines + 0.1 * len(rows) + 2.2)
        ax = fig.add_subplot()
        y = np.arange(len(rows))[::-1]
        labels = []
        for yi, (_, row) in zip(y, rows.iterrows()):
            colour = colours.get(row["a"], REFERENCE_COLOUR)
            ax.hlines(yi, row["p_a_better_ci_low_adj"], row["p_a_better_ci_high_adj"], color=colour, lw=5, alpha=0.45)
            ax.plot(row["p_a_better"], yi, "o", color=colour, ms=6,
                    markeredgecolor="black" if row["vs_baseline"] else colour)
            labels.append(wrapped(f"{row['a']} > {row['b']}", 36))
        n_base = int(rows["vs_baseline"].sum())
        if 0 < n_base < len(rows):
            ax.axhline(y[n_base - 1] - 0.5, color="black", lw=0.8)
        ax.axvline(0.5, color="black", lw=1.0, label="0.5: no difference")
        ax.axvline(0.75, color=BAND_COLOUR, lw=1.2, ls="--", label="0.75: meaningful")
        ax.axvline(0.25, color=BAND_COLOUR, lw=0.8, ls=":", label="0.25: meaningful for B")
        ax.set_yticks(y, labels)
        ax.set_ylabel("comparison (A > B)")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_xlabel("P(A > B) over paired seeds (ties count half)")
        ax.grid(False, axis="y")
        fig.legend(loc="outside lower center", ncols=3, frameon=False)
        ax.set_title(f"Probability of improvement, {confidence * 100:g} % family-level intervals ({protocol})\n"
                     "above the line: each schedule against the baseline")
    return fig


def ecdf(data: FigureData, protocol: str) -> Figure:
    """Performance profile of the final accuracy: for each threshold tau on the k/n_val grid, the share of
    seeds reaching at least tau (1 - ECDF evaluated just below tau), with a pointwise percentile bootstrap
    band over seeds (the reach_profiles table, :func:`schedbench.stats.distributions.reach_profile_table`)."""
    baseline, confidence = data.baseline, data.confidence
    final = protocol_rows(data.finals, protocol)
    order = [s for s in data.order if s in set(final["schedule"])]
    colours = schedule_colours(order, baseline)
    with style():
        if not order:
            return no_data(new_figure(10, 3), f"no runs for protocol {protocol}")
        table = protocol_rows(data.reach_profiles, protocol)
        n_val = int(table["n_val"].iloc[0])
        profiles = {}
        for name in order:
            rows = table[table["schedule"] == name].sort_values("threshold_correct")
            profiles[name] = (rows["share"].to_numpy(), rows["share_low"].to_numpy(), rows["share_high"].to_numpy(),
                              int(rows["n_seeds"].iloc[0]))
        # Every schedule of a protocol is on the same grid of thresholds.
        x = np.sort(table["threshold_correct"].unique()) / n_val * 100.0
        # One panel per schedule, each beside the baseline: six overlapping bands would be unreadable.
        panels = [s for s in order if s != baseline] if baseline in profiles and len(order) > 1 else order
        nrows, ncols = grid_shape(len(panels))
        fig = new_figure(3.7 * ncols + 0.4, 2.2 * nrows + 1.1)
        axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)).ravel()
        for ax, name in zip(axes, panels):
            shown = [baseline, name] if baseline in profiles and name != baseline else [name]
            for member in shown:
                share, low, high, n = profiles[member]
                colour = colours[member]
                ax.fill_between(x, low, high, step="pre", color=colour, alpha=0.2, lw=0)
                ax.plot(x, share, drawstyle="steps-pre", color=colour, lw=1.9,
                        label="baseline" if member == baseline else "schedule")
            ax.set_title(wrapped(f"{name} ({profiles[name][3]} seeds)" + (f" vs {baseline}" if len(shown) > 1 else ""),
                                 40))
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlim(x[0], x[-1])
            percent_axis(ax, axis="x")
            ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(5, steps=[1, 2, 5, 10]))
        finish_grid(axes, len(panels), ncols, "threshold tau (final accuracy, %)", "share of seeds >= tau")
        fig.suptitle(f"Performance profiles (1 - ECDF), {confidence * 100:g} % bootstrap bands ({protocol})\n"
                     f"share of seeds reaching at least tau; higher is better; grey: {baseline}")
    return fig

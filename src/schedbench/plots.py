"""The report's figures: one function per figure, each returning a :class:`matplotlib.figure.Figure`.

Figures are built on bare ``Figure`` objects with the Agg canvas attached (never through ``pyplot``), so no
GUI backend, no display and no global figure state is involved (the caller's backend is left alone). They are
rendered with fixed sizes, a fixed dpi and no date or software stamp in the PNG: the same inputs give the same
PNG bytes.

Statistics come from :mod:`schedbench.stats` (summary, comparisons, bootstrap intervals); this module only
reshapes tables and draws. Conventions shared by every figure:

* accuracies are drawn in percent; differences in validation examples (one example = 100 / n_val points);
* schedules keep the order of the configuration, and each keeps one colour in every figure
  (the baseline is dark grey);
* the x axis of rate plots is training progress in epochs: update ``u`` (0-based) sits at
  ``u / updates_per_epoch``, so epoch ``e`` (1-based, as in runs.csv) spans ``[e - 1, e)``.

:func:`save_figures` reads a dataset's CSV files and writes every figure as PNG under fixed names
(:func:`figure_names`).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from schedbench import stats
from schedbench.config import validation_rows
from schedbench.io import atomic_write_bytes
from schedbench.schedules import InverseTime, Step, build_schedules, steps_per_epoch

DPI = 120
# Figures that depend only on the configuration (and, for reactive schedules, on the runs of every protocol).
DATASET_FIGURES = ("schedules", "article-schedules")
# Figures drawn once per protocol, saved as '{protocol}-{name}.png'.
PROTOCOL_FIGURES = ("learning-curves", "final-accuracy", "intervals", "differences", "improvement", "ecdf")
EQUIVALENCE_EXAMPLES = 1.0

_RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "figure.titlesize": 12,
    "figure.titleweight": "bold",
    "svg.hashsalt": "schedbench",
    "path.simplify": True,
}
BASELINE_COLOUR = "#4d4d4d"
REFERENCE_COLOUR = "#7f7f7f"
BAND_COLOUR = "#2ca02c"


# --------------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------------
def figure_names(config: dict) -> list[str]:
    """File stems of every figure of one dataset, in report order ('schedules', 'tail-learning-curves', ...)."""
    return [*DATASET_FIGURES, *(f"{p}-{name}" for p in config["protocols"] for name in PROTOCOL_FIGURES)]


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


class _style:
    """Context manager: seaborn's white-grid look plus this module's font sizes, restored on exit."""

    def __enter__(self):
        self._contexts = [sns.axes_style("whitegrid"), mpl.rc_context(_RC)]
        for context in self._contexts:
            context.__enter__()
        return self

    def __exit__(self, *exc):
        for context in reversed(self._contexts):
            context.__exit__(*exc)
        return False


def figure_png(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes without a software or date stamp (identical inputs give identical bytes)."""
    buffer = io.BytesIO()
    with _style():  # some settings are read when drawing, not when the artists are made
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white")
    return buffer.getvalue()


def schedule_order(names: Iterable[str], config: dict | None = None) -> list[str]:
    """Schedules in configuration order; names not in the configuration follow in order of appearance."""
    present = list(dict.fromkeys(names))
    configured = list(config["schedules"]) if config else []
    return [n for n in configured if n in present] + [n for n in present if n not in configured]


def schedule_colours(order: list[str], baseline: str | None = None) -> dict[str, tuple]:
    """One colour per schedule: dark grey for the baseline, seaborn's colour-blind palette for the others
    (its grey skipped)."""
    base = sns.color_palette("colorblind", 10)
    # Most distinct first: blue, orange, green, pink, vermillion, sky blue, brown, yellow, light pink.
    palette = [base[i] for i in (0, 1, 2, 4, 3, 9, 5, 8, 6)]
    others = sum(1 for name in order if name != baseline)
    if others > len(palette):  # many schedules: evenly spaced hues rather than repeated colours
        palette = sns.color_palette("husl", others)
    colours, i = {}, 0
    for name in order:
        if name == baseline:
            colours[name] = mpl.colors.to_rgb(BASELINE_COLOUR)
        else:
            colours[name] = palette[i % len(palette)]
            i += 1
    return colours


def final_epoch(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run: its last epoch's validation accuracy, the count of correct examples, n_val and
    whether the run diverged at any epoch (with the first diverged epoch, NaN if never)."""
    keys = ["dataset", "protocol", "schedule", "seed"]
    ordered = runs.sort_values(keys + ["epoch"], kind="stable")
    last = ordered.groupby(keys, sort=False).tail(1).set_index(keys)
    diverged = ordered["diverged"].fillna(False).astype(bool)
    first_bad = ordered.loc[diverged].groupby(keys, sort=False)["epoch"].min()
    out = pd.DataFrame(
        {
            "accuracy": last["val_accuracy"].astype(float),
            "n_val": last["n_val"].astype(np.int64),
            "diverged": diverged.groupby([ordered[k] for k in keys], sort=False).any(),
        }
    )
    out["first_diverged_epoch"] = first_bad.reindex(out.index).astype(float)
    out["correct"] = np.rint(out["accuracy"] * out["n_val"]).astype(np.int64)
    return out.reset_index()


def majority_class_accuracy(predictions: pd.DataFrame) -> dict[str, float]:
    """Per protocol: the accuracy of always answering the validation split's most frequent label, i.e.
    the share of that label among the validation rows (averaged over seeds when each seed has its own
    split; one schedule's rows suffice, every schedule of a seed validates on the same rows)."""
    out = {}
    for protocol, grp in predictions.groupby("protocol", sort=False):
        first = grp["schedule"].iloc[0]
        rows = grp[grp["schedule"] == first]
        shares = rows.groupby("seed")["label"].agg(lambda labels: labels.value_counts().iloc[0] / len(labels))
        out[str(protocol)] = float(shares.mean())
    return out


def _updates_per_epoch(config: dict, dataset: str) -> int:
    rows = config["datasets"][dataset]["rows"]
    n_train = rows - validation_rows(rows, config["validation_fraction"])
    return steps_per_epoch(n_train, config["training"]["batch_size"])


def _percent_axis(ax, axis: str = "y", decimals: int | None = None) -> None:
    """Percent tick labels; ``decimals=None`` picks enough decimals for the ticks' spacing."""
    formatter = mpl.ticker.PercentFormatter(xmax=100, decimals=decimals)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def _grid_shape(n: int, max_cols: int = 2) -> tuple[int, int]:
    cols = max(1, min(max_cols, n))
    return math.ceil(n / cols), cols


def _finish_grid(axes: np.ndarray, used: int, ncols: int, xlabel: str, ylabel: str) -> None:
    """Hide unused panels; label x on every panel with nothing below it (and show its tick labels),
    y on the first column."""
    for ax in axes[used:]:
        ax.set_visible(False)
    for i, ax in enumerate(axes[:used]):
        if i + ncols >= used:
            ax.set_xlabel(xlabel)
            ax.xaxis.set_tick_params(labelbottom=True)
        else:
            ax.set_xlabel("")
        ax.set_ylabel(ylabel if i % ncols == 0 else "")


def _protocol_rows(table: pd.DataFrame, protocol: str) -> pd.DataFrame:
    return table[table["protocol"] == protocol]


def _no_data(fig: Figure, message: str) -> Figure:
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    return fig


# --------------------------------------------------------------------------------------------------
# (a) learning rate against epoch, every configured schedule
# --------------------------------------------------------------------------------------------------
def schedules_figure(config: dict, dataset: str, runs: pd.DataFrame | None = None) -> Figure:
    """Learning rate against training progress (log y) for every configured schedule of ``dataset``.

    Formula schedules are drawn per update, as the optimizer applies them. A time-based (inverse_time)
    schedule is drawn twice: as configured, and dashed in its other reading (per epoch = the article's
    recursive formula; per update = what Keras' SGD(decay) did). Reactive schedules (reduce on plateau)
    have no formula: their per-seed rates are drawn from runs.csv's ``lr`` (the rate of each epoch's first
    update), one faint line per seed and a line style per protocol.
    """
    epochs = config["training"]["epochs"]
    spe = _updates_per_epoch(config, dataset)
    schedules = build_schedules(config["schedules"])
    order = [s.name for s in schedules]
    colours = schedule_colours(order, config["report"]["baseline"])
    progress = np.arange(epochs * spe) / spe
    with _style():
        fig = _new_figure(10.5, 5.6)
        ax = fig.add_subplot()
        styles = ["-", ":", "-.", "--"]
        for schedule in schedules:
            colour = colours[schedule.name]
            if schedule.reactive:
                traces = None
                if runs is not None and len(runs):
                    traces = runs[(runs["dataset"] == dataset) & (runs["schedule"] == schedule.name)]
                if traces is None or traces.empty:
                    ax.plot([0, epochs], [schedule.initial_rate] * 2, color=colour, ls="--",
                            label=f"{schedule.name} (reactive; no runs to trace)")
                    continue
                for p_index, (protocol, by_protocol) in enumerate(traces.groupby("protocol", sort=False)):
                    first = True
                    for _, run in by_protocol.groupby("seed", sort=True):
                        run = run.sort_values("epoch")
                        x = np.append(run["epoch"].to_numpy() - 1, epochs)
                        y = np.append(run["lr"].to_numpy(), run["lr"].to_numpy()[-1])
                        ax.plot(x, y, drawstyle="steps-post", color=colour, alpha=0.3, lw=0.8,
                                ls=styles[p_index % len(styles)],
                                label=f"{schedule.name}, per seed ({protocol}, {by_protocol['seed'].nunique()} seeds)"
                                if first else None)
                        first = False
                continue
            rates = schedule.rates(epochs, spe)
            label = f"{schedule.name} ({schedule.type}, per {schedule.per})"
            ax.plot(progress, rates, color=colour, lw=1.8, label=label)
            if isinstance(schedule, InverseTime):
                other = "epoch" if schedule.per == "update" else "update"
                twin = InverseTime(name=schedule.name, lr0=schedule.lr0, decay=schedule.decay, per=other)
                reading = ("per epoch, the article's recursive formula (not run)" if other == "epoch"
                           else "per update, as Keras' SGD(decay) (not run)")
                ax.plot(progress, twin.rates(epochs, spe), color=colour, lw=1.4, ls="--",
                        label=f"{schedule.name}: {reading}")
        ax.set_yscale("log")
        low, high = ax.get_ylim()
        floor = high * 1e-3
        if low < floor:  # e.g. cosine's last updates: keep the other schedules readable
            ax.set_ylim(floor, high)
            ax.text(0.995, 0.01, "rates below 1/1000 of the top are cut off", transform=ax.transAxes,
                    ha="right", va="bottom", fontsize=8, color=REFERENCE_COLOUR)
            low = floor
        plain = mpl.ticker.FuncFormatter(lambda value, _: f"{value:g}")
        ax.yaxis.set_major_formatter(plain)  # 0.1, 0.01 rather than powers of ten
        if math.log10(high / low) < 1.5:  # a narrow range has few decades: label the minor ticks too
            ax.yaxis.set_minor_formatter(plain)
        ax.set_xlim(0, epochs)
        ax.set_xlabel(f"training progress (epochs; {spe} updates per epoch)")
        ax.set_ylabel("learning rate (log scale)")
        ax.set_title(f"Learning-rate schedules on {dataset}: {epochs} epochs x {spe} updates")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.grid(True, which="minor", axis="y", alpha=0.3)
    return fig


# --------------------------------------------------------------------------------------------------
# (b) the article's two plots
# --------------------------------------------------------------------------------------------------
def article_schedules_figure(updates_per_epoch: int = 9, epochs: int = 100) -> Figure:
    """The article's two rate plots over ``epochs`` epochs, with its settings.

    Left: time-based decay, lr0 0.1, decay 0.002, in three readings: per update as Keras 2's SGD(decay)
    applied it; per epoch by the formula as printed (lr0 / (1 + decay * e)); per epoch read recursively,
    as the article's table. Right: drop-based decay, lr0 0.1, drop 0.5, every 10 epochs (a staircase).
    """
    progress = np.arange(epochs * updates_per_epoch) / updates_per_epoch
    edges = np.arange(epochs + 1)
    per_update = InverseTime(name="time-based", lr0=0.1, decay=0.002, per="update")
    recursive = InverseTime(name="time-based", lr0=0.1, decay=0.002, per="epoch")
    drop = Step(name="drop-based", lr0=0.1, drop=0.5, epochs_drop=10.0)

    def stairs(values):
        return np.append(values, values[-1])

    with _style():
        fig = _new_figure(11, 4.6)
        left, right = fig.subplots(1, 2)
        left.plot(progress, per_update.rates(epochs, updates_per_epoch), lw=1.8, color="#0173b2",
                  label=f"per update, as Keras ran it ({updates_per_epoch} updates/epoch)")
        left.plot(edges, stairs(per_update(np.arange(epochs))), drawstyle="steps-post", lw=1.6,
                  color="#de8f05", label="per epoch, formula as printed: 0.1 / (1 + 0.002 e)")
        left.plot(edges, stairs(recursive(np.arange(epochs))), drawstyle="steps-post", lw=1.6, ls="--",
                  color="#029e73", label="per epoch, recursive (the article's table)")
        left.set_title("Time-based decay: lr0 0.1, decay 0.002")
        right.plot(edges, stairs(drop(np.arange(epochs))), drawstyle="steps-post", lw=1.8, color="#cc78bc",
                   label="0.1 x 0.5^floor((1 + e) / 10)")
        right.set_title("Drop-based decay: lr0 0.1, drop 0.5 every 10 epochs")
        for ax in (left, right):
            ax.set_ylim(0, 0.135)  # head room for the legend
            ax.set_xlim(0, epochs)
            ax.set_xlabel("training progress (epochs; e = 0-based epoch index)")
            ax.set_ylabel("learning rate")
            ax.legend(loc="upper right", frameon=True, framealpha=0.9)
        fig.suptitle(f"The article's two schedules over {epochs} epochs")
    return fig


# --------------------------------------------------------------------------------------------------
# (c) learning curves
# --------------------------------------------------------------------------------------------------
def learning_curves_figure(
    runs: pd.DataFrame,
    protocol: str,
    *,
    majority: float | None = None,
    order: list[str] | None = None,
    baseline: str | None = None,
) -> Figure:
    """Validation accuracy per epoch, one panel per schedule: median over seeds, interquartile band,
    one faint line per seed, and the majority-class accuracy as a dashed reference."""
    data = _protocol_rows(runs, protocol)
    order = order or schedule_order(data["schedule"])
    order = [s for s in order if s in set(data["schedule"])]
    colours = schedule_colours(order, baseline)
    with _style():
        if not order:
            return _no_data(_new_figure(10, 3), f"no runs for protocol {protocol}")
        nrows, ncols = _grid_shape(len(order))
        fig = _new_figure(3.7 * ncols + 0.4, 2.2 * nrows + 0.9)
        axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)).ravel()
        for ax, name in zip(axes, order):
            sub = data[data["schedule"] == name]
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
            ax.set_title(f"{name} ({wide.shape[1]} seeds)")
            _percent_axis(ax)
            ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
        _finish_grid(axes, len(order), ncols, "epoch", "validation accuracy (%)")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False)
        fig.suptitle(f"Learning curves ({protocol}): validation accuracy per epoch")
    return fig


# --------------------------------------------------------------------------------------------------
# (d) final accuracy per seed on the 1/n_val grid
# --------------------------------------------------------------------------------------------------
def _dot_offsets(correct: np.ndarray, width: float = 0.7, step: float = 0.06) -> np.ndarray:
    """Horizontal offsets that lay runs with the same count side by side (a dot plot), deterministic."""
    offsets = np.zeros(len(correct))
    for value in np.unique(correct):
        idx = np.flatnonzero(correct == value)
        gap = min(step, width / max(len(idx), 1))
        offsets[idx] = (np.arange(len(idx)) - (len(idx) - 1) / 2.0) * gap
    return offsets


def final_accuracy_figure(
    runs: pd.DataFrame,
    protocol: str,
    *,
    order: list[str] | None = None,
    baseline: str | None = None,
    majority: float | None = None,
) -> Figure:
    """Final-epoch validation accuracy of every seed as a dot on the k/n_val grid, one column per schedule,
    grey lines joining each seed across schedules, a black bar at each schedule's mean; diverged runs
    are drawn as crosses."""
    final = final_epoch(_protocol_rows(runs, protocol))
    order = order or schedule_order(final["schedule"])
    order = [s for s in order if s in set(final["schedule"])]
    colours = schedule_colours(order, baseline)
    with _style():
        if not order:
            return _no_data(_new_figure(10, 3), f"no runs for protocol {protocol}")
        fig = _new_figure(min(11.0, max(6.5, 0.95 * len(order) + 2.8)), 5.6)
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
        ax.set_xticks(range(len(order)), order, rotation=25 if len(order) > 4 else 0,
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
            _percent_axis(ax, decimals=1)
        secondary = ax.secondary_yaxis("right", functions=(lambda y: y * n_val / 100.0, lambda k: k * 100.0 / n_val))
        secondary.set_ylabel(f"correct validation examples (of {n_val})")
        secondary.yaxis.set_major_locator(
            mpl.ticker.MultipleLocator(1) if high_k - low_k + 3 <= 16 else mpl.ticker.MaxNLocator(integer=True))
        ax.legend(loc="lower right", frameon=True, framealpha=0.9)
        ax.set_title(f"Final accuracy per seed ({protocol}, {final['seed'].nunique()} seeds)")
    return fig


# --------------------------------------------------------------------------------------------------
# (e) interval estimates, rliable style
# --------------------------------------------------------------------------------------------------
def intervals_figure(
    summary: pd.DataFrame,
    protocol: str,
    *,
    order: list[str] | None = None,
    baseline: str | None = None,
    confidence: float = 0.95,
) -> Figure:
    """Mean, median and IQM of the final accuracy per schedule with their bootstrap intervals (summary.csv)."""
    data = _protocol_rows(summary, protocol).set_index("schedule")
    order = order or list(data.index)
    order = [s for s in order if s in data.index]
    colours = schedule_colours(order, baseline)
    metrics = [("Mean", "mean", "ci_low", "ci_high"),
               ("Median", "median", "median_ci_low", "median_ci_high"),
               ("IQM (25 % trimmed mean)", "iqm", "iqm_ci_low", "iqm_ci_high")]
    with _style():
        if not order:
            return _no_data(_new_figure(10, 3), f"no summary rows for protocol {protocol}")
        fig = _new_figure(8.0, 0.4 * len(order) + 1.8)
        axes = fig.subplots(1, 3, sharey=True, sharex=True)
        y = np.arange(len(order))[::-1]
        for ax, (title, point, low, high) in zip(axes, metrics):
            for yi, name in zip(y, order):
                row = data.loc[name]
                lo, hi, value = row[low] * 100.0, row[high] * 100.0, row[point] * 100.0
                ax.hlines(yi, lo, hi, color=colours[name], lw=7, alpha=0.45)
                ax.plot([value, value], [yi - 0.3, yi + 0.3], color=colours[name], lw=2.2)
            ax.set_title(title)
            ax.set_xlabel("final validation accuracy (%)")
            ax.grid(False, axis="y")
            _percent_axis(ax, axis="x")
            ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(4, steps=[1, 2, 5, 10]))
        axes[0].set_yticks(y, order)
        axes[0].set_ylabel("schedule")
        axes[0].set_ylim(-0.7, len(order) - 0.3)
        fig.suptitle(f"Point estimates with {confidence * 100:g} % bootstrap intervals ({protocol})")
    return fig


# --------------------------------------------------------------------------------------------------
# (f) paired differences against the baseline
# --------------------------------------------------------------------------------------------------
def differences_figure(
    runs: pd.DataFrame,
    comparisons: pd.DataFrame,
    protocol: str,
    baseline: str,
    *,
    order: list[str] | None = None,
    equivalence_examples: float = EQUIVALENCE_EXAMPLES,
    confidence: float = 0.95,
) -> Figure:
    """Histogram over seeds of (schedule - baseline) in correct validation examples, one panel per schedule,
    with the +/- equivalence band, zero, and the mean difference with its paired bootstrap interval
    (from comparisons.csv)."""
    final = final_epoch(_protocol_rows(runs, protocol))
    order = order or schedule_order(final["schedule"])
    others = [s for s in order if s != baseline and s in set(final["schedule"])]
    colours = schedule_colours(order, baseline)
    rows = _protocol_rows(comparisons, protocol)
    rows = rows[rows["vs_baseline"].astype(bool) & (rows["b"] == baseline)].set_index("a")
    with _style():
        if baseline not in set(final["schedule"]) or not others:
            return _no_data(_new_figure(10, 3), f"no paired differences against {baseline} ({protocol})")
        base = final[final["schedule"] == baseline].set_index("seed")["correct"]
        n_val = int(final["n_val"].iloc[0])
        diffs = {}
        for name in others:
            own = final[final["schedule"] == name].set_index("seed")["correct"]
            joined = pd.concat([own.rename("a"), base.rename("b")], axis=1, join="inner")
            diffs[name] = (joined["a"] - joined["b"]).to_numpy()
        everything = np.concatenate(list(diffs.values()))
        lo = min(int(everything.min()), -int(math.ceil(equivalence_examples))) - 1
        hi = max(int(everything.max()), int(math.ceil(equivalence_examples))) + 1
        nrows, ncols = _grid_shape(len(others))
        fig = _new_figure(3.7 * ncols + 0.4, 2.2 * nrows + 1.0)
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
                ci = (row["diff_ci_low"] * n_val, row["diff_ci_high"] * n_val)
                ax.errorbar([mean], [top * 1.12], xerr=[[mean - ci[0]], [ci[1] - mean]], fmt="D", ms=5,
                            color="black", capsize=3, lw=1.4, label=f"mean with {confidence * 100:g} % interval")
            ax.set_title(f"{name} - {baseline} ({len(d)} seeds)")
            ax.set_xlim(lo - 0.5, hi + 0.5)
            ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
            ax.yaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
            ax.set_ylim(0, top * 1.3)
        _finish_grid(axes, len(others), ncols, f"difference (examples; 1 = {100 / n_val:.2f} points)", "seeds")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False)
        fig.suptitle(f"Paired differences against {baseline}, in examples ({protocol})")
    return fig


# --------------------------------------------------------------------------------------------------
# (g) probability of improvement
# --------------------------------------------------------------------------------------------------
def improvement_figure(
    comparisons: pd.DataFrame,
    protocol: str,
    *,
    order: list[str] | None = None,
    baseline: str | None = None,
    confidence: float = 0.95,
) -> Figure:
    """P(A > B) over paired seeds with its exact interval for every comparison of the protocol
    (against the baseline first, then all other pairs), reference lines at 0.5 and 0.75."""
    rows = _protocol_rows(comparisons, protocol).copy()
    with _style():
        if rows.empty:
            return _no_data(_new_figure(10, 3), f"no comparisons for protocol {protocol}")
        rows["vs_baseline"] = rows["vs_baseline"].astype(bool)
        rows = pd.concat([rows[rows["vs_baseline"]], rows[~rows["vs_baseline"]]])
        names = order or schedule_order(list(rows["a"]) + list(rows["b"]))
        colours = schedule_colours(names, baseline)
        fig = _new_figure(8.0, 0.28 * len(rows) + 2.2)
        ax = fig.add_subplot()
        y = np.arange(len(rows))[::-1]
        labels = []
        for yi, (_, row) in zip(y, rows.iterrows()):
            colour = colours.get(row["a"], REFERENCE_COLOUR)
            ax.hlines(yi, row["p_a_better_ci_low"], row["p_a_better_ci_high"], color=colour, lw=5, alpha=0.45)
            ax.plot(row["p_a_better"], yi, "o", color=colour, ms=6,
                    markeredgecolor="black" if row["vs_baseline"] else colour)
            labels.append(f"{row['a']} > {row['b']}")
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
        ax.set_title(f"Probability of improvement with {confidence * 100:g} % intervals ({protocol})\n"
                     "above the line: each schedule against the baseline")
    return fig


# --------------------------------------------------------------------------------------------------
# (h) performance profile (1 - ECDF) with a bootstrap band
# --------------------------------------------------------------------------------------------------
def ecdf_figure(
    runs: pd.DataFrame,
    protocol: str,
    *,
    order: list[str] | None = None,
    baseline: str | None = None,
    confidence: float = 0.95,
    resamples: int = 50_000,
    seed: int = 20161,
) -> Figure:
    """Performance profile of the final accuracy: for each threshold tau on the k/n_val grid, the share of
    seeds reaching at least tau (1 - ECDF evaluated just below tau), with a pointwise percentile bootstrap
    band over seeds (:func:`schedbench.stats.bootstrap_ci`, fixed seed)."""
    final = final_epoch(_protocol_rows(runs, protocol))
    order = order or schedule_order(final["schedule"])
    order = [s for s in order if s in set(final["schedule"])]
    colours = schedule_colours(order, baseline)
    with _style():
        if not order:
            return _no_data(_new_figure(10, 3), f"no runs for protocol {protocol}")
        n_val = int(final["n_val"].iloc[0])
        grid = np.arange(int(final["correct"].min()) - 1, int(final["correct"].max()) + 2)
        grid = grid[(grid >= 0) & (grid <= n_val)]
        x = grid / n_val * 100.0
        profiles = {}
        for name in order:
            correct = final.loc[final["schedule"] == name, "correct"].to_numpy(dtype=float)
            share, low, high = [], [], []
            for k in grid:
                share.append(float(np.mean(correct >= k)))

                def reach(sample, axis=-1, k=k):
                    return np.mean(sample >= k, axis=axis)

                lo, hi = stats.bootstrap_ci(correct, reach, confidence=confidence, resamples=resamples, seed=seed)
                low.append(lo)
                high.append(hi)
            profiles[name] = (np.array(share), np.array(low), np.array(high), len(correct))
        # One panel per schedule, each beside the baseline: six overlapping bands would be unreadable.
        panels = [s for s in order if s != baseline] if baseline in profiles and len(order) > 1 else order
        nrows, ncols = _grid_shape(len(panels))
        fig = _new_figure(3.7 * ncols + 0.4, 2.2 * nrows + 1.1)
        axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)).ravel()
        for ax, name in zip(axes, panels):
            shown = [baseline, name] if baseline in profiles and name != baseline else [name]
            for member in shown:
                share, low, high, n = profiles[member]
                colour = colours[member]
                ax.fill_between(x, low, high, step="pre", color=colour, alpha=0.2, lw=0)
                ax.plot(x, share, drawstyle="steps-pre", color=colour, lw=1.9,
                        label="baseline" if member == baseline else "schedule")
            ax.set_title(f"{name} ({profiles[name][3]} seeds)" + (f" vs {baseline}" if len(shown) > 1 else ""))
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlim(x[0], x[-1])
            _percent_axis(ax, axis="x")
            ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(5, steps=[1, 2, 5, 10]))
        _finish_grid(axes, len(panels), ncols, "threshold tau (final accuracy, %)", "share of seeds >= tau")
        fig.suptitle(f"Performance profiles (1 - ECDF), {confidence * 100:g} % bootstrap bands ({protocol})\n"
                     f"share of seeds reaching at least tau; higher is better; grey: {baseline}")
    return fig


# --------------------------------------------------------------------------------------------------
# everything of one dataset
# --------------------------------------------------------------------------------------------------
def _as_bool(column: pd.Series) -> pd.Series:
    """CSV booleans ('True'/'False', or already bool) as a bool column."""
    return column.astype(str).str.strip().str.lower().isin(["true", "1", "1.0"])


def dataset_dir(results_dir: str | Path, dataset: str) -> Path:
    """``results_dir/dataset`` when it holds the CSV files, else ``results_dir`` itself."""
    results_dir = Path(results_dir)
    nested = results_dir / dataset
    return nested if (nested / "runs.csv").exists() or not (results_dir / "runs.csv").exists() else results_dir


def read_results(results_dir: str | Path, dataset: str) -> dict[str, pd.DataFrame]:
    """runs, predictions, summary, comparisons and friedman of one dataset (missing files: empty tables)."""
    where = dataset_dir(results_dir, dataset)
    tables = {}
    for name in ("runs", "predictions", "summary", "comparisons", "friedman"):
        path = where / f"{name}.csv"
        tables[name] = pd.read_csv(path) if path.exists() else pd.DataFrame()
    for name in ("runs", "predictions", "summary", "comparisons", "friedman"):
        frame = tables[name]
        if not frame.empty and "dataset" in frame.columns:
            tables[name] = frame[frame["dataset"] == dataset].reset_index(drop=True)
    if not tables["runs"].empty:
        tables["runs"]["diverged"] = _as_bool(tables["runs"]["diverged"])
    for column in ("vs_baseline", "equivalent"):
        if column in tables["comparisons"].columns:
            tables["comparisons"][column] = _as_bool(tables["comparisons"][column])
    return tables


def build_figures(config: dict, dataset: str, tables: Mapping[str, pd.DataFrame]) -> dict[str, Figure]:
    """Every figure of one dataset, keyed by its file stem (:func:`figure_names`)."""
    report = config["report"]
    baseline = report["baseline"]
    confidence = report.get("confidence", 0.95)
    runs, summary, comparisons = tables["runs"], tables["summary"], tables["comparisons"]
    predictions = tables.get("predictions", pd.DataFrame())
    majority = majority_class_accuracy(predictions) if not predictions.empty else {}
    order = schedule_order(list(config["schedules"]) + (list(runs["schedule"]) if not runs.empty else []), config)
    figures = {
        "schedules": schedules_figure(config, dataset, runs if not runs.empty else None),
        "article-schedules": article_schedules_figure(_updates_per_epoch(config, dataset), 100),
    }
    empty_runs = runs if not runs.empty else pd.DataFrame(columns=["protocol", "schedule", "seed", "epoch",
                                                                    "val_accuracy", "n_val", "diverged"])
    for protocol in config["protocols"]:
        kwargs = {"order": order, "baseline": baseline}
        figures[f"{protocol}-learning-curves"] = learning_curves_figure(
            empty_runs, protocol, majority=majority.get(protocol), **kwargs)
        figures[f"{protocol}-final-accuracy"] = final_accuracy_figure(
            empty_runs, protocol, majority=majority.get(protocol), **kwargs)
        figures[f"{protocol}-intervals"] = intervals_figure(
            summary if not summary.empty else pd.DataFrame(columns=["protocol", "schedule"]), protocol,
            confidence=confidence, **kwargs)
        figures[f"{protocol}-differences"] = differences_figure(
            empty_runs, comparisons if not comparisons.empty else
            pd.DataFrame(columns=["protocol", "a", "b", "vs_baseline"]), protocol, baseline,
            order=order, confidence=confidence)
        figures[f"{protocol}-improvement"] = improvement_figure(
            comparisons if not comparisons.empty else pd.DataFrame(columns=["protocol"]), protocol,
            confidence=confidence, **kwargs)
        figures[f"{protocol}-ecdf"] = ecdf_figure(
            empty_runs, protocol, confidence=confidence, resamples=report.get("bootstrap_resamples", 50_000),
            seed=report.get("rng_seed", 20161), **kwargs)
    return figures


def save_figures(config: dict, dataset: str, results_dir: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Read a dataset's CSV files (``results_dir/dataset/*.csv``) and write every figure as
    ``out_dir/<name>.png`` atomically; return {name: path} in report order (names: :func:`figure_names`)."""
    out_dir = Path(out_dir)
    figures = build_figures(config, dataset, read_results(results_dir, dataset))
    paths = {}
    for name in figure_names(config):
        path = out_dir / f"{name}.png"
        atomic_write_bytes(path, figure_png(figures[name]))
        paths[name] = path
    return paths

"""Figures of the schedules themselves: every configured rate against training progress, and the article's two.

The x axis of rate plots is training progress in epochs: update ``u`` (0-based) sits at ``u / updates_per_epoch``,
so epoch ``e`` (1-based, as in runs.csv) spans ``[e - 1, e)``.
"""

from __future__ import annotations

import math

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from schedbench.figures.data import FigureData
from schedbench.figures.style import REFERENCE_COLOUR, new_figure, schedule_colours, style
from schedbench.schedules import InverseTime, Step, build_schedules


def schedules(data: FigureData, protocol: None = None) -> Figure:
    """Learning rate against training progress (log y) for every configured schedule of ``dataset``.

    Formula schedules are drawn per update, as the optimizer applies them. A time-based (inverse_time)
    schedule is drawn twice: as configured, and dashed in its other reading (per epoch = the article's
    recursive formula; per update = what Keras' SGD(decay) did). Reactive schedules (reduce on plateau)
    have no formula: their per-seed rates are drawn from runs.csv's ``lr`` (the rate of each epoch's first
    update), one faint line per seed and a line style per protocol.
    """
    dataset, runs, epochs, spe = data.dataset, data.runs, data.epochs, data.updates_per_epoch
    schedules = build_schedules(data.schedules)
    colours = schedule_colours([s.name for s in schedules], data.baseline)
    progress = np.arange(epochs * spe) / spe
    with style():
        fig = new_figure(10.5, 5.6)
        ax = fig.add_subplot()
        styles = ["-", ":", "-.", "--"]
        for schedule in schedules:
            colour = colours[schedule.name]
            if schedule.reactive:
                traces = runs[runs["schedule"] == schedule.name]
                if traces.empty:
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


def article_schedules(data: FigureData, protocol: None = None) -> Figure:
    return article_schedules_figure(data.updates_per_epoch, 100)


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

    with style():
        fig = new_figure(11, 4.6)
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

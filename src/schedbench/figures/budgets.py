"""The figures of a study with budgets: test accuracy against the budget per family (the overview's answer for such
a study), and the time-to-target performance profiles over its (dataset, budget) problems.

Drawn from the budget statistics' tables (``budget_summary.csv`` of each dataset, concatenated, and
``results/{study}/budgets/time_to_target_profiles.csv``) on bare ``Figure`` objects in the shared style
(:mod:`schedbench.figures.style`): fixed sizes and dpi, the families' colours as in every other figure, so the same
tables give the same PNG bytes. The budget_figures rule's script calls them with the tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from schedbench.figures.style import (
    new_figure,
    no_data,
    percent_axis,
    profile_frame,
    schedule_colours,
    style,
)
from schedbench.budgets import budget_fraction

__all__ = ["draw_accuracy_by_budget", "draw_time_to_target_profiles"]

# Families side by side at one budget: each one's points shifted by this many octaves per position, so intervals of
# equal means do not hide each other.
_DODGE = 0.035
# How a point was obtained (budget_summary's ``obtained``): trained for that budget (filled) or read from the full
# run's history (hollow).
_OBTAINED_FILLED = {"trained": True, "read": False}
_OBTAINED_LABELS = {"trained": "trained for the budget", "read": "read from the full run"}
_BEST_MARKER = {"marker": "*", "ms": 15, "mfc": "none", "mec": "black", "mew": 1.1, "ls": "none"}


def _order(present: Sequence[str], families: Sequence[str]) -> tuple[list[str], list[str]]:
    """(every family the colours are taken over, the ones present in drawing order): colours from the configured
    order first, so each family keeps its colour whatever subset a table holds."""
    everyone = list(dict.fromkeys([*families, *present]))
    return everyone, [f for f in everyone if f in set(present)]


def _budget_ticks(ax, rows: pd.DataFrame) -> None:
    """The budgets as ticks of a log2 axis, labelled with the fraction and the epochs it is on this dataset."""
    ticks = rows.drop_duplicates("budget").sort_values("budget")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ticks["budget"].to_numpy(dtype=float),
                  [f"{budget_fraction(b)}\n{int(e)} ep" for b, e in zip(ticks["budget"], ticks["epochs"])])
    ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())
    low, high = float(ticks["budget"].min()), float(ticks["budget"].max())
    ax.set_xlim(low / 2 ** 0.35, high * 2 ** 0.35)


def draw_accuracy_by_budget(summary: pd.DataFrame, *, families: Sequence[str] = (), baseline: str | None = None,
                            study: str = "") -> Figure:
    """Test accuracy against the budget, one panel per dataset (in order of appearance), one line per family.

    ``summary``: the study's ``budget_summary`` rows (every dataset's, one protocol each). Each family's line joins
    its mean test accuracy at each budget (percent), with the bootstrap interval (``test_accuracy_ci_low`` ..
    ``_high``) as a vertical bar; its points are filled where the result was trained for the budget and hollow where
    it was read from the full run (``obtained``). A star rings the best family's point at each budget (``best``).
    x is the budget fraction on a log2 axis, each tick labelled with its epochs on that dataset. Colours from
    :func:`schedbench.figures.style.schedule_colours` over ``families`` (the study's order), the ``baseline`` dark
    grey, as in every figure.

    Artists carry gids: "mean:<dataset>:<family>" (the line), "<obtained>:<dataset>:<family>" (its points of
    that kind), "interval:<dataset>:<family>", "best:<dataset>" (the stars).
    """
    with style():
        if summary.empty:
            return no_data(new_figure(7, 2.5), "no budget results to draw")
        datasets = list(dict.fromkeys(summary["dataset"]))
        everyone, order = _order(list(dict.fromkeys(summary["family"])), families)
        colours = schedule_colours(everyone, baseline)
        ncols = min(len(datasets), 3)
        nrows = math.ceil(len(datasets) / ncols)
        fig = new_figure(3.6 * ncols + 2.4, 3.3 * nrows + 0.8)
        axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
        for ax, dataset in zip(axes, datasets):
            rows = summary[summary["dataset"] == dataset]
            protocols = list(dict.fromkeys(rows["protocol"]))
            if len(protocols) > 1:
                raise ValueError(f"the budget figure draws one protocol per dataset; {dataset} has {protocols}")
            present = [f for f in order if f in set(rows["family"])]
            for position, family in enumerate(present):
                line = rows[rows["family"] == family].sort_values("budget", kind="stable")
                shift = 2.0 ** (_DODGE * (position - (len(present) - 1) / 2))
                x = line["budget"].to_numpy(dtype=float) * shift
                mean = line["test_accuracy_mean"].to_numpy(dtype=float) * 100.0
                low = line["test_accuracy_ci_low"].to_numpy(dtype=float) * 100.0
                high = line["test_accuracy_ci_high"].to_numpy(dtype=float) * 100.0
                colour = colours[family]
                ax.plot(x, mean, color=colour, lw=1.6, gid=f"mean:{dataset}:{family}", label=family, zorder=2)
                ax.vlines(x, low, high, color=colour, lw=1.4, alpha=0.8, gid=f"interval:{dataset}:{family}",
                          zorder=2)
                obtained = line["obtained"].to_numpy(dtype=str)
                for kind, filled in _OBTAINED_FILLED.items():
                    at = obtained == kind
                    if at.any():
                        ax.plot(x[at], mean[at], ls="none", marker="o", ms=5.5, mew=1.4, color=colour,
                                mfc=colour if filled else "white", gid=f"{kind}:{dataset}:{family}", zorder=3)
            best = rows[rows["best"].astype(bool)]
            if len(best):
                shifts = {family: 2.0 ** (_DODGE * (i - (len(present) - 1) / 2)) for i, family in enumerate(present)}
                ax.plot(best["budget"].to_numpy(dtype=float) * best["family"].map(shifts).to_numpy(dtype=float),
                        best["test_accuracy_mean"].to_numpy(dtype=float) * 100.0, gid=f"best:{dataset}", zorder=4,
                        **_BEST_MARKER)
            _budget_ticks(ax, rows)
            percent_axis(ax)
            n_test = rows["n_test"].dropna()
            n_text = f", {int(n_test.iloc[0])} test rows" if n_test.nunique() == 1 else ""
            ax.set_title(f"{dataset} ({protocols[0]}{n_text})", fontsize=10)
            ax.set_xlabel("budget: fraction of the run (log2), epochs")
            ax.set_ylabel("test accuracy (%)")
        for ax in axes[len(datasets):]:
            ax.set_visible(False)
        seen = set(summary["obtained"])
        handles = [Line2D([], [], color=colours[f], lw=1.6, label=f) for f in order]
        handles += [Line2D([], [], ls="none", marker="o", ms=5.5, mew=1.4, color="#333333",
                           mfc="#333333" if filled else "white", label=_OBTAINED_LABELS[kind])
                    for kind, filled in _OBTAINED_FILLED.items() if kind in seen]
        handles.append(Line2D([], [], label="best at the budget", **_BEST_MARKER))
        handles.append(Line2D([], [], color="#333333", lw=1.4, label="bootstrap interval of the mean"))
        fig.legend(handles=handles, loc="outside right center", frameon=False, title="family")
        seeds = summary["n_seeds"].dropna()
        seeds_text = f", {int(seeds.iloc[0])} seeds" if seeds.nunique() == 1 else ""
        fig.suptitle(f"Test accuracy of each family tuned per budget{' (' + study + ')' if study else ''}: "
                     f"mean with its interval{seeds_text}", fontsize=10.5, fontweight="normal")
    return fig


def draw_time_to_target_profiles(profiles: pd.DataFrame, *, families: Sequence[str] = (),
                                 baseline: str | None = None) -> Figure:
    """Time-to-target performance profiles: the fraction of (dataset, budget) problems (y, 0..1) on which each
    family's median updates to the target is within a factor tau of the fastest family's on that problem, against
    tau (x, log2 axis, 1 = the fastest). Each line is held at its last fraction up to the largest tau of the table.

    ``profiles``: ``time_to_target_profiles`` (family, tau, fraction, n_problems). One step line per family held
    from each tau to the next, a marker at each measured tau, earlier families drawn thicker so equal profiles stay
    visible; a family that never reaches the target on a problem never counts it, so its line stays below 1.
    Colours as in every figure. Lines carry gids "profile:<family>".
    """
    with style():
        if len(profiles):  # a problem a family never reached has no finite ratio to draw
            profiles = profiles[np.isfinite(pd.to_numeric(profiles["tau"], errors="coerce").to_numpy(dtype=float))]
        if profiles.empty:
            return no_data(new_figure(7, 3), "no family reached the target on any problem: no profiles to draw")
        everyone, order = _order(list(dict.fromkeys(profiles["family"])), families)
        colours = schedule_colours(everyone, baseline)
        fig = new_figure(7.5, 4.0)
        ax = fig.add_subplot()
        widest = float(profiles["tau"].max())
        for i, family in enumerate(order):
            rows = profiles[profiles["family"] == family].sort_values("tau", kind="stable")
            x = rows["tau"].to_numpy(dtype=float)
            y = rows["fraction"].to_numpy(dtype=float)
            if x[-1] < widest:  # a profile holds its last fraction for every larger tau
                x, y = np.append(x, widest), np.append(y, y[-1])
            lw = 1.4 + 2.2 * (len(order) - 1 - i) / max(len(order) - 1, 1)
            z = 2 + i / len(order)
            ax.step(x, y, where="post", color=colours[family], lw=lw, label=family, gid=f"profile:{family}", zorder=z)
            ax.plot(x[: len(rows)], y[: len(rows)], ls="none", marker="o", ms=lw + 2.0, color=colours[family], zorder=z)
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlim(left=0.9)
        ax.set_xlabel("tau: median updates to the target over the fastest family's on the problem (log2)")
        ax.set_ylabel("fraction of problems within tau")
        profile_frame(fig, ax, profiles, "n_problems", "(dataset, budget) problems", "Time to target", order, colours)
    return fig

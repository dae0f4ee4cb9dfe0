"""The figures of the verdict across datasets: Demsar's critical-difference diagram and performance profiles.

Both are drawn on bare ``Figure`` objects in the shared style (:mod:`schedbench.figures.style`): no pyplot, fixed
sizes and dpi, so the same inputs give the same PNG bytes (:func:`schedbench.figures.style.figure_png`).
Their tables come from :mod:`schedbench.stats.suite`.

The suite rule's script calls them with the suite tables (the registry's ``function(data, protocol)`` convention
is for one dataset's figures).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from schedbench.figures.style import new_figure, no_data, percent_axis, schedule_colours, style

__all__ = ["draw_critical_difference", "draw_performance_profiles"]

# Layout of the CD diagram, in inches (the axes' data units are ranks across and inches down).
_TITLE = 0.62
_TOP = 0.85          # above the rank axis: tick labels, the CD bar and its label
_CD_BAR = 0.58
_TICK = 0.07
_FIRST_CLIQUE = 0.2
_CLIQUE_STEP = 0.12
_LABEL_STEP = 0.26
_CHAR = 0.072        # width of a label character at the legend font size
_MIN_WIDTH = 7.4
_CLIQUE_COLOUR = "black"
_AXIS_COLOUR = "#333333"


def _average_ranks(average_ranks) -> dict[str, float]:
    """{family: average rank}, from a mapping or from ``average_rank_table`` (columns family, average_rank)."""
    if isinstance(average_ranks, pd.DataFrame):
        return {str(f): float(r) for f, r in zip(average_ranks["family"], average_ranks["average_rank"])}
    return {str(f): float(r) for f, r in dict(average_ranks).items()}


def draw_critical_difference(average_ranks: Mapping[str, float] | pd.DataFrame, cd: float, *, groups: pd.DataFrame,
                             alpha: float, n_datasets: int) -> Figure:
    """Demsar's critical-difference diagram of the families' average ranks over datasets.

    ``average_ranks``: {family: average rank} or ``average_rank_table``; ``cd``: Nemenyi's critical difference
    (``friedman_over_datasets``'s critical_difference) at ``alpha`` on ``n_datasets`` datasets.
    The rank axis runs from 1 (best, on the LEFT) to k; each family's average rank is marked on it and joined
    by an elbow line to its label "family (rank)": the better half labelled on the left, the rest on the right.
    Above the axis a bar of length ``cd`` (in rank units, from rank 1) shows the critical difference. Below it,
    thick black lines join each maximal group of families whose average ranks lie within ``cd`` of each other
    (``groups``: :func:`schedbench.stats.suite.nemenyi_group_table`, no pair in a group shown different). A NaN
    ``cd`` draws neither bar nor groups.

    Artists carry gids for readers and tests: "cd_bar" (the bar), "clique" (one line per group, from its best
    to its worst rank), "rank:<family>" (the marker), "label:<family>" (the label).
    """
    ranks = _average_ranks(average_ranks)
    ranks = {f: r for f, r in ranks.items() if np.isfinite(r)}
    with style():
        if not ranks:
            return no_data(new_figure(7, 2), "no average ranks to draw")
        order = sorted(ranks, key=lambda f: (ranks[f], list(ranks).index(f)))
        k = len(order)
        has_cd = cd is not None and np.isfinite(cd)
        groups = ([list(members["family"]) for _, members in groups.groupby("group", sort=True)]
                  if has_cd else [])
        left = order[: math.ceil(k / 2)]
        right = order[math.ceil(k / 2):]

        # Horizontal scale: ranks 1..max(k, 1 + cd, worst rank) plus room for the labels on either side.
        hi = max(float(k), max(ranks.values()), 1.0 + (cd if has_cd else 0.0))
        span = max(hi - 1.0, 1.0)
        per_rank = max(0.7, min(1.3, 6.0 / span))  # inches per rank
        labels = {f: f"{f} ({ranks[f]:.2f})" for f in order}
        side = 0.35 + _CHAR * max(len(text) for text in labels.values())
        side = max(side, (_MIN_WIDTH - span * per_rank) / 2.0)  # never narrower than the title
        width = span * per_rank + 2.0 * side
        x_low, x_high = 1.0 - side / per_rank, 1.0 + span + side / per_rank

        # Vertical layout (inches, 0 = the rank axis, negative below it).
        first_label = _FIRST_CLIQUE + _CLIQUE_STEP * len(groups) + 0.12
        rows = max(len(left), len(right))
        bottom = first_label + _LABEL_STEP * (rows - 1) + 0.22
        height = _TITLE + _TOP + bottom

        fig = new_figure(width, height)
        fig.set_layout_engine("none")
        ax = fig.add_axes((0.0, 0.0, 1.0, (_TOP + bottom) / height))
        ax.set_xlim(x_low, x_high)
        ax.set_ylim(-bottom, _TOP)
        ax.axis("off")

        # The rank axis, best on the left.
        line = dict(color=_AXIS_COLOUR, lw=1.2, solid_capstyle="butt")
        ax.plot([1.0, float(k)], [0.0, 0.0], **line)
        for tick in range(1, k + 1):
            ax.plot([tick, tick], [0.0, _TICK], **line)
            ax.text(tick, _TICK + 0.04, str(tick), ha="center", va="bottom", fontsize=9)
        for half in np.arange(1.5, k, 1.0):
            ax.plot([half, half], [0.0, _TICK / 2], color=_AXIS_COLOUR, lw=0.8)

        if has_cd:
            bar = dict(color="black", lw=1.6, solid_capstyle="butt")
            ax.plot([1.0, 1.0 + cd], [_CD_BAR, _CD_BAR], gid="cd_bar", **bar)
            for end in (1.0, 1.0 + cd):
                ax.plot([end, end], [_CD_BAR - 0.05, _CD_BAR + 0.05], **bar)
            ax.text(1.0 + cd / 2, _CD_BAR + 0.07, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)

        for j, group in enumerate(groups):
            y = -(_FIRST_CLIQUE + _CLIQUE_STEP * j)
            ax.plot([ranks[group[0]], ranks[group[-1]]], [y, y], color=_CLIQUE_COLOUR, lw=4.0,
                    solid_capstyle="round", gid="clique")

        elbow = dict(color=_AXIS_COLOUR, lw=0.9)
        for i, family in enumerate(left):  # the best family drops least: no line crosses another
            y = -(first_label + _LABEL_STEP * i)
            ax.plot([ranks[family], ranks[family], 1.0 - 0.12 / per_rank], [0.0, y, y], **elbow)
            ax.text(1.0 - 0.18 / per_rank, y, labels[family], ha="right", va="center", fontsize=9,
                    gid=f"label:{family}")
        for i, family in enumerate(reversed(right)):  # the worst family drops least
            y = -(first_label + _LABEL_STEP * i)
            ax.plot([ranks[family], ranks[family], 1.0 + span + 0.12 / per_rank], [0.0, y, y], **elbow)
            ax.text(1.0 + span + 0.18 / per_rank, y, labels[family], ha="left", va="center", fontsize=9,
                    gid=f"label:{family}")
        for family in order:
            ax.plot([ranks[family]], [0.0], marker="o", ms=4.5, color="black", gid=f"rank:{family}", zorder=3)

        cd_text = (f"Nemenyi CD = {cd:.2f} at alpha = {alpha:g}" if has_cd
                   else "no critical difference (too few datasets)")
        fig.suptitle(f"Average rank over {n_datasets} datasets (1 = best, on the left); {cd_text}\n"
                     "thick lines join families whose average ranks differ by at most CD (not shown different)",
                     fontsize=9.5, fontweight="normal", y=1.0 - 0.06 / height, va="top")
    return fig


def draw_performance_profiles(profiles: pd.DataFrame, *, families: Sequence[str] = (),
                              baseline: str | None = None) -> Figure:
    """Performance profiles: the fraction of datasets (y, 0..1) on which each family is within tau of the
    dataset's best family, against tau (x, in percentage points of test accuracy, i.e. tau x 100).

    ``profiles``: ``performance_profile_table`` (family, tau, fraction, n_datasets). One step line per family
    (held from each tau to the next: between the measured taus the true fraction is at least the step),
    with a marker at each measured tau, earlier families drawn thicker so that equal profiles stay visible;
    colours from :func:`schedbench.figures.style.schedule_colours` over ``families`` (the configuration's
    order; families not listed follow in order of appearance), the ``baseline`` dark grey, as in every other
    figure; a legend names them.
    """
    with style():
        if profiles.empty:
            return no_data(new_figure(7, 3), "no performance profiles to draw")
        present = list(dict.fromkeys(profiles["family"]))
        everyone = list(dict.fromkeys([*families, *present]))
        colours = schedule_colours(everyone, baseline)
        order = [f for f in everyone if f in present]
        fig = new_figure(7.5, 4.0)
        ax = fig.add_subplot()
        for i, family in enumerate(order):
            rows = profiles[profiles["family"] == family].sort_values("tau", kind="stable")
            x = rows["tau"].to_numpy(dtype=float) * 100.0
            y = rows["fraction"].to_numpy(dtype=float)
            # Later lines thinner and on top: a profile equal to another's still shows at its edges.
            lw = 1.4 + 2.2 * (len(order) - 1 - i) / max(len(order) - 1, 1)
            ax.step(x, y, where="post", color=colours[family], lw=lw, label=family, gid=f"profile:{family}",
                    zorder=2 + i / len(order))
            ax.plot(x, y, ls="none", marker="o", ms=lw + 2.0, color=colours[family], zorder=2 + i / len(order))
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("tau: gap to the dataset's best family (percentage points of test accuracy)")
        ax.set_ylabel("fraction of datasets within tau")
        percent_axis(ax, "x")
        n = profiles["n_datasets"].dropna()
        n_text = f" over {int(n.iloc[0])} datasets" if n.nunique() == 1 else ""
        ax.set_title(f"Performance profiles{n_text}")
        handles = [Line2D([], [], color=colours[f], lw=2.0, marker="o", ms=4, label=f) for f in order]
        fig.legend(handles=handles, loc="outside right center", frameon=False, title="family")
    return fig

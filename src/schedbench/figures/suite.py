"""The figures of the verdict across datasets: each family against the baseline on each dataset (the overview's
answer), Demsar's critical-difference diagram and performance profiles.

Both are drawn on bare ``Figure`` objects in the shared style (:mod:`schedbench.figures.style`): no pyplot, fixed
sizes and dpi, so the same inputs give the same PNG bytes (:func:`schedbench.figures.style.figure_png`).
Their tables come from :mod:`schedbench.stats.suite`.

The suite rule's script calls them with the suite tables (the registry's ``function(data, protocol)`` convention
is for one dataset's figures).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.patches  # noqa: F401  (mpl.patches)
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from schedbench.figures.style import (
    BASELINE_COLOUR,
    new_figure,
    no_data,
    percent_axis,
    profile_frame,
    schedule_colours,
    style,
)

__all__ = ["draw_vs_baseline", "draw_critical_difference", "draw_performance_profiles"]

# The marker of each decision (schedbench.stats.reading.Decision values): beyond the band up or down, inside it,
# and hollow where nothing was shown.
DECISION_MARKERS = {
    "better": ("^", True), "better, negligible": ("D", True), "equivalent": ("o", True),
    "inconclusive": ("o", False), "worse, negligible": ("D", True), "worse": ("v", True),
}
# Family names longer than this wrap onto several lines of the y axis.
_LABEL_WIDTH = 14

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


def draw_vs_baseline(table: pd.DataFrame, *, families: Sequence[str] = (), baseline: str | None = None) -> Figure:
    """Each tuned family against the tuned baseline, one panel per dataset side by side: the mean paired
    difference in points of test accuracy (marker) with its family-level interval (line), the dataset's equivalence
    band shaded, 0 marked. The marker's shape is the pair's decision (:data:`DECISION_MARKERS`, a legend says
    which), its colour the family's as in every figure.

    ``table``: :func:`schedbench.stats.suite.vs_baseline_table`; ``families`` the configured order (the baseline
    is not drawn: it is the zero line). Panel titles give the dataset, its test rows and the band in points.
    Artists carry gids: "band:<dataset>", "diff:<dataset>:<family>".
    """
    with style():
        if table.empty:
            return no_data(new_figure(7, 2), "no comparisons with the baseline to draw")
        datasets = list(dict.fromkeys(table["dataset"]))
        present = list(dict.fromkeys(table["family"]))
        everyone = list(dict.fromkeys([*families, *present]))
        colours = schedule_colours(everyone, baseline)
        order = [f for f in everyone if f in present]
        ncols = min(len(datasets), 5)
        nrows = math.ceil(len(datasets) / ncols)
        fig = new_figure(2.5 * ncols + 1.6, 0.45 + 0.34 * len(order) * nrows + 0.9)
        axes = np.atleast_1d(fig.subplots(nrows, ncols, sharey=True, squeeze=False)).ravel()
        y = {family: len(order) - 1 - i for i, family in enumerate(order)}
        for ax, dataset in zip(axes, datasets):
            rows = table[table["dataset"] == dataset]
            n = int(rows["n_test"].iloc[0])
            band = float(rows["band_examples"].iloc[0]) / n * 100.0
            ax.axvspan(-band, band, color="#d9d9d9", alpha=0.7, lw=0, gid=f"band:{dataset}", zorder=0)
            ax.axvline(0.0, color=BASELINE_COLOUR, lw=1.0, zorder=1)
            for _, row in rows.iterrows():
                family, at = row["family"], y[row["family"]]
                marker, filled = DECISION_MARKERS[row["decision"]]
                low, high = row["diff_ci_low_adj"] * 100.0, row["diff_ci_high_adj"] * 100.0
                if np.isfinite(low) and np.isfinite(high):
                    ax.plot([low, high], [at, at], color=colours[family], lw=2.0, solid_capstyle="butt", zorder=2)
                ax.plot([row["mean_diff"] * 100.0], [at], ls="none", marker=marker, ms=7, mew=1.5,
                        color=colours[family], mfc=colours[family] if filled else "white", zorder=3,
                        gid=f"diff:{dataset}:{family}")
            ax.set_title(f"{dataset}\n{n} test rows, band \u00b1{band:.2g} pts", fontsize=9.5)
            low, high = ax.get_xlim()
            ax.set_xlim(min(low, -1.2 * band), max(high, 1.2 * band))
            ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(4, symmetric=True))
            ax.grid(axis="y", visible=False)
        for ax in axes[len(datasets):]:
            ax.set_visible(False)
        axes[0].set_yticks(list(y.values()), [textwrap.fill(f, _LABEL_WIDTH) for f in y])
        axes[0].set_ylim(-0.7, len(order) - 0.3)
        fig.supxlabel("tuned family minus tuned baseline (points of test accuracy; line: family-level interval)",
                      fontsize=9.5)
        seen = list(dict.fromkeys(table["decision"]))
        handles = [Line2D([], [], ls="none", marker=DECISION_MARKERS[d][0], ms=7, color="#333333",
                          mfc="#333333" if DECISION_MARKERS[d][1] else "white", label=d)
                   for d in DECISION_MARKERS if d in seen]
        handles.append(mpl.patches.Patch(color="#d9d9d9", label="equivalence band"))
        fig.legend(handles=handles, loc="outside right center", frameon=False, title="decision")
    return fig


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
        ax.set_xlabel("tau: gap to the dataset's best family (percentage points of test accuracy)")
        ax.set_ylabel("fraction of datasets within tau")
        percent_axis(ax, "x")
        profile_frame(fig, ax, profiles, "n_datasets", "datasets", "Performance profiles", order, colours)
    return fig

"""The sensitivity figure of a tuning study: accuracy against the initial learning rate ``lr0`` for every grid
variant of every schedule family, drawn from one dataset's sensitivity table (``tables.SENSITIVITY_COLUMNS``).

One panel (column) per value of ``momentum``, validation accuracy on the top row and test accuracy below it
(left out when the table has no test accuracy). Each family keeps one colour (the baseline dark grey); the
median over the seeds that did not diverge is the line with markers, their interquartile range (q25..q75) the
translucent band. Diverged runs (non-finite loss) have no accuracy worth drawing: a handful of them at chance level
would stretch the accuracy axis over the whole range and flatten every other curve. They are counted instead, in a
row of their own below the accuracy rows (present only when some run diverged): the number of diverged runs at
each grid point. When a grid parameter besides ``lr0`` and ``momentum`` varies (``nesterov``, ``decay``, ...), its
values are never pooled: each combination of them gets its own line, told apart by line style and marker, and the
legend says which style is which.

The registry's ``function(data, protocol)`` convention does not fit here yet (``FigureData`` holds neither the
sensitivity table nor the article's lr0), so only :func:`draw_sensitivity` is provided.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from schedbench.figures.style import REFERENCE_COLOUR, new_figure, no_data, percent_axis, schedule_colours, style
from schedbench.tables import parameter_columns

LR = "lr0"
MOMENTUM = "momentum"
# (line style, marker) per combination of the other varied parameters: 4 x 5 distinct pairs.
_LINESTYLES = ("-", (0, (5, 2)), (0, (1, 1.5)), (0, (4, 1.5, 1, 1.5)))
_MARKERS = ("o", "s", "^", "D", "v")
_METRICS = (("val_accuracy", "validation accuracy"), ("test_accuracy", "test accuracy"))
_MAX_LABELLED_TICKS = 8
# Families side by side in the diverged-runs row: each one's markers shifted by this many decades per position,
# so equal counts at one lr0 do not hide each other.
_DIVERGED_SHIFT = 0.025


def _plain(value):
    """A table cell as a plain Python value, ``None`` for a missing one (NaN never compares equal)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _sort_key(value) -> tuple:
    value = _plain(value)
    if value is None:
        return (3, 0.0, "")
    if isinstance(value, bool):
        return (1, float(value), "")
    if isinstance(value, numbers.Number):
        return (0, float(value), "")
    return (2, 0.0, str(value))


def _fmt(value) -> str:
    value = _plain(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _combo_label(names: Sequence[str], combo: tuple) -> str:
    shown = [f"{name}={_fmt(value)}" for name, value in zip(names, combo) if value is not None]
    return ", ".join(shown) if shown else f"{', '.join(names)} not set"


def _style_of(i: int) -> tuple:
    return _LINESTYLES[i % len(_LINESTYLES)], _MARKERS[(i // len(_LINESTYLES)) % len(_MARKERS)]


def draw_sensitivity(table: pd.DataFrame, *, dataset: str, families: Sequence[str], reference_lr0: float | None,
                     baseline: str) -> Figure:
    """Median accuracy over the runs that did not diverge (line with markers) and their interquartile band
    (``*_finite_*`` columns) against ``lr0`` on a log axis, one line per
    family (in the order of ``families``; families not listed follow in order of appearance) and combination
    of the other varied parameters, one column per ``momentum`` value (a last column "momentum not set" for
    variants without one), validation accuracy on top and test accuracy below (that row only when some test
    value is present). Accuracies are drawn in percent (table value x 100). ``reference_lr0`` (the article's
    lr0) is a dashed vertical line in every panel. When some run diverged, a last row counts the diverged runs
    (``n_diverged``) at each grid point, one marker per family and line where it is not 0; the accuracy axes
    never see those runs.

    ``table`` is one dataset's sensitivity table (its columns are checked against the declaration); rows of
    other datasets are ignored, and it must hold a single protocol. Variants without an ``lr0`` cannot be
    placed on the x axis: they are left out and the title counts them. Two rows of one line at the same lr0
    (a variant the parameter columns do not tell apart) are a ValueError rather than a zig-zag.
    """
    parameters = parameter_columns(table.columns, "sensitivity")
    rows = table[table["dataset"].astype(str) == str(dataset)]
    protocols = list(pd.unique(rows["protocol"]))
    if len(protocols) > 1:
        raise ValueError(f"the sensitivity figure draws one protocol; the table holds {protocols}")
    with style():
        if rows.empty:
            return no_data(new_figure(10, 3), f"no sensitivity rows for dataset {dataset}")
        protocol = protocols[0]
        if LR not in parameters:
            return no_data(new_figure(10, 3), f"lr0 is not a varied parameter ({dataset}, {protocol})")
        lr = pd.to_numeric(rows[LR], errors="coerce")
        if (lr <= 0).any():
            raise ValueError("lr0 must be positive for a log axis")
        without_lr = int(lr.isna().sum())
        rows = rows[lr.notna()].copy()
        rows[LR] = lr[lr.notna()].astype(float)
        if rows.empty:
            return no_data(new_figure(10, 3), f"no variant with an lr0 ({dataset}, {protocol})")

        present = list(dict.fromkeys(rows["family"]))
        everyone = list(dict.fromkeys([*families, *present]))  # colours from the full list: stable everywhere
        colours = schedule_colours(everyone, baseline)
        order = [f for f in everyone if f in present]

        # Panels: one per momentum value, then the variants without one; a single panel without the column.
        if MOMENTUM in parameters:
            momentum = [_plain(v) for v in rows[MOMENTUM]]
            values = sorted({v for v in momentum if v is not None}, key=_sort_key)
            panels = [(f"momentum {_fmt(v)}", np.array([m is not None and m == v for m in momentum]))
                      for v in values]
            if None in momentum:
                panels.append(("momentum not set", np.array([m is None for m in momentum])))
        else:
            panels = [("", np.ones(len(rows), dtype=bool))]

        # The other parameters that vary: one line per combination of their values, never pooled.
        others = [p for p in parameters if p not in (LR, MOMENTUM) and rows[p].nunique(dropna=False) > 1]
        row_combos = [tuple(_plain(rows[p].iloc[i]) for p in others) for i in range(len(rows))]
        combos = sorted(set(row_combos), key=lambda c: tuple(_sort_key(v) for v in c))
        styles = {c: _style_of(i) for i, c in enumerate(combos)}
        band_alpha = max(0.06, 0.18 / len(combos))  # overlapping bands of one family stay readable
        combo_code = np.array([combos.index(c) for c in row_combos])  # compared as integers, not tuples

        test_columns = [f"test_accuracy_{s}" for s in ("mean", "median", "q25", "q75")]
        metrics = list(_METRICS) if rows[test_columns].notna().any().any() else list(_METRICS[:1])
        any_diverged = bool((rows["n_diverged"] > 0).any())
        nrows, ncols = len(metrics) + any_diverged, len(panels)
        # Panels of fixed size plus room for the legend on the right (never too narrow for the title, never
        # too short for the legend).
        n_entries = len(order) + (len(combos) if others else 0) + 1 + (reference_lr0 is not None)
        heights = [2.6] * len(metrics) + [1.1] * any_diverged
        fig = new_figure(max(7.0, 3.3 * ncols + 3.0), max(sum(heights) + 1.4, 0.2 * n_entries + 2.4))
        axes = fig.subplots(nrows, ncols, sharex=True, sharey="row", squeeze=False,
                            gridspec_kw={"height_ratios": heights})
        lr_values = np.sort(rows[LR].unique())

        for col, (title, in_panel) in enumerate(panels):
            panel = rows[in_panel]
            for row, (metric, metric_name) in enumerate(metrics):
                ax = axes[row, col]
                for family in order:
                    for code, c in enumerate(combos):
                        line = panel[(panel["family"] == family).to_numpy() & (combo_code[in_panel] == code)]
                        if line.empty:
                            continue
                        if line[LR].duplicated().any():
                            raise ValueError(f"several {family} variants at the same lr0 in panel '{title}' "
                                             f"that no parameter column tells apart: {list(line['schedule'])}")
                        line = line.sort_values(LR, kind="stable")
                        x = line[LR].to_numpy(dtype=float)
                        q25, med, q75 = (line[f"{metric}_finite_{s}"].to_numpy(dtype=float) * 100.0
                                         for s in ("q25", "median", "q75"))
                        colour = colours[family]
                        linestyle, marker = styles[c]
                        label = family if not others else f"{family}, {_combo_label(others, c)}"
                        ax.fill_between(x, q25, q75, color=colour, alpha=band_alpha, lw=0)
                        ax.plot(x, med, color=colour, ls=linestyle, marker=marker, ms=4.5, lw=1.8, label=label,
                                zorder=3 if family != baseline else 2.5)
                if reference_lr0 is not None:
                    ax.axvline(reference_lr0, color=REFERENCE_COLOUR, ls="--", lw=1.1, label="article's lr0",
                               zorder=1)
                    ax.annotate("article's lr0", (reference_lr0, 0.98), xycoords=ax.get_xaxis_transform(),
                                xytext=(-2.5, 0), textcoords="offset points", rotation=90, ha="right", va="top",
                                fontsize=7.5, color=REFERENCE_COLOUR)
                ax.set_xscale("log")
                percent_axis(ax)
                if row == 0 and title:
                    ax.set_title(title)
                ax.set_ylabel(f"{metric_name} (%)" if col == 0 else "")
                ax.set_xlabel("initial learning rate lr0 (log scale)" if row == nrows - 1 else "")
            if any_diverged:
                _draw_diverged(axes[-1, col], panel, order, combos, combo_code[in_panel], colours, styles,
                               most=int(rows["n_seeds"].max()), first=col == 0,
                               xlabel="initial learning rate lr0 (log scale)")
        if len(lr_values) <= _MAX_LABELLED_TICKS:  # the grid's own values as ticks
            for ax in axes.ravel():
                ax.set_xticks(lr_values, [_fmt(v) for v in lr_values])
                ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())

        handles = [Line2D([], [], color=colours[f], lw=1.8, marker="o" if not others else None, ms=4.5, label=f)
                   for f in order]
        legend_title = "colour: family"
        if others:
            legend_title += f"\nline style and marker:\n{', '.join(others)}"
            handles += [Line2D([], [], color="black", ls=styles[c][0], marker=styles[c][1], ms=4.5, lw=1.4,
                               label=_combo_label(others, c)) for c in combos]
        handles.append(Patch(facecolor=REFERENCE_COLOUR, alpha=0.3, lw=0, label="interquartile range over seeds"))
        if reference_lr0 is not None:
            handles.append(Line2D([], [], color=REFERENCE_COLOUR, ls="--", lw=1.1,
                                  label=f"article's lr0 ({_fmt(float(reference_lr0))})"))
        fig.legend(handles=handles, loc="outside right center", frameon=False, title=legend_title, handlelength=3.0,
                   alignment="left")

        seeds = rows["n_seeds"].dropna()
        if seeds.empty:
            seeds_text = ""
        elif seeds.nunique() == 1:
            seeds_text = f", {int(seeds.iloc[0])} seeds per variant"
        else:
            seeds_text = f", {int(seeds.min())}-{int(seeds.max())} seeds per variant"
        left_out = f"\n{without_lr} variant(s) without an lr0 left out" if without_lr else ""
        n_diverged = int(rows["n_diverged"].sum())
        diverged_text = (f"\n{n_diverged} of {int(rows['n_seeds'].sum())} runs diverged: counted in the bottom row, "
                         f"not drawn on the accuracy axes" if n_diverged else "")
        fig.suptitle(f"Sensitivity to lr0: {dataset} ({protocol})\n"
                     # Two short lines: a single panel's figure is narrower than the sentence.
                     f"median over the runs that did not diverge,\nwith interquartile band{seeds_text}"
                     f"{diverged_text}{left_out}")
    return fig


def _draw_diverged(ax, panel: pd.DataFrame, order: Sequence[str], combos: list, combo_code: np.ndarray,
                   colours: dict, styles: dict, *, most: int, first: bool, xlabel: str) -> None:
    """The diverged-runs row of one panel: at each grid point where runs of a family's line diverged, a marker
    at their count (y from 0 to ``most``, the most seeds of a variant, whole numbers only)."""
    for position, family in enumerate(order):
        shift = 10.0 ** (_DIVERGED_SHIFT * (position - (len(order) - 1) / 2))
        for code, c in enumerate(combos):
            line = panel[(panel["family"] == family).to_numpy() & (combo_code == code)]
            line = line[line["n_diverged"] > 0].sort_values(LR, kind="stable")
            if line.empty:
                continue
            ax.plot(line[LR].to_numpy(dtype=float) * shift, line["n_diverged"].to_numpy(dtype=float),
                    ls="none", marker=styles[c][1], ms=5, color=colours[family], label=f"{family} diverged")
    ax.set_xscale("log")
    ax.set_ylim(-0.5, most + 0.5)
    ax.yaxis.set_major_locator(mpl.ticker.MaxNLocator(nbins=3, integer=True))
    ax.set_ylabel("diverged runs" if first else "")
    ax.set_xlabel(xlabel)

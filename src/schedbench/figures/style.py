"""The look every figure shares: sizes, fonts, colours per schedule, small-multiple grids, PNG bytes.

Figures are built on bare ``Figure`` objects with the Agg canvas attached (never through ``pyplot``), so no
GUI backend, no display and no global figure state is involved (the caller's backend is left alone). They are
rendered with fixed sizes, a fixed dpi and no date or software stamp in the PNG: the same inputs give the same
PNG bytes. Schedules keep the order of the configuration, and each keeps one colour in every figure (the
baseline is dark grey).
"""

from __future__ import annotations

import contextlib
import io
import math
import textwrap
from collections.abc import Iterable

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

DPI = 120
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


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


@contextlib.contextmanager
def style():
    """Seaborn's white-grid look plus this module's font sizes, restored on exit."""
    with sns.axes_style("whitegrid"), mpl.rc_context(_RC):
        yield


def figure_png(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes without a software or date stamp (identical inputs give identical bytes)."""
    buffer = io.BytesIO()
    with style():  # some settings are read when drawing, not when the artists are made
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white")
    return buffer.getvalue()


def schedule_order(names: Iterable[str], configured: Iterable[str] = ()) -> list[str]:
    """Schedules in configuration order; names not in the configuration follow in order of appearance."""
    present = list(dict.fromkeys(names))
    configured = list(configured)
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



def wrapped(name: str, width: int = 16) -> str:
    """A schedule's name on lines of at most ``width`` characters (broken at hyphens and spaces), so that a long
    name neither clips nor runs into its neighbour's label."""
    return textwrap.fill(str(name), width, break_long_words=False, break_on_hyphens=True) or str(name)


def percent_axis(ax, axis: str = "y", decimals: int | None = None) -> None:
    """Percent tick labels; ``decimals=None`` picks enough decimals for the ticks' spacing."""
    formatter = mpl.ticker.PercentFormatter(xmax=100, decimals=decimals)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def grid_shape(n: int, max_cols: int = 2) -> tuple[int, int]:
    cols = max(1, min(max_cols, n))
    return math.ceil(n / cols), cols


def finish_grid(axes: np.ndarray, used: int, ncols: int, xlabel: str, ylabel: str) -> None:
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


def protocol_rows(table: pd.DataFrame, protocol: str) -> pd.DataFrame:
    return table[table["protocol"] == protocol]


def no_data(fig: Figure, message: str) -> Figure:
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    return fig


def profile_frame(fig: Figure, ax, profiles: pd.DataFrame, count_column: str, what: str, title: str,
                  order: list[str], colours: dict) -> None:
    """A performance profile's axes finished alike: the share axis, the title with the number of problems (when
    one), and the families' legend right of the axes."""
    ax.set_ylim(-0.03, 1.03)
    n = profiles[count_column].dropna()
    ax.set_title(f"{title} over {int(n.iloc[0])} {what}" if n.nunique() == 1 else title)
    handles = [Line2D([], [], color=colours[f], lw=2.0, marker="o", ms=4, label=f) for f in order]
    fig.legend(handles=handles, loc="outside right center", frameon=False, title="family")

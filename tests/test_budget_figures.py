"""The budget figures: test accuracy against the budget (one panel per dataset, one line per family, read and trained
points told apart, the best marked) and the time-to-target performance profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import REPO
from matplotlib.colors import to_rgb

from schedbench.budgets import budget_fraction
from schedbench.figures.budgets import (
    draw_accuracy_by_budget,
    draw_time_to_target_profiles,
)
from schedbench.figures.registry import BUDGET_FIGURES, BY_NAME
from schedbench.figures.style import BASELINE_COLOUR, figure_png, schedule_colours

FAMILIES = ["constant", "cosine", "wsd"]
BUDGETS = [0.125, 0.25, 0.5, 1.0]
# Horizon-free: read from the full run below budget 1 (the contract's obtained column).
READ = {"constant"}


def summary_table(datasets=("d1", "d2"), families=FAMILIES, epochs=40) -> pd.DataFrame:
    """A hand-made budget_summary: known means per (dataset, family, budget), the best the highest mean."""
    rows = []
    for d, dataset in enumerate(datasets):
        for f, family in enumerate(families):
            for i, budget in enumerate(BUDGETS):
                mean = 0.70 + 0.05 * i + 0.01 * f * (1 if i % 2 else -1) + 0.02 * d
                read = family in READ and budget < 1.0
                rows.append({
                    "dataset": dataset, "protocol": "heldout", "family": family, "budget": budget,
                    "epochs": int(budget * epochs), "updates": int(budget * epochs) * 10,
                    "obtained": "read" if read else "trained", "n_seeds": 10, "n_test": 50,
                    "test_accuracy_mean": mean, "test_accuracy_ci_low": mean - 0.02,
                    "test_accuracy_ci_high": mean + 0.015,
                })
    table = pd.DataFrame(rows)
    top = table.groupby(["dataset", "budget"])["test_accuracy_mean"].transform("max")
    table["best"] = table["test_accuracy_mean"] == top
    return table


def _panels(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def _by_gid(ax, prefix):
    return {artist.get_gid(): artist for artist in [*ax.lines, *ax.collections]
            if (artist.get_gid() or "").startswith(prefix)}


def test_one_panel_per_dataset_and_one_line_per_family_at_the_means():
    table = summary_table(datasets=("d1", "d2", "d3", "d4"))
    fig = draw_accuracy_by_budget(table, families=FAMILIES, baseline="constant")
    panels = _panels(fig)
    assert [ax.get_title().split(" ")[0] for ax in panels] == ["d1", "d2", "d3", "d4"]
    for ax, dataset in zip(panels, ("d1", "d2", "d3", "d4")):
        lines = _by_gid(ax, "mean:")
        assert sorted(lines) == sorted(f"mean:{dataset}:{f}" for f in FAMILIES)
        for family in FAMILIES:
            rows = table[(table["dataset"] == dataset) & (table["family"] == family)].sort_values("budget")
            x, y = lines[f"mean:{dataset}:{family}"].get_data()
            # Dodged sideways by a small fraction of an octave; the budget is still the point's budget.
            np.testing.assert_allclose(np.log2(x), np.log2(rows["budget"]), atol=0.1)
            np.testing.assert_allclose(y, rows["test_accuracy_mean"] * 100.0)
        assert ax.get_xscale() == "log"
        assert [t.get_text() for t in ax.get_xticklabels()] == ["1/8\n5 ep", "1/4\n10 ep", "1/2\n20 ep", "1\n40 ep"]


def test_families_keep_their_colours_and_the_baseline_is_dark_grey():
    fig = draw_accuracy_by_budget(summary_table(families=["cosine", "constant"]), families=FAMILIES,
                                  baseline="constant")
    colours = schedule_colours(FAMILIES, "constant")
    lines = _by_gid(_panels(fig)[0], "mean:")
    assert to_rgb(lines["mean:d1:constant"].get_color()) == pytest.approx(to_rgb(BASELINE_COLOUR))
    assert to_rgb(lines["mean:d1:cosine"].get_color()) == pytest.approx(colours["cosine"])


def test_read_points_are_hollow_trained_ones_filled_and_the_best_starred():
    table = summary_table()
    ax = _panels(draw_accuracy_by_budget(table, families=FAMILIES))[0]
    read = _by_gid(ax, "read:")
    trained = _by_gid(ax, "trained:")
    assert set(read) == {"read:d1:constant"}
    assert len(read["read:d1:constant"].get_xdata()) == 3  # the three budgets below the full run
    assert read["read:d1:constant"].get_markerfacecolor() == "white"
    assert len(trained["trained:d1:constant"].get_xdata()) == 1
    assert to_rgb(trained["trained:d1:cosine"].get_markerfacecolor()) == pytest.approx(
        to_rgb(trained["trained:d1:cosine"].get_color()))
    stars = _by_gid(ax, "best:")["best:d1"]
    best = table[(table["dataset"] == "d1") & table["best"]].sort_values("budget")
    assert len(stars.get_xdata()) == len(BUDGETS)
    np.testing.assert_allclose(sorted(stars.get_ydata()), sorted(best["test_accuracy_mean"] * 100.0))


def test_intervals_span_the_bootstrap_bounds():
    table = summary_table(datasets=("d1",))
    ax = _panels(draw_accuracy_by_budget(table, families=FAMILIES))[0]
    segments = _by_gid(ax, "interval:")["interval:d1:wsd"].get_segments()
    rows = table[table["family"] == "wsd"].sort_values("budget")
    np.testing.assert_allclose([s[0][1] for s in segments], rows["test_accuracy_ci_low"] * 100.0)
    np.testing.assert_allclose([s[1][1] for s in segments], rows["test_accuracy_ci_high"] * 100.0)


def test_two_protocols_in_one_dataset_are_refused():
    table = summary_table(datasets=("d1",))
    table.loc[table.index[:4], "protocol"] = "tail"
    with pytest.raises(ValueError, match="one protocol per dataset"):
        draw_accuracy_by_budget(table)


def _profiles() -> pd.DataFrame:
    rows = []
    for family, steps in {"constant": [(1.0, 0.25), (2.0, 0.75)], "cosine": [(1.0, 0.5), (1.5, 1.0)],
                          "wsd": [(1.0, 0.25), (4.0, 0.5), (np.inf, 0.5)]}.items():
        rows += [{"family": family, "tau": tau, "fraction": fraction, "n_problems": 8} for tau, fraction in steps]
    return pd.DataFrame(rows)


def test_profiles_draw_one_step_line_per_family_without_infinite_ratios():
    fig = draw_time_to_target_profiles(_profiles(), families=FAMILIES, baseline="constant")
    ax = fig.axes[0]
    lines = {line.get_gid(): line for line in ax.lines if (line.get_gid() or "").startswith("profile:")}
    assert sorted(lines) == [f"profile:{f}" for f in FAMILIES]
    x, y = lines["profile:wsd"].get_data()
    assert list(x) == [1.0, 4.0] and list(y) == [0.25, 0.5]
    assert lines["profile:cosine"].get_drawstyle() == "steps-post"
    # A profile holds its last fraction up to the largest ratio of any family.
    assert list(lines["profile:cosine"].get_xdata()) == [1.0, 1.5, 4.0]
    assert list(lines["profile:cosine"].get_ydata()) == [0.5, 1.0, 1.0]
    assert "8 (dataset, budget) problems" in ax.get_title()
    assert ax.get_xscale() == "log"


def test_empty_tables_say_so_and_the_pngs_are_deterministic():
    assert draw_time_to_target_profiles(_profiles().iloc[0:0]).axes[0].texts
    assert draw_accuracy_by_budget(summary_table().iloc[0:0]).axes[0].texts
    first = figure_png(draw_accuracy_by_budget(summary_table(), families=FAMILIES))
    assert first == figure_png(draw_accuracy_by_budget(summary_table(), families=FAMILIES))


def test_budget_fractions_read_as_fractions_and_every_figure_has_a_caption():
    assert [budget_fraction(b) for b in (0.125, 0.25, 0.5, 1.0, 0.3)] == ["1/8", "1/4", "1/2", "1", "3/10"]
    for spec in BUDGET_FIGURES:
        assert BY_NAME[spec.name] is spec
        assert (REPO / "workflow/report" / spec.caption_file).read_text().strip()
    rule = (REPO / "workflow/rules/budgets.smk").read_text()
    assert "../scripts/budget_figures.py" in rule and "budget_summary.csv" in rule

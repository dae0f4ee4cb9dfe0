"""The sensitivity figure: accuracy against lr0 per family, one column per momentum, validation over test."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb

from schedbench.figures.sensitivity import draw_sensitivity
from schedbench.figures.style import BASELINE_COLOUR, figure_png
from schedbench.tables import declared_columns

FAMILIES = ["constant", "step", "cosine"]
LRS = [0.01, 0.03, 0.1, 0.3, 1.0]
MOMENTA = [0.0, 0.9]
DATASET = "ionosphere"


def _table(momenta=MOMENTA, families=FAMILIES, extra: dict | None = None, test=True) -> pd.DataFrame:
    """A hand-made sensitivity table: distinct, known accuracies for every (family, lr0, momentum, extra)."""
    extra = extra or {}
    parameters = ["lr0", *(["momentum"] if momenta is not None else []), *extra]
    rows = []
    grid = itertools.product(enumerate(families), enumerate(LRS), enumerate(momenta or [None]),
                             itertools.product(*extra.values()))
    for (f, family), (i, lr0), (m, momentum), others in grid:
        median = 0.6 + 0.05 * f + 0.02 * i + 0.01 * m + 0.003 * sum(hash(str(o)) % 3 for o in others)
        values = {"lr0": lr0, "momentum": momentum, **dict(zip(extra, others))}
        name = " ".join([family, *(f"{p}={values[p]}" for p in parameters)])
        row = {"dataset": DATASET, "protocol": "tail", "family": family,
               **{p: values[p] for p in parameters}, "schedule": name, "n_seeds": 10.0, "n_diverged": 0.0,
               "n_val": 100, "best": False, "at_edge": False}
        for metric, shift in (("val_accuracy", 0.0), ("test_accuracy", -0.04)):
            centre = median + shift
            # No run diverged: the quartiles over the runs that did not diverge are those over all runs.
            for over in ("", "finite_"):
                row |= {f"{metric}_{over}median": centre, f"{metric}_{over}q25": centre - 0.02,
                        f"{metric}_{over}q75": centre + 0.015}
            row[f"{metric}_mean"] = centre + 0.001
        if not test:
            row |= {column: np.nan for column in row if column.startswith("test_accuracy_")}
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.loc[:, list(declared_columns("sensitivity", parameters))]


def _draw(table, reference_lr0=0.1):
    return draw_sensitivity(table, dataset=DATASET, families=FAMILIES, reference_lr0=reference_lr0,
                            baseline="constant")


def _grid(fig, nrows):
    axes = np.array(fig.axes)
    assert len(axes) % nrows == 0
    return axes.reshape(nrows, -1)


def _median_lines(ax, labels=FAMILIES):
    return {line.get_label(): line for line in ax.lines if line.get_label() in labels}


def _expected(table, family, momentum, metric):
    rows = table[table["family"] == family]
    if momentum is not None:
        rows = rows[rows["momentum"] == momentum]
    rows = rows.sort_values("lr0")
    return rows["lr0"].to_numpy(), rows[f"{metric}_median"].to_numpy() * 100.0


def test_two_rows_by_momentum_panels_with_one_median_line_per_family():
    table = _table()
    fig = _draw(table)
    axes = _grid(fig, 2)
    assert axes.shape == (2, 2)
    assert [ax.get_title() for ax in axes[0]] == ["momentum 0", "momentum 0.9"]
    assert "validation" in axes[0, 0].get_ylabel() and "test" in axes[1, 0].get_ylabel()
    for (row, metric), (col, momentum) in itertools.product(
            enumerate(["val_accuracy", "test_accuracy"]), enumerate(MOMENTA)):
        ax = axes[row, col]
        assert ax.get_xscale() == "log"
        lines = _median_lines(ax)
        assert list(lines) == FAMILIES  # one per family, in the given order
        for family, line in lines.items():
            x, y = _expected(table, family, momentum, metric)
            np.testing.assert_allclose(line.get_xdata(), x)
            np.testing.assert_allclose(line.get_ydata(), y)
        # The interquartile band of each family.
        assert len(ax.collections) == len(FAMILIES)
        # The article's lr0 in every panel: a vertical line at 0.1.
        reference = [line for line in ax.lines if line.get_label() == "article's lr0"]
        assert len(reference) == 1
        assert np.allclose(reference[0].get_xdata(), 0.1)
        assert any(text.get_text().strip() == "article's lr0" for text in ax.texts)
    # Each family keeps its colour in every panel; the baseline is dark grey.
    colours = {family: line.get_color() for family, line in _median_lines(axes[0, 0]).items()}
    for ax in axes.ravel():
        assert {f: line.get_color() for f, line in _median_lines(ax).items()} == colours
    assert to_rgb(colours["constant"]) == to_rgb(BASELINE_COLOUR)
    assert len({to_rgb(c) for c in colours.values()}) == len(FAMILIES)
    # One shared legend naming the families; the title names dataset and protocol.
    assert len(fig.legends) == 1
    legend_labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert set(FAMILIES) <= set(legend_labels)
    assert any(label.startswith("article's lr0") for label in legend_labels)
    assert DATASET in fig.get_suptitle() and "tail" in fig.get_suptitle()


def test_without_a_momentum_column_a_single_column():
    table = _table(momenta=None)
    fig = _draw(table)
    axes = _grid(fig, 2)
    assert axes.shape == (2, 1)
    for row, metric in enumerate(["val_accuracy", "test_accuracy"]):
        ax = axes[row, 0]
        assert ax.get_xscale() == "log"
        lines = _median_lines(ax)
        assert list(lines) == FAMILIES
        for family, line in lines.items():
            np.testing.assert_allclose(line.get_ydata(), _expected(table, family, None, metric)[1])
        assert sum(line.get_label() == "article's lr0" for line in ax.lines) == 1


def test_test_row_dropped_when_every_test_value_is_missing():
    fig = _draw(_table(test=False))
    axes = _grid(fig, 1)
    assert axes.shape == (1, 2)
    assert all("validation" in ax.get_ylabel() for ax in axes[:, :1].ravel())
    assert all(len(_median_lines(ax)) == len(FAMILIES) for ax in axes.ravel())


def test_no_reference_line_without_a_reference_lr0():
    fig = _draw(_table(), reference_lr0=None)
    for ax in fig.axes:
        assert not [line for line in ax.lines if line.get_label() == "article's lr0"]
        assert not ax.texts


def test_the_same_table_gives_the_same_png_bytes():
    table = _table()
    first, second = figure_png(_draw(table)), figure_png(_draw(table.copy()))
    assert first == second
    assert first.startswith(b"\x89PNG") and b"tEXtSoftware" not in first


def test_families_follow_the_given_order_whatever_the_row_order():
    table = _table()
    shuffled = table.sample(frac=1.0, random_state=0).reset_index(drop=True)
    ax = _grid(_draw(shuffled), 2)[0, 1]
    lines = _median_lines(ax)
    assert list(lines) == FAMILIES
    np.testing.assert_allclose(lines["step"].get_ydata(), _expected(table, "step", 0.9, "val_accuracy")[1])


def test_another_varied_parameter_gets_its_own_lines_not_an_average():
    table = _table(extra={"nesterov": [False, True]})
    fig = _draw(table)
    axes = _grid(fig, 2)
    assert axes.shape == (2, 2)
    labels = [f"{family}, nesterov={value}" for family in FAMILIES for value in (False, True)]
    for col, momentum in enumerate(MOMENTA):
        lines = _median_lines(axes[0, col], labels)
        assert list(lines) == labels
        for family, value in itertools.product(FAMILIES, (False, True)):
            rows = table[(table["family"] == family) & (table["momentum"] == momentum) & (table["nesterov"] == value)]
            expected = rows.sort_values("lr0")["val_accuracy_median"].to_numpy() * 100.0
            np.testing.assert_allclose(lines[f"{family}, nesterov={value}"].get_ydata(), expected)
        # Same family: same colour, a different line style per nesterov value.
        off, on = lines["step, nesterov=False"], lines["step, nesterov=True"]
        assert off.get_color() == on.get_color()
        assert (off.get_linestyle(), off.get_marker()) != (on.get_linestyle(), on.get_marker())
    legend = fig.legends[0]
    assert "nesterov" in legend.get_title().get_text()
    assert {"nesterov=False", "nesterov=True"} <= {text.get_text() for text in legend.get_texts()}


def test_rows_the_parameters_do_not_tell_apart_are_an_error():
    table = _table()
    twin = table[table["family"] == "step"].assign(schedule=lambda t: t["schedule"] + " again")
    with pytest.raises(ValueError, match="same lr0"):
        _draw(pd.concat([table, twin], ignore_index=True))


def test_several_protocols_are_an_error():
    table = _table()
    other = table.assign(protocol="resplit")
    with pytest.raises(ValueError, match="one protocol"):
        _draw(pd.concat([table, other], ignore_index=True))


def test_a_family_without_momentum_gets_its_own_panel():
    table = _table()
    table.loc[table["family"] == "cosine", "momentum"] = np.nan
    table = table.drop_duplicates(["family", "lr0", "momentum"]).reset_index(drop=True)
    axes = _grid(_draw(table), 2)
    assert [ax.get_title() for ax in axes[0]] == ["momentum 0", "momentum 0.9", "momentum not set"]
    assert [list(_median_lines(ax)) for ax in axes[0]] == [["constant", "step"], ["constant", "step"], ["cosine"]]
    expected = table[table["family"] == "cosine"].sort_values("lr0")["val_accuracy_median"].to_numpy() * 100.0
    np.testing.assert_allclose(_median_lines(axes[0, 2])["cosine"].get_ydata(), expected)


def test_diverged_runs_are_counted_in_a_row_of_their_own_and_kept_off_the_accuracy_axis():
    table = _table(test=False)
    # step at lr0 1 (both momenta): 3 of 10 runs diverged at chance level, which drags the median over all runs to
    # 10 %; the 7 others score 70 %. cosine at lr0 1, momentum 0.9: every run diverged, nothing left to draw.
    step = (table["family"] == "step") & (table["lr0"] == 1.0)
    table.loc[step, ["n_diverged", "val_accuracy_median", "val_accuracy_q25"]] = [3.0, 0.1, 0.1]
    table.loc[step, ["val_accuracy_finite_median", "val_accuracy_finite_q25", "val_accuracy_finite_q75"]] = [
        0.7, 0.68, 0.72]
    gone = (table["family"] == "cosine") & (table["lr0"] == 1.0) & (table["momentum"] == 0.9)
    table.loc[gone, ["n_diverged", "val_accuracy_median", "val_accuracy_q25", "val_accuracy_q75"]] = [
        10.0, 0.1, 0.1, 0.1]
    table.loc[gone, ["val_accuracy_finite_median", "val_accuracy_finite_q25", "val_accuracy_finite_q75"]] = np.nan
    fig = _draw(table)
    axes = _grid(fig, 2)
    assert axes.shape == (2, 2)
    accuracy, diverged = axes
    for col in range(2):
        step_line = _median_lines(accuracy[col])["step"]
        assert step_line.get_ydata()[-1] == pytest.approx(70.0)  # the median of the 7 runs left
        # Every drawn accuracy (quartiles included) is 58 % or more: the axis no longer reaches down to the 10 %
        # of the diverged runs.
        low, high = accuracy[col].get_ylim()
        assert 50.0 < low < 58.0 and high < 90.0
    assert np.isnan(_median_lines(accuracy[1])["cosine"].get_ydata()[-1])
    # The bottom row counts them: step 3 at lr0 1 in both panels, cosine 10 at lr0 1 with momentum 0.9.
    counts = [{line.get_label(): (list(np.round(line.get_xdata(), 1)), list(line.get_ydata()))
               for line in ax.lines} for ax in diverged]
    assert counts[0] == {"step diverged": ([1.0], [3.0])}
    assert counts[1] == {"step diverged": ([1.0], [3.0]), "cosine diverged": ([1.1], [10.0])}
    assert diverged[0].get_ylim() == (-0.5, 10.5) and diverged[0].get_ylabel() == "diverged runs"
    assert "16 of 300 runs diverged" in fig.get_suptitle()
    assert figure_png(fig) == figure_png(_draw(table.copy()))


def test_without_diverged_runs_no_diverged_row():
    fig = _draw(_table(test=False))
    assert len(fig.axes) == 2
    assert "diverged" not in fig.get_suptitle()

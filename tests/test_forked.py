"""Pieces of a job's work run by forked workers: the same results, in order, as in one process."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from conftest import tiny_config
from schedbench.config import validate_config
from schedbench.forked import forked_map
from schedbench.plan import build_plan
from schedbench.stats.studies import statistics_tables
from schedbench.tables import read_table, write_table


def test_forked_workers_return_each_items_result_in_order():
    table = pd.DataFrame({"x": range(5)})  # held by the closure: a worker inherits it, nothing is pickled

    def piece(item):
        return item, int(table["x"].sum()) * item, os.getpid()

    items = list(range(7))
    forked = forked_map(piece, items, processes=2)
    alone = forked_map(piece, items, processes=1)
    assert [r[:2] for r in forked] == [r[:2] for r in alone] == [(i, 10 * i) for i in items]
    assert {r[2] for r in alone} == {os.getpid()}
    assert os.getpid() not in {r[2] for r in forked}  # the pieces ran in the workers
    assert forked_map(piece, [3], processes=4)[0][2] == os.getpid()  # one piece: no worker to start


def test_a_failing_piece_fails_the_call_with_its_error():
    def piece(item):
        if item == 2:
            raise ValueError(f"bad item {item}")
        return item

    with pytest.raises(ValueError, match="bad item 2"):
        forked_map(piece, [0, 1, 2, 3], processes=2)


@pytest.mark.slow
def test_the_statistics_built_by_two_workers_are_the_workflows_tables(tiny_run, tmp_path):
    """The statistics rule builds its tables two at a time: in one process they are the same, and the same bytes
    as the workflow wrote."""
    workdir, _ = tiny_run
    where = workdir / "results/article/ionosphere"
    plan = build_plan(validate_config(tiny_config()))
    arguments = dict(compared=plan.studies["article"].compared, attributions=plan.studies["article"].attributions,
                     test_train_ratios=plan.corrected_t_ratios("article", "ionosphere"))
    runs, predictions = read_table(where / "runs.csv", "runs"), read_table(where / "predictions.csv", "predictions")
    alone = statistics_tables(runs, predictions, plan.report, processes=1, **arguments)
    forked = statistics_tables(runs, predictions, plan.report, processes=2, **arguments)
    assert list(alone) == list(forked)
    for name in alone:
        pd.testing.assert_frame_equal(alone[name], forked[name], check_exact=True)
        write_table(forked[name], tmp_path / f"{name}.csv", name)
        assert (tmp_path / f"{name}.csv").read_bytes() == (where / f"{name}.csv").read_bytes(), name

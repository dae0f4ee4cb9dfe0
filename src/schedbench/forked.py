"""Independent pieces of one job's work, run by forked worker processes: the tables of a study, its figures.

A job's pieces are pure Python (pandas, scipy, matplotlib) and hold one core each; on a machine with cores to
spare, two workers halve the job. Workers are forked, not spawned: each starts with the job's imports done and
its data in memory, so only an index travels to a worker and only the piece's result travels back.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_HELD: list = []


def forked_map(function: Callable[[Any], Any], items: Sequence, processes: int) -> list:
    """``[function(item) for item in items]``, in order, by up to ``processes`` forked workers taking one item at a
    time. In this process when ``processes`` is 1, when there is one item, or where fork is not available; the
    results are the same either way (each item's result depends on the item alone)."""
    processes = min(int(processes), len(items))
    if processes <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [function(item) for item in items]
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"), initializer=_hold,
                             initargs=(function, items)) as pool:
        return list(pool.map(_run_held, range(len(items))))


def _hold(function: Callable, items: Sequence) -> None:
    # Under fork a worker's initial arguments are inherited, not pickled: functions and tables of any kind pass.
    _HELD[:] = [function, items]


def _run_held(index: int):
    function, items = _HELD
    return function(items[index])

"""Custom learning-rate functions used by the tests (``type: custom``, ``function: userschedules:...``).

The tests put this directory on ``sys.path``; a config names a function as ``"userschedules:halving"``.
A custom function takes the 0-based counter ``t`` (an int, in units of the schedule's ``per``) and keyword
arguments from the schedule's ``kwargs``, and returns the rate.
"""

from __future__ import annotations


def halving(t: int, lr0: float = 0.1, every: int = 10) -> float:
    """Halve the rate every ``every`` counts: ``lr0 * 0.5 ** (t // every)``."""
    return lr0 * 0.5 ** (t // every)


def negative(t: int) -> float:
    """A broken schedule: negative from t = 3 on (rates() must refuse it)."""
    return 0.1 if t < 3 else -0.1


def not_finite(t: int) -> float:
    """A broken schedule: NaN from t = 5 on."""
    return 0.1 if t < 5 else float("nan")


def fails_in_training_jobs(t: int) -> float:
    """A schedule that works where the config is checked but fails inside a training job, as a user's code may on
    a node without the file it reads (the job runs Snakemake's copy of workflow/scripts/train.py)."""
    import sys

    if sys.argv[0].endswith(".train.py"):
        raise OSError("schedule table not found on this node")
    return 0.1

"""What a study's budgets mean: fractions of each dataset's run, as whole epochs, and as a reader says them.

A tuning study's ``budgets`` (fractions of each dataset's epochs, the full run 1.0 last) are checked by
:func:`schedbench.studies.study_errors`; the plan trains each shorter budget of a schedule that needs the run's
length in jobs of its own (:meth:`schedbench.plan.StudyPlan.jobs`). Nothing heavy is imported here.
"""

from __future__ import annotations

import math
from fractions import Fraction


def dataset_epochs(config: dict, dataset: str) -> int:
    """The epochs of a full run on ``dataset``: its own ``training.epochs`` where it sets them."""
    return config["datasets"][dataset].get("training", {}).get("epochs", config["training"]["epochs"])


def epochs_of_budget(budget: float, epochs: int) -> int:
    """A budget's whole epochs of a run of ``epochs``: the fraction's share rounded half up, at least 1."""
    return max(1, math.floor(budget * epochs + 0.5))


def budget_epochs(config: dict, study: str, dataset: str) -> list[int]:
    """The epochs of each of the study's budgets on ``dataset``, the full run's last."""
    epochs = dataset_epochs(config, dataset)
    return [epochs_of_budget(budget, epochs) for budget in config["studies"][study]["budgets"]]


def budget_fraction(budget: float) -> str:
    """A budget (a fraction of the full run) as a reader says it: 0.125 -> '1/8', 1.0 -> '1'."""
    fraction = Fraction(float(budget)).limit_denominator(1000)
    return str(fraction.numerator) if fraction.denominator == 1 else f"{fraction.numerator}/{fraction.denominator}"

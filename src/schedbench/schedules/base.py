"""The contract every schedule implements: a frozen dataclass with one formula of a 0-based counter ``t``.

Two things every formula schedule shares live here, once:

- **The linear warm-up** (``warmup_steps = W``, in units of ``per``): for ``t < W`` the rate is
  ``formula(0) * t / W``, rising from 0 towards the formula's own initial rate; from ``t = W`` on it is
  ``formula(t - W)``: the formula's clock starts after the warm-up, as Keras' ``CosineDecay`` counts its
  ``decay_steps`` after its warm-up (optax's ``warmup_cosine_decay_schedule`` counts them from 0 instead). Types
  whose own formula already starts with a rise (cyclical, one-cycle) and the reactive one take none
  (``takes_warmup``).
- **The horizon**: the run's length in units of ``per``. A formula that ends with the run (warm-up-stable-decay's
  ``total_steps``, cosine's and polynomial's ``decay_steps`` when left out) reads it from ``horizon``.
  :meth:`Schedule.rates` fills it with the whole run when it is unset; :meth:`Schedule.with_horizon` is the one
  place to set it otherwise (a budget that trains a fraction of the run sets it there). ``formula(t)`` stays a
  pure function of ``t`` and the schedule's fields.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np


class ScheduleError(ValueError):
    """A schedule's configuration or its custom function is unusable; the message names the schedule."""


# A field's metadata "shown": "when set" keeps it out of params() at its default (the generic warm-up, which the
# report lists only for the schedules that use it); "never" keeps it out always (the horizon, not a parameter).
_SHOWN = "shown"


@dataclass(frozen=True)
class Schedule:
    name: str

    type: ClassVar[str] = ""
    equation: ClassVar[str] = ""
    reactive: ClassVar[bool] = False
    takes_warmup: ClassVar[bool] = True
    per: str = "update"
    warmup_steps: int = field(default=0, metadata={_SHOWN: "when set"})
    horizon: int | None = field(default=None, metadata={_SHOWN: "never"})

    def __post_init__(self):
        if self.warmup_steps and not self.takes_warmup:
            raise ScheduleError(f"schedules.{self.name}.warmup_steps: type {self.type} takes no warm-up")

    def __call__(self, t):
        """The rate at counter ``t`` (int or array of ints, 0-based, in units of ``per``) as float64."""
        t = np.asarray(t, dtype=np.float64)
        warmup = self.linear_warmup_steps
        if not warmup:
            return self.formula(t)
        after = self.formula(np.maximum(t - warmup, 0.0))
        # formula(0) is the rate the warm-up rises to; a per-element formula (a user's) is called once for it.
        peak = self.formula(np.zeros(1))[0]
        return np.where(t < warmup, peak * (t / warmup), after)

    def formula(self, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def linear_warmup_steps(self) -> int:
        """The counts of the generic warm-up from 0 (a formula with a warm-up of its own returns 0)."""
        return self.warmup_steps

    @property
    def initial_rate(self) -> float:
        return float(self(0))

    def with_horizon(self, horizon: int) -> Schedule:
        """This schedule with the run's length set to ``horizon`` counts of ``per``: the seam through which the
        formulas that end with the run learn its length."""
        return dataclasses.replace(self, horizon=int(horizon))

    def for_run(self, epochs: int, steps_per_epoch: int) -> Schedule:
        """This schedule with its horizon filled by the whole run where it is unset."""
        if self.horizon is not None:
            return self
        return self.with_horizon(epochs if self.per == "epoch" else epochs * steps_per_epoch)

    def needed_horizon(self) -> int:
        """The horizon, for a formula that ends with the run; refused while unset."""
        if self.horizon is None:
            raise ScheduleError(f"schedules.{self.name}: needs the run's length (rates() or with_horizon() sets it)")
        return self.horizon

    def rates(self, epochs: int, steps_per_epoch: int) -> np.ndarray:
        """The rate of every optimizer update of a run, shape ``(epochs * steps_per_epoch,)``."""
        schedule = self.for_run(epochs, steps_per_epoch)
        step = np.arange(epochs * steps_per_epoch)
        counter = step if self.per == "update" else step // steps_per_epoch
        rates = np.broadcast_to(schedule(counter), step.shape).astype(np.float64)
        if not np.all(np.isfinite(rates)) or np.any(rates < 0):
            raise ScheduleError(f"schedules.{self.name}: gives a negative or non-finite learning rate")
        return rates

    def horizon_free(self, epochs: int, budget_epochs: int, steps_per_epoch: int) -> bool:
        """Whether a run stopped after ``budget_epochs`` of a run of ``epochs`` is the run trained for
        ``budget_epochs``: the same rate at every update of the shorter run. Then a budget's result is read from the
        longer run's history; a schedule that ends with the run (a decay to zero, warm-up-stable-decay's cooldown)
        must be trained again with its horizon at the budget. A reactive schedule's rates follow its own history
        only, never the run's length."""
        if self.reactive:
            return True
        budget = self.rates(budget_epochs, steps_per_epoch)
        return bool(np.array_equal(budget, self.rates(epochs, steps_per_epoch)[: len(budget)]))

    def epoch_rates(self, epochs: int, steps_per_epoch: int) -> np.ndarray:
        """The rate of each epoch's first update, shape ``(epochs,)``: the ``lr`` column of runs.csv."""
        return self.rates(epochs, steps_per_epoch)[::steps_per_epoch]

    def params(self) -> dict[str, Any]:
        """The formula's parameters (not the name), the warm-up last and only when set."""
        own, last = {}, {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            when = f.metadata.get(_SHOWN)
            if f.name == "name" or when == "never" or (when == "when set" and value == f.default):
                continue
            (last if when else own)[f.name] = value
        return {**own, **last}


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    return math.ceil(n_train / batch_size)

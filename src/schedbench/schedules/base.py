"""The contract every schedule implements: a frozen dataclass with one formula of a 0-based counter ``t``."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np


class ScheduleError(ValueError):
    """A schedule's configuration or its custom function is unusable; the message names the schedule."""


@dataclass(frozen=True)
class Schedule:
    name: str

    type: ClassVar[str] = ""
    equation: ClassVar[str] = ""
    reactive: ClassVar[bool] = False
    per: str = "update"

    def __call__(self, t):
        """The rate at counter ``t`` (int or array of ints, 0-based, in units of ``per``) as float64."""
        return self.formula(np.asarray(t, dtype=np.float64))

    def formula(self, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def initial_rate(self) -> float:
        return float(self(0))

    def rates(self, epochs: int, steps_per_epoch: int) -> np.ndarray:
        """The rate of every optimizer update of a run, shape ``(epochs * steps_per_epoch,)``."""
        step = np.arange(epochs * steps_per_epoch)
        counter = step if self.per == "update" else step // steps_per_epoch
        rates = np.broadcast_to(self(counter), step.shape).astype(np.float64)
        if not np.all(np.isfinite(rates)) or np.any(rates < 0):
            raise ScheduleError(f"schedules.{self.name}: gives a negative or non-finite learning rate")
        return rates

    def epoch_rates(self, epochs: int, steps_per_epoch: int) -> np.ndarray:
        """The rate of each epoch's first update, shape ``(epochs,)``: the ``lr`` column of runs.csv."""
        return self.rates(epochs, steps_per_epoch)[::steps_per_epoch]

    def params(self) -> dict[str, Any]:
        """The formula's parameters (not the name)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "name"}


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    return math.ceil(n_train / batch_size)

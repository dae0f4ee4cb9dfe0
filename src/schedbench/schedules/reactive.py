"""The reactive schedule: its rate depends on the monitored metric, so it has no table of rates.
:class:`PlateauState` is its reference implementation, step for step Keras' ``ReduceLROnPlateau``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from schedbench.schedules.base import Schedule


@dataclass(frozen=True)
class ReduceOnPlateau(Schedule):
    """Reactive: start at ``lr0``; when the monitored metric has not improved by more than ``min_delta`` for
    ``patience`` epochs, ``lr <- max(lr * factor, min_lr)``, then wait ``cooldown`` epochs. Same semantics and
    defaults as ``keras.callbacks.ReduceLROnPlateau`` (acts at the end of an epoch)."""

    lr0: float = 0.1
    monitor: str = "val_loss"
    factor: float = 0.1
    patience: int = 10
    min_delta: float = 1e-4
    cooldown: int = 0
    min_lr: float = 0.0
    per: str = "epoch"
    type: ClassVar[str] = "reduce_on_plateau"
    equation: ClassVar[str] = "η ← max(η · factor, η_min) after `patience` epochs without improvement"
    reactive: ClassVar[bool] = True
    takes_warmup: ClassVar[bool] = False

    @property
    def mode(self) -> str:
        return "max" if self.monitor.endswith("accuracy") else "min"

    def formula(self, t):
        # The rate before any reaction; the engines apply PlateauState on top of it.
        return np.full_like(t, self.lr0)


@dataclass
class PlateauState:
    """Keras 3's ``ReduceLROnPlateau`` state machine for one run, in plain Python (the reference)."""

    schedule: ReduceOnPlateau
    lr: float = field(init=False)
    best: float | None = field(default=None, init=False)
    wait: int = field(default=0, init=False)
    cooldown_counter: int = field(default=0, init=False)

    def __post_init__(self):
        self.lr = float(np.float32(self.schedule.lr0))

    def _improved(self, current: float) -> bool:
        if self.best is None:
            return True
        # An improvement must beat the best by more than min_delta, in the metric's direction.
        # Keras forms the shifted value in float64 and compares it in float32.
        if self.schedule.mode == "min":
            return np.float32(current + self.schedule.min_delta) < np.float32(self.best)
        return np.float32(current - self.schedule.min_delta) > np.float32(self.best)

    def on_epoch_end(self, current: float) -> float:
        """Update with the epoch's monitored value; return the rate for the next epoch."""
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
        elif not self.cooldown_counter > 0:
            self.wait += 1
            if self.wait >= self.schedule.patience and self.lr > np.float32(self.schedule.min_lr):
                # Keras stores the rate in a float32 variable and reads it back before the next reduction.
                self.lr = float(np.float32(max(self.lr * self.schedule.factor, self.schedule.min_lr)))
                self.cooldown_counter = self.schedule.cooldown
                self.wait = 0
        return self.lr

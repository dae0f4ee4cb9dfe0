"""A user's own schedule: a function named in the config, imported when it is evaluated."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from schedbench.schedules.base import Schedule, ScheduleError


@dataclass(frozen=True)
class Custom(Schedule):
    """A user's own formula: ``function`` is ``"module:function"``, called as ``function(t, **kwargs)`` with the
    0-based counter ``t`` (an int, in units of ``per``) and returning the rate (a float > 0)."""

    function: str = ""
    kwargs: tuple = ()
    type: ClassVar[str] = "custom"
    equation: ClassVar[str] = "η(t) = f(t), a user function"

    def resolve(self):
        module_name, _, attribute = self.function.partition(":")
        try:
            return getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise ScheduleError(
                f"schedules.{self.name}.function: cannot import '{self.function}': {error}"
            ) from None

    def formula(self, t):
        function = self.resolve()
        kwargs = dict(self.kwargs)
        flat = []
        for value in np.ravel(t):
            try:
                flat.append(float(function(int(value), **kwargs)))
            except Exception as error:  # a user's code: whatever it raises, say which schedule and where
                raise ScheduleError(
                    f"schedules.{self.name}.function: {self.function}({int(value)}) failed: {error!r}"
                ) from None
        return np.asarray(flat, dtype=np.float64).reshape(np.shape(t))

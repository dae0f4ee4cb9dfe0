"""Learning-rate schedules: one small object per formula.

Every schedule maps a 0-based counter ``t`` to a learning rate. ``per`` says what ``t`` counts:
``"update"`` (optimizer steps, i.e. batches, as Keras' ``LearningRateSchedule`` classes count) or
``"epoch"`` (as ``keras.callbacks.LearningRateScheduler`` counts). Formulas follow Keras 3
(``keras/src/optimizers/schedules/learning_rate_schedule.py``) where Keras has the schedule,
PyTorch's ``CyclicLR`` / ``OneCycleLR`` documentation and transformers' ``get_wsd_schedule`` where it does not.
Every formula but cyclical and one-cycle takes a linear warm-up (``warmup_steps``), and the formulas that end
with the run (``decay_steps`` / ``total_steps`` left out) read its length from the schedule's horizon: both
live in ``base.py``.

Each entry of ``config.yaml``'s ``schedules`` becomes one of these objects through
:func:`build_schedule`; the entry's ``optimizer`` block is not the schedule's (see
:class:`schedbench.engines.spec.OptimizerSpec`).
``reduce_on_plateau`` is reactive: its rate depends on the monitored metric, so it has no table of
rates; :class:`~schedbench.schedules.reactive.PlateauState` is its reference implementation, step for step
Keras' callback.

Where each lives: ``base.py`` the contract (:class:`Schedule`), ``formulas.py`` the schedules that are a formula
of ``t``, ``reactive.py`` reduce-on-plateau, ``custom.py`` a user's function; here the registry of types
(:data:`SCHEDULE_TYPES`) and :func:`build_schedule`. A new type is a class in one of those files and an entry
in the registry.
"""

from __future__ import annotations

import dataclasses

from schedbench.schedules.base import Schedule, ScheduleError, steps_per_epoch
from schedbench.schedules.custom import Custom
from schedbench.schedules.formulas import (
    Constant,
    Cosine,
    CosineRestarts,
    Cyclical,
    Exponential,
    InverseTime,
    OneCycle,
    Piecewise,
    Polynomial,
    Step,
    WarmupStableDecay,
)
from schedbench.schedules.reactive import ReduceOnPlateau

__all__ = [
    "Schedule", "ScheduleError", "steps_per_epoch", "Constant", "InverseTime", "Step", "Piecewise", "Exponential",
    "Polynomial", "Cosine", "CosineRestarts", "Cyclical", "OneCycle", "WarmupStableDecay", "ReduceOnPlateau", "Custom",
    "SCHEDULE_TYPES", "build_schedule", "build_schedules",
]

SCHEDULE_TYPES: dict[str, type[Schedule]] = {
    cls.type: cls
    for cls in (Constant, InverseTime, Step, Piecewise, Exponential, Polynomial, Cosine,
                CosineRestarts, Cyclical, OneCycle, WarmupStableDecay, ReduceOnPlateau, Custom)
}


def build_schedule(name: str, spec: dict) -> Schedule:
    """Turn one validated ``schedules`` entry of the config into its schedule object (its ``optimizer`` block
    left aside: the optimizer is a seam of its own)."""
    spec = {key: value for key, value in spec.items() if key != "optimizer"}
    kind = spec.pop("type")
    try:
        cls = SCHEDULE_TYPES[kind]
    except KeyError:
        raise ScheduleError(f"schedules.{name}.type: unknown schedule type '{kind}'") from None
    known = {f.name for f in dataclasses.fields(cls)} - {"horizon"}  # the run's length, not a setting
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ScheduleError(f"schedules.{name}: unknown parameter(s) {', '.join(unknown)} for type {kind}")
    for key in ("boundaries", "values"):
        if key in spec:
            spec[key] = tuple(spec[key])
    if "kwargs" in spec:
        spec["kwargs"] = tuple(sorted(spec["kwargs"].items()))
    return cls(name=name, **spec)


def build_schedules(specs: dict[str, dict]) -> list[Schedule]:
    return [build_schedule(name, spec) for name, spec in specs.items()]

"""The schedules that are a formula of the counter alone: Keras 3's classes, PyTorch's cyclical ones and
transformers' warm-up-stable-decay."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from schedbench.schedules.base import Schedule, ScheduleError


@dataclass(frozen=True)
class Constant(Schedule):
    """A fixed rate: ``lr(t) = lr0``."""

    lr0: float = 0.1
    type: ClassVar[str] = "constant"
    equation: ClassVar[str] = "η(t) = η₀"

    def formula(self, t):
        return np.full_like(t, self.lr0)


@dataclass(frozen=True)
class InverseTime(Schedule):
    """Time-based decay.

    ``per="update"``: ``lr(t) = lr0 / (1 + decay * t)``, t = optimizer updates from 0. This is what
    Keras 2's ``SGD(decay=...)`` did and what Keras 3's ``InverseTimeDecay(lr0, 1, decay)`` does.

    ``per="epoch"``: the article's recursive form, ``lr(0) = lr0``, ``lr(e) = lr(e-1) / (1 + decay * e)``,
    i.e. ``lr(e) = lr0 / prod_{j=1..e} (1 + decay * j)`` (its table: 0.1, 0.0999001, 0.0997007, ...).
    """

    lr0: float = 0.1
    decay: float = 0.0
    type: ClassVar[str] = "inverse_time"
    equation: ClassVar[str] = "per update: η(t) = η₀ / (1 + d·t);  per epoch: η(e) = η(e−1) / (1 + d·e)"

    def formula(self, t):
        if self.per == "update":
            return self.lr0 / (1.0 + self.decay * t)
        horizon = int(np.max(t, initial=0))
        divisors = np.concatenate([[1.0], np.cumprod(1.0 + self.decay * np.arange(1, horizon + 1))])
        return self.lr0 / divisors[t.astype(np.int64)]


@dataclass(frozen=True)
class Step(Schedule):
    """Drop-based decay, the article's form: ``lr(e) = lr0 * drop ** floor((1 + e) / epochs_drop)``.

    ``e`` is the 0-based epoch that ``LearningRateScheduler`` passes, so with ``epochs_drop = 10`` the
    first drop applies from the 10th epoch (index 9).
    """

    lr0: float = 0.1
    drop: float = 0.5
    epochs_drop: float = 10.0
    per: str = "epoch"
    type: ClassVar[str] = "step"
    equation: ClassVar[str] = "η(e) = η₀ · drop^⌊(1 + e) / E_drop⌋"

    def formula(self, t):
        return self.lr0 * np.power(self.drop, np.floor((1.0 + t) / self.epochs_drop))


@dataclass(frozen=True)
class Piecewise(Schedule):
    """Piecewise constant, as Keras' ``PiecewiseConstantDecay``: ``values[0]`` for ``t <= boundaries[0]``,
    ``values[i]`` for ``boundaries[i-1] < t <= boundaries[i]``, ``values[-1]`` after the last boundary."""

    boundaries: tuple = ()
    values: tuple = ()
    type: ClassVar[str] = "piecewise"
    equation: ClassVar[str] = "η(t) = vᵢ for bᵢ₋₁ < t ≤ bᵢ"

    def formula(self, t):
        index = np.searchsorted(np.asarray(self.boundaries, dtype=np.float64), t, side="left")
        return np.asarray(self.values, dtype=np.float64)[index]


@dataclass(frozen=True)
class Exponential(Schedule):
    """Exponential decay, as Keras' ``ExponentialDecay``:
    ``lr(t) = lr0 * decay_rate ** (t / decay_steps)``, the exponent floored when ``staircase``."""

    lr0: float = 0.1
    decay_rate: float = 0.96
    decay_steps: float = 1.0
    staircase: bool = False
    type: ClassVar[str] = "exponential"
    equation: ClassVar[str] = "η(t) = η₀ · r^(t / T)   (⌊t / T⌋ when staircase)"

    def formula(self, t):
        exponent = t / self.decay_steps
        if self.staircase:
            exponent = np.floor(exponent)
        return self.lr0 * np.power(self.decay_rate, exponent)


@dataclass(frozen=True)
class Polynomial(Schedule):
    """Polynomial decay, as Keras' ``PolynomialDecay``:
    ``lr(t) = (lr0 - end_lr) * (1 - min(t, T) / T) ** power + end_lr``; with ``cycle`` the horizon T
    grows to the next multiple of ``decay_steps`` instead of holding ``end_lr``.

    ``T = decay_steps``; left out, the run after the warm-up (the horizon minus ``warmup_steps``), so that
    ``power: 1, end_lr: 0`` is a linear decay to zero that ends with the run."""

    lr0: float = 0.1
    end_lr: float = 0.0001
    decay_steps: int | None = None
    power: float = 1.0
    cycle: bool = False
    type: ClassVar[str] = "polynomial"
    equation: ClassVar[str] = "η(t) = (η₀ − η_end) · (1 − min(t, T)/T)^p + η_end"

    @property
    def decay_length(self) -> int:
        return decay_length(self)

    def formula(self, t):
        decay_steps = self.decay_length
        horizon = np.full_like(t, float(decay_steps))
        if self.cycle:
            horizon = horizon * np.where(t == 0, 1.0, np.ceil(t / decay_steps))
        else:
            t = np.minimum(t, horizon)
        return (self.lr0 - self.end_lr) * np.power(1.0 - t / horizon, self.power) + self.end_lr


def decay_length(schedule: Schedule) -> int:
    """A decay's ``decay_steps``, or where left out the run after the warm-up (Keras counts a decay after it)."""
    if schedule.decay_steps is not None:
        return schedule.decay_steps
    run = schedule.needed_horizon()
    if run - schedule.warmup_steps < 1:
        raise ScheduleError(f"schedules.{schedule.name}.warmup_steps: {schedule.warmup_steps} leaves no decay in a "
                            f"run of {run} {schedule.per}s (decay_steps, left out, is the run after the warm-up)")
    return run - schedule.warmup_steps


@dataclass(frozen=True)
class Cosine(Schedule):
    """Cosine decay with optional linear warm-up, as Keras' ``CosineDecay``.

    Without warm-up: ``lr(t) = lr0 * ((1 - alpha) * (1 + cos(pi * min(t, T) / T)) / 2 + alpha)``, from ``lr0``
    down to ``alpha * lr0`` (``alpha = 0``: to zero) over ``T = decay_steps``; ``decay_steps`` left out is the run
    after the warm-up, so that the decay ends with the run.

    With ``warmup_steps = W`` and ``warmup_target = peak`` (Keras' own warm-up): linear from ``lr0`` to ``peak``
    over ``t < W``, then the cosine above from ``peak`` with ``t - W`` in place of ``t``. With ``warmup_steps = W``
    and no ``warmup_target``: the generic warm-up, linear from 0 to ``lr0`` over ``t < W``, then the cosine from
    ``lr0`` with ``t - W`` in place of ``t`` (Keras' ``CosineDecay(0.0, T, alpha, warmup_target=lr0,
    warmup_steps=W)``).
    """

    lr0: float = 0.1
    decay_steps: int | None = None
    alpha: float = 0.0
    warmup_target: float | None = None
    type: ClassVar[str] = "cosine"
    equation: ClassVar[str] = "η(t) = η₀ · ((1 − α) · ½(1 + cos(π · min(t, T)/T)) + α), after optional warm-up"

    @property
    def linear_warmup_steps(self) -> int:
        return 0 if self.warmup_target is not None else self.warmup_steps

    @property
    def decay_length(self) -> int:
        return decay_length(self)

    def formula(self, t):
        decay_steps = self.decay_length

        def decayed(step, peak):
            fraction = np.minimum(step, decay_steps) / decay_steps
            return peak * ((1.0 - self.alpha) * 0.5 * (1.0 + np.cos(np.pi * fraction)) + self.alpha)

        if self.warmup_target is None:
            return decayed(t, self.lr0)
        if self.warmup_steps == 0:
            return decayed(t, self.warmup_target)
        t = np.minimum(t, decay_steps + self.warmup_steps)
        warming = self.lr0 + (self.warmup_target - self.lr0) * t / self.warmup_steps
        return np.where(t < self.warmup_steps, warming, decayed(t - self.warmup_steps, self.warmup_target))


@dataclass(frozen=True)
class CosineRestarts(Schedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2017), as Keras' ``CosineDecayRestarts``.

    Period ``i`` lasts ``first_decay_steps * t_mul ** i`` and starts at ``lr0 * m_mul ** i``; within a period,
    with ``f`` its completed fraction, ``lr = lr0 * ((1 - alpha) * m_mul ** i * (1 + cos(pi * f)) / 2 + alpha)``.
    """

    lr0: float = 0.1
    first_decay_steps: int = 1
    t_mul: float = 2.0
    m_mul: float = 1.0
    alpha: float = 0.0
    type: ClassVar[str] = "cosine_restarts"
    equation: ClassVar[str] = "η(t) = η₀ · ((1 − α) · mⁱ · ½(1 + cos(π f)) + α), period i of length T₀ · τⁱ"

    def formula(self, t):
        fraction = t / self.first_decay_steps
        if self.t_mul == 1.0:
            restart = np.floor(fraction)
            fraction = fraction - restart
        else:
            restart = np.floor(np.log(1.0 - fraction * (1.0 - self.t_mul)) / np.log(self.t_mul))

            def elapsed_before(period):
                return (1.0 - np.power(self.t_mul, period)) / (1.0 - self.t_mul)

            # The logarithm can land one period off at exact restart points: settle on the period whose
            # span [elapsed_before(i), elapsed_before(i + 1)) holds the fraction.
            restart = np.where(fraction >= elapsed_before(restart + 1), restart + 1, restart)
            restart = np.where(fraction < elapsed_before(restart), restart - 1, restart)
            elapsed = elapsed_before(restart)
            fraction = (fraction - elapsed) / np.power(self.t_mul, restart)
        cosine = 0.5 * np.power(self.m_mul, restart) * (1.0 + np.cos(np.pi * fraction))
        return self.lr0 * ((1.0 - self.alpha) * cosine + self.alpha)


@dataclass(frozen=True)
class Cyclical(Schedule):
    """Cyclical learning rate (Smith 2017), as PyTorch's ``CyclicLR``.

    ``cycle = floor(1 + t / (2 s))``, ``x = |t / s - 2 cycle + 1|``,
    ``lr(t) = base_lr + (max_lr - base_lr) * max(0, 1 - x) * scale``, with scale 1 (``triangular``),
    ``1 / 2 ** (cycle - 1)`` (``triangular2``) or ``gamma ** t`` (``exp_range``); s = ``step_size``.
    """

    base_lr: float = 0.001
    max_lr: float = 0.1
    step_size: int = 1
    mode: str = "triangular"
    gamma: float = 1.0
    type: ClassVar[str] = "cyclical"
    takes_warmup: ClassVar[bool] = False  # its first half-cycle is a rise of its own
    equation: ClassVar[str] = "η(t) = η_min + (η_max − η_min) · max(0, 1 − |t/s − 2c + 1|) · scale(c, t)"

    def formula(self, t):
        cycle = np.floor(1.0 + t / (2.0 * self.step_size))
        x = np.abs(t / self.step_size - 2.0 * cycle + 1.0)
        if self.mode == "triangular":
            scale = np.ones_like(t)
        elif self.mode == "triangular2":
            scale = 1.0 / np.power(2.0, cycle - 1.0)
        else:
            scale = np.power(self.gamma, t)
        return self.base_lr + (self.max_lr - self.base_lr) * np.maximum(0.0, 1.0 - x) * scale


@dataclass(frozen=True)
class OneCycle(Schedule):
    """One-cycle policy (Smith & Topin 2018), as PyTorch's ``OneCycleLR`` (rates only).

    ``initial = max_lr / div_factor``, ``final = initial / final_div_factor``. Two phases: ``initial -> max_lr``
    over ``t`` in ``[0, pct_start * N - 1]``, then ``max_lr -> final`` up to ``t = N - 1`` (N = ``total_steps``);
    ``three_phase`` inserts ``max_lr -> initial`` before the last phase, as PyTorch does. Each phase anneals with
    ``end + (start - end) / 2 * (1 + cos(pi * p))`` (``cos``) or ``start + p * (end - start)`` (``linear``),
    p being the phase's completed fraction. Past N the final rate holds.
    """

    max_lr: float = 0.1
    total_steps: int = 2
    pct_start: float = 0.3
    anneal_strategy: str = "cos"
    div_factor: float = 25.0
    final_div_factor: float = 10000.0
    three_phase: bool = False
    type: ClassVar[str] = "one_cycle"
    takes_warmup: ClassVar[bool] = False  # its first phase is a rise of its own
    equation: ClassVar[str] = "η: η_max/div → η_max (first pct_start of N steps) → η_max/(div·final_div), annealed"

    def _phases(self):
        initial = self.max_lr / self.div_factor
        final = initial / self.final_div_factor
        peak_at = float(self.pct_start * self.total_steps) - 1.0
        last = float(self.total_steps) - 1.0
        if self.three_phase:
            return [(peak_at, initial, self.max_lr), (2.0 * peak_at, self.max_lr, initial), (last, initial, final)]
        return [(peak_at, initial, self.max_lr), (last, self.max_lr, final)]

    def formula(self, t):
        t = np.minimum(t, self.total_steps - 1.0)
        result = np.empty_like(t)
        assigned = np.zeros(t.shape, dtype=bool)
        phase_start = 0.0
        for phase_end, start, end in self._phases():
            in_phase = ~assigned & (t <= phase_end)
            fraction = (t - phase_start) / (phase_end - phase_start)
            if self.anneal_strategy == "cos":
                value = end + (start - end) / 2.0 * (1.0 + np.cos(np.pi * fraction))
            else:
                value = start + fraction * (end - start)
            result = np.where(in_phase, value, result)
            assigned |= in_phase
            phase_start = phase_end
        return result


# transformers' get_wsd_schedule decay shapes, of the fraction p in [0, 1] of the cooldown done.
DECAY_SHAPES = {
    "linear": lambda p: 1.0 - p,
    "cosine": lambda p: 0.5 * (1.0 + np.cos(np.pi * p)),
    "1-sqrt": lambda p: 1.0 - np.sqrt(p),
}


def cooldown_steps(decay_fraction: float, total_steps: int) -> int:
    """The cooldown's whole counts: ``decay_fraction * total_steps`` rounded half up, at least 1."""
    return max(1, math.floor(decay_fraction * total_steps + 0.5))


@dataclass(frozen=True)
class WarmupStableDecay(Schedule):
    """Warm-up, stable, decay (WSD; Hägele et al. 2024), as transformers' ``get_wsd_schedule`` (linear warm-up).

    ``t`` counts from 0 at the run's first update (epoch, with ``per: epoch``). With ``N = total_steps`` (left out:
    the horizon, the run's length), ``W = warmup_steps``, ``D`` = ``decay_fraction * N`` rounded half up to whole
    counts (at least 1), ``r = final_ratio``:

    - warm-up, ``0 <= t < W``: ``lr0 * t / W``, from 0 (the generic warm-up every schedule takes);
    - stable, ``W <= t < N - D``: ``lr0``;
    - cooldown, ``N - D <= t < N``: ``lr0 * (shape(p) * (1 - r) + r)`` with ``p = (t - (N - D)) / D`` and ``shape``
      ``linear`` 1 - p, ``cosine`` ½(1 + cos πp), ``1-sqrt`` 1 - √p; the last count of the run has ``p = 1 - 1/D``;
    - after, ``t >= N``: ``lr0 * r``.

    ``W + D > N`` is refused. transformers' warm-up rises from ``r * lr0``; this one from 0 (equal when ``r = 0``).
    """

    lr0: float = 0.1
    total_steps: int | None = None
    decay_fraction: float = 0.2
    final_ratio: float = 0.0
    decay_shape: str = "1-sqrt"
    type: ClassVar[str] = "warmup_stable_decay"
    equation: ClassVar[str] = ("η: 0 → η₀ over W, η₀ until N − D, then η₀ · (shape(p) · (1 − r) + r) "
                               "over the last D = decay_fraction · N")

    def phases(self) -> tuple[int, int, int]:
        """(warm-up, stable, cooldown) counts."""
        total = self.total_steps if self.total_steps is not None else self.needed_horizon()
        cooldown = cooldown_steps(self.decay_fraction, total)
        if self.warmup_steps + cooldown > total:
            length = f"total_steps {total}" if self.total_steps is not None else f"the run ({total} {self.per}s)"
            raise ScheduleError(f"schedules.{self.name}.warmup_steps: {self.warmup_steps} and the cooldown's "
                                f"{cooldown} (decay_fraction {self.decay_fraction} of {total}) exceed {length}")
        return self.warmup_steps, total - self.warmup_steps - cooldown, cooldown

    def formula(self, t):
        # The base class has taken the warm-up off: t here counts from the stable phase's start.
        _, stable, cooldown = self.phases()
        progress = np.clip((t - stable) / cooldown, 0.0, 1.0)
        cooling = DECAY_SHAPES[self.decay_shape](progress) * (1.0 - self.final_ratio) + self.final_ratio
        return self.lr0 * np.where(t < stable, 1.0, np.where(t < stable + cooldown, cooling, self.final_ratio))

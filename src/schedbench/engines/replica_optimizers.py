"""The replica engine's optimizers: one class per optimizer name, each updating every replica it trains at once.

An optimizer is built from the job's per-replica specs (None where another optimizer trains the replica) and holds
its settings as per-replica constants of shape (K,), so every replica has its own betas, epsilon and weight decay.
Its state is ``slots``: one (K, ...) array per slot name and weight, started by :meth:`initial` (zeros unless the
optimizer says otherwise). One update is ``step(weight, slots, gradient, lr, local_step) -> (new weight, new slots)``
at per-replica rates ``lr`` (K,) and Keras' 1-based step count ``local_step`` (K,) float32 (its ``iterations + 1``).
An optimizer whose model to evaluate is not the point its gradients are taken at (schedule-free) also has
``average(weight, slots) -> x``.

Each update repeats the arithmetic of the Keras class in the same order (Keras 3.15.1, TensorFlow backend): where
Keras mixes a Python float into a float32 tensor (``1 - self.beta_1``), the difference is formed in float64 and
rounded to float32 once, as TensorFlow converts the Python number; where Keras casts the setting first
(``1 - ops.cast(beta_2)``), it is formed in float32.

Adding an optimizer: a class here, registered in :data:`OPTIMIZERS`; the Keras class in
``keras_fit.KERAS_OPTIMIZERS``; its branch in the config schema's ``$defs/optimizer``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from schedbench.engines.spec import OptimizerSpec


def per_replica(values, weight):
    """Per-replica values shaped to broadcast over ``weight`` (K, ...)."""
    return tf.reshape(values, [-1] + [1] * (len(weight.shape) - 1))


def _setting(specs, name: str, fill: float, dtype=np.float32, of=lambda value: value):
    """The (K,) constant of setting ``name`` (``of`` it, computed in float64), ``fill`` where another optimizer
    trains the replica."""
    return tf.constant(np.array([of(float(spec[name])) if spec else fill for spec in specs], np.float64).astype(dtype))


class SGD:
    """Keras 3's SGD for every replica trained with it: ``v <- m v - lr g``, ``w <- w + v``; with nesterov,
    ``w <- w + m v - lr g`` (the new v). With m = 0, ``v * 0 - lr g = -lr g`` and ``w + (-lr g) = w - lr g`` bit
    for bit: one formula serves plain SGD too."""

    slots = ("velocity",)

    def __init__(self, specs: list[OptimizerSpec | None]):
        self.momentum = _setting(specs, "momentum", 0.0)
        nesterov = np.array([bool(spec and spec["nesterov"]) for spec in specs])
        self.nesterov = tf.constant(nesterov) if nesterov.any() else None

    def initial(self, weight):
        return [tf.zeros_like(weight)]

    def step(self, weight, slots, gradient, lr, local_step):
        (velocity,) = slots
        momentum = per_replica(self.momentum, weight)
        scaled = gradient * per_replica(lr, weight)
        new_velocity = velocity * momentum - scaled
        if self.nesterov is None:
            return weight + new_velocity, [new_velocity]
        nesterov = per_replica(self.nesterov, weight)
        return weight + tf.where(nesterov, new_velocity * momentum - scaled, new_velocity), [new_velocity]


def decayed(weight, weight_decay, lr):
    """Keras' decoupled weight decay, applied by the base optimizer before the update: ``w <- w - w wd lr`` at the
    scheduled rate (a weight decay of 0 leaves ``w`` as it is, bit for bit)."""
    return weight - weight * per_replica(weight_decay, weight) * per_replica(lr, weight)


class Adam:
    """Keras 3's Adam and AdamW. ``m <- m + (g - m)(1 - beta_1)``, ``v <- v + (g^2 - v)(1 - beta_2)``,
    ``w <- w - m alpha / (sqrt(v) + epsilon)`` with the bias correction folded into the rate,
    ``alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)``; AdamW first decays ``w <- w - w weight_decay lr``
    (Adam: weight_decay 0)."""

    slots = ("momentum", "velocity")

    def __init__(self, specs: list[OptimizerSpec | None]):
        self.beta_1 = _setting(specs, "beta_1", 0.9)
        self.beta_2 = _setting(specs, "beta_2", 0.999)
        self.one_minus_beta_1 = _setting(specs, "beta_1", 0.1, of=lambda beta: 1 - beta)
        self.one_minus_beta_2 = _setting(specs, "beta_2", 0.001, of=lambda beta: 1 - beta)
        self.epsilon = _setting(specs, "epsilon", 1e-7)
        self.weight_decay = tf.constant(np.array(
            [float(spec.parameters.get("weight_decay", 0.0)) if spec else 0.0 for spec in specs], np.float32))
        self.decays = bool(np.any(self.weight_decay.numpy() > 0))

    def initial(self, weight):
        return [tf.zeros_like(weight), tf.zeros_like(weight)]

    def step(self, weight, slots, gradient, lr, local_step):
        momentum, velocity = slots
        if self.decays:
            weight = decayed(weight, self.weight_decay, lr)
        alpha = lr * tf.sqrt(1 - tf.pow(self.beta_2, local_step)) / (1 - tf.pow(self.beta_1, local_step))
        momentum = momentum + (gradient - momentum) * per_replica(self.one_minus_beta_1, weight)
        velocity = velocity + (tf.square(gradient) - velocity) * per_replica(self.one_minus_beta_2, weight)
        change = (momentum * per_replica(alpha, weight)) / (tf.sqrt(velocity) + per_replica(self.epsilon, weight))
        return weight - change, [momentum, velocity]


class _ScheduleFree:
    """What schedule-free SGD and AdamW share (:mod:`schedbench.engines.schedule_free` has the equations): the
    model's weight holds y, the slot ``z`` the base iterate, x is recovered from them; the rate warms up linearly
    over ``warmup_steps`` (``lr min(t / warmup_steps, 1)``); decoupled weight decay acts on y before the step."""

    def __init__(self, specs: list[OptimizerSpec | None], interpolation: str):
        self.beta = _setting(specs, interpolation, 0.9)
        self.weight_decay = _setting(specs, "weight_decay", 0.0)
        self.decays = bool(np.any(self.weight_decay.numpy() > 0))
        self.warmup_steps = _setting(specs, "warmup_steps", 0.0)
        self.warms_up = bool(np.any(self.warmup_steps.numpy() > 0))

    def _rate(self, lr, local_step):
        if not self.warms_up:
            return lr
        factor = tf.minimum(tf.math.divide_no_nan(local_step, self.warmup_steps), 1.0)
        return tf.where(self.warmup_steps > 0, lr * factor, lr)

    def _interpolate(self, weight, z_old, z, local_step):
        """(the new y, the new z) from y, the old and the new z: x's running average with weight 1 / t, as Keras."""
        beta = per_replica(self.beta, weight)
        average_weight = per_replica(1.0 / local_step, weight)
        x_old = (weight - (1 - beta) * z_old) / beta
        x_new = (1 - average_weight) * x_old + average_weight * z
        return (1 - beta) * z + beta * x_new

    def average(self, weight, slots):
        """x, the model to evaluate: ``x = (y - (1 - beta) z) / beta``."""
        beta = per_replica(self.beta, weight)
        return (weight - (1 - beta) * slots[0]) / beta


class ScheduleFreeSGD(_ScheduleFree):
    """Schedule-free SGD: ``z <- z - lr g``, then x and y as :class:`_ScheduleFree` (beta = ``momentum``)."""

    slots = ("z",)

    def __init__(self, specs: list[OptimizerSpec | None]):
        super().__init__(specs, "momentum")

    def initial(self, weight):
        return [tf.identity(weight)]

    def step(self, weight, slots, gradient, lr, local_step):
        (z_old,) = slots
        if self.decays:
            weight = decayed(weight, self.weight_decay, lr)
        lr = self._rate(lr, local_step)
        z = z_old - per_replica(lr, weight) * gradient
        return self._interpolate(weight, z_old, z, local_step), [z]


class ScheduleFreeAdamW(_ScheduleFree):
    """Schedule-free AdamW as Keras' ScheduleFreeAdamW: ``v <- v + (g^2 - v)(1 - beta_2)``,
    ``z <- z - lr g / (sqrt(v / (1 - beta_2^t)) + epsilon)``, then x and y as :class:`_ScheduleFree`
    (beta = ``beta_1``)."""

    slots = ("z", "velocity")

    def __init__(self, specs: list[OptimizerSpec | None]):
        super().__init__(specs, "beta_1")
        self.beta_2 = _setting(specs, "beta_2", 0.999)
        self.epsilon = _setting(specs, "epsilon", 1e-8)

    def initial(self, weight):
        return [tf.identity(weight), tf.zeros_like(weight)]

    def step(self, weight, slots, gradient, lr, local_step):
        z_old, velocity = slots
        if self.decays:
            weight = decayed(weight, self.weight_decay, lr)
        lr = self._rate(lr, local_step)
        beta_2 = per_replica(self.beta_2, weight)
        bias_correction_2 = per_replica(1 - tf.pow(self.beta_2, local_step), weight)
        velocity = velocity + (tf.square(gradient) - velocity) * (1 - beta_2)
        denominator = tf.sqrt(velocity / bias_correction_2) + per_replica(self.epsilon, weight)
        z = z_old - (per_replica(lr, weight) * gradient) / denominator
        return self._interpolate(weight, z_old, z, local_step), [z, velocity]


# Optimizer name (OptimizerSpec.name, the config's optimizer.name) -> its update.
OPTIMIZERS = {
    "sgd": SGD,
    "adam": Adam,
    "adamw": Adam,
    "schedule_free_sgd": ScheduleFreeSGD,
    "schedule_free_adamw": ScheduleFreeAdamW,
}

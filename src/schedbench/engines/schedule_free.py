"""Schedule-free optimizers for the Keras engine (Defazio et al. 2024, "The road less scheduled").

Three sequences per weight: z, the base iterate the gradient steps move; x, a running average of z, the model to
evaluate; and y, the point the gradient is taken at, between them. For step t = 1, 2, ... at rate ``lr_t``:

    lr_t  = lr min(t / warmup_steps, 1)              (lr when warmup_steps = 0)
    z_t   = z_{t-1} - lr_t d_t         d_t = g_t (SGD); g_t / (sqrt(v_t / (1 - beta_2^t)) + epsilon) (AdamW)
    x_t   = (1 - c_t) x_{t-1} + c_t z_t              c_t = 1 / t
    y_t   = (1 - beta) z_t + beta x_t                g_{t+1} is the gradient at y_t

with ``v_t = v_{t-1} + (g_t^2 - v_{t-1})(1 - beta_2)`` and x_0 = y_0 = z_0 the initial weights. As in Keras'
ScheduleFreeAdamW the model's variables hold y, the optimizer keeps z (its ``momentum`` slot), and x is recovered
when needed as ``x = (y - (1 - beta) z) / beta``. Weight decay is Keras' decoupled decay of the base optimizer,
``y <- y - y weight_decay lr`` before the step (at the scheduled rate, without the warm-up factor).

The averaging weight c_t = 1 / t is Keras': x is the plain mean of z_1 .. z_t. The paper's reference
implementation (and optax's ``weight_lr_power=2``) weights step t by lr_t^2, c_t = lr_t^2 / sum_i lr_i^2; the two
agree while the rate is constant and differ during a warm-up (or under a schedule), where the paper's gives the
small early steps less weight.

:class:`ScheduleFreeAdamW` is Keras 3.15.1's class with one repair: Keras reads the momentum slot for its old z
(``momentum_old = momentum.value``) as a reference to the variable, and on the TensorFlow backend the read happens
after the slot is updated, so Keras recovers x_{t-1} from the new z_t, not the old one (on a 3-step example it
lands 5e-3 off the equations above). Here the old z is read before the update. A second pitfall, of ``fit``:
without a distribution strategy Keras builds the optimizer while tracing the train step, where the copy of the
weights into z does not take, so z starts at 0; the Keras engine builds the optimizer before ``fit``.
Keras has no schedule-free SGD; :class:`ScheduleFreeSGD` is the same structure with the plain gradient step.

Keras' ``evaluate`` and ``predict`` use the model's variables, y. :func:`averaged_weights` gives x, and
:class:`ScoreAtAverage` scores validation at x after every epoch.
"""

from __future__ import annotations

import keras
from keras import ops


def _warmed_up(optimizer, lr, local_step, dtype):
    if optimizer.warmup_steps > 0:
        return lr * ops.minimum(local_step / ops.cast(optimizer.warmup_steps, dtype), 1.0)
    return lr


def _interpolate(variable, z_old, z, beta, local_step):
    """y_t from y_{t-1} (``variable``), z_{t-1} and z_t, in Keras' order of operations."""
    weight = 1.0 / local_step
    x_old = ops.divide(ops.subtract(variable, ops.multiply(1 - beta, z_old)), beta)
    x_new = ops.add(ops.multiply(1 - weight, x_old), ops.multiply(weight, z))
    return ops.add(ops.multiply(1 - beta, z), ops.multiply(beta, x_new))


class ScheduleFreeAdamW(keras.optimizers.ScheduleFreeAdamW):
    """Keras' ScheduleFreeAdamW, reading the old z before the step updates it (see the module's docstring)."""

    interpolation = "beta_1"

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        gradient = ops.cast(gradient, dtype)
        local_step = ops.cast(self.iterations + 1, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        epsilon = ops.cast(self.epsilon, dtype)
        lr = _warmed_up(self, ops.cast(learning_rate, dtype), local_step, dtype)
        index = self._get_variable_index(variable)
        z, velocity = self._momentums[index], self._velocities[index]
        z_old = ops.copy(z)  # a copy: ops.convert_to_tensor would read z after the update below
        bias_correction_2 = 1 - ops.power(beta_2, local_step)
        self.assign_add(velocity, ops.multiply(ops.subtract(ops.square(gradient), velocity), 1 - beta_2))
        denominator = ops.add(ops.sqrt(velocity / bias_correction_2), epsilon)
        self.assign_sub(z, ops.divide(ops.multiply(lr, gradient), denominator))
        self.assign(variable, _interpolate(variable, z_old, ops.convert_to_tensor(z), beta_1, local_step))


class ScheduleFreeSGD(keras.optimizers.Optimizer):
    """Schedule-free SGD: ``z <- z - lr g`` and the x, y of the module's docstring, ``momentum`` being beta."""

    interpolation = "momentum"

    def __init__(self, learning_rate=0.01, momentum=0.9, warmup_steps=0, weight_decay=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, name=name, **kwargs)
        if not 0 < momentum < 1:
            raise ValueError(f"momentum must be in (0, 1), got {momentum}")
        self.momentum = momentum
        self.warmup_steps = warmup_steps

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")
        for z, variable in zip(self._momentums, var_list):
            self.assign(z, ops.copy(variable))

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        gradient = ops.cast(gradient, dtype)
        local_step = ops.cast(self.iterations + 1, dtype)
        beta = ops.cast(self.momentum, dtype)
        lr = _warmed_up(self, ops.cast(learning_rate, dtype), local_step, dtype)
        z = self._momentums[self._get_variable_index(variable)]
        z_old = ops.copy(z)  # a copy: ops.convert_to_tensor would read z after the update below
        self.assign_sub(z, ops.multiply(lr, gradient))
        self.assign(variable, _interpolate(variable, z_old, ops.convert_to_tensor(z), beta, local_step))

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "warmup_steps": self.warmup_steps})
        return config


SCHEDULE_FREE = (ScheduleFreeAdamW, ScheduleFreeSGD)


def averaged_weights(model: keras.Model) -> list:
    """x of every trainable variable, in ``model.trainable_variables``' order: ``(y - (1 - beta) z) / beta``."""
    optimizer = model.optimizer
    beta = ops.cast(getattr(optimizer, optimizer.interpolation), "float32")
    out = []
    for variable in model.trainable_variables:
        z = optimizer._momentums[optimizer._get_variable_index(variable)]
        out.append(ops.convert_to_numpy(ops.divide(ops.subtract(variable, ops.multiply(1 - beta, z)), beta)))
    return out


class AtAverage:
    """``with AtAverage(model):`` the model's variables hold x; y again on leaving."""

    def __init__(self, model: keras.Model):
        self.model = model

    def __enter__(self):
        self.y = [ops.convert_to_numpy(variable) for variable in self.model.trainable_variables]
        for variable, x in zip(self.model.trainable_variables, averaged_weights(self.model)):
            variable.assign(x)
        return self.model

    def __exit__(self, *exc):
        for variable, y in zip(self.model.trainable_variables, self.y):
            variable.assign(y)


class ScoreAtAverage(keras.callbacks.Callback):
    """After every epoch, scores the validation rows at x and puts that score in the epoch's logs as ``val_loss``
    and ``val_accuracy`` for the callbacks after it (ReduceLROnPlateau, the history); fit's own scores, at y, move
    to ``val_loss_at_y`` and ``val_accuracy_at_y``."""

    def __init__(self, validation):
        super().__init__()
        self.validation = validation  # a dataset of the validation rows, as fit's validation_data

    def on_epoch_end(self, epoch, logs=None):
        with AtAverage(self.model) as model:
            scores = model.evaluate(self.validation, verbose=0, return_dict=True)
        for name in ("loss", "accuracy"):
            logs[f"val_{name}_at_y"] = logs[f"val_{name}"]
            logs[f"val_{name}"] = scores[name]

"""The reference engine: every run is a plain ``keras.Model.fit``, as in the article.

Schedules map to the Keras objects a Keras user would write: a ``LearningRateSchedule`` handed to the
optimizer where Keras has the class and the schedule counts updates, ``LearningRateScheduler`` for
per-epoch formulas, ``ReduceLROnPlateau`` for the reactive schedule. Only the formulas Keras lacks
(cyclical, one-cycle, warm-up-stable-decay, a user's function) and the generic warm-up before a formula other than
cosine, counting updates, go through a small per-batch callback.
The batch order is given (a ``tf.data`` pipeline serving each epoch's permutation in turn) rather than drawn by
``fit(shuffle=True)``, so that every schedule of a seed sees the same batches. Each seed's runs train and
are evaluated on that seed's own table ``JobInputs.x[s]``.

The model: the spec's layers built with Keras' functional API (:data:`KERAS_LAYERS`, one builder per layer kind:
``Dense``, with ``Add`` for a residual one and ``Flatten`` before the first after convolutions; ``Reshape`` of the
features to (features, 1) before the first convolution, ``ZeroPadding1D`` then ``Conv1D(padding='valid')``), its
weights set from the job's initial weights in the spec's order; the output Dense(1, sigmoid) with
``binary_crossentropy`` for two classes, Dense(classes, softmax) with ``sparse_categorical_crossentropy`` for more;
``metrics=["accuracy"]``, which Keras resolves to binary accuracy or sparse categorical accuracy from the output's
shape. The optimizer: the Keras class its name stands for
(:data:`KERAS_OPTIMIZERS`), built from the spec's parameters; the schedule-free ones from
:mod:`schedbench.engines.schedule_free`, whose model is scored at its average x (validation after every epoch,
the final predictions and test rows), and at y, the point Keras' ``evaluate`` would score, as well.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from schedbench import schedules as sched
from schedbench.engines import schedule_free
from schedbench.engines.spec import (
    HISTORY_COLUMNS,
    Conv1DLayer,
    DenseLayer,
    JobInputs,
    JobResult,
    ModelSpec,
    OptimizerSpec,
    flat_weights,
    history_column,
)


def epoch_batches(x: np.ndarray, y: np.ndarray, batch_rows: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """The training batches of every epoch in turn: epoch e's rows in the order ``batch_rows[e]``, cut into batches
    of ``batch_size`` (the last of an epoch may be smaller).

    One dataset for the whole run, read by ``fit(steps_per_epoch=...)``, rather than one pass per epoch: given a
    per-epoch dataset (or the arrays themselves) ``fit`` builds a new tf.data iterator every epoch, which with a
    ``PyDataset``'s per-batch Python made a 50-epoch run of the article 3x slower (3.4 -> 1.15 s)."""
    table, labels = tf.constant(x), tf.constant(y)
    batches = tf.data.Dataset.from_tensor_slices(batch_rows).flat_map(
        lambda epoch_rows: tf.data.Dataset.from_tensor_slices(epoch_rows).batch(batch_size)
    )
    return batches.map(lambda rows: (tf.gather(table, rows), tf.gather(labels, rows)))


class PerUpdateRate(keras.callbacks.Callback):
    """Sets the optimizer's rate before every update from a precomputed table (formulas Keras lacks)."""

    def __init__(self, rates: np.ndarray):
        super().__init__()
        self.rates = rates
        self.step = 0

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate = float(self.rates[self.step])
        self.step += 1


class History(keras.callbacks.Callback):
    """Records the rate of each epoch's first update and the epoch's metrics."""

    def __init__(self, epochs: int):
        super().__init__()
        self.rows = np.full((epochs, len(HISTORY_COLUMNS)), np.nan)
        self.epoch_lr = np.nan

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            # Keras evaluates a schedule object at the optimizer's iteration count here.
            self.epoch_lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        self.rows[epoch, history_column("lr")] = self.epoch_lr
        for name in HISTORY_COLUMNS[1:]:
            # The scores at y exist only where ScoreAtAverage has put them (schedule-free optimizers).
            self.rows[epoch, history_column(name)] = logs.get(name, np.nan)


class TestAtEpochs(keras.callbacks.Callback):
    """Scores the test rows after each of ``epochs`` (1-based; the shorter budgets read from this run) as the final
    model is scored: at x for a schedule-free optimizer, and at y."""

    def __init__(self, epochs, x_test, y_test, averages: bool):
        super().__init__()
        self.epochs, self.x_test, self.y_test, self.averages = list(epochs), x_test, y_test, averages
        self.rows = np.full((len(self.epochs), 4), np.nan)

    def _scores(self, model):
        return model.evaluate(self.x_test, self.y_test, batch_size=len(self.y_test), verbose=0)

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 not in self.epochs or not len(self.y_test):
            return
        row = self.rows[self.epochs.index(epoch + 1)]
        if self.averages:
            row[2:] = self._scores(self.model)
            with schedule_free.AtAverage(self.model) as model:
                row[:2] = self._scores(model)
        else:
            row[:2] = self._scores(self.model)


_KERAS_CLASS = {
    "inverse_time": lambda s: keras.optimizers.schedules.InverseTimeDecay(s.lr0, 1, s.decay),
    "exponential": lambda s: keras.optimizers.schedules.ExponentialDecay(
        s.lr0, s.decay_steps, s.decay_rate, staircase=s.staircase
    ),
    "piecewise": lambda s: keras.optimizers.schedules.PiecewiseConstantDecay(
        list(s.boundaries), list(s.values)
    ),
    "polynomial": lambda s: keras.optimizers.schedules.PolynomialDecay(
        s.lr0, s.decay_length, s.end_lr, power=s.power, cycle=s.cycle
    ),
    # The generic warm-up from 0 is Keras' own warm-up from an initial rate of 0 up to lr0.
    "cosine": lambda s: keras.optimizers.schedules.CosineDecay(
        0.0, s.decay_length, alpha=s.alpha, warmup_target=s.lr0, warmup_steps=s.warmup_steps
    ) if s.linear_warmup_steps else keras.optimizers.schedules.CosineDecay(
        s.lr0, s.decay_length, alpha=s.alpha, warmup_target=s.warmup_target, warmup_steps=s.warmup_steps
    ),
    "cosine_restarts": lambda s: keras.optimizers.schedules.CosineDecayRestarts(
        s.lr0, s.first_decay_steps, t_mul=s.t_mul, m_mul=s.m_mul, alpha=s.alpha
    ),
}
# The types whose Keras class above also expresses the generic warm-up; the others' warm-up needs a table.
_KERAS_WARMS_UP = frozenset({"cosine"})


def keras_rate(schedule: sched.Schedule, epochs: int, steps_per_epoch: int):
    """(the optimizer's ``learning_rate``, the callbacks that drive it) for one schedule."""
    schedule = schedule.for_run(epochs, steps_per_epoch)
    if isinstance(schedule, sched.ReduceOnPlateau):
        callback = keras.callbacks.ReduceLROnPlateau(
            monitor=schedule.monitor,
            factor=schedule.factor,
            patience=schedule.patience,
            min_delta=schedule.min_delta,
            cooldown=schedule.cooldown,
            min_lr=schedule.min_lr,
        )
        return schedule.lr0, [callback]
    if isinstance(schedule, sched.Constant) and not schedule.linear_warmup_steps:
        return schedule.lr0, []
    if schedule.per == "epoch":
        rates = schedule.epoch_rates(epochs, steps_per_epoch)
        return float(rates[0]), [keras.callbacks.LearningRateScheduler(lambda epoch: float(rates[epoch]))]
    if schedule.type in _KERAS_CLASS and (not schedule.linear_warmup_steps or schedule.type in _KERAS_WARMS_UP):
        return _KERAS_CLASS[schedule.type](schedule), []
    rates = schedule.rates(epochs, steps_per_epoch)
    return float(rates[0]), [PerUpdateRate(rates)]


def _keras_dense(layer: DenseLayer, h):
    if len(h.shape) == 3:  # after the convolutions
        h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(layer.units, activation=layer.activation)(h)
    return keras.layers.Add()([h, out]) if layer.residual else out


def _keras_conv1d(layer: Conv1DLayer, h):
    if len(h.shape) == 2:  # the features, read as a sequence of one channel
        h = keras.layers.Reshape((h.shape[1], 1))(h)
    if layer.padding:
        h = keras.layers.ZeroPadding1D(layer.padding)(h)
    return keras.layers.Conv1D(layer.filters, layer.kernel_size, strides=layer.strides, padding="valid",
                               activation=layer.activation)(h)


# Layer kind -> (layer spec, its input tensor) -> the output of the Keras layers a spec of that kind stands for.
KERAS_LAYERS = {DenseLayer.kind: _keras_dense, Conv1DLayer.kind: _keras_conv1d}

# Optimizer name -> the Keras optimizer, given the learning rate (a number or a schedule object) and the spec.
KERAS_OPTIMIZERS = {
    "sgd": lambda learning_rate, spec: keras.optimizers.SGD(
        learning_rate=learning_rate, momentum=spec["momentum"], nesterov=spec["nesterov"]
    ),
    "adam": lambda learning_rate, spec: keras.optimizers.Adam(
        learning_rate=learning_rate, beta_1=spec["beta_1"], beta_2=spec["beta_2"], epsilon=spec["epsilon"]
    ),
    "adamw": lambda learning_rate, spec: keras.optimizers.AdamW(
        learning_rate=learning_rate, weight_decay=spec["weight_decay"], beta_1=spec["beta_1"],
        beta_2=spec["beta_2"], epsilon=spec["epsilon"]
    ),
    "schedule_free_sgd": lambda learning_rate, spec: schedule_free.ScheduleFreeSGD(
        learning_rate=learning_rate, momentum=spec["momentum"], warmup_steps=spec["warmup_steps"],
        weight_decay=spec["weight_decay"] or None
    ),
    "schedule_free_adamw": lambda learning_rate, spec: schedule_free.ScheduleFreeAdamW(
        learning_rate=learning_rate, beta_1=spec["beta_1"], beta_2=spec["beta_2"], epsilon=spec["epsilon"],
        warmup_steps=spec["warmup_steps"], weight_decay=spec["weight_decay"] or None
    ),
}


def build_optimizer(spec: OptimizerSpec, learning_rate) -> keras.optimizers.Optimizer:
    if spec.name not in KERAS_OPTIMIZERS:
        raise ValueError(f"optimizer {spec.name!r}: the keras engine knows {', '.join(KERAS_OPTIMIZERS)}")
    return KERAS_OPTIMIZERS[spec.name](learning_rate, spec)


def keras_model(spec: ModelSpec) -> keras.Model:
    """The Keras model a spec describes (its weights as Keras initialises them; a job sets its own)."""
    for layer in spec.layers:
        if layer.kind not in KERAS_LAYERS:
            raise ValueError(f"layer kind {layer.kind!r}: the keras engine knows {', '.join(KERAS_LAYERS)}")
    inputs = keras.Input((spec.features,))
    h = inputs
    for layer in spec.layers:
        h = KERAS_LAYERS[layer.kind](layer, h)
    return keras.Model(inputs, h)


def build_model(inputs: JobInputs) -> keras.Model:
    return keras_model(inputs.model)


def train_one(inputs: JobInputs, seed_position: int, schedule: sched.Schedule, optimizer: OptimizerSpec):
    keras.utils.set_random_seed(inputs.seeds[seed_position])
    model = build_model(inputs)
    model.set_weights(flat_weights(inputs.initial_weights[seed_position]))
    learning_rate, callbacks = keras_rate(schedule, inputs.epochs, inputs.steps_per_epoch)
    model.compile(
        optimizer=build_optimizer(optimizer, learning_rate),
        loss="binary_crossentropy" if inputs.model.binary else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=inputs.jit_compile,
    )
    x = inputs.x[seed_position]
    val_rows = inputs.val_rows[seed_position]
    # One batch of every validation row, as a dataset: fit and evaluate given arrays build a pipeline per call.
    validation = tf.data.Dataset.from_tensors((x[val_rows], inputs.y[val_rows]))
    history = History(inputs.epochs)
    averages = isinstance(model.optimizer, schedule_free.SCHEDULE_FREE)
    if averages:
        # z starts at the initial weights only if built now: fit would build the optimizer while tracing its train
        # step, where Keras' copy of the weights into z does not take (z would start at 0).
        model.optimizer.build(model.trainable_variables)
    # Before the schedule's callbacks: ReduceLROnPlateau watches the score at x.
    at_average = [schedule_free.ScoreAtAverage(validation)] if averages else []
    test_rows = inputs.test_rows[seed_position]
    test_at_epochs = TestAtEpochs(inputs.test_epochs, x[test_rows], inputs.y[test_rows], averages)
    model.fit(
        epoch_batches(x, inputs.y, inputs.batch_rows[seed_position], inputs.batch_size),
        epochs=inputs.epochs,
        steps_per_epoch=inputs.steps_per_epoch,
        validation_data=validation,
        shuffle=False,  # the dataset holds the order
        callbacks=[*at_average, *callbacks, history, test_at_epochs],
        verbose=0,
    )
    test_at_y = [np.nan, np.nan]
    if len(test_rows) and averages:
        test_at_y = model.evaluate(x[test_rows], inputs.y[test_rows], batch_size=len(test_rows), verbose=0)
    if averages:  # the final model is x (Keras' own evaluate and predict would score y)
        for variable, x_value in zip(model.trainable_variables, schedule_free.averaged_weights(model)):
            variable.assign(x_value)
    probability = model.predict(x[val_rows], batch_size=len(val_rows), verbose=0)
    if inputs.model.binary:
        probability = probability[:, 0]  # (n_val,) P(label 1); (n_val, classes) otherwise
    if len(test_rows):
        test = model.evaluate(x[test_rows], inputs.y[test_rows], batch_size=len(test_rows), verbose=0)
    else:
        test = [np.nan, np.nan]
    return history.rows, probability, [*test, *test_at_y], test_at_epochs.rows


def train(inputs: JobInputs) -> JobResult:
    histories, probabilities, tests, at_epochs = [], [], [], []
    for seed_position, schedule, optimizer in inputs.runs():
        rows, probability, test, tested_at = train_one(inputs, seed_position, schedule, optimizer)
        histories.append(rows)
        probabilities.append(probability)
        tests.append(test)
        at_epochs.append(tested_at)
    tests = np.asarray(tests, dtype=np.float64)
    return JobResult(history=np.stack(histories), val_probability=np.stack(probabilities),
                     test_metrics=tests[:, :2], test_metrics_at_y=tests[:, 2:], test_at_epochs=np.stack(at_epochs))

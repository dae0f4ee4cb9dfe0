"""The replica engine: all K runs of a job (seeds x schedules) trained at once, as one TensorFlow program.

One ``keras.Model.fit`` of this model spends milliseconds on arithmetic and seconds on framework
overhead. Here every weight carries a leading replica axis (K copies of the model), every replica has
its own learning rate, optimizer settings and batch order, and the whole run (epochs, updates, validation,
``ReduceLROnPlateau``'s state) is one ``tf.function``. The arithmetic is the one ``fit`` does:

- forward, layer by layer (:data:`LAYER_FORWARD`, one function per layer kind): a Dense layer
  ``h <- act(h W + b)`` (residual: ``h <- h + act(h W + b)``), a convolution as a batched matrix product of each
  output position's window of the zero-padded input with the kernel, the convolutions' output flattened
  position-major before the first Dense layer, then the output layer's logits ``z = h W + b``, starting from
  ``h = x``, the rows of the replica's seed's own table
  (``JobInputs.x[s]``: all seeds' tables are one flattened (S * rows, features) constant, gathered at
  ``s * rows + row``);
- loss, mean over the batch, on the logits ``z`` as Keras computes it: Keras' sigmoid and softmax
  activations cache their input as ``output._keras_logits`` and its losses use it (``_get_logits`` in
  ``keras/src/backend/tensorflow/nn.py``) instead of the clipped probabilities:
  - two classes (Dense(1, sigmoid), ``binary_crossentropy``): ``tf.nn.sigmoid_cross_entropy_with_logits``;
    accuracy: ``sigmoid(z) > 0.5`` equals the 0/1 label (Keras' binary accuracy, threshold 0.5);
  - more classes (Dense(classes, softmax), ``sparse_categorical_crossentropy``):
    ``tf.nn.sparse_softmax_cross_entropy_with_logits`` on the int64 label, the very call Keras makes
    (under op determinism TensorFlow computes it as ``-gather(log_softmax(z), label)`` in both engines);
    accuracy: ``argmax(softmax(z))`` equals the label (Keras' sparse categorical accuracy, which takes the
    argmax of the probabilities, so ties resolve alike);
- the update, per optimizer (:data:`OPTIMIZERS` of :mod:`schedbench.engines.replica_optimizers`, one class per
  optimizer name, its state in slots per weight, Keras' arithmetic in Keras' order), e.g. SGD with momentum as
  Keras 3: ``v <- m v - lr g``, ``w <- w + v`` (nesterov: ``w <- w + m v - lr g``), ``w <- w - lr g`` when m = 0;
  a job with several optimizers runs each one on its own replicas alone (gathered, updated, scattered back); every
  optimizer but SGD runs its update as one XLA-compiled program per weight (``jit_compile``: its dozen elementwise
  passes fused into one, the cost of an Adam-family update brought to SGD's; the arithmetic and its order are
  unchanged, and the tests hold it to Keras' within the same tolerances);
- the epoch's loss and accuracy are batch means weighted by batch size (Keras' loss tracker), the last,
  partial batch included; validation after every epoch on the whole validation set; the final model is
  evaluated on the test rows (``model.evaluate``), when the protocol holds some out, and so are the models after
  each of ``JobInputs.test_epochs`` (the shorter budgets read from this run); the model evaluated is
  x, the average, for a schedule-free optimizer, and y is scored as well (the ``*_at_y`` columns: those replicas
  only); an evaluation's forward pass runs in blocks of ``spec.EVALUATION_ROWS`` rows;
- ``ReduceLROnPlateau``: the state machine of :class:`schedbench.schedules.reactive.PlateauState`, per replica,
  with the rate kept in float32 as Keras' optimizer variable keeps it.

Results agree with the Keras engine to float32 round-off (batched matrix products sum in another order).
With ``JobInputs.jit_compile`` (``training.jit_compile``, Keras' ``compile(jit_compile=True)``) the whole update
is one XLA program: compiled once per batch size (a few seconds), faster where the model's arithmetic is
larger (MNIST-1D: benchmarks/README.md), other last bits, and still the same bits on every rerun.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from schedbench import schedules as sched
from schedbench.engines.replica_optimizers import OPTIMIZERS
from schedbench.engines.spec import (
    EVALUATION_ROWS,
    HISTORY_COLUMNS,
    Conv1DLayer,
    DenseLayer,
    JobInputs,
    JobResult,
    LayerWeights,
    ModelSpec,
    OptimizerSpec,
    flat_weights,
    history_column,
)

_MONITORS = ("loss", "accuracy", "val_loss", "val_accuracy")
_ACTIVATIONS = {"relu": tf.nn.relu, "tanh": tf.tanh, "sigmoid": tf.sigmoid}


def _dense(layer: DenseLayer, weights: LayerWeights, h, compiled: bool):
    """(K, n, units) pre-activation ``h W + b`` of every replica (``h`` (K, n, inputs), W (K, inputs, units))."""
    return tf.matmul(h, weights.kernel) + weights.bias[:, None, :]


def _windows(layer: Conv1DLayer, h, compiled: bool):
    """(K, n, frames, kernel_size, channels): each output position's window of the zero-padded input ``h`` (K, n,
    length, channels). One gather on TensorFlow's kernels; in an XLA program, contiguous slices of the input laid
    out by stride phase (tap j of every window is the slice [j // s, j // s + frames) at phase j % s), which XLA
    fuses where the gather's gradient, a scatter, does not (on TensorFlow's kernels the slices' gradients cost
    twice the gather's). The same values either way."""
    length, channels = h.shape[2], h.shape[3]
    frames, s = layer.output_length(length), layer.strides
    if not compiled:
        padded = tf.pad(h, [[0, 0], [0, 0], [layer.padding, layer.padding], [0, 0]])
        window = (np.arange(frames)[:, None] * s + np.arange(layer.kernel_size)[None, :]).astype(np.int32)
        return tf.gather(padded, window, axis=2)
    steps = frames + (layer.kernel_size - 1) // s
    padded = tf.pad(h, [[0, 0], [0, 0], [layer.padding, max(steps * s - length - layer.padding, 0)], [0, 0]])
    phases = tf.reshape(padded[:, :, : steps * s], [tf.shape(h)[0], tf.shape(h)[1], steps, s, channels])
    return tf.stack([phases[:, :, j // s : j // s + frames, j % s] for j in range(layer.kernel_size)], axis=3)


def _conv1d(layer: Conv1DLayer, weights: LayerWeights, h, compiled: bool):
    """(K, n, length out, filters) pre-activation of every replica's convolution, as a matrix product over frames:
    each output position's window of the zero-padded input, (kernel_size, channels) flattened, times the kernel
    (K, kernel_size, channels, filters) flattened alike. ``h`` (K, n, length, channels), or (K, n, features): one
    channel."""
    if h.shape.rank == 3:
        h = h[..., None]
    channels = h.shape[3]
    frames = layer.output_length(h.shape[2])
    patches = _windows(layer, h, compiled)
    k, n = tf.shape(h)[0], tf.shape(h)[1]
    width = layer.kernel_size * channels
    patches = tf.reshape(patches, [k, n * frames, width])
    kernel = tf.reshape(weights.kernel, [k, width, layer.filters])
    out = tf.matmul(patches, kernel) + weights.bias[:, None, :]
    return tf.reshape(out, [k, n, frames, layer.filters])


def _flattened(h):
    """(K, n, length x channels): a convolution's (K, n, length, channels) output position-major, as Keras'
    Flatten on channels-last; ``h`` as it is when already flat."""
    if h.shape.rank == 4:
        return tf.reshape(h, tf.concat([tf.shape(h)[:2], [h.shape[2] * h.shape[3]]], axis=0))
    return h


# Layer kind -> its forward pass: (layer spec, its weights, input, in an XLA program) -> pre-activation.
LAYER_FORWARD = {DenseLayer.kind: _dense, Conv1DLayer.kind: _conv1d}


def forward(model: ModelSpec, weights: list[LayerWeights], x, compiled: bool = False):
    """(K, n, outputs) logits of the output layer of every replica's model, given its weights (a LayerWeights per
    layer of ``model.layers``, each with a leading replica axis) and its rows ``x`` (K, n, features); ``compiled``:
    traced into an XLA program."""
    h = x
    for layer, layer_weights in zip(model.hidden, weights):
        dense = layer.kind == DenseLayer.kind
        if dense:
            h = _flattened(h)
        out = _ACTIVATIONS[layer.activation](LAYER_FORWARD[layer.kind](layer, layer_weights, h, compiled))
        h = h + out if dense and layer.residual else out
    return LAYER_FORWARD[model.output.kind](model.output, weights[-1], _flattened(h), compiled)


def _replica_arrays(inputs: JobInputs) -> dict[str, np.ndarray]:
    """Per-replica constants: rate tables and the plateau schedules' parameters."""
    replicas = inputs.replicas()
    k = len(replicas)
    total_steps = inputs.epochs * inputs.steps_per_epoch
    arrays = {
        "seed_index": np.array([s for s, _ in replicas], np.int32),
        "rates": np.zeros((k, total_steps), np.float32),
        "reactive": np.array([schedule.reactive for _, schedule in replicas], bool),
        "factor": np.ones(k, np.float64),
        "patience": np.zeros(k, np.int32),
        "min_delta": np.zeros(k, np.float64),
        "cooldown": np.zeros(k, np.int32),
        "min_lr": np.zeros(k, np.float64),
        "maximise": np.zeros(k, bool),
        "monitor": np.zeros(k, np.int32),
    }
    tables = {schedule.name: schedule.rates(inputs.epochs, inputs.steps_per_epoch)
              for schedule in inputs.schedules if not schedule.reactive}
    for i, (_, schedule) in enumerate(replicas):
        if isinstance(schedule, sched.ReduceOnPlateau):
            arrays["rates"][i] = np.float32(schedule.lr0)
            arrays["factor"][i] = schedule.factor
            arrays["patience"][i] = schedule.patience
            arrays["min_delta"][i] = schedule.min_delta
            arrays["cooldown"][i] = schedule.cooldown
            arrays["min_lr"][i] = schedule.min_lr
            arrays["maximise"][i] = schedule.mode == "max"
            arrays["monitor"][i] = _MONITORS.index(schedule.monitor)
        else:
            arrays["rates"][i] = tables[schedule.name]
    return arrays


def _replicas(values, index):
    """The rows of ``values`` (K, ...) at ``index`` (n, 1); all of them when ``index`` is None."""
    return values if index is None else tf.gather_nd(tf.convert_to_tensor(values), index)


class ReplicaTrainer:
    def __init__(self, inputs: JobInputs):
        self.binary = inputs.model.binary
        self.classes = inputs.model.classes
        self.epochs = inputs.epochs
        self.batch_size = inputs.batch_size
        self.n_train = inputs.n_train
        self.steps_per_epoch = inputs.steps_per_epoch
        self.model = inputs.model
        arrays = _replica_arrays(inputs)
        seed_index = arrays.pop("seed_index")
        self.constants = {name: tf.constant(value) for name, value in arrays.items()}
        x = np.asarray(inputs.x, np.float32)
        n_seeds, rows, features = x.shape
        # One constant for all seeds' tables; replica i reads its seed's table at row_offset[i] + row.
        self.x = tf.constant(np.ascontiguousarray(x).reshape(n_seeds * rows, features))
        self.row_offset = tf.constant((seed_index * rows).astype(np.int32))
        # float32 in both cases (0/1, or the class index); the multi-class loss casts it to int64 as Keras does.
        self.y = tf.constant(np.asarray(inputs.y, np.float32))
        self.seed_index = tf.constant(seed_index)
        self.batch_rows = tf.constant(inputs.batch_rows.astype(np.int32))
        self.val_rows = tf.constant(inputs.val_rows[seed_index].astype(np.int32))
        self.test_rows = tf.constant(inputs.test_rows[seed_index].astype(np.int32))
        self.n_test = inputs.n_test
        # Per layer its kernel and bias with a leading replica axis; self.variables lists them for the tape.
        self.weights = [
            LayerWeights(**{name: tf.Variable(np.stack([getattr(inputs.initial_weights[s][j], name)
                                                        for s in seed_index]))
                            for name in LayerWeights.NAMES})
            for j in range(len(inputs.model.layers))
        ]
        self.variables = flat_weights(self.weights)
        self.optimizers = self._optimizers([optimizer for _, _, optimizer in inputs.runs()])
        k = len(seed_index)
        self.lr = tf.Variable(arrays["rates"][:, 0])
        self.best = tf.Variable(tf.zeros(k))
        self.has_best = tf.Variable(tf.zeros(k, tf.bool))
        self.wait = tf.Variable(tf.zeros(k, tf.int32))
        self.cooldown_counter = tf.Variable(tf.zeros(k, tf.int32))
        self.history = tf.Variable(tf.zeros((self.epochs, k, len(HISTORY_COLUMNS))))
        self.test_epochs = tuple(inputs.test_epochs)
        if self.test_epochs:
            self.test_after = tf.constant([epoch + 1 in self.test_epochs for epoch in range(self.epochs)])
            self.test_history = tf.Variable(tf.fill((self.epochs, k, 4), float("nan")))
        # Keras' optimizer.iterations: updates done (the same for every replica of a job).
        self.iterations = tf.Variable(tf.zeros(k, tf.int64))
        self.averages = any(hasattr(optimizer, "average") for optimizer, _, _ in self.optimizers)
        has_average = np.array([hasattr(OPTIMIZERS[spec.name], "average") for _, _, spec in inputs.runs()])
        # The replicas whose y is scored beside x: only theirs is evaluated (a replica's scores do not depend on
        # which others are evaluated with it).
        self.averaging = tf.constant(np.flatnonzero(has_average).astype(np.int32)[:, None])
        self.jit_compile = inputs.jit_compile
        if self.jit_compile:
            # Keras' compile(jit_compile=True): the update (forward, gradient and every optimizer's step) as one
            # XLA program, compiled once per batch size; XLA orders the sums its own way, so other last bits.
            self._update = tf.function(self._update, jit_compile=True, autograph=False)

    def _optimizers(self, specs: list[OptimizerSpec]) -> list[tuple]:
        """(optimizer, its replicas' indices (n, 1) or None when it trains them all, its slots per variable) per
        optimizer name in the job. An optimizer is built for its own replicas only and its slots hold only theirs:
        a job of three optimizers does one optimizer's arithmetic per replica, not three masked."""
        out = []
        names = list(dict.fromkeys(spec.name for spec in specs))
        for name in names:
            if name not in OPTIMIZERS:
                raise ValueError(f"optimizer {name!r}: the replica engine knows {', '.join(OPTIMIZERS)}")
            mine = [i for i, spec in enumerate(specs) if spec.name == name]
            optimizer = OPTIMIZERS[name]([specs[i] for i in mine])
            if name != "sgd":
                # One fused XLA program per update instead of ~15 elementwise passes over every weight; SGD keeps
                # TensorFlow's own kernels, so that its runs stay the bits they always were.
                optimizer.step = tf.function(optimizer.step, jit_compile=True, autograph=False)
            index = None if len(names) == 1 else tf.constant(np.array(mine, np.int32)[:, None])
            slots = [[tf.Variable(value) for value in optimizer.initial(_replicas(variable, index))]
                     for variable in self.variables]
            out.append((optimizer, index, slots))
        return out

    def _averaged(self):
        """The model to evaluate, per layer: x where a schedule-free optimizer trains the replica, y (the weights)
        elsewhere; None when no replica has an average."""
        averaging = [(optimizer, index, slots) for optimizer, index, slots in self.optimizers
                     if hasattr(optimizer, "average")]
        if not averaging:
            return None
        flat = []
        for j, weight in enumerate(self.variables):
            value = tf.identity(weight)
            for optimizer, index, slots in averaging:
                x = optimizer.average(_replicas(weight, index), slots[j])
                value = x if index is None else tf.tensor_scatter_nd_update(value, index, x)
            flat.append(value)
        names = LayerWeights.NAMES
        return [LayerWeights(*flat[i: i + len(names)]) for i in range(0, len(flat), len(names))]

    def _gather(self, rows, row_offset=None):
        """(x, y) of replica i's rows ``rows[i]`` (indices into the rows axis), x from its seed's table (at
        ``row_offset[i]``: by default the replica's own)."""
        row_offset = self.row_offset if row_offset is None else row_offset
        return tf.gather(self.x, rows + row_offset[:, None]), tf.gather(self.y, rows)

    def _logits(self, x, weights=None, compiled=False):
        """(K, n) logits of the sigmoid unit for two classes, (K, n, classes) softmax logits for more; of the
        weights being trained, or ``weights`` (a LayerWeights per layer); ``compiled``: in the XLA program."""
        logits = forward(self.model, self.weights if weights is None else weights, x, compiled)
        return logits[:, :, 0] if self.binary else logits

    def _example_loss(self, y, logits):
        """(K, n) per-example cross-entropy from the logits, as Keras computes it for the output layer."""
        if self.binary:
            return tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits)
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(y, tf.int64), logits=logits)

    def _probability(self, logits):
        """P(label 1) (K, n) for two classes; class probabilities (K, n, classes) for more."""
        return tf.sigmoid(logits) if self.binary else tf.nn.softmax(logits, axis=-1)

    def _correct(self, probability, y):
        """(K, n) float32 1/0: Keras' binary accuracy (threshold 0.5) or sparse categorical accuracy."""
        if self.binary:
            return tf.cast(tf.equal(tf.cast(probability > 0.5, tf.float32), y), tf.float32)
        return tf.cast(tf.equal(tf.cast(tf.argmax(probability, axis=-1), tf.float32), y), tf.float32)

    def _update(self, epoch, start, size, step):
        # Gathers, not slices: under XLA a slice's bounds are compile-time constants (one compilation per
        # update), a gather's indices are data.
        rows = tf.gather(tf.gather(tf.gather(self.batch_rows, epoch, axis=1), start + tf.range(size), axis=1),
                         self.seed_index)
        x, y = self._gather(rows)
        with tf.GradientTape() as tape:
            logits = self._logits(x, compiled=self.jit_compile)
            loss = tf.reduce_mean(self._example_loss(y, logits), axis=1)
            # Replicas share no weights, so the gradient of the sum is each replica's own gradient.
            total = tf.reduce_sum(loss)
        gradients = tape.gradient(total, self.variables)
        c = self.constants
        lr = tf.where(c["reactive"], self.lr, tf.gather(c["rates"], step, axis=1))
        local_step = tf.cast(self.iterations + 1, tf.float32)
        for j, (weight, gradient) in enumerate(zip(self.variables, gradients)):
            # Each optimizer updates its own replicas (all of them when the job has one optimizer).
            new_weight = weight
            for optimizer, index, slots in self.optimizers:
                mine, new_slots = optimizer.step(_replicas(weight, index), slots[j], _replicas(gradient, index),
                                                 _replicas(lr, index), _replicas(local_step, index))
                new_weight = mine if index is None else tf.tensor_scatter_nd_update(new_weight, index, mine)
                for slot, value in zip(slots[j], new_slots):
                    slot.assign(value)
            weight.assign(new_weight)
        self.iterations.assign_add(tf.ones_like(self.iterations))
        correct = self._correct(self._probability(logits), y)
        return loss * tf.cast(size, tf.float32), tf.reduce_sum(correct, axis=1), lr

    def _evaluate(self, rows, weights=None, row_offset=None):
        """(loss, accuracy, probabilities) of every replica's model on its ``rows``; the weights being trained
        (y), or ``weights``, with the replicas' ``row_offset`` when not all replicas are evaluated."""
        x, y = self._gather(rows, row_offset)
        # The forward pass in blocks of rows: a row's logits do not depend on the others', and the peak memory of
        # a convolution's windows over all validation rows of every replica is gigabytes.
        n = x.shape[1]
        logits = tf.concat([self._logits(x[:, i : i + EVALUATION_ROWS], weights)
                            for i in range(0, n, EVALUATION_ROWS)], axis=1)
        probability = self._probability(logits)
        loss = tf.reduce_mean(self._example_loss(y, logits), axis=1)
        correct = self._correct(probability, y)
        return loss, tf.reduce_mean(correct, axis=1), probability

    def _plateau(self, metrics):
        """One ``ReduceLROnPlateau.on_epoch_end`` for every replica (a no-op for the others)."""
        c = self.constants
        current = tf.gather(tf.stack(metrics, axis=1), c["monitor"], batch_dims=1)
        in_cooldown = self.cooldown_counter > 0
        cooldown_counter = tf.where(in_cooldown, self.cooldown_counter - 1, self.cooldown_counter)
        wait = tf.where(in_cooldown, 0, self.wait)
        # As Keras: the shifted value is formed in float64, then compared in float32.
        current64, min_delta = tf.cast(current, tf.float64), c["min_delta"]
        raised = tf.cast(current64 + min_delta, tf.float32)
        lowered = tf.cast(current64 - min_delta, tf.float32)
        improved = tf.logical_not(self.has_best) | tf.where(c["maximise"], lowered > self.best, raised < self.best)
        best = tf.where(improved, current, self.best)
        wait = tf.where(improved, 0, wait)
        waiting = tf.logical_not(improved) & tf.logical_not(cooldown_counter > 0)
        wait = tf.where(waiting, wait + 1, wait)
        reduce = waiting & (wait >= c["patience"]) & (self.lr > tf.cast(c["min_lr"], tf.float32))
        reduced = tf.cast(tf.maximum(tf.cast(self.lr, tf.float64) * c["factor"], c["min_lr"]), tf.float32)
        reactive = c["reactive"]
        self.lr.assign(tf.where(reduce & reactive, reduced, self.lr))
        self.cooldown_counter.assign(tf.where(reduce, c["cooldown"], cooldown_counter))
        self.wait.assign(tf.where(reduce, 0, wait))
        self.best.assign(best)
        self.has_best.assign(tf.ones_like(self.has_best))

    def _fit(self):
        probability = tf.zeros_like(tf.cast(self.val_rows, tf.float32))
        if not self.binary:
            probability = tf.zeros((*self.val_rows.shape, self.classes))
        for epoch in tf.range(self.epochs):
            first_step = epoch * self.steps_per_epoch
            loss_sum = tf.zeros_like(self.lr)
            correct_sum = tf.zeros_like(self.lr)
            epoch_lr = tf.where(self.constants["reactive"], self.lr, self.constants["rates"][:, first_step])
            for batch in tf.range(self.steps_per_epoch):
                # One update in the graph: the last, partial batch is the same program with fewer rows.
                start = batch * self.batch_size
                size = tf.minimum(self.batch_size, self.n_train - start)
                loss, correct, _ = self._update(epoch, start, size, first_step + batch)
                loss_sum += loss
                correct_sum += correct
            # divide_no_nan: Grappler would turn x / n into x * (1 / n), one ulp off Keras' count / n.
            n_train = tf.constant(float(self.n_train))
            train_loss = tf.math.divide_no_nan(loss_sum, n_train)
            train_accuracy = tf.math.divide_no_nan(correct_sum, n_train)
            # Scored at x (schedule-free's average; y elsewhere), and at y where they differ.
            average = self._averaged()
            val_loss, val_accuracy, probability = self._evaluate(self.val_rows, average)
            columns = {"lr": epoch_lr, "loss": train_loss, "accuracy": train_accuracy, "val_loss": val_loss,
                       "val_accuracy": val_accuracy, **self._at_y(self.val_rows, "val_")}
            self.history[epoch].assign(tf.stack([columns[name] for name in HISTORY_COLUMNS], axis=1))
            self._plateau([columns[name] for name in _MONITORS])
            if self.test_epochs:  # Python: a job without test epochs keeps the graph it always had
                if self.test_after[epoch]:
                    self.test_history[epoch].assign(self._test_scores(average))
        return probability, self._test_scores(self._averaged())

    # Autograph turns _fit's loops over tf.range and its test-epoch condition into graph control flow. The functions
    # it calls have none of their own; converting them too (tf.function's default, recursive) only cost time:
    # ~3 of a small job's 7 s of tracing.
    fit = tf.function(tf.autograph.to_graph(_fit, recursive=False), autograph=False)

    def _test_scores(self, average):
        """(K, 4): test loss and accuracy of the model evaluated (x for a schedule-free optimizer), then at y."""
        if self.n_test:
            test_loss, test_accuracy, _ = self._evaluate(self.test_rows, average)
            at_y = self._at_y(self.test_rows, "test_")
        else:
            test_loss = test_accuracy = tf.fill(tf.shape(self.lr), float("nan"))
            at_y = {"test_loss_at_y": test_loss, "test_accuracy_at_y": test_loss}
        return tf.stack([test_loss, test_accuracy, at_y["test_loss_at_y"], at_y["test_accuracy_at_y"]], axis=1)

    def _at_y(self, rows, prefix: str) -> dict:
        """``<prefix>loss_at_y`` and ``<prefix>accuracy_at_y``: the score of y where the replica's optimizer has an
        average (x), NaN elsewhere."""
        if not self.averages:
            nan = tf.fill(tf.shape(self.lr), float("nan"))
            return {f"{prefix}loss_at_y": nan, f"{prefix}accuracy_at_y": nan}
        picked = self.averaging
        weights = [LayerWeights(*(_replicas(weight, picked) for weight in layer.arrays())) for layer in self.weights]
        loss, accuracy, _ = self._evaluate(_replicas(rows, picked), weights, _replicas(self.row_offset, picked))
        nan = tf.fill(tf.shape(self.lr), float("nan"))
        return {f"{prefix}loss_at_y": tf.tensor_scatter_nd_update(nan, picked, loss),
                f"{prefix}accuracy_at_y": tf.tensor_scatter_nd_update(nan, picked, accuracy)}


def train(inputs: JobInputs) -> JobResult:
    trainer = ReplicaTrainer(inputs)
    probability, test = trainer.fit()
    history = np.transpose(trainer.history.numpy(), (1, 0, 2)).astype(np.float64)
    # The table's rate is the formula's value; report it at full precision, not as the float32 used.
    epoch_rates = {schedule.name: schedule.epoch_rates(inputs.epochs, inputs.steps_per_epoch)
                   for schedule in inputs.schedules if not schedule.reactive}
    for i, (_, schedule) in enumerate(inputs.replicas()):
        if not schedule.reactive:
            history[i, :, history_column("lr")] = epoch_rates[schedule.name]
    test = test.numpy().astype(np.float64)
    at_epochs = np.zeros((len(history), 0, 4))
    if inputs.test_epochs:
        scored = trainer.test_history.numpy()[[epoch - 1 for epoch in inputs.test_epochs]]
        at_epochs = np.transpose(scored, (1, 0, 2)).astype(np.float64)
    return JobResult(history=history, val_probability=probability.numpy(), test_metrics=test[:, :2],
                     test_metrics_at_y=test[:, 2:], test_at_epochs=at_epochs)

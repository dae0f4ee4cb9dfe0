"""A job's runs in JAX, as a user who outgrows Keras ``fit`` would write them: the yardstick of the replica engine.

    PYTHONPATH=src python benchmarks/jax_replica.py --workload mnist1d_mlp --k 300     # one timing, JSON on stdout

Needs the optional ``bench`` extra (``pip install -e ".[bench]"``: jax[cpu]); nothing in the workflow imports it.

The same problem as the replica engine (:mod:`schedbench.engines.replica`): every run of a
:class:`~schedbench.engines.spec.JobInputs` (seeds x variants) from its seed's initial weights, over its seed's
batch order (``batch_rows``), at the per-update rates of its schedule's ``rates()`` table; the model as
:class:`~schedbench.engines.spec.ModelSpec` defines it (dense layers, residual or not; 1-D convolutions with zero
padding and strides, ``jax.lax.conv_general_dilated``, flattened position-major), sigmoid binary cross-entropy on
the logits for two classes, softmax cross-entropy for more; SGD with momentum (Keras 3: ``v <- m v - lr g``,
``w <- w + v``; nesterov ``w <- w + m v - lr g``) and Adam/AdamW (Keras 3's order: decay ``w <- w - w wd lr`` first,
then the moments and ``w <- w - m alpha / (sqrt(v) + epsilon)``, ``alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)``)
and schedule-free SGD and AdamW as :mod:`schedbench.engines.replica_optimizers` (gradients at y, scored at x, the
average, and at y); training loss and accuracy per epoch as batch means weighted by batch size, validation after
every epoch.

How: ``jax.vmap`` over the runs of each optimizer (one group per update: a vmapped function has one), ``jax.lax.scan``
over the epoch's full batches and one more step for the last, partial batch, one ``jax.jit`` per epoch (the epoch
index traced, so one compilation serves every epoch).

Not implemented: ``ReduceLROnPlateau``; its runs train at their initial rate, as stand-ins of the same cost (its state
machine is a few scalars per epoch), counted in ``stand_ins`` and left out of agreement checks. Float32 throughout;
results agree with the replica engine to round-off and the order of summation, not to the bit.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

# Optimizer name of the config -> the update trained here (Adam is AdamW at weight decay 0).
# The columns of JaxReplicas.fit's history: spec.HISTORY_COLUMNS but the rate.
COLUMNS = ("loss", "accuracy", "val_loss", "val_accuracy", "val_loss_at_y", "val_accuracy_at_y")
UPDATE_OF = {"sgd": "sgd", "adam": "adam", "adamw": "adam", "schedule_free_sgd": "schedule_free_sgd",
             "schedule_free_adamw": "schedule_free_adamw"}
_ACTIVATIONS = {"relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}


def forward(model, params, x):
    """Logits (n, outputs) of one run's model, ``params`` a (kernel, bias) per layer, ``x`` (n, features)."""
    h = x
    for layer, (kernel, bias) in zip(model.hidden, params):
        if layer.kind == "conv1d":
            if h.ndim == 2:
                h = h[:, :, None]
            out = jax.lax.conv_general_dilated(h, kernel, window_strides=(layer.strides,),
                                               padding=[(layer.padding, layer.padding)],
                                               dimension_numbers=("NWC", "WIO", "NWC")) + bias
            h = _ACTIVATIONS[layer.activation](out)
            continue
        h = h.reshape(h.shape[0], -1)
        out = _ACTIVATIONS[layer.activation](h @ kernel + bias)
        h = h + out if layer.residual else out
    kernel, bias = params[-1]
    return h.reshape(h.shape[0], -1) @ kernel + bias


def _scores(model, params, x, y):
    """(per-example loss (n,), correct (n,) 1/0) from the logits, as the replica engine scores them."""
    logits = forward(model, params, x)
    if model.binary:
        z = logits[:, 0]
        loss = jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z)))
        correct = ((jax.nn.sigmoid(z) > 0.5).astype(jnp.float32) == y).astype(jnp.float32)
        return loss, correct
    label = y.astype(jnp.int32)
    loss = -jnp.take_along_axis(jax.nn.log_softmax(logits), label[:, None], axis=1)[:, 0]
    return loss, (jnp.argmax(logits, axis=1) == label).astype(jnp.float32)


def _sgd(weight, slots, gradient, lr, t, hyper):
    (velocity,) = slots
    velocity = velocity * hyper["momentum"] - gradient * lr
    nesterov = velocity * hyper["momentum"] - gradient * lr
    return weight + jnp.where(hyper["nesterov"], nesterov, velocity), (velocity,)


def _adam(weight, slots, gradient, lr, t, hyper):
    momentum, velocity = slots
    weight = weight - weight * hyper["weight_decay"] * lr
    alpha = lr * jnp.sqrt(1 - hyper["beta_2"] ** t) / (1 - hyper["beta_1"] ** t)
    momentum = momentum + (gradient - momentum) * (1 - hyper["beta_1"])
    velocity = velocity + (jnp.square(gradient) - velocity) * (1 - hyper["beta_2"])
    return weight - (momentum * alpha) / (jnp.sqrt(velocity) + hyper["epsilon"]), (momentum, velocity)


def _schedule_free(weight, z_old, z, t, hyper):
    """The new y of schedule-free: x, the running average of z with weight 1 / t, recovered from y and the old z."""
    beta = hyper["beta"]
    x_old = (weight - (1 - beta) * z_old) / beta
    x_new = (1 - 1 / t) * x_old + (1 / t) * z
    return (1 - beta) * z + beta * x_new


def _warmed_up(lr, t, hyper):
    warmup = hyper["warmup_steps"]
    return jnp.where(warmup > 0, lr * jnp.minimum(t / jnp.maximum(warmup, 1), 1.0), lr)


def _schedule_free_sgd(weight, slots, gradient, lr, t, hyper):
    (z_old,) = slots
    weight = weight - weight * hyper["weight_decay"] * lr
    z = z_old - _warmed_up(lr, t, hyper) * gradient
    return _schedule_free(weight, z_old, z, t, hyper), (z,)


def _schedule_free_adamw(weight, slots, gradient, lr, t, hyper):
    z_old, velocity = slots
    weight = weight - weight * hyper["weight_decay"] * lr
    lr = _warmed_up(lr, t, hyper)
    velocity = velocity + (jnp.square(gradient) - velocity) * (1 - hyper["beta_2"])
    denominator = jnp.sqrt(velocity / (1 - hyper["beta_2"] ** t)) + hyper["epsilon"]
    z = z_old - (lr * gradient) / denominator
    return _schedule_free(weight, z_old, z, t, hyper), (z, velocity)


def _average(weight, slots, hyper):
    """x, the model a schedule-free optimizer is scored at: ``x = (y - (1 - beta) z) / beta``."""
    return (weight - (1 - hyper["beta"]) * slots[0]) / hyper["beta"]


def _zeros(weight, count):
    return tuple(jnp.zeros_like(weight) for _ in range(count))


# Update -> (step, its slots from a weight, whether the model scored is x, the average).
UPDATES = {
    "sgd": (_sgd, lambda w: _zeros(w, 1), False),
    "adam": (_adam, lambda w: _zeros(w, 2), False),
    "schedule_free_sgd": (_schedule_free_sgd, lambda w: (w,), True),
    "schedule_free_adamw": (_schedule_free_adamw, lambda w: (w, jnp.zeros_like(w)), True),
}


def _hyper(update: str, spec) -> dict:
    """One run's optimizer settings as float32 scalars (Keras' defaults where the spec has none)."""
    get = spec.parameters.get
    if update == "sgd":
        return {"momentum": np.float32(get("momentum", 0.0)), "nesterov": np.bool_(get("nesterov", False))}
    if update == "adam":
        return {"beta_1": np.float32(get("beta_1", 0.9)), "beta_2": np.float32(get("beta_2", 0.999)),
                "epsilon": np.float32(get("epsilon", 1e-7)), "weight_decay": np.float32(get("weight_decay", 0.0))}
    adamw = update == "schedule_free_adamw"
    return {"beta": np.float32(get("beta_1", 0.9) if adamw else get("momentum", 0.9)),
            "beta_2": np.float32(get("beta_2", 0.999)), "epsilon": np.float32(get("epsilon", 1e-8)),
            "weight_decay": np.float32(get("weight_decay", 0.0)), "warmup_steps": np.float32(get("warmup_steps", 0))}


def _stack(dicts: list[dict]) -> dict:
    return {key: np.stack([d[key] for d in dicts]) for key in dicts[0]}


class JaxReplicas:
    """Every run of ``inputs`` trained with JAX; :meth:`fit` trains them from their initial weights and returns
    the history, (K, epochs, len(COLUMNS)), runs in ``inputs.runs()`` order; the ``*_at_y`` columns NaN but for
    schedule-free runs, whose val_loss and val_accuracy score x, the average."""

    def __init__(self, inputs):
        self.model = inputs.model
        self.epochs, self.batch_size, self.n_train = inputs.epochs, inputs.batch_size, inputs.n_train
        self.steps = inputs.steps_per_epoch
        self.full_batches = self.n_train // self.batch_size
        n_seeds, rows, features = inputs.x.shape
        self.x = jnp.asarray(np.ascontiguousarray(inputs.x, np.float32).reshape(n_seeds * rows, features))
        self.y = jnp.asarray(inputs.y, jnp.float32)
        runs = inputs.runs()
        self.stand_ins = 0
        groups: dict[str, list[int]] = {}
        for i, (_, schedule, spec) in enumerate(runs):
            groups.setdefault(UPDATE_OF[spec.name], []).append(i)
            self.stand_ins += bool(schedule.reactive)
        self.groups = []
        for update, members in groups.items():
            seeds = np.array([runs[i][0] for i in members])
            rates = np.stack([np.full(self.epochs * self.steps, schedule.lr0, np.float32) if schedule.reactive
                              else np.asarray(schedule.rates(self.epochs, self.steps), np.float32)
                              for _, schedule, _ in (runs[i] for i in members)])
            self.groups.append({
                "update": update, "members": np.array(members),
                "offset": jnp.asarray(seeds * rows, jnp.int32),
                "batch_rows": jnp.asarray(inputs.batch_rows[seeds].astype(np.int32)),  # (k, epochs, n_train)
                "val_rows": jnp.asarray(inputs.val_rows[seeds].astype(np.int32)),
                "rates": jnp.asarray(rates),
                "hyper": {key: jnp.asarray(value) for key, value in
                          _stack([_hyper(update, runs[i][2]) for i in members]).items()},
                "initial": [tuple(jnp.asarray(np.stack([getattr(inputs.initial_weights[s][j], name) for s in seeds]))
                                  for name in ("kernel", "bias")) for j in range(len(self.model.layers))],
            })
        self._epoch = jax.jit(self._epoch_all)

    def _step(self, update, state, rows, lr, t, hyper, x_of):
        """One update of one run on its ``rows``: (new state, (summed loss, summed correct))."""
        params, slots = state
        x, y = x_of(rows), self.y[rows]

        def mean_loss(p):
            loss, correct = _scores(self.model, p, x, y)
            return jnp.mean(loss), (loss, correct)

        (_, (loss, correct)), gradients = jax.value_and_grad(mean_loss, has_aux=True)(params)
        step = UPDATES[update][0]
        flat_p, tree = jax.tree_util.tree_flatten(params)
        flat_g = jax.tree_util.tree_leaves(gradients)
        new_p, new_s = [], []
        for weight, gradient, weight_slots in zip(flat_p, flat_g, slots):
            weight, weight_slots = step(weight, weight_slots, gradient, lr, t, hyper)
            new_p.append(weight)
            new_s.append(weight_slots)
        return (jax.tree_util.tree_unflatten(tree, new_p), new_s), (jnp.sum(loss), jnp.sum(correct))

    def _run_epoch(self, update, epoch, state, offset, batch_rows, val_rows, rates, hyper):
        """One run's epoch: scan over its full batches, one step on the partial batch, then validation."""
        x_of = lambda rows: self.x[offset + rows]  # the run's own seed's table
        order = batch_rows[epoch]
        lrs = jax.lax.dynamic_slice_in_dim(rates, epoch * self.steps, self.steps)
        first = (epoch * self.steps).astype(jnp.float32)
        full = self.full_batches * self.batch_size

        def body(carry, batch):
            rows, lr, t = batch
            return self._step(update, carry, rows, lr, t, hyper, x_of)

        ts = first + 1 + jnp.arange(self.full_batches, dtype=jnp.float32)
        state, (losses, corrects) = jax.lax.scan(
            body, state, (order[:full].reshape(self.full_batches, self.batch_size), lrs[: self.full_batches], ts))
        loss_sum, correct_sum = jnp.sum(losses), jnp.sum(corrects)
        if full < self.n_train:
            state, (loss, correct) = self._step(update, state, order[full:], lrs[-1], first + self.steps, hyper, x_of)
            loss_sum, correct_sum = loss_sum + loss, correct_sum + correct
        x_val, y_val = x_of(val_rows), self.y[val_rows]
        val_loss, val_correct = _scores(self.model, state[0], x_val, y_val)
        at_y = jnp.full(2, jnp.nan)
        if UPDATES[update][2]:  # scored at x, the average, and at y as well
            at_y = jnp.stack([jnp.mean(val_loss), jnp.mean(val_correct)])
            params, slots = state
            flat, tree = jax.tree_util.tree_flatten(params)
            average = jax.tree_util.tree_unflatten(tree, [_average(w, s, hyper) for w, s in zip(flat, slots)])
            val_loss, val_correct = _scores(self.model, average, x_val, y_val)
        scores = jnp.concatenate([jnp.stack([loss_sum / self.n_train, correct_sum / self.n_train,
                                             jnp.mean(val_loss), jnp.mean(val_correct)]), at_y])
        return state, scores

    def _epoch_all(self, states, epoch):
        out_states, out_scores = [], []
        for group, state in zip(self.groups, states):
            run = partial(self._run_epoch, group["update"], epoch)
            state, scores = jax.vmap(run)(state, group["offset"], group["batch_rows"], group["val_rows"],
                                          group["rates"], group["hyper"])
            out_states.append(state)
            out_scores.append(scores)
        return out_states, out_scores

    def initial_states(self) -> list:
        states = []
        for group in self.groups:
            params = [tuple(layer) for layer in group["initial"]]
            initial = UPDATES[group["update"]][1]
            slots = [initial(w) for w in jax.tree_util.tree_leaves(params)]
            states.append((params, slots))
        return states

    def fit(self) -> np.ndarray:
        states = self.initial_states()
        k = sum(len(group["members"]) for group in self.groups)
        history = np.zeros((k, self.epochs, len(COLUMNS)), np.float32)
        for epoch in range(self.epochs):
            states, scores = self._epoch(states, jnp.int32(epoch))
            for group, group_scores in zip(self.groups, scores):
                history[group["members"], epoch] = np.asarray(group_scores)
        return history


def timing(workload: str, k: int, data_dir: Path, epochs: int | None = None, configfile: Path | None = None) -> dict:
    """Build, trace and run a job of at least ``k`` runs, then run it again (the steady run): seconds and memory."""
    from workload_jobs import job_of_k, peak_mb

    inputs = job_of_k(workload, k, data_dir, configfile, epochs)
    t0 = time.perf_counter()
    trainer = JaxReplicas(inputs)
    trainer.fit()
    t1 = time.perf_counter()
    trainer.fit()
    t2 = time.perf_counter()
    k_actual = len(inputs.runs())
    return {"k": k_actual, "epochs": inputs.epochs, "total_s": t1 - t0, "steady_s": t2 - t1,
            "steady_runs_per_s": k_actual / (t2 - t1), "peak_mb": peak_mb(), "stand_ins": trainer.stand_ins,
            "jax": jax.__version__}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", required=True, choices=["ionosphere", "mnist1d_mlp", "mnist1d_cnn"])
    parser.add_argument("--k", type=int, required=True, help="runs (rounded up to whole seeds)")
    parser.add_argument("--epochs", type=int, help="epochs per run instead of the workload's")
    parser.add_argument("--data-dir", type=Path, required=True, help="where the generated tables are kept")
    parser.add_argument("--configfile", type=Path, help="a config file laid over config.yaml")
    args = parser.parse_args()
    print(json.dumps(timing(args.workload, args.k, args.data_dir, args.epochs, args.configfile)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Runs per second of each workload, the replica engine against Keras ``fit``, side by side in one invocation.

    PYTHONPATH=src python benchmarks/bench_workloads.py                    # ~10 minutes on 2 cores
    PYTHONPATH=src python benchmarks/bench_workloads.py --workloads mnist1d_cnn --ks 150 --keras-runs 1

A workload is a dataset of config.yaml as a study trains it (its model, epochs, batch size, held-out split): the
tables' ``ionosphere`` as the ``tuning`` study trains it, ``mnist1d_mlp`` and ``mnist1d_cnn`` as the
``optimizers`` study does. For each, in fresh processes, alternating: (r) the replica engine, K runs (seeds x the
study's variants, K rounded up to whole seeds) as one job: building, tracing and the run, as a training job pays
them once TensorFlow is imported, and the steady run alone (a second ``fit()``); (k) the reference engine
(``schedbench.engines.keras_fit``: Keras ``fit`` fed one ``tf.data`` pipeline per run in the job's batch order, with
the test rows and predictions the workflow needs) looped in one process, one warm-up run, then ``--keras-runs`` timed
runs of the same job; (a) Keras ``fit`` as the article calls it, looped the same way: the seed's training and
validation rows as arrays, Keras shuffling them (:func:`fit_on_arrays`). Per workload: runs per second of each, the
ratios, seconds per run-epoch and the peak memory (VmHWM) of the replica process.

Results are printed and written to benchmarks/results/ (git-ignored) as bench-workloads-<timestamp>.{json,md}.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workload_jobs import RESULTS, ROOT, WORKLOADS
from workload_jobs import job as _job
from workload_jobs import peak_mb as _peak_mb
from workload_jobs import time_replica


def fit_on_arrays(inputs, seed_position: int, schedule, optimizer) -> None:
    """One run of ``inputs`` as the article and most Keras users call ``fit``: the seed's training rows and validation
    rows as numpy arrays, Keras shuffling the training rows every epoch (``shuffle=True``, its default); the reference
    engine's model, initial weights, schedule (its Keras objects and callbacks) and optimizer. What differs from the
    reference engine's run: the batch order, validation in batches of ``batch_size`` (``fit``'s default) rather than
    one, and nothing scored after ``fit`` or at the shorter budgets' epochs."""
    import keras

    from schedbench.engines import keras_fit, schedule_free
    from schedbench.engines.spec import flat_weights

    keras.utils.set_random_seed(inputs.seeds[seed_position])
    model = keras_fit.build_model(inputs)
    model.set_weights(flat_weights(inputs.initial_weights[seed_position]))
    learning_rate, callbacks = keras_fit.keras_rate(schedule, inputs.epochs, inputs.steps_per_epoch)
    model.compile(optimizer=keras_fit.build_optimizer(optimizer, learning_rate),
                  loss="binary_crossentropy" if inputs.model.binary else "sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=inputs.jit_compile)
    if isinstance(model.optimizer, schedule_free.SCHEDULE_FREE):
        model.optimizer.build(model.trainable_variables)  # as the reference engine: z starts at the initial weights
    x = inputs.x[seed_position]
    train_rows, val_rows = inputs.batch_rows[seed_position][0], inputs.val_rows[seed_position]
    model.fit(x[train_rows], inputs.y[train_rows], batch_size=inputs.batch_size, epochs=inputs.epochs,
              validation_data=(x[val_rows], inputs.y[val_rows]), callbacks=callbacks, verbose=0)


def worker(mode: str, workload: str, k: int, runs: int, data_dir: Path, configfile: Path | None,
           epochs: int | None) -> dict:
    from schedbench.engines import configure_tensorflow, keras_fit

    configure_tensorflow(2)
    probe = _job(workload, 1, data_dir, configfile, epochs)
    variants = len(probe.schedules)
    if mode == "replica":
        inputs = _job(workload, math.ceil(k / variants), data_dir, configfile, epochs)
        total, steady = time_replica(inputs)
        k_actual = len(inputs.runs())
        return {"k": k_actual, "epochs": inputs.epochs, "total_s": total, "steady_s": steady,
                "runs_per_s": k_actual / total, "steady_runs_per_s": k_actual / steady,
                "ms_per_run_epoch": 1000 * total / k_actual / inputs.epochs, "peak_mb": _peak_mb()}
    # Keras fit as its users run it on a CPU: compile's default (jit_compile="auto") leaves XLA off there, and XLA
    # would compile each run's model again.
    inputs = dataclasses.replace(_job(workload, 2, data_dir, configfile, epochs), jit_compile=False)
    train_one = keras_fit.train_one if mode == "keras" else fit_on_arrays
    every_run = inputs.runs()
    train_one(inputs, *every_run[-1])  # warm-up
    t0 = time.perf_counter()
    for run in every_run[:runs]:
        train_one(inputs, *run)
    seconds = time.perf_counter() - t0
    return {"runs": runs, "epochs": inputs.epochs, "seconds": seconds, "runs_per_s": runs / seconds}


def _child(mode: str, workload: str, k: int, runs: int, data_dir: Path, options: list[str]) -> dict:
    command = [sys.executable, __file__, "--worker", mode, "--workloads", workload, "--ks", str(k),
               "--keras-runs", str(runs), "--data-dir", str(data_dir), *options]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument("--ks", type=int, nargs="+", default=[150, 600], help="runs per replica job (default 150 600)")
    parser.add_argument("--keras-runs", type=int, default=2,
                        help="timed runs of each Keras way after the warm-up (default 2)")
    parser.add_argument("--data-dir", type=Path, help="where the generated tables are kept (default: a temporary one)")
    parser.add_argument("--configfile", type=Path, help="a config file laid over config.yaml (e.g. config-full.yaml)")
    parser.add_argument("--epochs", type=int, help="epochs per run instead of the workload's")
    parser.add_argument("--skip-keras", action="store_true", help="the replica engine alone")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", choices=["replica", "keras", "arrays"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.workloads[0], args.ks[0], args.keras_runs, args.data_dir,
                                args.configfile, args.epochs)))
        return 0

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-workloads-"))
    options = [*(["--configfile", str(args.configfile)] if args.configfile else []),
               *(["--epochs", str(args.epochs)] if args.epochs else [])]
    rows = []
    for workload in args.workloads:
        keras, arrays = (({"runs_per_s": math.nan},) * 2 if args.skip_keras
                         else (_child(mode, workload, 0, args.keras_runs, data_dir, options)
                               for mode in ("keras", "arrays")))
        for k in args.ks:
            result = _child("replica", workload, k, 0, data_dir, options)
            rows.append({"workload": workload, **result,
                         "keras_runs_per_s": keras["runs_per_s"],
                         "vs_keras": result["runs_per_s"] / keras["runs_per_s"],
                         "arrays_runs_per_s": arrays["runs_per_s"],
                         "vs_arrays": result["runs_per_s"] / arrays["runs_per_s"],
                         "steady_vs_arrays": result["steady_runs_per_s"] / arrays["runs_per_s"]})
            print(f"{workload:12s} K={result['k']:5d} replica {result['runs_per_s']:7.2f} runs/s "
                  f"(steady {result['steady_runs_per_s']:7.2f}), reference engine {keras['runs_per_s']:.3f} runs/s: "
                  f"{rows[-1]['vs_keras']:.0f}x, fit on arrays {arrays['runs_per_s']:.3f}: "
                  f"{rows[-1]['vs_arrays']:.0f}x, "
                  f"{result['ms_per_run_epoch']:.2f} ms per run-epoch, peak {result['peak_mb']:.0f} MB", flush=True)
    lines = ["| workload | epochs | K | replica runs/s (with tracing) | steady runs/s | ms per run-epoch | "
             "reference engine runs/s | replica / reference | fit on arrays runs/s | replica / fit on arrays "
             "(steady) | peak MB |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['workload']} | {r['epochs']} | {r['k']} | {r['runs_per_s']:.2f} | {r['steady_runs_per_s']:.2f} | "
              f"{r['ms_per_run_epoch']:.2f} | {r['keras_runs_per_s']:.3f} | {r['vs_keras']:.0f}x | "
              f"{r['arrays_runs_per_s']:.3f} | {r['vs_arrays']:.0f}x ({r['steady_vs_arrays']:.0f}x) | "
              f"{r['peak_mb']:.0f} |" for r in rows]
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    meta = {"when": stamp, "machine": platform.platform(), "cpus": os.cpu_count()}
    (args.out / f"bench-workloads-{stamp}.json").write_text(json.dumps({**meta, "rows": rows}, indent=1))
    (args.out / f"bench-workloads-{stamp}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

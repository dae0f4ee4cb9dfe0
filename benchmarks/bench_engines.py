"""Benchmark the training engines side by side on the article's model and data.

    PYTHONPATH=src python benchmarks/bench_engines.py            # full: ~5-10 minutes on 2 cores
    PYTHONPATH=src python benchmarks/bench_engines.py --quick    # small version: ~1 minute
    PYTHONPATH=src python benchmarks/bench_engines.py --ks 1 --process-runs 1 --keras-runs 1 --epochs 1  # smoke test

Three ways to train runs (ionosphere, tail split, Dense(34, relu) -> Dense(1, sigmoid), 50 epochs, batch 28,
the six schedules of config.yaml cycled as the "baseline mix"):

(a) process per run: ``python -c`` imports TensorFlow and trains one run with the keras engine, as the
    article's script does (a handful of runs; wall time per process, import included);
(b) Keras fit looped in one process: one warm-up run, then N timed runs (``keras_fit.train_one``);
(c) the replica engine, K runs as one batched program, each K in a fresh process (so that its peak RSS,
    VmHWM, is its own): K = seeds x 6 schedules (K = 1 is one seed, one schedule; other K are rounded up
    to a multiple of 6). Timed: building the trainer, the first ``fit()`` (tracing + graph optimisation +
    the run), reading the history back; then a second ``fit()`` on the same trainer (the run alone, no
    tracing) and, separately, the tracing alone (``get_concrete_function``) on a fresh trainer.

Results are printed and written to benchmarks/results/ (JSON and markdown; git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CONFIG = ROOT / "config.yaml"
DATA = ROOT / "data" / "bundled" / "ionosphere.data"

FULL_KS = [1, 10, 100, 300, 1000, 3000]
QUICK_KS = [1, 12, 300]
TARGET_RUNS_PER_S = 150.0
TARGET_SPEEDUP = 100.0
TARGET_PEAK_MB = 2048.0


# --------------------------------------------------------------------------------------------------
# helpers shared by the worker modes (they run in child processes)
# --------------------------------------------------------------------------------------------------
def optimizer_block(name: str) -> dict:
    """The optimizer ``name`` with the config schema's defaults, as a validated config holds it."""
    from schedbench.config import load_schema

    branches = load_schema()["$defs"]["optimizer"]["allOf"]
    (branch,) = [b["then"] for b in branches if b["if"]["properties"]["name"]["const"] == name]
    defaults = {key: value["default"] for key, value in branch["properties"].items() if "default" in value}
    return {"name": name, **defaults}


def _inputs(n_seeds: int, schedules: list[str] | None = None, threads: int = 2, epochs: int | None = None,
            optimizer: str | None = None):
    from schedbench.config_files import load_config
    from schedbench.jobs import prepare_job
    from schedbench.plan import build_plan

    config = load_config(CONFIG)
    # The article's six schedules, without the controls: K = seeds x 6 as the tables below count it.
    config["studies"]["article"]["controls"] = False
    if schedules is not None:
        config["studies"]["article"]["schedules"] = schedules
    settings = build_plan(config).job_settings("article", "ionosphere")
    if epochs is not None:
        settings["training"]["epochs"] = epochs
    if optimizer is not None:  # every schedule trained with this optimizer, at its defaults
        settings["variants"] = [[name, family, {**entry, "optimizer": optimizer_block(optimizer)}]
                                for name, family, entry in settings["variants"]]
    return prepare_job(settings, "tail", list(range(n_seeds)), DATA, threads=threads)


def _peak_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _replica_module(module_path: str | None):
    """The replica engine, or a copy of it from a file (to measure a candidate change side by side)."""
    if not module_path:
        from schedbench.engines import replica

        return replica
    import importlib.util

    spec = importlib.util.spec_from_file_location("replica_candidate", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def worker_replica(k: int, threads: int, module_path: str | None = None, epochs: int | None = None,
                   optimizer: str | None = None) -> dict:
    """One K in this (fresh) process."""
    started = time.perf_counter()
    from schedbench.engines import configure_tensorflow

    configure_tensorflow(threads)
    import tensorflow as tf  # noqa: F401  (already imported; timed as part of the import)

    replica = _replica_module(module_path)

    import_s = time.perf_counter() - started
    if k == 1:
        inputs = _inputs(1, ["baseline"], threads, epochs, optimizer)
    else:
        inputs = _inputs(math.ceil(k / 6), None, threads, epochs, optimizer)
    k_actual = len(inputs.replicas())
    rss_before = _rss_mb()

    t0 = time.perf_counter()
    trainer = replica.ReplicaTrainer(inputs)
    t1 = time.perf_counter()
    probability, _ = trainer.fit()  # and the test metrics
    history = trainer.history.numpy()
    probability = probability.numpy()
    t2 = time.perf_counter()
    trainer.fit()[0].numpy()  # the same program again: no tracing
    t3 = time.perf_counter()
    # Tracing alone, on a fresh trainer of the same job.
    other = replica.ReplicaTrainer(inputs)
    t4 = time.perf_counter()
    other.fit.get_concrete_function()
    t5 = time.perf_counter()
    from schedbench.engines.spec import HISTORY_COLUMNS

    assert history.shape == (inputs.epochs, k_actual, len(HISTORY_COLUMNS))
    assert probability.shape == (k_actual, inputs.n_val)
    return {
        "k_requested": k,
        "k": k_actual,
        "seeds": len(inputs.seeds),
        "import_s": import_s,
        "build_s": t1 - t0,
        "first_fit_s": t2 - t1,
        "total_s": t2 - t0,  # what one job pays in-process: build + trace + run + read back
        "second_fit_s": t3 - t2,  # the run without tracing
        "trace_s": t5 - t4,
        "rss_before_mb": rss_before,
        "peak_mb": _peak_mb(),
        "process_s": time.perf_counter() - started,
    }


def worker_keras_loop(runs: int, threads: int, epochs: int | None = None) -> dict:
    started = time.perf_counter()
    from schedbench.engines import configure_tensorflow

    configure_tensorflow(threads)
    from schedbench.engines import keras_fit

    import_s = time.perf_counter() - started
    inputs = _inputs(math.ceil(runs / 6) + 1, None, threads, epochs)
    every_run = inputs.runs()
    t0 = time.perf_counter()
    keras_fit.train_one(inputs, *every_run[-1])  # warm-up (the last seed: not among the timed runs)
    t1 = time.perf_counter()
    per_run = []
    for seed_position, schedule, optimizer in every_run[:runs]:
        t = time.perf_counter()
        keras_fit.train_one(inputs, seed_position, schedule, optimizer)
        per_run.append(time.perf_counter() - t)
    return {"runs": runs, "import_s": import_s, "warmup_s": t1 - t0, "seconds": sum(per_run),
            "per_run_s": per_run, "peak_mb": _peak_mb()}


_ONE_RUN = """
import sys, time
started = time.perf_counter()
import tensorflow
sys.path.insert(0, {bench_dir!r})
import bench_engines as B
from schedbench.engines import configure_tensorflow
configure_tensorflow({threads})
from schedbench.engines import keras_fit
imported = time.perf_counter()
run = int(sys.argv[1])
inputs = B._inputs(run // 6 + 1, None, {threads}, {epochs})
keras_fit.train_one(inputs, run // 6, inputs.schedules[run % 6], inputs.optimizers[run % 6])
print(imported - started, time.perf_counter() - imported)
"""


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def _child(args: list[str]) -> dict:
    """Run this script in a worker mode in a fresh process; return its JSON answer."""
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    started = time.perf_counter()
    done = subprocess.run(command, env=_env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-4000:]}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    answer["wall_s"] = time.perf_counter() - started
    return answer


def process_per_run(runs: int, threads: int, epochs: int | None = None) -> dict:
    code = _ONE_RUN.format(bench_dir=str(Path(__file__).resolve().parent), threads=threads, epochs=epochs)
    walls, imports, trains = [], [], []
    for run in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code, str(run)], env=_env(), capture_output=True, text=True,
                              check=False)
        walls.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"process-per-run failed:\n{done.stderr[-4000:]}")
        imported, trained = map(float, done.stdout.split()[-2:])
        imports.append(imported)
        trains.append(trained)
    return {"runs": runs, "seconds": sum(walls), "per_run_s": walls, "import_s": imports, "train_s": trains}


# --------------------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------------------
def markdown(result: dict) -> str:
    a, b = result["process_per_run"], result["keras_in_process"]
    lines = [
        f"# Engine benchmark ({result['when']}, {result['mode']})",
        "",
        f"Machine: {result['machine']['cpus']} CPUs, {result['machine']['platform']}, Python "
        f"{result['machine']['python']}, TensorFlow {result['machine']['tensorflow']}; load average at start "
        f"{result['machine']['load_at_start']}. Article's model and data, 50 epochs, batch 28, the 6 schedules "
        f"of config.yaml; threads = {result['threads']}; replica engine: {result['replica_module']}.",
        "",
        "| way | runs | seconds | runs/s |",
        "|---|---:|---:|---:|",
        f"| (a) one process per run (keras engine, import included) | {a['runs']} | {a['seconds']:.1f} | "
        f"{a['runs_per_s']:.3f} |",
        f"| (b) Keras fit looped in one process (after a warm-up) | {b['runs']} | {b['seconds']:.1f} | "
        f"{b['runs_per_s']:.3f} |",
        "",
        "(c) replica engine, each K in a fresh process. total = build + first fit (tracing, graph optimisation, "
        "the run) + reading results back; steady = a second fit() without tracing; trace = tracing alone.",
        "",
        "| K | seeds | total s | steady s | trace s | runs/s (total) | runs/s (steady) | x keras in-process | "
        "x process-per-run | peak MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["replica"]:
        lines.append(
            f"| {row['k']} | {row['seeds']} | {row['total_s']:.2f} | {row['second_fit_s']:.2f} | {row['trace_s']:.2f} | "
            f"{row['runs_per_s']:.1f} | {row['runs_per_s_steady']:.1f} | {row['speedup_vs_keras_in_process']:.0f} | "
            f"{row['speedup_vs_process_per_run']:.0f} | {row['peak_mb']:.0f} |"
        )
    lines += ["", "Targets:"]
    for target in result["targets"]:
        lines.append(f"- {target['what']}: {target['value']} -> {'met' if target['met'] else 'MISSED'}")
    return "\n".join(lines) + "\n"


TARGET_OPTIMIZER_COST = 1.5  # an Adam-family run costs at most 1.5 SGD runs


def optimizer_costs(names: list[str], k: int, threads: int, epochs: int | None, out: Path) -> int:
    """Each optimizer's replica job (the article's six schedules, every one trained with it, K runs) in a fresh
    process, sgd first; two passes, the second in reverse order, so that a drift of the machine's load hits every
    optimizer alike. Runs per second of the steady second ``fit()`` (the run without tracing) and of the whole
    (build, trace and run); cost = sgd's runs per second over the optimizer's (median over the passes)."""
    names = ["sgd", *[name for name in names if name != "sgd"]]
    extra = ["--epochs", str(epochs)] if epochs else []
    measured: dict[str, list[dict]] = {name: [] for name in names}
    for order in (names, names[::-1]):
        for name in order:
            print(f"replica K = {k}, optimizer {name} ...", flush=True)
            row = _child(["--worker", "replica", "--k", str(k), "--threads", str(threads), "--optimizer", name, *extra])
            measured[name].append(row)
    rows = []
    for name in names:
        steady = statistics.median([row["k"] / row["second_fit_s"] for row in measured[name]])
        total = statistics.median([row["k"] / row["total_s"] for row in measured[name]])
        rows.append({"optimizer": name, "k": measured[name][0]["k"], "runs_per_s_steady": steady,
                     "runs_per_s_total": total})
    for row in rows:
        row["cost_vs_sgd"] = rows[0]["runs_per_s_steady"] / row["runs_per_s_steady"]
        row["met"] = row["cost_vs_sgd"] <= TARGET_OPTIMIZER_COST
    lines = [f"Replica engine, K = {rows[0]['k']} runs per job, {threads} threads, median of 2 passes:", "",
             "| optimizer | runs/s (steady) | runs/s (with build and tracing) | cost vs sgd |", "|---|---|---|---|"]
    lines += [f"| {r['optimizer']} | {r['runs_per_s_steady']:.1f} | {r['runs_per_s_total']:.1f} | "
              f"{r['cost_vs_sgd']:.2f}x |" for r in rows]
    lines += ["", f"Target: every optimizer at most {TARGET_OPTIMIZER_COST}x sgd -> "
              f"{'met' if all(r['met'] for r in rows) else 'MISSED'}"]
    text = "\n".join(lines) + "\n"
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench-optimizers-latest.json").write_text(json.dumps({"rows": rows, "passes": measured}, indent=2),
                                                      encoding="utf-8")
    (out / "bench-optimizers-latest.md").write_text(text, encoding="utf-8")
    return 0 if all(r["met"] for r in rows) else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small version: K = 1, 12, 300; 2 + 3 Keras runs")
    parser.add_argument("--ks", type=int, nargs="+", help="replica sizes K (default: 1 10 100 300 1000 3000)")
    parser.add_argument("--process-runs", type=int, help="runs of (a), one process each (default 3)")
    parser.add_argument("--keras-runs", type=int, help="timed runs of (b) after the warm-up (default 10)")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads (default 2)")
    parser.add_argument("--epochs", type=int, help="epochs per run (default: config.yaml's; 1 for a smoke test)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON and markdown results")
    parser.add_argument("--replica-module", help="measure a copy of replica.py at this path instead (experiments)")
    parser.add_argument("--only-replica", action="store_true",
                        help="skip (a) and (b); ratios then use --keras-runs-per-s and --process-runs-per-s")
    parser.add_argument("--keras-runs-per-s", type=float, help="(b) from an earlier run, with --only-replica")
    parser.add_argument("--process-runs-per-s", type=float, help="(a) from an earlier run, with --only-replica")
    parser.add_argument("--optimizers", nargs="+", metavar="NAME",
                        help="instead: the replica engine's runs per second per optimizer against sgd, each in a "
                             "fresh process, side by side (K = the first --ks, default 300; two passes)")
    parser.add_argument("--optimizer", help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=["replica", "keras-loop"], help=argparse.SUPPRESS)
    parser.add_argument("--k", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker == "replica":
        print(json.dumps(worker_replica(args.k, args.threads, args.replica_module, args.epochs, args.optimizer)))
        return 0
    if args.optimizers:
        return optimizer_costs(args.optimizers, (args.ks or [300])[0], args.threads, args.epochs, args.out)
    if args.worker == "keras-loop":
        print(json.dumps(worker_keras_loop(args.runs, args.threads, args.epochs)))
        return 0

    ks = args.ks or (QUICK_KS if args.quick else FULL_KS)
    process_runs = args.process_runs or (2 if args.quick else 3)
    keras_runs = args.keras_runs or (3 if args.quick else 10)
    import tensorflow as tf  # only for the version in the report

    result = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "threads": args.threads,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "tensorflow": tf.__version__, "load_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg())},
    }

    result["replica_module"] = args.replica_module or "schedbench.engines.replica"
    epochs = ["--epochs", str(args.epochs)] if args.epochs else []
    if args.only_replica:
        if not (args.keras_runs_per_s and args.process_runs_per_s):
            parser.error("--only-replica needs --keras-runs-per-s and --process-runs-per-s")
        a = {"runs": 0, "seconds": float("nan"), "runs_per_s": args.process_runs_per_s, "given": True}
        b = {"runs": 0, "seconds": float("nan"), "runs_per_s": args.keras_runs_per_s, "given": True}
    else:
        print(f"(a) {process_runs} runs, one process each ...", flush=True)
        a = process_per_run(process_runs, args.threads, args.epochs)
        a["runs_per_s"] = a["runs"] / a["seconds"]
        print(f"    {a['seconds']:.1f} s: {a['runs_per_s']:.3f} runs/s (import "
              f"{sum(a['import_s']) / a['runs']:.1f} s + train {sum(a['train_s']) / a['runs']:.1f} s per run)")
        print(f"(b) {keras_runs} Keras fits in one process after a warm-up ...", flush=True)
        b = _child(["--worker", "keras-loop", "--runs", str(keras_runs), "--threads", str(args.threads), *epochs])
        b["runs_per_s"] = b["runs"] / b["seconds"]
        print(f"    {b['seconds']:.1f} s: {b['runs_per_s']:.3f} runs/s (warm-up run {b['warmup_s']:.1f} s)")
    result["process_per_run"], result["keras_in_process"] = a, b

    rows = []
    for k in ks:
        print(f"(c) replica K = {k} ...", flush=True)
        extra = ["--replica-module", str(Path(args.replica_module).resolve())] if args.replica_module else []
        row = _child(["--worker", "replica", "--k", str(k), "--threads", str(args.threads), *extra, *epochs])
        row["runs_per_s"] = row["k"] / row["total_s"]
        row["runs_per_s_steady"] = row["k"] / row["second_fit_s"]
        row["speedup_vs_keras_in_process"] = row["runs_per_s"] / b["runs_per_s"]
        row["speedup_vs_process_per_run"] = row["runs_per_s"] / a["runs_per_s"]
        rows.append(row)
        print(f"    K = {row['k']}: total {row['total_s']:.2f} s (build {row['build_s']:.2f}, first fit "
              f"{row['first_fit_s']:.2f}), steady {row['second_fit_s']:.2f} s, trace {row['trace_s']:.2f} s; "
              f"{row['runs_per_s']:.1f} runs/s ({row['runs_per_s_steady']:.1f} steady); "
              f"x{row['speedup_vs_keras_in_process']:.0f} keras in-process, "
              f"x{row['speedup_vs_process_per_run']:.0f} process-per-run; peak {row['peak_mb']:.0f} MB", flush=True)
    result["replica"] = rows

    big = [row for row in rows if row["k"] >= 300]
    targets = []
    if big:
        slowest = min(big, key=lambda row: row["runs_per_s"])
        targets.append({"what": f">= {TARGET_RUNS_PER_S:.0f} runs/s for K >= 300 (slowest: K = {slowest['k']})",
                        "value": f"{slowest['runs_per_s']:.1f} runs/s",
                        "met": slowest["runs_per_s"] >= TARGET_RUNS_PER_S})
        worst = min(big, key=lambda row: row["speedup_vs_keras_in_process"])
        targets.append({"what": f">= {TARGET_SPEEDUP:.0f}x Keras fit in one process for K >= 300 (worst: K = {worst['k']})",
                        "value": f"{worst['speedup_vs_keras_in_process']:.0f}x",
                        "met": worst["speedup_vs_keras_in_process"] >= TARGET_SPEEDUP})
    largest = [row for row in rows if row["k"] >= 3000]
    if largest:
        targets.append({"what": f"<= {TARGET_PEAK_MB:.0f} MB peak for K = {largest[0]['k']}",
                        "value": f"{largest[0]['peak_mb']:.0f} MB", "met": largest[0]["peak_mb"] <= TARGET_PEAK_MB})
    result["targets"] = targets

    text = markdown(result)
    print()
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    mode = result["mode"] + ("-candidate" if args.replica_module else "")
    for name in (f"bench-engines-{mode}-{stamp}", f"bench-engines-{mode}-latest"):
        (args.out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        (args.out / f"{name}.md").write_text(text, encoding="utf-8")
    print(f"written to {args.out}/bench-engines-{mode}-{stamp}.{{json,md}} (and -latest)")
    return 0 if all(target["met"] for target in targets) else 1


if __name__ == "__main__":
    sys.exit(main())

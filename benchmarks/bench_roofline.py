"""The roofline of the replica engine: the machine's matrix-product throughput at the engine's shapes against the
engine's achieved arithmetic rate, per workload and K, in one invocation.

    PYTHONPATH=src python benchmarks/bench_roofline.py --figure benchmarks/results/roofline.png   # see README
    PYTHONPATH=src python benchmarks/bench_roofline.py --workloads mnist1d_mlp --ks 300 3000 --jax
    PYTHONPATH=src python benchmarks/bench_roofline.py --workloads ionosphere --ks 6 --epochs 1 --matmul-seconds 0.2

Per workload (as bench_workloads.py builds its jobs) and K (rounded up to whole seeds of the study's variants), each
in a fresh process with TensorFlow on ``--threads`` threads:

- (m) matmul GFLOP/s: for every layer of the model the batched products of one training step at K replicas,
  ``tf.linalg.matmul`` over (K, rows, inputs) x (K, inputs, outputs), forward and the two backward products
  (inputs' and weights' gradients), rows = the batch (x output positions for a convolution, whose inputs are
  kernel_size x channels, as the engine computes it), timed in a ``tf.function`` loop; 2 FLOP per multiply-add;
- (r) the replica engine: built and traced on a first ``fit()``, timed on a second (the steady run, as
  bench_workloads.py); achieved GFLOP/s = ``DatasetPlan.gflop_per_run_epoch`` x K x epochs / steady seconds;
  runs/s, seconds per run and the process's peak memory (VmHWM) per run;
- (j) with ``--jax``: benchmarks/jax_replica.py on the same job, the same way (a first fit traces, the second is
  timed), in its own process after (r).

A K whose estimated memory (``DatasetPlan.memory_per_run_mb`` x K + 1,500 MB) exceeds ``--max-mb`` is skipped and
listed as such. Results are printed and written to benchmarks/results/ (git-ignored) as
bench-roofline-<timestamp>.{json,md}; ``--figure`` draws achieved and matmul GFLOP/s against K per workload.
"""

from __future__ import annotations

import argparse
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

from workload_jobs import (
    PROTOCOL,
    RESULTS,
    ROOT,
    WORKLOADS,
    dataset_plan,
    job_of_k,
    peak_mb,
    runs_of_k,
    time_replica,
)

BASE_MB = 1500.0  # a TensorFlow process before its replicas: the interpreter, TensorFlow, the tables


def layer_products(model, batch: int, k: int) -> list[tuple[str, tuple[int, int, int]]]:
    """(layer text, (rows, inputs, outputs)) of every layer's forward product at batch ``batch``: a dense layer
    (batch, inputs, units), a convolution (batch x output positions, kernel_size x channels, filters)."""
    out = []
    for layer, (into, shape) in zip(model.layers, model.shapes()):
        if layer.kind == "conv1d":
            out.append((layer.text, (batch * shape[0], layer.kernel_size * into[1], layer.filters)))
        else:
            out.append((layer.text, (batch, into[0], layer.units)))
    return out


def matmul_gflops(model, batch: int, k: int, seconds: float) -> dict:
    """GFLOP/s of one training step's matrix products at K replicas, timed over about ``seconds``."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    operands, flop = [], 0
    for _, (rows, inputs, outputs) in layer_products(model, batch, k):
        x, w, dy = (tf.constant(rng.standard_normal(shape, np.float32)) for shape in
                    ((k, rows, inputs), (k, inputs, outputs), (k, rows, outputs)))
        operands.append((x, w, dy))
        flop += 3 * 2 * k * rows * inputs * outputs

    # The operands are arguments, not captured constants: Grappler would fold products of constants at trace time.
    @tf.function
    def loop(n, operands):
        checksum = tf.constant(0.0)
        for _ in tf.range(n):
            for x, w, dy in operands:
                y = tf.linalg.matmul(x, w)
                dx = tf.linalg.matmul(dy, w, transpose_b=True)
                dw = tf.linalg.matmul(x, dy, transpose_a=True)
                # One element of each keeps the product alive without a pass over its output.
                checksum += y[0, 0, 0] + dx[0, 0, 0] + dw[0, 0, 0]
        return checksum

    def timed(n: int) -> float:
        t0 = time.perf_counter()
        loop(tf.constant(n), operands).numpy()
        return time.perf_counter() - t0

    timed(1)  # trace, and the first call's one-time costs
    n = 1
    while (elapsed := timed(n)) < seconds / 4:  # a short probe mostly measures the call's overhead
        n *= 4
    n = max(n, math.ceil(n * seconds / elapsed))
    elapsed = timed(n)
    return {"matmul_gflops": flop * n / elapsed / 1e9, "matmul_step_gflop": flop / 1e9, "matmul_repeats": n}


def worker(mode: str, workload: str, k: int, data_dir: Path, epochs: int | None, threads: int,
           matmul_seconds: float) -> dict:
    if mode == "jax":
        from jax_replica import timing

        return timing(workload, k, data_dir, epochs)
    from schedbench.engines import configure_tensorflow

    configure_tensorflow(threads)
    inputs = job_of_k(workload, k, data_dir, epochs=epochs)
    k_actual = len(inputs.runs())
    if mode == "matmul":
        return {"k": k_actual, **matmul_gflops(inputs.model, inputs.batch_size, k_actual, matmul_seconds),
                "peak_mb": peak_mb()}
    total, steady = time_replica(inputs)
    return {"k": k_actual, "epochs": inputs.epochs, "total_s": total, "steady_s": steady,
            "steady_runs_per_s": k_actual / steady, "peak_mb": peak_mb()}


def _child(mode: str, workload: str, k: int, data_dir: Path, args) -> dict:
    command = [sys.executable, __file__, "--worker", mode, "--workloads", workload, "--ks", str(k),
               "--data-dir", str(data_dir), "--threads", str(args.threads),
               "--matmul-seconds", str(args.matmul_seconds), *(["--epochs", str(args.epochs)] if args.epochs else [])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise SystemExit(f"{mode} worker failed on {workload} K={k}:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(workload: str, k: int, data_dir: Path, args) -> dict:
    """One row: the matmul roofline, the replica engine and (``--jax``) the JAX runs, at K runs of ``workload``."""
    plan = dataset_plan(workload)
    k_job = runs_of_k(workload, k)
    estimate = plan.memory_per_run_mb(PROTOCOL) * k_job + BASE_MB
    row = {"workload": workload, "k_asked": k, "k": k_job, "estimated_mb": estimate}
    if estimate > args.max_mb:
        return {**row, "skipped": f"estimated {estimate:.0f} MB > --max-mb {args.max_mb:.0f}"}
    matmul = _child("matmul", workload, k, data_dir, args)
    engine = _child("replica", workload, k, data_dir, args)
    k_actual, epochs = engine["k"], engine["epochs"]
    gflop = plan.gflop_per_run_epoch(PROTOCOL) * k_actual * epochs
    row.update(k=k_actual, epochs=epochs, matmul_gflops=matmul["matmul_gflops"],
               replica={**engine, "gflops": gflop / engine["steady_s"], "s_per_run": engine["steady_s"] / k_actual,
                        "peak_mb_per_run": engine["peak_mb"] / k_actual})
    row["share_of_matmul"] = row["replica"]["gflops"] / row["matmul_gflops"]
    if args.jax:
        jax = _child("jax", workload, k, data_dir, args)
        row["jax"] = {**jax, "gflops": gflop / jax["steady_s"], "s_per_run": jax["steady_s"] / k_actual,
                      "peak_mb_per_run": jax["peak_mb"] / k_actual}
    return row


def table(rows: list[dict], jax: bool) -> list[str]:
    head = ["workload", "K", "epochs", "matmul GFLOP/s", "replica GFLOP/s", "share of matmul", "replica runs/s",
            "s per run", "peak MB per run"]
    if jax:
        head += ["JAX GFLOP/s", "JAX runs/s", "JAX peak MB per run", "replica / JAX speed"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['workload']} | {r['k']} | skipped: {r['skipped']} |" + " |" * (len(head) - 3))
            continue
        e = r["replica"]
        cells = [r["workload"], str(r["k"]), str(r["epochs"]), f"{r['matmul_gflops']:.1f}", f"{e['gflops']:.1f}",
                 f"{100 * r['share_of_matmul']:.0f} %", f"{e['steady_runs_per_s']:.2f}", f"{e['s_per_run']:.4f}",
                 f"{e['peak_mb_per_run']:.2f}"]
        if jax and "jax" in r:
            j = r["jax"]
            cells += [f"{j['gflops']:.1f}", f"{j['steady_runs_per_s']:.2f}", f"{j['peak_mb_per_run']:.2f}",
                      f"{e['steady_runs_per_s'] / j['steady_runs_per_s']:.2f}x"]
        elif jax:  # a row measured without --jax, tabled beside rows measured with it
            cells += [""] * 4
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def figure(rows: list[dict], path: Path, jax: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    fig, axes = plt.subplots(1, len(workloads), figsize=(4.2 * len(workloads), 3.6), squeeze=False)
    for ax, workload in zip(axes[0], workloads):
        done = [r for r in rows if r["workload"] == workload and "skipped" not in r]
        ks = [r["k"] for r in done]
        ax.plot(ks, [r["matmul_gflops"] for r in done], "k--o", label="matmul at the engine's shapes")
        ax.plot(ks, [r["replica"]["gflops"] for r in done], "C0-o", label="replica engine")
        timed = [r for r in done if "jax" in r]
        if jax and timed:  # rows of several runs merged: JAX may be timed at some K only
            ax.plot([r["k"] for r in timed], [r["jax"]["gflops"] for r in timed], "C1-s", label="JAX (vmap, scan, jit)")
        if not done:
            ax.text(0.5, 0.5, "no K measured\n(see the table)", ha="center", va="center", transform=ax.transAxes)
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.set_title(workload)
        ax.set_xlabel("runs per job (K)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("GFLOP/s")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument("--ks", type=int, nargs="+", default=[100, 300, 1000, 3000],
                        help="runs per job (default 100 300 1000 3000), rounded up to whole seeds")
    parser.add_argument("--epochs", type=int, help="epochs per run instead of the workload's")
    parser.add_argument("--max-mb", type=float, default=16000.0,
                        help="skip a K whose estimated memory exceeds this (default 16000)")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow's intra-op threads (default 2)")
    parser.add_argument("--matmul-seconds", type=float, default=2.0, help="time each matmul roofline this long")
    parser.add_argument("--jax", action="store_true", help="also time benchmarks/jax_replica.py (the bench extra)")
    parser.add_argument("--data-dir", type=Path, help="where the generated tables are kept (default: a temporary one)")
    parser.add_argument("--figure", type=Path, help="write the figure (PNG) here")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", choices=["matmul", "replica", "jax"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-roofline-"))
    if args.worker:
        print(json.dumps(worker(args.worker, args.workloads[0], args.ks[0], data_dir, args.epochs, args.threads,
                                args.matmul_seconds)))
        return 0
    if args.jax:
        try:
            import jax  # noqa: F401 - only whether the bench extra is installed
        except ImportError:
            parser.error("--jax needs the bench extra: pip install -e '.[bench]'")

    rows = []
    for workload in args.workloads:
        measured = set()
        for k in args.ks:
            k_job = runs_of_k(workload, k)
            if k_job in measured:  # a small K of a study with many variants per seed: the same job again
                rows.append({"workload": workload, "k_asked": k, "k": k_job,
                             "skipped": f"rounds up to the job of K={k_job} above"})
            else:
                rows.append(measure(workload, k, data_dir, args))
                measured.add(k_job)
            print("\n".join(table(rows[-1:], args.jax)[2:]), flush=True)
    lines = table(rows, args.jax)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    meta = {"when": stamp, "machine": platform.platform(), "cpus": os.cpu_count(), "threads": args.threads}
    (args.out / f"bench-roofline-{stamp}.json").write_text(json.dumps({**meta, "rows": rows}, indent=1))
    (args.out / f"bench-roofline-{stamp}.md").write_text("\n".join(lines) + "\n")
    if args.figure:
        figure(rows, args.figure, args.jax)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

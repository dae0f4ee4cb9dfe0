"""Versions of the replica engine side by side on one workload job: steady seconds, first-fit seconds, peak memory,
and whether each computes the same bits as the first version named.

    PYTHONPATH=src python benchmarks/bench_levers.py --version before=ref:ea78f6b --version after=worktree
    PYTHONPATH=src python benchmarks/bench_levers.py --workloads mnist1d_mlp --version now=worktree \\
        --version shared-first-layer=benchmarks/levers/shared-first-layer.patch

A version is ``name=worktree`` (src/schedbench/engines/replica.py as it is), ``name=ref:<git ref>`` (that commit's
replica.py), ``name=<file>.py`` (a copy of the module) or ``name=<file>.patch`` (a patch applied to the working
tree's replica.py: a lever that was tried and not kept, see benchmarks/levers/), with ``+jit_compile`` at its end
to train with ``JobInputs.jit_compile`` (``training.jit_compile``: the update as one XLA program); without it the
job trains with jit_compile off, whatever the config says. The rest of the package is the working tree's. Each version trains the same job (``--seeds`` seeds x the study's variants, ``--epochs`` epochs, as
benchmarks/workload_jobs.py builds it) in a fresh process, versions alternating, ``--repeats`` times: the first
``fit()`` (building, tracing and the run, what a training job pays once TensorFlow is imported), then a second,
steady ``fit()``. "same bits" compares the SHA-256 of the first fit's history, validation probabilities and test
scores with the first version's. Results are printed and written to benchmarks/results/ as
bench-levers-<timestamp>.{md,json}.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workload_jobs import RESULTS, ROOT, WORKLOADS
from workload_jobs import job as _job
from workload_jobs import peak_mb as _peak_mb

REPLICA = ROOT / "src" / "schedbench" / "engines" / "replica.py"


def module_file(source: str, directory: Path, name: str) -> Path:
    """The replica module a version names, as a file."""
    if source == "worktree":
        return REPLICA
    out = directory / f"{name}.py"
    if source.startswith("ref:"):
        text = subprocess.run(["git", "show", f"{source[4:]}:src/schedbench/engines/replica.py"], cwd=ROOT,
                              check=True, capture_output=True, text=True).stdout
        out.write_text(text, encoding="utf-8")
    elif source.endswith(".patch"):
        subprocess.run(["patch", "--quiet", "-o", str(out), str(REPLICA), str(Path(source).resolve())], check=True)
    elif source.endswith(".py"):
        out.write_text(Path(source).read_text(encoding="utf-8"), encoding="utf-8")
    else:
        raise SystemExit(f"--version {name}={source}: expected worktree, ref:<git ref>, a .py or a .patch file")
    return out


def worker(module: Path, workload: str, seeds: int, epochs: int, data_dir: Path, jit_compile: bool) -> dict:
    from schedbench.engines import configure_tensorflow

    configure_tensorflow(2)
    spec = importlib.util.spec_from_file_location("replica_version", module)
    replica = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(replica)
    inputs = dataclasses.replace(_job(workload, seeds, data_dir, epochs=epochs), jit_compile=jit_compile)
    start = time.perf_counter()
    trainer = replica.ReplicaTrainer(inputs)
    probability, test = trainer.fit()
    digest = hashlib.sha256()
    for array in (trainer.history.numpy(), probability.numpy(), test.numpy()):
        digest.update(array.tobytes())
    first = time.perf_counter() - start
    start = time.perf_counter()
    trainer.fit()[0].numpy()
    return {"k": len(inputs.runs()), "first_s": first, "steady_s": time.perf_counter() - start,
            "peak_mb": _peak_mb(), "sha256": digest.hexdigest()}


def measure(module: Path, jit_compile: bool, workload: str, args) -> dict:
    command = [sys.executable, __file__, "--worker", str(module), "--workloads", workload, "--seeds", str(args.seeds),
               "--epochs", str(args.epochs), "--data-dir", str(args.data_dir)] + ["--jit-compile"] * jit_compile
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{module} on {workload} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="append", default=[], metavar="NAME=SOURCE[+jit_compile]",
                        help="worktree, ref:<git ref>, a .py copy of replica.py or a .patch to it, +jit_compile to "
                             "train with XLA (repeatable)")
    parser.add_argument("--workloads", nargs="+", default=["mnist1d_mlp", "mnist1d_cnn"], choices=list(WORKLOADS))
    parser.add_argument("--seeds", type=int, default=10, help="seeds per job (x the study's variants)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, help="where the generated tables are kept (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--jit-compile", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.workloads[0], args.seeds, args.epochs, args.data_dir,
                                 args.jit_compile)))
        return 0

    if not args.version:
        parser.error("name at least one --version")
    scratch = Path(tempfile.mkdtemp(prefix="bench-levers-"))
    args.data_dir = args.data_dir or scratch
    versions = {}
    for entry in args.version:
        name, _, source = entry.partition("=")
        if not name or not source or name in versions:
            raise SystemExit(f"--version {entry!r}: give NAME=SOURCE, each name once")
        module_source = source.removesuffix("+jit_compile")
        versions[name] = (source, module_file(module_source, scratch, name), module_source != source)
    rows = []
    for workload in args.workloads:
        runs = {name: [] for name in versions}
        for repeat in range(args.repeats):
            for name, (_, module, jit_compile) in versions.items():
                runs[name].append(measure(module, jit_compile, workload, args))
                print(f"[{repeat + 1}/{args.repeats}] {workload} {name}: steady {runs[name][-1]['steady_s']:.2f} s",
                      flush=True)
        reference = next(iter(versions))
        base = statistics.median(run["steady_s"] for run in runs[reference])
        for name, (source, _, _) in versions.items():
            steady = statistics.median(run["steady_s"] for run in runs[name])
            digests = {run["sha256"] for run in runs[name]}
            rows.append({"workload": workload, "version": name, "source": source, "k": runs[name][0]["k"],
                         "epochs": args.epochs, "steady_s": steady,
                         "first_s": statistics.median(run["first_s"] for run in runs[name]),
                         "peak_mb": max(run["peak_mb"] for run in runs[name]), "speed_vs_first": base / steady,
                         "same_bits": digests == {runs[reference][0]["sha256"]}, "repeats": args.repeats})
    lines = ["| workload | version | K | epochs | steady s | first fit s | peak MB | speed vs first | same bits |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    lines += [f"| {r['workload']} | {r['version']} (`{r['source']}`) | {r['k']} | {r['epochs']} | {r['steady_s']:.2f} | "
              f"{r['first_s']:.2f} | {r['peak_mb']:.0f} | {r['speed_vs_first']:.2f}x | {'yes' if r['same_bits'] else 'no'} |"
              for r in rows]
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (args.out / f"bench-levers-{stamp}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (args.out / f"bench-levers-{stamp}.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

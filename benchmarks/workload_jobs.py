"""The benchmarks' workloads: a dataset of config.yaml as a study trains it, and one job of it, as the workflow builds
it. Shared by bench_workloads.py, bench_roofline.py and jax_replica.py."""

from __future__ import annotations

import logging
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
# Workload -> the study whose settings train it.
WORKLOADS = {"ionosphere": "tuning", "mnist1d_mlp": "optimizers", "mnist1d_cnn": "optimizers"}
# The protocol every benchmark job trains under: held-out rows, as both studies.
PROTOCOL = "heldout"


def _config(configfile: Path | None = None) -> dict:
    from schedbench.config_files import load_config

    return load_config(ROOT / "config.yaml", *([configfile] if configfile else []))


def dataset_plan(workload: str, configfile: Path | None = None):
    """The workload's :class:`schedbench.plan.DatasetPlan` (its model, sizes, arithmetic and memory per run)."""
    from schedbench.plan import build_plan

    return build_plan(_config(configfile)).datasets[workload]


def runs_of_k(workload: str, k: int, configfile: Path | None = None) -> int:
    """The runs of the smallest job of ``workload`` with at least ``k``: whole seeds of its study's variants."""
    from schedbench.plan import build_plan

    variants = len(build_plan(_config(configfile)).studies[WORKLOADS[workload]].variants)
    return math.ceil(k / variants) * variants


def job(workload: str, n_seeds: int, data_dir: Path, configfile: Path | None = None, epochs: int | None = None):
    """The inputs of one job of ``workload``: ``n_seeds`` seeds x its study's variants, held-out split; with
    ``configfile`` laid over config.yaml, ``epochs`` in place of the workload's."""
    from schedbench import sources
    from schedbench.jobs import prepare_job
    from schedbench.plan import build_plan
    from schedbench.sources.base import SourceContext

    config = _config(configfile)
    settings = build_plan(config).job_settings(WORKLOADS[workload], workload)
    if epochs:
        settings["training"]["epochs"] = epochs
        # The shorter budgets' test epochs that still fall before the last.
        settings["test_epochs"] = [epoch for epoch in settings["test_epochs"] if epoch < epochs]
    table = data_dir / f"{workload}.data"
    if not table.exists():
        context = SourceContext(repository=ROOT, download=config["download"], log=logging.getLogger("bench"))
        sources.fetch(workload, config["datasets"][workload], table, context)
    return prepare_job(settings, PROTOCOL, list(range(n_seeds)), table, threads=2)


def job_of_k(workload: str, k: int, data_dir: Path, configfile: Path | None = None, epochs: int | None = None):
    """A job of at least ``k`` runs: whole seeds of the study's variants (K rounded up)."""
    variants = len(job(workload, 1, data_dir, configfile, epochs).schedules)
    return job(workload, math.ceil(k / variants), data_dir, configfile, epochs)


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM), MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return math.nan


def time_replica(inputs) -> tuple[float, float]:
    """(seconds of the first fit: building and tracing as a training job pays them, and the run; seconds of a
    second, steady fit) of the replica engine on ``inputs``."""
    import time

    from schedbench.engines import replica

    start = time.perf_counter()
    trainer = replica.ReplicaTrainer(inputs)
    trainer.fit()[0].numpy()
    traced = time.perf_counter()
    trainer.fit()[0].numpy()
    return traced - start, time.perf_counter() - traced

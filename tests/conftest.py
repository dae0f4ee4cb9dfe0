"""Shared fixtures: the repository's paths, the runnable test configs of .test/, and the real Snakemake CLI."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from schedbench.config_files import merged_config

REPO = Path(__file__).resolve().parents[1]
# Tests put their own helper modules (a user's custom schedule) on the import path.
sys.path.insert(0, str(Path(__file__).resolve().parent))


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: one worker per core, and one more to use the cores while a worker waits on a process it drives
    (the SLURM scheduler's polls, a workflow being interrupted and resumed): the suite 22.6 -> 20.2 minutes on
    2 cores (benchmarks/README.md, sixth session)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores + 1


# The test files that take longest (worker-seconds of the full suite, --durations, 2026-12-04), in that order.
# pytest-xdist hands whole files to its workers in collection order (--no-loadscope-reorder in pyproject.toml; its
# own order, by number of tests, put these last, one worker finishing them alone). A file missing here runs after
# them; a stale order costs minutes, not correctness.
LONGEST_FIRST = (
    "test_reliability.py", "test_workflow.py", "test_slurm.py", "test_engines.py", "test_optimizers.py",
    "test_models.py", "test_packaging.py", "test_checked_inputs.py", "test_bench_roofline.py", "test_config.py",
    "test_bench_pipeline.py", "test_bench_levers.py", "test_bench_workloads.py", "test_multiclass.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a file's tests keep their order


def load_repo_config() -> dict:
    with open(REPO / "config.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def runnable_config(name: str, **training) -> dict:
    """config.yaml with the runnable test config ``.test/config-<name>.yaml`` merged over it (the files CI and
    a user run too): toy size, no network (the download URL is refused at once), so the bundled copy is used.
    The bundled copy keeps the config's relative path: it must resolve against the repository, not the run's
    directory."""
    # As the workflow merges --configfile files: a null removes a key (a test config drops a study).
    config = merged_config([REPO / "config.yaml", REPO / ".test" / f"config-{name}.yaml"])
    config["training"].update(training)
    return config


def tiny_config(**training) -> dict:
    """2 seeds x 3 epochs of the repository's schedules, both seeds in one training job."""
    return runnable_config("tiny", **training)


def write_config(config: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def run_snakemake(
    workdir: Path, configfile: Path, *args: str, timeout: int = 600, env: dict | None = None
) -> subprocess.CompletedProcess:
    """The real Snakemake command line, on the repository's Snakefile, in ``workdir``."""
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(configfile), "--cores", "2", *args,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, cwd=workdir
    )


@pytest.fixture
def tiny(tmp_path):
    """(workdir, configfile) with the tiny config written."""
    return tmp_path, write_config(tiny_config(), tmp_path / "config.yaml")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, worker_id):
    """(workdir, configfile) of one finished run of the tiny config through the real Snakemake command line,
    shared by the whole session: tests read it, and copy it (``copy_run``) before changing anything.

    Under pytest-xdist the first worker that needs it makes it in the folder the workers share, and the others wait
    for it (a lock file) rather than each making its own: three workers on two cores made it three times over."""
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    workdir, finished = shared / "tiny-run", shared / "tiny-run.finished"
    with open(shared / "tiny-run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not finished.exists():
            shutil.rmtree(workdir, ignore_errors=True)  # what a worker that failed to make it left
            workdir.mkdir()
            result = run_snakemake(workdir, write_config(tiny_config(), workdir / "config.yaml"))
            assert result.returncode == 0, result.stderr[-4000:]
            finished.touch()
    return workdir, workdir / "config.yaml"


def copy_run(run: tuple[Path, Path], destination: Path) -> tuple[Path, Path]:
    """A private copy of a finished run (outputs, logs and Snakemake's metadata), with its config file."""
    workdir, configfile = run
    shutil.copytree(workdir, destination, symlinks=True, dirs_exist_ok=True)
    return destination, destination / configfile.name

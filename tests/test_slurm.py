"""The same workflow on a real SLURM cluster (tests/slurm/start.sh), through profiles/slurm, unchanged."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, tiny_config, write_config

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

STATE = Path(os.environ.get("SCHEDBENCH_SLURM_STATE", "/tmp/schedbench-slurm"))
# Every Snakemake call is bounded. SIGINT first: on it Snakemake cancels its SLURM jobs and frees its lock.
TIMEOUT = ["timeout", "-s", "INT", "-k", "30", "900"]
# The test cluster has no accounting database: job status comes from squeue instead of sacct.
CLUSTER_FLAGS = ["--profile", str(REPO / "profiles/slurm"), "--workflow-profile", "none",
                 "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "6"]
RUNS = "results/article/ionosphere/runs.csv"


def article_only(config: dict) -> dict:
    """The tiny config with the article study alone: one study is enough to exercise a failure."""
    config["studies"] = {"article": config["studies"]["article"]}
    return config


def cluster_up() -> str | None:
    """None if the cluster answers, else why not."""
    if shutil.which("sinfo") is None:
        return "SLURM client (sinfo) is not installed: run tests/slurm/start.sh as root"
    state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
    if state.returncode != 0 or not state.stdout.strip():
        return f"no SLURM controller answers ({state.stderr.strip()}): run tests/slurm/start.sh as root"
    return None


@pytest.fixture(scope="module")
def cluster():
    reason = cluster_up()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"SLURM must run in CI: {reason}")
        pytest.skip(reason)
    return STATE


def snakemake_command(workdir: Path, configfile: Path, *args: str) -> list[str]:
    return [*TIMEOUT, sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
            str(workdir), "--configfile", str(configfile), *CLUSTER_FLAGS, *args]


def run_id(output: str) -> str:
    match = re.search(r"SLURM run ID: ([0-9a-f-]+)", output)
    assert match, output[-3000:]
    return match.group(1)


def completed_jobs(state: Path, run: str) -> int:
    """The scheduler's own job-completion records of one Snakemake run (jobcomp/filetxt)."""
    records = (state / "jobcomp.log").read_text(encoding="utf-8", errors="replace")
    return len(re.findall(rf"Name={re.escape(run)} JobState=COMPLETED", records))


def batch_submissions(state: Path) -> int:
    log = (state / "slurmctld.log").read_text(encoding="utf-8", errors="replace")
    return log.count("_slurm_rpc_submit_batch_job")


@pytest.fixture(scope="module")
def local_runs(tiny_run) -> bytes:
    """runs.csv of the local tiny run. The replica engine's last bits depend on how many runs share one program,
    so a run through SLURM compares with it at the same chunking: the tiny config's (both seeds in one job)."""
    return (tiny_run[0] / RUNS).read_bytes()


def test_workflow_runs_through_sbatch_and_matches_a_local_run(cluster, tmp_path, local_runs, tiny_run):
    configfile = write_config(tiny_config(), tmp_path / "config.yaml")
    submitted_before = batch_submissions(cluster)
    result = subprocess.run(snakemake_command(tmp_path, configfile), capture_output=True, text=True, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]

    # The tiny config is a tiny suite: the article study on ionosphere, the tuning study on ionosphere and wine.
    # Per (study, dataset) a train job (both seeds) and an aggregate; statistics and figures_article; per tuning
    # dataset tuning_statistics and sensitivity_figure; the suite across both. download and report are local rules.
    expected = 3 * 2 + 2 + 2 * 2 + 1
    assert completed_jobs(cluster, run_id(output)) == expected
    assert batch_submissions(cluster) - submitted_before == expected
    assert (tmp_path / RUNS).read_bytes() == local_runs
    tuned = "results/tuning/ionosphere/tuned_comparisons.csv"
    assert (tmp_path / tuned).read_bytes() == (tiny_run[0] / tuned).read_bytes()
    assert (tmp_path / "reports/report.html").is_file()
    # What the plugin's account guess will print is explained before it prints it.
    assert "schedbench: no slurm_account given" in output
    assert output.index("schedbench: no slurm_account given") < output.index("No SLURM account given")


def running_train_job(timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        queue = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-o", "%i %k"], capture_output=True, text=True)
        for line in queue.stdout.splitlines():
            job, _, comment = line.partition(" ")
            if "rule_train" in comment:
                return job
        time.sleep(0.2)
    raise AssertionError("no training job reached RUNNING")


def test_cancelled_job_fails_the_run_and_a_rerun_completes(cluster, tmp_path, local_runs):
    config = article_only(tiny_config())  # one training job (both seeds): nothing else keeps the run alive
    configfile = write_config(config, tmp_path / "config.yaml")
    process = subprocess.Popen(snakemake_command(tmp_path, configfile), cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        job = running_train_job()
        subprocess.run(["scancel", job], check=True)
        output, _ = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            process.communicate(timeout=60)
    assert process.returncode != 0
    assert "CANCELLED" in output or "Error" in output, output[-4000:]
    assert not (tmp_path / RUNS).exists()

    rerun = subprocess.run(snakemake_command(tmp_path, configfile), capture_output=True, text=True, cwd=tmp_path)
    assert rerun.returncode == 0, (rerun.stdout + rerun.stderr)[-4000:]
    assert (tmp_path / RUNS).read_bytes() == local_runs


def test_without_accounting_the_readme_command_stops_at_once_with_the_flag_to_add(cluster, tmp_path):
    """The README's cluster command on a cluster without job accounting (this one): the plugin would poll sacct
    forever after its jobs COMPLETED; the workflow stops before submitting anything, with one line naming the flag."""
    configfile = write_config(article_only(tiny_config()), tmp_path / "config.yaml")
    flags = [flag for flag in CLUSTER_FLAGS if flag not in ("--slurm-status-command", "squeue")]
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
               str(tmp_path), "--configfile", str(configfile), *flags, "--default-resources", "mem_mb=1000",
               "runtime=30"]
    submitted_before = batch_submissions(cluster)
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)  # a hang fails
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    lines = [line for line in output.splitlines() if line.startswith("schedbench:")]
    assert lines == ["schedbench: SLURM job accounting does not answer here (sacct: Slurm accounting storage is "
                     "disabled), so the SLURM plugin would never see its jobs finish and would wait forever; add "
                     "--slurm-status-command squeue (squeue sees a finished job for MinJobAge = 600 s)"], output[-3000:]
    assert batch_submissions(cluster) == submitted_before
    assert not (tmp_path / "results").exists() and not (tmp_path / "data/raw").exists()
    assert not any((tmp_path / ".snakemake" / "locks").glob("*"))

"""Faults and interruptions: a killed run never leaves a partial table, a rerun finishes with the same bytes."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import REPO, copy_run, load_repo_config, run_snakemake, tiny_config, write_config

pytestmark = pytest.mark.slow

TABLES = [f"article/ionosphere/{name}" for name in ("runs", "predictions", "summary", "comparisons", "friedman",
                                                    "replication", "majority", "attribution",
                                                    "reach_profiles", "paired_differences")]
TABLES += [f"tuning/ionosphere/{name}" for name in ("runs", "predictions", "sensitivity", "tuned", "tuned_summary",
                                                   "tuned_comparisons")]
_REPORT = ["reports/*.html"]
_FIGURES = ["results/*/ionosphere/figures"]
_STATISTICS = [f"results/article/ionosphere/{name}.csv" for name in ("summary", "comparisons", "friedman",
                                                                    "replication", "majority", "attribution",
                                                                    "reach_profiles", "paired_differences")]
_STATISTICS += [f"results/tuning/ionosphere/{name}.csv" for name in ("sensitivity", "tuned", "tuned_summary",
                                                                    "tuned_comparisons")]
# The outputs of a rule and of every rule after it.
OUTPUTS_FROM = {
    "aggregate": ["results/*/ionosphere/runs.csv", "results/*/ionosphere/predictions.csv", *_STATISTICS, *_FIGURES,
                  *_REPORT],
    "statistics": [*_STATISTICS, *_FIGURES, *_REPORT],
    "figures": [*_FIGURES, *_REPORT],
    "report": _REPORT,
}


def digests(workdir) -> dict[str, str]:
    return {name: hashlib.sha256((workdir / f"results/{name}.csv").read_bytes()).hexdigest() for name in TABLES}


@pytest.fixture(scope="module")
def reference(tiny_run):
    """The uninterrupted run of the tiny config: the bytes every interrupted-then-resumed run must equal."""
    return digests(tiny_run[0])


def copy_run_before(run, destination, rule: str):
    """A copy of a finished run without the outputs of ``rule`` and of every rule after it."""
    workdir, configfile = copy_run(run, destination)
    for pattern in OUTPUTS_FROM[rule]:
        for path in workdir.glob(pattern):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return workdir, configfile


def start_snakemake(workdir, configfile, *args):
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
               str(workdir), "--configfile", str(configfile), "--cores", "2", *args]
    return subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, preexec_fn=_default_sigint)


def _default_sigint():
    # A process started in the background by a shell inherits SIGINT ignored; Ctrl-C must reach Snakemake.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt_at(process, marker: str, sig: int, timeout: float = 300) -> str:
    """Read Snakemake's output until ``marker`` appears (a job of that rule started), then send ``sig``."""
    seen = []
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            time.sleep(0.5)  # let the job's process start
            if sig == signal.SIGKILL:
                os.killpg(process.pid, sig)  # the machine dies: Snakemake and its jobs alike
            else:
                os.kill(process.pid, sig)  # Ctrl-C: Snakemake stops its jobs itself
            break
        if time.monotonic() > deadline:
            break
    try:
        process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
    return "".join(seen)


def assert_no_partial_tables(workdir):
    for path in (workdir / "results").rglob("*.csv"):
        table = pd.read_csv(path)  # a torn write would fail to parse or miss rows
        # A tuning study whose families share the baseline's optimizer has nothing to split: a header alone.
        assert len(table) > 0 or (path.name == "attribution.csv" and "tuning" in path.parts), path


def temporaries(workdir) -> list:
    return [p for p in workdir.rglob("*.tmp") if ".snakemake" not in p.parts]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
@pytest.mark.parametrize("rule", ["train", "aggregate", "statistics", "report"])
def test_interrupted_run_resumes_to_identical_results(tmp_path, tiny_run, reference, rule, sig):
    if rule == "train":
        workdir, configfile = tmp_path, write_config(tiny_config(), tmp_path / "config.yaml")
    else:
        # What comes before the rule is not under test: a copy of the finished run without the outputs of the
        # rule and of everything after it is the state a fresh run is in when the rule starts.
        workdir, configfile = copy_run_before(tiny_run, tmp_path / "run", rule)
    process = start_snakemake(workdir, configfile)
    marker = {"figures": "rule figures_article:"}.get(rule, f"rule {rule}:")
    output = interrupt_at(process, marker, sig)
    assert marker in output, output[-3000:]
    assert process.returncode != 0
    assert_no_partial_tables(workdir)
    if sig == signal.SIGINT:
        assert not temporaries(workdir)  # a job stopped by Snakemake removes its own temporary file
    # A killed writer cannot; the next writer of the same target removes what it left.

    if sig == signal.SIGKILL:
        # A killed Snakemake cannot remove its lock; the README tells users to unlock first.
        assert run_snakemake(workdir, configfile, "--unlock").returncode == 0
    rerun = run_snakemake(workdir, configfile, "--rerun-incomplete")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert digests(workdir) == reference
    assert (workdir / "reports/report.html").stat().st_size > 0
    assert not temporaries(workdir)


def test_second_workflow_in_same_directory_is_locked_out(tmp_path, tiny_run):
    # The first workflow redoes everything after training (both studies): it holds the lock for ~30 s, longer than
    # the second needs to start, even on a busy machine.
    workdir, configfile = copy_run_before(tiny_run, tmp_path / "run", "aggregate")
    first = start_snakemake(workdir, configfile)
    try:
        deadline = time.monotonic() + 120
        locks = workdir / ".snakemake" / "locks"
        while not (locks.is_dir() and any(locks.iterdir())):
            assert time.monotonic() < deadline, "the first workflow never took its lock"
            assert first.poll() is None, "the first workflow ended before the second could start"
            time.sleep(0.1)
        second = run_snakemake(workdir, configfile)
        assert second.returncode != 0
        assert "Directory cannot be locked" in second.stdout + second.stderr
    finally:
        first.communicate(timeout=600)
    assert first.returncode == 0


def test_a_failing_training_job_prints_its_log(tmp_path):
    config = tiny_config()
    config["schedules"]["broken"] = {"type": "custom", "function": "userschedules:fails_in_training_jobs",
                                     "per": "epoch", "optimizer": {"momentum": 0.5}}
    config["studies"]["article"]["schedules"].append("broken")
    del config["studies"]["tuning"]
    configfile = write_config(config, tmp_path / "config.yaml")
    tests = str(REPO / "tests")  # where the user's schedule module is
    result = run_snakemake(tmp_path, configfile, env={"PYTHONPATH": os.pathsep.join(
        filter(None, [tests, os.environ.get("PYTHONPATH")]))})
    output = result.stdout + result.stderr
    assert result.returncode != 0
    log = re.search(r"logs/train/article/ionosphere/tail/seeds-\d+-\d+\.log", output).group(0)
    # show-failed-logs: the job's own message is on the terminal, naming the schedule, and in its log.
    message = "schedules.broken.function: userschedules:fails_in_training_jobs(0) failed"
    assert message in output and message in (tmp_path / log).read_text()
    assert not (tmp_path / "results/article/ionosphere/runs.csv").exists()


def test_diverging_schedule_is_recorded_not_fatal(tmp_path):
    config = tiny_config()
    config["training"]["epochs"] = 5
    config["schedules"]["explosive"] = {"type": "constant", "lr0": 1.0e4, "optimizer": {"momentum": 0.9}}
    config["studies"]["article"]["schedules"].append("explosive")
    del config["studies"]["tuning"]  # a config of one study: the report shows what there is
    configfile = write_config(config, tmp_path / "config.yaml")
    result = run_snakemake(tmp_path, configfile)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = pd.read_csv(tmp_path / "results/article/ionosphere/runs.csv")
    explosive = runs[runs["schedule"] == "explosive"]
    assert explosive["diverged"].any()
    assert not runs.loc[runs["schedule"] != "explosive", "diverged"].any()
    summary = pd.read_csv(tmp_path / "results/article/ionosphere/summary.csv").set_index("schedule")
    assert summary.loc["explosive", "n_diverged"] == 2
    assert summary.loc["explosive", "n_seeds"] == 2
    html = (tmp_path / "reports/report.html").read_text(encoding="utf-8")
    assert "diverged" in html.lower()


# The config file the README's recovery commands name; the tests put their own in its place.
README_CONFIGFILE = "mine.yaml"


def readme_recovery_commands(configfile: str) -> list[str]:
    """The command lines of the README's section "After a kill or a power cut", as written there, with
    ``configfile`` for the README's example config file."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### After a kill or a power cut", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.replace(README_CONFIGFILE, configfile) for line in block.splitlines() if line.strip()]


def fresh_clone_with(config: dict, configfile: str, destination):
    """What a user has after cloning the repository (its files as git knows them, their times kept), and the
    user's own config file ``configfile`` with ``config`` beside config.yaml. (Written in full, the config keeps
    its keys in the order of the run ``tiny_run`` made, and so the params of its jobs.)"""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            check=True, capture_output=True, text=True).stdout.split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, destination / name)
    # Merged over config.yaml there, the file must drop the studies the test config dropped (a null removes one).
    dropped = {study: None for study in load_repo_config()["studies"] if study not in config["studies"]}
    return write_config({**config, "studies": {**config["studies"], **dropped}}, destination / configfile)


def with_snakemake_on_path() -> dict:
    return {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_readme_recovery_after_snakemake_alone_is_killed(tmp_path, reference):
    """SIGKILL to Snakemake alone (its job keeps running, as after `kill -9 <pid>`), then the README's recovery
    commands, as written, in the clone: the run finishes with the bytes of an uninterrupted run."""
    clone = tmp_path / "schedbench"
    clone.mkdir()
    configfile = fresh_clone_with(tiny_config(), "tiny.yaml", clone)
    environment = with_snakemake_on_path()
    started = ["snakemake", "--cores", "4", "--configfile", configfile.name]
    # Its output goes to a file: a pipe would stay open as long as the orphaned job holds it.
    first_output = tmp_path / "first-run.txt"
    with open(first_output, "w") as output:
        process = subprocess.Popen(started, cwd=clone, env=environment, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    job_scripts = f"{clone}/.snakemake/scripts/"
    deadline = time.monotonic() + 300
    while subprocess.run(["pgrep", "-f", job_scripts + ".*train"], capture_output=True).returncode != 0:
        assert process.poll() is None and time.monotonic() < deadline, first_output.read_text()[-3000:]
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    try:
        assert subprocess.run(["pgrep", "-f", job_scripts], capture_output=True).returncode == 0, \
            "the job should outlive the Snakemake that started it"
        refused = subprocess.run(started, cwd=clone, env=environment, capture_output=True, text=True, timeout=120)
        assert refused.returncode != 0 and "Directory cannot be locked" in refused.stdout + refused.stderr
        commands = "\n".join(readme_recovery_commands(configfile.name))
        recovery = subprocess.run(["bash", "-c", commands], cwd=clone, env=environment, capture_output=True,
                                  text=True, timeout=900)
        assert recovery.returncode == 0, recovery.stdout[-3000:] + recovery.stderr[-3000:]
    finally:
        subprocess.run(["pkill", "-9", "-f", job_scripts])
    assert digests(clone) == reference
    assert not temporaries(clone)


def test_readme_recovery_keeps_the_results_of_a_run_with_a_config_file(tmp_path, tiny_run):
    """The README's recovery commands after a finished run made with a config file: the dry run says there is
    nothing to be done, and the results stay byte for byte as they were (a command without the config file would
    plan the default benchmark of config.yaml and replace them)."""
    clone = tmp_path / "schedbench"
    clone.mkdir()
    configfile = fresh_clone_with(tiny_config(), "tiny.yaml", clone)
    run, run_config = tiny_run
    # The finished run, as if made in the clone with `snakemake --cores 4 --configfile tiny.yaml`.
    shutil.copytree(run, clone, symlinks=True, dirs_exist_ok=True,
                    ignore=lambda folder, names: [run_config.name] if folder == str(run) else [])
    files = sorted(path for path in (clone / "results").rglob("*") if path.is_file())
    before = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in files}

    commands = readme_recovery_commands(configfile.name)
    dry_runs = [i for i, line in enumerate(commands) if re.search(r"snakemake .*(--dry-run|-n\b)", line)]
    runs = [i for i, line in enumerate(commands) if re.search(r"snakemake .*--cores", line)]
    assert dry_runs and runs and dry_runs[0] < runs[-1], f"no dry run before the run in the README: {commands}"
    for i, line in enumerate(commands):
        assert "snakemake --cores" not in line or f"--configfile {configfile.name}" in line, line
        done = subprocess.run(["bash", "-c", line], cwd=clone, env=with_snakemake_on_path(), capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, (line, done.stdout[-3000:] + done.stderr[-3000:])
        if i in dry_runs or i in runs:
            assert "Nothing to be done" in done.stdout + done.stderr, (line, done.stdout[-3000:])
    assert {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in files} == before
    assert sorted(path for path in (clone / "results").rglob("*") if path.is_file()) == files

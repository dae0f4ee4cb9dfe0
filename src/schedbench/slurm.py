"""Before the first SLURM submission: will Snakemake's SLURM plugin be able to see its jobs finish?

The plugin (snakemake-executor-plugin-slurm 2.x) learns that a job ended from ``sacct`` by default. On a
cluster without job accounting (no slurmdbd) ``sacct`` answers with an error; the plugin then polls forever
after the job has COMPLETED, printing nothing. ``--slurm-status-command squeue`` asks the controller instead,
which remembers a finished job for ``MinJobAge`` seconds; the plugin itself goes back to ``sacct`` when
``MinJobAge`` is shorter than three times its first status-check delay. :func:`status_problem` mirrors those
rules and says which flags make the status checks work, so that the workflow stops at once with that line
instead of hanging.

Stopping is preferred to switching the plugin's setting behind the user's back: the setting is the user's, a
rule of thumb about another cluster could be wrong, and the exact flag in the message is one rerun away.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

PROBE_TIMEOUT_S = 20
# The plugin's default delay before its first status check (--slurm-init-seconds-before-status-checks).
PLUGIN_INITIAL_DELAY_S = 40
# Without slurm_account the plugin guesses one at its first submissions; in 2.8 the guess runs
# `sacct ... | tail -1` without a shell, fails, and the jobs go without -A (--slurm-no-account does not stop it).
ACCOUNT_GUESS_NOTE = (
    "no slurm_account given: at its first submissions the SLURM plugin tries to guess one and may print "
    "\"sacct: invalid option -- '1'\" and \"Unable to guess SLURM account. Trying to proceed without.\"; "
    "harmless, the jobs go to your default account (slurm_account=ACCOUNT in --default-resources chooses one)")


@dataclass(frozen=True)
class ClusterFacts:
    """What the status checks depend on: whether the tools exist, whether accounting answers (and what it said
    when it did not), and the controller's MinJobAge in seconds (None when it could not be read)."""

    sacct_installed: bool
    squeue_installed: bool
    accounting_error: str | None
    min_job_age_s: int | None


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "no output")


def accounting_error(timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """None when ``sacct`` answers a query of the kind the plugin makes; otherwise what it said."""
    command = ["sacct", "-X", "--parsable2", "--clusters", "all", "--noheader", "--format=JobIdRaw,State",
               "--starttime", "now-1hours", "--endtime", "now", "--name", "schedbench-accounting-probe"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return f"no answer within {timeout_s:g} s"
    except OSError as error:
        return str(error)
    if result.returncode != 0:
        return _first_line(result.stderr or result.stdout)
    return None


def min_job_age_s(timeout_s: float = PROBE_TIMEOUT_S) -> int | None:
    """The controller's MinJobAge in seconds (``scontrol show config``), None when it cannot be read."""
    try:
        result = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=timeout_s)
    except (subprocess.TimeoutExpired, OSError):
        return None
    match = re.search(r"^MinJobAge\s*=\s*(\d+)\s*([a-z]*)", result.stdout, re.M | re.I)
    if result.returncode != 0 or not match:
        return None
    value, unit = int(match.group(1)), match.group(2).lower()
    return value * 3600 if unit in ("h", "hour", "hours") else value


def probe_cluster() -> ClusterFacts:
    sacct, squeue = shutil.which("sacct") is not None, shutil.which("squeue") is not None
    return ClusterFacts(sacct_installed=sacct, squeue_installed=squeue,
                        accounting_error=accounting_error() if sacct else None,
                        min_job_age_s=min_job_age_s() if shutil.which("scontrol") else None)


def effective_status_command(configured: str | None, initial_delay_s: int, facts: ClusterFacts) -> str:
    """The command the plugin will poll with, by its own rules (2.8): sacct by default when installed; squeue
    given, but sacct again when MinJobAge is unknown or under three initial delays and sacct is installed; squeue
    when sacct is not installed."""
    command = configured or ("sacct" if facts.sacct_installed else "squeue")
    if command == "squeue" and facts.sacct_installed and (
            facts.min_job_age_s is None or facts.min_job_age_s < 3 * initial_delay_s):
        command = "sacct"
    if command == "sacct" and not facts.sacct_installed:
        command = "squeue"
    return command


def status_problem(configured: str | None, initial_delay_s: int, facts: ClusterFacts) -> str | None:
    """None when the plugin's status checks will see jobs end; otherwise one line: why not, and the flags to add."""
    if effective_status_command(configured, initial_delay_s, facts) != "sacct" or facts.accounting_error is None:
        return None
    why = (f"SLURM job accounting does not answer here (sacct: {facts.accounting_error}), so the SLURM plugin "
           "would never see its jobs finish and would wait forever")
    age = facts.min_job_age_s
    if age is not None and age >= 3:
        if configured == "squeue":
            return (f"{why}: it goes back to sacct because MinJobAge ({age} s) is under three times its first "
                    f"status-check delay ({initial_delay_s} s); add --slurm-init-seconds-before-status-checks "
                    f"{age // 3}")
        flags = "--slurm-status-command squeue"
        if age < 3 * initial_delay_s:
            flags += f" --slurm-init-seconds-before-status-checks {age // 3}"
        return f"{why}; add {flags} (squeue sees a finished job for MinJobAge = {age} s)"
    return (f"{why}; squeue cannot replace it either, since the controller's MinJobAge "
            f"({'unknown' if age is None else f'{age} s'}) is too short: ask the cluster's administrators")

"""Which status command Snakemake's SLURM plugin will poll with, and when it could never see a job finish."""

from __future__ import annotations

import pytest

from schedbench.slurm import ClusterFacts, effective_status_command, status_problem

NO_ACCOUNTING = "sacct: error: Slurm accounting storage is disabled"


def facts(accounting_error=NO_ACCOUNTING, min_job_age_s=600, sacct=True):
    return ClusterFacts(sacct_installed=sacct, squeue_installed=True, accounting_error=accounting_error,
                        min_job_age_s=min_job_age_s)


def test_a_cluster_with_accounting_needs_nothing():
    assert status_problem("sacct", 40, facts(accounting_error=None)) is None


def test_without_accounting_the_default_would_hang_and_the_message_gives_the_flag():
    problem = status_problem("sacct", 40, facts())
    assert f"sacct: {NO_ACCOUNTING}" in problem and "wait forever" in problem
    assert problem.endswith("add --slurm-status-command squeue (squeue sees a finished job for MinJobAge = 600 s)")
    assert "\n" not in problem


def test_with_the_flag_there_is_no_problem():
    assert effective_status_command("squeue", 40, facts()) == "squeue"
    assert status_problem("squeue", 40, facts()) is None


@pytest.mark.parametrize("configured, flags", [
    ("sacct", "add --slurm-status-command squeue --slurm-init-seconds-before-status-checks 20 (squeue sees"),
    ("squeue", "add --slurm-init-seconds-before-status-checks 20"),
])
def test_a_short_min_job_age_needs_a_shorter_first_status_check_too(configured, flags):
    # The plugin goes back to sacct when MinJobAge < 3 x its first delay: squeue alone would hang as well.
    assert effective_status_command("squeue", 40, facts(min_job_age_s=60)) == "sacct"
    assert flags in status_problem(configured, 40, facts(min_job_age_s=60))
    assert status_problem("squeue", 20, facts(min_job_age_s=60)) is None


def test_without_sacct_the_plugin_uses_squeue():
    assert effective_status_command(None, 40, facts(sacct=False, accounting_error=None)) == "squeue"
    assert status_problem(None, 40, facts(sacct=False, accounting_error=None)) is None


def test_no_way_to_see_jobs_end_says_so():
    problem = status_problem("sacct", 40, facts(min_job_age_s=None))
    assert "MinJobAge (unknown)" in problem and "administrators" in problem

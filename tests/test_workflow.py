"""The whole workflow through Snakemake's real command line, on a tiny config in a temporary directory."""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from conftest import REPO, copy_run, run_snakemake, runnable_config, tiny_config, write_config

from schedbench.tables import read_table

# Written out, not imported: the documented contract must not move when the code does.
def run_columns(parameters: list[str], settings: list[str]) -> list[str]:
    """runs.csv's columns: the varied ``parameters``, then after n_test the optimizer and its other ``settings``."""
    return ["dataset", "protocol", "family", *parameters, "schedule", "seed", "budget", "epoch", "lr", "loss", "accuracy",
            "val_loss", "val_accuracy", "val_loss_at_y", "val_accuracy_at_y", "test_loss", "test_accuracy",
            "test_loss_at_y", "test_accuracy_at_y", "diverged", "n_val", "n_test", "optimizer", *settings]


ARTICLE = "results/article/ionosphere"
TUNING = "results/tuning/ionosphere"
SUMMARY_CONTRACT = ["dataset", "protocol", "schedule", "n_seeds", "mean", "sd", "median", "min", "max",
                    "ci_low", "ci_high"]


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_dry_run_lists_every_rule(tiny):
    workdir, configfile = tiny
    result = run_snakemake(workdir, configfile, "--dry-run")
    assert result.returncode == 0, result.stderr
    for rule in ("download", "train", "aggregate", "statistics", "tuning_statistics", "figures_article",
                 "sensitivity_figure", "report", "all"):
        assert re.search(rf"^{rule}\s+\d+$", result.stdout, re.MULTILINE), f"{rule} missing from the plan"
    assert not (workdir / "results").exists()


def test_the_training_jobs_with_the_most_arithmetic_go_first(tmp_path):
    """Snakemake starts the jobs of highest priority first: the MNIST-1D CNN's full runs (the longest job by far)
    must not wait behind the small tables' jobs."""
    result = run_snakemake(tmp_path, REPO / "config.yaml", "--dry-run")
    assert result.returncode == 0, result.stderr
    priorities = {
        match[1]: float(match[2]) for match in re.finditer(
            r"wildcards: (study=\S+, dataset=\S+, protocol=\S+, chunk=\S+)\n\s+priority: ([\d.]+)", result.stdout)
    }
    assert len(priorities) == len(re.findall(r"^rule train:", result.stdout, re.MULTILINE)) > 10
    order = sorted(priorities, key=priorities.get, reverse=True)
    assert order[0] == "study=optimizers, dataset=mnist1d_cnn, protocol=heldout, chunk=seeds-0-9"
    assert order[-1] == "study=tuning, dataset=wine, protocol=heldout, chunk=seeds-0-29"  # 178 rows, 13 features
    assert all(priority > 0 for priority in priorities.values())


def test_lint_is_clean():
    result = run_snakemake(REPO, REPO / "config.yaml", "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def test_snakemake_report_before_any_run_says_the_outputs_are_missing(tiny):
    workdir, configfile = tiny
    result = run_snakemake(workdir, configfile, "--report", "reports/snakemake-report.html")
    assert result.returncode == 1
    assert "File reports/report.html marked for report but does not exist" in result.stdout + result.stderr
    assert not (workdir / "reports/snakemake-report.html").exists()


# Every job of a config's DAG as Snakemake builds it (forced, so every job is in it), through Snakemake's API: its
# rule, params (their repr, which Snakemake compares to decide a rerun) and files, as JSON.
DAG_JOBS = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings, StorageSettings

snakefile, workdir, out = map(Path, sys.argv[1:4])
with SnakemakeApi(OutputSettings(dryrun=True, quiet={"all"})) as api:
    workflow = api.workflow(resource_settings=ResourceSettings(cores=1), config_settings=ConfigSettings(),
                            storage_settings=StorageSettings(), snakefile=snakefile, workdir=workdir)
    dag = workflow.dag(DAGSettings(forceall=True))
    try:
        dag.execute_workflow(executor="local", pseudo_executor="dryrun")
    except TypeError:  # Snakemake before 9.x's pseudo executors
        dag.execute_workflow(executor="dryrun")
    jobs = [{"rule": job.rule.name, "params": [repr(value) for value in job.params],
             "files": [str(f) for f in (*job.input, *job.output, *job.log, *([job.benchmark] if job.benchmark else []))]}
            for job in workflow._workflow.dag.jobs]
out.write_text(json.dumps(jobs), encoding="utf-8")
"""


def test_no_job_of_the_default_config_holds_a_path_of_this_machine(tmp_path):
    """Snakemake reruns a job whose params changed: a params value or a file holding the repository's or the run's
    absolute path would rerun everything in a moved or copied project folder."""
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    out = tmp_path / "jobs.json"
    built = subprocess.run([sys.executable, "-c", DAG_JOBS, str(REPO / "Snakefile"), str(tmp_path), str(out)],
                           capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    jobs = json.loads(out.read_text(encoding="utf-8"))
    assert {job["rule"] for job in jobs} >= {"download", "train", "aggregate", "statistics", "tuning_statistics",
                                             "figures_article", "sensitivity_figure", "suite", "report", "all"}
    machine_paths = {str(REPO), str(REPO.resolve()), str(tmp_path), str(tmp_path.resolve())}
    for job in jobs:
        for value in job["params"] + job["files"]:
            assert not any(path in value for path in machine_paths), (job["rule"], value)
        assert not any(os.path.isabs(path) for path in job["files"]), job


@pytest.mark.slow
def test_a_deleted_contract_file_is_rebuilt_by_the_default_target(tiny_run, tmp_path):
    """A finished run copied to another folder has nothing to do; a table deleted from it comes back, with the same
    bytes, from `snakemake` with no target, and the report is rebuilt after it."""
    workdir, configfile = copy_run(tiny_run, tmp_path / "moved")
    plan = run_snakemake(workdir, configfile, "--dry-run")
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert "Nothing to be done" in plan.stdout + plan.stderr, plan.stdout[-3000:]

    # The default target names every contract file: one missing plans its rule and the report.
    for deleted, rule in (("reports/wine.html", "report"), ("results/tuning/wine/predictions.csv", "aggregate"),
                          ("results/tuning/suite/figures/critical-difference.png", "suite"),
                          (f"{ARTICLE}/runs.csv", "aggregate")):
        aside = tmp_path / "aside"
        os.replace(workdir / deleted, aside)  # a rename keeps its time: put back, it is up to date again
        plan = run_snakemake(workdir, configfile, "--dry-run")
        os.replace(aside, workdir / deleted)
        assert plan.returncode == 0, plan.stderr[-3000:]
        for planned in (rule, "report"):
            assert re.search(rf"^{planned}\s+1$", plan.stdout, re.MULTILINE), (deleted, plan.stdout[-3000:])

    tables = sorted((workdir / "results").rglob("*.csv"))
    before = {path: sha256(path) for path in tables}
    report_written = (workdir / "reports/report.html").stat().st_mtime_ns
    (workdir / f"{ARTICLE}/summary.csv").unlink()
    rerun = run_snakemake(workdir, configfile)
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    assert "rule statistics:" in rerun.stdout + rerun.stderr
    assert {path: sha256(path) for path in tables} == before
    assert (workdir / "reports/report.html").stat().st_mtime_ns > report_written


@pytest.mark.slow
def test_tiny_workflow_end_to_end(tiny_run):
    workdir, configfile = tiny_run
    config = tiny_config()
    # The article study: its six schedules, then the controls of the momenta 0.8 and 0.9.
    schedules = [*config["studies"]["article"]["schedules"], "baseline momentum=0.8", "baseline momentum=0.9"]
    runs = pd.read_csv(workdir / f"{ARTICLE}/runs.csv")
    assert list(runs.columns) == run_columns(["momentum"], ["nesterov"])
    assert list(pd.unique(runs["schedule"])) == schedules
    assert runs.loc[runs["schedule"] == "baseline momentum=0.9", "family"].eq("baseline").all()
    assert runs["test_accuracy"].isna().all() and (runs["n_test"] == 0).all()
    assert len(runs) == len(schedules) * 2 * 3
    assert runs.groupby(["schedule", "seed"]).size().eq(3).all()
    assert sorted(runs["epoch"].unique()) == [1, 2, 3]
    assert runs["val_accuracy"].between(0, 1).all()
    # Accuracy on 116 rows moves in steps of 1/116.
    correct = runs["val_accuracy"] * 116
    assert (correct - correct.round()).abs().max() < 1e-4

    summary = pd.read_csv(workdir / f"{ARTICLE}/summary.csv")
    assert list(summary.columns[: len(SUMMARY_CONTRACT)]) == SUMMARY_CONTRACT
    assert list(summary["schedule"]) == schedules
    assert (summary["n_seeds"] == 2).all()
    assert ((summary["ci_low"] <= summary["mean"]) & (summary["mean"] <= summary["ci_high"])).all()

    comparisons = pd.read_csv(workdir / f"{ARTICLE}/comparisons.csv")
    vs_baseline = comparisons[comparisons["vs_baseline"]]
    assert sorted(vs_baseline["a"]) == sorted(s for s in schedules[:6] if s != "baseline")  # not the controls
    assert (vs_baseline["b"] == "baseline").all()

    predictions = pd.read_csv(workdir / f"{ARTICLE}/predictions.csv")
    assert len(predictions) == len(schedules) * 2 * 116
    majority = pd.read_csv(workdir / f"{ARTICLE}/majority.csv")
    assert majority["majority_accuracy"].tolist() == pytest.approx([107 / 116])  # 'g' on the tail rows
    replication = pd.read_csv(workdir / f"{ARTICLE}/replication.csv")
    assert list(replication["schedule"]) == list(config["report"]["article"])
    attribution = read_table(workdir / f"{ARTICLE}/attribution.csv", "attribution")
    assert list(attribution["schedule"]) == schedules[1:6]
    assert list(attribution["control"]) == ["baseline momentum=0.8"] + ["baseline momentum=0.9"] * 4

    # The tuning study: 6 families x a 2 x 2 grid on held-out splits, one choice per family and seed.
    tuning = read_table(workdir / f"{TUNING}/runs.csv", "runs")
    assert list(tuning.columns) == run_columns(["lr0", "momentum"], ["nesterov"])
    assert tuning["schedule"].nunique() == 24 and (tuning["n_test"] == 71).all()
    final = tuning["epoch"] == 3
    assert tuning.loc[final, "test_accuracy"].notna().all() and tuning.loc[~final, "test_accuracy"].isna().all()
    tuned = read_table(workdir / f"{TUNING}/tuned.csv", "tuned")
    assert len(tuned) == 6 * 2 and (tuned["n_candidates"] == 4).all()
    assert len(read_table(workdir / f"{TUNING}/sensitivity.csv", "sensitivity")) == 24
    tuned_comparisons = read_table(workdir / f"{TUNING}/tuned_comparisons.csv", "tuned_comparisons")
    assert set(tuned_comparisons["a"]) | set(tuned_comparisons["b"]) == set(config["studies"]["tuning"]["schedules"])
    assert (workdir / f"{TUNING}/figures/sensitivity.png").stat().st_size > 0

    provenance = json.loads((workdir / "data/raw/ionosphere.provenance.json").read_text())
    assert provenance["source"] == "bundled"
    assert provenance["sha256"] == config["datasets"]["ionosphere"]["sha256"]

    for log in ("download/ionosphere", "train/article/ionosphere/tail/seeds-0-1", "aggregate/article/ionosphere",
                "statistics/article/ionosphere", "figures/article/ionosphere", "train/tuning/ionosphere/heldout/seeds-0-1",
                "tuning_statistics/tuning/ionosphere", "sensitivity_figure/tuning/ionosphere", "report"):
        assert (workdir / f"logs/{log}.log").is_file(), log
    benchmarks = ("download/ionosphere", "download/wine", "train/article/ionosphere/tail/seeds-0-1",
                  "aggregate/article/ionosphere", "statistics/article/ionosphere", "figures/article/ionosphere",
                  "tuning_statistics/tuning/ionosphere", "sensitivity_figure/tuning/wine", "suite/tuning")
    for benchmark in benchmarks:
        assert (workdir / f"logs/benchmarks/{benchmark}.tsv").is_file(), benchmark
    # The report's run-time appendix: one row per step, from those files.
    steps = (workdir / "reports/report.html").read_text(encoding="utf-8").split('id="runtime-steps"')[1]
    for step in ("download", "train", "aggregate", "statistics", "figures", "tuning_statistics",
                 "sensitivity_figure", "suite"):
        assert f'<th scope="row">{step}</th>' in steps.split("</table>")[0], step

    figures = sorted(p.name for p in (workdir / f"{ARTICLE}/figures").glob("*.png"))
    assert "schedules.png" in figures and "tail-learning-curves.png" in figures

    # Two datasets: the overview answers across them and links one page per dataset.
    suite = read_table(workdir / "results/tuning/suite/suite_average_ranks.csv", "suite_average_ranks")
    assert sorted(suite["family"]) == sorted(config["studies"]["tuning"]["schedules"])
    assert (suite["n_datasets"] == 2).all()
    assert (workdir / "results/tuning/suite/figures/critical-difference.png").stat().st_size > 0
    overview = (workdir / "reports/report.html").read_text(encoding="utf-8")
    assert 'href="ionosphere.html"' in overview and 'href="wine.html"' in overview and 'id="suite"' in overview
    html = (workdir / "reports/ionosphere.html").read_text(encoding="utf-8")
    assert 'href="report.html"' in html and "<img" in html
    for page in (overview, html, (workdir / "reports/wine.html").read_text(encoding="utf-8")):
        assert not re.search(r"""(src|href)\s*=\s*["']https?://""", page), "the report must not load anything remote"
    for name in schedules:
        assert name in html
    # wine is in the tuning study alone: its page has no configured comparison, so no heading for one.
    assert 'id="verdict-as-configured"' in html
    assert 'id="verdict-as-configured"' not in (workdir / "reports/wine.html").read_text(encoding="utf-8")
    wine = read_table(workdir / "results/tuning/wine/runs.csv", "runs")
    assert wine["n_val"].iloc[0] == 59 and wine["n_test"].iloc[0] == 36  # 178 rows: 83 / 59 / 36
    predictions = read_table(workdir / "results/tuning/wine/predictions.csv", "predictions")
    assert set(predictions["predicted"]) <= {"class_0", "class_1", "class_2"}

    assert oct((workdir / "reports/report.html").stat().st_mode & 0o777) == oct(0o666 & ~current_umask())


@pytest.mark.slow
def test_rerun_report_and_config_changes(tiny_run, tmp_path):
    workdir, configfile = copy_run(tiny_run, tmp_path / "run")
    snakemake_report = run_snakemake(workdir, configfile, "--report", "reports/snakemake-report.html")
    assert snakemake_report.returncode == 0, snakemake_report.stderr[-3000:]
    assert (workdir / "reports/snakemake-report.html").stat().st_size > 0

    again = run_snakemake(workdir, configfile)
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr

    # A config change reruns what depends on it, and only that.
    changed = tiny_config()
    changed["schedules"]["drop-decay"]["drop"] = 0.25
    plan = run_snakemake(workdir, write_config(changed, workdir / "changed.yaml"), "--dry-run")
    assert plan.returncode == 0, plan.stderr[-3000:]
    # drop-decay is in both studies: the article's job and the tuning study's job on each of its 2 datasets rerun.
    assert re.search(r"^train\s+3$", plan.stdout, re.MULTILINE), plan.stdout[-3000:]
    assert not re.search(r"^download\s+\d+$", plan.stdout, re.MULTILINE)
    # Same config, same machine, byte-identical tables from a clean start: test_reliability's interrupted runs, each
    # a fresh run in a directory of its own, end with every table equal to this run's.


# Names a CSV reader would turn into NaN, None or numbers unless told otherwise.
ODD_NAMES = ("NA", "null", "None", "123", "1e3")


@pytest.mark.slow
def test_every_schedule_type_both_protocols_and_odd_names_run_end_to_end(tmp_path):
    config = runnable_config("resplit")
    config["schedules"] = {
        "baseline": {"type": "constant", "lr0": 0.1},
        "time-update": {"type": "inverse_time", "lr0": 0.1, "decay": 0.002, "per": "update", "optimizer": {"momentum": 0.8}},
        "time-epoch": {"type": "inverse_time", "lr0": 0.1, "decay": 0.002, "per": "epoch"},
        "drop": {"type": "step", "lr0": 0.1, "drop": 0.5, "epochs_drop": 2, "optimizer": {"momentum": 0.9}},
        "piecewise": {"type": "piecewise", "boundaries": [1, 2], "values": [0.1, 0.05, 0.01], "per": "epoch"},
        "exponential": {"type": "exponential", "lr0": 0.1, "decay_rate": 0.5, "decay_steps": 9, "per": "update",
                        "staircase": True},
        "polynomial": {"type": "polynomial", "lr0": 0.1, "decay_steps": 27, "power": 2.0, "per": "update"},
        "cosine": {"type": "cosine", "lr0": 0.01, "decay_steps": 18, "warmup_steps": 9, "warmup_target": 0.1,
                   "per": "update", "optimizer": {"nesterov": True, "momentum": 0.9}},
        "sgdr": {"type": "cosine_restarts", "lr0": 0.1, "first_decay_steps": 9, "per": "update"},
        "cyclical": {"type": "cyclical", "base_lr": 0.01, "max_lr": 0.1, "step_size": 4, "per": "update"},
        "one-cycle": {"type": "one_cycle", "max_lr": 0.1, "total_steps": 27, "per": "update"},
        "plateau": {"type": "reduce_on_plateau", "lr0": 0.1, "patience": 1, "factor": 0.5},
        "mine": {"type": "custom", "function": "userschedules:halving", "per": "epoch"},
    }
    # Odd names on five of the types, the baseline among them: they must come back as themselves everywhere.
    for odd, name in zip(ODD_NAMES, ("baseline", "piecewise", "sgdr", "cyclical", "one-cycle")):
        config["schedules"] = {odd if key == name else key: spec for key, spec in config["schedules"].items()}
    config["report"]["baseline"] = "NA"
    config["report"]["article"] = {}
    config["studies"]["article"]["schedules"] = list(config["schedules"])
    # The tuning study on the families with an lr0, the odd-named baseline among them.
    config["studies"]["tuning"].update(schedules=["NA", "drop", "cosine", "plateau"], overrides={},
                                       grid={"lr0": [0.1, 0.3]})
    configfile = write_config(config, tmp_path / "config.yaml")
    # The user's module is importable from the job's environment, as a user's own package would be.
    result = run_snakemake(tmp_path, configfile, env={"PYTHONPATH": str(REPO / "tests")})
    assert result.returncode == 0, result.stderr[-4000:]
    runs = pd.read_csv(tmp_path / f"{ARTICLE}/runs.csv")
    assert list(runs["protocol"].unique()) == ["tail", "resplit"]
    assert runs["lr"].gt(0).all()
    controls = ["NA momentum=0.8", "NA momentum=0.9", "NA momentum=0.9 nesterov=true"]
    names = list(config["schedules"]) + controls
    assert set(ODD_NAMES) <= set(names)
    for table in ("runs", "predictions", "summary"):
        assert list(pd.unique(read_table(tmp_path / f"{ARTICLE}/{table}.csv", table)["schedule"])) == names
    attribution = read_table(tmp_path / f"{ARTICLE}/attribution.csv", "attribution")
    assert set(attribution["control"]) == {"NA", *controls} and set(attribution["baseline"]) == {"NA"}
    tuned = read_table(tmp_path / f"{TUNING}/tuned.csv", "tuned")
    assert list(pd.unique(tuned["family"])) == ["NA", "drop", "cosine", "plateau"]
    assert set(tuned.loc[tuned["family"] == "NA", "schedule"]) <= {"NA lr0=0.1", "NA lr0=0.3"}
    comparisons = read_table(tmp_path / f"{ARTICLE}/comparisons.csv", "comparisons")
    assert set(comparisons.loc[comparisons["vs_baseline"], "b"]) == {"NA"}
    assert set(comparisons["a"]) | set(comparisons["b"]) == set(config["schedules"])  # the controls are not compared
    assert comparisons["a"].map(type).eq(str).all() and comparisons["b"].map(type).eq(str).all()
    predictions = read_table(tmp_path / f"{ARTICLE}/predictions.csv", "predictions")
    validation_rows = predictions.groupby(["protocol", "seed"])["row"].apply(frozenset)
    # The tail split is the same for every seed; each seed draws its own split under resplit.
    assert validation_rows["tail"].nunique() == 1
    assert validation_rows["resplit"].nunique() == 3
    html = (tmp_path / "reports/report.html").read_text(encoding="utf-8")
    for name in config["schedules"]:
        assert f"<td>{name}</td>" in html or f">{name}<" in html, name


@pytest.mark.slow
def test_keras_engine_config_runs_end_to_end(tmp_path):
    config = runnable_config("keras")
    result = run_snakemake(tmp_path, write_config(config, tmp_path / "config.yaml"))
    assert result.returncode == 0, result.stderr[-4000:]
    runs = read_table(tmp_path / f"{ARTICLE}/runs.csv", "runs")
    schedules = [*config["studies"]["article"]["schedules"], "baseline momentum=0.8", "baseline momentum=0.9"]
    assert list(pd.unique(runs["schedule"])) == schedules
    assert len(runs) == len(schedules) * len(config["studies"]["article"]["seeds"]) * config["training"]["epochs"]
    assert "with the keras engine" in (tmp_path / "logs/train/article/ionosphere/tail/seeds-0-0.log").read_text()
    tuning = read_table(tmp_path / f"{TUNING}/runs.csv", "runs")
    assert tuning.loc[tuning["epoch"] == 2, "test_accuracy"].notna().all()
    assert (tmp_path / "reports/report.html").stat().st_size > 0


@pytest.mark.slow
def test_no_valid_data_source_stops_with_a_clear_error(tmp_path):
    corrupted = tmp_path / "ionosphere.data"
    payload = bytearray((REPO / "data/bundled/ionosphere.data").read_bytes())
    payload[100] ^= 0x01
    corrupted.write_bytes(bytes(payload))
    config = tiny_config()
    config["datasets"]["ionosphere"]["bundled"] = str(corrupted)
    configfile = write_config(config, tmp_path / "config.yaml")
    result = run_snakemake(tmp_path, configfile)
    assert result.returncode != 0
    assert "no valid copy of data set 'ionosphere' from any source" in result.stderr
    assert "SHA-256" in result.stderr or "sha256" in result.stderr.lower()
    assert not (tmp_path / "data/raw/ionosphere.data").exists()
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_a_study_builds_alone_with_the_same_numbers(tiny_run, tmp_path):
    """`snakemake --cores 4 tuning` builds the tuning study's tables and figure and nothing else, with the same
    bytes as the full run (a study does not depend on the others)."""
    reference, configfile = tiny_run
    plan = run_snakemake(tmp_path, configfile, "tuning", "--dry-run")
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert not re.search(r"^(statistics|figures_article|report)\s+\d+$", plan.stdout, re.MULTILINE), plan.stdout
    result = run_snakemake(tmp_path, configfile, "tuning")
    assert result.returncode == 0, result.stderr[-4000:]
    assert not (tmp_path / "results/article").exists() and not (tmp_path / "reports").exists()
    for name in ("runs", "sensitivity", "tuned", "tuned_summary", "tuned_comparisons"):
        assert sha256(tmp_path / f"{TUNING}/{name}.csv") == sha256(reference / f"{TUNING}/{name}.csv"), name
    assert (tmp_path / f"{TUNING}/figures/sensitivity.png").read_bytes() == (
        reference / f"{TUNING}/figures/sensitivity.png").read_bytes()


@pytest.mark.slow
def test_the_optimizers_study_splits_each_family_and_says_why(tmp_path):
    """The optimizers study's toy run (.test/config-optimizers.yaml) through Snakemake: SGD and AdamW families and
    schedule-free AdamW trained side by side, every optimizer setting in runs.csv, each family split against its
    control family, the schedule-free family's score at y measured, and the report saying which family, why and what
    scoring y changes."""
    configfile = write_config(runnable_config("optimizers"), tmp_path / "config.yaml")
    result = run_snakemake(tmp_path, configfile)
    assert result.returncode == 0, result.stderr[-4000:]
    where = tmp_path / "results/optimizers/ionosphere"
    runs = read_table(where / "runs.csv", "runs")
    assert list(runs.columns) == run_columns(
        ["lr0", "weight_decay"], ["momentum", "nesterov", "beta_1", "beta_2", "epsilon", "warmup_steps"])
    # The full runs end at epoch 4; the schedules that end with the run are trained again for half of it.
    final = runs[(runs["epoch"] == 4) & (runs["budget"] == 1.0)]
    half = runs[runs["budget"] == 0.5]
    assert set(half["family"]) == {"sgd-cosine", "sgd-linear", "sgd-wsd", "sgd-warmup-cosine", "adamw-cosine",
                                   "adamw-linear", "adamw-wsd", "adamw-warmup-cosine"}
    assert half["epoch"].max() == 2 and half.loc[half["epoch"] == 2, "test_accuracy"].notna().all()
    read = runs[(runs["budget"] == 1.0) & (runs["epoch"] == 2)]  # the others' half budget, read from the full run
    assert read.loc[~read["family"].isin(set(half["family"])), "test_accuracy"].notna().all()
    optimizer = final.groupby("family")["optimizer"].first()
    assert optimizer["baseline"] == "sgd" and optimizer["adamw-wsd"] == "adamw"
    assert optimizer["schedule-free-adamw"] == "schedule_free_adamw"
    # Only the schedule-free family has a second point to score.
    at_y = final["test_accuracy_at_y"].notna()
    assert (at_y == (final["family"] == "schedule-free-adamw")).all()
    assert final.loc[~at_y, "nesterov"].notna().sum() == (final["optimizer"] == "sgd").sum()

    attribution = read_table(where / "attribution.csv", "attribution")
    assert dict(zip(attribution["schedule"], attribution["control"])) == {
        "sgd-cosine": "baseline", "sgd-linear": "baseline", "sgd-wsd": "baseline", "sgd-warmup-cosine": "baseline",
        "adamw-constant": "adamw-constant", "adamw-cosine": "adamw-constant", "adamw-linear": "adamw-constant",
        "adamw-wsd": "adamw-constant", "adamw-warmup-cosine": "adamw-constant",
        "schedule-free-adamw": "schedule-free-adamw"}
    assert (attribution["n_val"] == runs["n_test"].iloc[0]).all()  # scored on the test rows
    parts = attribution["optimizer_diff"] + attribution["schedule_diff"]
    assert (parts - attribution["total_diff"]).abs().max() < 1e-12
    summary = read_table(where / "tuned_summary.csv", "tuned_summary")
    assert summary.loc[summary["family"] != "schedule-free-adamw", "x_minus_y"].isna().all()
    assert summary.loc[summary["family"] == "schedule-free-adamw", "x_minus_y"].notna().all()

    budgets = read_table(where / "budgets.csv", "budgets")
    assert sorted(set(budgets["budget"])) == [0.5, 1.0] and len(budgets) == 11 * 2 * 2  # families x budgets x seeds
    assert set(budgets.loc[budgets["family"] == "schedule-free-adamw", "obtained"]) == {"read", "trained"}
    assert (tmp_path / "results/optimizers/budgets/figures/accuracy-by-budget.png").stat().st_size > 0

    overview = _text((tmp_path / "reports/report.html").read_text(encoding="utf-8"))
    answer = overview[overview.index("The answer"):]
    assert answer.startswith("The answer Which schedule, with which optimizer, for which budget (study optimizers")
    assert "No family beats the tuned baseline" in overview or "Better than the tuned baseline" in overview
    assert re.search(r"Why: (of [\w-]+'s difference from the tuned baseline|[\w-]+ (runs the baseline's optimizer|is "
                     r"the baseline's schedule with another optimizer))", overview), overview[:3000]
    page = _text((tmp_path / "reports/ionosphere.html").read_text(encoding="utf-8"))
    assert "The Keras pitfall: Keras scores a schedule-free model at y" in page
    assert "The families of the study optimizers" in page and "adamw (beta_1 0.9" in page


def _text(html_part: str) -> str:
    """What a reader sees of a piece of HTML: tags dropped, entities decoded, whitespace collapsed."""
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", html_part))).strip()
    return re.sub(r" ([:;,.)])", r"\1", text)


# (page, its model, its batch size, its protocols, the primary score of each, the studies that train it)
PAGE_DESIGNS = [
    ("wine", "Dense(13, relu) then Dense(3, softmax) (sparse categorical cross-entropy over 3 classes)", 16,
     ["heldout"], ["test accuracy"], ["tuning"]),
    ("ionosphere", "Dense(34, relu) then Dense(1, sigmoid) (binary cross-entropy)", 28, ["tail", "heldout"],
     ["final-epoch validation accuracy", "test accuracy"], ["article", "tuning"]),
]


@pytest.mark.slow
@pytest.mark.parametrize("dataset, model, batch_size, protocols, scores, studies", PAGE_DESIGNS,
                         ids=[design[0] for design in PAGE_DESIGNS])
def test_each_dataset_page_states_its_own_design(tiny_run, dataset, model, batch_size, protocols, scores, studies):
    workdir, _ = tiny_run
    page = (workdir / "reports" / f"{dataset}.html").read_text(encoding="utf-8")
    header = _text(page[page.index("<header>"):page.index("</header>")])
    methods = page[page.index('<section id="methods">'):]
    design = _text(methods[:methods.index("<h3>Statistics")])
    for part in (header, design):
        assert model in part and f"batch size {batch_size}" in part, part
        for other, *_ in PAGE_DESIGNS:
            if other != dataset:
                assert next(d[1] for d in PAGE_DESIGNS if d[0] == other) not in part
    stated = re.search(r"protocols?: ([a-z ]+)\.", header).group(1).split()
    assert stated == protocols
    for study, protocol, score in zip(studies, protocols, scores):
        assert f"Primary metric of the study {study} under {protocol}: the {score}" in design
        assert f"Protocol {protocol}:" in design
    assert [p for p in ("tail", "resplit", "heldout") if f"Protocol {p}:" in design] == protocols
    assert re.findall(r"in the study (\w+)", header) == studies

import math
import os
import re
import sys
from pathlib import Path

from schedbench import slurm
from schedbench.config import ConfigError, validate_config
from schedbench.config_files import locate, merged_config
from schedbench.figures.registry import (
    BUDGET_FIGURES,
    FIGURES,
    SUITE_FIGURES,
    TUNING_FIGURES,
    budget_figure_settings,
    figure_instances,
    figure_settings,
    figure_stems,
    sensitivity_settings,
)
from schedbench.budgets import epochs_of_budget
from schedbench.plan import build_plan
from schedbench.protocols import PROTOCOLS as PROTOCOL_REGISTRY
from schedbench.tables import (
    BUDGET_PROFILE_TABLES,
    BUDGET_TABLES,
    STATISTICS_TABLES,
    SUITE_TABLES,
    TUNING_TABLES,
)


def _config_files_in_merge_order():
    """Snakemake lays the --configfile files over the Snakefile's configfile (unless --replace-workflow-config drops
    it), whatever the order it lists them."""
    given = [os.path.abspath(path) for path in workflow.config_settings.configfiles]
    if workflow.config_settings.replace_workflow_config:
        return given
    return [path for path in workflow.configfiles if os.path.abspath(path) not in given] + given


def _checked_config():
    """The config with the schema's defaults, or a message naming the bad key and exit status 1. The files are
    merged again here, as Snakemake merged them but with a null removing its key (schedbench.config_files)."""
    files, command_line = _config_files_in_merge_order(), dict(workflow.config_settings.config or {})
    try:
        return validate_config(merged_config(files, command_line))  # the schema of the package that runs the jobs
    except ConfigError as error:
        print(f"schedbench: {locate(error, files, command_line)}", file=sys.stderr)
        sys.exit(1)


config.clear()  # replaced, not updated: a key a file removes must not survive from Snakemake's own merge
config.update(_checked_config())
# What the config asks to run, computed once: rules pass each script its part of it, never the raw config.
PLAN = build_plan(config)

STUDIES = list(PLAN.studies)
# A study with a grid is a tuning study: its own statistics and figure (see schedbench.studies).
TUNING = PLAN.tuning_studies
PLAIN = PLAN.plain_studies
# Tuning studies over several datasets: their verdict across datasets (rule suite).
SUITES = PLAN.suites
# Tuning studies with budgets besides the full run: each family tuned and scored per budget (rules in budgets.smk).
BUDGET_STUDIES = PLAN.budget_studies
DATASETS = list(PLAN.datasets)
PROTOCOLS = {study: list(PLAN.studies[study].protocols) for study in STUDIES}
REPOSITORY = Path(workflow.basedir)
CAPTIONS = {
    spec.name: (REPOSITORY / "workflow/report" / spec.caption_file).read_text(encoding="utf-8")
    for spec in (*FIGURES, *TUNING_FIGURES, *SUITE_FIGURES, *BUDGET_FIGURES)
}


def _slurm_account_given():
    resources = workflow.resource_settings
    given = [resources.default_resources or {}, *(resources.overwrite_resources or {}).values()]
    return any("slurm_account" in mapping for mapping in given)


def check_slurm_before_submitting():
    """On SLURM: stop with the exact flags when the plugin could not see jobs finish (it would hang), and say
    what the plugin's account guessing will print (it alarms, it is harmless)."""
    if workflow.executor_plugin is None or workflow.executor_plugin.name != "slurm":
        return
    settings = workflow.executor_settings
    delay = getattr(settings, "init_seconds_before_status_checks", None) or slurm.PLUGIN_INITIAL_DELAY_S
    problem = slurm.status_problem(getattr(settings, "status_command", None), delay, slurm.probe_cluster())
    if problem:
        print(f"schedbench: {problem}", file=sys.stderr)
        raise SystemExit(1)
    if not _slurm_account_given():
        print(f"schedbench: {slurm.ACCOUNT_GUESS_NOTE}", file=sys.stderr)
    print(f"schedbench: SLURM status checks start {delay} s after a submission "
          "(--slurm-init-seconds-before-status-checks)", file=sys.stderr)


def one_of(names):
    """A wildcard constraint matching exactly these names (and nothing when there are none)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


wildcard_constraints:
    study=one_of(STUDIES),
    dataset=one_of(DATASETS),
    protocol=one_of(PROTOCOL_REGISTRY),
    # A chunk of seeds, and for a budget below the full run its fraction: seeds-0-9, seeds-0-9.budget-0.25.
    chunk=r"seeds-\d+-\d+(\.budget-[0-9.]+)?",


def study_datasets(study):
    return list(PLAN.studies[study].datasets)


# The replica engine's arithmetic throughput the time limits assume: a quarter or less of what it reaches on 2 CPU
# cores (19-31 GFLOP/s on the MNIST-1D models, benchmarks/README.md), so that a slower node still finishes.
ASSUMED_GFLOP_PER_S = 5.0


def train_runs_and_gflop(wildcards) -> tuple[int, float]:
    """A training job's runs and its arithmetic (forward, backward and evaluation, every epoch of every run)."""
    study = PLAN.studies[wildcards.study]
    runs = study.runs_per_job(wildcards.dataset, wildcards.protocol, wildcards.chunk)
    dataset = PLAN.datasets[wildcards.dataset]
    epochs = epochs_of_budget(study.job_budget(wildcards.chunk), dataset.training["epochs"])
    return runs, runs * epochs * dataset.gflop_per_run_epoch(wildcards.protocol)


def train_priority(wildcards) -> float:
    """The longest training jobs first (by their arithmetic, in TFLOP): started last, the MNIST-1D CNN's job
    alone would outlast everything else (measured: started at 97 s of a 371 s run, it ended at 284 s)."""
    return round(train_runs_and_gflop(wildcards)[1] / 1000, 3)


def train_runtime_minutes(wildcards):
    """Generous: TensorFlow's start-up and tracing, then the job's arithmetic at ASSUMED_GFLOP_PER_S (the replica
    engine), or 10 s per run of Keras fit and its arithmetic at 0.5 GFLOP/s (a run of a small table takes 1-2 s on
    2 cores)."""
    runs, gflop = train_runs_and_gflop(wildcards)
    if PLAN.engine == "keras":
        return 5 + (runs * 10) // 60 + math.ceil(gflop / 0.5 / 60)
    return 10 + runs // 600 + math.ceil(gflop / ASSUMED_GFLOP_PER_S / 60)


def train_mem_mb(wildcards):
    """TensorFlow's own 1.5 GB and, for the replica engine, what each run of the job adds."""
    if PLAN.engine != "replica":
        return 1500
    runs = PLAN.studies[wildcards.study].runs_per_job(wildcards.dataset, wildcards.protocol, wildcards.chunk)
    per_run = PLAN.datasets[wildcards.dataset].memory_per_run_mb(wildcards.protocol)
    return 1500 + math.ceil(runs * per_run)


# Every job's Snakemake benchmark file, by step: the rules' benchmark: directives and the report's run-time
# appendix both take the path from here.
BENCHMARKS = {
    "download": "{dataset}",
    "train": "{study}/{dataset}/{protocol}/{chunk}",
    "aggregate": "{study}/{dataset}",
    "statistics": "{study}/{dataset}",
    "figures": "{study}/{dataset}",
    "tuning_statistics": "{study}/{dataset}",
    "sensitivity_figure": "{study}/{dataset}",
    "suite": "{study}",
    "budget_statistics": "{study}/{dataset}",
    "budget_profiles": "{study}",
    "budget_figures": "{study}",
}


def benchmark_file(step):
    return f"logs/benchmarks/{step}/{BENCHMARKS[step]}.tsv"


def job_benchmarks():
    """{benchmark file: training runs of the job (0 when it trains none)} of every job behind the report."""
    files = {benchmark_file("download").format(dataset=dataset): 0 for dataset in DATASETS}
    for study in STUDIES:
        steps = ("aggregate", "tuning_statistics", "sensitivity_figure") if study in TUNING else (
            "aggregate", "statistics", "figures")
        if study in BUDGET_STUDIES:
            steps += ("budget_statistics",)
            files[benchmark_file("budget_profiles").format(study=study)] = 0
            files[benchmark_file("budget_figures").format(study=study)] = 0
        for dataset in study_datasets(study):
            for protocol in PROTOCOLS[study]:
                for chunk in PLAN.studies[study].jobs(dataset, protocol):
                    job = {"study": study, "dataset": dataset, "protocol": protocol, "chunk": chunk}
                    files[benchmark_file("train").format(**job)] = PLAN.studies[study].runs_per_job(
                        dataset, protocol, chunk)
            files.update({benchmark_file(step).format(study=study, dataset=dataset): 0 for step in steps})
        if study in SUITES:
            files[benchmark_file("suite").format(study=study)] = 0
    return files


def chunk_files(wildcards, table):
    return [
        f"results/{wildcards.study}/{wildcards.dataset}/{protocol}/chunks/{chunk}.{table}.csv"
        for protocol in PROTOCOLS[wildcards.study]
        for chunk in PLAN.studies[wildcards.study].jobs(wildcards.dataset, protocol)
    ]


def figure_files(study, dataset):
    if study in TUNING:
        return [f"results/{study}/{dataset}/figures/{spec.name}.png" for spec in TUNING_FIGURES]
    return [f"results/{study}/{dataset}/figures/{stem}.png" for stem in figure_stems(PROTOCOLS[study])]


def suite_outputs(study):
    if study not in SUITES:
        return []
    return [f"results/{study}/suite/{table}.csv" for table in SUITE_TABLES] + [
        f"results/{study}/suite/figures/{spec.name}.png" for spec in SUITE_FIGURES
    ]


def budget_outputs(study):
    if study not in BUDGET_STUDIES:
        return []
    return [f"results/{study}/budgets/{table}.csv" for table in BUDGET_PROFILE_TABLES] + [
        f"results/{study}/budgets/figures/{spec.name}.png" for spec in BUDGET_FIGURES
    ]


def study_outputs(study):
    """A study's tables and figures for each of its datasets, and across them: what the report shows."""
    tables = TUNING_TABLES if study in TUNING else STATISTICS_TABLES
    if study in BUDGET_STUDIES:
        tables = (*tables, *BUDGET_TABLES)
    return [
        path
        for dataset in study_datasets(study)
        for path in (
            *(f"results/{study}/{dataset}/{table}.csv" for table in ("runs", *tables)),
            *figure_files(study, dataset),
        )
    ] + suite_outputs(study) + budget_outputs(study)


def contract_files(study):
    """Every table and figure of a study that the README's contract names: what the study's target and the default
    target ask for. Snakemake rebuilds a missing file only when a target asks for it (not when the files made from
    it are up to date), so each file is asked for by name."""
    return study_outputs(study) + [f"results/{study}/{dataset}/predictions.csv" for dataset in study_datasets(study)]


# With several datasets report.html is the overview, and each dataset has a page beside it.
DATASET_PAGES = [f"reports/{dataset}.html" for dataset in DATASETS] if len(DATASETS) > 1 else []

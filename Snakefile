# schedbench: learning-rate schedules compared over many seeds, from the UCI download to one HTML report.
# The rules are thin: the science lives in the importable package src/schedbench.

from snakemake.utils import min_version

from schedbench.config_files import check_config_file

min_version("9.0")


# Snakemake's reader would say neither where nor why a config.yaml it cannot read is wrong; this one does.
check_config_file("config.yaml")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/statistics.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/suite.smk"
include: "workflow/rules/budgets.smk"
include: "workflow/rules/report.smk"


# Runs after the DAG is built, before anything is submitted (not on a dry run).
onstart:
    check_slurm_before_submitting()


localrules:
    all,
    download,
    report,


# The report and every contract file by name: a deleted table is rebuilt, and the report after it.
rule all:
    input:
        "reports/report.html",
        DATASET_PAGES,
        [contract_files(study) for study in STUDIES],
    default_target: True


# Each study is a target of its own: snakemake --cores 4 article
for _study in STUDIES:

    rule:
        name:
            _study
        input:
            contract_files(_study),

# schedbench: learning-rate schedules compared over many seeds, from the UCI download to one HTML report.
# The rules are thin: the science lives in the importable package src/schedbench.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/statistics.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/suite.smk"
include: "workflow/rules/report.smk"


localrules:
    all,
    download,
    report,


rule all:
    input:
        "reports/report.html",
    default_target: True


# Each study is a target of its own: snakemake --cores 4 article
for _study in STUDIES:

    rule:
        name:
            _study
        input:
            study_outputs(_study),

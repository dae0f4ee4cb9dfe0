rule suite:
    input:
        summaries=lambda wildcards: expand(
            "results/{study}/{dataset}/tuned_summary.csv", study=wildcards.study, dataset=study_datasets(wildcards.study)
        ),
        comparisons=lambda wildcards: expand(
            "results/{study}/{dataset}/tuned_comparisons.csv",
            study=wildcards.study,
            dataset=study_datasets(wildcards.study),
        ),
        data=lambda wildcards: expand("data/raw/{dataset}.data", dataset=study_datasets(wildcards.study)),
        # What each data file must still be: the file the download rule accepted (its SHA-256 and size).
        provenance=lambda wildcards: expand(
            "data/raw/{dataset}.provenance.json", dataset=study_datasets(wildcards.study)
        ),
    output:
        **{
            table: report(
                f"results/{{study}}/suite/{table}.csv",
                caption="../report/suite.rst",
                category="Across datasets",
                subcategory="{study}",
                labels={"study": "{study}", "table": table},
            )
            for table in SUITE_TABLES
        },
        **{
            spec.name: report(
                f"results/{{study}}/suite/figures/{spec.name}.png",
                caption=f"../report/{spec.caption_file}",
                category="Across datasets",
                subcategory="{study}",
                labels={"study": "{study}", "figure": spec.name},
            )
            for spec in SUITE_FIGURES
        },
    wildcard_constraints:
        study=one_of(SUITES),
    params:
        # What reading and checking a dataset's table needs (not its mirrors: a new URL changes no number).
        datasets=lambda wildcards: {
            name: {key: PLAN.datasets[name].entry.get(key) for key in ("rows", "features", "labels", "value_range")}
            for name in study_datasets(wildcards.study)
        },
        sizes=lambda wildcards: {name: PLAN.datasets[name].sizes for name in study_datasets(wildcards.study)},
        # The Friedman test runs per group of datasets as well as over all of them.
        groups=lambda wildcards: {name: PLAN.datasets[name].entry["group"] for name in study_datasets(wildcards.study)},
        families=lambda wildcards: list(PLAN.studies[wildcards.study].families),
        # Which rows each seed scored (the majority-class score is taken on them).
        seeds=lambda wildcards: list(PLAN.studies[wildcards.study].seeds),
        validation_fraction=PLAN.split["validation_fraction"],
        baseline=PLAN.report["baseline"],
        alpha=1 - PLAN.report["confidence"],
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    log:
        "logs/suite/{study}.log",
    benchmark:
        benchmark_file("suite")
    script:
        "../scripts/suite.py"

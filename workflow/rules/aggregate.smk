rule aggregate:
    input:
        runs=lambda wildcards: chunk_files(wildcards, "runs"),
        predictions=lambda wildcards: chunk_files(wildcards, "predictions"),
    output:
        runs=report(
            "results/{study}/{dataset}/runs.csv",
            caption="../report/runs.rst",
            category="Tables",
            subcategory="{study}",
            labels={"study": "{study}", "dataset": "{dataset}", "table": "runs"},
        ),
        predictions="results/{study}/{dataset}/predictions.csv",
    params:
        schedules=lambda wildcards: [variant.name for variant in PLAN.studies[wildcards.study].variants],
        protocols=lambda wildcards: PROTOCOLS[wildcards.study],
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    log:
        "logs/aggregate/{study}/{dataset}.log",
    benchmark:
        benchmark_file("aggregate")
    script:
        "../scripts/aggregate.py"

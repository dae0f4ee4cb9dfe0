rule aggregate:
    input:
        runs=expand(
            "results/{{dataset}}/{protocol}/chunks/{chunk}.runs.csv", protocol=PROTOCOLS, chunk=CHUNKS
        ),
        predictions=expand(
            "results/{{dataset}}/{protocol}/chunks/{chunk}.predictions.csv",
            protocol=PROTOCOLS,
            chunk=CHUNKS,
        ),
    output:
        runs=report(
            "results/{dataset}/runs.csv",
            caption="../report/runs.rst",
            category="Tables",
            labels={"dataset": "{dataset}", "table": "runs"},
        ),
        predictions="results/{dataset}/predictions.csv",
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    log:
        "logs/aggregate/{dataset}.log",
    benchmark:
        "logs/benchmarks/aggregate/{dataset}.tsv"
    script:
        "../scripts/aggregate.py"


rule statistics:
    input:
        runs="results/{dataset}/runs.csv",
    output:
        summary=report(
            "results/{dataset}/summary.csv",
            caption="../report/summary.rst",
            category="Tables",
            labels={"dataset": "{dataset}", "table": "summary"},
        ),
        comparisons=report(
            "results/{dataset}/comparisons.csv",
            caption="../report/comparisons.rst",
            category="Tables",
            labels={"dataset": "{dataset}", "table": "comparisons"},
        ),
        friedman="results/{dataset}/friedman.csv",
    params:
        report=config["report"],
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../../environment.yml"
    log:
        "logs/statistics/{dataset}.log",
    benchmark:
        "logs/benchmarks/statistics/{dataset}.tsv"
    script:
        "../scripts/statistics.py"

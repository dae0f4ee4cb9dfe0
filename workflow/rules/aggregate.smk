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
    params:
        schedules=list(config["schedules"]),
        protocols=PROTOCOLS,
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

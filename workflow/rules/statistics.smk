rule statistics:
    input:
        runs="results/{dataset}/runs.csv",
        predictions="results/{dataset}/predictions.csv",
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
        replication="results/{dataset}/replication.csv",
        majority="results/{dataset}/majority.csv",
    params:
        report=config["report"],
        test_train_ratio=test_train_ratio,
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

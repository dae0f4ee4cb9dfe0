rule figures:
    input:
        runs="results/{dataset}/runs.csv",
        predictions="results/{dataset}/predictions.csv",
        summary="results/{dataset}/summary.csv",
        comparisons="results/{dataset}/comparisons.csv",
    output:
        *[
            report(
                f"results/{{dataset}}/figures/{name}.png",
                caption=f"../report/{name}.rst",
                category="Schedules",
                labels={"dataset": "{dataset}", "figure": name},
            )
            for name in SCHEDULE_FIGURES
        ],
        *[
            report(
                f"results/{{dataset}}/figures/{protocol}-{name}.png",
                caption=f"../report/{name}.rst",
                category="Comparison",
                subcategory=protocol,
                labels={"dataset": "{dataset}", "protocol": protocol, "figure": name},
            )
            for protocol in PROTOCOLS
            for name in PROTOCOL_FIGURES
        ],
    params:
        schedules=config["schedules"],
        report=config["report"],
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    log:
        "logs/figures/{dataset}.log",
    benchmark:
        "logs/benchmarks/figures/{dataset}.tsv"
    script:
        "../scripts/figures.py"


rule report:
    input:
        tables=expand(
            "results/{dataset}/{table}.csv",
            dataset=DATASETS,
            table=["runs", "predictions", "summary", "comparisons", "friedman"],
        ),
        figures=[figure for dataset in DATASETS for figure in figure_files(dataset)],
        provenance=expand("data/raw/{dataset}.provenance.json", dataset=DATASETS),
        benchmarks=expand(
            "logs/benchmarks/train/{dataset}/{protocol}/{chunk}.tsv",
            dataset=DATASETS,
            protocol=PROTOCOLS,
            chunk=CHUNKS,
        ),
    params:
        config=config,
        runs_per_chunk=RUNS_PER_CHUNK,
    output:
        report(
            "reports/report.html",
            caption="../report/report.rst",
            category="Report",
            labels={"report": "schedbench"},
        ),
    conda:
        "../../environment.yml"
    log:
        "logs/report.log",
    script:
        "../scripts/report.py"

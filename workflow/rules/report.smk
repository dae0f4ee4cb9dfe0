rule report:
    input:
        tables=expand(
            "results/{dataset}/{table}.csv", dataset=DATASETS, table=("runs", *STATISTICS_TABLES)
        ),
        figures=[figure for dataset in DATASETS for figure in figure_files(dataset)],
        provenance=expand("data/raw/{dataset}.provenance.json", dataset=DATASETS),
        benchmarks=expand(
            "logs/benchmarks/train/{dataset}/{protocol}/{chunk}.tsv",
            dataset=DATASETS,
            protocol=PROTOCOLS,
            chunk=CHUNKS,
        ),
    output:
        report(
            "reports/report.html",
            caption="../report/report.rst",
            category="Report",
            labels={"report": "schedbench"},
        ),
    params:
        config=config,
        datasets=DATASETS,
        tables=("runs", *STATISTICS_TABLES),
        figure_stems=figure_stems(PROTOCOLS),
        runs_per_chunk=RUNS_PER_CHUNK,
        captions=CAPTIONS,
    conda:
        "../../environment.yml"
    log:
        "logs/report.log",
    script:
        "../scripts/report.py"

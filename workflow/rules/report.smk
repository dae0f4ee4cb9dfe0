rule report:
    input:
        tables=[path for study in STUDIES for path in study_outputs(study) if path.endswith(".csv")],
        figures=[path for study in STUDIES for path in study_outputs(study) if path.endswith(".png")],
        provenance=expand("data/raw/{dataset}.provenance.json", dataset=DATASETS),
        benchmarks=[
            f"logs/benchmarks/train/{study}/{dataset}/{protocol}/{chunk}.tsv"
            for study in STUDIES
            for dataset in study_datasets(study)
            for protocol in PROTOCOLS[study]
            for chunk in CHUNKS[study]
        ],
    output:
        report(
            "reports/report.html",
            caption="../report/report.rst",
            category="Report",
            labels={"report": "schedbench"},
        ),
        # With several datasets report.html is the overview, and each dataset has a page beside it.
        *[f"reports/{dataset}.html" for dataset in DATASETS if len(DATASETS) > 1],
    params:
        config=config,
        runs_per_chunk={f"{study}/{chunk}": runs for (study, chunk), runs in RUNS_PER_CHUNK.items()},
        captions=CAPTIONS,
    conda:
        "../../environment.yml"
    log:
        "logs/report.log",
    script:
        "../scripts/report.py"

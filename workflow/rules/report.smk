rule report:
    input:
        tables=[path for study in STUDIES for path in study_outputs(study) if path.endswith(".csv")],
        figures=[path for study in STUDIES for path in study_outputs(study) if path.endswith(".png")],
        provenance=expand("data/raw/{dataset}.provenance.json", dataset=DATASETS),
        benchmarks=list(job_benchmarks()),
    output:
        report(
            "reports/report.html",
            caption="../report/report.rst",
            category="Report",
            labels={"report": "schedbench"},
        ),
        *DATASET_PAGES,
    params:
        plan=PLAN.to_dict(),
        runs=job_benchmarks(),
        captions=CAPTIONS,
    conda:
        "../../environment.yml"
    log:
        "logs/report.log",
    script:
        "../scripts/report.py"

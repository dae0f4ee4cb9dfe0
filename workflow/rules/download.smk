rule download:
    output:
        data="data/raw/{dataset}.data",
        provenance="data/raw/{dataset}.provenance.json",
    params:
        # A relative path in it (a bundled copy) names a file of this repository, wherever the workflow runs.
        dataset=lambda wildcards: PLAN.datasets[wildcards.dataset].entry,
        name=lambda wildcards: wildcards.dataset,
        download=PLAN.download,
    conda:
        "../../environment.yml"
    log:
        "logs/download/{dataset}.log",
    benchmark:
        benchmark_file("download")
    script:
        "../scripts/download.py"

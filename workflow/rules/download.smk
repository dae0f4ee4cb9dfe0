rule download:
    output:
        data="data/raw/{dataset}.data",
        provenance="data/raw/{dataset}.provenance.json",
    params:
        # A relative path in it (a bundled copy) names a file of this repository, wherever the workflow runs.
        dataset=lambda wildcards: config["datasets"][wildcards.dataset],
        name=lambda wildcards: wildcards.dataset,
        download=config["download"],
    conda:
        "../../environment.yml"
    log:
        "logs/download/{dataset}.log",
    benchmark:
        benchmark_file("download")
    script:
        "../scripts/download.py"

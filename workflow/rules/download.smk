rule download:
    output:
        data="data/raw/{dataset}.data",
        provenance="data/raw/{dataset}.provenance.json",
    params:
        dataset=lambda wildcards: config["datasets"][wildcards.dataset],
        name=lambda wildcards: wildcards.dataset,
        # A relative path names a file of this repository, wherever the workflow runs (source uci only).
        bundled=lambda wildcards: (
            str(REPOSITORY / config["datasets"][wildcards.dataset]["bundled"])
            if "bundled" in config["datasets"][wildcards.dataset]
            else None
        ),
        download=config["download"],
    conda:
        "../../environment.yml"
    log:
        "logs/download/{dataset}.log",
    benchmark:
        benchmark_file("download")
    script:
        "../scripts/download.py"

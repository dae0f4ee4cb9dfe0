rule download:
    output:
        data="data/raw/{dataset}.data",
        provenance="data/raw/{dataset}.provenance.json",
    params:
        dataset=lambda wildcards: config["datasets"][wildcards.dataset],
        download=config["download"],
    conda:
        "../../environment.yml"
    log:
        "logs/download/{dataset}.log",
    script:
        "../scripts/download.py"

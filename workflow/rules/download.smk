rule download:
    output:
        data="data/raw/{dataset}.data",
        provenance="data/raw/{dataset}.provenance.json",
    params:
        dataset=lambda wildcards: PLAN.datasets[wildcards.dataset].entry,
        name=lambda wildcards: wildcards.dataset,
        # A relative path names a file of this repository, wherever the workflow runs (source uci only).
        bundled=lambda wildcards: (
            str(REPOSITORY / PLAN.datasets[wildcards.dataset].entry["bundled"])
            if "bundled" in PLAN.datasets[wildcards.dataset].entry
            else None
        ),
        download=PLAN.download,
    conda:
        "../../environment.yml"
    log:
        "logs/download/{dataset}.log",
    benchmark:
        benchmark_file("download")
    script:
        "../scripts/download.py"

rule train:
    input:
        data="data/raw/{dataset}.data",
        # What the data must still be: the file the download rule accepted (its SHA-256 and size).
        provenance="data/raw/{dataset}.provenance.json",
    output:
        runs="results/{study}/{dataset}/{protocol}/chunks/{chunk}.runs.csv",
        predictions="results/{study}/{dataset}/{protocol}/chunks/{chunk}.predictions.csv",
    params:
        engine=PLAN.engine,
        study=lambda wildcards: wildcards.study,
        dataset=lambda wildcards: wildcards.dataset,
        protocol=lambda wildcards: wildcards.protocol,
        seeds=lambda wildcards: list(PLAN.studies[wildcards.study].job_seeds(wildcards.chunk)),
        # Everything the job's numbers depend on: a change to any of it reruns the job (params trigger).
        settings=lambda wildcards: PLAN.job_settings(wildcards.study, wildcards.dataset, wildcards.protocol,
                                                     PLAN.studies[wildcards.study].job_budget(wildcards.chunk)),
    threads: PLAN.threads
    priority: train_priority
    resources:
        mem_mb=train_mem_mb,
        runtime=train_runtime_minutes,
    conda:
        "../../environment.yml"
    log:
        "logs/train/{study}/{dataset}/{protocol}/{chunk}.log",
    benchmark:
        benchmark_file("train")
    script:
        "../scripts/train.py"

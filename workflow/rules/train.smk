rule train:
    input:
        data="data/raw/{dataset}.data",
    output:
        runs="results/{study}/{dataset}/{protocol}/chunks/{chunk}.runs.csv",
        predictions="results/{study}/{dataset}/{protocol}/chunks/{chunk}.predictions.csv",
    params:
        engine=config["training"]["engine"],
        study=lambda wildcards: wildcards.study,
        dataset=lambda wildcards: wildcards.dataset,
        protocol=lambda wildcards: wildcards.protocol,
        seeds=lambda wildcards: chunk_seeds(config, wildcards.study, wildcards.chunk),
        # Everything the job's numbers depend on: a change to any of it reruns the job (params trigger).
        settings=lambda wildcards: job_settings(config, wildcards.study, wildcards.dataset),
    threads: config["training"]["threads"]
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

rule figures:
    input:
        runs="results/{dataset}/runs.csv",
        summary="results/{dataset}/summary.csv",
        comparisons="results/{dataset}/comparisons.csv",
        majority="results/{dataset}/majority.csv",
    output:
        *[
            report(
                f"results/{{dataset}}/figures/{stem}.png",
                caption=f"../report/{spec.caption_file}",
                category="Comparison" if protocol else "Schedules",
                subcategory=protocol,
                labels={"dataset": "{dataset}", **({"protocol": protocol} if protocol else {}), "figure": spec.name},
            )
            for stem, spec, protocol in figure_instances(PROTOCOLS)
        ],
    params:
        settings=lambda wildcards: figure_settings(config, wildcards.dataset),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    log:
        "logs/figures/{dataset}.log",
    benchmark:
        "logs/benchmarks/figures/{dataset}.tsv"
    script:
        "../scripts/figures.py"

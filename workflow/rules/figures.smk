# One rule per study without a grid: which figures exist depends on the study's protocols.
for _study in PLAIN:

    rule:
        name:
            f"figures_{_study}"
        input:
            runs="results/{study}/{dataset}/runs.csv",
            summary="results/{study}/{dataset}/summary.csv",
            comparisons="results/{study}/{dataset}/comparisons.csv",
            majority="results/{study}/{dataset}/majority.csv",
            reach_profiles="results/{study}/{dataset}/reach_profiles.csv",
            paired_differences="results/{study}/{dataset}/paired_differences.csv",
        output:
            *[
                report(
                    f"results/{{study}}/{{dataset}}/figures/{stem}.png",
                    caption=f"../report/{spec.caption_file}",
                    category="Comparison" if protocol else "Schedules",
                    subcategory="{study}",
                    labels={
                        "study": "{study}",
                        "dataset": "{dataset}",
                        **({"protocol": protocol} if protocol else {}),
                        "figure": spec.name,
                    },
                )
                for stem, spec, protocol in figure_instances(PROTOCOLS[_study])
            ],
        wildcard_constraints:
            study=re.escape(_study),
        params:
            settings=lambda wildcards: figure_settings(PLAN, wildcards.study, wildcards.dataset),
        # Eight figures or more, drawn that many at a time (one core each); the same files with any count.
        threads: PLAN.report_threads
        resources:
            mem_mb=2000,
            runtime=10,
        conda:
            "../../environment.yml"
        log:
            "logs/figures/{study}/{dataset}.log",
        benchmark:
            benchmark_file("figures")
        script:
            "../scripts/figures.py"


rule sensitivity_figure:
    input:
        sensitivity="results/{study}/{dataset}/sensitivity.csv",
    output:
        report(
            "results/{study}/{dataset}/figures/sensitivity.png",
            caption="../report/sensitivity.rst",
            category="Sensitivity",
            subcategory="{study}",
            labels={"study": "{study}", "dataset": "{dataset}", "figure": "sensitivity"},
        ),
    wildcard_constraints:
        study=one_of(TUNING),
    params:
        settings=lambda wildcards: sensitivity_settings(PLAN, wildcards.study, wildcards.dataset),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    log:
        "logs/sensitivity_figure/{study}/{dataset}.log",
    benchmark:
        benchmark_file("sensitivity_figure")
    script:
        "../scripts/sensitivity_figure.py"

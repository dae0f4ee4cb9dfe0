# The figures of a study with budgets, across its datasets. Assumes common.smk defines BUDGET_STUDIES (the studies
# whose plan has budgets: [s for s in STUDIES if PLAN.studies[s].has_budgets]) and BENCHMARKS["budget_figures"] =
# "{study}", and that the budget statistics' rules write the inputs.
from schedbench.figures.registry import BUDGET_FIGURES, budget_figure_settings


rule budget_figures:
    input:
        summaries=lambda wildcards: expand(
            "results/{study}/{dataset}/budget_summary.csv",
            study=wildcards.study,
            dataset=study_datasets(wildcards.study),
        ),
        profiles="results/{study}/budgets/time_to_target_profiles.csv",
    output:
        **{
            spec.name: report(
                f"results/{{study}}/budgets/figures/{spec.name}.png",
                caption=f"../report/{spec.caption_file}",
                category="Budgets",
                subcategory="{study}",
                labels={"study": "{study}", "figure": spec.name},
            )
            for spec in BUDGET_FIGURES
        },
    wildcard_constraints:
        study=one_of(BUDGET_STUDIES),
    params:
        settings=lambda wildcards: budget_figure_settings(PLAN, wildcards.study),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    log:
        "logs/budget_figures/{study}.log",
    benchmark:
        benchmark_file("budget_figures")
    script:
        "../scripts/budget_figures.py"

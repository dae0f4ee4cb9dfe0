# The budget axis (schedbench.stats.budgets): every family tuned per budget, a fraction of the run, and its time to
# a validation target; for the tuning studies with budgets besides the full run (BUDGET_STUDIES).


rule budget_statistics:
    input:
        runs="results/{study}/{dataset}/runs.csv",
    output:
        budgets=report(
            "results/{study}/{dataset}/budgets.csv",
            caption="../report/budgets.rst",
            category="Tables",
            subcategory="{study}",
            labels={"study": "{study}", "dataset": "{dataset}", "table": "budgets"},
        ),
        budget_summary="results/{study}/{dataset}/budget_summary.csv",
        budget_comparisons=report(
            "results/{study}/{dataset}/budget_comparisons.csv",
            caption="../report/budget-comparisons.rst",
            category="Tables",
            subcategory="{study}",
            labels={"study": "{study}", "dataset": "{dataset}", "table": "budget_comparisons"},
        ),
    wildcard_constraints:
        study=one_of(BUDGET_STUDIES),
    params:
        report=PLAN.report,
        budgets=lambda wildcards: list(PLAN.studies[wildcards.study].budgets),
        # A result's cost and its time to target are counted in updates.
        updates_per_epoch=lambda wildcards: {
            protocol: PLAN.datasets[wildcards.dataset].updates_per_epoch(protocol)
            for protocol in PROTOCOLS[wildcards.study]
        },
        # None: report.target_fraction of the best family's median tuned validation accuracy at budget 1.0.
        target_accuracy=lambda wildcards: PLAN.datasets[wildcards.dataset].entry.get("target_accuracy"),
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../../environment.yml"
    log:
        "logs/budget_statistics/{study}/{dataset}.log",
    benchmark:
        benchmark_file("budget_statistics")
    script:
        "../scripts/budget_statistics.py"


rule budget_profiles:
    input:
        summaries=lambda wildcards: expand(
            "results/{study}/{dataset}/budget_summary.csv",
            study=wildcards.study,
            dataset=study_datasets(wildcards.study),
        ),
        comparisons=lambda wildcards: expand(
            "results/{study}/{dataset}/budget_comparisons.csv",
            study=wildcards.study,
            dataset=study_datasets(wildcards.study),
        ),
    output:
        time_to_target_profiles=report(
            "results/{study}/budgets/time_to_target_profiles.csv",
            caption="../report/budget-profiles.rst",
            category="Budgets",
            subcategory="{study}",
            labels={"study": "{study}", "table": "time_to_target_profiles"},
        ),
        best_by_budget=report(
            "results/{study}/budgets/best_by_budget.csv",
            caption="../report/best-by-budget.rst",
            category="Budgets",
            subcategory="{study}",
            labels={"study": "{study}", "table": "best_by_budget"},
        ),
    wildcard_constraints:
        study=one_of(BUDGET_STUDIES),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    log:
        "logs/budget_profiles/{study}.log",
    benchmark:
        benchmark_file("budget_profiles")
    script:
        "../scripts/budget_profiles.py"


# The figures of a study with budgets (BUDGET_STUDIES), across its datasets.
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

rule statistics:
    input:
        runs="results/{study}/{dataset}/runs.csv",
        predictions="results/{study}/{dataset}/predictions.csv",
    output:
        summary=report(
            "results/{study}/{dataset}/summary.csv",
            caption="../report/summary.rst",
            category="Tables",
            subcategory="{study}",
            labels={"study": "{study}", "dataset": "{dataset}", "table": "summary"},
        ),
        comparisons=report(
            "results/{study}/{dataset}/comparisons.csv",
            caption="../report/comparisons.rst",
            category="Tables",
            subcategory="{study}",
            labels={"study": "{study}", "dataset": "{dataset}", "table": "comparisons"},
        ),
        friedman="results/{study}/{dataset}/friedman.csv",
        replication="results/{study}/{dataset}/replication.csv",
        majority="results/{study}/{dataset}/majority.csv",
        # What the figures draw of the per-seed distributions.
        reach_profiles="results/{study}/{dataset}/reach_profiles.csv",
        paired_differences="results/{study}/{dataset}/paired_differences.csv",
        attribution=report(
            "results/{study}/{dataset}/attribution.csv",
            caption="../report/attribution.rst",
            category="Tables",
            subcategory="{study}",
            labels={"study": "{study}", "dataset": "{dataset}", "table": "attribution"},
        ),
    wildcard_constraints:
        study=one_of(PLAIN),
    params:
        report=PLAN.report,
        test_train_ratios=lambda wildcards: PLAN.corrected_t_ratios(wildcards.study, wildcards.dataset),
        attributions=lambda wildcards: list(PLAN.studies[wildcards.study].attributions),
        # Compared with each other: the study's own schedules; its controls enter through the attribution.
        compared=lambda wildcards: PLAN.studies[wildcards.study].compared,
    # Its tables built that many at a time (one core each); the same tables with any count.
    threads: PLAN.report_threads
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../../environment.yml"
    log:
        "logs/statistics/{study}/{dataset}.log",
    benchmark:
        benchmark_file("statistics")
    script:
        "../scripts/statistics.py"


rule tuning_statistics:
    input:
        runs="results/{study}/{dataset}/runs.csv",
    output:
        sensitivity=report(
            "results/{study}/{dataset}/sensitivity.csv",
            caption="../report/sensitivity-table.rst",
            category="Tables",
            subcategory="{study}",
            labels={"study": "{study}", "dataset": "{dataset}", "table": "sensitivity"},
        ),
        tuned=report(
            "results/{study}/{dataset}/tuned.csv",
            caption="../report/tuned.rst",
            category="Tables",
            subcategory="{study}",
            labels={"study": "{study}", "dataset": "{dataset}", "table": "tuned"},
        ),
        tuned_summary="results/{study}/{dataset}/tuned_summary.csv",
        tuned_comparisons=report(
            "results/{study}/{dataset}/tuned_comparisons.csv",
            caption="../report/tuned-comparisons.rst",
            category="Tables",
            subcategory="{study}",
            labels={"study": "{study}", "dataset": "{dataset}", "table": "tuned_comparisons"},
        ),
        attribution=report(
            "results/{study}/{dataset}/attribution.csv",
            caption="../report/tuned-attribution.rst",
            category="Tables",
            subcategory="{study}",
            labels={"study": "{study}", "dataset": "{dataset}", "table": "attribution"},
        ),
    wildcard_constraints:
        study=one_of(TUNING),
    params:
        report=PLAN.report,
        # (family, control family): the baseline's formula with the family's optimizer, tuned alike.
        attributions=lambda wildcards: list(PLAN.studies[wildcards.study].attributions),
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../../environment.yml"
    log:
        "logs/tuning_statistics/{study}/{dataset}.log",
    benchmark:
        benchmark_file("tuning_statistics")
    script:
        "../scripts/tuning_statistics.py"

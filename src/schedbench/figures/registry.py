"""Every figure of the report, named once: its file stem, whether it is drawn once per protocol, its title and
alt text, and (for a dataset's figures) the function that draws it. Its caption is ``workflow/report/<name>.rst``, shown by Snakemake's
report and by the HTML report alike.

This module imports nothing heavy (no plotting library): the workflow reads it when it is parsed.
"""

from __future__ import annotations

from dataclasses import dataclass

from schedbench.plan import Plan


@dataclass(frozen=True)
class FigureSpec:
    name: str
    per_protocol: bool  # drawn once per protocol, saved as '<protocol>-<name>.png'
    title: str
    alt: str
    # FIGURES only: 'module:function' under schedbench.figures, called as function(data, protocol) by
    # schedbench.figures.build. The sensitivity and suite figures are drawn by their own rules' scripts.
    draw: str | None = None

    @property
    def caption_file(self) -> str:
        return f"{self.name}.rst"


FIGURES = (
    FigureSpec("schedules", False, "Learning-rate schedules",
               "Line chart of learning rate on a log scale against epochs for every configured schedule",
               "schedules:schedules"),
    FigureSpec("article-schedules", False, "The article's two schedules",
               "Two line charts: time-based decay in three readings and the drop-based staircase over 100 epochs",
               "schedules:article_schedules"),
    FigureSpec("learning-curves", True, "Learning curves",
               "Small multiples of validation accuracy per epoch, one panel per schedule, with median and "
               "interquartile band",
               "results:learning_curves"),
    FigureSpec("final-accuracy", True, "Final accuracy per seed",
               "Dot plot of final validation accuracy per seed for each schedule with lines joining the same seed",
               "results:final_accuracy"),
    FigureSpec("intervals", True, "Interval estimates",
               "Three panels of point estimates with bootstrap intervals for mean, median and IQM per schedule",
               "results:intervals"),
    FigureSpec("differences", True, "Paired differences against the baseline",
               "Histograms of paired differences in examples against the baseline, one panel per schedule",
               "results:differences"),
    FigureSpec("improvement", True, "Probability of improvement",
               "Interval plot of the probability of improvement for every pair of schedules",
               "results:improvement"),
    FigureSpec("ecdf", True, "Performance profiles",
               "Step plots of the share of seeds reaching each accuracy threshold, each schedule against the baseline",
               "results:ecdf"),
)
# A tuning study's figures (one per dataset), drawn from its sensitivity table.
TUNING_FIGURES = (
    FigureSpec("sensitivity", False, "Learning-rate sensitivity",
               "Line charts of median accuracy with interquartile band against the initial learning rate on a log "
               "axis, one line per schedule family, one panel per momentum, validation above and test below"),
)
# Across the datasets of a tuning study (the suite rule draws them from its tables).
SUITE_FIGURES = (
    FigureSpec("vs-baseline", False, "Each tuned family against the tuned baseline",
               "Small multiples, one panel per dataset: each family's mean difference from the baseline in points of "
               "test accuracy with its interval, the equivalence band shaded, the marker's shape the decision"),
    FigureSpec("critical-difference", False, "Average ranks across datasets",
               "Critical-difference diagram: each family's average rank over the datasets on an axis from best to "
               "worst, with Nemenyi's critical difference and lines joining families it cannot tell apart"),
    FigureSpec("performance-profiles", False, "Performance profiles",
               "Step plots of the share of datasets on which each family is within tau of the best family, against "
               "tau in points of test accuracy"),
)
# A study with budgets (a tuning study with more than the full run), across its datasets: the budget_figures rule
# draws them from the budget statistics' tables into results/{study}/budgets/figures/.
BUDGET_FIGURES = (
    FigureSpec("accuracy-by-budget", False, "Test accuracy by budget",
               "Line charts, one panel per dataset: each family's mean test accuracy with its interval against the "
               "budget as a fraction of the run on a log2 axis, hollow points read from the full run, filled points "
               "trained for the budget, a star on the best family at each budget"),
    FigureSpec("time-to-target-profiles", False, "Time to target",
               "Step plots of the share of (dataset, budget) problems on which each family's median updates to the "
               "target are within a factor tau of the fastest family's, against tau on a log2 axis"),
)
BY_NAME = {spec.name: spec for spec in (*FIGURES, *TUNING_FIGURES, *SUITE_FIGURES, *BUDGET_FIGURES)}


def figure_instances(protocols: list[str]) -> list[tuple[str, FigureSpec, str | None]]:
    """(file stem, figure, protocol or None) of every figure of one dataset, in report order: the figures
    drawn once per dataset first, then each protocol's ('schedules', ..., 'tail-learning-curves', ...)."""
    dataset_wide = [(spec.name, spec, None) for spec in FIGURES if not spec.per_protocol]
    per_protocol = [(f"{p}-{spec.name}", spec, p) for p in protocols for spec in FIGURES if spec.per_protocol]
    return dataset_wide + per_protocol


def figure_stems(protocols: list[str]) -> list[str]:
    return [stem for stem, _, _ in figure_instances(protocols)]


def figure_settings(plan: Plan, study: str, dataset: str) -> dict:
    """The settings the figures of a study's ``dataset`` depend on (the figures rule passes them as params)."""
    report, of_study, of_dataset = plan.report, plan.studies[study], plan.datasets[dataset]
    return {
        "dataset": dataset,
        "protocols": list(of_study.protocols),
        "schedules": {variant.name: variant.spec for variant in of_study.variants},
        "baseline": report["baseline"],
        "confidence": report["confidence"],
        "equivalence_examples": plan.band(of_dataset.sizes[of_study.protocols[0]][1]),
        "epochs": of_dataset.training["epochs"],
        "updates_per_epoch": of_dataset.updates_per_epoch(of_study.protocols[0]),
    }


def sensitivity_settings(plan: Plan, study: str, dataset: str) -> dict:
    """What the sensitivity figure of a tuning study's ``dataset`` depends on: the family order, the baseline, and
    the article's initial rate (the baseline's lr0 in the schedules catalogue) to mark."""
    return {
        "dataset": dataset,
        "families": list(plan.studies[study].families),
        "baseline": plan.report["baseline"],
        "reference_lr0": plan.baseline_lr0,
    }


def budget_figure_settings(plan: Plan, study: str) -> dict:
    """What the budget figures of ``study`` depend on: the family order (their colours) and the baseline."""
    return {"families": list(plan.studies[study].families), "baseline": plan.report["baseline"], "study": study}

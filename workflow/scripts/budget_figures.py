import pandas as pd

from schedbench.atomic import atomic_write_bytes
from schedbench.figures.budgets import draw_accuracy_by_budget, draw_time_to_target_profiles
from schedbench.figures.style import figure_png
from schedbench.rule_logging import rule_logging
from schedbench.tables import read_table

with rule_logging(snakemake.log[0], "budget_figures") as log:
    settings = snakemake.params.settings
    summary = pd.concat([read_table(path, "budget_summary") for path in snakemake.input.summaries], ignore_index=True)
    profiles = read_table(snakemake.input.profiles, "time_to_target_profiles")
    colours = {"families": settings["families"], "baseline": settings["baseline"]}
    figures = {
        "accuracy-by-budget": draw_accuracy_by_budget(summary, study=settings["study"], **colours),
        "time-to-target-profiles": draw_time_to_target_profiles(profiles, **colours),
    }
    for name, figure in figures.items():
        atomic_write_bytes(snakemake.output[name], figure_png(figure))
    log.info("%d datasets, %d budgets", summary["dataset"].nunique(), summary["budget"].nunique())

from schedbench.atomic import atomic_write_bytes
from schedbench.figures.sensitivity import draw_sensitivity
from schedbench.figures.style import figure_png
from schedbench.rule_logging import rule_logging
from schedbench.tables import read_table

with rule_logging(snakemake.log[0], "sensitivity_figure") as log:
    table = read_table(snakemake.input.sensitivity, "sensitivity")
    atomic_write_bytes(snakemake.output[0], figure_png(draw_sensitivity(table, **snakemake.params.settings)))
    log.info("sensitivity of %d variants", len(table))

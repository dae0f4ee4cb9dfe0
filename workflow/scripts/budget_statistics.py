from schedbench.rule_logging import rule_logging
from schedbench.stats.budget_tables import budget_tables
from schedbench.tables import read_table, write_table

with rule_logging(snakemake.log[0], "budget_statistics") as log:
    params = snakemake.params
    tables = budget_tables(read_table(snakemake.input.runs, "runs"), params.report, budgets=params.budgets,
                           updates_per_epoch=params.updates_per_epoch, target_accuracy=params.target_accuracy)
    for name, table in tables.items():
        write_table(table, snakemake.output[name], name)
    log.info("%d budgets, %d tuned choices, %d comparisons with the best family", len(params.budgets),
             len(tables["budgets"]), len(tables["budget_comparisons"]))

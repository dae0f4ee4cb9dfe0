from schedbench.rule_logging import rule_logging
from schedbench.stats.studies import tuning_tables
from schedbench.tables import read_table, write_table

with rule_logging(snakemake.log[0], "tuning_statistics") as log:
    tables = tuning_tables(read_table(snakemake.input.runs, "runs"), snakemake.params.report,
                           attributions=[tuple(pair) for pair in snakemake.params.attributions])
    for name, table in tables.items():
        write_table(table, snakemake.output[name], name)
    log.info("%d variants, %d tuned choices, %d comparisons", len(tables["sensitivity"]), len(tables["tuned"]),
             len(tables["tuned_comparisons"]))

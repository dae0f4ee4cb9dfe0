from schedbench.rule_logging import rule_logging
from schedbench.stats.studies import statistics_tables
from schedbench.tables import read_table, write_table

with rule_logging(snakemake.log[0], "statistics") as log:
    params = snakemake.params
    tables = statistics_tables(
        read_table(snakemake.input.runs, "runs"), read_table(snakemake.input.predictions, "predictions"),
        params.report, compared=params.compared, attributions=params.attributions,
        test_train_ratios=params.test_train_ratios, processes=snakemake.threads)
    for name, table in tables.items():
        write_table(table, snakemake.output[name], name)
    log.info("%d schedules, %d comparisons", len(tables["summary"]), len(tables["comparisons"]))

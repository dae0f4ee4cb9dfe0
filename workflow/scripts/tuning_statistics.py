from schedbench.rule_logging import rule_logging
from schedbench.stats.studies import tuning_tables
from schedbench.tables import read_table, write_table

with rule_logging(snakemake.log[0], "tuning_statistics") as log:
    settings = snakemake.params.report
    tables = tuning_tables(
        read_table(snakemake.input.runs, "runs"), baseline=settings["baseline"], confidence=settings["confidence"],
        resamples=settings["bootstrap_resamples"], seed=settings["rng_seed"],
        equivalence_examples=settings["equivalence_examples"], equivalence_min_seeds=settings["equivalence_min_seeds"])
    for name, table in tables.items():
        write_table(table, snakemake.output[name], name)
    log.info("%d variants, %d tuned choices, %d comparisons", len(tables["sensitivity"]), len(tables["tuned"]),
             len(tables["tuned_comparisons"]))

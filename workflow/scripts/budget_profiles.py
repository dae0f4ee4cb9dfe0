import pandas as pd

from schedbench.rule_logging import rule_logging
from schedbench.stats.budgets import budget_profile_tables
from schedbench.tables import read_table, write_table

with rule_logging(snakemake.log[0], "budget_profiles") as log:
    summaries = pd.concat([read_table(path, "budget_summary") for path in snakemake.input.summaries],
                          ignore_index=True)
    comparisons = pd.concat([read_table(path, "budget_comparisons") for path in snakemake.input.comparisons],
                            ignore_index=True)
    tables = budget_profile_tables(summaries, comparisons)
    for name, table in tables.items():
        write_table(table, snakemake.output[name], name)
    profiles = tables["time_to_target_profiles"]
    log.info("%d (dataset, budget) problems reached by some family, %d best-by-budget rows",
             int(profiles["n_problems"].iloc[0]) if len(profiles) else 0, len(tables["best_by_budget"]))

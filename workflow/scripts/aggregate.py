import pandas as pd

from schedbench.rule_logging import rule_logging
from schedbench.tables import read_table, sort_rows, write_table

with rule_logging(snakemake.log[0], "aggregate") as log:
    for name in ("runs", "predictions"):
        paths = list(snakemake.input[name])
        table = pd.concat([read_table(path, name) for path in paths], ignore_index=True)
        log.info("%s: %d rows from %d job(s)", name, len(table), len(paths))
        table = sort_rows(table, snakemake.params.schedules, snakemake.params.protocols)
        write_table(table, snakemake.output[name], name)

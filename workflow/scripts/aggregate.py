import pandas as pd

from schedbench.glue import rule_logging
from schedbench.io import write_csv
from schedbench.training import sort_rows

with rule_logging(snakemake.log[0], "aggregate") as log:
    config = snakemake.config
    for name in ("runs", "predictions"):
        paths = list(snakemake.input[name])
        table = pd.concat([pd.read_csv(path) for path in paths], ignore_index=True)
        log.info("%s: %d rows from %d job(s)", name, len(table), len(paths))
        write_csv(sort_rows(table, list(config["schedules"]), config["protocols"]), snakemake.output[name])

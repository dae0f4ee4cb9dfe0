from schedbench.glue import rule_logging
from schedbench.io import write_csv
from schedbench.config import chunk_seeds
from schedbench.training import prepare_job, result_tables, run_engine

with rule_logging(snakemake.log[0], "train") as log:
    config = snakemake.config
    dataset, protocol, chunk = snakemake.wildcards.dataset, snakemake.wildcards.protocol, snakemake.wildcards.chunk
    seeds = chunk_seeds(config["training"], chunk)
    inputs = prepare_job(config, dataset, protocol, seeds, snakemake.input.data)
    # The thread count Snakemake granted (fewer with --cores 1); results do not depend on it.
    inputs.threads = snakemake.threads
    log.info("%s/%s: %d seeds x %d schedules with the %s engine", dataset, protocol, len(seeds),
             len(inputs.schedules), snakemake.params.engine)
    result = run_engine(snakemake.params.engine, inputs)
    runs, predictions = result_tables(inputs, result, dataset, protocol, config["datasets"][dataset]["labels"])
    diverged = runs.groupby(["schedule", "seed"])["diverged"].any()
    for (schedule, seed) in diverged[diverged].index:
        log.warning("run %s seed %d diverged (non-finite loss)", schedule, seed)
    write_csv(predictions, snakemake.output.predictions)
    write_csv(runs, snakemake.output.runs)

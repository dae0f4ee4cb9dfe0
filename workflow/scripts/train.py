from schedbench.engines import device_text, run_engine
from schedbench.jobs import prepare_job, result_tables
from schedbench.rule_logging import rule_logging
from schedbench.tables import write_table

with rule_logging(snakemake.log[0], "train") as log:
    params = snakemake.params
    settings, dataset, protocol, seeds = params.settings, params.dataset, params.protocol, params.seeds
    # The thread count Snakemake granted (fewer with --cores 1); results do not depend on it.
    # Only the file the download rule accepted (data/raw/<dataset>.provenance.json, what the report shows).
    inputs = prepare_job(settings, protocol, seeds, snakemake.input.data, threads=snakemake.threads,
                         provenance=snakemake.input.provenance)
    log.info("%s %s/%s: %d seeds x %d schedules with the %s engine (%d training, %d validation, %d test rows)",
             params.study, dataset, protocol, len(seeds), len(inputs.schedules), params.engine, inputs.n_train,
             inputs.n_val, inputs.n_test)
    result = run_engine(params.engine, inputs)
    log.info("trained on %s", device_text())
    runs, predictions = result_tables(inputs, result, settings, dataset, protocol)
    diverged = runs.groupby(["schedule", "seed"])["diverged"].any()
    for (schedule, seed) in diverged[diverged].index:
        log.warning("run %s seed %d diverged (non-finite loss)", schedule, seed)
    write_table(predictions, snakemake.output.predictions, "predictions")
    write_table(runs, snakemake.output.runs, "runs")

import pandas as pd

from schedbench import stats
from schedbench.config import validation_rows
from schedbench.glue import rule_logging
from schedbench.io import write_csv

with rule_logging(snakemake.log[0], "statistics") as log:
    settings = snakemake.params.report
    runs = pd.read_csv(snakemake.input.runs)
    common = dict(confidence=settings["confidence"], resamples=settings["bootstrap_resamples"], seed=settings["rng_seed"])
    summary = stats.summary_table(runs, target_accuracy=settings["target_accuracy"], **common)
    dataset = snakemake.config["datasets"][snakemake.wildcards.dataset]
    n_val = validation_rows(dataset["rows"], snakemake.config["validation_fraction"])
    comparisons = stats.comparison_table(
        runs, baseline=settings["baseline"], equivalence_examples=settings["equivalence_examples"],
        test_train_ratio=n_val / (dataset["rows"] - n_val), **common
    )
    write_csv(stats.friedman_table(runs), snakemake.output.friedman)
    write_csv(comparisons, snakemake.output.comparisons)
    write_csv(summary, snakemake.output.summary)
    log.info("%d schedules, %d comparisons", len(summary), len(comparisons))

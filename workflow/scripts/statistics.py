from schedbench.rule_logging import rule_logging
from schedbench.stats import studies, tabulate
from schedbench.tables import final_epoch, read_table, write_table

with rule_logging(snakemake.log[0], "statistics") as log:
    settings = snakemake.params.report
    runs = read_table(snakemake.input.runs, "runs")
    common = dict(confidence=settings["confidence"], resamples=settings["bootstrap_resamples"],
                  seed=settings["rng_seed"])
    tables = {
        "summary": tabulate.summary_table(runs, target_accuracy=settings["target_accuracy"], **common),
        "comparisons": tabulate.comparison_table(
            runs, baseline=settings["baseline"], equivalence_examples=settings["equivalence_examples"],
            equivalence_min_seeds=settings["equivalence_min_seeds"],
            test_train_ratio=snakemake.params.test_train_ratio, **common),
        "friedman": tabulate.friedman_table(runs),
        "replication": tabulate.replication_table(runs, settings["article"], confidence=settings["confidence"]),
        "majority": tabulate.majority_table(read_table(snakemake.input.predictions, "predictions")),
        "attribution": studies.attribution_table(final_epoch(runs), snakemake.params.attributions,
                                                 baseline=settings["baseline"], **common),
    }
    for name, table in tables.items():
        write_table(table, snakemake.output[name], name)
    log.info("%d schedules, %d comparisons", len(tables["summary"]), len(tables["comparisons"]))

import numpy as np
import pandas as pd

from schedbench.atomic import atomic_write_bytes
from schedbench.data import load_accepted_dataset
from schedbench.figures.suite import draw_critical_difference, draw_performance_profiles, draw_vs_baseline
from schedbench.figures.style import figure_png
from schedbench.protocols import PROTOCOLS
from schedbench.rule_logging import rule_logging
from schedbench.stats.estimators import majority_accuracy
from schedbench.stats.suite import suite_tables
from schedbench.tables import read_table, write_table


def scored_labels(y: np.ndarray, protocol: str, seeds, sizes, validation_fraction: float):
    """Per seed, the labels of the rows the suite's accuracies are scored on: the test rows where the protocol
    holds some out, else the validation rows."""
    for seed in seeds:
        _, val, test = PROTOCOLS[protocol].split(seed, y, tuple(sizes), validation_fraction)
        yield y[test] if PROTOCOLS[protocol].has_test_rows else y[val]


with rule_logging(snakemake.log[0], "suite") as log:
    params = snakemake.params
    summaries = pd.concat([read_table(path, "tuned_summary") for path in snakemake.input.summaries], ignore_index=True)
    comparisons = pd.concat([read_table(path, "tuned_comparisons") for path in snakemake.input.comparisons],
                            ignore_index=True)
    protocols = dict(zip(summaries["dataset"], summaries["protocol"]))
    majority = {}
    # Only the files the download rule accepted (data/raw/<dataset>.provenance.json, what the report shows).
    for (name, spec), path, provenance in zip(params.datasets.items(), snakemake.input.data,
                                              snakemake.input.provenance):
        _, y = load_accepted_dataset(path, provenance, spec)
        majority[name] = majority_accuracy(scored_labels(
            y, protocols[name], params.seeds, params.sizes[name][protocols[name]], params.validation_fraction))
    tables = suite_tables(summaries, comparisons, majority, baseline=params.baseline, alpha=params.alpha,
                          groups=params.groups)
    for name, table in tables.items():
        write_table(table, snakemake.output[name], name)
    friedman = tables["suite_friedman"].iloc[0]
    figures = {
        "vs-baseline": draw_vs_baseline(tables["suite_vs_baseline"], families=params.families,
                                        baseline=params.baseline),
        "critical-difference": draw_critical_difference(
            tables["suite_average_ranks"], float(friedman["critical_difference"]), groups=tables["suite_groups"],
            alpha=params.alpha, n_datasets=int(friedman["n_datasets"])),
        "performance-profiles": draw_performance_profiles(tables["suite_profiles"], families=params.families,
                                                          baseline=params.baseline),
    }
    for name, figure in figures.items():
        atomic_write_bytes(snakemake.output[name], figure_png(figure))
    log.info("%d datasets, %d families", int(friedman["n_datasets"]), int(friedman["n_families"]))

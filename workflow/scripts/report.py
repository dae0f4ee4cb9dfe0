from pathlib import Path

from schedbench.report import render_report
from schedbench.rule_logging import rule_logging

with rule_logging(snakemake.log[0], "report") as log:
    params = snakemake.params
    # Inputs are declared as results/{dataset}/{table}.csv and results/{dataset}/figures/{stem}.png.
    results = {dataset: {} for dataset in params.datasets}
    for path in snakemake.input.tables:
        results[Path(path).parent.name][Path(path).stem] = path
    figures = {dataset: {} for dataset in params.datasets}
    for path in snakemake.input.figures:
        figures[Path(path).parent.parent.name][Path(path).stem] = path
    provenance = {Path(path).name.removesuffix(".provenance.json"): path for path in snakemake.input.provenance}
    benchmarks = [(path, params.runs_per_chunk[Path(path).stem]) for path in snakemake.input.benchmarks]
    render_report(params.config, results, figures, params.captions, provenance, benchmarks, snakemake.output[0])
    log.info("wrote %s", snakemake.output[0])

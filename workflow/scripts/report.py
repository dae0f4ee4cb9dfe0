import json
from pathlib import Path

from schedbench.glue import rule_logging
from schedbench.report import render_report

with rule_logging(snakemake.log[0], "report") as log:
    config = snakemake.config
    datasets = list(config["datasets"])
    figures = {
        dataset: {Path(path).stem: path for path in snakemake.input.figures if Path(path).parts[1] == dataset}
        for dataset in datasets
    }
    provenance = {}
    for path in snakemake.input.provenance:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        provenance[record["dataset"]] = record
    runs_per_job = snakemake.params.runs_per_chunk
    benchmarks = [(path, runs_per_job[Path(path).stem]) for path in snakemake.input.benchmarks]
    render_report(config, datasets, "results", figures, provenance, benchmarks, snakemake.output[0])
    log.info("wrote %s", snakemake.output[0])

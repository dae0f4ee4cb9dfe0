from pathlib import Path

from schedbench.plan import Plan
from schedbench.report import render_report
from schedbench.rule_logging import rule_logging

with rule_logging(snakemake.log[0], "report") as log:
    params = snakemake.params
    # Inputs are declared as results/{study}/{dataset}/{table}.csv and results/{study}/{dataset}/figures/{stem}.png.
    results, figures = {}, {}
    for path in map(Path, snakemake.input.tables):
        results.setdefault(path.parent.parent.name, {}).setdefault(path.parent.name, {})[path.stem] = path
    for path in map(Path, snakemake.input.figures):
        figures.setdefault(path.parents[2].name, {}).setdefault(path.parents[1].name, {})[path.stem] = path
    provenance = {Path(path).name.removesuffix(".provenance.json"): path for path in snakemake.input.provenance}
    benchmarks = [(path, params.runs[path]) for path in snakemake.input.benchmarks]
    render_report(Plan.from_dict(params.plan), results, figures, params.captions, provenance, benchmarks, snakemake.output[0])
    log.info("wrote %s", snakemake.output[0])

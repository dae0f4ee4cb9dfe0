from pathlib import Path

from schedbench.glue import rule_logging
from schedbench.plots import save_figures

with rule_logging(snakemake.log[0], "figures") as log:
    written = save_figures(
        snakemake.config,
        snakemake.wildcards.dataset,
        Path(snakemake.input.runs).parent,
        Path(snakemake.output[0]).parent,
    )
    missing = {str(Path(path)) for path in snakemake.output} - {str(Path(path)) for path in written.values()}
    if missing:
        raise RuntimeError(f"figures not drawn: {sorted(missing)}")
    log.info("%d figures", len(written))

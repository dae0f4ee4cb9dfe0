from pathlib import Path

from schedbench.figures.build import save_figures
from schedbench.rule_logging import rule_logging

with rule_logging(snakemake.log[0], "figures") as log:
    written = save_figures(snakemake.params.settings, dict(snakemake.input.items()), Path(snakemake.output[0]).parent,
                           processes=snakemake.threads)
    missing = {str(Path(path)) for path in snakemake.output} - {str(path) for path in written.values()}
    if missing:
        raise RuntimeError(f"figures not drawn: {sorted(missing)}")
    log.info("%d figures", len(written))

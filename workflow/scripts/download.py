import json
import os
from pathlib import Path

from schedbench.atomic import atomic_write_text
from schedbench.rule_logging import rule_logging
from schedbench.sources import SourceContext, fetch

with rule_logging(snakemake.log[0], "download") as log:
    # The repository is found from this script (workflow/scripts/), not passed in params: a path in params would
    # make every output depend on where the project folder is (moving it would retrain everything).
    repository = Path(os.path.normpath(snakemake.scriptdir)).parents[1]
    context = SourceContext(repository=repository, download=snakemake.params.download, log=log)
    provenance = fetch(snakemake.params.name, snakemake.params.dataset, snakemake.output.data, context)
    atomic_write_text(snakemake.output.provenance, json.dumps(provenance, indent=2, sort_keys=True) + "\n")

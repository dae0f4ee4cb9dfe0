import json

from pathlib import Path

from schedbench.data import fetch_dataset
from schedbench.glue import rule_logging
from schedbench.io import atomic_write_text

with rule_logging(snakemake.log[0], "download") as log:
    dataset = snakemake.params.dataset
    download = snakemake.params.download
    provenance = fetch_dataset(
        snakemake.wildcards.dataset,
        urls=dataset["urls"],
        sha256=dataset["sha256"],
        # A relative path names a file of this repository, wherever the workflow runs.
        bundled=Path(snakemake.scriptdir).resolve().parents[1] / dataset["bundled"],
        dest=snakemake.output.data,
        rows=dataset["rows"],
        features=dataset["features"],
        labels=dataset["labels"],
        timeout_s=download["timeout_s"],
        retries=download["retries"],
        backoff_s=download["backoff_s"],
        log=log,
    )
    atomic_write_text(snakemake.output.provenance, json.dumps(provenance, indent=2, sort_keys=True) + "\n")

import json

from schedbench.atomic import atomic_write_text
from schedbench.data import fetch_dataset
from schedbench.rule_logging import rule_logging

with rule_logging(snakemake.log[0], "download") as log:
    dataset = snakemake.params.dataset
    download = snakemake.params.download
    provenance = fetch_dataset(
        snakemake.params.name,
        urls=dataset["urls"],
        sha256=dataset["sha256"],
        bundled=snakemake.params.bundled,
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

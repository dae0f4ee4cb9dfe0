import json

from schedbench.atomic import atomic_write_text
from schedbench.data import export_sklearn, fetch_dataset
from schedbench.rule_logging import rule_logging

with rule_logging(snakemake.log[0], "download") as log:
    dataset = snakemake.params.dataset
    download = snakemake.params.download
    table = dict(rows=dataset["rows"], features=dataset["features"], labels=dataset["labels"],
                 table_sha256=dataset["table_sha256"], dest=snakemake.output.data, log=log)
    if dataset["source"] == "sklearn":
        provenance = export_sklearn(snakemake.params.name, loader=dataset["loader"], **table)
    else:
        provenance = fetch_dataset(
            snakemake.params.name,
            urls=dataset["urls"],
            sha256=dataset["sha256"],
            bundled=snakemake.params.bundled,
            value_range=tuple(dataset["value_range"]) if "value_range" in dataset else None,
            timeout_s=download["timeout_s"],
            retries=download["retries"],
            backoff_s=download["backoff_s"],
            **table,
        )
    atomic_write_text(snakemake.output.provenance, json.dumps(provenance, indent=2, sort_keys=True) + "\n")

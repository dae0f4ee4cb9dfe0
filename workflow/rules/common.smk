import sys
from pathlib import Path

from schedbench.config import (
    ConfigError,
    chunk_names,
    chunk_seeds,
    job_settings,
    read_yaml_strict,
    seed_chunks,
    training_rows,
    validate_config,
    validation_rows,
)
from schedbench.figures.registry import FIGURES, figure_instances, figure_settings, figure_stems
from schedbench.tables import STATISTICS_TABLES


def _checked_config():
    """The config with the schema's defaults, or a message naming the bad key and exit status 1."""
    try:
        for path in workflow.configfiles:
            read_yaml_strict(path)
        return validate_config(config, workflow.source_path("../schemas/config.schema.yaml"))
    except ConfigError as error:
        print(f"schedbench: {error}", file=sys.stderr)
        sys.exit(1)


config.update(_checked_config())

DATASETS = list(config["datasets"])
PROTOCOLS = config["protocols"]
CHUNKS = chunk_names(config["training"])
RUNS_PER_CHUNK = {
    chunk: len(seeds) * len(config["schedules"])
    for chunk, seeds in zip(CHUNKS, seed_chunks(config["training"]))
}
REPOSITORY = Path(workflow.basedir)
CAPTIONS = {spec.name: (REPOSITORY / "workflow/report" / spec.caption_file).read_text(encoding="utf-8") for spec in FIGURES}


wildcard_constraints:
    dataset="|".join(DATASETS),
    protocol="|".join(PROTOCOLS),
    chunk=r"seeds-\d+-\d+",


def train_runtime_minutes(wildcards):
    """Generous: the replica engine needs seconds; Keras fit ~7 s a run, plus TensorFlow's start-up."""
    runs = RUNS_PER_CHUNK[wildcards.chunk]
    if config["training"]["engine"] == "keras":
        return 5 + (runs * 10) // 60
    return 10 + runs // 600


def train_mem_mb(wildcards):
    runs = RUNS_PER_CHUNK[wildcards.chunk]
    return 1500 + (runs * 2 if config["training"]["engine"] == "replica" else 0)


def test_train_ratio(wildcards):
    """n_val / n_train of the dataset's split, for Nadeau and Bengio's corrected t under resplit."""
    rows, fraction = config["datasets"][wildcards.dataset]["rows"], config["validation_fraction"]
    return validation_rows(rows, fraction) / training_rows(rows, fraction)


def figure_files(dataset):
    return [f"results/{dataset}/figures/{stem}.png" for stem in figure_stems(PROTOCOLS)]

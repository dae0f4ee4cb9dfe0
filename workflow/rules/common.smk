import sys

from schedbench.config import ConfigError, chunk_names, read_yaml_strict, seed_chunks, validate_config


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

# Figures drawn once per dataset, and once per dataset and protocol.
SCHEDULE_FIGURES = ["schedules", "article-schedules"]
PROTOCOL_FIGURES = ["learning-curves", "final-accuracy", "intervals", "differences", "improvement", "ecdf"]


wildcard_constraints:
    dataset="|".join(DATASETS),
    protocol="|".join(PROTOCOLS),
    chunk=r"seeds-\d+-\d+",


def training_settings(wildcards):
    """Everything a training job's numbers depend on: a change to any of it reruns the job (params trigger)."""
    return {
        # The URLs only say where to fetch the bytes the checksum pins: a new mirror changes no result.
        "dataset": {key: value for key, value in config["datasets"][wildcards.dataset].items() if key != "urls"},
        "validation_fraction": config["validation_fraction"],
        "model": config["model"],
        "training": {key: value for key, value in config["training"].items() if key != "threads"},
        "schedules": config["schedules"],
    }


def train_runtime_minutes(wildcards):
    """Generous: the replica engine needs seconds; Keras fit ~7 s a run, plus TensorFlow's start-up."""
    runs = RUNS_PER_CHUNK[wildcards.chunk]
    if config["training"]["engine"] == "keras":
        return 5 + (runs * 10) // 60
    return 10 + runs // 600


def train_mem_mb(wildcards):
    runs = RUNS_PER_CHUNK[wildcards.chunk]
    return 1500 + (runs * 2 if config["training"]["engine"] == "replica" else 0)


def figure_files(dataset):
    names = SCHEDULE_FIGURES + [f"{p}-{name}" for p in PROTOCOLS for name in PROTOCOL_FIGURES]
    return [f"results/{dataset}/figures/{name}.png" for name in names]

"""Shared fixtures: the repository's paths and a tiny, fast workflow configuration."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
# Tests put their own helper modules (a user's custom schedule) on the import path.
sys.path.insert(0, str(Path(__file__).resolve().parent))


def load_repo_config() -> dict:
    with open(REPO / "config.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def tiny_config(**training) -> dict:
    """The repository's config at toy size: 2 seeds, 3 epochs, no network (download URL refused at once).
    The bundled copy keeps the config's relative path: it must resolve against the repository, not the run's
    directory."""
    config = copy.deepcopy(load_repo_config())
    config["datasets"]["ionosphere"]["urls"] = ["http://127.0.0.1:9/ionosphere.data"]
    config["download"] = {"timeout_s": 2, "retries": 1, "backoff_s": 0}
    config["training"].update({"epochs": 3, "seeds": [0, 1], "seeds_per_job": 1, **training})
    config["report"]["bootstrap_resamples"] = 1000
    return config


def write_config(config: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def run_snakemake(
    workdir: Path, configfile: Path, *args: str, timeout: int = 600, env: dict | None = None
) -> subprocess.CompletedProcess:
    """The real Snakemake command line, on the repository's Snakefile, in ``workdir``."""
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(configfile), "--cores", "2", *args,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, cwd=workdir
    )


@pytest.fixture
def tiny(tmp_path):
    """(workdir, configfile) with the tiny config written."""
    return tmp_path, write_config(tiny_config(), tmp_path / "config.yaml")

"""The contract every dataset source implements (the registry of sources: :mod:`schedbench.sources`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class SourceContext:
    """What a source may need besides its dataset's own config."""

    # Relative paths in a dataset's config (a bundled copy) name files of the repository, wherever the run is.
    repository: Path
    # The config's download settings: timeout_s, retries, backoff_s.
    download: dict
    log: logging.Logger


class Source(Protocol):
    def __call__(self, name: str, spec: dict, destination: Path, context: SourceContext) -> dict:
        """Write the checked table of dataset ``name`` at ``destination``; return its provenance."""

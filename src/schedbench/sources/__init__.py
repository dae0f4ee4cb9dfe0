"""Where a dataset's table comes from: one source per kind, the config's ``datasets.<name>.source``.

Every source has the same contract (:class:`schedbench.sources.base.Source`): ``fetch(name, spec, destination,
context) -> provenance``. It writes the table file at ``destination`` only once the table passed the checks of
:mod:`schedbench.data` (rows, numeric columns within ``value_range``, known labels, ``table_sha256``), and returns
its provenance, a JSON-able dict the report shows: at least ``dataset``, ``source``, ``url``, ``sha256`` and
``bytes`` of the file written, ``table_sha256``, ``attempts`` and ``notes``. Every step that reads the file later
checks it against ``sha256`` and ``bytes`` (:func:`schedbench.data.accepted_table`).

A new source is one module here with its ``fetch`` (:mod:`schedbench.sources.mnist1d`, a generated dataset, is an
example), its entry in :data:`SOURCES`, and its branch in the schema's ``datasets`` block (the ``source`` enum and the keys it requires).
"""

from __future__ import annotations

from pathlib import Path

from schedbench.data import DataError
from schedbench.sources import file, mnist1d, sklearn, uci
from schedbench.sources.base import Source, SourceContext

SOURCES: dict[str, Source] = {
    "uci": uci.fetch,
    "sklearn": sklearn.fetch,
    "file": file.fetch,
    "mnist1d": mnist1d.fetch,
}


def fetch(name: str, spec: dict, destination: str | Path, context: SourceContext) -> dict:
    """Write dataset ``name`` (its validated config ``spec``) at ``destination`` from its source; its provenance."""
    kind = spec["source"]
    if kind not in SOURCES:
        raise DataError(f"{name}: unknown source {kind!r} (known: {', '.join(SOURCES)})")
    return SOURCES[kind](name, spec, Path(destination), context)

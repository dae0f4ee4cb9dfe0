"""Source ``sklearn``: a table that ships inside scikit-learn (``loader``, a ``sklearn.datasets`` function), so no
network; written as its canonical text (:func:`schedbench.data.table_text`), class k labelled ``labels[k]``."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from schedbench.atomic import atomic_write_bytes
from schedbench.data import DataError, sha256_hex, table_text
from schedbench.sources.base import SourceContext

LOADERS = ("load_breast_cancer", "load_wine", "load_digits", "load_iris")


def fetch(name: str, spec: dict, destination: Path, context: SourceContext) -> dict:
    """The registry's entry: :func:`export_table` with the dataset's config."""
    return export_table(name, loader=spec["loader"], dest=destination, rows=spec["rows"], features=spec["features"],
                        labels=spec["labels"], table_sha256=spec["table_sha256"], log=context.log)


def export_table(
    name: str, *, loader: str, dest: str | Path, rows: int, features: int, labels: list[str], table_sha256: str,
    log: logging.Logger,
) -> dict:
    """Write the table of ``sklearn.datasets.<loader>`` at ``dest``, only if its shape, labels and table checksum
    are the configured ones; returns the provenance (with scikit-learn's version)."""
    if loader not in LOADERS:
        raise DataError(f"{name}: unknown scikit-learn loader {loader!r} (known: {', '.join(LOADERS)})")
    # scikit-learn takes about a second to import; every download job imports the source registry, most need none.
    import sklearn
    from sklearn import datasets

    bunch = getattr(datasets, loader)()
    x, target = np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target)
    if x.shape != (rows, features):
        raise DataError(f"{name}: sklearn.datasets.{loader} gives {x.shape[0]} rows x {x.shape[1]} features, "
                        f"expected {rows} x {features}")
    if target.min() < 0 or target.max() >= len(labels):
        raise DataError(f"{name}: sklearn.datasets.{loader} has classes 0..{target.max()}, "
                        f"but {len(labels)} labels are configured")
    frame = pd.DataFrame(x, columns=[f"f{col}" for col in range(features)])
    frame["label"] = np.asarray(labels, dtype=object)[target]
    body = table_text(frame)
    digest = sha256_hex(body)
    if digest != table_sha256:
        raise DataError(f"{name}: the table from sklearn.datasets.{loader} (scikit-learn {sklearn.__version__}) has "
                        f"checksum {digest}, expected {table_sha256}: not the configured table")
    atomic_write_bytes(dest, body)
    log.info("%s: sklearn.datasets.%s (scikit-learn %s), table sha256 %s -> %s", name, loader, sklearn.__version__,
             digest, dest)
    return {
        "dataset": name, "source": "scikit-learn", "url": f"sklearn.datasets.{loader}", "sha256": digest,
        "bytes": len(body), "table_sha256": digest, "sklearn_version": sklearn.__version__, "attempts": [],
        "notes": [f"Loaded with sklearn.datasets.{loader}() from scikit-learn {sklearn.__version__}, which ships the "
                  f"table: no network."],
    }

"""Source ``mnist1d``: the MNIST-1D dataset (Greydanus and Kobak, 2024), generated offline by the PyPI package
``mnist1d`` (``mnist1d.data.make_dataset``) from the config's ``generator`` settings, so no network.

``rows``, ``features`` and ``labels`` follow from the settings (:func:`describe`, when the config loads): the package
makes ``num_samples // 10`` examples of each digit 0..9, each ``final_seq_length`` values long, labelled by the
digit's text. The table is the package's training rows, then its test rows, in the package's order, the features
as generated (float64, 40 by default); its canonical text (:func:`schedbench.data.table_text`) is written at the
destination (``data/raw/<name>.data``), which caches it: the download rule generates it once.

Which rows test: the protocols draw their own splits from all rows, as for every other dataset (``heldout``: a
stratified train/validation/test split per seed, 20 % testing by default, 1,000 of the 5,000 rows, as many as the
package's test part). The generator's examples are independent draws from one process, so the package's 4,000/1,000
split is just one such draw; drawing the split per seed puts the split's share of the seed-to-seed spread into the
results like for every other dataset. The table keeps the package's order, so its own split can be recovered: the
last ``num_samples - int(num_samples * train_split)`` rows are its test rows (the provenance's notes say which).

Checksums: ``sha256`` is of the generated arrays (:func:`arrays_checksum`), ``table_sha256`` of the table's
canonical text; both optional, checked when given, always recorded in the provenance.
"""

from __future__ import annotations

import hashlib
import random
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from schedbench.atomic import atomic_write_bytes
from schedbench.data import DataError, check_table, sha256_hex, table_text
from schedbench.sources.base import SourceContext

# mnist1d.data.get_dataset_args() of mnist1d 0.0.2.post1, less its download URL (never used here).
GENERATOR_DEFAULTS = {
    "num_samples": 5000, "train_split": 0.8, "template_len": 12, "padding": [36, 60], "scale_coeff": 0.4,
    "max_translation": 48, "corr_noise_scale": 0.25, "iid_noise_scale": 0.02, "shear_scale": 0.75,
    "shuffle_seq": False, "final_seq_length": 40, "seed": 42,
}
DIGITS = [str(digit) for digit in range(10)]
URL = "mnist1d.data.make_dataset"


def generator_settings(spec: dict) -> dict:
    """The dataset's generator settings, the package's defaults for those left out."""
    return {**GENERATOR_DEFAULTS, **spec.get("generator", {})}


def describe(name: str, spec: dict) -> dict:
    """``rows``, ``features`` and ``labels`` the generator settings of dataset ``name`` give, without generating;
    DataError naming the setting that the package cannot generate from."""
    settings = generator_settings(spec)
    low, high = settings["padding"]
    if low > high:
        raise DataError(f"datasets.{name}.generator.padding: [{low}, {high}] is not [low, high] (low above high)")
    return {"rows": 10 * (settings["num_samples"] // 10), "features": settings["final_seq_length"],
            "labels": list(DIGITS)}


def generate(settings: dict) -> dict[str, np.ndarray]:
    """``x``, ``y``, ``x_test`` and ``y_test`` of ``mnist1d.data.make_dataset`` with ``settings``.

    The package seeds and draws from numpy's and Python's global random state; both are restored afterwards, so the
    process goes on exactly as if nothing had been drawn."""
    # Importing mnist1d imports matplotlib.pyplot and requests (over a second); only the download job needs it.
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    for key, value in settings.items():
        setattr(args, key, list(value) if isinstance(value, list) else value)
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        dataset = make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return {key: dataset[key] for key in ("x", "y", "x_test", "y_test")}


def arrays_checksum(arrays: dict[str, np.ndarray]) -> str:
    """The config's ``sha256`` of generated arrays: SHA-256 over the bytes of ``x``, ``y``, ``x_test``, ``y_test`` in
    that order, each C-ordered, the features as little-endian float64 and the labels as little-endian int64."""
    digest = hashlib.sha256()
    for key, dtype in (("x", "<f8"), ("y", "<i8"), ("x_test", "<f8"), ("y_test", "<i8")):
        digest.update(np.ascontiguousarray(arrays[key], dtype=dtype).tobytes())
    return digest.hexdigest()


def table_frame(arrays: dict[str, np.ndarray]) -> pd.DataFrame:
    """The package's training rows then its test rows: columns f0..f{n-1} float64, then 'label', the digit's text."""
    x = np.concatenate([arrays["x"], arrays["x_test"]]).astype(np.float64)
    frame = pd.DataFrame(x, columns=[f"f{col}" for col in range(x.shape[1])])
    frame["label"] = np.asarray(DIGITS, dtype=object)[np.concatenate([arrays["y"], arrays["y_test"]])]
    return frame


def fetch(name: str, spec: dict, destination: Path, context: SourceContext) -> dict:
    """Generate dataset ``name`` and write its table at ``destination``, only if the arrays and the table are the
    configured ones (``sha256``, ``table_sha256`` when given; ``rows``, ``features``, ``labels``, ``value_range``);
    the provenance names the package's version, the settings and both checksums."""
    settings = generator_settings(spec)
    package = f"mnist1d {version('mnist1d')}"
    arrays = generate(settings)
    arrays_sha256 = arrays_checksum(arrays)
    if spec.get("sha256") and arrays_sha256 != spec["sha256"]:
        raise DataError(f"datasets.{name}: the arrays {package} generates have SHA-256 {arrays_sha256}, expected "
                        f"{spec['sha256']} (datasets.{name}.sha256): not the configured data")
    body = table_text(table_frame(arrays))
    table_sha256 = sha256_hex(body)
    if spec.get("table_sha256") and table_sha256 != spec["table_sha256"]:
        raise DataError(f"datasets.{name}: the table {package} generates has SHA-256 {table_sha256}, expected "
                        f"{spec['table_sha256']} (datasets.{name}.table_sha256): not the configured table")
    expected = describe(name, spec)
    value_range = tuple(spec["value_range"]) if spec.get("value_range") is not None else None
    try:
        # Every later step reads the file with these checks (schedbench.data.accepted_table): refuse it now if one
        # fails (a configured value_range, say).
        check_table(body, rows=spec.get("rows", expected["rows"]), features=spec.get("features", expected["features"]),
                    labels=spec.get("labels", expected["labels"]), value_range=value_range)
    except DataError as err:
        raise DataError(f"datasets.{name}: the table {package} generates is not the configured one: {err}") from None
    atomic_write_bytes(destination, body)
    context.log.info("%s: generated by %s (seed %s), arrays sha256 %s, table sha256 %s -> %s", name, package,
                     settings["seed"], arrays_sha256, table_sha256, destination)
    n_train, rows = len(arrays["y"]), len(arrays["y"]) + len(arrays["y_test"])
    return {
        "dataset": name, "source": "mnist1d", "url": URL, "sha256": table_sha256, "bytes": len(body),
        "table_sha256": table_sha256, "arrays_sha256": arrays_sha256, "mnist1d_version": version("mnist1d"),
        "generator": settings, "attempts": [],
        "notes": [(f"Generated offline by {URL} of {package} with the generator settings recorded here, numpy's and "
                   f"Python's global random state restored afterwards. Rows 1 to {n_train} are the package's "
                   f"training rows, rows {n_train + 1} to {rows} its test rows (train_split "
                   f"{settings['train_split']}), in the package's order; the protocols draw their own splits from "
                   f"all rows.")],
    }

"""How the rows of a table are split into training, validation and test rows: the article's tail split and the
stratified draws of one seed. Every function returns sorted index arrays; the same seed gives the same split."""

from __future__ import annotations

import math

import numpy as np

# Keeps the split's random stream apart from other streams seeded with the same seed (weights, shuffling).
_SPLIT_STREAM_KEY = 0x5B117


def tail_split(n: int, validation_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Keras' validation_split: the last fraction of rows, in file order, validates (351, 0.33 -> 235/116)."""
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    split_at = math.floor(n * (1.0 - validation_fraction))
    if split_at in (0, n):
        raise ValueError(f"validation_fraction {validation_fraction} leaves an empty part of {n} rows")
    return np.arange(split_at), np.arange(split_at, n)


def _train_test_split(*args, **kwargs):
    # scikit-learn takes about a second to import, and the workflow imports the protocol registry (and with it
    # this module) every time it is parsed: it is imported when a split is drawn.
    from sklearn.model_selection import train_test_split

    return train_test_split(*args, **kwargs)


def stratified_split(y: np.ndarray, n_val: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random split with exactly ``n_val`` validation rows and the class proportions of ``y``.

    Both index arrays are sorted; the same seed gives the same split.
    """
    random_state = int(np.random.SeedSequence(seed, spawn_key=(_SPLIT_STREAM_KEY,)).generate_state(1)[0])
    indices = np.arange(len(y))
    train, val = _train_test_split(indices, test_size=int(n_val), stratify=y, random_state=random_state)
    return np.sort(train), np.sort(val)


def stratified_heldout_split(y: np.ndarray, n_val: int, n_test: int, seed: int
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random train / validation / test split with exactly ``n_val`` validation and ``n_test`` test rows, each
    part with the class proportions of ``y``: the test rows are drawn first, then the validation rows from the
    rest (each a stratified draw of its own stream of the seed). The three sorted index arrays are disjoint."""
    test_state, val_state = (
        int(np.random.SeedSequence(seed, spawn_key=(_SPLIT_STREAM_KEY, part)).generate_state(1)[0]) for part in (1, 2)
    )
    indices = np.arange(len(y))
    rest, test = _train_test_split(indices, test_size=int(n_test), stratify=y, random_state=test_state)
    train, val = _train_test_split(rest, test_size=int(n_val), stratify=y[rest], random_state=val_state)
    return np.sort(train), np.sort(val), np.sort(test)

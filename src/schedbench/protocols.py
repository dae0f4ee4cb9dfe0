"""Evaluation protocols: how one seed's rows are split, and what that means for the scores and the tests.

Each protocol is registered once in :data:`PROTOCOLS` with everything that depends on it: its split function,
the sizes of its parts, whether it holds out test rows, whether each seed draws a split of its own, whether Nadeau
and Bengio's corrected resampled t applies, and how the report describes it. A new protocol is one entry here (and
its name in the schema's ``studies.<name>.protocols`` enum). Which score is primary depends on the study as well:
:meth:`schedbench.plan.StudyPlan.primary_score`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from schedbench import splits

Sizes = tuple[int, int, int]  # (training, validation, test) rows


def training_rows(rows: int, validation_fraction: float) -> int:
    """Number of training rows under Keras' ``validation_split``: floor(rows * (1 - s))."""
    return math.floor(rows * (1.0 - validation_fraction))


def validation_rows(rows: int, validation_fraction: float) -> int:
    """Number of validation rows under Keras' ``validation_split``: the rest, rows - floor(rows * (1 - s))."""
    return rows - training_rows(rows, validation_fraction)


def _validation_split_sizes(rows: int, validation_fraction: float, test_fraction: float) -> Sizes:
    n_val = validation_rows(rows, validation_fraction)
    return rows - n_val, n_val, 0


def _heldout_sizes(rows: int, validation_fraction: float, test_fraction: float) -> Sizes:
    """Validation and test rows each sized as ``validation_split`` would size its fraction of the whole table; the
    rest trains (351 rows, 0.33 and 0.2 -> 164 / 116 / 71)."""
    n_val, n_test = validation_rows(rows, validation_fraction), validation_rows(rows, test_fraction)
    return rows - n_val - n_test, n_val, n_test


def _tail(seed: int, y: np.ndarray, sizes: Sizes, validation_fraction: float):
    return (*splits.tail_split(len(y), validation_fraction), np.arange(0))


def _resplit(seed: int, y: np.ndarray, sizes: Sizes, validation_fraction: float):
    return (*splits.stratified_split(y, sizes[1], seed), np.arange(0))


def _heldout(seed: int, y: np.ndarray, sizes: Sizes, validation_fraction: float):
    return splits.stratified_heldout_split(y, sizes[1], sizes[2], seed)


@dataclass(frozen=True)
class Protocol:
    name: str
    sizes_of: Callable[[int, float, float], Sizes]
    split_of: Callable[[int, np.ndarray, Sizes, float], tuple[np.ndarray, np.ndarray, np.ndarray]]
    has_test_rows: bool
    # The split is drawn per seed, so it is paired by seed like the weights and the batch order.
    split_per_seed: bool
    # Every seed draws its own split from one table, so training sets overlap between seeds: the tests over seeds
    # answer for these splits, and Nadeau and Bengio's corrected t for new data.
    corrected_t: bool
    # For the report; {n_val} and {n_test} are filled with the dataset's sizes.
    description: str

    def sizes(self, rows: int, validation_fraction: float, test_fraction: float) -> Sizes:
        return self.sizes_of(rows, validation_fraction, test_fraction)

    def split(self, seed: int, y: np.ndarray, sizes: Sizes, validation_fraction: float):
        """(train, validation, test) sorted row indices of one seed; ``sizes`` as :meth:`sizes` gives them."""
        return self.split_of(seed, y, sizes, validation_fraction)

    def describe(self, n_val, n_test) -> str:
        return self.description.format(n_val=n_val, n_test=n_test)


# In the order the report lists them.
PROTOCOLS: dict[str, Protocol] = {
    protocol.name: protocol
    for protocol in (
        Protocol(
            "tail", _validation_split_sizes, _tail, has_test_rows=False, split_per_seed=False,
            corrected_t=False,
            description=("the article's split: the last third of the file validates ({n_val} rows), the same rows "
                         "for every seed; a seed varies only the initial weights and the batch order"),
        ),
        Protocol(
            "resplit", _validation_split_sizes, _resplit, has_test_rows=False, split_per_seed=True,
            corrected_t=True,
            description=("every seed also draws its own stratified split of the same size ({n_val} validation rows), "
                         "so the variance of the split is inside the spread over seeds (Bouthillier et al.)"),
        ),
        Protocol(
            "heldout", _heldout_sizes, _heldout, has_test_rows=True, split_per_seed=True,
            corrected_t=False,
            description=("every seed draws its own stratified split into training, validation ({n_val} rows) and "
                         "test rows ({n_test}); the final model is tested once on the test rows, which no choice is "
                         "ever made on"),
        ),
    )
}


def held_out() -> list[str]:
    """The protocols with test rows: the only ones a variant can be chosen on (validation) and scored on (test) apart."""
    return [name for name, p in PROTOCOLS.items() if p.has_test_rows]

"""The runs table (one row per run and epoch) seen one row per run: each run's final epoch, with what its history
says (its best validation accuracy, whether and when it diverged, the epochs it took to reach a target). Statistics,
figures and the report take their per-run numbers from :func:`final_epoch`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from schedbench.engines.spec import HISTORY_COLUMNS
from schedbench.tables import RUN_KEYS

# Tolerance for comparing accuracies (exact multiples of 1/n_val) with a threshold.
_EPS = 1e-9


def _appearance_codes(s: pd.Series) -> np.ndarray:
    """Integer code of each value in order of first appearance."""
    return pd.Categorical(s, categories=pd.unique(s)).codes


def final_epoch(runs: pd.DataFrame, target_accuracy: float = 1.0) -> pd.DataFrame:
    """One row per run (dataset, protocol, schedule, seed), in order of first appearance of dataset,
    protocol and schedule, then by seed.

    Columns: the run keys; ``accuracy``, ``val_loss`` (final epoch); ``correct`` (integer count of correct
    validation examples, round(accuracy * n_val)); ``n_val``; ``best_accuracy`` (best epoch);
    ``diverged`` (at any epoch) and ``first_diverged_epoch`` (NaN if never); ``epochs_to_target`` (first
    epoch reaching ``target_accuracy``, inf if never). ``n_val`` differing within a (dataset, protocol)
    is a ValueError: counts of correct examples would not be comparable.
    Where ``runs`` has them (tables written by the workflow do): ``family`` and the varied parameters,
    ``test_loss``, ``test_accuracy``, ``n_test`` of the final model.
    """
    required = (*RUN_KEYS, "epoch", "val_loss", "val_accuracy", "diverged", "n_val")
    missing = [c for c in required if c not in runs.columns]
    if missing:
        raise ValueError(f"runs is missing columns: {missing}")
    keys = list(RUN_KEYS)
    carried = [c for c in runs.columns if c not in required and c not in HISTORY_COLUMNS]
    df = runs.loc[:, list(required) + carried].reset_index(drop=True)
    if df.duplicated(keys + ["epoch"]).any():
        raise ValueError("runs has duplicated (dataset, protocol, schedule, seed, epoch) rows")
    codes = pd.DataFrame({
        "_d": _appearance_codes(df["dataset"]),
        "_p": _appearance_codes(df["protocol"]),
        "_s": _appearance_codes(df["schedule"]),
    })
    df["diverged"] = df["diverged"].fillna(False).astype(bool)
    df = pd.concat([df, codes], axis=1)
    df = df.sort_values(["_d", "_p", "_s", "seed", "epoch"], kind="stable").reset_index(drop=True)
    g = df.groupby(keys, sort=False)
    last = g.tail(1).set_index(keys)  # sorted by epoch within a run: the final (max) epoch
    out = last.loc[:, ["val_accuracy", "val_loss", "n_val", *carried]].rename(columns={"val_accuracy": "accuracy"})
    out["best_accuracy"] = g["val_accuracy"].max()
    out["diverged"] = g["diverged"].any()
    out["first_diverged_epoch"] = (
        df[df["diverged"]].groupby(keys, sort=False)["epoch"].min().reindex(out.index).astype(float)
    )
    reached = df[df["val_accuracy"] >= target_accuracy - _EPS].groupby(keys, sort=False)["epoch"].min()
    out["epochs_to_target"] = reached.reindex(out.index).astype(float).fillna(math.inf)
    out = out.reset_index()
    out["n_val"] = out["n_val"].astype(np.int64)
    out["accuracy"] = out["accuracy"].astype(float)
    out["val_loss"] = out["val_loss"].astype(float)
    out["correct"] = np.rint(out["accuracy"].to_numpy() * out["n_val"].to_numpy()).astype(np.int64)
    if "n_test" in out.columns:
        out["n_test"] = out["n_test"].astype(np.int64)
    nv = out.groupby(["dataset", "protocol"], sort=False)["n_val"].nunique()
    if (nv > 1).any():
        bad = [tuple(i) for i in nv[nv > 1].index]
        raise ValueError(f"n_val differs between runs of the same (dataset, protocol): {bad}")
    return out

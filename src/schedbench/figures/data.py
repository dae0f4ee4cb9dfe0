"""What the figures of one dataset are drawn from: the settings the figures rule passes and the tables it reads."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from schedbench.figures.style import schedule_order
from schedbench.runs import final_epoch
from schedbench.tables import read_table

# The tables the figures read, by their name in schedbench.tables.
FIGURE_TABLES = ("runs", "summary", "comparisons", "majority", "reach_profiles", "paired_differences")


@dataclass
class FigureData:
    dataset: str
    protocols: list[str]
    schedules: dict  # the study's variants, controls included, in plan order: name -> scalar config entry
    baseline: str
    confidence: float
    equivalence_examples: float
    epochs: int
    updates_per_epoch: int
    runs: pd.DataFrame
    summary: pd.DataFrame
    comparisons: pd.DataFrame
    reach_profiles: pd.DataFrame  # schedbench.stats.distributions.reach_profile_table
    paired_differences: pd.DataFrame  # schedbench.stats.distributions.paired_difference_table
    finals: pd.DataFrame  # final_epoch(runs): one row per run
    majority: dict[str, float]  # protocol -> majority-class accuracy
    order: list[str]  # schedules in config order, then any other schedule of the runs

    @classmethod
    def load(cls, settings: dict, tables: dict) -> FigureData:
        """``settings`` as :func:`schedbench.figures.registry.figure_settings`; ``tables`` maps each name of
        FIGURE_TABLES to its CSV file."""
        frames = {name: read_table(tables[name], name) for name in FIGURE_TABLES}
        runs = frames["runs"]
        majority = dict(zip(frames["majority"]["protocol"], frames["majority"]["majority_accuracy"]))
        return cls(
            **settings,
            runs=runs,
            summary=frames["summary"],
            comparisons=frames["comparisons"],
            reach_profiles=frames["reach_profiles"],
            paired_differences=frames["paired_differences"],
            finals=final_epoch(runs),
            majority=majority,
            order=schedule_order(runs["schedule"], settings["schedules"]),
        )

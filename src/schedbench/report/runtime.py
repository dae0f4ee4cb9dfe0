"""The run time of the jobs behind a report, from Snakemake's benchmark files (``logs/benchmarks/<step>/...``):
per step of the workflow, per training job, and the training runs per second."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from schedbench.report.format import finite, number
from schedbench.report.views import Table

COLUMNS = ["job", "step", "runs", "seconds", "max_rss", "finished"]


def step_of(path: str | os.PathLike) -> str:
    """The workflow step a benchmark file belongs to: the folder right below ``benchmarks``."""
    parts = Path(path).parts
    return parts[parts.index("benchmarks") + 1] if "benchmarks" in parts[:-2] else Path(path).parent.name


def read_benchmarks(benchmarks: Sequence[tuple[str | os.PathLike, int]]) -> pd.DataFrame:
    """One row per (benchmark file, runs the job trained; 0 for a job that trains nothing): job, step, runs,
    seconds, max RSS (MB) and when the job finished (the file's modification time). An unreadable file gives
    NaN: the run time is an appendix, it must not stop the report."""
    rows = []
    for path, n_runs in benchmarks:
        seconds, rss, finished = math.nan, math.nan, math.nan
        try:
            table = pd.read_csv(path, sep="\t")
            seconds = float(pd.to_numeric(table["s"], errors="coerce").sum())
            if "max_rss" in table:
                rss = float(pd.to_numeric(table["max_rss"], errors="coerce").max())
            finished = os.stat(path).st_mtime
        except (OSError, KeyError, ValueError, pd.errors.ParserError):
            pass
        rows.append({"job": str(Path(path)), "step": step_of(path), "runs": int(n_runs), "seconds": seconds,
                     "max_rss": rss, "finished": finished})
    return pd.DataFrame(rows, columns=COLUMNS)


def elapsed_seconds(frame: pd.DataFrame) -> float:
    """From the start of the first job to the end of the last one (NaN when a file could not be read)."""
    if frame.empty or not (frame["seconds"].notna().all() and frame["finished"].notna().all()):
        return math.nan
    return float(frame["finished"].max() - (frame["finished"] - frame["seconds"]).min())


def _rate(runs: float, seconds: float) -> float:
    return runs / seconds if finite(seconds) and seconds > 0 else math.nan


def step_table(frame: pd.DataFrame) -> Table:
    rows = []
    for step, jobs in frame.groupby("step", sort=False):
        rows.append([step, str(len(jobs)), number(jobs["seconds"].sum(min_count=1), 1),
                     number(jobs["seconds"].max(), 1), number(jobs["max_rss"].max(), 0)])
    rows.append(["all jobs", str(len(frame)), number(frame["seconds"].sum(min_count=1), 1),
                 number(frame["seconds"].max(), 1), number(frame["max_rss"].max(), 0)])
    return Table(
        id="runtime-steps",
        caption="Each step of the workflow from Snakemake's benchmark files: its jobs, their wall-clock seconds "
                "added up, the slowest job, and the largest resident memory of any of its jobs.",
        columns=["Step (rule)", "Jobs", "Seconds (sum)", "Slowest job (s)", "Peak RSS (MB)"],
        rows=rows, row_classes=[""] * (len(rows) - 1) + ["total"],
    )


def training_table(training: pd.DataFrame) -> Table:
    rows = [[row["job"], str(int(row["runs"])), number(row["seconds"], 1),
             number(_rate(row["runs"], row["seconds"]), 2), number(row["max_rss"], 0)]
            for _, row in training.iterrows()]
    total_seconds = float(training["seconds"].sum(min_count=1))
    rows.append(["total", str(int(training["runs"].sum())), number(total_seconds, 1),
                 number(_rate(training["runs"].sum(), total_seconds), 2), ""])
    return Table(
        id="runtime-table",
        caption="Training jobs: wall-clock seconds of each job, the runs it trained (seeds x schedules) and the "
                "resulting training runs per second.",
        columns=["Job (benchmark file)", "Runs", "Seconds", "Runs per second", "Max RSS (MB)"],
        rows=rows, row_classes=[""] * (len(rows) - 1) + ["total"],
    )


def runtime_view(benchmarks: Sequence[tuple[str | os.PathLike, int]]) -> tuple[Table | None, Table | None, str]:
    """(table per step, table per training job, a sentence with runs per second) of this run's jobs."""
    frame = read_benchmarks(benchmarks)
    if frame.empty:
        return None, None, "No benchmark files were given, so no run time is reported."
    training = frame[frame["runs"] > 0]
    total_runs = int(training["runs"].sum())
    training_seconds = float(training["seconds"].sum(min_count=1))
    elapsed = elapsed_seconds(frame)
    sentence = (
        f"{total_runs} training runs in {number(training_seconds, 1)} s of training job time: "
        f"{number(_rate(total_runs, training_seconds), 2)} runs per second of training. End to end, from the start "
        f"of the first job to the end of the last one before this report, {number(elapsed, 1)} s: "
        f"{number(_rate(total_runs, elapsed), 2)} runs per second. Jobs that ran side by side count in full in "
        "the sums below; Snakemake's own start-up and this report are in neither figure, and after a partial "
        "rerun the span includes the jobs of the earlier run that were kept."
    )
    return step_table(frame), (training_table(training) if not training.empty else None), sentence

"""The run time of the jobs behind a report, from Snakemake's benchmark files (``logs/benchmarks/<step>/...``):
per step of the workflow, per training job, and the training runs per second, of the last run.

A job's benchmark file is written when the job ends (its modification time) and holds the job's seconds, so each
job spans [end - seconds, end]. A partial rerun keeps the files of the jobs it did not rerun: those ended before
the rerun started, and are told apart by the pause before it in which no job ran."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from schedbench.report.format import finite, number
from schedbench.report.views import Table

COLUMNS = ["job", "step", "runs", "seconds", "max_rss", "finished"]
# The longest pause with no job running within one run. Locally Snakemake starts a job within a second or two of
# the end of the one it waits for; on a cluster its status checks (every 40 s and more) and the queue add to that.
PAUSE_S = 120


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


def last_run(frame: pd.DataFrame, pause_s: float = PAUSE_S) -> pd.Series:
    """True for each job of the last run: the job that ended last, and every job linked to it by jobs that leave
    no pause longer than ``pause_s`` in which none ran; False for the jobs that ended before such a pause (earlier
    runs, whose outputs were kept). A job whose file could not be read cannot be placed in time: it counts as the
    last run's."""
    in_run = pd.Series(True, index=frame.index)
    placed = frame[frame["seconds"].notna() & frame["finished"].notna()]
    run_start = math.inf  # of the jobs taken so far, the earliest start
    for _, job in placed.sort_values("finished", ascending=False, kind="stable").iterrows():
        if math.isfinite(run_start) and job["finished"] < run_start - pause_s:
            # Every job left ended before this one did: all before the pause.
            in_run[placed.index[placed["finished"] <= job["finished"]]] = False
            break
        run_start = min(run_start, job["finished"] - job["seconds"])
    return in_run


def elapsed_seconds(frame: pd.DataFrame) -> float:
    """From the start of the first job to the end of the last one (NaN when a file could not be read)."""
    if frame.empty or not (frame["seconds"].notna().all() and frame["finished"].notna().all()):
        return math.nan
    return float(frame["finished"].max() - (frame["finished"] - frame["seconds"]).min())


def _rate(runs: float, seconds: float) -> float:
    return runs / seconds if finite(seconds) and seconds > 0 else math.nan


def _step_row(name: str, jobs: pd.DataFrame, earlier: int) -> list[str]:
    if jobs.empty:
        return [name, "0", "–", "–", "–", str(earlier)]
    return [name, str(len(jobs)), number(jobs["seconds"].sum(min_count=1), 1), number(jobs["seconds"].max(), 1),
            number(jobs["max_rss"].max(), 0), str(earlier)]


def step_table(frame: pd.DataFrame, in_run: pd.Series) -> Table:
    rows = []
    for step, jobs in frame.groupby("step", sort=False):
        rows.append(_step_row(step, jobs[in_run[jobs.index]], int((~in_run[jobs.index]).sum())))
    rows.append(_step_row("last run", frame[in_run], int((~in_run).sum())))
    return Table(
        id="runtime-steps",
        caption="Each step of the workflow from Snakemake's benchmark files: its jobs in the last run, their "
                "wall-clock seconds added up, the slowest job, and the largest resident memory of any of them "
                "(– where none ran in it); then its jobs kept from earlier runs, counted in none of those.",
        columns=["Step (rule)", "Jobs", "Seconds (sum)", "Slowest job (s)", "Peak RSS (MB)", "Jobs of earlier runs"],
        rows=rows, row_classes=[""] * (len(rows) - 1) + ["total"], numeric=[False] + [True] * 5,
    )


def training_table(training: pd.DataFrame, in_run: pd.Series) -> Table:
    rows = [[row["job"], "last" if in_run[index] else "earlier", str(int(row["runs"])), number(row["seconds"], 1),
             number(_rate(row["runs"], row["seconds"]), 2), number(row["max_rss"], 0)]
            for index, row in training.iterrows()]
    last = training[in_run[training.index]]
    total_seconds = float(last["seconds"].sum(min_count=1))
    rows.append(["total of the last run", "last", str(int(last["runs"].sum())), number(total_seconds, 1),
                 number(_rate(last["runs"].sum(), total_seconds), 2), ""])
    return Table(
        id="runtime-table",
        caption="Training jobs: the run each belongs to (the last one, or an earlier one whose outputs were kept), "
                "its wall-clock seconds, the runs it trained (seeds x schedules) and the resulting training runs "
                "per second. The total is the last run's.",
        columns=["Job (benchmark file)", "Run", "Runs", "Seconds", "Runs per second", "Max RSS (MB)"],
        rows=rows, row_classes=[""] * (len(rows) - 1) + ["total"],
    )


def runtime_view(benchmarks: Sequence[tuple[str | os.PathLike, int]],
                 pause_s: float = PAUSE_S) -> tuple[Table | None, Table | None, str]:
    """(table per step, table per training job, a sentence with runs per second) of the last run's jobs."""
    frame = read_benchmarks(benchmarks)
    if frame.empty:
        return None, None, "No benchmark files were given, so no run time is reported."
    in_run = last_run(frame, pause_s)
    last, earlier = frame[in_run], frame[~in_run]
    training = last[last["runs"] > 0]
    total_runs = int(training["runs"].sum())
    training_seconds = float(training["seconds"].sum(min_count=1))
    elapsed = elapsed_seconds(last)
    trained = (f"{total_runs} training runs in {number(training_seconds, 1)} s of training job time: "
               f"{number(_rate(total_runs, training_seconds), 2)} runs per second of training" if total_runs
               else "no training job")
    sentence = (
        f"The last run (the job that ended last, and every job linked to it with no pause of more than {pause_s:g} s "
        f"in which no job ran): {len(last)} of the {len(frame)} jobs behind this report; {trained}. End to end, "
        f"from the start of its first job to the end of its last, {number(elapsed, 1)} s"
        + (f": {number(_rate(total_runs, elapsed), 2)} runs per second. " if total_runs else ". ")
        + (f"The other {len(earlier)} jobs ended before such a pause: they are from earlier runs, whose outputs "
           "this report kept, and are in no total. " if len(earlier) else "")
        + "Jobs that ran side by side count in full in the sums below; Snakemake's own start-up and this report "
        "are in neither figure."
    )
    all_training = frame[frame["runs"] > 0]
    return (step_table(frame, in_run),
            training_table(all_training, in_run) if not all_training.empty else None, sentence)

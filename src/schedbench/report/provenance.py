"""Where the results come from: the data's provenance record, the code (git commit, package versions), the
machine, and the run time of the training jobs from Snakemake's benchmark files."""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from schedbench.report.format import finite, number
from schedbench.report.views import Table


def git_commit() -> str:
    """HEAD of the git checkout the report is made in ('unknown' outside one), marked when the tree is dirty."""
    for where in (Path.cwd(), Path(__file__).resolve().parent):
        try:
            head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        if not head:
            continue
        try:
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                                   capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            dirty = ""
        return head + (" (with uncommitted changes)" if dirty else "")
    return "unknown"


def _version(*distributions: str) -> str:
    for name in distributions:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "not installed"


def package_versions() -> list[tuple[str, str]]:
    return [
        ("python", platform.python_version()),
        ("tensorflow", _version("tensorflow", "tensorflow-cpu")),
        ("keras", _version("keras")),
        ("numpy", _version("numpy")),
        ("pandas", _version("pandas")),
        ("scipy", _version("scipy")),
        ("snakemake", _version("snakemake")),
        ("matplotlib", _version("matplotlib")),
        ("seaborn", _version("seaborn")),
        ("jinja2", _version("jinja2")),
        ("docutils", _version("docutils")),
        ("schedbench", _version("schedbench")),
    ]


def machine_info() -> list[tuple[str, str]]:
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        memory_text = f"{memory / 2**30:.1f} GiB"
    except (ValueError, OSError, AttributeError):
        memory_text = "unknown"
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform (macOS)
        usable = os.cpu_count()
    return [
        ("Platform", platform.platform()),
        ("Machine", platform.machine() or "unknown"),
        ("Processor", platform.processor() or "unknown"),
        ("CPUs", f"{os.cpu_count()} ({usable} usable by this process)"),
        ("Memory", memory_text),
    ]


def data_table(dataset: str, path: str | os.PathLike | None) -> Table:
    """The download script's provenance record of one dataset (fields it lacks read 'unknown')."""
    record = json.loads(Path(path).read_text(encoding="utf-8")) if path is not None else {}
    attempts = record.get("attempts") or []
    attempt_text = "; ".join(
        f"{a.get('url')} attempt {a.get('attempt')}: {a.get('error') or 'ok'}" for a in attempts) or "none recorded"
    rows = [
        ["source", str(record.get("source", "unknown"))],
        ["URL or path", str(record.get("url", "unknown"))],
        ["SHA-256", str(record.get("sha256", "unknown"))],
        ["SHA-256 of the parsed table", str(record.get("table_sha256") or "not configured")],
        ["bytes", str(record.get("bytes", "unknown"))],
        *([["scikit-learn", record["sklearn_version"]]] if record.get("sklearn_version") else []),
        ["download attempts", attempt_text],
        ["notes", " ".join(record.get("notes") or []) or "none"],
    ]
    return Table(id=f"provenance-{dataset}", caption=f"Data provenance of {dataset}.", columns=["Field", "Value"],
                 rows=rows)


def read_benchmarks(benchmarks: Sequence[tuple[str | os.PathLike, int]]) -> pd.DataFrame:
    """One row per Snakemake benchmark file: job, runs, seconds, max RSS (MB). An unreadable file gives NaN:
    the run time is an appendix, it must not stop the report."""
    rows = []
    for path, n_runs in benchmarks:
        seconds, rss = math.nan, math.nan
        try:
            table = pd.read_csv(path, sep="\t")
            seconds = float(pd.to_numeric(table["s"], errors="coerce").sum())
            if "max_rss" in table:
                rss = float(pd.to_numeric(table["max_rss"], errors="coerce").max())
        except (OSError, KeyError, ValueError, pd.errors.ParserError):
            pass
        rows.append({"job": str(Path(path)), "runs": int(n_runs), "seconds": seconds, "max_rss": rss})
    return pd.DataFrame(rows, columns=["job", "runs", "seconds", "max_rss"])


def runtime_view(benchmarks: Sequence[tuple[str | os.PathLike, int]]) -> tuple[Table | None, str]:
    frame = read_benchmarks(benchmarks)
    if frame.empty:
        return None, "No benchmark files were given, so no run time is reported."
    rows = []
    for _, row in frame.iterrows():
        rate = row["runs"] / row["seconds"] if finite(row["seconds"]) and row["seconds"] > 0 else math.nan
        rows.append([row["job"], str(int(row["runs"])), number(row["seconds"], 1), number(rate, 2),
                     number(row["max_rss"], 0)])
    total_runs = int(frame["runs"].sum())
    total_seconds = float(frame["seconds"].sum(min_count=1))
    total_rate = total_runs / total_seconds if finite(total_seconds) and total_seconds > 0 else math.nan
    rows.append(["total", str(total_runs), number(total_seconds, 1), number(total_rate, 2), ""])
    table = Table(
        id="runtime-table",
        caption="Training jobs from Snakemake's benchmark files: wall-clock seconds of each job, the runs it "
                "trained (seeds x schedules) and the resulting training runs per second.",
        columns=["Job (benchmark file)", "Runs", "Seconds", "Runs per second", "Max RSS (MB)"],
        rows=rows, row_classes=[""] * (len(rows) - 1) + ["total"],
    )
    sentence = (f"{total_runs} training runs in {number(total_seconds, 1)} s of job time: "
                f"{number(total_rate, 2)} runs per second overall.")
    return table, sentence

"""Where the results come from: the data's provenance record, the code (git commit, package versions) and the
machine."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

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


# The repository this package is part of (src/schedbench/report/ -> the repository), where the bundled copies live.
_REPOSITORY = Path(__file__).resolve().parents[3]

# An absolute path inside free text: a '/' at the start or after a blank, a bracket, a quote or '=' (so neither the
# path of a URL, 'https://host/a/b', nor a closing tag, '</b>', is one), up to the next blank, quote, bracket or
# separator.
_ABSOLUTE_PATH = re.compile(r"(?<![^\s('\"=])/[^\s;,'\"()<>]+")


def project_roots() -> list[Path]:
    """The folders a path of the report is shown relative to: the working directory (the project the workflow runs
    in) and the repository of the code; the deeper first, so the more specific one wins."""
    roots = {Path.cwd().resolve(), _REPOSITORY}
    return sorted(roots, key=lambda root: len(root.parts), reverse=True)


def without_machine_paths(text: str, roots: Sequence[Path]) -> str:
    """``text`` with every absolute path shown relative to the first of ``roots`` it lies in, or by its file name
    alone ('.../name') when it lies in none: a page must not tell where the project sat on the machine that made it
    (the download rule records the bundled copy's absolute path)."""
    def shown(match: re.Match) -> str:
        path = Path(match.group(0))
        for root in roots:
            if path.is_relative_to(root):
                return path.relative_to(root).as_posix() or "."
        return f".../{path.name}"

    return _ABSOLUTE_PATH.sub(shown, text)


def data_table(dataset: str, path: str | os.PathLike | None, roots: Sequence[Path] | None = None) -> Table:
    """The download script's provenance record of one dataset (fields it lacks read 'unknown'), every absolute path
    in it shown relative to the project (:func:`without_machine_paths` over ``roots``, by default
    :func:`project_roots`)."""
    roots = project_roots() if roots is None else roots
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
        *([["mnist1d", record["mnist1d_version"]], ["SHA-256 of the generated arrays", record["arrays_sha256"]],
           ["generator settings", json.dumps(record.get("generator"))]] if record.get("mnist1d_version") else []),
        ["download attempts", attempt_text],
        ["notes", " ".join(record.get("notes") or []) or "none"],
    ]
    rows = [[field, without_machine_paths(value, roots)] for field, value in rows]
    return Table(id=f"provenance-{dataset}", caption=f"Data provenance of {dataset}.", columns=["Field", "Value"],
                 rows=rows)

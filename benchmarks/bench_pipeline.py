"""The whole pipeline, timed as a user runs it: `snakemake --cores 4` from a clean tree, per target and per rule.

Each side (a git ref, or the working tree) is exported into a directory of its own and run there with its own
package (PYTHONPATH=<side>/src), from nothing: no results/, logs/, reports/, data/raw/ or .snakemake/. The
sides alternate within one invocation (before, after, before, after, ...), so that both see the same machine.

    python benchmarks/bench_pipeline.py --before 6559093            # HEAD's working tree against an older commit
    python benchmarks/bench_pipeline.py --before v1 --after v2 --targets article --repeats 3
    python benchmarks/bench_pipeline.py --before HEAD --configfile .test/config-tiny.yaml --out /tmp/bench  # tiny

Per run: wall seconds of the whole `snakemake` command, the training runs it trained (rows of every runs.csv),
runs per second end to end, and from Snakemake's benchmark files per rule the summed and the slowest job's
seconds and the largest peak RSS. Written to benchmarks/results/ (or --out) as bench-pipeline-<timestamp>.{json,md}
and ...-latest.{json,md}; the markdown is what the README quotes. ``--configfile`` (a path inside each side's
tree, e.g. .test/config-tiny.yaml) is laid over config.yaml on both sides: the test suite runs the benchmark so.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
WORKTREE = "worktree"
# Everything a run writes; removed before each run so that every run is a first run.
RUN_OUTPUTS = ("results", "logs", "reports", "data/raw", ".snakemake")
TARGETS = {"article": ["article"], "default": []}


def export_side(ref: str, destination: Path) -> Path:
    """The tree of ``ref`` (committed files only), or of the working tree as it is, in ``destination``."""
    destination.mkdir(parents=True)
    if ref == WORKTREE:
        files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                               cwd=REPOSITORY, check=True, capture_output=True).stdout.split(b"\0")
        for name in filter(None, files):
            source = REPOSITORY / name.decode()
            if source.is_file():
                (destination / name.decode()).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination / name.decode())
        return destination
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=REPOSITORY, check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(destination, filter="data")
    return destination


def clean(tree: Path) -> None:
    for name in RUN_OUTPUTS:
        shutil.rmtree(tree / name, ignore_errors=True)


def count_runs(tree: Path) -> int:
    """Training runs in every runs.csv (one row per run and epoch): distinct (protocol, schedule, seed, budget); a
    schedule trained again for a shorter budget is a run of its own."""
    total = 0
    for path in (tree / "results").glob("*/*/runs.csv"):
        with open(path, newline="") as handle:
            total += len({(row["protocol"], row["schedule"], row["seed"], row.get("budget"))
                          for row in csv.DictReader(handle)})
    return total


def rule_times(tree: Path) -> dict[str, dict[str, float]]:
    """Per rule, from Snakemake's benchmark files (logs/benchmarks/<rule>/...): jobs, summed s, max s, max RSS MB."""
    rules: dict[str, dict[str, float]] = {}
    root = tree / "logs" / "benchmarks"
    for path in sorted(root.rglob("*.tsv")):
        rule = path.relative_to(root).parts[0]
        with open(path, newline="") as handle:
            row = next(csv.DictReader(handle, delimiter="\t"))
        seconds, rss = float(row["s"]), _number(row.get("max_rss"))
        entry = rules.setdefault(rule, {"jobs": 0, "seconds": 0.0, "max_seconds": 0.0, "max_rss_mb": 0.0})
        entry["jobs"] += 1
        entry["seconds"] += seconds
        entry["max_seconds"] = max(entry["max_seconds"], seconds)
        entry["max_rss_mb"] = max(entry["max_rss_mb"], rss)
    return rules


def _number(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return 0.0  # Snakemake writes "-" where it could not measure


def table_digests(tree: Path) -> dict[str, str]:
    return {str(path.relative_to(tree)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted((tree / "results").rglob("*.csv")) if "chunks" not in path.parts}


def snakemake(tree: Path, *args: str) -> float:
    """Seconds `snakemake <args>` takes in ``tree`` with that tree's package; a failure stops the benchmark."""
    command = [sys.executable, "-m", "snakemake", *args]
    start = time.perf_counter()
    process = subprocess.run(command, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree / "src")},
                             capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {tree}:\n{process.stdout[-2000:]}{process.stderr[-3000:]}")
    return seconds


def run_once(tree: Path, target: str, cores: int, configfiles: list[str]) -> dict:
    # Last on the command line: --configfile takes every word after it.
    config_args = ["--configfile", *configfiles] if configfiles else []
    clean(tree)
    # Snakemake's own start-up and the workflow's parse, without any job: part of every wall time below.
    dry_run = snakemake(tree, "--dry-run", *TARGETS[target], *config_args)
    clean(tree)
    wall = snakemake(tree, "--cores", str(cores), *TARGETS[target], *config_args)
    runs = count_runs(tree)
    return {"wall_s": wall, "dry_run_s": dry_run, "runs": runs, "runs_per_s": runs / wall,
            "rules": rule_times(tree), "tables": table_digests(tree)}


def median_run(runs: list[dict]) -> dict:
    """The run with the median wall time (its per-rule figures stay consistent with its wall time)."""
    ordered = sorted(runs, key=lambda run: run["wall_s"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["all_wall_s"] = [run["wall_s"] for run in runs]
    return chosen


def markdown(results: dict[str, dict[str, dict]], labels: dict[str, str], meta: dict) -> str:
    sides = list(labels)
    config = "".join(f" --configfile {path}" for path in meta["configfiles"])
    lines = [f"Measured {meta['date']} on {meta['cpus']} CPUs, `snakemake --cores {meta['cores']}{config}`, "
             f"{meta['repeats']} run(s) per cell alternating the sides (median wall shown).", ""]
    lines += ["| target | side | wall s | dry run s | runs trained | runs/s | slowest non-training job s | "
              "peak RSS MB |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for target, by_side in results.items():
        for side in sides:
            run = by_side[side]
            others = [r["max_seconds"] for name, r in run["rules"].items() if name != "train"]
            slowest = max(others, default=0.0)
            slowest_rule = max(((r["max_seconds"], name) for name, r in run["rules"].items() if name != "train"),
                               default=(0.0, "-"))[1]
            peak = max((r["max_rss_mb"] for r in run["rules"].values()), default=0.0)
            lines.append(f"| {target} | {labels[side]} | {run['wall_s']:.1f} | {run['dry_run_s']:.1f} | {run['runs']} | "
                         f"{run['runs_per_s']:.0f} | {slowest:.1f} ({slowest_rule}) | {peak:.0f} |")
    lines.append("")
    for target, by_side in results.items():
        before, after = (by_side[side]["tables"] for side in sides)
        same = before == after
        lines.append(f"Tables of `{target}` (every results/**/*.csv but the per-job chunks, SHA-256): "
                     + (f"byte-identical on both sides ({len(after)} files)." if same else
                        "DIFFERENT: " + ", ".join(sorted(k for k in before.keys() | after.keys()
                                                         if before.get(k) != after.get(k)))))
    for target, by_side in results.items():
        rules = sorted({name for run in by_side.values() for name in run["rules"]})
        lines += ["", f"Per rule, `{target}` (summed job seconds / slowest job seconds, jobs):", "",
                  "| rule | " + " | ".join(labels[side] for side in sides) + " |",
                  "|---|" + "---:|" * len(sides)]
        for name in rules:
            cells = []
            for side in sides:
                entry = by_side[side]["rules"].get(name)
                cells.append("-" if entry is None else
                             f"{entry['seconds']:.1f} / {entry['max_seconds']:.1f} ({entry['jobs']})")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="git ref of the earlier side")
    parser.add_argument("--after", default=WORKTREE, help=f"git ref of the later side (default: {WORKTREE})")
    parser.add_argument("--targets", nargs="+", choices=list(TARGETS), default=["article", "default"])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--cores", type=int, default=4)
    parser.add_argument("--configfile", nargs="+", default=[],
                        help="config files laid over config.yaml, relative to each side's tree")
    parser.add_argument("--out", type=Path, default=REPOSITORY / "benchmarks" / "results",
                        help="directory for the JSON and markdown results")
    args = parser.parse_args(argv)

    labels = {"before": f"before ({args.before})", "after": f"after ({args.after})"}
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as scratch:
        trees = {side: export_side(ref, Path(scratch) / side)
                 for side, ref in (("before", args.before), ("after", args.after))}
        measured: dict[str, dict[str, list]] = {target: {side: [] for side in trees} for target in args.targets}
        for repeat in range(args.repeats):
            for target in args.targets:
                for side, tree in trees.items():
                    run = run_once(tree, target, args.cores, args.configfile)
                    measured[target][side].append(run)
                    print(f"[{repeat + 1}/{args.repeats}] {target:8s} {labels[side]:30s} {run['wall_s']:6.1f} s "
                          f"{run['runs']:6d} runs", flush=True)
    results = {target: {side: median_run(runs) for side, runs in by_side.items()}
               for target, by_side in measured.items()}
    meta = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "cores": args.cores,
            "repeats": args.repeats, "before": args.before, "after": args.after,
            "configfiles": args.configfile,
            "median_wall_s": {t: {s: statistics.median(r["all_wall_s"]) for s, r in v.items()}
                              for t, v in results.items()}}
    text = markdown(results, labels, meta)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for stem in (f"bench-pipeline-{stamp}", "bench-pipeline-latest"):
        (args.out / f"{stem}.md").write_text(text)
        (args.out / f"{stem}.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

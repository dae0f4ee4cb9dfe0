"""benchmarks/bench_pipeline.py runs at a tiny size: the working tree against itself on the tiny config's article
study, its results written where --out says, and its verdict that both sides' tables are byte-identical."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.slow
def test_the_pipeline_benchmark_compares_the_working_tree_with_itself_at_a_tiny_size(tmp_path):
    repository_results = REPO / "benchmarks" / "results"
    results_before = sorted(repository_results.iterdir()) if repository_results.exists() else []
    out = tmp_path / "results"
    run = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_pipeline.py"), "--before", "worktree", "--after", "worktree",
         "--targets", "article", "--configfile", ".test/config-tiny.yaml", "--cores", "2", "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]

    markdown = (out / "bench-pipeline-latest.md").read_text(encoding="utf-8")
    assert "`snakemake --cores 2 --configfile .test/config-tiny.yaml`" in markdown
    assert "Tables of `article` (every results/**/*.csv but the per-job chunks, SHA-256): byte-identical on both " \
           "sides" in markdown
    measured = json.loads((out / "bench-pipeline-latest.json").read_text(encoding="utf-8"))
    assert measured["meta"]["configfiles"] == [".test/config-tiny.yaml"]
    before, after = (measured["results"]["article"][side] for side in ("before", "after"))
    assert before["tables"] == after["tables"] and before["tables"]
    # The tiny article study: 2 seeds of each of its schedules (and controls), one run each.
    assert before["runs"] == after["runs"] > 0 and before["runs"] % 2 == 0
    assert "train" in before["rules"] and before["rules"]["train"]["jobs"] > 0
    assert len(list(out.glob("bench-pipeline-*.md"))) == 2  # the stamped file and the latest
    assert (sorted(repository_results.iterdir()) if repository_results.exists() else []) == results_before


def test_runs_retrained_for_a_shorter_budget_are_counted_as_runs(tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_pipeline import count_runs

    table = tmp_path / "results" / "optimizers" / "mnist1d_mlp" / "runs.csv"
    table.parent.mkdir(parents=True)
    rows = ["protocol,schedule,seed,budget,epoch"]
    rows += [f"heldout,cosine,{seed},{budget},{epoch}" for seed in (0, 1) for budget, epochs in (("0.5", 2), ("1.0", 4))
             for epoch in range(1, epochs + 1)]
    rows += [f"heldout,constant,{seed},1.0,{epoch}" for seed in (0, 1) for epoch in range(1, 5)]
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    # Two seeds of cosine at two budgets and of constant at one: 6 runs trained.
    assert count_runs(tmp_path) == 6

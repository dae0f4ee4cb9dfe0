"""benchmarks/bench_workloads.py runs end to end at a tiny size: the replica engine against both Keras ways."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_workload_benchmark_times_the_replica_engine_against_both_keras_ways(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_workloads.py"), "--workloads", "ionosphere", "--ks", "12",
         "--keras-runs", "1", "--epochs", "2", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out")],
        env=env, capture_output=True, text=True, check=False, timeout=600, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    [result] = (tmp_path / "out").glob("bench-workloads-*.json")
    [row] = json.loads(result.read_text(encoding="utf-8"))["rows"]
    assert row["k"] == 60 and row["epochs"] == 2  # one seed of the tuning study's 60 variants
    for way in ("keras", "arrays"):
        assert math.isfinite(row[f"{way}_runs_per_s"]) and row[f"{way}_runs_per_s"] > 0
        assert row[f"vs_{way}"] == pytest.approx(row["runs_per_s"] / row[f"{way}_runs_per_s"])
    [table] = (tmp_path / "out").glob("bench-workloads-*.md")
    assert "| fit on arrays runs/s |" in table.read_text(encoding="utf-8")

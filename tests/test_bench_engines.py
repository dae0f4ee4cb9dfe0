"""benchmarks/bench_engines.py runs end to end at a tiny size, so that an API change cannot break it unnoticed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_engine_benchmark_runs_at_a_tiny_size(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_engines.py"), "--ks", "1", "7", "--process-runs", "1",
         "--keras-runs", "1", "--epochs", "1", "--threads", "1", "--out", str(tmp_path)],
        env=env, capture_output=True, text=True, check=False, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads((tmp_path / "bench-engines-full-latest.json").read_text(encoding="utf-8"))
    assert [row["k"] for row in result["replica"]] == [1, 12]  # K rounded up to whole seeds of 6 schedules
    assert all(row["runs_per_s"] > 0 for row in result["replica"])
    assert result["process_per_run"]["runs"] == 1 and result["keras_in_process"]["runs"] == 1
    assert (tmp_path / "bench-engines-full-latest.md").read_text(encoding="utf-8").strip()

"""benchmarks/bench_levers.py runs end to end at a tiny size, and its 'same bits' column can tell versions apart."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _levers(tmp_path, *versions: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_levers.py"), "--workloads", "ionosphere", "--seeds", "1",
         "--epochs", "1", "--repeats", "1", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"),
         *[f"--version={version}" for version in versions]],
        env=env, capture_output=True, text=True, check=False, timeout=600, cwd=ROOT,
    )


@pytest.mark.slow
def test_lever_benchmark_compares_versions_at_a_tiny_size(tmp_path):
    # A copy of the engine whose first update uses twice the rate: another result, which 'same bits' must notice.
    changed = tmp_path / "changed.py"
    source = (ROOT / "src/schedbench/engines/replica.py").read_text(encoding="utf-8")
    marker = 'lr = tf.where(c["reactive"], self.lr, tf.gather(c["rates"], step, axis=1))'
    assert marker in source
    changed.write_text(source.replace(marker, marker + "\n        lr = lr * 2.0"), encoding="utf-8")
    done = _levers(tmp_path, "now=worktree", "again=worktree", f"changed={changed}")
    assert done.returncode == 0, done.stderr[-4000:]
    [result] = (tmp_path / "out").glob("bench-levers-*.json")
    rows = {row["version"]: row for row in json.loads(result.read_text(encoding="utf-8"))}
    assert rows["now"]["k"] == 60 and rows["now"]["steady_s"] > 0  # one seed of the tuning study's 60 variants
    assert rows["again"]["same_bits"] and not rows["changed"]["same_bits"]


def test_a_version_of_unknown_kind_is_refused_by_name(tmp_path):
    done = _levers(tmp_path, "odd=replica.txt")
    assert done.returncode != 0
    assert "--version odd=replica.txt" in done.stderr
    assert not (tmp_path / "out").exists()

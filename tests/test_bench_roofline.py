"""benchmarks/bench_roofline.py runs end to end at a tiny size, so that an API change cannot break it unnoticed."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _roofline(tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    data = tmp_path / "data"
    data.mkdir()
    # The bundled copy is the table the download rule writes: no network needed.
    shutil.copy(ROOT / "data" / "bundled" / "ionosphere.data", data / "ionosphere.data")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_roofline.py"), "--epochs", "2", "--threads", "1",
         "--matmul-seconds", "0.05", "--data-dir", str(data), "--out", str(tmp_path / "out"), *options],
        env=env, capture_output=True, text=True, check=False, timeout=900,
    )


def _rows(tmp_path: Path) -> list[dict]:
    (result,) = (tmp_path / "out").glob("bench-roofline-*.json")
    return json.loads(result.read_text(encoding="utf-8"))["rows"]


@pytest.mark.slow
def test_roofline_runs_at_a_tiny_size(tmp_path):
    figure = tmp_path / "roofline.png"
    done = _roofline(tmp_path, "--workloads", "ionosphere", "mnist1d_mlp", "--ks", "1", "2", "2000",
                     "--max-mb", "2000", "--figure", str(figure))
    assert done.returncode == 0, done.stderr[-4000:]
    rows = _rows(tmp_path)
    # ionosphere's tuning study trains 60 variants per seed, the optimizers study 18: K rounds up to whole seeds.
    assert [(row["workload"], row["k"]) for row in rows] == [
        ("ionosphere", 60), ("ionosphere", 60), ("ionosphere", 2040), ("mnist1d_mlp", 18), ("mnist1d_mlp", 18),
        ("mnist1d_mlp", 2016)]
    measured = [row for row in rows if "skipped" not in row]
    assert [(row["workload"], row["k"]) for row in measured] == [("ionosphere", 60), ("mnist1d_mlp", 18)]
    assert "rounds up" in rows[1]["skipped"] and "--max-mb" in rows[2]["skipped"]
    for row in measured:
        assert row["matmul_gflops"] > 0 and row["replica"]["gflops"] > 0 and row["replica"]["epochs"] == 2
        assert row["replica"]["s_per_run"] == pytest.approx(row["replica"]["steady_s"] / row["k"])
        assert row["replica"]["peak_mb_per_run"] > 0
    assert "jax" not in measured[0]
    markdown = next((tmp_path / "out").glob("bench-roofline-*.md")).read_text(encoding="utf-8")
    assert "| ionosphere | 2040 | skipped: estimated" in markdown
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_roofline_times_jax_side_by_side(tmp_path):
    pytest.importorskip("jax", reason="the JAX comparison needs the bench extra: pip install -e '.[bench]'")
    done = _roofline(tmp_path, "--workloads", "ionosphere", "--ks", "1", "--jax")
    assert done.returncode == 0, done.stderr[-4000:]
    (row,) = _rows(tmp_path)
    assert row["jax"]["k"] == row["replica"]["k"] == 60
    # ionosphere's plateau runs are the JAX side's only stand-ins (5 rates x 2 momenta of its 60 variants).
    assert row["jax"]["stand_ins"] == 10 and row["jax"]["gflops"] > 0


def test_the_workflow_never_imports_jax():
    """JAX is the benchmarks' optional yardstick (the bench extra): no module of the package or rule imports it."""
    sources = [*(ROOT / "src").rglob("*.py"), *(ROOT / "workflow").rglob("*.py"), *(ROOT / "workflow").rglob("*.smk"),
               ROOT / "Snakefile"]
    importing = [path for path in sources if path.exists() and
                 any(line.strip().startswith(("import jax", "from jax")) for line in path.read_text().splitlines())]
    assert not importing


def test_rows_measured_with_and_without_jax_table_together():
    """A reading joins runs made with --jax and without it (as benchmarks/README.md's table does): the rows without
    JAX get empty JAX cells, not an error."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_roofline import table

    engine = {"gflops": 50.0, "steady_runs_per_s": 50.0, "s_per_run": 0.02, "peak_mb_per_run": 5.0}
    row = {"workload": "mnist1d_mlp", "k": 306, "epochs": 4, "matmul_gflops": 100.0, "replica": engine,
           "share_of_matmul": 0.5}
    with_jax = {**row, "jax": {**engine, "steady_runs_per_s": 25.0}}
    lines = table([with_jax, {**row, "k": 1008}], jax=True)
    assert lines[2].endswith("| 50.0 | 25.00 | 5.00 | 2.00x |")
    assert lines[3].startswith("| mnist1d_mlp | 1008 |") and lines[3].endswith("|  |  |  |  |")
    assert len({line.count("|") for line in lines}) == 1

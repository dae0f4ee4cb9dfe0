"""benchmarks/jax_replica.py trains the replica engine's problem: the same runs end close to the same models."""

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("jax", reason="benchmarks/jax_replica.py needs the bench extra: pip install -e '.[bench]'")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from jax_replica import COLUMNS, JaxReplicas
from workload_jobs import job

from schedbench.engines import configure_tensorflow, replica
from schedbench.engines.spec import history_column


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    shutil.copy(ROOT / "data" / "bundled" / "ionosphere.data", data / "ionosphere.data")
    return data


def _exact(inputs, highest_adam_rate: float) -> list[int]:
    """The runs jax_replica trains as the replica engine does (not the plateau's stand-ins), Adam-family only up to
    ``highest_adam_rate``: at higher rates their first steps, divided by a tiny sqrt(v), blow round-off up."""
    return [i for i, (_, schedule, optimizer) in enumerate(inputs.runs())
            if not schedule.reactive and ("sgd" in optimizer.name or schedule.lr0 <= highest_adam_rate)]


@pytest.mark.slow
@pytest.mark.parametrize("workload", ["ionosphere", "mnist1d_mlp"])
def test_jax_runs_end_where_the_replica_engine_does(workload, data_dir):
    configure_tensorflow(1)
    inputs = job(workload, 1, data_dir, epochs=2)
    jax_history = JaxReplicas(inputs).fit()
    engine = replica.train(inputs).history
    runs = _exact(inputs, highest_adam_rate=0.01)
    optimizers = {inputs.runs()[i][2].name for i in runs}
    assert len(runs) >= 10 and "sgd" in optimizers
    if workload == "mnist1d_mlp":
        assert {"adamw", "schedule_free_adamw"} <= optimizers
    for column in ("loss", "val_loss", "val_loss_at_y"):
        ours = jax_history[runs, :, COLUMNS.index(column)]
        theirs = engine[runs][:, :, history_column(column)]
        np.testing.assert_allclose(ours, theirs, atol=1e-3, equal_nan=True, err_msg=column)
    # Accuracy: at most one validation row's verdict apart per run.
    val = jax_history[runs, -1, COLUMNS.index("val_accuracy")]
    assert np.abs(val - engine[runs, -1, history_column("val_accuracy")]).max() <= 1.0 / inputs.n_val + 1e-6

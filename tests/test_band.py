"""The equivalence band set in examples or in points: resolved per comparison group from its n rows, carried in the
comparisons tables (band_examples), refused when set twice, and stated per dataset on the overview."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from schedbench.config import ConfigError, validate_config
from schedbench.report.suite import band_table
from schedbench.stats import tabulate
from schedbench.stats.reading import band_examples
from schedbench.stats.studies import sensitivity_table
from schedbench.tables import write_table


def _runs(correct: dict[str, list[int]], n_val: int, dataset: str) -> pd.DataFrame:
    """One final epoch per run, ``correct`` validation examples out of n_val per seed."""
    return pd.DataFrame([
        {"dataset": dataset, "protocol": "tail", "schedule": schedule, "seed": seed, "epoch": 1, "lr": 0.1,
         "loss": 0.3, "accuracy": 0.9, "val_loss": 0.2, "val_accuracy": k / n_val, "diverged": False, "n_val": n_val}
        for schedule, counts in correct.items() for seed, k in enumerate(counts)
    ])


# 30 seeds; x is the baseline plus 0, +1, -1 in turn: a mean difference of 0 whose interval stays within about
# +/-0.3 examples, and whose interval's width does not depend on n_val.
BASE = [30 + (s % 7) for s in range(30)]
CLOSE = {"baseline": BASE, "x": [k + (0, 1, -1)[s % 3] for s, k in enumerate(BASE)]}
# x 2 examples above the baseline on every seed: an interval of exactly [2, 2] examples.
TWO_UP = {"baseline": BASE, "x": [k + 2 for k in BASE]}


def test_band_in_points_is_points_per_hundred_of_the_rows():
    assert band_examples(116, equivalence_points=2) == pytest.approx(2.32)
    assert band_examples(116, equivalence_examples=3) == 3
    assert band_examples(116) == 1  # the default
    assert np.allclose(band_examples(np.array([50.0, 200.0]), equivalence_points=1), [0.5, 2.0])
    with pytest.raises(ValueError, match="equivalence_examples or equivalence_points"):
        band_examples(116, equivalence_examples=1, equivalence_points=2)


def test_points_give_each_group_its_own_band_and_the_calls_follow_it():
    # The same differences on two datasets of different sizes: 2 points is 1 example of 50 rows, 4 of 200 rows.
    runs = pd.concat([_runs(TWO_UP, 50, "small"), _runs(TWO_UP, 200, "large")], ignore_index=True)
    table = tabulate.comparison_table(runs, baseline="baseline", resamples=500, seed=1,
                                      equivalence_points=2).set_index("dataset")
    assert table.loc["small", "band_examples"] == pytest.approx(1.0)
    assert table.loc["large", "band_examples"] == pytest.approx(4.0)
    # A reliable +2 examples: outside +/-1 on the small dataset (better), inside +/-4 on the large (negligible).
    assert table.loc["small", "decision"] == "better"
    assert table.loc["large", "decision"] == "better, negligible"
    assert not table.loc["small", "equivalent"] and table.loc["large", "equivalent"]


def test_the_default_band_is_one_example_in_every_group():
    runs = pd.concat([_runs(CLOSE, 50, "small"), _runs(CLOSE, 200, "large")], ignore_index=True)
    table = tabulate.comparison_table(runs, baseline="baseline", resamples=500, seed=1)
    assert (table["band_examples"] == 1.0).all()
    assert table["equivalent"].all()
    tight = tabulate.comparison_table(runs, baseline="baseline", resamples=500, seed=1, equivalence_points=0.1)
    # 0.1 points: 0.05 examples of 50 rows, 0.2 of 200: too narrow for an interval of about +/-0.3.
    assert tight["band_examples"].tolist() == pytest.approx([0.05, 0.2])
    assert not tight["equivalent"].any()


def test_the_sensitivity_tie_takes_the_band_in_points():
    rows = [{"dataset": "d", "protocol": "tail", "schedule": f"s-{lr}", "family": "s", "lr0": lr, "seed": seed,
             "epoch": 1, "accuracy": k / 100, "test_accuracy": np.nan, "diverged": False, "n_val": 100}
            for lr, k in ((0.1, 80), (0.2, 78), (0.3, 75)) for seed in range(3)]
    per_run = pd.DataFrame(rows)
    # 2.5 points of 100 rows = 2.5 examples: 78 ties with 80, 75 does not.
    assert sensitivity_table(per_run, ["lr0"], tie_points=2.5)["best"].tolist() == [True, True, False]
    assert sensitivity_table(per_run, ["lr0"], tie_examples=1)["best"].tolist() == [True, False, False]


@pytest.fixture(scope="module")
def config() -> dict:
    with open("config.yaml") as handle:
        return yaml.safe_load(handle)


def test_the_config_takes_one_band_and_refuses_both(config):
    assert validate_config(config)["report"]["equivalence_examples"] == 1  # the default
    in_points = copy.deepcopy(config)
    in_points["report"]["equivalence_points"] = 2
    report = validate_config(in_points)["report"]
    assert report["equivalence_points"] == 2 and "equivalence_examples" not in report
    both = copy.deepcopy(in_points)
    both["report"]["equivalence_examples"] = 1
    with pytest.raises(ConfigError, match="equivalence_examples and report.equivalence_points"):
        validate_config(both)


def test_the_overview_states_each_datasets_band_in_both_units(tmp_path):
    results = {}
    for dataset, n_val in (("small", 50), ("large", 200)):
        runs = _runs(TWO_UP, n_val, dataset)
        paths = {"comparisons": tmp_path / f"{dataset}-comparisons.csv", "summary": tmp_path / f"{dataset}-summary.csv"}
        write_table(tabulate.comparison_table(runs, baseline="baseline", resamples=200, seed=1, equivalence_points=2),
                    paths["comparisons"], "comparisons")
        write_table(tabulate.summary_table(runs, resamples=200, seed=1), paths["summary"], "summary")
        results[dataset] = paths
    plan = SimpleNamespace(studies={"article": SimpleNamespace(datasets=("small", "large"))})
    table = band_table(plan, {"article": results})
    assert table.columns == ["Dataset", "Protocol", "Rows scored", "Band (examples)", "Band (points)"]
    assert table.rows == [["small", "tail", "50 validation", "+/-1", "+/-2.00"],
                          ["large", "tail", "200 validation", "+/-4", "+/-2.00"]]
    assert band_table(SimpleNamespace(studies={}), {}) is None

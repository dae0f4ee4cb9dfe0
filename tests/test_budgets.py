"""The budget axis, training side: which variants a budget trains again and which it reads, the jobs that train
them, and what those jobs write (real training with both engines)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from conftest import REPO, load_repo_config
from schedbench import schedules as sched
from schedbench.config import ConfigError, validate_config
from schedbench.engines import run_engine
from schedbench.jobs import prepare_job, result_tables
from schedbench.plan import build_plan

DATA = REPO / "data" / "bundled" / "ionosphere.data"
EPOCHS = 20
FAMILIES = ["baseline", "adamw-constant", "adamw-cosine", "adamw-wsd", "schedule-free-adamw"]


def budget_config(budgets=(0.25, 0.5, 1.0), epochs=EPOCHS, **study) -> dict:
    config = copy.deepcopy(load_repo_config())
    config["training"].update(epochs=epochs, seeds_per_job=2)
    config["studies"] = {"budgets": {
        "datasets": ["ionosphere"], "protocols": ["heldout"], "schedules": list(FAMILIES),
        "grid": {"lr0": [0.003, 0.01]}, "seeds": [0, 1], "budgets": list(budgets), **study}}
    return config


@pytest.fixture(scope="module")
def plan():
    return build_plan(validate_config(budget_config()))


def test_budgets_retrain_the_schedules_that_need_the_runs_length_and_read_the_others(plan):
    study = plan.studies["budgets"]
    for budget in (0.25, 0.5):
        retrained = {v.family for v in study.trained_variants("ionosphere", "heldout", budget)}
        assert retrained == {"adamw-cosine", "adamw-wsd"}
    assert len(study.trained_variants("ionosphere", "heldout", 1.0)) == 2 * len(FAMILIES)
    assert study.jobs("ionosphere", "heldout") == ["seeds-0-1", "seeds-0-1.budget-0.25", "seeds-0-1.budget-0.5"]
    assert study.runs_per_job("ionosphere", "heldout", "seeds-0-1.budget-0.25") == 2 * 4
    full = plan.job_settings("budgets", "ionosphere", "heldout")
    short = plan.job_settings("budgets", "ionosphere", "heldout", 0.25)
    assert (full["training"]["epochs"], full["test_epochs"], full["budget"]) == (EPOCHS, [5, 10], 1.0)
    assert (short["training"]["epochs"], short["test_epochs"], short["budget"]) == (5, [], 0.25)
    assert [name for name, _, _ in short["variants"]] == [
        "adamw-cosine lr0=0.003", "adamw-cosine lr0=0.01", "adamw-wsd lr0=0.003", "adamw-wsd lr0=0.01"]


def test_a_budgets_epochs_are_its_fraction_rounded_half_up_at_least_one():
    # The catalogue's WSD warms up over 20 updates, more than a 1-epoch budget has: left out here.
    plan = build_plan(validate_config(budget_config(budgets=[0.03, 0.125, 0.5, 1.0],
                                                    schedules=["baseline", "adamw-constant", "adamw-cosine"])))
    assert [plan.job_settings("budgets", "ionosphere", "heldout", b)["training"]["epochs"]
            for b in (0.125, 0.5)] == [3, 10]  # 2.5 rounds up
    assert plan.job_settings("budgets", "ionosphere")["test_epochs"] == [1, 3, 10]


def test_a_study_without_budgets_has_one_job_per_chunk_and_no_test_epochs():
    config = validate_config(budget_config(budgets=[1.0]))
    plan = build_plan(config)
    assert plan.studies["budgets"].jobs("ionosphere", "heldout") == ["seeds-0-1"]
    assert plan.job_settings("budgets", "ionosphere")["test_epochs"] == []


@pytest.mark.parametrize("budgets, study, message", [
    ([0.25, 0.5], {}, r"studies.budgets.budgets: \[0.25, 0.5\] must ascend and end with 1.0"),
    ([0.5, 0.25, 1.0], {}, "must ascend"),
    ([0.1, 0.12, 1.0], {}, r"0.1 and 0.12 are all 2 epochs of the 20 of datasets.ionosphere \(each budget's epochs"),
    ([0.5, 1.0], {"grid": {}}, "a study with budgets tunes every family at each budget, so it needs a grid"),
])
def test_bad_budgets_are_refused_naming_the_key(budgets, study, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(budget_config(budgets=budgets, **study))


def test_a_warmup_too_long_for_the_shortest_budget_is_refused_before_training():
    # adamw-wsd warms up over 20 updates: at 0.05 of 20 epochs (1 epoch, 6 updates) it cannot fit.
    with pytest.raises(ConfigError, match=r"adamw-wsd.*warmup_steps: 20.*a run of 1 epochs on datasets.ionosphere"):
        validate_config(budget_config(budgets=[0.05, 1.0]))


@pytest.mark.parametrize("spec, free", [
    ({"type": "constant", "lr0": 0.1}, True),
    ({"type": "inverse_time", "lr0": 0.1, "decay": 0.01}, True),
    ({"type": "step", "lr0": 0.1, "drop": 0.5, "epochs_drop": 3}, True),
    ({"type": "cosine", "lr0": 0.1, "decay_steps": 40}, True),  # its own horizon, not the run's
    ({"type": "cosine", "lr0": 0.1}, False),
    ({"type": "polynomial", "lr0": 0.1, "end_lr": 0.0, "power": 1.0}, False),
    ({"type": "warmup_stable_decay", "lr0": 0.1, "warmup_steps": 4}, False),
    ({"type": "reduce_on_plateau", "lr0": 0.1}, True),
])
def test_horizon_free_is_whether_the_shorter_run_sees_the_same_rates(spec, free):
    assert sched.build_schedule("s", spec).horizon_free(20, 5, 6) is free


@pytest.mark.parametrize("spec, end", [
    ({"type": "cosine", "lr0": 0.1, "alpha": 0.1}, 0.01),
    ({"type": "polynomial", "lr0": 0.1, "end_lr": 0.002, "power": 1.0}, 0.002),
    ({"type": "warmup_stable_decay", "lr0": 0.1, "warmup_steps": 4, "final_ratio": 0.05}, 0.005),
])
def test_a_horizon_bound_schedule_reaches_its_end_value_with_its_budgets_last_update(spec, end):
    schedule = sched.build_schedule("s", spec)
    for budget_epochs in (5, 10, 20):
        updates = budget_epochs * 6
        rates = schedule.rates(budget_epochs, 6)
        # The last update's rate is one step short of the end value; the step after the budget is the end value.
        assert schedule.for_run(budget_epochs, 6)(updates) == pytest.approx(end, rel=1e-12)
        assert rates[-1] > end and rates[-1] - end < (0.1 - end) * 0.5
        assert np.all(np.diff(rates[np.argmax(rates):]) <= 0)  # past its peak it only decays


@pytest.fixture(scope="module")
def trained(plan):
    """{budget: runs table} of every job of the study, trained by the replica engine."""
    study = plan.studies["budgets"]
    out = {}
    for job in study.jobs("ionosphere", "heldout"):
        budget = study.job_budget(job)
        settings = plan.job_settings("budgets", "ionosphere", "heldout", budget)
        inputs = prepare_job(settings, "heldout", list(study.job_seeds(job)), DATA)
        out[budget], _ = result_tables(inputs, run_engine("replica", inputs), settings, "ionosphere", "heldout")
    return out


def _run(runs, schedule, seed):
    return runs[(runs["schedule"] == schedule) & (runs["seed"] == seed)].reset_index(drop=True)


def test_runs_say_the_budget_they_were_trained_for_and_end_there(trained):
    for budget, runs in trained.items():
        assert (runs["budget"] == budget).all()
        assert runs.groupby(["schedule", "seed"])["epoch"].max().eq(round(budget * EPOCHS)).all()
        finals = runs[runs["epoch"] == round(budget * EPOCHS)]
        assert finals["test_accuracy"].notna().all()


def test_a_budget_jobs_lr_column_is_its_schedule_with_the_horizon_at_the_budget(trained):
    for budget in (0.25, 0.5):
        epochs = round(budget * EPOCHS)
        for schedule_name, spec in (("adamw-cosine lr0=0.01", {"type": "cosine", "lr0": 0.01}),):
            lr = _run(trained[budget], schedule_name, 0)["lr"].to_numpy()
            expected = sched.build_schedule("s", {**spec, "per": "update"}).epoch_rates(epochs, 6)
            np.testing.assert_array_equal(lr, expected)
            full = _run(trained[1.0], schedule_name, 0)["lr"].to_numpy()[:epochs]
            assert lr[-1] < full[-1]  # decayed within the budget, not on the full run's clock


def test_the_full_run_is_scored_on_the_test_rows_at_each_shorter_budget(trained):
    full = trained[1.0]
    tested = full[full["test_accuracy"].notna()]
    assert set(tested["epoch"]) == {5, 10, 20}
    assert tested.groupby(["schedule", "seed"]).size().eq(3).all()
    # A schedule-free family is scored at x and at y at each of them.
    free = tested[tested["schedule"].str.startswith("schedule-free")]
    assert free["test_accuracy_at_y"].notna().all()


def test_a_horizon_free_budget_read_from_the_full_run_is_the_run_trained_for_that_budget(plan, trained):
    """Reading is exact: the full run's epoch-5 row is, bit for bit, a job trained for those 5 epochs."""
    settings = plan.job_settings("budgets", "ionosphere", "heldout")
    settings = {**settings, "training": {**settings["training"], "epochs": 5}, "test_epochs": []}
    inputs = prepare_job(settings, "heldout", [0, 1], DATA)
    short, _ = result_tables(inputs, run_engine("replica", inputs), settings, "ionosphere", "heldout")
    for schedule in ("baseline lr0=0.01", "adamw-constant lr0=0.003", "schedule-free-adamw lr0=0.01"):
        for seed in (0, 1):
            read = _run(trained[1.0], schedule, seed).iloc[:5]
            alone = _run(short, schedule, seed)
            for column in ("loss", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "test_accuracy_at_y"):
                np.testing.assert_array_equal(read[column].to_numpy(), alone[column].to_numpy(), err_msg=column)


def test_a_wsd_budgets_stable_part_is_the_full_runs(trained):
    """The budget's WSD run is the full run's until its cooldown starts (same bits), then cools down."""
    for budget in (0.25, 0.5):
        epochs = round(budget * EPOCHS)
        updates = epochs * 6
        schedule = sched.build_schedule("s", {"type": "warmup_stable_decay", "lr0": 0.01, "warmup_steps": 20})
        cooldown_from = updates - schedule.for_run(epochs, 6).phases()[2]  # its first cooling update
        stable_epochs = cooldown_from // 6  # the epochs that end before it
        assert stable_epochs >= 1
        short, full = _run(trained[budget], "adamw-wsd lr0=0.01", 0), _run(trained[1.0], "adamw-wsd lr0=0.01", 0)
        for column in ("loss", "accuracy", "val_loss", "val_accuracy"):
            np.testing.assert_array_equal(short[column][:stable_epochs], full[column][:stable_epochs])
        assert short["loss"][epochs - 1] != full["loss"][epochs - 1]


@pytest.mark.slow
def test_keras_scores_the_test_rows_after_a_budgets_epoch_as_a_run_of_that_length():
    spec = {"type": "constant", "lr0": 0.01, "optimizer": {"name": "schedule_free_adamw", "warmup_steps": 5}}
    config = budget_config()
    config["schedules"]["free"] = spec
    config["studies"]["budgets"].update(schedules=["baseline", "free"], grid={"lr0": [0.01]}, seeds=[3],
                                        budgets=[1.0])
    plan = build_plan(validate_config(config))
    base = plan.job_settings("budgets", "ionosphere", "heldout")
    base = {**base, "variants": [v for v in base["variants"] if v[1] == "free"]}
    long = {**base, "training": {**base["training"], "epochs": 6}, "test_epochs": [3]}
    short = {**base, "training": {**base["training"], "epochs": 3}}
    results = {}
    for name, settings in (("long", long), ("short", short)):
        for engine in ("keras", "replica"):
            inputs = prepare_job(settings, "heldout", [3], DATA, threads=1)
            results[name, engine] = result_tables(inputs, run_engine(engine, inputs), settings, "ionosphere",
                                                  "heldout")[0]
    columns = ["test_loss", "test_accuracy", "test_loss_at_y", "test_accuracy_at_y"]
    for engine in ("keras", "replica"):
        at_3 = results["long", engine].loc[2, columns].to_numpy(dtype=float)
        np.testing.assert_allclose(at_3, results["short", engine].loc[2, columns].to_numpy(dtype=float), atol=1e-6)
    np.testing.assert_allclose(results["long", "keras"].loc[2, columns].to_numpy(dtype=float),
                               results["long", "replica"].loc[2, columns].to_numpy(dtype=float), atol=1e-5)


def test_each_familys_wall_time_is_its_share_of_the_jobs_that_trained_it(plan, tmp_path):
    from schedbench.report.render import family_wall_seconds

    def job(name, seconds):
        path = tmp_path / "logs/benchmarks/train/budgets/ionosphere/heldout" / f"{name}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:01\t100\n")
        return path, 0

    benchmarks = [job("seeds-0-1", 100.0), job("seeds-0-1.budget-0.25", 8.0), job("seeds-0-1.budget-0.5", 16.0)]
    seconds = family_wall_seconds(plan, "budgets", "ionosphere", "heldout", benchmarks)
    # The full run's 10 variants share 100 s (2 per family); each budget job's 4 share its seconds (2 per family).
    assert seconds == pytest.approx({"baseline": 20.0, "adamw-constant": 20.0, "adamw-cosine": 32.0,
                                     "adamw-wsd": 32.0, "schedule-free-adamw": 20.0})
    assert family_wall_seconds(plan, "budgets", "ionosphere", "tail", benchmarks) == {}


@pytest.mark.parametrize("name", ["budgets", "suite", "report"])
def test_a_dataset_named_as_a_workflow_output_folder_is_refused(name):
    config = budget_config()
    config["datasets"][name] = copy.deepcopy(config["datasets"]["ionosphere"])
    with pytest.raises(ConfigError, match="'suite', 'report' and 'budgets' name the workflow's own outputs"):
        validate_config(config)

"""Tests of the budget axis' statistics (schedbench.stats.budgets, schedbench.stats.budget_tables) on hand-made runs
tables: a horizon-bound family trained again at budget 0.5, a horizon-free one read from its full run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from schedbench import tables
from schedbench.runs import final_epoch
from schedbench.stats import budget_tables as BT
from schedbench.stats import budgets as B
from schedbench.stats import studies as S
from schedbench.stats.estimators import median_interval

R = 1000  # small resample count: the tests stay fast
PARAMS = ["lr0"]
N_VAL, N_TEST, EPOCHS, PER_EPOCH = 10, 20, 4, 6
SEEDS = (0, 1, 2)
# (family, lr0) -> {budget: (correct validation examples by epoch, {epoch: correct test examples})}. "cos" is
# horizon-bound: trained again for budget 0.5 (2 epochs). "const" is horizon-free: its full run carries the test
# metrics of the model at epoch 2 as well as at its last epoch. Seed s adds s to every test count.
HISTORIES = {
    ("cos", 0.1): {1.0: ([3, 5, 7, 9], {4: 16}), 0.5: ([3, 6], {2: 12})},
    ("cos", 0.3): {1.0: ([4, 6, 7, 8], {4: 15}), 0.5: ([5, 7], {2: 13})},
    ("const", 0.1): {1.0: ([2, 5, 6, 8], {2: 11, 4: 15})},
    ("const", 0.3): {1.0: ([4, 6, 6, 7], {2: 12, 4: 14})},
}
REPORT = {"confidence": 0.95, "bootstrap_resamples": R, "rng_seed": 1, "equivalence_examples": 1,
          "equivalence_points": None, "equivalence_min_seeds": 29, "target_fraction": 0.95, "baseline": "const"}


def history_rows(family, lr0, seed, budget, correct, tested, protocol="heldout", dataset="d"):
    rows = []
    for epoch, k in enumerate(correct, start=1):
        test = tested.get(epoch)
        rows.append({
            "dataset": dataset, "protocol": protocol, "family": family, "lr0": lr0, "schedule": f"{family} lr0={lr0}",
            "seed": seed, "budget": budget, "epoch": epoch, "lr": lr0, "loss": 0.5, "accuracy": 0.7,
            "val_loss": 1.0 - k / 20, "val_accuracy": k / N_VAL,
            "test_loss": math.nan if test is None else 0.4,
            "test_accuracy": math.nan if test is None else (test + seed) / N_TEST,
            "diverged": False, "n_val": N_VAL, "n_test": N_TEST, "optimizer": "sgd",
        })
    return rows


def make_runs(histories=HISTORIES, seeds=SEEDS) -> pd.DataFrame:
    """A runs table as the aggregate rule sorts it: schedules in config order, then budget, seed, epoch."""
    rows = []
    for (family, lr0), by_budget in histories.items():
        for budget in sorted(by_budget):
            for seed in seeds:
                rows += history_rows(family, lr0, seed, budget, *by_budget[budget])
    return pd.DataFrame(rows, columns=tables.declared_columns("runs", PARAMS, ["optimizer"]))


def full_row(runs, schedule, seed, epoch):
    at = runs[(runs.schedule == schedule) & (runs.seed == seed) & (runs.budget == 1.0) & (runs.epoch == epoch)]
    assert len(at) == 1
    return at.iloc[0]


# --------------------------------------------------------------------------------------------------
# the view
# --------------------------------------------------------------------------------------------------
def test_the_view_takes_trained_runs_and_reads_the_rest_from_the_full_runs():
    runs = make_runs()
    with pytest.raises(ValueError, match="duplicated"):
        final_epoch(runs)  # a budget study's runs table is not one run per key
    view = B.budget_view(runs, 0.5)
    assert list(view.columns) == [*runs.columns, "obtained"]
    by_schedule = view.groupby("schedule", sort=False)
    assert dict(by_schedule["obtained"].unique().map(list)) == {
        "cos lr0=0.1": ["trained"], "cos lr0=0.3": ["trained"], "const lr0=0.1": ["read"], "const lr0=0.3": ["read"]}
    assert (view["budget"] == 0.5).all() and view["epoch"].max() == 2 and len(view) == 4 * 3 * 2
    cos = view[view.schedule == "cos lr0=0.3"]
    assert list(cos.val_accuracy[cos.seed == 0]) == [0.5, 0.7]  # the budget-0.5 run, not the full run's 0.4, 0.6
    assert (runs.loc[cos.index, "budget"] == 0.5).all()
    const = view[view.schedule == "const lr0=0.1"]
    assert (runs.loc[const.index, "budget"] == 1.0).all() and list(const.epoch[const.seed == 1]) == [1, 2]
    final = final_epoch(view)  # an ordinary runs table
    assert len(final) == 12 and list(pd.unique(final.schedule)) == list(pd.unique(runs.schedule))
    last = final.set_index(["schedule", "seed"])
    assert last.loc[("const lr0=0.3", 2), "test_accuracy"] == (12 + 2) / N_TEST  # the full run's epoch-2 row
    assert last.loc[("cos lr0=0.1", 1), "test_accuracy"] == (12 + 1) / N_TEST
    assert (final["obtained"] == np.where(final.family == "cos", "trained", "read")).all()


def test_the_full_view_is_the_full_runs_all_trained():
    runs = make_runs()
    view = B.budget_view(runs, 1.0)
    assert list(view.index) == list(runs.index[runs.budget == 1.0])
    assert (view["obtained"] == "trained").all() and view["epoch"].max() == EPOCHS
    # Budget 0.25 (one epoch), for which nothing was trained: every run read from its full run, where it carries
    # test scores at epoch 1; the horizon-bound cos, which would need its own runs, is refused.
    scored = runs.assign(test_accuracy=np.where(runs.epoch == 1, 0.5, runs.test_accuracy))
    one = B.budget_view(scored, 0.25)
    assert (one["epoch"] == 1).all() and (one["obtained"] == "read").all() and len(one) == 12
    with pytest.raises(ValueError, match=r"'cos lr0=0.1' \(d, heldout, seed 0\) has no run of budget 0.25 and its "
                                         r"full run no test score at epoch 1 \(12 runs like it\)"):
        B.budget_view(runs, 0.25)
    diverged = runs.assign(diverged=True)  # a diverged run may lack a score: read as it is
    assert len(B.budget_view(diverged, 0.25)) == 12


def test_the_view_refuses_an_incomplete_budget():
    runs = make_runs()
    missing = runs[~((runs.schedule == "cos lr0=0.1") & (runs.budget == 0.5) & (runs.seed == 2))]
    with pytest.raises(ValueError, match=r"'cos lr0=0.1'.*budget 0.5.*seed 2"):
        B.budget_view(missing, 0.5)
    short = runs[~((runs.schedule == "cos lr0=0.3") & (runs.budget == 0.5) & (runs.epoch == 2))]
    with pytest.raises(ValueError, match="ends at epoch 1, not at 2"):
        B.budget_view(short, 0.5)
    with pytest.raises(ValueError, match="no budget column"):
        B.budget_view(runs.drop(columns="budget"), 1.0)
    with pytest.raises(ValueError, match=r"budget 1.5: a budget is a fraction of the run, within \(0, 1\]"):
        B.budget_view(runs, 1.5)


def test_tuning_tables_read_the_full_runs_only():
    runs = make_runs()
    full = runs[runs.budget == 1.0].reset_index(drop=True)
    with_budgets = S.tuning_tables(runs, REPORT)
    without = S.tuning_tables(full, REPORT)
    for name in tables.TUNING_TABLES:
        pd.testing.assert_frame_equal(with_budgets[name], without[name])
    # As the tables were made before budgets: from the final epoch of the full runs.
    pd.testing.assert_frame_equal(without["tuned"], S.select_tuned(final_epoch(full), PARAMS))
    assert list(without["tuned"].schedule[without["tuned"].family == "cos"]) == ["cos lr0=0.1"] * 3


# --------------------------------------------------------------------------------------------------
# the budgets table
# --------------------------------------------------------------------------------------------------
def budgets_of(runs=None, target=0.7, budgets=(0.5, 1.0)):
    runs = make_runs() if runs is None else runs
    return BT.budget_table(runs, budgets, updates_per_epoch={"heldout": PER_EPOCH}, targets={("d", "heldout"): target})


def test_each_budget_is_tuned_on_validation_at_its_last_epoch():
    table = budgets_of()
    assert tuple(table.columns) == tables.declared_columns("budgets", PARAMS)
    assert list(zip(table.family, table.budget, table.seed))[:6] == [
        ("cos", 0.5, 0), ("cos", 0.5, 1), ("cos", 0.5, 2), ("cos", 1.0, 0), ("cos", 1.0, 1), ("cos", 1.0, 2)]
    chosen = table.groupby(["family", "budget"], sort=False)["schedule"].unique().map(list).to_dict()
    # cos: 7 > 6 correct at budget 0.5 (its budget runs), 9 > 8 at the full run's end; const: 6 > 5 at epoch 2
    # of its full runs, 8 > 7 at epoch 4.
    assert chosen == {("cos", 0.5): ["cos lr0=0.3"], ("cos", 1.0): ["cos lr0=0.1"],
                      ("const", 0.5): ["const lr0=0.3"], ("const", 1.0): ["const lr0=0.1"]}
    row = table[(table.family == "cos") & (table.budget == 0.5) & (table.seed == 1)].iloc[0]
    assert (row.lr0, row.val_accuracy, row.test_accuracy) == (0.3, 0.7, (13 + 1) / N_TEST)
    assert (row.epochs, row.updates, row.obtained) == (2, 2 * PER_EPOCH, "trained")
    for column in ("seed", "epochs", "updates", "n_val", "n_test"):
        assert table[column].dtype == np.int64


def test_a_horizon_free_familys_budget_result_is_its_full_runs_row_at_that_epoch():
    runs = make_runs()
    table = budgets_of(runs)
    read = table[(table.family == "const") & (table.budget == 0.5)]
    assert (read.obtained == "read").all() and (read.epochs == 2).all()
    for _, row in read.iterrows():
        source = full_row(runs, row.schedule, row.seed, 2)
        assert (row.val_accuracy, row.val_loss, row.test_accuracy) == (
            source.val_accuracy, source.val_loss, source.test_accuracy)
        assert row.n_test == source.n_test


def test_updates_to_target_is_the_first_epoch_end_reaching_it_within_the_budget():
    table = budgets_of(target=0.7).set_index(["family", "budget", "seed"])
    # cos at 1.0 (3, 5, 7, 9 correct): epoch 3 reaches 0.7, 3 x 6 updates; at 0.5 its budget run (5, 7): epoch 2.
    assert table.loc[("cos", 1.0, 0), "updates_to_target"] == 3 * PER_EPOCH
    assert table.loc[("cos", 0.5, 2), "updates_to_target"] == 2 * PER_EPOCH
    # const at 0.5 reads 4, 6 of a run that reaches 7 only at epoch 4: not within the budget.
    assert table.loc[("const", 0.5, 0), "updates_to_target"] == math.inf
    assert table.loc[("const", 1.0, 0), "updates_to_target"] == 4 * PER_EPOCH
    assert (table["target_accuracy"] == 0.7).all()
    never = budgets_of(target=1.0)
    assert np.isinf(never["updates_to_target"]).all()


def test_the_target_is_the_configured_one_or_a_fraction_of_the_best_median_tuned_accuracy():
    runs = make_runs()
    tuned = S.select_tuned(final_epoch(B.budget_view(runs, 1.0)), PARAMS)
    # Tuned medians at 1.0: cos 0.9, const 0.8.
    assert B.target_accuracies(tuned, configured=None, fraction=0.95) == {("d", "heldout"): pytest.approx(0.855)}
    assert B.target_accuracies(tuned, configured=0.6, fraction=0.95) == {("d", "heldout"): 0.6}
    built = BT.budget_tables(runs, REPORT, budgets=[1.0, 0.5], updates_per_epoch={"heldout": PER_EPOCH},
                             target_accuracy=None)["budgets"]
    assert built["target_accuracy"].to_numpy() == pytest.approx(0.855)
    # Only cos's full choice (9 of 10) reaches 0.855, at epoch 4.
    reached = built[np.isfinite(built.updates_to_target)]
    assert set(zip(reached.family, reached.budget)) == {("cos", 1.0)}
    assert (reached.updates_to_target == 4 * PER_EPOCH).all()


# --------------------------------------------------------------------------------------------------
# the summary and the comparisons
# --------------------------------------------------------------------------------------------------
def hand_budgets(by_family: dict[tuple[str, float], list[tuple[int, float]]], obtained=None) -> pd.DataFrame:
    """A budgets table: per (family, budget), per seed (position) (test correct of N_TEST, updates_to_target)."""
    rows = []
    for (family, budget), picks in by_family.items():
        for seed, (test_correct, to_target) in enumerate(picks):
            rows.append({
                "dataset": "d", "protocol": "heldout", "family": family, "lr0": 0.1,
                "schedule": f"{family} v{seed % 2}",
                "seed": seed, "budget": budget, "epochs": round(budget * EPOCHS),
                "updates": round(budget * EPOCHS) * PER_EPOCH,
                "obtained": (obtained or {}).get(family, "trained"), "diverged": False, "val_accuracy": 0.8,
                "val_loss": 0.3, "test_accuracy": test_correct / N_TEST, "n_val": N_VAL, "n_test": N_TEST,
                "target_accuracy": 0.7, "updates_to_target": to_target,
            })
    return tables.typed_frame(rows, tables.declared_columns("budgets", PARAMS), PARAMS)


def summary_of(table, trained=None):
    return BT.budget_summary_table(table, trained=trained or {}, confidence=0.95, resamples=R, seed=1)


def test_the_summary_gives_the_median_updates_to_target_with_an_interval_that_takes_inf():
    inf = math.inf
    to_target = [6.0, 12.0, 12.0, 18.0, 24.0, inf, inf]
    table = hand_budgets({("cos", 1.0): [(15, t) for t in to_target],
                          ("const", 1.0): [(14, inf)] * 7,
                          ("const", 0.5): [(12, 12.0)] * 3}, obtained={"const": "read"})
    summary = summary_of(table, trained={("d", "heldout", "cos", 1.0): 2, ("d", "heldout", "const", 1.0): 2})
    assert tuple(summary.columns) == tables.BUDGET_SUMMARY_COLUMNS
    cos = summary.iloc[0]
    assert (cos.n_seeds, cos.reached_target, cos.updates_to_target_median) == (7, 5, 18.0)
    expected = stats.quantile_test(np.array(to_target), q=0, p=0.5).confidence_interval(0.95)
    assert (cos.updates_to_target_ci_low, cos.updates_to_target_ci_high) == (expected.low, expected.high) == (6, inf)
    never = summary.iloc[1]
    assert never.reached_target == 0 and never.updates_to_target_median == inf
    assert never.updates_to_target_ci_low == inf
    few = summary.iloc[2]  # three seeds cannot cover the median at 95 %: no interval
    assert few.updates_to_target_median == 12.0 and math.isnan(few.updates_to_target_ci_low)
    # Trained: 2 variants x 4 epochs x 6 updates; read at 0.5: nothing trained for it.
    assert list(summary.training_updates) == [2 * 24, 2 * 24, 0]
    assert list(summary.obtained) == ["trained", "read", "read"]
    assert cos.test_accuracy_ci_low <= cos.test_accuracy_mean <= cos.test_accuracy_ci_high


def test_the_best_family_per_budget_is_the_highest_mean_ties_to_study_order():
    table = hand_budgets({
        ("a", 0.5): [(12, 1.0), (13, 1.0), (14, 1.0)], ("a", 1.0): [(16, 1.0), (16, 1.0), (17, 1.0)],
        ("b", 0.5): [(14, 1.0), (14, 1.0), (15, 1.0)], ("b", 1.0): [(15, 1.0), (17, 1.0), (17, 1.0)],
        ("c", 0.5): [(10, 1.0)] * 3, ("c", 1.0): [(15, 1.0)] * 3,
    })
    summary = summary_of(table)
    best = summary[summary.best]
    # 0.5: b (43 > 39 of 60); 1.0: a and b tie at 49 of 60: a, first in the study's order.
    assert list(zip(best.budget, best.family)) == [(1.0, "a"), (0.5, "b")]
    assert summary.groupby("budget")["best"].sum().to_dict() == {0.5: 1, 1.0: 1}


def test_the_comparisons_set_every_family_against_the_best_at_each_budget():
    table = hand_budgets({(family, budget): [(k, 1.0) for k in counts] for (family, budget), counts in {
        ("a", 0.5): [12, 13, 14, 12], ("a", 1.0): [18, 18, 19, 18],
        ("b", 0.5): [15, 15, 16, 15], ("b", 1.0): [16, 17, 17, 16],
        ("c", 0.5): [11] * 4, ("c", 1.0): [15] * 4,
    }.items()})
    summary = summary_of(table)
    rule = dict(confidence=0.95, resamples=R, seed=1, equivalence_examples=1, equivalence_min_seeds=29)
    compared = BT.budget_comparison_table(table, summary, **rule)
    assert tuple(compared.columns) == tables.BUDGET_COMPARISON_COLUMNS
    # Only the rows against the best: no pair of the others, one Holm family of two per budget.
    assert list(zip(compared.budget, compared.a, compared.b)) == [(0.5, "a", "b"), (0.5, "c", "b"), (1.0, "b", "a"),
                                                                   (1.0, "c", "a")]
    assert compared.vs_baseline.all() and list(compared.family_size) == [2, 2, 2, 2]
    first = compared.iloc[0]  # a - b at 0.5: -3, -2, -2, -3 test examples
    assert first.mean_diff_examples == pytest.approx(-2.5) and first.losses == 4
    # The same numbers as the tuned comparisons of that budget's choices with the best as baseline.
    at_half = table[table.budget == 0.5]
    reference = S.tuned_comparison_table(at_half, baseline="b", **rule)
    reference = reference[reference.vs_baseline].reset_index(drop=True)
    pd.testing.assert_frame_equal(compared[compared.budget == 0.5].drop(columns="budget").reset_index(drop=True),
                                  reference)


def test_the_budget_tables_write_and_read_back(tmp_path):
    built = BT.budget_tables(make_runs(), REPORT, budgets=[0.5, 1.0], updates_per_epoch={"heldout": PER_EPOCH},
                             target_accuracy=0.7)
    assert tuple(built) == tables.BUDGET_TABLES
    for name, table in built.items():
        tables.write_table(table, tmp_path / f"{name}.csv", name)
        back = tables.read_table(tmp_path / f"{name}.csv", name)
        pd.testing.assert_frame_equal(back, table, check_dtype=False)
    summary = built["budget_summary"].set_index(["family", "budget"])
    assert summary.loc[("const", 0.5), "training_updates"] == 0
    assert summary.loc[("cos", 0.5), "training_updates"] == 2 * 2 * PER_EPOCH
    assert summary.loc[("cos", 1.0), "training_updates"] == 2 * 4 * PER_EPOCH
    assert summary.loc[("const", 0.5), "updates_to_target_median"] == math.inf
    with pytest.raises(ValueError, match="updates per epoch"):
        BT.budget_tables(make_runs(), REPORT, budgets=[0.5, 1.0], updates_per_epoch={}, target_accuracy=0.7)
    with pytest.raises(ValueError, match="lack 1.0"):
        BT.budget_tables(make_runs(), REPORT, budgets=[0.5], updates_per_epoch={"heldout": 6}, target_accuracy=0.7)


# --------------------------------------------------------------------------------------------------
# across datasets
# --------------------------------------------------------------------------------------------------
def summaries(rows: list[tuple]) -> pd.DataFrame:
    """Budget summary rows (dataset, family, budget, updates_to_target_median, obtained, best, test mean)."""
    return pd.DataFrame([{
        "dataset": d, "protocol": "heldout", "family": f, "budget": b, "updates_to_target_median": m, "obtained": o,
        "best": best, "test_accuracy_mean": mean, "test_accuracy_ci_low": mean - 0.05,
        "test_accuracy_ci_high": mean + 0.05,
    } for d, f, b, m, o, best, mean in rows])


INF = math.inf
PROBLEMS = summaries([
    ("d1", "A", 0.5, 12.0, "trained", False, 0.7), ("d1", "F", 0.5, 24.0, "read", True, 0.75),
    ("d1", "A", 1.0, 30.0, "trained", True, 0.8), ("d1", "F", 1.0, 20.0, "trained", False, 0.7),
    ("d2", "A", 0.5, INF, "trained", True, 0.6), ("d2", "F", 0.5, INF, "trained", False, 0.5),
    ("d2", "A", 1.0, 10.0, "trained", False, 0.6), ("d2", "F", 1.0, INF, "trained", True, 0.65),
])


def test_time_to_target_profiles_over_dataset_and_budget_problems():
    profiles = B.time_to_target_profile_table(PROBLEMS, taus=(1.0, 1.5, 2.0, 4.0))
    assert tuple(profiles.columns) == tables.TIME_TO_TARGET_PROFILE_COLUMNS
    # (d2, 0.5): nobody reached the target, left out. Ratios: A 1, 1.5, 1; F 2, 1, inf.
    assert (profiles.n_problems == 3).all()
    fraction = profiles.set_index(["family", "tau"])["fraction"]
    assert [fraction[("A", t)] for t in (1.0, 1.5, 2.0, 4.0)] == pytest.approx([2 / 3, 1, 1, 1])
    assert [fraction[("F", t)] for t in (1.0, 1.5, 2.0, 4.0)] == pytest.approx([1 / 3, 1 / 3, 2 / 3, 2 / 3])
    unreached = B.time_to_target_profile_table(PROBLEMS.assign(updates_to_target_median=INF))
    assert (unreached.n_problems == 0).all() and unreached.fraction.isna().all()


def test_best_by_budget_says_whether_each_horizon_free_family_is_practically_equivalent_to_the_best():
    comparisons = pd.DataFrame([
        {"dataset": "d1", "protocol": "heldout", "budget": 0.5, "a": "A", "b": "F", "decision": "worse"},
        {"dataset": "d1", "protocol": "heldout", "budget": 1.0, "a": "F", "b": "A", "decision": "worse, negligible"},
        {"dataset": "d2", "protocol": "heldout", "budget": 1.0, "a": "A", "b": "F", "decision": "equivalent"},
    ])
    table = B.best_by_budget_table(PROBLEMS, comparisons)
    assert tuple(table.columns) == tables.BEST_BY_BUDGET_COLUMNS
    rows = list(zip(table.dataset, table.budget, table.best_family, table.family, table.decision,
                    table.practically_equivalent))
    # F is read at d1's budget 0.5: horizon-free there, at every budget of d1; d2 has no horizon-free family.
    assert rows == [
        ("d1", 0.5, "F", "F", "", True),
        ("d1", 1.0, "A", "F", "worse, negligible", True),
        ("d2", 0.5, "A", "", "", False),
        ("d2", 1.0, "F", "", "", False),
    ]
    assert table.test_accuracy_mean.tolist() == [0.75, 0.8, 0.6, 0.65]
    worse = comparisons.assign(decision=["worse", "worse", "equivalent"])
    assert not B.best_by_budget_table(PROBLEMS, worse).practically_equivalent.iloc[1]


def test_median_interval_takes_inf_and_needs_enough_seeds():
    assert median_interval([1, 2, 3, 4, 5, 6, INF, INF, INF, INF, INF, INF]) == (3.0, INF)
    assert median_interval(list(range(10))) == (1.0, 8.0)
    low, high = median_interval([5.0, 6.0, 7.0])
    assert math.isnan(low) and math.isnan(high)

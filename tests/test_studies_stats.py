"""Tests of schedbench.stats.studies: attribution, sensitivity and tuning tables on hand-made per-run frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from schedbench import tables
from schedbench.runs import final_epoch
from schedbench.stats import estimators as E
from schedbench.stats import significance as G
from schedbench.stats import studies as S
from schedbench.stats import tabulate as T
from schedbench.studies import SELECTION_RULE

R = 1000  # small resample count: the tests stay fast
PARAMS = ["lr0", "momentum"]


def per_run(rows: list[dict], n_val: int = 10, n_test: int = 20) -> pd.DataFrame:
    """A per-run frame as final_epoch gives it, from rows holding at least schedule, seed and correct (counts
    out of n_val); test_correct (out of n_test) gives the test accuracy, none gives NaN."""
    out = []
    for row in rows:
        row = {"dataset": "d", "protocol": "tail", "family": row["schedule"], "lr0": math.nan, "momentum": 0.9,
               "val_loss": 0.5, **row}
        test_correct = row.pop("test_correct", math.nan)
        out.append({
            **row, "accuracy": row["correct"] / n_val, "n_val": n_val, "test_loss": 0.4,
            "test_accuracy": test_correct / n_test, "n_test": n_test, "test_correct": test_correct,
            "best_accuracy": row["correct"] / n_val, "diverged": False, "first_diverged_epoch": math.nan,
            "epochs_to_target": math.inf,
        })
    frame = pd.DataFrame(out)
    frame["correct"] = frame["correct"].astype(np.int64)
    return frame


def runs_of(counts: dict[str, list[int]], **fixed) -> list[dict]:
    """Rows {schedule, seed, correct} of each schedule's counts by seed (seed = position)."""
    return [{"schedule": schedule, "seed": seed, "correct": k, **fixed}
            for schedule, ks in counts.items() for seed, k in enumerate(ks)]


# --------------------------------------------------------------------------------------------------
# attribution
# --------------------------------------------------------------------------------------------------
ATTRIBUTION_COUNTS = {
    "base": [5, 6, 7, 8],
    "ctl": [6, 6, 8, 8],  # base's formula with sched's momentum
    "sched": [7, 8, 8, 9],
    "plain": [6, 7, 7, 9],  # the baseline's own settings: its control is the baseline
}


def attribution(rows, pairs=(("sched", "ctl"), ("plain", "base"))):
    return S.attribution_table(per_run(rows), list(pairs), baseline="base", resamples=R, seed=7)


def test_attribution_hand_case():
    table = attribution(runs_of(ATTRIBUTION_COUNTS))
    assert tuple(table.columns) == tables.ATTRIBUTION_COLUMNS
    assert table["n_pairs"].dtype == np.int64 and table["n_val"].dtype == np.int64
    row = table.set_index("schedule").loc["sched"]
    assert (row.control, row.baseline, row.n_pairs, row.n_val) == ("ctl", "base", 4, 10)
    # total 2, 2, 1, 1; optimizer 1, 0, 1, 0; schedule 1, 2, 0, 1 examples of 10
    assert row.total_diff == pytest.approx(0.15)
    assert row.optimizer_diff == pytest.approx(0.05)
    assert row.schedule_diff == pytest.approx(0.10)
    assert row.p_schedule_better == pytest.approx(0.875)  # 3 wins, 1 tie
    lo, hi = E.prob_improvement_ci([7, 8, 8, 9], [6, 6, 8, 8])
    assert (row.p_schedule_better_ci_low, row.p_schedule_better_ci_high) == (lo, hi)
    assert row.p_schedule == pytest.approx(0.25)  # |d| 1, 2, 1 all positive: 2 / 2**3
    assert row.p_optimizer == pytest.approx(0.5)  # |d| 1, 1 both positive: 2 / 2**2
    for part in ("total", "optimizer", "schedule"):
        assert row[f"{part}_diff_ci_low"] <= row[f"{part}_diff"] <= row[f"{part}_diff_ci_high"]
    low, high = E.bootstrap_ci([7, 8, 8, 9], [6, 6, 8, 8], paired=True, resamples=R, seed=7)
    assert (row.schedule_diff_ci_low, row.schedule_diff_ci_high) == (low / 10, high / 10)


def test_attribution_parts_add_up():
    rng = np.random.default_rng(3)
    counts = {name: list(rng.integers(80, 117, size=30)) for name in ("base", "ctl", "sched")}
    frame = per_run(runs_of(counts), n_val=116)
    row = S.attribution_table(frame, [("sched", "ctl")], baseline="base", resamples=R, seed=1).iloc[0]
    k = {name: np.array(ks) for name, ks in counts.items()}
    total, optimizer, schedule = k["sched"] - k["base"], k["ctl"] - k["base"], k["sched"] - k["ctl"]
    assert np.array_equal(total, optimizer + schedule)  # per seed, exactly
    assert row.total_diff == pytest.approx(row.optimizer_diff + row.schedule_diff, abs=1e-12)
    assert row.total_diff == pytest.approx(total.mean() / 116, abs=1e-12)


def test_attribution_control_equal_to_baseline():
    row = attribution(runs_of(ATTRIBUTION_COUNTS)).set_index("schedule").loc["plain"]
    assert row.control == "base"
    assert (row.optimizer_diff, row.optimizer_diff_ci_low, row.optimizer_diff_ci_high) == (0.0, 0.0, 0.0)
    assert row.p_optimizer == 1.0
    assert row.schedule_diff == row.total_diff == pytest.approx(0.075)  # 1, 1, 0, 1
    assert (row.schedule_diff_ci_low, row.schedule_diff_ci_high) == (row.total_diff_ci_low, row.total_diff_ci_high)


def test_attribution_holm_within_a_group_and_skipped_rows():
    tail = runs_of(ATTRIBUTION_COUNTS)
    # under resplit the control 'ctl' has no run: its pair is skipped there; seed 4 of 'plain' has no partner
    resplit = runs_of({name: ks for name, ks in ATTRIBUTION_COUNTS.items() if name != "ctl"}, protocol="resplit")
    resplit.append({"schedule": "plain", "seed": 4, "correct": 3, "protocol": "resplit"})
    table = attribution(resplit + tail)
    assert list(zip(table.protocol, table.schedule)) == [("resplit", "plain"), ("tail", "sched"), ("tail", "plain")]
    one = table.iloc[0]
    assert one.n_pairs == 4
    assert one.p_schedule_holm == one.p_schedule and one.p_optimizer_holm == one.p_optimizer  # a family of one
    both = table[table.protocol == "tail"]
    for part in ("schedule", "optimizer"):
        np.testing.assert_array_equal(both[f"p_{part}_holm"], G.holm(both[f"p_{part}"]))
    assert both.set_index("schedule").loc["sched", "p_optimizer_holm"] == pytest.approx(1.0)  # 0.5 * 2
    # Schedules sharing a control share one optimizer test: Holm counts it once.
    shared = runs_of({**ATTRIBUTION_COUNTS, "other": [8, 8, 9, 9]})
    table = attribution(shared, pairs=(("sched", "ctl"), ("other", "ctl"), ("plain", "base"))).set_index("schedule")
    assert table.loc["sched", "p_optimizer_holm"] == table.loc["other", "p_optimizer_holm"]
    np.testing.assert_allclose(table.loc[["sched", "plain"], "p_optimizer_holm"],
                               G.holm(table.loc[["sched", "plain"], "p_optimizer"]))
    np.testing.assert_allclose(table["p_schedule_holm"], G.holm(table["p_schedule"]))
    # no group has the baseline: no rows, the declared columns still
    empty = attribution(runs_of({"sched": [1, 2], "ctl": [1, 1]}))
    assert empty.empty and tuple(empty.columns) == tables.ATTRIBUTION_COLUMNS


# --------------------------------------------------------------------------------------------------
# sensitivity
# --------------------------------------------------------------------------------------------------
def test_sensitivity_hand_case():
    rows = [
        *runs_of({"cos lr0=0.1": [5, 6, 8, 9]}, family="cos", lr0=0.1, test_correct=10),
        *runs_of({"cos lr0=0.3": [7, 7, 7, 7]}, family="cos", lr0=0.3),  # no test split: NaN
    ]
    table = S.sensitivity_table(per_run(rows), PARAMS, tie_examples=0)
    assert tuple(table.columns) == tables.declared_columns("sensitivity", PARAMS)
    assert list(table.schedule) == ["cos lr0=0.1", "cos lr0=0.3"]
    assert list(table.family) == ["cos", "cos"] and list(table.lr0) == [0.1, 0.3] and list(table.momentum) == [0.9] * 2
    assert table["n_seeds"].dtype == np.int64 and list(table.n_seeds) == [4, 4]
    first = table.iloc[0]  # accuracies 0.5, 0.6, 0.8, 0.9
    assert first.val_accuracy_mean == pytest.approx(0.7)
    assert first.val_accuracy_median == pytest.approx(0.7)
    assert first.val_accuracy_q25 == pytest.approx(0.575)  # 0.5 + 0.75 * 0.1
    assert first.val_accuracy_q75 == pytest.approx(0.825)  # 0.8 + 0.25 * 0.1
    assert (first.test_accuracy_mean, first.test_accuracy_q25, first.test_accuracy_q75) == (0.5, 0.5, 0.5)
    second = table.iloc[1]
    assert second.val_accuracy_q25 == second.val_accuracy_q75 == pytest.approx(0.7)
    assert all(math.isnan(second[f"test_accuracy_{s}"]) for s in ("mean", "median", "q25", "q75"))


def grid_runs(family: str, counts: dict[float, list[int]], momentum: float = 0.9) -> list[dict]:
    """A family's runs over an lr0 grid: {lr0: correct counts by seed} (out of 10)."""
    return [row for lr0, ks in counts.items()
            for row in runs_of({f"{family} lr0={lr0:g} m={momentum:g}": ks}, family=family, lr0=lr0,
                               momentum=momentum)]


def best_of(table, family, momentum=0.9):
    line = table[(table.family == family) & (table.momentum == momentum)]
    return list(line.loc[line.best, "lr0"]), list(line.loc[line.at_edge, "lr0"])


def test_sensitivity_keeps_a_flat_stretch_whole_and_flags_an_edge_optimum():
    rows = [
        # medians 7, 9, 9, 9, 6: a flat stretch 0.03..0.3 inside the grid, not its smallest rate
        *grid_runs("flat", {0.01: [7, 7, 7], 0.03: [9, 9, 9], 0.1: [8, 9, 10], 0.3: [9, 9, 9], 1.0: [6, 6, 6]}),
        # rising to the grid's largest rate: the grid does not bracket the optimum
        *grid_runs("rising", {0.01: [5, 5, 5], 0.1: [6, 7, 8], 1.0: [8, 8, 9]}),
        # the same family at another momentum is a line of its own: its best is the smallest rate
        *grid_runs("rising", {0.01: [9, 9, 9], 0.1: [6, 6, 6], 1.0: [5, 5, 5]}, momentum=0.0),
        # scattered ties: 0.01 and 1 both at the top, 0.1 below
        *grid_runs("dip", {0.01: [8, 8, 8], 0.1: [5, 5, 5], 1.0: [8, 8, 8]}),
    ]
    exact = S.sensitivity_table(per_run(rows), PARAMS, tie_examples=0)
    assert tuple(exact.columns) == tables.declared_columns("sensitivity", PARAMS)
    assert exact["best"].dtype == bool and exact["at_edge"].dtype == bool and list(exact.n_val) == [10] * len(exact)
    assert best_of(exact, "flat") == ([0.03, 0.1, 0.3], [])
    assert best_of(exact, "rising") == ([1.0], [1.0])
    assert best_of(exact, "rising", momentum=0.0) == ([0.01], [0.01])
    assert best_of(exact, "dip") == ([0.01, 1.0], [0.01, 1.0])
    # Within one validation example (0.1 of accuracy) of the best: 0.01 (median 7 vs 9) is still out, and the
    # rising line's 0.1 (median 7 vs 8) joins its best.
    band = S.sensitivity_table(per_run(rows), PARAMS, tie_examples=1)
    assert best_of(band, "flat") == ([0.03, 0.1, 0.3], [])
    assert best_of(band, "rising") == ([0.1, 1.0], [1.0])
    wide = S.sensitivity_table(per_run(rows), PARAMS, tie_examples=2)
    assert best_of(wide, "flat") == ([0.01, 0.03, 0.1, 0.3], [0.01])
    # The other columns do not depend on the tie tolerance.
    keep = [c for c in exact.columns if c not in ("best", "at_edge")]
    pd.testing.assert_frame_equal(exact[keep], wide[keep])


def test_sensitivity_without_an_lr0_marks_no_best():
    table = S.sensitivity_table(per_run(runs_of({"a": [5, 6], "b": [7, 7]})), PARAMS, tie_examples=0)
    assert not table.best.any() and not table.at_edge.any()  # lr0 is NaN in every row
    no_grid = S.sensitivity_table(per_run(runs_of({"a": [5, 6]})), ["momentum"], tie_examples=0)
    assert not no_grid.best.any() and not no_grid.at_edge.any()


def test_sensitivity_counts_diverged_runs_and_leaves_them_out_of_the_finite_quartiles():
    frame = per_run([
        *runs_of({"v lr0=1": [9, 8, 1, 1, 9]}, family="v", lr0=1.0, test_correct=10),
        *runs_of({"v lr0=10": [1, 1]}, family="v", lr0=10.0),
    ])
    frame.loc[frame.correct == 1, "diverged"] = True  # the two 10 % runs at lr0 1, both runs at lr0 10
    table = S.sensitivity_table(frame, PARAMS, tie_examples=0).set_index("lr0")
    assert list(table.n_diverged) == [2, 2] and list(table.n_seeds) == [5, 2]
    # over all runs: 0.1, 0.1, 0.8, 0.9, 0.9; over the 3 that did not diverge: 0.8, 0.9, 0.9
    assert table.loc[1.0, "val_accuracy_median"] == pytest.approx(0.8)
    assert table.loc[1.0, "val_accuracy_q25"] == pytest.approx(0.1)
    assert table.loc[1.0, "val_accuracy_finite_median"] == pytest.approx(0.9)
    assert table.loc[1.0, "val_accuracy_finite_q25"] == pytest.approx(0.85)
    assert table.loc[1.0, "val_accuracy_finite_q75"] == pytest.approx(0.9)
    assert table.loc[1.0, "test_accuracy_finite_median"] == pytest.approx(0.5)
    assert all(math.isnan(table.loc[10.0, f"val_accuracy_finite_{s}"]) for s in ("median", "q25", "q75"))
    # the best is read on the medians over all runs: the rate where every run diverged is not best
    assert list(table.best) == [True, False] and list(table.at_edge) == [True, False]


def test_sensitivity_names_no_best_where_every_run_diverged():
    frame = per_run([
        *runs_of({"v lr0=1": [3, 3]}, family="v", lr0=1.0),
        *runs_of({"v lr0=1e5": [9, 9]}, family="v", lr0=1e5),  # diverged at chance level that happens to be high
    ])
    frame.loc[frame.lr0 == 1e5, "diverged"] = True
    table = S.sensitivity_table(frame, PARAMS, tie_examples=0)
    assert list(table.best) == [True, False] and list(table.at_edge) == [True, False]
    frame["diverged"] = True
    everywhere = S.sensitivity_table(frame, PARAMS, tie_examples=0)
    assert not everywhere.best.any() and not everywhere.at_edge.any()


# --------------------------------------------------------------------------------------------------
# selection rule
# --------------------------------------------------------------------------------------------------
VARIANTS = {"v1": (0.3, 0.9), "v2": (0.3, 0.0), "v3": (0.1, 0.9), "v4": (0.1, 0.0)}  # (lr0, momentum)


def variant(name, seed, correct, val_loss, family="f", **extra):
    lr0, momentum = VARIANTS.get(name, (math.nan, 0.9))
    return {"schedule": name, "family": family, "lr0": lr0, "momentum": momentum, "seed": seed,
            "correct": correct, "val_loss": val_loss, **extra}


def selection_runs() -> pd.DataFrame:
    return per_run([
        # seed 0: v1 and v3 tie on accuracy, v3 has the lower loss
        variant("v1", 0, 8, 0.30), variant("v2", 0, 7, 0.10), variant("v3", 0, 8, 0.20), variant("v4", 0, 6, 0.1),
        # seed 2 (listed before seed 1): v2 and v1 tie on everything (same lr0), v1 comes first in config order
        variant("v2", 2, 9, 0.25), variant("v1", 2, 9, 0.25), variant("v3", 2, 8, 0.25), variant("v4", 2, 8, 0.2),
        # seed 1: v1 and v3 tie on accuracy and loss: the smaller lr0 (v3)
        variant("v1", 1, 8, 0.25, test_correct=15), variant("v2", 1, 7, 0.25),
        variant("v3", 1, 8, 0.25, test_correct=14), variant("v4", 1, 8, 0.30),
        # seed 3, no v2 (budget 3): v4 (smaller lr0) diverged (NaN loss), v3's loss is inf: v1
        variant("v1", 3, 9, 0.40), variant("v3", 3, 9, math.inf), variant("v4", 3, 9, math.nan),
        # a family without an lr0: w1 and w2 tie on accuracy and loss, the lr0 step is skipped, w1 first
        variant("w1", 0, 5, 0.3, family="g"), variant("w2", 0, 5, 0.3, family="g"),
    ])


def test_select_tuned_applies_the_rule():
    tuned = S.select_tuned(selection_runs(), PARAMS)
    assert tuple(tuned.columns) == tables.declared_columns("tuned", PARAMS)
    assert list(zip(tuned.family, tuned.seed, tuned.schedule, tuned.n_candidates)) == [
        ("f", 0, "v3", 4), ("f", 1, "v3", 4), ("f", 2, "v1", 4), ("f", 3, "v1", 3), ("g", 0, "w1", 2),
    ]
    for column in ("seed", "n_candidates", "n_val", "n_test"):
        assert tuned[column].dtype == np.int64
    chosen = tuned.iloc[1]  # the chosen run's own numbers and parameters
    assert (chosen.lr0, chosen.momentum) == (0.1, 0.9)
    assert (chosen.val_accuracy, chosen.val_loss, chosen.test_accuracy) == (0.8, 0.25, 0.7)
    assert (chosen.n_val, chosen.n_test, chosen.test_loss) == (10, 20, 0.4)
    assert math.isnan(tuned.iloc[0].test_accuracy)
    assert "lr0" in SELECTION_RULE and "loss" in SELECTION_RULE


def test_choose_variant_steps():
    frame = per_run([variant("v1", 0, 8, 0.2), variant("v3", 0, 8, 0.2)])
    assert S.choose_variant(frame) == 1  # smaller lr0
    assert S.choose_variant(frame, lr_parameter=None) == 0  # without the lr0 step: the first
    assert S.choose_variant(frame.assign(lr0=[0.3, math.nan])) == 0  # an lr0 missing: step skipped
    assert S.choose_variant(frame.assign(val_loss=[math.nan, math.inf])) == 1  # both worst: tie, then lr0
    assert S.choose_variant(frame.assign(val_loss=[0.2, math.nan])) == 0  # a NaN loss loses
    assert S.choose_variant(frame.assign(correct=[8, 7], val_loss=[9.0, 0.1])) == 0  # accuracy first


# --------------------------------------------------------------------------------------------------
# tuned summary and comparisons
# --------------------------------------------------------------------------------------------------
def tuned_rows(choices: dict[str, list[tuple[str, int, int]]], n_val=10, n_test=20) -> pd.DataFrame:
    """A tuned table: per family, per seed (position) the chosen (variant, correct of n_val, test correct of
    n_test); test correct None for a seed without a test accuracy."""
    rows = []
    for family, picks in choices.items():
        for seed, (name, correct, test_correct) in enumerate(picks):
            rows.append({
                "dataset": "d", "protocol": "tail", "family": family, "lr0": 0.1, "momentum": 0.9, "schedule": name,
                "seed": seed, "n_candidates": 4 - (seed == 0), "val_accuracy": correct / n_val, "val_loss": 0.3,
                "test_accuracy": math.nan if test_correct is None else test_correct / n_test, "test_loss": 0.4,
                "n_val": n_val, "n_test": n_test,
            })
    return pd.DataFrame(rows, columns=tables.declared_columns("tuned", PARAMS))


def test_tuned_summary_hand_case():
    tuned = tuned_rows({"f": [("v2", 9, 16), ("v1", 8, 16), ("v1", 9, 18), ("v2", 7, None)]})
    row = S.tuned_summary_table(tuned, confidence=0.95, resamples=R, seed=1)
    assert tuple(row.columns) == tables.TUNED_SUMMARY_COLUMNS
    row = row.iloc[0]
    assert (row.n_candidates, row.n_seeds, row.n_test) == (4, 4, 20)
    assert row.val_accuracy_mean == pytest.approx(0.825)
    assert row.test_accuracy_mean == pytest.approx(50 / 60)  # 0.8, 0.8, 0.9: the seed without a test is left out
    assert (row.test_accuracy_median, row.test_accuracy_q25, row.test_accuracy_q75) == pytest.approx((0.8, 0.8, 0.85))
    assert row.test_accuracy_ci_low <= row.test_accuracy_mean <= row.test_accuracy_ci_high
    assert row.optimism == pytest.approx(0.1 / 3)  # 0.9 - 0.8, 0.8 - 0.8, 0.9 - 0.9
    assert row.optimism_ci_low <= row.optimism <= row.optimism_ci_high
    assert (row.modal_choice, row.modal_share, row.n_choices) == ("v2", 0.5, 2)  # 2 to 2: v2, chosen first


def test_tuned_summary_modal_choice_majority():
    tuned = tuned_rows({"f": [("a", 9, 16), ("b", 8, 16), ("b", 9, 18)], "g": [("c", 9, 16)] * 3})
    table = S.tuned_summary_table(tuned, confidence=0.95, resamples=R, seed=1).set_index("family")
    assert table.loc["f", "modal_choice"] == "b" and table.loc["f", "modal_share"] == pytest.approx(2 / 3)
    assert (table.loc["g", "modal_choice"], table.loc["g", "modal_share"], table.loc["g", "n_choices"]) == ("c", 1, 1)


COMPARED = {
    "other": [("o", 8, 14), ("o", 8, 15), ("o", 8, 16), ("o", 8, 15), ("o", 8, None)],
    "base": [("b", 8, 12), ("b", 8, 12), ("b", 8, 13), ("b", 8, 15), ("b", 8, 11)],
    "third": [("t", 8, 12), ("t", 8, 13), ("t", 8, 13), ("t", 8, 14), ("t", 8, 14)],
}


def test_tuned_comparisons_compare_families_on_test_counts():
    table = S.tuned_comparison_table(
        tuned_rows(COMPARED), baseline="base", confidence=0.95, resamples=R, seed=1, equivalence_examples=1,
        equivalence_min_seeds=29,
    )
    assert tuple(table.columns) == tables.COMPARISON_COLUMNS
    assert list(zip(table.a, table.b, table.vs_baseline)) == [
        ("other", "base", True), ("third", "base", True), ("other", "third", False),
    ]
    row = table.iloc[0]  # seeds 0-3 (seed 4 of 'other' has no test accuracy): d = 2, 3, 3, 0 test examples
    assert row.n_pairs == 4 and (row.wins, row.ties, row.losses) == (3, 1, 0)
    assert row.mean_diff_examples == pytest.approx(2.0) and row.mean_diff == pytest.approx(2.0 / 20)
    assert table.iloc[1].n_pairs == 5 and table.iloc[1].mean_diff_examples == pytest.approx(0.6)
    assert table["p_t_corrected"].isna().all() and table["p_t_corrected_holm"].isna().all()
    assert list(table.family_size) == [2, 2, 1]
    with pytest.raises(ValueError):
        S.tuned_comparison_table(tuned_rows(COMPARED), baseline="nope", confidence=0.95, resamples=R, seed=1,
                                 equivalence_examples=1, equivalence_min_seeds=29)


def test_tuned_comparisons_are_the_comparison_table_of_the_test_counts():
    # The same counts as a runs table of schedules scored on a split of n_test: the same numbers.
    tuned = tuned_rows(COMPARED)
    kwargs = dict(baseline="base", confidence=0.9, resamples=R, seed=3, equivalence_examples=2,
                  equivalence_min_seeds=3)
    ours = S.tuned_comparison_table(tuned, **kwargs)
    runs = tuned.dropna(subset=["test_accuracy"]).assign(
        schedule=tuned["family"], epoch=1, val_accuracy=tuned["test_accuracy"], n_val=tuned["n_test"],
        diverged=False,
    )
    pd.testing.assert_frame_equal(ours, T.comparison_table(runs, **kwargs))


def test_tuned_comparisons_without_a_test_split_have_no_rows():
    tuned = tuned_rows({"base": [("b", 8, None)] * 3, "other": [("o", 8, None)] * 3}, n_test=0)
    table = S.tuned_comparison_table(tuned, baseline="base", confidence=0.95, resamples=R, seed=1,
                                     equivalence_examples=1, equivalence_min_seeds=29)
    assert table.empty and tuple(table.columns) == tables.COMPARISON_COLUMNS


# --------------------------------------------------------------------------------------------------
# through final_epoch
# --------------------------------------------------------------------------------------------------
def test_study_tables_from_a_runs_table():
    n_val, n_test = 10, 20
    finals = {  # (family, lr0, schedule) -> per seed (final correct, test correct)
        ("cos", 0.1, "cos lr0=0.1"): [(8, 15), (7, 14), (9, 17)],
        ("cos", 0.3, "cos lr0=0.3"): [(9, 16), (7, 13), (8, 16)],
        ("step", 0.1, "step"): [(7, 12), (7, 13), (8, 15)],
    }
    rows = []
    for (family, lr0, schedule), per_seed in finals.items():
        for seed, (correct, test_correct) in enumerate(per_seed):
            for epoch, k in ((1, correct - 2), (2, correct)):
                rows.append({
                    "dataset": "d", "protocol": "tail", "family": family, "lr0": lr0, "momentum": 0.9,
                    "schedule": schedule, "seed": seed, "epoch": epoch, "lr": lr0, "loss": 0.5, "accuracy": 0.8,
                    "val_loss": 0.3, "val_accuracy": k / n_val, "test_loss": 0.4,
                    "test_accuracy": test_correct / n_test, "diverged": False, "n_val": n_val, "n_test": n_test,
                })
    runs = pd.DataFrame(rows, columns=tables.declared_columns("runs", PARAMS))
    final = final_epoch(runs)
    tuned = S.select_tuned(final, PARAMS)
    # seed 0: 0.3 (9 > 8); seed 1: 7 = 7, same loss, smaller lr0 0.1; seed 2: 0.1 (9 > 8)
    assert list(tuned[tuned.family == "cos"].schedule) == ["cos lr0=0.3", "cos lr0=0.1", "cos lr0=0.1"]
    assert list(tuned.n_candidates) == [2, 2, 2, 1, 1, 1]
    assert list(tuned[tuned.family == "cos"].test_accuracy) == [0.8, 0.7, 0.85]
    settings = dict(confidence=0.95, resamples=R, seed=1)
    sensitivity = S.sensitivity_table(final, PARAMS, tie_examples=1)
    summary = S.tuned_summary_table(tuned, **settings)
    comparisons = S.tuned_comparison_table(tuned, baseline="step", equivalence_examples=1, equivalence_min_seeds=29,
                                           **settings)
    attribution = S.attribution_table(final, [("cos lr0=0.3", "step")], baseline="step", **settings)
    for name, table in (("sensitivity", sensitivity), ("tuned", tuned), ("tuned_summary", summary),
                        ("tuned_comparisons", comparisons), ("attribution", attribution)):
        expected = PARAMS if tables.PARAMETERS in tables.COLUMNS[name] else []
        assert list(tables.parameter_columns(table.columns, name)) == expected
    assert list(sensitivity.n_seeds) == [3, 3, 3]
    assert comparisons.iloc[0].mean_diff_examples == pytest.approx((4 + 1 + 2) / 3)  # 16-12, 14-13, 17-15
    assert summary.set_index("family").loc["cos", "modal_choice"] == "cos lr0=0.1"
    assert attribution.iloc[0].total_diff == pytest.approx(2 / 30)  # 9-7, 7-7, 8-8


def test_tuned_attribution_splits_each_family_on_its_tuned_test_counts():
    tuned = tuned_rows({
        "base": [("b", 8, 10), ("b", 8, 11), ("b", 8, 12), ("b", 8, 9)],
        "opt-base": [("o", 8, 12), ("o", 8, 12), ("o", 8, 13), ("o", 8, 12)],
        "opt-cosine": [("c", 8, 15), ("c", 8, 14), ("c", 8, 16), ("c", 8, None)],
    })
    table = S.tuned_attribution_table(tuned, [("opt-cosine", "opt-base"), ("opt-base", "opt-base")],
                                      baseline="base", confidence=0.95, resamples=R, seed=1)
    assert list(table.columns) == list(tables.ATTRIBUTION_COLUMNS)
    cosine, control = table.iloc[0], table.iloc[1]
    # Seeds 0-2 pair up (seed 3 has no test score for opt-cosine): totals 5, 3, 4; optimizer 2, 1, 1.
    assert (cosine["n_pairs"], cosine["n_val"]) == (3, 20)
    assert cosine["total_diff"] == pytest.approx(4 / 20)
    assert cosine["optimizer_diff"] == pytest.approx(4 / 3 / 20)
    assert cosine["schedule_diff"] == pytest.approx(cosine["total_diff"] - cosine["optimizer_diff"])
    # A control family is its own control: its gain is all optimizer.
    assert control["schedule_diff"] == 0 and control["optimizer_diff"] == control["total_diff"] == pytest.approx(
        (2 + 1 + 1 + 3) / 4 / 20)


def test_tuned_summary_measures_a_schedule_free_familys_score_at_y_against_x():
    tuned = tuned_rows({"sf": [("v", 8, 16), ("v", 8, 15), ("v", 8, 17)], "sgd": [("w", 8, 16), ("w", 8, 14),
                                                                                   ("w", 8, 15)]})
    tuned.loc[tuned["family"] == "sf", "test_accuracy_at_y"] = [14 / 20, 15 / 20, 13 / 20]
    sf, sgd = (row for _, row in S.tuned_summary_table(tuned, confidence=0.95, resamples=R, seed=1).iterrows())
    assert sf["test_accuracy_at_y_mean"] == pytest.approx(14 / 20)
    assert sf["x_minus_y"] == pytest.approx(2 / 20)
    assert sf["x_minus_y_ci_low"] <= sf["x_minus_y"] <= sf["x_minus_y_ci_high"]
    # A family without an average has no score at y: nothing to compare.
    assert math.isnan(sgd["test_accuracy_at_y_mean"]) and math.isnan(sgd["x_minus_y"])
    assert math.isnan(sgd["x_minus_y_ci_low"])

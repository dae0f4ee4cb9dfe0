"""The verdict across datasets (schedbench.stats.suite) and its figures (schedbench.figures.suite), on hand cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from scipy import stats

from schedbench.figures.style import figure_png, schedule_colours
from schedbench.figures.suite import draw_critical_difference, draw_performance_profiles
from schedbench.stats import suite
from schedbench.tables import (
    SUITE_AVERAGE_RANK_COLUMNS,
    SUITE_FRIEDMAN_COLUMNS,
    SUITE_GROUP_COLUMNS,
    SUITE_NORMALISED_COLUMNS,
    SUITE_POSTHOC_COLUMNS,
    SUITE_PROFILE_COLUMNS,
    SUITE_RANK_COLUMNS,
    SUITE_VS_BASELINE_COLUMNS,
    SUITE_WIN_TIE_LOSS_COLUMNS,
)
from schedbench.stats.ranks import critical_difference, friedman_statistics, nemenyi_groups, nemenyi_q
from schedbench.stats.suite import (
    average_rank_table,
    friedman_over_datasets,
    normalised_score_table,
    performance_profile_table,
    posthoc_table,
    nemenyi_group_table,
    rank_table,
    win_tie_loss_table,
)


def _summaries(means: dict[str, dict[str, float]], n_test: int = 10) -> pd.DataFrame:
    """A concatenation of tuned_summary tables reduced to what the suite reads: {dataset: {family: mean}}."""
    rows = [{"dataset": d, "protocol": "tail", "family": f, "test_accuracy_mean": m, "n_test": n_test,
             "n_seeds": 5}
            for d, by_family in means.items() for f, m in by_family.items()]
    return pd.DataFrame(rows)


def _ranks(by_dataset: dict[str, dict[str, float]]) -> pd.DataFrame:
    """A rank table written by hand: {dataset: {family: rank}}."""
    return pd.DataFrame([{"dataset": d, "family": f, "test_accuracy_mean": math.nan, "rank": float(r)}
                         for d, by_family in by_dataset.items() for f, r in by_family.items()])


# Four families on three complete datasets, ties within d1 and d2 (0.1 + 0.2 is 0.30000000000000004: the
# counts, rounded, still tie), a fourth dataset without D and a family without a test accuracy.
MEANS = {
    "d1": {"A": 0.1 + 0.2, "B": 0.2, "C": 0.3, "D": 0.1},
    "d2": {"A": 0.6, "B": 0.8, "C": 0.7, "D": 0.8},
    "d3": {"A": 0.95, "B": 0.5, "C": 0.6, "D": 0.7},
    "d4": {"A": 0.5, "B": 0.9, "C": 0.4, "D": math.nan},
}


# --------------------------------------------------------------------------------------------------
# ranks
# --------------------------------------------------------------------------------------------------
def test_ranks_within_datasets_share_average_ranks_on_ties():
    ranks = rank_table(_summaries(MEANS))
    assert tuple(ranks.columns) == SUITE_RANK_COLUMNS
    got = {(d, f): r for d, f, r in zip(ranks["dataset"], ranks["family"], ranks["rank"])}
    assert got == {
        ("d1", "A"): 1.5, ("d1", "B"): 3.0, ("d1", "C"): 1.5, ("d1", "D"): 4.0,
        ("d2", "A"): 4.0, ("d2", "B"): 1.5, ("d2", "C"): 3.0, ("d2", "D"): 1.5,
        ("d3", "A"): 1.0, ("d3", "B"): 4.0, ("d3", "C"): 3.0, ("d3", "D"): 2.0,
        ("d4", "A"): 2.0, ("d4", "B"): 1.0, ("d4", "C"): 3.0,  # D has no test accuracy on d4
    }
    assert list(ranks["test_accuracy_mean"])[:2] == [0.1 + 0.2, 0.2]


def test_average_ranks_and_best_counts_use_the_complete_datasets():
    table = average_rank_table(rank_table(_summaries(MEANS)))
    assert tuple(table.columns) == SUITE_AVERAGE_RANK_COLUMNS
    assert list(table["family"]) == ["A", "B", "C", "D"]
    assert list(table["n_datasets"]) == [3, 3, 3, 3]  # d4 lacks D: its ranks are among three families
    np.testing.assert_allclose(table["average_rank"], [6.5 / 3, 8.5 / 3, 2.5, 2.5])
    # first place: A on d1 (shared with C) and d3; B and D share d2's; C shares d1's
    assert list(table["best_count"]) == [2, 1, 1, 1]


def test_a_dataset_with_two_protocols_or_a_family_twice_is_refused():
    two = pd.concat([_summaries({"d1": {"A": 0.5, "B": 0.6}}),
                     _summaries({"d1": {"A": 0.5, "B": 0.6}}).assign(protocol="resplit")])
    with pytest.raises(ValueError, match="protocols"):
        rank_table(two)
    twice = pd.concat([_summaries({"d1": {"A": 0.5}}), _summaries({"d1": {"A": 0.6}})])
    with pytest.raises(ValueError, match="twice"):
        rank_table(twice)


# --------------------------------------------------------------------------------------------------
# Friedman, Iman-Davenport, Nemenyi
# --------------------------------------------------------------------------------------------------
ACCURACIES = np.array([  # five datasets x four families, ties in the second and fourth rows
    [0.90, 0.85, 0.80, 0.70],
    [0.80, 0.80, 0.75, 0.60],
    [0.70, 0.72, 0.69, 0.50],
    [0.95, 0.90, 0.90, 0.90],
    [0.60, 0.55, 0.58, 0.52],
])


def _matrix_summaries(matrix: np.ndarray) -> pd.DataFrame:
    return _summaries({f"d{i}": {f"F{j}": float(v) for j, v in enumerate(row)} for i, row in enumerate(matrix)},
                      n_test=100)


def test_friedman_matches_scipy_and_iman_davenport_its_formula():
    table = friedman_over_datasets(rank_table(_matrix_summaries(ACCURACIES)), alpha=0.05)
    assert tuple(table.columns) == SUITE_FRIEDMAN_COLUMNS and len(table) == 1
    row = table.iloc[0]
    expected = stats.friedmanchisquare(*ACCURACIES.T)
    assert row["friedman_chi2"] == pytest.approx(expected.statistic, rel=1e-12)
    assert row["friedman_p"] == pytest.approx(expected.pvalue, rel=1e-12)
    n, k, chi2 = 5, 4, expected.statistic
    f = (n - 1) * chi2 / (n * (k - 1) - chi2)
    assert row["iman_davenport_f"] == pytest.approx(f, rel=1e-12)
    assert row["iman_davenport_p"] == pytest.approx(stats.f.sf(f, k - 1, (k - 1) * (n - 1)), rel=1e-12)
    assert (row["n_datasets"], row["n_families"], row["alpha"]) == (5, 4, 0.05)


def test_friedman_per_group_tests_each_groups_datasets_alone_after_the_overall_row():
    ranks = rank_table(_matrix_summaries(ACCURACIES))
    groups = {"d0": "tables", "d1": "tables", "d2": "tables", "d3": "mnist1d", "d4": "mnist1d"}
    table = friedman_over_datasets(ranks, alpha=0.05, groups=groups)
    assert list(table["dataset_group"]) == ["all", "tables", "mnist1d"]
    assert list(table["n_datasets"]) == [5, 3, 2]
    overall = friedman_over_datasets(ranks, alpha=0.05)
    assert table.iloc[0]["friedman_p"] == overall.iloc[0]["friedman_p"]
    assert table.iloc[1]["friedman_p"] == pytest.approx(stats.friedmanchisquare(*ACCURACIES[:3].T).pvalue, rel=1e-12)
    assert table.iloc[2]["friedman_p"] == pytest.approx(stats.friedmanchisquare(*ACCURACIES[3:].T).pvalue, rel=1e-12)
    # One group: nothing to split; a group of one dataset: no test.
    assert list(friedman_over_datasets(ranks, groups=dict.fromkeys(groups, "tables"))["dataset_group"]) == ["all"]
    alone = friedman_over_datasets(ranks, groups={**groups, "d4": "other", "d3": "tables"})
    assert math.isnan(alone.set_index("dataset_group").loc["other", "friedman_p"])


def test_friedman_without_ties_is_demsars_formula_and_perfect_agreement_gives_infinite_f():
    ranks = np.array([[1, 2, 3, 4], [2, 1, 3, 4], [1, 3, 2, 4], [1, 2, 4, 3], [2, 1, 4, 3]], dtype=float)
    n, k = ranks.shape
    r = ranks.mean(axis=0)
    demsar = 12 * n / (k * (k + 1)) * (np.sum(r ** 2) - k * (k + 1) ** 2 / 4)
    chi2, p, f, p_f = friedman_statistics(ranks)
    assert chi2 == pytest.approx(demsar, rel=1e-12)
    assert p == pytest.approx(stats.chi2.sf(demsar, k - 1), rel=1e-12)
    assert f == pytest.approx((n - 1) * demsar / (n * (k - 1) - demsar), rel=1e-12)
    same = np.tile([1.0, 2.0, 3.0, 4.0], (5, 1))
    chi2, p, f, p_f = friedman_statistics(same)
    assert chi2 == pytest.approx(n * (k - 1)) and f == math.inf and p_f == 0.0
    assert friedman_statistics(np.ones((5, 4))) == (0.0, 1.0, 0.0, 1.0)
    assert all(math.isnan(v) for v in friedman_statistics(np.ones((1, 4))))


def test_critical_difference_is_demsars_table_value():
    assert nemenyi_q(4, 0.05) == pytest.approx(2.569, abs=5e-4)
    assert nemenyi_q(6, 0.05) == pytest.approx(2.850, abs=5e-4)
    assert nemenyi_q(4, 0.10) == pytest.approx(2.291, abs=5e-4)
    assert critical_difference(4, 5, 0.05) == pytest.approx(2.569 * math.sqrt(4 * 5 / 30), abs=1e-3)
    assert critical_difference(4, 5, 0.05) == pytest.approx(2.098, abs=1e-3)
    table = friedman_over_datasets(rank_table(_matrix_summaries(ACCURACIES)), alpha=0.05)
    assert table["critical_difference"].iloc[0] == pytest.approx(2.098, abs=1e-3)
    assert table["q_alpha"].iloc[0] == pytest.approx(2.569, abs=5e-4)


# --------------------------------------------------------------------------------------------------
# post-hoc
# --------------------------------------------------------------------------------------------------
POSTHOC_RANKS = {  # average ranks x 1.2, y 2.0, base 3.0, z 3.8 over N = 5 datasets
    "d1": {"base": 3, "x": 1, "y": 2, "z": 4},
    "d2": {"base": 2, "x": 1, "y": 3, "z": 4},
    "d3": {"base": 4, "x": 1, "y": 2, "z": 3},
    "d4": {"base": 3, "x": 2, "y": 1, "z": 4},
    "d5": {"base": 3, "x": 1, "y": 2, "z": 4},
}


def test_posthoc_z_holm_against_the_baseline_and_nemenyi_for_every_pair():
    table = posthoc_table(_ranks(POSTHOC_RANKS), "base", alpha=0.05)
    assert tuple(table.columns) == SUITE_POSTHOC_COLUMNS
    assert list(zip(table["a"], table["b"])) == [
        ("x", "base"), ("y", "base"), ("z", "base"), ("x", "y"), ("x", "z"), ("y", "z")]
    assert list(table["vs_baseline"]) == [True, True, True, False, False, False]
    np.testing.assert_allclose(table["rank_diff"], [-1.8, -1.0, 0.8, -0.8, -2.6, -1.8], atol=1e-12)
    se = math.sqrt(4 * 5 / (6 * 5))
    np.testing.assert_allclose(table["z"], table["rank_diff"] / se, rtol=1e-12)
    p = 2 * stats.norm.sf(np.abs(table["z"].to_numpy()))
    np.testing.assert_allclose(table["p"], p, rtol=1e-12)
    px, py, pz = p[:3]
    assert px < py < pz
    # Holm by hand over the three baseline pairs: 3 p_(1), max(that, 2 p_(2)), max(that, p_(3))
    holm_x = 3 * px
    holm_y = max(holm_x, 2 * py)
    holm_z = max(holm_y, pz)
    np.testing.assert_allclose(table["p_holm"].iloc[:3], [holm_x, holm_y, holm_z], rtol=1e-12)
    assert table["p_holm"].iloc[3:].isna().all()
    # CD = 2.098: only x (1.2) and z (3.8) are 2.6 ranks apart
    assert list(table["nemenyi_different"]) == [False, False, False, False, True, False]
    with pytest.raises(ValueError, match="baseline"):
        posthoc_table(_ranks(POSTHOC_RANKS), "missing")


@pytest.mark.parametrize("ranks, cd, groups", [
    ({"A": 1.0, "B": 1.5, "C": 3.0, "D": 3.2}, 1.0, [["A", "B"], ["C", "D"]]),
    ({"A": 1.0, "B": 1.8, "C": 2.6, "D": 3.4}, 1.0, [["A", "B"], ["B", "C"], ["C", "D"]]),
    ({"D": 3.2, "C": 3.0, "A": 1.0, "B": 1.5}, 5.0, [["A", "B", "C", "D"]]),
    ({"A": 1.0, "B": 2.5, "C": 4.0}, 1.0, []),
    ({"A": 1.0, "B": 1.0, "C": 2.0, "D": 2.1}, 1.0, [["A", "B", "C"], ["C", "D"]]),
])
def test_nemenyi_groups_are_the_maximal_cliques(ranks, cd, groups):
    assert nemenyi_groups(ranks, cd) == groups


# --------------------------------------------------------------------------------------------------
# profiles, win/tie/loss, normalised scores
# --------------------------------------------------------------------------------------------------
PROFILE_MEANS = {
    "d1": {"A": 0.90, "B": 0.89, "C": 0.85},
    "d2": {"A": 0.80, "B": 0.82, "C": 0.81},
    "d3": {"A": 0.70, "C": 0.75},  # B has no run here: outside every tolerance
}


def test_performance_profiles_on_a_three_dataset_hand_case():
    table = performance_profile_table(_summaries(PROFILE_MEANS), taus=(0.0, 0.01, 0.02, 0.05))
    assert tuple(table.columns) == SUITE_PROFILE_COLUMNS
    assert (table["n_datasets"] == 3).all()
    got = {f: list(g["fraction"]) for f, g in table.groupby("family", sort=False)}
    assert list(got) == ["A", "B", "C"]
    np.testing.assert_allclose(got["A"], [1 / 3, 1 / 3, 2 / 3, 1.0])  # gaps 0, 0.02, 0.05
    np.testing.assert_allclose(got["B"], [1 / 3, 2 / 3, 2 / 3, 2 / 3])  # gaps 0.01, 0, missing
    np.testing.assert_allclose(got["C"], [1 / 3, 2 / 3, 2 / 3, 1.0])  # gaps 0.05, 0.01, 0
    assert list(table["tau"])[:4] == [0.0, 0.01, 0.02, 0.05]


def _comparisons(rows) -> pd.DataFrame:
    return pd.DataFrame([{"dataset": d, "protocol": "tail", "a": a, "b": b, "decision": decision,
                          "vs_baseline": b == "A"}
                         for d, a, b, decision in rows])


COMPARISONS = [
    ("d1", "B", "A", "better"),              # B beats A
    ("d1", "C", "A", "worse"),               # A beats C
    ("d1", "B", "C", "inconclusive"),        # nothing shown: neither a tie nor a win
    ("d2", "B", "A", "equivalent"),          # a tie, shown equivalent
    ("d2", "C", "A", "better, negligible"),  # reliable but inside the band: a tie, not a win
    ("d2", "B", "C", "worse"),               # C beats B
    ("d3", "A", "B", "worse"),               # the pair the other way round: B beats A
    ("d3", "B", "C", "worse, negligible"),   # a tie for C against B, negligible
]


def test_win_tie_loss_counts_the_comparisons_decisions_both_ways():
    table = win_tie_loss_table(_comparisons(COMPARISONS))
    assert tuple(table.columns) == SUITE_WIN_TIE_LOSS_COLUMNS
    got = {(r.a, r.b): (r.wins, r.ties, r.losses, r.ties_equivalent, r.ties_negligible, r.inconclusive, r.n_datasets)
           for r in table.itertuples(index=False)}
    assert list(got) == [("B", "A"), ("B", "C"), ("A", "B"), ("A", "C"), ("C", "B"), ("C", "A")]
    assert got[("A", "B")] == (0, 1, 2, 1, 0, 0, 3)
    assert got[("B", "A")] == (2, 1, 0, 1, 0, 0, 3)
    assert got[("A", "C")] == (1, 1, 0, 0, 1, 0, 2)
    assert got[("C", "A")] == (0, 1, 1, 0, 1, 0, 2)
    assert got[("B", "C")] == (0, 1, 1, 0, 1, 1, 3)
    assert got[("C", "B")] == (1, 1, 0, 0, 1, 1, 3)
    for r in table.itertuples(index=False):  # every dataset is counted once, an inconclusive pair never as a tie
        assert r.wins + r.ties + r.losses + r.inconclusive == r.n_datasets
        assert r.ties == r.ties_equivalent + r.ties_negligible
    twice = _comparisons([*COMPARISONS, ("d3", "B", "A", "equivalent")])
    with pytest.raises(ValueError, match="twice"):
        win_tie_loss_table(twice)
    with pytest.raises(ValueError, match="decision"):
        win_tie_loss_table(_comparisons([("d1", "B", "A", "significant")]))


def test_normalised_scores_run_from_majority_guessing_to_the_best_family():
    means = {"d1": {"A": 0.9, "B": 0.75, "C": 0.55}, "d2": {"A": 0.8, "B": 0.7}}
    table = normalised_score_table(_summaries(means), {"d1": 0.6, "d2": 0.8})
    assert tuple(table.columns) == SUITE_NORMALISED_COLUMNS
    np.testing.assert_allclose(table["normalised_score"].iloc[:3], [1.0, 0.5, -1 / 6])
    assert table["normalised_score"].iloc[3:].isna().all()  # the best family only matches guessing on d2
    assert list(table["majority_accuracy"]) == [0.6, 0.6, 0.6, 0.8, 0.8]
    with pytest.raises(ValueError, match="majority"):
        normalised_score_table(_summaries(means), {"d1": 0.6})


def test_empty_inputs_give_empty_tables_with_the_declared_columns():
    empty = pd.DataFrame(columns=["dataset", "protocol", "family", "test_accuracy_mean", "n_test"])
    ranks = rank_table(empty)
    assert tuple(ranks.columns) == SUITE_RANK_COLUMNS and ranks.empty
    assert tuple(average_rank_table(ranks).columns) == SUITE_AVERAGE_RANK_COLUMNS
    assert tuple(performance_profile_table(empty).columns) == SUITE_PROFILE_COLUMNS
    assert tuple(normalised_score_table(empty, {}).columns) == SUITE_NORMALISED_COLUMNS
    friedman = friedman_over_datasets(ranks)
    assert friedman["n_datasets"].iloc[0] == 0 and math.isnan(friedman["friedman_p"].iloc[0])


def test_the_critical_difference_for_five_datasets_and_six_families():
    assert critical_difference(6, 5, 0.05) == pytest.approx(3.372, abs=1e-3)  # Demsar's q 2.850 x sqrt(42 / 30)


def test_the_group_table_lists_each_maximal_group_best_first():
    ranks = pd.DataFrame({"family": ["D", "A", "C", "B", "E"], "average_rank": [3.2, 1.0, 3.0, 1.5, math.nan]})
    table = nemenyi_group_table(ranks, 1.0)
    assert tuple(table.columns) == SUITE_GROUP_COLUMNS
    assert table.to_dict("list") == {"group": [1, 1, 2, 2], "family": ["A", "B", "C", "D"],
                                     "average_rank": [1.0, 1.5, 3.0, 3.2]}
    assert nemenyi_group_table(ranks, math.nan).empty


# --------------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------------
CD_RANKS = {"A": 1.0, "B": 1.5, "C": 3.0, "D": 3.2}


def _cd_diagram(ranks, cd, **settings):
    """The diagram of ``ranks`` ({family: rank} or a table) with the groups the suite rule computes for it."""
    table = ranks if isinstance(ranks, pd.DataFrame) else pd.DataFrame(
        {"family": list(ranks), "average_rank": list(ranks.values())})
    return draw_critical_difference(ranks, cd, groups=nemenyi_group_table(table, cd), **settings)


def _by_gid(fig, prefix):
    ax = fig.axes[0]
    return [a for a in [*ax.lines, *ax.texts] if (a.get_gid() or "").startswith(prefix)]


def test_cd_diagram_is_deterministic_and_labels_each_family_once():
    first = figure_png(_cd_diagram(CD_RANKS, 1.0, alpha=0.05, n_datasets=5))
    second = figure_png(_cd_diagram(CD_RANKS, 1.0, alpha=0.05, n_datasets=5))
    assert first == second and first.startswith(b"\x89PNG")
    fig = _cd_diagram(CD_RANKS, 1.0, alpha=0.05, n_datasets=5)
    labels = _by_gid(fig, "label:")
    assert sorted(t.get_gid() for t in labels) == [f"label:{f}" for f in "ABCD"]
    for text in labels:
        family = text.get_gid().split(":", 1)[1]
        assert text.get_text() == f"{family} ({CD_RANKS[family]:.2f})"
    texts = [t.get_text() for t in fig.axes[0].texts]
    for family in CD_RANKS:
        assert sum(t.startswith(f"{family} (") for t in texts) == 1
    # the best rank on the left: the markers sit at their ranks on an x axis increasing to the right
    markers = {a.get_gid().split(":", 1)[1]: a.get_xdata()[0] for a in _by_gid(fig, "rank:")}
    assert markers == CD_RANKS
    assert fig.axes[0].get_xlim()[0] < 1.0 < 4.0 < fig.axes[0].get_xlim()[1]
    assert "on the left" in fig._suptitle.get_text()


def test_cd_bar_has_the_length_of_cd_in_rank_units():
    for cd in (1.0, 2.098, 3.5):
        fig = _cd_diagram(CD_RANKS, cd, alpha=0.05, n_datasets=5)
        (bar,) = _by_gid(fig, "cd_bar")
        x = bar.get_xdata()
        assert max(x) - min(x) == pytest.approx(cd)
        assert min(x) == 1.0 and fig.axes[0].get_xlim()[1] > 1.0 + cd
    fig = _cd_diagram(CD_RANKS, math.nan, alpha=0.05, n_datasets=1)
    assert not _by_gid(fig, "cd_bar") and not _by_gid(fig, "clique")


def test_cd_diagram_draws_the_maximal_groups_only():
    fig = _cd_diagram(CD_RANKS, 1.0, alpha=0.05, n_datasets=5)
    spans = sorted((min(l.get_xdata()), max(l.get_xdata())) for l in _by_gid(fig, "clique"))
    assert spans == [(1.0, 1.5), (3.0, 3.2)]
    chained = {"A": 1.0, "B": 1.8, "C": 2.6, "D": 3.4}
    fig = _cd_diagram(pd.DataFrame({"family": list(chained), "average_rank": list(chained.values())}),
                                   1.0, alpha=0.05, n_datasets=5)
    spans = sorted((min(l.get_xdata()), max(l.get_xdata())) for l in _by_gid(fig, "clique"))
    assert spans == [(1.0, 1.8), (1.8, 2.6), (2.6, 3.4)]  # not A-C nor B-D: they are 1.6 apart


def test_performance_profile_figure_one_step_line_per_family_in_the_shared_colours():
    profiles = performance_profile_table(_summaries(PROFILE_MEANS), taus=(0.0, 0.01, 0.02, 0.05))
    families = ["B", "A", "C"]
    first = figure_png(draw_performance_profiles(profiles, families=families, baseline="A"))
    assert first == figure_png(draw_performance_profiles(profiles, families=families, baseline="A"))
    fig = draw_performance_profiles(profiles, families=families, baseline="A")
    ax = fig.axes[0]
    lines = {l.get_gid().split(":", 1)[1]: l for l in ax.lines if (l.get_gid() or "").startswith("profile:")}
    assert list(lines) == families
    colours = schedule_colours(families, "A")
    for family, line in lines.items():
        assert to_rgb(line.get_color()) == pytest.approx(to_rgb(colours[family]))
        assert line.get_drawstyle() == "steps-post"
        rows = profiles[profiles["family"] == family]
        np.testing.assert_allclose(line.get_xdata(), rows["tau"] * 100)
        np.testing.assert_allclose(line.get_ydata(), rows["fraction"])
    assert ax.get_ylim()[0] <= 0.0 and ax.get_ylim()[1] >= 1.0
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == families


def test_empty_inputs_draw_a_message():
    fig = draw_performance_profiles(pd.DataFrame(columns=list(SUITE_PROFILE_COLUMNS)))
    assert figure_png(fig).startswith(b"\x89PNG")
    fig = _cd_diagram({}, 1.0, alpha=0.05, n_datasets=0)
    assert figure_png(fig).startswith(b"\x89PNG")


def test_module_declares_its_columns():
    for name in suite.__all__:
        if name.startswith("SUITE_"):
            columns = getattr(suite, name)
            assert isinstance(columns, tuple) and len(set(columns)) == len(columns)


# --------------------------------------------------------------------------------------------------
# each family against the baseline (the overview's answer and its figure)
# --------------------------------------------------------------------------------------------------
def _comparison(dataset, a, b, diff, low, high, decision, mde=1.5, band=1.0, n_test=10):
    return {"dataset": dataset, "protocol": "heldout", "a": a, "b": b, "n_pairs": 5, "mean_diff": diff / n_test,
            "mean_diff_examples": diff, "diff_ci_low_adj": low / n_test, "diff_ci_high_adj": high / n_test,
            "band_examples": band, "mde_examples": mde, "decision": decision}


VS_BASELINE = pd.DataFrame([
    _comparison("d1", "A", "base", 2.0, 1.5, 2.5, "better"),
    # Stored the other way round: the baseline first. Oriented family - baseline, it is A worse by 0.5, negligible.
    _comparison("d2", "base", "A", 0.5, 0.2, 0.8, "better, negligible"),
    _comparison("d2", "A", "B", 0.1, -1.0, 1.0, "equivalent"),  # not a comparison with the baseline
    _comparison("d2", "B", "base", 0.3, -2.0, 2.6, "inconclusive", mde=2.4),
])


def test_each_family_against_the_baseline_is_oriented_family_minus_baseline():
    summaries = _summaries({"d1": {"base": 0.5, "A": 0.7}, "d2": {"base": 0.5, "B": 0.5, "A": 0.4}}, n_test=10)
    table = suite.vs_baseline_table(summaries, VS_BASELINE, "base")
    assert tuple(table.columns) == SUITE_VS_BASELINE_COLUMNS
    got = {(d, f): (x, lo, hi, dec) for d, f, x, lo, hi, dec in zip(
        table["dataset"], table["family"], table["mean_diff_examples"], table["diff_ci_low_adj"] * 10,
        table["diff_ci_high_adj"] * 10, table["decision"])}
    assert got[("d1", "A")] == (2.0, 1.5, 2.5, "better")
    assert got[("d2", "A")][:3] == pytest.approx((-0.5, -0.8, -0.2))
    assert got[("d2", "A")][3] == "worse, negligible"
    assert got[("d2", "B")][3] == "inconclusive" and len(table) == 3  # the pair without the baseline is left out
    # Families in the summaries' order within each dataset; sizes keep their sign; n_test from the summaries.
    assert list(zip(table["dataset"], table["family"])) == [("d1", "A"), ("d2", "B"), ("d2", "A")]
    assert set(table["n_test"]) == {10} and set(table["band_examples"]) == {1.0}


def test_the_answer_figure_shades_each_datasets_band_in_points_and_marks_each_pair():
    from schedbench.figures.suite import draw_vs_baseline

    summaries = _summaries({"d1": {"base": 0.5, "A": 0.7}, "d2": {"base": 0.5, "B": 0.5, "A": 0.4}}, n_test=10)
    table = suite.vs_baseline_table(summaries, VS_BASELINE, "base")
    fig = draw_vs_baseline(table, families=["base", "A", "B"], baseline="base")
    artists = {a.get_gid(): a for ax in fig.axes for a in ax.get_children() if a.get_gid()}
    assert {"diff:d1:A", "diff:d2:A", "diff:d2:B", "band:d1", "band:d2"} <= set(artists)
    # The band: +/- 1 example of 10 test rows = +/- 10 points.
    band = artists["band:d1"]
    assert (band.get_x(), band.get_x() + band.get_width()) == pytest.approx((-10.0, 10.0))
    assert artists["diff:d2:A"].get_xdata()[0] == pytest.approx(-5.0)
    assert artists["diff:d2:A"].get_marker() == "D" and artists["diff:d1:A"].get_marker() == "^"
    assert artists["diff:d2:B"].get_markerfacecolor() == "white"  # hollow: inconclusive
    assert figure_png(fig) == figure_png(draw_vs_baseline(table, families=["base", "A", "B"], baseline="base"))

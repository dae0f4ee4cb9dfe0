"""Degenerate cases say so: one seed, two seeds, runs that mostly diverged, a table edited by hand.

Every case is built from hand-made tables (no workflow run), with the answer known in advance."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from schedbench.report.verdict import decide
from schedbench.report.views import comparison_tables
from schedbench.report.studies import sensitivity_sentence
from schedbench.report.wording import words
from schedbench.stats import tabulate
from schedbench.tables import declared_columns, read_table, typed_frame, write_table

N_VAL = 116


def _runs(correct: dict[str, list[int]], diverged: dict[str, list[bool]] | None = None) -> pd.DataFrame:
    """Two epochs per run; the final epoch scores ``correct[schedule][seed]`` of N_VAL validation examples."""
    rows = []
    for schedule, counts in correct.items():
        for seed, k in enumerate(counts):
            lost = bool(diverged and diverged[schedule][seed])
            for epoch in (1, 2):
                rows.append({"dataset": "iris", "protocol": "tail", "schedule": schedule, "seed": seed,
                             "epoch": epoch, "lr": 0.1, "loss": math.nan if lost else 0.3, "accuracy": 0.9,
                             "val_loss": math.nan if lost else 0.2, "val_accuracy": k / N_VAL, "diverged": lost,
                             "n_val": N_VAL})
    return pd.DataFrame(rows)


def _verdict(runs: pd.DataFrame):
    summary = tabulate.summary_table(runs, resamples=200, seed=1)
    comparisons = tabulate.comparison_table(runs, baseline="baseline", resamples=200, seed=1)
    facts = decide(summary, comparisons, baseline="baseline", confidence=0.95, equivalence_examples=1)
    headline, sentences = words(facts)
    return facts, comparisons, str(headline), " ".join(str(s) for s in sentences)


def test_one_seed_makes_no_equivalence_claim_either_way():
    """One seed, 5 examples apart: the zero-width interval lies above the band, but one seed calls nothing."""
    facts, comparisons, _, text = _verdict(_runs({"baseline": [100], "better": [105]}))
    pair = facts.leader_vs_baseline
    assert pair.n_pairs == 1 and pair.diff_ci_low_adj == pair.diff_ci_high_adj  # zero width: one seed
    assert facts.equivalence == "too few seeds" and facts.band_position == "above"
    assert "Too few seeds to call equivalence either way" in text
    # The band in both units, with the rows it is counted on.
    assert "lies above +/-1 validation example (0.86 points of 116 rows)" in text
    assert "only 1 paired seeds" in text
    assert "Not practically equivalent" not in text and "Practically equivalent" not in text
    # The table's value stays False; its cell says the call was not made.
    assert not comparisons["equivalent"].any()
    main, _ = comparison_tables(comparisons, N_VAL, 0.95, "vs", "Each schedule against baseline")
    assert main.rows[0][-1] == "not called: 1 of 29 seeds"


def test_enough_seeds_still_call_non_equivalence():
    """With the minimum of seeds met, an interval above the band is a call: 'Not practically equivalent'."""
    base = [100, 101, 102, 103] * 8
    facts, comparisons, _, text = _verdict(_runs({"baseline": base, "better": [k + 5 for k in base]}))
    assert facts.equivalence == "above" and "Not practically equivalent" in text
    main, _ = comparison_tables(comparisons, N_VAL, 0.95, "vs", "Each schedule against baseline")
    assert main.rows[0][-1] == "no"


def test_two_seeds_show_hedges_dz_as_undefined_with_the_reason():
    """Won 2 of 2 by 4 and 10 examples: d_z is undefined at n = 2 (J = 0), not 0.00."""
    _, comparisons, _, _ = _verdict(_runs({"baseline": [100, 101], "better": [104, 111]}))
    row = comparisons.iloc[0]
    assert (row["wins"], row["n_pairs"]) == (2, 2) and math.isnan(row["hedges_dz"])
    _, tests = comparison_tables(comparisons, N_VAL, 0.95, "vs", "Each schedule against baseline")
    cell = tests.rows[0][tests.columns.index("Hedges d_z")]
    assert cell == "n/a (n = 2 < 3)"
    assert tests.numeric[tests.columns.index("Hedges d_z")]  # still a number column, right-aligned
    assert "fewer than 3 pairs" in tests.caption


def test_differences_without_spread_show_hedges_dz_as_undefined_with_the_reason():
    _, comparisons, _, _ = _verdict(_runs({"baseline": [100, 101, 102], "better": [104, 105, 106]}))
    _, tests = comparison_tables(comparisons, N_VAL, 0.95, "vs", "Each schedule against baseline")
    assert tests.rows[0][tests.columns.index("Hedges d_z")] == "n/a (no spread)"


def test_a_verdict_where_most_runs_diverged_leads_with_it():
    runs = _runs({"baseline": [40, 41, 40], "better": [60, 40, 41]},
                 diverged={"baseline": [True, True, False], "better": [True, True, True]})
    facts, _, headline, _ = _verdict(runs)
    assert (facts.n_diverged, facts.n_runs) == (5, 6) and facts.mostly_diverged
    _, sentences = words(facts)
    assert str(sentences[0]) == "5 of 6 runs diverged (non-finite loss); the comparison below rests on the rest."
    assert headline.startswith("5 of 6 runs diverged (non-finite loss). ")


def test_a_verdict_where_few_runs_diverged_reads_as_usual():
    runs = _runs({"baseline": [40, 41, 40], "better": [60, 40, 41]},
                 diverged={"baseline": [True, False, False], "better": [False, False, False]})
    facts, _, headline, text = _verdict(runs)
    assert facts.n_diverged == 1 and not facts.mostly_diverged
    assert "diverged" not in headline and "rests on the rest" not in text


def _sensitivity(rows: list[tuple[float, int, int, float]]) -> pd.DataFrame:
    """(lr0, n_seeds, n_diverged, median validation accuracy) of the one family 'sgd', with ``best`` as the
    statistics mark it: the top median among the grid points where not every run diverged."""
    top = max(acc for _, n, lost, acc in rows if lost < n)
    frame = [{"dataset": "iris", "protocol": "tail", "family": "sgd", "lr0": lr0, "schedule": f"sgd-{lr0:g}",
              "n_seeds": n, "n_diverged": lost, "n_val": 50, "val_accuracy_mean": acc, "val_accuracy_median": acc,
              "val_accuracy_q25": acc, "val_accuracy_q75": acc, "test_accuracy_mean": acc,
              "test_accuracy_median": acc, "test_accuracy_q25": acc, "test_accuracy_q75": acc,
              "best": lost < n and acc == top, "at_edge": False,
              **{f"{m}_finite_{s}": acc for m in ("val_accuracy", "test_accuracy") for s in ("median", "q25", "q75")}}
             for lr0, n, lost, acc in rows]
    return typed_frame(frame, declared_columns("sensitivity", ["lr0"]), ["lr0"])


def test_tuning_names_no_best_lr0_from_diverged_runs():
    """lr0 = 100000 diverged on every seed and was left with the highest accuracy (a constant guess): it is not
    the best rate; 0.1 is. A rate where most runs diverged is not named either."""
    sentence = str(sensitivity_sentence(_sensitivity([(0.1, 4, 0, 0.60), (100000.0, 4, 4, 0.70)]), None,
                                        tie_examples=1))
    assert "the best lr0 per family: 0.1 for" in sentence and "best lr0 per family: 100000" not in sentence
    every = str(sensitivity_sentence(_sensitivity([(10.0, 4, 3, 0.60), (100000.0, 4, 4, 0.70)]), None,
                                     tie_examples=1))
    assert "no lr0 trained without most runs diverging" in every and "best lr0 per family" not in every


def _summary_file(tmp_path) -> str:
    runs = _runs({"baseline": [100, 101, 102], "better": [104, 105, 106]})
    path = tmp_path / "summary.csv"
    write_table(tabulate.summary_table(runs, resamples=200, seed=1), path, "summary")
    return str(path)


def _edit(path: str, column: str, row: int, value: str) -> None:
    """Change one cell of a CSV file as a text editor would, leaving the rest byte for byte."""
    lines = open(path).read().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    cells = lines[row + 1].rstrip("\n").split(",")
    cells[header.index(column)] = value
    lines[row + 1] = ",".join(cells) + "\n"
    open(path, "w").write("".join(lines))


def test_an_edited_accuracy_fails_naming_file_column_and_row(tmp_path):
    path = _summary_file(tmp_path)
    read_table(path, "summary")  # intact: reads
    _edit(path, "mean", 1, "7.5")
    with pytest.raises(ValueError, match=r"summary\.csv: column mean, row 2 \(line 3\): 7\.5 is not a fraction "
                                         r"in \[0, 1\]"):
        read_table(path, "summary")


def test_an_edited_count_fails_naming_file_column_and_row(tmp_path):
    path = _summary_file(tmp_path)
    _edit(path, "n_seeds", 0, "2.5")
    with pytest.raises(ValueError, match=r"summary\.csv: column n_seeds, row 1 \(line 2\): 2\.5 is not a finite "
                                         r"whole number"):
        read_table(path, "summary")

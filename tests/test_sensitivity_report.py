"""The report's sentence on the learning-rate sensitivity: ties reported whole, an optimum at the grid's edge
flagged, diverged runs counted per family (hand-made sensitivity tables)."""

from __future__ import annotations

import html
import math

import pandas as pd

from schedbench.report.studies import sensitivity_sentence
from schedbench.tables import declared_columns, typed_frame

PARAMS = ["lr0", "momentum"]


def _table(lines: dict[tuple[str, float], dict[float, tuple[float, bool, bool]]], diverged=None) -> pd.DataFrame:
    """{(family, momentum): {lr0: (median, best, at_edge)}}; diverged: {(family, momentum, lr0): count}."""
    diverged = diverged or {}
    rows = []
    for (family, momentum), grid in lines.items():
        for lr0, (median, best, at_edge) in grid.items():
            rows.append({
                "dataset": "d", "protocol": "tail", "family": family, "lr0": lr0, "momentum": momentum,
                "schedule": f"{family} {lr0:g} {momentum:g}", "n_seeds": 5,
                "n_diverged": diverged.get((family, momentum, lr0), 0), "n_val": 50,
                "val_accuracy_mean": median, "val_accuracy_median": median, "val_accuracy_q25": median,
                "val_accuracy_q75": median,
                **{f"test_accuracy_{s}": math.nan for s in ("mean", "median", "q25", "q75")},
                "best": best, "at_edge": at_edge,
                **{f"{m}_finite_{s}": median
                   for m in ("val_accuracy", "test_accuracy") for s in ("median", "q25", "q75")},
            })
    return typed_frame(rows, declared_columns("sensitivity", PARAMS), PARAMS)


FLAT = {0.01: (0.80, False, False), 0.1: (0.90, True, False), 0.3: (0.90, True, False), 1.0: (0.90, True, True)}
INTERIOR = {0.01: (0.80, False, False), 0.1: (0.92, True, False), 0.3: (0.90, False, False), 1.0: (0.70, False, False)}
FALLING = {0.01: (0.95, True, True), 0.1: (0.90, False, False), 0.3: (0.85, False, False), 1.0: (0.7, False, False)}
EVERYWHERE = {0.01: (0.9, True, True), 0.1: (0.9, True, False), 0.3: (0.9, True, False), 1.0: (0.9, True, True)}


def test_a_flat_stretch_is_named_whole_and_an_edge_optimum_flagged():
    table = _table({("a", 0.0): FLAT, ("b", 0.0): INTERIOR, ("c", 0.0): EVERYWHERE})
    text = html.unescape(sensitivity_sentence(table, 0.01, tie_examples=1))
    assert text.startswith("Learning-rate sensitivity (median validation accuracy over seeds): with momentum 0, "
                           "the best lr0 per family: ")
    assert ("flat: lr0 from 0.1 to 1 scores within 1 validation example (2.00 points) of the best median for "
            "1 of 3 families (a)") in text
    assert "0.1 for 1 of 3 families (b)" in text
    assert "flat over the whole grid: lr0 from 0.01 to 1" in text and "(c)" in text
    # a's best stretch reaches the largest rate; b's optimum is interior; c is flat everywhere (said so already)
    assert ("the best lies at the grid's largest lr0 for 1 of 3 families (a): the grid does not bracket the optimum"
            in text)
    assert "smallest" not in text
    # never one rate picked among ties
    assert "the best lr0 is 0.1 for" not in text and "0.01 for" not in text
    assert "Diverged" not in text
    # every family alike: counted, not listed again
    alike = html.unescape(sensitivity_sentence(_table({("a", 0.0): INTERIOR, ("b", 0.0): INTERIOR}), None, 1))
    assert "the best lr0 per family: 0.1 for all 2 families." in alike


def test_exact_ties_and_a_second_setting_each_get_their_sentence():
    table = _table({("a", 0.0): INTERIOR, ("a", 0.9): FLAT, ("b", 0.9): FALLING})
    text = html.unescape(sensitivity_sentence(table, None, tie_examples=0))
    assert "with momentum 0, the best lr0 per family: 0.1 for 1 of 1 family (a)" in text
    assert ". With momentum 0.9, the best lr0 per family: flat: lr0 from 0.1 to 1 scores the same median as the best" \
        in text
    assert ("the best lies at the grid's largest lr0 for 1 of 2 families (a) and at its smallest lr0 for 1 of 2 "
            "families (b): the grid does not bracket the optimum") in text
    assert "article" not in text


def test_diverged_runs_are_counted_per_family():
    table = _table({("a", 0.0): INTERIOR, ("a", 0.9): INTERIOR, ("b", 0.0): FLAT},
                   diverged={("a", 0.0, 1.0): 2, ("a", 0.9, 1.0): 5, ("a", 0.9, 0.3): 1})
    text = html.unescape(sensitivity_sentence(table, 0.01, tie_examples=1))
    assert "Diverged runs (non-finite loss): a 8 of 40 (at lr0 0.3, 1);" in text
    assert "b 0 of" not in text


def test_no_best_is_named_where_every_run_diverged():
    gone = {0.1: (0.9, False, False), 1e5: (0.95, False, False)}
    table = _table({("a", 0.0): gone}, diverged={("a", 0.0, 0.1): 5, ("a", 0.0, 1e5): 5})
    text = html.unescape(sensitivity_sentence(table, None, tie_examples=1))
    assert "no lr0 trained without most runs diverging" in text and "best lr0 per family" not in text
    assert "Diverged runs (non-finite loss): a 10 of 10 (at lr0 0.1, 100000)" in text


def test_the_reference_rates_gap_names_the_families_whose_grid_holds_it():
    """Families tuned over grids of their own (SGD around 0.1, AdamW around 0.01): the reference rate's gap is of the
    families whose grid holds it, and the sentence says which, not 'each family's'."""
    adamw = {0.003: (0.85, False, True), 0.01: (0.90, True, False), 0.03: (0.88, False, True)}
    table = _table({("sgd", 0.0): INTERIOR, ("sgd-falling", 0.0): FALLING, ("adamw", 0.0): adamw})
    text = html.unescape(sensitivity_sentence(table, 0.1, tie_examples=0))
    assert ("the article's 0.1, in the grids of 2 of 3 families (sgd, sgd-falling), is 0.0 to 5.0 points below each "
            "one's best median") in text
    assert "each family's" not in text
    # every family's grid holds it: as before
    same_grid = html.unescape(sensitivity_sentence(_table({("a", 0.0): INTERIOR, ("b", 0.0): FALLING}), 0.1, 0))
    assert "the article's 0.1 is 0.0 to 5.0 points below each family's best median" in same_grid

"""check_table, load_dataset and the splits, on the bundled ionosphere file and broken variants of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from schedbench.data import DataError, check_table, load_dataset
from schedbench.splits import stratified_split, tail_split

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "bundled" / "ionosphere.data"
ROWS, FEATURES, LABELS = 351, 34, ["b", "g"]


@pytest.fixture(scope="module")
def raw() -> bytes:
    return BUNDLED.read_bytes()


def lines_of(raw: bytes) -> list[str]:
    return raw.decode("ascii").splitlines()


def join(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("ascii")


def with_cell(raw: bytes, line_no: int, col: int, value: str) -> bytes:
    """The table with the cell at 1-based line ``line_no`` and 0-based column ``col`` replaced."""
    lines = lines_of(raw)
    cells = lines[line_no - 1].split(",")
    cells[col] = value
    lines[line_no - 1] = ",".join(cells)
    return join(lines)


def check(raw: bytes, rows: int | None = ROWS):
    return check_table(raw, rows=rows, features=FEATURES, labels=LABELS, value_range=(-1.0, 1.0))


def test_bundled_file_is_the_documented_table(raw):
    frame, notes = check(raw)
    assert notes == []
    assert frame.shape == (351, 35)
    assert list(frame.columns) == [f"f{i}" for i in range(34)] + ["label"]
    assert all(frame[f"f{i}"].dtype == np.float64 for i in range(34))
    assert frame["label"].value_counts().to_dict() == {"g": 225, "b": 126}
    assert (frame["f1"] == 0.0).all()  # the article's attribute 2 is constant 0
    assert frame.iloc[:, :34].min().min() >= -1.0 and frame.iloc[:, :34].max().max() <= 1.0
    assert frame.loc[0, "f2"] == 0.99539 and frame.loc[0, "label"] == "g"


def test_crlf_and_missing_final_newline_are_the_same_table_with_notes(raw):
    expected, _ = check(raw)
    crlf_frame, crlf_notes = check(raw.replace(b"\n", b"\r\n"))
    assert crlf_frame.equals(expected)
    assert len(crlf_notes) == 1 and "CRLF" in crlf_notes[0]

    bare_frame, bare_notes = check(raw[:-1])
    assert bare_frame.equals(expected)
    assert len(bare_notes) == 1 and "newline" in bare_notes[0]


BAD_TABLES = {
    # id: (how to break the bundled bytes, words the DataError message must contain)
    "row-missing": (lambda raw: join(lines_of(raw)[:-1]), ["expected 351 rows", "got 350"]),
    "row-extra": (lambda raw: join(lines_of(raw) + lines_of(raw)[:1]), ["expected 351 rows", "got 352"]),
    "empty-file": (lambda raw: b"", ["empty"]),
    "truncated-mid-row": (lambda raw: raw[: len(raw) - 40], ["line 351", "columns, expected 35", "truncated"]),
    "extra-column": (
        lambda raw: join([line + ",0.5" if i == 9 else line for i, line in enumerate(lines_of(raw))]),
        ["line 10", "36 columns, expected 35"],
    ),
    "missing-column": (
        lambda raw: join([line.split(",", 1)[1] if i == 2 else line for i, line in enumerate(lines_of(raw))]),
        ["line 3", "34 columns, expected 35"],
    ),
    "non-numeric": (lambda raw: with_cell(raw, 5, 6, "abc"), ["line 5, column 7 (f6)", "'abc' is not a number"]),
    "nan": (lambda raw: with_cell(raw, 5, 6, "nan"), ["line 5, column 7 (f6)", "'nan' is not a number"]),
    "empty-cell": (lambda raw: with_cell(raw, 8, 3, ""), ["line 8, column 4 (f3)", "'' is not a number"]),
    "out-of-range": (lambda raw: with_cell(raw, 12, 33, "1.5"), ["line 12, column 34 (f33)", "1.5 is outside [-1, 1]"]),
    "infinite": (lambda raw: with_cell(raw, 7, 0, "-1e999"), ["line 7, column 1 (f0)", "not a finite number"]),
    "unknown-label": (
        lambda raw: with_cell(raw, 20, 34, "x"),
        ["line 20, column 35 (label)", "'x' is not one of ['b', 'g']"],
    ),
    "label-case": (lambda raw: with_cell(raw, 20, 34, "G"), ["line 20, column 35 (label)", "'G'"]),
    "blank-line-in-middle": (
        lambda raw: join(lines_of(raw)[:100] + [""] + lines_of(raw)[100:]),
        ["line 101", "blank line"],
    ),
    "blank-line-at-end": (lambda raw: raw + b"\n", ["line 352", "blank line"]),
    "not-ascii": (lambda raw: raw.replace(b"0.99539", "0.99539\u00b5".encode(), 1), ["line 1", "not ASCII"]),
}


@pytest.mark.parametrize("make_bad, expected_words", BAD_TABLES.values(), ids=BAD_TABLES.keys())
def test_bad_tables_are_rejected_naming_the_problem(raw, make_bad, expected_words):
    with pytest.raises(DataError) as caught:
        check(make_bad(raw))
    message = str(caught.value)
    for words in expected_words:
        assert words in message, f"{words!r} not in {message!r}"


def test_rows_none_accepts_any_row_count(raw):
    frame, _ = check(join(lines_of(raw)[:10]), rows=None)
    assert len(frame) == 10


def test_load_dataset_encodes_b_as_0_and_g_as_1_in_file_order(raw):
    x, y = load_dataset(BUNDLED, features=FEATURES, labels=LABELS)
    assert x.dtype == np.float32 and x.shape == (351, 34)
    assert y.dtype == np.float32 and y.shape == (351,)
    labels = [line.rsplit(",", 1)[1] for line in lines_of(raw)]
    assert y.tolist() == [1.0 if label == "g" else 0.0 for label in labels]
    assert int(y.sum()) == 225
    assert x[0, 2] == np.float32(0.99539)


def test_tail_split_matches_keras_validation_split():
    train, val = tail_split(351, 0.33)
    assert (len(train), len(val)) == (235, 116)
    assert train.tolist() == list(range(235)) and val.tolist() == list(range(235, 351))
    with pytest.raises(ValueError):
        tail_split(351, 0.0)


def test_tail_validation_set_is_mostly_g():
    _, y = load_dataset(BUNDLED, features=FEATURES, labels=LABELS)
    _, val = tail_split(len(y), 0.33)
    n_good = int(y[val].sum())
    assert (n_good, len(val) - n_good) == (107, 9)
    assert round(100 * n_good / len(val), 2) == 92.24


def test_stratified_split_sizes_proportions_and_determinism():
    _, y = load_dataset(BUNDLED, features=FEATURES, labels=LABELS)
    train, val = stratified_split(y, 116, seed=3)
    assert (len(train), len(val)) == (235, 116)
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(351))
    # 225/351 of 116 is 74.4: stratification gives 74 or 75 g.
    assert int(y[val].sum()) in (74, 75)

    again_train, again_val = stratified_split(y, 116, seed=3)
    assert np.array_equal(train, again_train) and np.array_equal(val, again_val)
    other_val = stratified_split(y, 116, seed=4)[1]
    assert not np.array_equal(val, other_val)

"""Atomic writes: the target is the old file or the whole new one, never a partial one."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from schedbench.atomic import atomic_write_bytes, write_csv


def test_atomic_write_replaces_whole_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    atomic_write_bytes(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old\n")

    with pytest.raises(TypeError):
        atomic_write_bytes(target, "text is not bytes: the write fails half-way")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_write_removes_the_temporary_a_killed_writer_of_the_same_target_left(tmp_path):
    (tmp_path / ".report.html.k1ll3d.tmp").write_text("<html><bo")  # SIGKILL mid-write: nothing could clean up
    (tmp_path / ".other.html.k1ll3d.tmp").write_text("<html>")  # another target's: not this writer's to remove
    atomic_write_bytes(tmp_path / "report.html", b"<html></html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.html.k1ll3d.tmp", "report.html"]


def test_written_file_has_ordinary_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "report.html", b"<html></html>")
    finally:
        os.umask(mask)
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == 0o644


def test_csv_is_byte_identical_across_writes(tmp_path):
    table = pd.DataFrame({"seed": [0, 1], "val_accuracy": [115 / 116, 0.1 + 0.2], "diverged": [False, True]})
    write_csv(table, tmp_path / "a.csv")
    write_csv(table, tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert pd.read_csv(tmp_path / "a.csv")["val_accuracy"].tolist() == [115 / 116, 0.1 + 0.2]

"""The report's run-time appendix, from Snakemake's benchmark files."""

from __future__ import annotations

import math
import os

import pytest

from schedbench.report.runtime import elapsed_seconds, read_benchmarks, runtime_view, step_of

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write_benchmark(root, relative: str, seconds: float, rss: float, finished: float):
    path = root / "logs" / "benchmarks" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t50\t1\n")
    os.utime(path, (finished, finished))
    return path


@pytest.fixture
def run(tmp_path):
    """A download, two training jobs side by side, then one statistics job; times in seconds since 1000."""
    return [
        (write_benchmark(tmp_path, "download/ionosphere.tsv", 1.0, 90, 1001.0), 0),
        (write_benchmark(tmp_path, "train/article/ionosphere/tail/seeds-0-49.tsv", 6.0, 740, 1008.0), 400),
        (write_benchmark(tmp_path, "train/tuning/ionosphere/heldout/seeds-0-29.tsv", 9.0, 920, 1010.0), 1800),
        (write_benchmark(tmp_path, "statistics/article/ionosphere.tsv", 3.0, 170, 1013.0), 0),
    ]


def test_step_is_the_folder_below_benchmarks(run):
    assert [step_of(path) for path, _ in run] == ["download", "train", "train", "statistics"]


def test_elapsed_runs_from_the_first_start_to_the_last_end(run):
    # The first job starts at 1000 (finished 1001 after 1 s), the last ends at 1013; the training jobs overlap.
    assert elapsed_seconds(read_benchmarks(run)) == pytest.approx(13.0)


def test_steps_and_training_runs_per_second(run):
    steps, training, sentence = runtime_view(run)
    assert [row[:4] for row in steps.rows] == [["download", "1", "1.0", "1.0"], ["train", "2", "15.0", "9.0"],
                                               ["statistics", "1", "3.0", "3.0"], ["all jobs", "4", "19.0", "9.0"]]
    assert steps.rows[-1][4] == "920"  # the peak RSS of any job
    assert [row[1] for row in training.rows] == ["400", "1800", "2200"]
    assert "2200 training runs in 15.0 s of training job time: 146.67 runs per second of training" in sentence
    assert "13.0 s: 169.23 runs per second" in sentence


def test_an_unreadable_benchmark_file_leaves_a_gap_not_an_error(run, tmp_path):
    broken = tmp_path / "logs" / "benchmarks" / "figures" / "article" / "ionosphere.tsv"
    broken.parent.mkdir(parents=True)
    broken.write_text("not a benchmark\n")
    frame = read_benchmarks([*run, (broken, 0)])
    assert math.isnan(frame["seconds"].iloc[-1])
    assert math.isnan(elapsed_seconds(frame))
    steps, _, sentence = runtime_view([*run, (broken, 0)])
    assert steps.rows[-2][:4] == ["figures", "1", "n/a", "n/a"]
    assert "2200 training runs" in sentence

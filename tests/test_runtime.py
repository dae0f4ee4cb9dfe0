"""The report's run-time appendix, from Snakemake's benchmark files."""

from __future__ import annotations

import math
import os

import pytest

from schedbench.report.runtime import PAUSE_S, elapsed_seconds, last_run, read_benchmarks, runtime_view, step_of

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
                                               ["statistics", "1", "3.0", "3.0"], ["last run", "4", "19.0", "9.0"]]
    assert steps.rows[-1][4:] == ["920", "0"]  # the peak RSS of any job; no job of an earlier run
    assert [row[1:3] for row in training.rows] == [["last", "400"], ["last", "1800"], ["last", "2200"]]
    assert "in which no job ran): 4 of the 4 jobs" in sentence and "earlier runs" not in sentence
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


def test_jobs_of_an_earlier_run_are_apart_and_in_no_total(run, tmp_path):
    """A partial rerun: the training jobs and the download were kept from a run that ended long before; only the
    aggregate and statistics jobs ran again. The end-to-end span is theirs, not from the first run's start."""
    earlier = [
        (write_benchmark(tmp_path, "download/wine.tsv", 2.0, 95, 102.0), 0),
        (write_benchmark(tmp_path, "train/tuning/wine/heldout/seeds-0-29.tsv", 30.0, 800, 140.0), 1800),
    ]
    rerun = [
        (write_benchmark(tmp_path, "aggregate/tuning/wine.tsv", 4.0, 300, 2000.0), 0),
        (write_benchmark(tmp_path, "tuning_statistics/tuning/wine.tsv", 5.0, 400, 2006.0), 0),
    ]
    benchmarks = [*earlier, *rerun]
    assert list(last_run(read_benchmarks(benchmarks))) == [False, False, True, True]
    steps, training, sentence = runtime_view(benchmarks)
    assert steps.rows == [["download", "0", "–", "–", "–", "1"], ["train", "0", "–", "–", "–", "1"],
                          ["aggregate", "1", "4.0", "4.0", "300", "0"],
                          ["tuning_statistics", "1", "5.0", "5.0", "400", "0"],
                          ["last run", "2", "9.0", "5.0", "400", "2"]]
    assert [row[1:3] for row in training.rows] == [["earlier", "1800"], ["last", "0"]]
    assert "in which no job ran): 2 of the 4 jobs behind this report" in sentence
    assert "no training job" in sentence
    # From the start of the aggregate job (1996) to the end of the statistics job (2006), not from 100.
    assert "End to end, from the start of its first job to the end of its last, 10.0 s." in sentence
    assert "The other 2 jobs ended before such a pause: they are from earlier runs" in sentence


def test_the_last_run_is_every_job_linked_to_the_last_one_without_a_long_pause(run, tmp_path):
    """Pauses shorter than PAUSE_S chain jobs into one run (a queue wait on a cluster), before and after; a longer
    one ends it."""
    pause = PAUSE_S - 1
    chained_end = 1000.0 - pause  # the run's first job starts at 1000
    benchmarks = [
        (write_benchmark(tmp_path, "download/sonar.tsv", 1.0, 90, chained_end - 1.0 - pause - 1.0 - PAUSE_S - 1.0), 0),
        (write_benchmark(tmp_path, "download/wine.tsv", 1.0, 90, chained_end - 1.0 - pause), 0),
        (write_benchmark(tmp_path, "train/tuning/wine/heldout/seeds-0-9.tsv", 1.0, 90, chained_end), 1),
        *run,  # 1000 to 1013
        (write_benchmark(tmp_path, "suite/tuning.tsv", 2.0, 90, 1013.0 + pause + 2.0), 0),
    ]
    assert list(last_run(read_benchmarks(benchmarks))) == [False] + [True] * 7


def test_a_long_job_links_the_jobs_that_ended_while_it_ran(run, tmp_path):
    benchmarks = [
        (write_benchmark(tmp_path, "download/wine.tsv", 1.0, 90, 500.0), 0),
        (write_benchmark(tmp_path, "download/sonar.tsv", 1.0, 90, 300.0), 0),
        (write_benchmark(tmp_path, "train/tuning/wine/heldout/seeds-0-9.tsv", 600.0, 90, 1014.0), 1),  # from 414
        *run,
    ]
    assert list(last_run(read_benchmarks(benchmarks), pause_s=10)) == [True, False, True, True, True, True, True]

"""The figures and the HTML report, end to end on a small but real results set.

The results come from the replica engine on a tiny configuration (4 seeds x 3 schedules x 4 epochs, both
protocols), written as the workflow writes them; figures and the report are rendered into tmp_path.
``build_report`` is also used by tests/test_browser.py.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from schedbench import plots, report, stats, training
from schedbench.config import chunk_names, load_config, seed_chunks
from schedbench.io import write_csv

ROOT = Path(__file__).resolve().parents[1]
DATASET = "ionosphere"
SCHEDULES = ("baseline", "time-decay", "plateau")
SECTIONS = ("verdict", "figures", "summary", "comparisons", "friedman", "replication", "schedules", "diverged",
            "methods", "provenance", "pairs", "runtime")


def tiny_config() -> dict:
    config = load_config(ROOT / "config.yaml")
    config = copy.deepcopy(config)
    config["protocols"] = ["tail", "resplit"]
    config["training"].update(seeds={"start": 0, "count": 4}, seeds_per_job=2, epochs=4, engine="replica")
    config["schedules"] = {name: config["schedules"][name] for name in SCHEDULES}
    config["schedules"]["plateau"] = dict(config["schedules"]["plateau"], patience=1)
    config["report"]["bootstrap_resamples"] = 1000
    config["report"]["article"] = {k: v for k, v in config["report"]["article"].items() if k in SCHEDULES}
    return config


def write_stats(config: dict, runs: pd.DataFrame, where: Path) -> None:
    rep = config["report"]
    kwargs = dict(confidence=rep["confidence"], resamples=rep["bootstrap_resamples"], seed=rep["rng_seed"])
    write_csv(stats.summary_table(runs, target_accuracy=rep["target_accuracy"], **kwargs), where / "summary.csv")
    write_csv(stats.comparison_table(runs, baseline=rep["baseline"], **kwargs), where / "comparisons.csv")
    write_csv(stats.friedman_table(runs), where / "friedman.csv")


def build_results(config: dict, root: Path) -> dict:
    """Train every chunk of every protocol with the replica engine and write what the workflow writes."""
    spec = config["datasets"][DATASET]
    data_path = ROOT / spec["bundled"]
    runs, predictions, benchmarks = [], [], []
    for protocol in config["protocols"]:
        for name, seeds in zip(chunk_names(config["training"]), seed_chunks(config["training"])):
            started = time.perf_counter()
            inputs = training.prepare_job(config, DATASET, protocol, seeds, data_path)
            result = training.run_engine("replica", inputs)
            r, p = training.result_tables(inputs, result, DATASET, protocol, spec["labels"])
            seconds = time.perf_counter() - started
            bench = root / "logs" / "benchmarks" / "train" / DATASET / protocol / f"{name}.tsv"
            bench.parent.mkdir(parents=True, exist_ok=True)
            bench.write_text("s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
                             f"{seconds:.4f}\t0:00:0{int(seconds) % 10}\t512.5\t2048.0\t400.0\t410.0\t0.0\t1.0\t90.0\t"
                             f"{seconds:.2f}\n")
            benchmarks.append((bench, len(seeds) * len(config["schedules"])))
            runs.append(r)
            predictions.append(p)
    runs = pd.concat(runs, ignore_index=True)
    predictions = pd.concat(predictions, ignore_index=True)
    where = root / "results" / DATASET
    write_csv(runs, where / "runs.csv")
    write_csv(predictions, where / "predictions.csv")
    write_stats(config, runs, where)
    body = data_path.read_bytes()
    provenance = {
        "dataset": DATASET, "source": "bundled", "url": str(spec["bundled"]),
        "sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body),
        "attempts": [{"url": spec["urls"][0], "attempt": 1, "error": "offline in the test"}],
        "notes": ["No URL gave a valid copy; the bundled copy was used."],
    }
    (root / "data" / "raw").mkdir(parents=True, exist_ok=True)
    (root / "data" / "raw" / f"{DATASET}.provenance.json").write_text(json.dumps(provenance))
    return {"runs": runs, "predictions": predictions, "benchmarks": benchmarks, "provenance": provenance}


def build_report(root: Path) -> dict:
    """Results, figures and the report under ``root``; returns the pieces the tests look at."""
    config = tiny_config()
    built = build_results(config, root)
    figures = plots.save_figures(config, DATASET, root / "results", root / "figures" / DATASET)
    out = root / "report" / "report.html"
    report.render_report(config, [DATASET], root / "results", {DATASET: figures}, {DATASET: built["provenance"]},
                         built["benchmarks"], out)
    return dict(built, config=config, figures=figures, report=out, root=root)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_report(tmp_path_factory.mktemp("report"))


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def _tags(html: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _section(html: str, section_id: str) -> str:
    start = html.index(f'<section id="{section_id}">')
    end = html.index("</section>", start)
    return html[start:end]


# --------------------------------------------------------------------------------------------------
def test_report_is_one_file(built):
    files = [p for p in built["report"].parent.iterdir()]
    assert files == [built["report"]]
    html = built["report"].read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")


def test_report_has_every_section_in_order(built):
    html = built["report"].read_text(encoding="utf-8")
    positions = [html.index(f'<section id="{name}">') for name in SECTIONS]
    assert positions == sorted(positions), "verdict first, then figures, tables, methods, provenance, appendices"
    for heading in ("Verdict", "Figures", "Per-schedule statistics", "Each schedule against the baseline",
                    "Friedman omnibus test", "Replication of the article", "Schedules", "Diverged runs", "Methods",
                    "Provenance", "Appendix A: all pairs", "Appendix B: run time"):
        assert f">{heading}</h" in html


def test_every_image_is_an_embedded_png_with_alt_text(built):
    html = built["report"].read_text(encoding="utf-8")
    images = [attrs for tag, attrs in _tags(html) if tag == "img"]
    assert len(images) == len(plots.figure_names(built["config"]))
    for attrs in images:
        assert attrs["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(attrs["src"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
        assert attrs.get("alt", "").strip()


def test_no_external_reference(built):
    html = built["report"].read_text(encoding="utf-8")
    for tag, attrs in _tags(html):
        assert tag not in ("script", "link", "iframe", "object", "embed"), tag
        for name, value in attrs.items():
            if name in ("src", "href", "srcset", "action", "poster", "data", "style"):
                assert "http://" not in (value or "") and "https://" not in (value or ""), (tag, name, value)
            if name == "href":
                assert value.startswith("#"), value
    assert not re.search(r"url\(\s*['\"]?(?!data:)", html), "CSS must not load anything"
    assert "@import" not in html


def test_verdict_names_a_schedule_and_says_how_sure(built):
    html = built["report"].read_text(encoding="utf-8")
    verdict = _section(html, "verdict")
    named = re.findall(r"<strong>([^<]+)</strong>", verdict)
    assert set(named) & set(SCHEDULES)
    for protocol in built["config"]["protocols"]:
        assert f'id="verdict-{DATASET}-{protocol}"' in verdict
    assert "P(A&gt;B)" in verdict and "Holm" in verdict and "equivalen" in verdict.lower()
    assert "How the conclusions differ between protocols" in verdict


def test_summary_numbers_appear(built):
    html = built["report"].read_text(encoding="utf-8")
    summary = pd.read_csv(built["root"] / "results" / DATASET / "summary.csv")
    for _, row in summary.iterrows():
        assert report.pct_k(row["mean"], int(row["n_val"])) in html
        assert report.interval(row["ci_low"], row["ci_high"]) in html
    comparisons = pd.read_csv(built["root"] / "results" / DATASET / "comparisons.csv")
    for _, row in comparisons.iterrows():
        assert f"{int(row['wins'])} / {int(row['ties'])} / {int(row['losses'])}" in html


def test_replication_majority_and_noise_floor(built):
    html = built["report"].read_text(encoding="utf-8")
    section = _section(html, "replication")
    # 107 of the 116 tail validation rows are 'g'.
    assert "92.24 %" in section
    # The article's 99.14 % is 115/116, whose Wilson 95 % interval is [95.28, 99.85] %.
    assert "115/116" in section and "[95.28, 99.85]" in section


def test_schedule_table_and_lr_note(built):
    html = built["report"].read_text(encoding="utf-8")
    section = _section(html, "schedules")
    for name in SCHEDULES:
        assert f"<th scope=\"row\">{name}</th>" in section
    assert "start at a learning rate of 0.1" in section
    assert "rate of the epoch&#39;s first update" in section


def test_provenance_and_runtime(built):
    html = built["report"].read_text(encoding="utf-8")
    provenance = _section(html, "provenance")
    assert built["provenance"]["sha256"] in provenance
    assert "tensorflow" in provenance and "UTC" in provenance
    assert "baseline: baseline" in provenance  # the configuration as YAML
    runtime = _section(html, "runtime")
    total_runs = sum(n for _, n in built["benchmarks"])
    assert f"{total_runs} training runs" in runtime and "runs per second" in runtime


def test_figures_are_deterministic(built, tmp_path):
    again = plots.save_figures(built["config"], DATASET, built["root"] / "results", tmp_path / "again")
    assert list(again) == plots.figure_names(built["config"]) == list(built["figures"])
    for name, path in built["figures"].items():
        assert path.name == f"{name}.png"
        assert path.read_bytes() == again[name].read_bytes(), name
        assert b"tEXtSoftware" not in path.read_bytes() and b"Creation" not in path.read_bytes()


def test_figure_functions_return_titled_figures(built):
    config = built["config"]
    tables = plots.read_results(built["root"] / "results", DATASET)
    figures = plots.build_figures(config, DATASET, tables)
    for name, fig in figures.items():
        axes = [ax for ax in fig.axes if ax.get_visible()]
        assert axes, name
        titled = fig.get_suptitle() or any(ax.get_title() for ax in axes)
        assert titled, name
        assert any(ax.get_xlabel() for ax in axes) and any(ax.get_ylabel() for ax in axes), name


def test_diverged_runs_are_listed(built, tmp_path):
    config = built["config"]
    runs = built["runs"].copy()
    bad = (runs["protocol"] == "tail") & (runs["schedule"] == "time-decay") & (runs["seed"] == 1) & (runs["epoch"] >= 3)
    runs.loc[bad, ["loss", "val_loss"]] = np.nan
    runs.loc[bad, "diverged"] = True
    where = tmp_path / "results" / DATASET
    write_csv(runs, where / "runs.csv")
    write_csv(built["predictions"], where / "predictions.csv")
    write_stats(config, runs, where)
    out = tmp_path / "report.html"
    report.render_report(config, [DATASET], tmp_path / "results", {DATASET: built["figures"]}, {}, [], out)
    section = _section(out.read_text(encoding="utf-8"), "diverged")
    assert "1 run diverged" in section
    assert re.search(r'<tr class="diverged">\s*<th scope="row">tail</th><td>time-decay</td><td class="num">1</td>'
                     r'<td class="num">3</td>', section)
    assert "No benchmark files were given" in out.read_text(encoding="utf-8")


def _synthetic_runs(correct: dict[str, list[int]], n_val: int = 116) -> pd.DataFrame:
    rows = []
    for schedule, counts in correct.items():
        for seed, k in enumerate(counts):
            for epoch in (1, 2):
                rows.append({"dataset": DATASET, "protocol": "tail", "schedule": schedule, "seed": seed,
                             "epoch": epoch, "lr": 0.1, "loss": 0.3, "accuracy": 0.9, "val_loss": 0.2,
                             "val_accuracy": k / n_val, "diverged": False, "n_val": n_val})
    return pd.DataFrame(rows)


def test_verdict_says_plainly_when_nothing_beats_the_baseline():
    rng = np.random.default_rng(3)
    base = list(rng.integers(108, 114, size=12))
    runs = _synthetic_runs({"baseline": base, "other": [k + d for k, d in zip(base, [1, -1, 0] * 4)]})
    summary = stats.summary_table(runs, resamples=500, seed=1)
    comparisons = stats.comparison_table(runs, baseline="baseline", resamples=500, seed=1)
    headline, sentences, best, convincing = report.verdict(summary, comparisons, baseline="baseline",
                                                           confidence=0.95)
    text = " ".join(str(s) for s in sentences)
    assert convincing == []
    assert "No schedule beats the baseline convincingly" in text
    assert "Practically equivalent" in text or "practically equivalent" in text.lower()


def test_verdict_reports_a_clear_winner():
    base = [100, 101, 102, 103, 104, 105] * 6
    runs = _synthetic_runs({"baseline": base, "better": [k + 4 for k in base]})
    summary = stats.summary_table(runs, resamples=500, seed=1)
    comparisons = stats.comparison_table(runs, baseline="baseline", resamples=500, seed=1)
    headline, sentences, best, convincing = report.verdict(summary, comparisons, baseline="baseline",
                                                           confidence=0.95)
    assert best == "better" and convincing == ["better"]
    assert "<strong>better</strong> has the highest mean: +4.0 examples (+3.45 points)" in str(headline)
    text = " ".join(str(s) for s in sentences)
    assert "36 of 36 seeds" in text and "significant and meaningful" in text
    assert "Not practically equivalent" in text


def test_user_text_is_escaped(built, tmp_path):
    provenance = dict(built["provenance"], notes=["<script>alert(1)</script>"])
    out = tmp_path / "r.html"
    report.render_report(built["config"], [DATASET], built["root"] / "results", {DATASET: built["figures"]},
                         {DATASET: provenance}, [], out)
    html = out.read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_verdict_names_no_single_winner_among_equivalent_leaders_and_flags_optimizer_change():
    base = [100, 101, 102, 103, 104, 105] * 6
    twin = [k + 4 for k in base]
    # decay-b: the same as decay-a but one example worse on 6 seeds and one better on 6 others.
    runs = _synthetic_runs({"baseline": base, "decay-a": twin,
                            "decay-b": [k - (i % 6 == 0) + (i % 6 == 3) for i, k in enumerate(twin)]})
    summary = stats.summary_table(runs, resamples=500, seed=1)
    comparisons = stats.comparison_table(runs, baseline="baseline", resamples=500, seed=1)
    headline, sentences, best, convincing = report.verdict(
        summary, comparisons, baseline="baseline", confidence=0.95,
        optimizers={"baseline": (0.0, False), "decay-a": (0.9, False), "decay-b": (0.9, True)})
    text = " ".join(str(s) for s in sentences)
    assert best in {"decay-a", "decay-b"} and set(convincing) == {"decay-a", "decay-b"}
    assert "no single winner" in str(headline)
    assert "The top is not settled" in text
    assert "momentum 0.9" in text and "momentum 0" in text

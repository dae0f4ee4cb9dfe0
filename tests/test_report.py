"""The HTML report, end to end on a small but real results set, and its verdict and captions on their own.

The results come from the replica engine on a tiny configuration (4 seeds x 3 schedules x 4 epochs, both
protocols), written as the workflow writes them (runs, predictions, the statistics rule's tables, the figures);
the report is rendered into tmp_path. ``build_report`` is also used by tests/test_browser.py.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import html as html_module
import io
import json
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import Markup, escape
from PIL import Image

from conftest import load_repo_config

from schedbench import engines, jobs, studies
from schedbench.config import validate_config
from schedbench.plan import build_plan
from schedbench.figures.build import save_figures
from schedbench.figures.registry import (
    FIGURES,
    SUITE_FIGURES,
    TUNING_FIGURES,
    figure_settings,
    figure_stems,
    sensitivity_settings,
)
from schedbench.figures.sensitivity import draw_sensitivity
from schedbench.figures.style import figure_png
from schedbench.report import render_report
from schedbench.report.captions import embedded_png, render_caption, render_captions
from schedbench.protocols import PROTOCOLS
from schedbench.report.provenance import without_machine_paths
from schedbench.report.format import interval, pct_k, pvalue, pvalue_mc
from schedbench.report.verdict import Facts, Pair, decide, oriented
from schedbench.report.views import comparison_tables, summary_tables
from schedbench.report.wording import optimizer_words, protocol_difference, words
from schedbench.stats import studies as study_stats
from schedbench.stats import tabulate
from schedbench.stats.reading import Reading
from schedbench.tables import (
    STATISTICS_TABLES,
    TUNING_TABLES,
    declared_columns,
    read_table,
    sort_rows,
    typed_frame,
    write_table,
)

ROOT = Path(__file__).resolve().parents[1]
DATASET = "ionosphere"
SCHEDULES = ("baseline", "time-decay", "plateau")
SECTIONS = ("verdict", "attribution", "sensitivity", "tuned", "figures", "summary", "comparisons", "friedman",
            "replication", "schedules", "diverged", "methods", "provenance", "pairs", "runtime")
TABLES = ("runs", *STATISTICS_TABLES)


def tiny_config() -> dict:
    """Both studies of config.yaml, small: the article study on 3 schedules under both protocols (4 seeds), the
    tuning study on a 2 x 2 grid (3 seeds), 4 epochs."""
    config = copy.deepcopy(load_repo_config())
    del config["studies"]["optimizers"]
    config["training"].update(seeds_per_job=2, epochs=4, engine="replica")
    config["schedules"] = {name: config["schedules"][name] for name in SCHEDULES}
    config["schedules"]["plateau"] = dict(config["schedules"]["plateau"], patience=1)
    config["studies"]["article"].update(protocols=["tail", "resplit"], schedules=list(SCHEDULES),
                                        seeds={"start": 0, "count": 4})
    config["studies"]["tuning"].update(datasets=[DATASET], schedules=list(SCHEDULES), seeds={"start": 0, "count": 3},
                                       overrides={},
                                       grid={"lr0": [0.1, 0.3], "optimizer": {"momentum": [0.0, 0.9]}})
    config["report"]["bootstrap_resamples"] = 1000
    config["report"]["article"] = {k: v for k, v in config["report"]["article"].items() if k in SCHEDULES}
    return validate_config(config)


def captions() -> dict[str, str]:
    """The figures' captions as the workflow hands them to the report: the text of workflow/report/<name>.rst."""
    return {spec.name: (ROOT / "workflow" / "report" / spec.caption_file).read_text(encoding="utf-8")
            for spec in (*FIGURES, *TUNING_FIGURES, *SUITE_FIGURES)}


def write_stats(config: dict, runs: pd.DataFrame, predictions: pd.DataFrame, where: Path,
                study: str = "article") -> dict[str, Path]:
    """The statistics rule's tables, written as it writes them; returns {table name: path} with the runs."""
    plan = build_plan(config)
    tables = study_stats.statistics_tables(
        runs, predictions, plan.report, attributions=plan.studies[study].attributions,
        compared=plan.studies[study].compared, test_train_ratios=plan.corrected_t_ratios(study, DATASET))
    write_table(runs, where / "runs.csv", "runs")
    for name, table in tables.items():
        write_table(table, where / f"{name}.csv", name)
    return {name: where / f"{name}.csv" for name in TABLES}


def write_tuning_stats(config: dict, runs: pd.DataFrame, where: Path) -> dict[str, Path]:
    """The tuning statistics rule's tables, written as it writes them."""
    for name, table in study_stats.tuning_tables(runs, config["report"]).items():
        write_table(table, where / f"{name}.csv", name)
    return {name: where / f"{name}.csv" for name in TUNING_TABLES}


def train_study(config: dict, study: str, root: Path, benchmarks: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every chunk of every protocol of one study, trained with the replica engine as the train rule trains it,
    and aggregated as the aggregate rule does (runs, predictions)."""
    data_path = ROOT / config["datasets"][DATASET]["bundled"]
    plan = build_plan(config)
    settings = plan.job_settings(study, DATASET)
    runs, predictions = [], []
    for protocol in plan.studies[study].protocols:
        for name, seeds in plan.studies[study].chunks.items():
            started = time.perf_counter()
            inputs = jobs.prepare_job(settings, protocol, seeds, data_path)
            result = engines.run_engine("replica", inputs)
            r, p = jobs.result_tables(inputs, result, settings, DATASET, protocol)
            seconds = time.perf_counter() - started
            bench = root / "logs" / "benchmarks" / "train" / study / DATASET / protocol / f"{name}.tsv"
            bench.parent.mkdir(parents=True, exist_ok=True)
            bench.write_text("s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
                             f"{seconds:.4f}\t0:00:0{int(seconds) % 10}\t512.5\t2048.0\t400.0\t410.0\t0.0\t1.0\t90.0\t"
                             f"{seconds:.2f}\n")
            benchmarks.append((bench, len(seeds) * len(inputs.schedules)))
            runs.append(r)
            predictions.append(p)
    order = ([v.name for v in studies.variants(config, study)], config["studies"][study]["protocols"])
    return (sort_rows(pd.concat(runs, ignore_index=True), *order),
            sort_rows(pd.concat(predictions, ignore_index=True), *order))


def build_results(config: dict, root: Path) -> dict:
    """Train both studies with the replica engine and write what the workflow writes."""
    spec = config["datasets"][DATASET]
    data_path = ROOT / spec["bundled"]
    benchmarks = []
    runs, predictions = train_study(config, "article", root, benchmarks)
    where = root / "results" / "article" / DATASET
    write_table(predictions, where / "predictions.csv", "predictions")
    tables = write_stats(config, runs, predictions, where)
    tuning_runs, _ = train_study(config, "tuning", root, benchmarks)
    tuning_tables = write_tuning_stats(config, tuning_runs, root / "results" / "tuning" / DATASET)
    body = data_path.read_bytes()
    provenance = {
        "dataset": DATASET, "source": "bundled", "url": str(spec["bundled"]),
        "sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body),
        "attempts": [{"url": spec["urls"][0], "attempt": 1, "error": "offline in the test"}],
        "notes": ["No URL gave a valid copy; the bundled copy was used."],
    }
    provenance_path = root / "data" / "raw" / f"{DATASET}.provenance.json"
    provenance_path.parent.mkdir(parents=True, exist_ok=True)
    provenance_path.write_text(json.dumps(provenance))
    return {"runs": runs, "predictions": predictions, "benchmarks": benchmarks, "provenance": provenance,
            "provenance_path": provenance_path, "tables": tables, "tuning_runs": tuning_runs,
            "tuning_tables": tuning_tables}


def results_of(built: dict, tables: dict | None = None) -> dict:
    """The report's ``results`` argument: study -> dataset -> tables."""
    return {"article": {DATASET: tables or built["tables"]}, "tuning": {DATASET: built["tuning_tables"]}}


def figures_of(built: dict) -> dict:
    return {"article": {DATASET: built["figures"]}, "tuning": {DATASET: {"sensitivity": built["sensitivity"]}}}


def build_report(root: Path) -> dict:
    """Results, figures and the report under ``root``; returns the pieces the tests look at."""
    config = tiny_config()
    built = build_results(config, root)
    plan = build_plan(config)
    built["figures"] = save_figures(figure_settings(plan, "article", DATASET), built["tables"],
                                    root / "figures" / "article" / DATASET)
    sensitivity = read_table(built["tuning_tables"]["sensitivity"], "sensitivity")
    built["sensitivity"] = root / "figures" / "tuning" / DATASET / "sensitivity.png"
    built["sensitivity"].parent.mkdir(parents=True, exist_ok=True)
    built["sensitivity"].write_bytes(figure_png(draw_sensitivity(
        sensitivity, **sensitivity_settings(plan, "tuning", DATASET))))
    out = root / "report" / "report.html"
    render_report(plan, results_of(built), figures_of(built), captions(), {DATASET: built["provenance_path"]},
                  built["benchmarks"], out)
    return dict(built, config=config, plan=plan, report=out, root=root)


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
    assert positions == sorted(positions), (
        "verdict first, then schedule or optimizer, sensitivity, tuned comparison, figures, tables, methods, "
        "provenance, appendices")
    for heading in ("Verdict", "Schedule or optimizer?", "Learning-rate sensitivity", "Tuned comparison", "Figures", "Per-schedule statistics", "Each schedule against the baseline",
                    "Friedman omnibus test", "Replication of the article", "Schedules", "Diverged runs", "Methods",
                    "Provenance", "Appendix A: all pairs", "Appendix B: run time"):
        assert f">{heading}</h" in html


def test_every_image_is_an_embedded_png_with_alt_text(built):
    html = built["report"].read_text(encoding="utf-8")
    images = [attrs for tag, attrs in _tags(html) if tag == "img"]
    assert len(images) == len(figure_stems(built["config"]["studies"]["article"]["protocols"])) + 1  # sensitivity
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
            if name == "href":  # an anchor, or a table's rows embedded for download
                assert value.startswith(("#", "data:text/csv;charset=utf-8;base64,")), value[:60]
    assert not re.search(r"url\(\s*['\"]?(?!data:)", html), "CSS must not load anything"
    assert "@import" not in html


def test_verdict_names_a_schedule_and_says_how_sure(built):
    html = built["report"].read_text(encoding="utf-8")
    verdict = _section(html, "verdict")
    named = re.findall(r"<strong>([^<]+)</strong>", verdict)
    assert set(named) & set(SCHEDULES)
    for protocol in built["config"]["studies"]["article"]["protocols"]:
        assert f'id="verdict-{DATASET}-{protocol}"' in verdict
    assert "P(A&gt;B)" in verdict and "Holm" in verdict and "equivalen" in verdict.lower()
    assert "How the conclusions differ between protocols" in verdict


def test_the_first_verdict_is_not_the_confounded_comparison(built):
    """The article's own comparison pairs each schedule with its own momentum: the page must open with a design
    that removes that confound (the tuned comparison on held-out rows, then the attribution), and label the
    configured comparison as mixing schedule and optimizer."""
    verdict = _section(built["report"].read_text(encoding="utf-8"), "verdict")
    first = verdict.index("<h3")
    assert verdict.startswith('<h3>The answer: every family tuned over the same number of settings', first)
    order = [verdict.index(f'id="{part}"') for part in ("verdict-tuned", "verdict-attribution", "verdict-as-configured")]
    assert order == sorted(order)
    assert all(verdict.index(f'id="verdict-{DATASET}-{p}"') > order[-1]
               for p in built["config"]["studies"]["article"]["protocols"])
    configured = verdict[order[-1]:verdict.index("</h3>", order[-1])]
    assert "a difference mixes schedule and optimizer" in configured


def test_the_attribution_says_why_momentum_moves_the_baseline(built):
    """Heavy-ball momentum m makes SGD step lr0 / (1 - m): the controls of 0.8 and 0.9 step 5 and 10 times the
    baseline's 0.1, the explanation of the optimizer's part."""
    verdict = html_module.unescape(_section(built["report"].read_text(encoding="utf-8"), "verdict"))
    assert "SGD's steady step is lr0 / (1 - m)" in verdict
    assert "baseline momentum=0.8 steps like plain SGD at 0.5 (lr0 0.1, momentum 0.8), 5 times the baseline's 0.1" in verdict
    assert "baseline momentum=0.9 steps like plain SGD at 1 (lr0 0.1, momentum 0.9), 10 times the baseline's 0.1" in verdict


def test_controls_are_described_and_attributed_but_not_compared(built):
    summary = read_table(built["tables"]["summary"], "summary")
    controls = ["baseline momentum=0.8", "baseline momentum=0.9"]
    assert set(controls) <= set(summary["schedule"])
    assert list(summary.columns[-2:]) == ["family", "momentum"]
    assert summary.set_index("schedule").loc[controls, "family"].eq("baseline").all()
    comparisons = read_table(built["tables"]["comparisons"], "comparisons")
    assert not set(controls) & (set(comparisons["a"]) | set(comparisons["b"]))
    assert (comparisons.loc[comparisons["vs_baseline"], "family_size"] == len(SCHEDULES) - 1).all()
    attribution = read_table(built["tables"]["attribution"], "attribution")
    assert set(attribution["control"]) == set(controls)
    html = built["report"].read_text(encoding="utf-8")
    section = _section(html, "attribution")
    assert "mostly" in section or "neither shown" in section or "the schedule" in section
    assert "Learning-rate sensitivity (median validation accuracy over seeds): with momentum 0, the best lr0" in html


def test_summary_numbers_appear(built):
    html = built["report"].read_text(encoding="utf-8")
    summary = read_table(built["tables"]["summary"], "summary")
    for _, row in summary.iterrows():
        assert pct_k(row["mean"], int(row["n_val"])) in html
        assert interval(row["ci_low"], row["ci_high"]) in html
    comparisons = read_table(built["tables"]["comparisons"], "comparisons")
    for _, row in comparisons.iterrows():
        assert f"{int(row['wins'])} / {int(row['ties'])} / {int(row['losses'])}" in html


def test_replication_majority_and_noise_floor(built):
    html = built["report"].read_text(encoding="utf-8")
    section = _section(html, "replication")
    # 107 of the 116 tail validation rows are 'g'.
    assert "92.24 %" in section
    # The article's 99.14 % is 115/116, whose Wilson 95 % interval is [95.28, 99.85] %.
    assert "115/116" in section and "[95.28, 99.85]" in section


def test_figure_captions_come_from_the_rst_files(built):
    html = built["report"].read_text(encoding="utf-8")
    section = _section(html, "figures")
    # improvement.rst marks the two readings as *emphasis*; docutils renders that as <em>.
    assert "<em>significant</em>" in section and "<em>meaningful</em>" in section
    # schedules.rst writes the column name as an ``inline literal``.
    assert '<span class="docutils literal">lr</span>' in section
    assert "*significant*" not in section and "``" not in section
    for spec in FIGURES:
        assert f"<strong>{escape(spec.title)}" in section


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
    assert 'id="runtime-steps"' in runtime and 'id="runtime-table"' in runtime


def test_diverged_runs_are_listed(built, tmp_path):
    config = built["config"]
    runs = built["runs"].copy()
    bad = (runs["protocol"] == "tail") & (runs["schedule"] == "time-decay") & (runs["seed"] == 1) & (runs["epoch"] >= 3)
    runs.loc[bad, ["loss", "val_loss"]] = np.nan
    runs.loc[bad, "diverged"] = True
    tables = write_stats(config, runs, built["predictions"], tmp_path / "results" / DATASET)
    out = tmp_path / "report.html"
    render_report(built["plan"], results_of(built, tables), figures_of(built), captions(), {}, [], out)
    section = _section(out.read_text(encoding="utf-8"), "diverged")
    assert "1 run diverged" in section
    assert re.search(r'<tr class="diverged">\s*<th scope="row">tail</th><td>time-decay</td><td class="num">1</td>'
                     r'<td class="num">3</td>', section)
    assert "No benchmark files were given" in out.read_text(encoding="utf-8")


def test_user_text_is_escaped(built, tmp_path):
    provenance = tmp_path / f"{DATASET}.provenance.json"
    provenance.write_text(json.dumps(dict(built["provenance"], notes=["<script>alert(1)</script>"])))
    out = tmp_path / "r.html"
    render_report(built["plan"], results_of(built), figures_of(built), captions(), {DATASET: provenance}, [], out)
    html = out.read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_report_imports_no_statistics_and_no_drawing():
    """The report words numbers other rules computed: importing it loads neither the statistics nor a plotting
    library; of stats/ only the enum of the readings it puts into words."""
    code = ("import sys, schedbench.report.render; "
            "print(sorted(m for m in sys.modules if m.startswith(('schedbench.stats', 'schedbench.figures.build', "
            "'schedbench.figures.results', 'schedbench.figures.schedules', 'schedbench.figures.sensitivity', "
            "'matplotlib', 'scipy'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['schedbench.stats', 'schedbench.stats.reading']"


# --------------------------------------------------------------------------------------------------
# captions
# --------------------------------------------------------------------------------------------------
def test_caption_is_rendered_from_restructured_text():
    html = render_caption("demo", "P(A > B) is *significant*; see the ``lr`` column.\n\nA second paragraph.")
    assert isinstance(html, Markup)
    assert html.startswith("<p>P(A &gt; B) is <em>significant</em>; see the ")
    assert '<span class="docutils literal">lr</span> column.</p>' in html and html.endswith("<p>A second paragraph.</p>")


@pytest.mark.parametrize("text", ["an *unclosed emphasis", ".. raw:: html\n\n   <script>x</script>\n",
                                  ".. include:: /etc/hostname\n"])
def test_caption_with_broken_markup_raw_html_or_a_file_is_refused(text):
    with pytest.raises(ValueError, match="caption of figure 'demo'"):
        render_caption("demo", text)


def test_every_registered_figure_needs_a_caption(built, tmp_path):
    texts = captions()
    del texts["ecdf"]
    with pytest.raises(ValueError, match="ecdf"):
        render_report(built["plan"], results_of(built), figures_of(built), texts, {}, [], tmp_path / "r.html")


# --------------------------------------------------------------------------------------------------
# the verdict: facts, then words
# --------------------------------------------------------------------------------------------------
def _synthetic_runs(correct: dict[str, list[int]], n_val: int = 116, protocol: str = "tail") -> pd.DataFrame:
    rows = []
    for schedule, counts in correct.items():
        for seed, k in enumerate(counts):
            for epoch in (1, 2):
                rows.append({"dataset": DATASET, "protocol": protocol, "schedule": schedule, "seed": seed,
                             "epoch": epoch, "lr": 0.1, "loss": 0.3, "accuracy": 0.9, "val_loss": 0.2,
                             "val_accuracy": k / n_val, "diverged": False, "n_val": n_val})
    return pd.DataFrame(rows)


def _tables(runs: pd.DataFrame, test_train_ratio: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    summary = tabulate.summary_table(runs, resamples=500, seed=1)
    comparisons = tabulate.comparison_table(runs, baseline="baseline", resamples=500, seed=1,
                                            test_train_ratios={"resplit": test_train_ratio} if test_train_ratio else None)
    return summary, comparisons


def _facts(runs: pd.DataFrame, test_train_ratio: float | None = None, **kwargs) -> Facts:
    summary, comparisons = _tables(runs, test_train_ratio)
    return decide(summary, comparisons, baseline="baseline", confidence=0.95, equivalence_examples=1, **kwargs)


def _no_markup(value) -> None:
    """Facts are plain data: no Markup and no HTML anywhere inside."""
    assert not isinstance(value, Markup), value
    if dataclasses.is_dataclass(value):
        for item in dataclasses.fields(value):
            _no_markup(getattr(value, item.name))
    elif isinstance(value, (tuple, list)):
        for item in value:
            _no_markup(item)
    elif isinstance(value, str):
        assert "<" not in value and "&" not in value, value


def test_verdict_says_plainly_when_nothing_beats_the_baseline():
    rng = np.random.default_rng(3)
    # 36 seeds: equivalence needs at least 29 (Noether); fewer is test_equivalence_needs_enough_seeds.
    base = list(rng.integers(108, 114, size=36))
    runs = _synthetic_runs({"baseline": base, "other": [k + d for k, d in zip(base, [1, -1, 0] * 12)]})
    facts = _facts(runs)
    headline, sentences = words(facts)
    text = " ".join(str(s) for s in sentences)
    assert facts.convincing == ()
    assert "No schedule beats the baseline convincingly" in text
    assert "Practically equivalent" in text or "practically equivalent" in text.lower()


def test_verdict_reports_a_clear_winner():
    base = [100, 101, 102, 103, 104, 105] * 6
    runs = _synthetic_runs({"baseline": base, "better": [k + 4 for k in base]})
    facts = _facts(runs)
    headline, sentences = words(facts)
    assert facts.best == "better" and facts.convincing == ("better",)
    assert "<strong>better</strong> has the highest mean: +4.0 examples (+3.45 points)" in str(headline)
    text = " ".join(str(s) for s in sentences)
    assert "36 of 36 seeds" in text and "significant and meaningful" in text
    assert "Not practically equivalent" in text


OPTIMIZERS = {name: optimizer_words({"name": "sgd", "momentum": momentum, "nesterov": nesterov})
              for name, momentum, nesterov in (("baseline", 0.0, False), ("decay-a", 0.9, False),
                                               ("decay-b", 0.9, True))}


def test_optimizers_in_words():
    assert OPTIMIZERS["decay-b"] == "SGD with momentum 0.9 (Nesterov)"
    assert optimizer_words({"name": "adamw", "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "weight_decay": 0.004}) \
        == "AdamW (beta_1 0.9, beta_2 0.999, epsilon 1e-07, weight_decay 0.004)"


def test_verdict_names_no_single_winner_among_equivalent_leaders_and_flags_optimizer_change():
    base = [100, 101, 102, 103, 104, 105] * 6
    twin = [k + 4 for k in base]
    # decay-b: the same as decay-a but one example worse on 6 seeds and one better on 6 others.
    runs = _synthetic_runs({"baseline": base, "decay-a": twin,
                            "decay-b": [k - (i % 6 == 0) + (i % 6 == 3) for i, k in enumerate(twin)]})
    facts = _facts(runs, optimizers=OPTIMIZERS)
    headline, sentences = words(facts)
    text = " ".join(str(s) for s in sentences)
    assert facts.best in {"decay-a", "decay-b"} and set(facts.convincing) == {"decay-a", "decay-b"}
    assert "no single winner" in str(headline)
    assert "The top is not settled" in text
    assert "momentum 0.9" in text and "momentum 0" in text


def test_decide_returns_the_facts_without_markup():
    base = [100, 101, 102, 103, 104, 105] * 6
    twin = [k + 4 for k in base]
    runs = _synthetic_runs({"baseline": base, "decay-a": twin,
                            "decay-b": [k - (i % 6 == 0) + (i % 6 == 3) for i, k in enumerate(twin)]})
    facts = _facts(runs, optimizers=OPTIMIZERS)
    _no_markup(facts)
    assert facts.outcome == "compared" and facts.baseline == "baseline"
    assert facts.n_val == 116 and facts.n_seeds == 36 and facts.n_vs_baseline == 2
    leader, rival = facts.best, ({"decay-a", "decay-b"} - {facts.best}).pop()
    assert facts.leader == leader
    pair = facts.leader_vs_baseline
    assert isinstance(pair, Pair) and (pair.a, pair.b) == (leader, "baseline")
    assert pair.mean_diff > 0 and pair.wins == 36 and pair.losses == 0
    assert facts.equivalence == "above"
    assert facts.rivals_compared and facts.equivalent_to_best == (rival,)
    assert [(p.a, p.b) for p in facts.unsettled] == [(leader, rival)]
    assert facts.optimizer_change == (OPTIMIZERS[leader], "SGD with momentum 0")
    assert not facts.below_noether and facts.exact_p_floor is None  # 36 seeds: enough for both
    assert facts.baseline_mean == pytest.approx(np.mean(base) / 116)


def test_decide_on_few_seeds_and_without_rivals():
    runs = _synthetic_runs({"baseline": [100, 101, 102, 103], "better": [104, 105, 106, 107]})
    facts = _facts(runs)
    _no_markup(facts)
    assert facts.best == "better" and not facts.rivals_compared and facts.unsettled == ()
    assert facts.below_noether and facts.exact_p_floor == pytest.approx(2.0 ** -3)
    assert facts.optimizer_change is None
    _, sentences = words(facts)
    assert "Only 4 seeds" in str(sentences[-2]) and "2^(1 - n) = 0.125" in str(sentences[-1])


def test_decide_without_baseline_runs_or_without_others():
    no_comparisons = typed_frame([], declared_columns("comparisons"))
    summary = tabulate.summary_table(_synthetic_runs({"a": [100, 101], "b": [102, 103]}), resamples=500, seed=1)
    facts = decide(summary, no_comparisons, baseline="baseline", confidence=0.95, equivalence_examples=1)
    assert (facts.outcome, facts.best, facts.convincing) == ("no baseline runs", "b", ())
    assert str(words(facts)[0]) == "No baseline to compare with."
    runs = _synthetic_runs({"baseline": [100, 101]})
    summary = tabulate.summary_table(runs, resamples=500, seed=1)
    facts = decide(summary, no_comparisons, baseline="baseline", confidence=0.95, equivalence_examples=1)
    assert (facts.outcome, facts.best) == ("only baseline", "baseline")
    assert [str(s) for s in words(facts)[1]] == ["Only <strong>baseline</strong> was run: nothing to compare."]


def test_oriented_reads_a_stored_pair_from_the_other_side():
    base = [100, 101, 102, 103, 104, 105] * 6
    runs = _synthetic_runs({"baseline": base, "better": [k + 4 for k in base]})
    _, comparisons = _tables(runs)
    stored = oriented(comparisons, "better", "baseline")
    flipped = oriented(comparisons, "baseline", "better")
    assert (flipped.a, flipped.b) == ("baseline", "better")
    assert flipped.mean_diff == -stored.mean_diff and flipped.mean_diff_examples == -stored.mean_diff_examples
    assert (flipped.diff_ci_low, flipped.diff_ci_high) == (-stored.diff_ci_high, -stored.diff_ci_low)
    assert (flipped.wins, flipped.ties, flipped.losses) == (stored.losses, stored.ties, stored.wins)
    assert flipped.p_a_better == pytest.approx(1 - stored.p_a_better)
    assert (flipped.diff_ci_low_adj, flipped.diff_ci_high_adj) == (-stored.diff_ci_high_adj, -stored.diff_ci_low_adj)
    assert flipped.p_a_better_ci_low_adj == pytest.approx(1 - stored.p_a_better_ci_high_adj)
    assert flipped.p_a_better_ci_high_adj == pytest.approx(1 - stored.p_a_better_ci_low_adj)
    for same in ("family_size", "p_holm", "p_sign_flip", "p_sign_flip_exact", "diff_ci_degenerate", "equivalent"):
        assert getattr(flipped, same) == getattr(stored, same), same
    assert stored.reading is Reading.SIGNIFICANT_AND_MEANINGFUL
    assert flipped.reading is Reading.B_SIGNIFICANT_AND_MEANINGFUL
    assert oriented(comparisons, "better", "nobody") is None


# --------------------------------------------------------------------------------------------------
# one multiplicity rule, two questions, degenerate intervals, Monte Carlo only as a fallback
# --------------------------------------------------------------------------------------------------
# n_val / n_train of ionosphere's resplit protocol (116 validation rows of 351).
RESPLIT_RATIO = 116 / 235


def _comparison_tables(rows: pd.DataFrame, resamples: int = 1000):
    """The report's two tables of comparison rows (116 validation rows, 95 %)."""
    return comparison_tables(rows, 116, 0.95, "t", "Each schedule against baseline (tail)", resamples=resamples)


def test_equivalence_needs_enough_seeds():
    rng = np.random.default_rng(3)
    base = list(rng.integers(108, 114, size=12))
    runs = _synthetic_runs({"baseline": base, "other": [k + d for k, d in zip(base, [1, -1, 0] * 4)]})
    facts = _facts(runs)
    pair = facts.leader_vs_baseline
    # The interval lies inside the band, but 12 seeds are fewer than Noether's 29.
    assert -1 <= pair.diff_ci_low_adj * 116 and pair.diff_ci_high_adj * 116 <= 1 and not pair.equivalent
    assert facts.equivalence == "too few seeds" and facts.equivalent_to_best == ()
    text = " ".join(str(s) for s in words(facts)[1])
    assert "Too few seeds to call equivalence either way" in text and "only 12 paired seeds" in text
    assert "at least 29 (Noether" in text and "P(A&gt;B) = 0.75 at alpha = beta = 0.05" in text
    # A lower configured minimum is the configuration's choice; the table's call follows it.
    summary = tabulate.summary_table(runs, resamples=500, seed=1)
    comparisons = tabulate.comparison_table(runs, baseline="baseline", resamples=500, seed=1, equivalence_min_seeds=10)
    facts = decide(summary, comparisons, baseline="baseline", confidence=0.95, equivalence_examples=1,
                   equivalence_min_seeds=10)
    assert facts.equivalence == "equivalent"


def test_the_reading_and_equivalence_use_the_family_level_intervals():
    base = [100, 101, 102, 103, 104, 105] * 6
    runs = _synthetic_runs({"baseline": base, "a": [k + 1 for k in base],
                            "b": [k + (i % 2) for i, k in enumerate(base)], "c": base})
    summary, comparisons = _tables(runs)
    facts = decide(summary, comparisons, baseline="baseline", confidence=0.95, equivalence_examples=1)
    pair = facts.leader_vs_baseline
    assert pair.family_size == facts.n_vs_baseline == 3
    # Bonferroni at 1 - 0.05/3: wider than the plain 95 % interval.
    assert pair.p_a_better_ci_low_adj <= pair.p_a_better_ci_low
    text = " ".join(str(s) for s in words(facts)[1])
    assert "98.33 % interval, Bonferroni over the 3 comparisons with the baseline" in text
    assert "after Holm's adjustment over the 3 comparisons with the baseline" in text
    main, tests = _comparison_tables(comparisons[comparisons["vs_baseline"]])
    assert "P(A>B) interval, 98.33 %, Bonferroni (m = 3)" in main.columns
    assert "Interval for equivalence (examples), 98.33 %, Bonferroni (m = 3)" in main.columns
    assert "98.33 % = 1 - alpha/3" in main.caption and "Holm-adjusted over the same family" in main.caption
    column = main.columns.index("P(A>B) interval, 98.33 %, Bonferroni (m = 3)")
    first = comparisons[comparisons["vs_baseline"]].iloc[0]
    assert main.rows[0][column] == interval(first["p_a_better_ci_low_adj"], first["p_a_better_ci_high_adj"], scale=1.0)


def test_monte_carlo_p_is_printed_as_its_floor_with_its_standard_error(built, tmp_path):
    assert pvalue_mc(0.0123) == "0.012"  # exact: as before
    assert pvalue_mc(2 / 1001, exact=False, resamples=1000) == "< 0.002 (Monte Carlo, SE 0.001)"
    assert pvalue_mc(0.2, exact=False, resamples=1000) == "0.200 (Monte Carlo, SE 0.013)"
    assert pvalue_mc(2 / 50_001, exact=False, resamples=50_000) == "< 4.0e-05 (Monte Carlo, SE 2.8e-05)"
    # Through a table: a comparisons row whose sign-flip p is a Monte Carlo estimate at its floor.
    base = [100, 101, 102, 103, 104, 105] * 6
    _, comparisons = _tables(_synthetic_runs({"baseline": base, "better": [k + 4 for k in base]}))
    comparisons["p_sign_flip_exact"] = False
    comparisons["p_sign_flip"] = 2 / 1001
    _, tests = _comparison_tables(comparisons)
    assert tests.rows[0][tests.columns.index("p sign-flip")] == "< 0.002 (Monte Carlo, SE 0.001)"
    assert tests.rows[0][tests.columns.index("p sign-flip (Holm)")].endswith("(from a Monte Carlo p)")
    assert "printed as '< floor'" in tests.caption and "standard error" in tests.caption
    summary = tabulate.summary_table(_synthetic_runs({"baseline": base, "better": [k + 4 for k in base]}),
                                     resamples=500, seed=1)
    facts = decide(summary, comparisons, baseline="baseline", confidence=0.95, equivalence_examples=1, resamples=1000)
    assert "Monte Carlo estimate: &lt; 0.002 (Monte Carlo, SE 0.001)" in str(words(facts)[1][2])
    # Through the rendered report: R is the configuration's bootstrap_resamples (1000 here).
    tables = dict(built["tables"])
    rendered = read_table(tables["comparisons"], "comparisons")
    rendered["p_sign_flip_exact"] = False
    rendered.loc[0, "p_sign_flip"] = 2 / 1001
    write_table(rendered, tmp_path / "comparisons.csv", "comparisons")
    tables["comparisons"] = tmp_path / "comparisons.csv"
    out = tmp_path / "r.html"
    render_report(built["plan"], results_of(built, tables), figures_of(built), captions(), {}, [], out)
    comparisons_html = _section(out.read_text(encoding="utf-8"), "comparisons")
    assert "&lt; 0.002 (Monte Carlo, SE 0.001)" in comparisons_html
    html = built["report"].read_text(encoding="utf-8")
    assert "Monte Carlo, SE" not in html  # the real run's p-values are exact


def test_secondary_tables_are_folded_and_each_shown_table_links_its_rows_as_csv(built):
    """Tables at most a screen wide: the robust estimates, the tests beside a comparison and the appendix's pairs
    are folded; the per-schedule and comparison tables link their rows, unrounded, as an embedded CSV that parses
    back to the statistics rule's numbers."""
    page = built["report"].read_text(encoding="utf-8")
    folded = set(re.findall(r'<details class="table-details" id="([^"]+)-details">', page))
    protocol = built["config"]["studies"]["article"]["protocols"][0]
    assert {f"robust-{DATASET}-{protocol}", f"vs-baseline-{DATASET}-{protocol}-tests",
            f"pairs-{DATASET}-{protocol}"} <= folded
    assert f"summary-{DATASET}-{protocol}" not in folded and f"vs-baseline-{DATASET}-{protocol}" not in folded
    links = dict(re.findall(r'<a class="csv" download="([^"]+)" href="data:text/csv;charset=utf-8;base64,([^"]+)"',
                            page))
    assert len(links) == len(set(links))
    summary = pd.read_csv(io.BytesIO(base64.b64decode(links[f"summary-{DATASET}-{protocol}.csv"])))
    written = read_table(built["tables"]["summary"], "summary")
    shown = written[written["protocol"] == protocol]
    assert list(summary["schedule"]) == list(shown["schedule"])
    assert np.allclose(summary["mean"], shown["mean"], rtol=0, atol=1e-15)


def test_degenerate_intervals_are_flagged_in_words():
    base = [100, 101, 102, 103, 104, 105] * 6
    # Every seed of 'ceiling' scores 115/116: its bootstrap intervals have zero width.
    runs = _synthetic_runs({"baseline": base, "better": [k + 4 for k in base], "ceiling": [115] * 36})
    summary, comparisons = _tables(runs)
    assert summary.set_index("schedule").loc["ceiling", "ci_degenerate"]
    main, robust, _ = summary_tables(summary, "tail", "baseline", 0.95, 0.95, DATASET)
    ceiling = main.rows[[row[0] for row in main.rows].index("ceiling")]
    assert "[99.14, 99.14] degenerate: the grid, not certainty" in ceiling
    assert not any("degenerate" in cell for cell in main.rows[0])  # the baseline's seeds spread
    assert "degenerate" in main.caption and "not certainty" in main.caption
    assert "degenerate" in " ".join(robust.rows[[row[0] for row in robust.rows].index("ceiling")])
    # 'better' beats the baseline by exactly 4 examples on every seed: a zero-width difference interval.
    vs = comparisons[comparisons["vs_baseline"] & (comparisons["a"] == "better")]
    assert vs["diff_ci_degenerate"].all()
    table, _ = _comparison_tables(vs)
    assert "[+3.45, +3.45] degenerate" in table.rows[0] and "[+4.00, +4.00] degenerate" in table.rows[0]
    facts = _facts(_synthetic_runs({"baseline": base, "better": [k + 4 for k in base]}))
    how_much = next(str(s) for s in words(facts)[1] if str(s).startswith("By how much"))
    assert "[+4.0, +4.0] examples; degenerate" in how_much and "not certainty" in how_much
    # A baseline whose every seed scores the same: the protocols' comparison says its interval is degenerate.
    flat = _facts(_synthetic_runs({"baseline": [110] * 6, "better": [111, 112, 111, 112, 111, 112]}))
    assert flat.baseline_ci_degenerate
    text = " ".join(str(part) for part in protocol_difference([("tail", flat, None), ("resplit", flat, None)]))
    assert "0.00 points under tail (degenerate: every seed scores the same; the grid, not certainty)" in text


def _resplit_facts(diffs: list[int]) -> Facts:
    base = [100, 101, 102, 103, 104, 105] * 6
    runs = _synthetic_runs({"baseline": base, "better": [k + d for k, d in zip(base, diffs)]}, protocol="resplit")
    return _facts(runs, test_train_ratio=RESPLIT_RATIO)


def test_under_resplit_the_verdict_leads_with_the_corrected_t():
    facts = _resplit_facts([4, 5, 3] * 12)
    assert facts.corrected_t
    how_sure = next(str(s) for s in words(facts)[1] if str(s).startswith("How sure"))
    assert how_sure.startswith("How sure, on new data from the same distribution (Nadeau and Bengio&#39;s corrected t, "
                               "which counts the variance of the split; Holm-adjusted")
    assert how_sure.index("corrected t") < how_sure.index("On these seeds' splits") < how_sure.index("sign-flip")
    assert f"p = {pvalue(facts.leader_vs_baseline.p_t_corrected_holm)}. On these seeds" in how_sure
    # Under tail there is no corrected t, and the sentence is the one about these rows.
    tail = _facts(_synthetic_runs({"baseline": [100, 101, 102, 103, 104, 105] * 6,
                                   "better": [k + d for k, d in zip([100, 101, 102, 103, 104, 105] * 6,
                                                                    [4, 5, 3] * 12)]}))
    assert not tail.corrected_t
    assert next(str(s) for s in words(tail)[1] if str(s).startswith("How sure")).startswith("How sure: it beats")


def test_convincing_needs_the_corrected_t_under_resplit():
    # Wins on 24 seeds and ties on 12: the sign-flip test is sure, but the corrected t, which adds the variance
    # of the split (n_val / n_train = 0.49), is not.
    diffs = [0, 1, 2] * 12
    facts = _resplit_facts(diffs)
    pair = facts.leader_vs_baseline
    assert pair.reading.winner == 1 and pair.p_holm < 0.05 and pair.diff_ci_low_adj > 0
    assert pair.p_t_corrected_holm >= 0.05
    assert not pair.convincing(0.05) and facts.convincing == ()
    text = " ".join(str(s) for s in words(facts)[1])
    assert "No schedule beats the baseline convincingly" in text
    assert "Nadeau and Bengio&#39;s corrected t with a Holm-adjusted p &lt; 0.05" in text
    # The same seeds under tail (no corrected t): convincing.
    base = [100, 101, 102, 103, 104, 105] * 6
    tail = _facts(_synthetic_runs({"baseline": base, "better": [k + d for k, d in zip(base, diffs)]}))
    assert tail.convincing == ("better",)
    # And under resplit with a gain the corrected t sees too.
    strong = _resplit_facts([4, 5, 3] * 12)
    assert strong.leader_vs_baseline.p_t_corrected_holm < 0.05 and strong.convincing == ("better",)


def test_methods_state_the_multiplicity_rule_and_the_two_questions(built):
    methods = " ".join(_section(built["report"].read_text(encoding="utf-8"), "methods").split())
    assert "One multiplicity rule" in methods
    assert "Holm-adjusted" in methods and "Bonferroni level 1 - 0.05/m" in methods
    assert "reads significant only when its family-level interval lies above 0.5 and its Holm-adjusted" in methods
    assert "on these seeds' splits" in methods
    assert "new data from the same distribution" in methods and "leads with it" in methods
    assert "convolution" in methods and "exact conditional on the observed ranks" in methods
    assert "Clopper-Pearson on wins / (wins + losses) with the ties held fixed" in methods
    assert "at least 29 paired seeds" in methods and "Noether" in methods
    assert "&lt; 0.002" in methods  # the Monte Carlo fallback's floor at R = 1000
    assert "all sign patterns" not in methods and "Monte Carlo otherwise" not in methods


def test_tables_label_paired_and_unpaired_effect_sizes_and_the_noise_floor(built):
    html = built["report"].read_text(encoding="utf-8")
    comparisons = _section(html, "comparisons")
    assert "Paired dominance (paired)" in comparisons and "Cliff&#39;s delta (unpaired)" in comparisons
    assert "Rank-biserial (Pratt: zeros ranked, in the denominator)" in comparisons
    assert "p corrected t (Holm)" in comparisons  # resplit only
    summary = _section(html, "summary")
    assert ("Test-set noise of one run: Wilson interval of a single score at the median on a new validation set of "
            "this size; not the seed-to-seed spread (SD)") in summary
    assert "Test-set noise of one run" in _section(html, "replication")


def test_tuned_verdict_names_the_families_equivalent_to_the_tuned_baseline():
    """30 seeds, 'same' ties the tuned baseline on every seed: inside the band, enough seeds, so the headline names
    it; 'better' is 5 test examples ahead on every seed, so it is named as the leader, not as equivalent."""
    from schedbench.report.studies import tuning_view

    rows = []
    for seed in range(30):
        for family, correct in (("base", 60 + seed % 3), ("same", 60 + seed % 3), ("better", 65 + seed % 3)):
            rows.append({"dataset": "d", "protocol": "heldout", "family": family, "schedule": f"{family} lr0=0.1",
                         "seed": seed, "n_candidates": 2, "diverged": False, "val_accuracy": 0.9, "val_loss": 0.3,
                         "test_accuracy": correct / 71, "test_loss": 0.3, "n_val": 116, "n_test": 71})
    tuned = pd.DataFrame(rows)
    common = dict(confidence=0.95, resamples=1000, seed=1)
    summary = study_stats.tuned_summary_table(tuned, **common)
    comparisons = study_stats.tuned_comparison_table(tuned, baseline="base", equivalence_examples=1,
                                                     equivalence_min_seeds=29, **common)
    sensitivity = typed_frame([], declared_columns("sensitivity", ["lr0"]), ["lr0"])
    view = tuning_view(summary, comparisons, sensitivity, study="tuning", name="d", dataset="d", title="tuning, d", protocol="heldout",
                       description="", reference_lr0=0.1, grid={"lr0": [0.1, 0.3]}, figure=None, baseline="base",
                       confidence=0.95, equivalence_examples=1, sensitivity_tie_examples=1, equivalence_min_seeds=29,
                       resamples=1000)
    assert "<strong>better</strong> has the highest mean" in view.headline
    assert "Practically equivalent to the tuned base (within +/-1 test example): <strong>same</strong>." in view.headline
    assert "held-out test accuracy of the tuned choice" in str(view.sentences[0])
    assert view.sensitivity is None


def test_a_band_set_in_points_renders(built, tmp_path):
    """The band may be set in points instead of examples: every view resolves it per comparison from its rows."""
    report = {key: value for key, value in built["plan"].report.items() if key != "equivalence_examples"}
    plan = dataclasses.replace(built["plan"], report={**report, "equivalence_points": 2.0})
    assert plan.band(116) == pytest.approx(2.32) and plan.band(71) == pytest.approx(1.42)
    out = tmp_path / "report.html"
    render_report(plan, results_of(built), figures_of(built), captions(), {}, [], out)
    methods = _section(out.read_text(encoding="utf-8"), "methods")
    assert "+/-2 points of accuracy" in methods


# Readable pages: config and provenance once, no machine paths, a glossary, one caption per figure kind.

SECOND = "sonar"


@pytest.fixture(scope="module")
def two_datasets(built, tmp_path_factory):
    """A two-dataset report from the built tables: both studies on ionosphere and sonar (sonar's pages reuse
    ionosphere's tables and figures; the report only words them). The provenance records carry
    absolute paths of this machine, as the download rule writes the bundled copy's."""
    root = tmp_path_factory.mktemp("two")
    config = copy.deepcopy(built["config"])
    config["studies"]["article"]["datasets"] = [DATASET, SECOND]
    config["studies"]["tuning"]["datasets"] = [DATASET, SECOND]
    config = validate_config(config)
    plan = build_plan(config)
    provenance = {}
    for dataset in (DATASET, SECOND):
        bundled = ROOT / "data" / "bundled" / f"{dataset}.data"
        path = root / "data" / "raw" / f"{dataset}.provenance.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(dict(
            built["provenance"], source="bundled", url=str(bundled),
            notes=["No URL gave a valid copy; the bundled copy was used.", f"Scratch copy at {root / 'scratch'}."])))
        provenance[dataset] = path
    results = {"article": {DATASET: built["tables"], SECOND: built["tables"]},
               "tuning": {DATASET: built["tuning_tables"], SECOND: built["tuning_tables"]}}
    figures = {"article": {DATASET: built["figures"], SECOND: built["figures"]},
               "tuning": {d: {"sensitivity": built["sensitivity"]} for d in (DATASET, SECOND)}}
    out = root / "report" / "report.html"
    written = render_report(plan, results, figures, captions(), provenance, built["benchmarks"], out)
    pages = {path.stem: path.read_text(encoding="utf-8") for path in written}
    return dict(pages=pages, root=root)


def test_a_dataset_page_links_the_overview_for_config_and_provenance(two_datasets):
    pages = two_datasets["pages"]
    assert set(pages) == {"report", DATASET, SECOND}
    overview = _section(pages["report"], "provenance")
    assert '<pre class="config">' in overview and "tensorflow" in overview and "Git commit" in overview
    assert 'id="provenance-ionosphere"' in overview and 'id="provenance-sonar"' in overview
    for dataset, other in ((DATASET, SECOND), (SECOND, DATASET)):
        page = pages[dataset]
        assert '<pre class="config">' not in page and "Package versions" not in page
        provenance = _section(page, "provenance")
        assert 'href="report.html#provenance"' in provenance
        assert f'id="provenance-{dataset}"' in provenance and f'id="provenance-{other}"' not in provenance


def test_a_single_dataset_report_keeps_config_and_provenance(built):
    provenance = _section(built["report"].read_text(encoding="utf-8"), "provenance")
    assert '<pre class="config">' in provenance and "Package versions" in provenance
    assert "report.html#provenance" not in provenance


def test_the_provenance_shows_no_absolute_path_of_the_machine(two_datasets):
    root = str(two_datasets["root"])
    for name, page in two_datasets["pages"].items():
        provenance = _section(page, "provenance")
        for prefix in (root, str(ROOT), "/root", "/work", "/tmp"):
            assert prefix not in provenance, (name, prefix)
        # The bundled copy relative to the project; a path outside it by its name.
        if name != "report":
            assert f"data/bundled/{name}.data" in provenance and ".../scratch" in provenance


@pytest.mark.parametrize("text, shown", [
    ("/project/data/bundled/wine.data", "data/bundled/wine.data"),
    ("bundled copy /elsewhere/x/wine.data: missing", "bundled copy .../wine.data: missing"),
    ("https://archive.ics.uci.edu/ml/wine.data attempt 1: ok", "https://archive.ics.uci.edu/ml/wine.data attempt 1: ok"),
    ("data/bundled/wine.data and/or 1/2", "data/bundled/wine.data and/or 1/2"),
    ("<script>alert(1)</script> (/project/x)", "<script>alert(1)</script> (x)"),
])
def test_machine_paths_are_shown_relative_to_the_project(text, shown):
    assert without_machine_paths(text, [Path("/project")]) == shown


GLOSSARY_TERMS = ("tail", "resplit", "heldout", "family", "variant", "control", "P(A&gt;B)", "IQM", "Pratt",
                  "CD (critical difference)", "MDE", "practically equivalent", "negligible", "inconclusive")


def test_every_page_has_the_glossary_in_its_contents(built, two_datasets):
    pages = {"single": built["report"].read_text(encoding="utf-8"), **two_datasets["pages"]}
    for name, page in pages.items():
        glossary = _section(page, "glossary")
        assert 'href="#glossary"' in page, name
        for term in GLOSSARY_TERMS:
            assert f"<dt>{term}</dt>" in glossary, (name, term)
        # A protocol is worded by its registry entry, once.
        assert "the last third of the file validates" in glossary
        assert PROTOCOLS["resplit"].description.split(" (")[0][1:] in glossary
    single = pages["single"]
    assert single.index('<section id="methods">') < single.index('<section id="glossary">') < single.index(
        '<section id="provenance">')


def _captions_shown(page: str) -> list[str]:
    return re.findall(r'<div class="rst">(.*?)</div>', page, flags=re.S)


def test_each_figure_caption_appears_at_most_once_per_page(built, two_datasets):
    pages = {"single": built["report"].read_text(encoding="utf-8"), **two_datasets["pages"]}
    rendered = {name: str(text) for name, text in render_captions(captions()).items()}
    for name, page in pages.items():
        shown = _captions_shown(page)
        assert len(shown) == len(set(shown)), name
        for figure, caption in rendered.items():
            assert page.count(caption) <= 1, (name, figure)
    # The overview draws both datasets' sensitivity figures, their caption once.
    sensitivity = rendered[TUNING_FIGURES[0].name]
    assert pages["report"].count('<img src="data:image/png') >= 2 and sensitivity in pages["report"]


def test_an_embedded_figure_keeps_its_pixels_in_fewer_bytes():
    """Six flat colours and a full-colour gradient: the palette keeps the flat colours exactly (the figures' lines
    and fills) and the re-encoding is deterministic and smaller than the RGBA file."""
    colours = [(255, 255, 255), (0, 114, 178), (230, 159, 0), (0, 158, 115), (204, 121, 167), (213, 94, 0)]
    image = Image.new("RGBA", (600, 300), (255, 255, 255, 255))
    for k, colour in enumerate(colours):
        image.paste((*colour, 255), (k * 100, 0, k * 100 + 100, 300))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    body = buffer.getvalue()
    embedded = embedded_png(body)
    assert embedded == embedded_png(body) and len(embedded) < len(body)
    with Image.open(io.BytesIO(embedded)) as shown:
        assert shown.mode == "P" and shown.size == (600, 300)
        pixels = shown.convert("RGB")
        assert [pixels.getpixel((k * 100 + 50, 150)) for k in range(6)] == colours


def test_a_dataset_page_with_every_figure_stays_under_600_kb(built):
    """Figures embedded with a small palette and the CSVs linked once keep a page light enough to open and mail."""
    assert built["report"].stat().st_size < 600_000

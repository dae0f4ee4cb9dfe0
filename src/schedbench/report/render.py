"""The entry point: read a dataset's result tables, build the views, render ``templates/report.html.j2``.

The page is one self-contained file: Jinja2 with autoescaping, the CSS inline, figures as base64 PNG data URIs,
so it has no external reference and opens offline. It is written atomically. The order of the page: verdict in
plain words, figures, tables, methods, provenance, appendices (all pairs, run time).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2
import pandas as pd
import yaml
from markupsafe import Markup

from schedbench.atomic import atomic_write_text
from schedbench.report.captions import figure_views, render_captions
from schedbench.report.methods import LR_NOTE, methods_view, protocol_description, schedule_view
from schedbench.report.provenance import data_table, git_commit, machine_info, package_versions, runtime_view
from schedbench.report.verdict import decide
from schedbench.report.views import (
    DatasetView,
    ProtocolView,
    comparison_tables,
    diverged_tables,
    friedman_table,
    in_order,
    majority_note,
    replication_view,
    summary_tables,
)
from schedbench.report.wording import protocol_difference, words
from schedbench.tables import final_epoch, read_table

# The statistics rule's tables the report reads, with the runs (for the diverged-runs listing).
REPORT_TABLES = ("runs", "summary", "comparisons", "friedman", "replication", "majority")

PathLike = str | os.PathLike


def read_results(paths: Mapping[str, PathLike]) -> dict[str, pd.DataFrame]:
    """One dataset's tables, {table name: CSV path} -> {table name: DataFrame}."""
    return {name: read_table(paths[name], name) for name in REPORT_TABLES}


def dataset_view(config: dict, dataset: str, tables: Mapping[str, pd.DataFrame], figures: Mapping[str, PathLike],
                 captions: Mapping[str, Markup], provenance: PathLike | None) -> DatasetView:
    report = config["report"]
    baseline, confidence = report["baseline"], report["confidence"]
    schedules, protocols = list(config["schedules"]), list(config["protocols"])
    optimizers = {name: (float(spec["momentum"]), spec["nesterov"]) for name, spec in config["schedules"].items()}
    summary, comparisons, replication = tables["summary"], tables["comparisons"], tables["replication"]
    majority = {row["protocol"]: float(row["majority_accuracy"]) for _, row in tables["majority"].iterrows()}
    # The equivalence rule and the R of a Monte Carlo p: the verdict and the tables word them alike.
    rule = dict(equivalence_examples=report["equivalence_examples"],
                equivalence_min_seeds=report["equivalence_min_seeds"], resamples=report["bootstrap_resamples"])
    views, facts_by_protocol, replication_gap = [], [], None
    for protocol in protocols:
        s = in_order(summary[summary["protocol"] == protocol], "schedule", schedules)
        c = comparisons[comparisons["protocol"] == protocol]
        n_val = int(s["n_val"].iloc[0]) if len(s) else 0
        facts = decide(s, c, baseline=baseline, confidence=confidence, optimizers=optimizers, **rule)
        facts_by_protocol.append((protocol, facts, majority.get(protocol)))
        headline, sentences = words(facts)
        main, secondary = summary_tables(s, protocol, baseline, confidence, report["target_accuracy"], dataset)
        vs_table, vs_tests = comparison_tables(c[c["vs_baseline"]], n_val, confidence,
                                               f"vs-baseline-{dataset}-{protocol}",
                                               f"Each schedule against {baseline} ({protocol})", **rule)
        pair_table, pair_tests = comparison_tables(c[~c["vs_baseline"]], n_val, confidence,
                                                   f"pairs-{dataset}-{protocol}", f"All other pairs ({protocol})",
                                                   **rule)
        rep_table, gap = replication_view(replication[replication["protocol"] == protocol], protocol, confidence,
                                          dataset)
        replication_gap = replication_gap or gap
        views.append(ProtocolView(
            name=protocol, description=protocol_description(protocol, n_val),
            n_seeds=int(s["n_seeds"].max()) if len(s) else 0, n_val=n_val, headline=headline, verdict=sentences,
            summary=main, secondary=secondary, vs_baseline=vs_table, vs_baseline_tests=vs_tests, pairs=pair_table,
            pairs_tests=pair_tests, replication=rep_table,
            replication_notes=majority_note(protocol, majority.get(protocol)),
        ))
    dataset_figures, protocol_figures, missing = figure_views(dataset, protocols, figures, captions)
    diverged_counts, diverged_runs = diverged_tables(final_epoch(tables["runs"]), schedules, protocols, dataset)
    return DatasetView(
        name=dataset, protocols=views, protocol_difference=protocol_difference(facts_by_protocol),
        dataset_figures=dataset_figures, protocol_figures=protocol_figures, missing_figures=missing,
        friedman=friedman_table(tables["friedman"], confidence, dataset), diverged_counts=diverged_counts,
        diverged_runs=diverged_runs, n_diverged=len(diverged_runs.rows) if diverged_runs else 0,
        provenance=data_table(dataset, provenance), replication_gap=replication_gap,
    )


def build_context(config: dict, results: Mapping[str, Mapping[str, PathLike]],
                  figures: Mapping[str, Mapping[str, PathLike]], captions: Mapping[str, str],
                  provenance: Mapping[str, PathLike], benchmarks: Sequence[tuple[PathLike, int]],
                  now: dt.datetime | None = None) -> dict:
    """Everything the template shows; the arguments are :func:`render_report`'s."""
    now = now or dt.datetime.now(dt.timezone.utc)
    datasets = list(config["datasets"])
    html_captions = render_captions(captions)
    views = [dataset_view(config, d, read_results(results[d]), figures.get(d, {}), html_captions, provenance.get(d))
             for d in datasets]
    schedule_table, schedule_sentence = schedule_view(config, datasets[0])
    runtime_table, runtime_sentence = runtime_view(benchmarks)
    return {
        "title": "Learning-rate schedules compared: " + ", ".join(datasets),
        "datasets": views,
        "multi_protocol": len(config["protocols"]) > 1,
        "baseline": config["report"]["baseline"],
        "schedule_table": schedule_table,
        "schedule_sentence": schedule_sentence,
        "lr_note": LR_NOTE,
        "methods": methods_view(config),
        "config_yaml": yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=110),
        "versions": package_versions(),
        "git_commit": git_commit(),
        "rendered_utc": now.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "machine": machine_info(),
        "runtime_table": runtime_table,
        "runtime_sentence": runtime_sentence,
    }


def render_html(context: dict) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("schedbench", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template("report.html.j2").render(**context)


def render_report(
    config: dict,
    results: Mapping[str, Mapping[str, PathLike]],
    figures: Mapping[str, Mapping[str, PathLike]],
    captions: Mapping[str, str],
    provenance: Mapping[str, PathLike],
    benchmarks: Sequence[tuple[PathLike, int]],
    out_path: PathLike,
) -> Path:
    """Write the self-contained HTML report to ``out_path`` atomically and return the path.

    ``config``: the validated configuration (defaults filled), datasets reported in its order;
    ``results``: dataset -> {table name -> CSV path} for every table of :data:`REPORT_TABLES`;
    ``figures``: dataset -> {figure stem -> PNG path} (stems of :func:`schedbench.figures.registry.figure_stems`;
    a missing one is listed as not produced); ``captions``: figure name -> its reStructuredText caption;
    ``provenance``: dataset -> path of ``data/raw/<dataset>.provenance.json``; ``benchmarks``: (Snakemake
    benchmark TSV of a training job, runs that job trained).
    """
    html = render_html(build_context(config, results, figures, captions, provenance, benchmarks))
    atomic_write_text(out_path, html)
    return Path(out_path)

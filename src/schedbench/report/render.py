"""The entry point: read a dataset's result tables, build the views, render ``templates/report.html.j2``.

The page is one self-contained file: Jinja2 with autoescaping, the CSS inline, figures as base64 PNG data URIs,
so it has no external reference and opens offline. It is written atomically. The order of the page: verdict in
plain words, "Schedule or optimizer?", learning-rate sensitivity, the tuned comparison, budgets, figures, tables,
methods, provenance, appendices (all pairs, run time).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup

from schedbench.atomic import atomic_write_text
from schedbench.figures.registry import BUDGET_FIGURES, TUNING_FIGURES
from schedbench.report.answer import ANSWER_FIGURE, answer_view
from schedbench.report.captions import data_uri, figure_views, render_captions
from schedbench.report.glossary import glossary
from schedbench.plan import Plan
from schedbench.report.methods import families_table, LR_NOTE, methods_view, protocol_description, schedule_view
from schedbench.report.provenance import data_table, git_commit, machine_info, package_versions
from schedbench.report.runtime import read_benchmarks, runtime_view
from schedbench.report.attribution import attribution_view
from schedbench.report.budgets import BUDGET_ANSWER_FIGURE, BudgetView, budget_answer, budget_view
from schedbench.report.studies import baseline_rate_why, tuning_view
from schedbench.report.verdict import decide
from schedbench.report.views import (
    DatasetView,
    FigureView,
    ProtocolView,
    comparison_tables,
    diverged_tables,
    friedman_table,
    in_order,
    majority_note,
    replication_view,
    summary_tables,
    with_csv,
)
from schedbench.report.wording import optimizer_name, optimizer_words, protocol_difference, words
from schedbench.report.suite import band_table, suite_view
from schedbench.runs import final_epoch
from schedbench.tables import (
    FIGURE_ONLY_TABLES,
    STATISTICS_TABLES,
    SUITE_TABLES,
    TUNING_TABLES,
    read_table,
)

# The tables the report reads: a study's statistics with its runs (for the diverged-runs listing), or a tuning
# study's.
# The distributions the figures draw are not read: the report shows them as figures, and they are the largest tables.
REPORT_TABLES = ("runs", *(name for name in STATISTICS_TABLES if name not in FIGURE_ONLY_TABLES))

PathLike = str | os.PathLike


def read_results(paths: Mapping[str, PathLike], names=REPORT_TABLES) -> dict[str, pd.DataFrame]:
    """One study's dataset's tables, {table name: CSV path} -> {table name: DataFrame}."""
    return {name: read_table(paths[name], name) for name in names}


def dataset_view(plan: Plan, study: str, dataset: str, name: str, tables: Mapping[str, pd.DataFrame],
                 figures: Mapping[str, PathLike], captions: Mapping[str, Markup]) -> DatasetView:
    """The detail of one study without a grid on one dataset; ``name`` heads it and keys its element ids."""
    report = plan.report
    baseline, confidence = report["baseline"], report["confidence"]
    variants = plan.studies[study].variants
    schedules, protocols = [v.name for v in variants], list(plan.studies[study].protocols)
    controls = {v.name for v in variants if v.control}
    optimizers = {v.name: optimizer_words(v.spec["optimizer"]) for v in variants}
    summary, comparisons, replication = tables["summary"], tables["comparisons"], tables["replication"]
    majority = {row["protocol"]: float(row["majority_accuracy"]) for _, row in tables["majority"].iterrows()}
    # The equivalence rule and the R of a Monte Carlo p: the verdict and the tables word them alike.
    views, facts_by_protocol, replication_gap = [], [], None
    for protocol in protocols:
        s = in_order(summary[summary["protocol"] == protocol], "schedule", schedules)
        c = comparisons[comparisons["protocol"] == protocol]
        n_val = int(s["n_val"].iloc[0]) if len(s) else 0
        rule = dict(equivalence_examples=plan.band(n_val), equivalence_min_seeds=report["equivalence_min_seeds"],
                    resamples=report["bootstrap_resamples"])
        # The controls are in the summary, not in the verdict: they answer "schedule or optimizer?".
        facts = dataclasses.replace(
            decide(s[~s["schedule"].isin(controls)], c, baseline=baseline, confidence=confidence,
                   optimizers=optimizers, **rule),
            controls_trained=plan.studies[study].controls)
        facts_by_protocol.append((protocol, facts, majority.get(protocol)))
        headline, sentences = words(facts)
        main, robust, secondary = summary_tables(s, protocol, baseline, confidence, report["target_accuracy"], name)
        vs_table, vs_tests = comparison_tables(c[c["vs_baseline"]], n_val, confidence,
                                               f"vs-baseline-{name}-{protocol}",
                                               f"Each schedule against {baseline} ({protocol})", **rule)
        pair_table, pair_tests = comparison_tables(c[~c["vs_baseline"]], n_val, confidence,
                                                   f"pairs-{name}-{protocol}", f"All other pairs ({protocol})",
                                                   **rule)
        # The shown table links its rows as CSV; the tests beside it and the appendix's pairs are folded.
        vs_table = with_csv(vs_table, c[c["vs_baseline"]], f"comparisons-{name}-{protocol}", collapsed=False)
        pair_table = with_csv(pair_table, c[~c["vs_baseline"]], f"pairs-{name}-{protocol}")
        vs_tests, pair_tests = with_csv(vs_tests, None), with_csv(pair_tests, None)
        rep_table, gap = replication_view(replication[replication["protocol"] == protocol], protocol, confidence,
                                          name)
        replication_gap = replication_gap or gap
        views.append(ProtocolView(
            name=protocol,
            description=protocol_description(plan, protocol, [dataset]),
            n_seeds=int(s["n_seeds"].max()) if len(s) else 0, n_val=n_val, headline=headline, verdict=sentences,
            summary=main, robust=robust, secondary=secondary, vs_baseline=vs_table, vs_baseline_tests=vs_tests, pairs=pair_table,
            pairs_tests=pair_tests, replication=rep_table,
            replication_notes=majority_note(protocol, majority.get(protocol)),
        ))
    dataset_figures, protocol_figures, missing = figure_views(dataset, protocols, figures, captions)
    diverged_counts, diverged_runs = diverged_tables(final_epoch(tables["runs"]), schedules, protocols, name)
    return DatasetView(
        name=name, dataset=dataset, protocols=views, protocol_difference=protocol_difference(facts_by_protocol),
        dataset_figures=dataset_figures, protocol_figures=protocol_figures, missing_figures=missing,
        friedman=friedman_table(tables["friedman"], confidence, name), diverged_counts=diverged_counts,
        diverged_runs=diverged_runs, n_diverged=len(diverged_runs.rows) if diverged_runs else 0,
        replication_gap=replication_gap,
    )


def _view_name(study: str, dataset: str, kind_count: int) -> str:
    """How a study's dataset is headed and keyed: the dataset alone when it is the only study of its kind."""
    return dataset if kind_count == 1 else f"{study}-{dataset}"


def study_views(plan: Plan, results, figures, captions) -> tuple[list, list, list]:
    """(dataset views and attribution views of the studies without a grid, tuning views of those with one)."""
    report = plan.report
    tuning, plain = plan.tuning_studies, plan.plain_studies
    datasets, attributions, tunings = [], [], []
    for study in plain:
        of_study = plan.studies[study]
        for dataset in of_study.datasets:
            name = _view_name(study, dataset, len(plain))
            tables = read_results(results[study][dataset])
            datasets.append(dataset_view(plan, study, dataset, name, tables, figures.get(study, {}).get(dataset, {}),
                                         captions))
            attribution = tables["attribution"]
            for protocol in of_study.protocols:
                rows = attribution[attribution["protocol"] == protocol]
                if of_study.controls:
                    attributions.append(attribution_view(
                        rows, name=name, dataset=dataset, title=f"{study}, {dataset}", protocol=protocol,
                        description=of_study.description, confidence=report["confidence"],
                        settings={v.name: v.spec for v in of_study.variants}))
    rate_why = {}  # dataset -> where the baseline's own setting scores best in a tuning study's sensitivity
    for study in tuning:
        of_study = plan.studies[study]
        for dataset in of_study.datasets:
            name = _view_name(study, dataset, len(tuning))
            tables = read_results(results[study][dataset], TUNING_TABLES)
            figure = None
            path = figures.get(study, {}).get(dataset, {}).get("sensitivity")
            if path is not None and Path(path).exists():
                spec = TUNING_FIGURES[0]
                figure = FigureView(spec.title, captions[spec.name], f"{spec.alt} ({dataset}).", data_uri(path))
            for protocol in of_study.protocols:
                of_protocol = {key: tables[key][tables[key]["protocol"] == protocol]
                               for key in ("tuned_summary", "tuned_comparisons", "sensitivity", "attribution")}
                attribution = None
                if of_study.attributions:
                    attribution = attribution_view(
                        of_protocol["attribution"], name=f"tuned-{name}", dataset=dataset, title=f"{study}, {dataset}",
                        protocol=protocol, description=of_study.description, confidence=report["confidence"],
                        tuned=True)
                rate_why.setdefault(dataset, baseline_rate_why(
                    of_protocol["sensitivity"], baseline=report["baseline"], dataset=dataset,
                    setting=plan.baseline_settings, reference_lr0=plan.baseline_lr0))
                tunings.append(tuning_view(
                    of_protocol["tuned_summary"], of_protocol["tuned_comparisons"], of_protocol["sensitivity"],
                    study=study, name=name, dataset=dataset, title=f"{study}, {dataset}", protocol=protocol,
                    description=of_study.description, reference_lr0=plan.baseline_lr0,
                    grid=of_study.grid, figure=figure, baseline=report["baseline"],
                    confidence=report["confidence"],
                    equivalence_examples=plan.band(plan.datasets[dataset].sizes[protocol][2]),
                    sensitivity_tie_examples=plan.band(plan.datasets[dataset].sizes[protocol][1]),
                    equivalence_min_seeds=report["equivalence_min_seeds"], resamples=report["bootstrap_resamples"],
                    attribution=attribution))
    attributions = [dataclasses.replace(a, why=" ".join(part for part in (a.why, rate_why.get(a.dataset, "")) if part))
                    for a in attributions]
    return datasets, attributions, tunings


def family_wall_seconds(plan: Plan, study: str, dataset: str, protocol: str,
                        benchmarks: Sequence[tuple[PathLike, int]]) -> dict[str, float]:
    """family -> its share of the measured seconds of the study's training jobs on ``dataset`` and ``protocol``
    (``logs/benchmarks/train/<study>/<dataset>/<protocol>/<job>.tsv``): each job's seconds times the family's share
    of the job's variants (every replica of a job trains the same epochs)."""
    of_study = plan.studies[study]
    shares: dict[str, float] = {}
    frame = read_benchmarks(benchmarks)
    for _, job in frame[frame["step"] == "train"].iterrows():
        parts = Path(job["job"]).with_suffix("").parts
        if parts[-4:-1] != (study, dataset, protocol):
            continue
        trained = of_study.trained_variants(dataset, protocol, of_study.job_budget(parts[-1]))
        for variant in trained:  # a job trains at least one variant
            shares[variant.family] = shares.get(variant.family, 0.0) + job["seconds"] / len(trained)
    return {family: shares[family] for family in of_study.families if family in shares}


def budget_views(plan: Plan, results, figures, captions,
                 benchmarks: Sequence[tuple[PathLike, int]] = ()) -> tuple[list[BudgetView], list[Markup],
                                                                           FigureView | None]:
    """(a view per dataset and protocol of each study with budgets, the overview's answer sentences on them, its one
    figure: the first such study's accuracy by budget). A study counts when its plan has more than one budget and
    every dataset of it has its budget tables; the time-to-target profiles figure is shown in the section."""
    views, sentences, answer_figure = [], [], None
    for study in plan.tuning_studies:
        of_study = plan.studies[study]
        paths = results.get(study, {})
        if not of_study.has_budgets or not all(
                {"budget_summary", "budget_comparisons"} <= set(paths.get(d, {})) for d in of_study.datasets):
            continue
        shown = {}
        for spec in BUDGET_FIGURES:
            path = figures.get(study, {}).get("budgets", {}).get(spec.name)
            if path is not None and Path(path).exists():
                shown[spec.name] = FigureView(spec.title, captions.get(spec.name, Markup("")),
                                              f"{spec.alt} ({study}).", data_uri(path))
        answer_figure = answer_figure or shown.get(BUDGET_ANSWER_FIGURE)
        optimizers = {variant.name: optimizer_name(variant.spec["optimizer"]) for variant in of_study.variants}
        # Warmup-stable-decay's claim is to be stoppable at any budget: its calls are given beside the horizon-free.
        anytime = [family for family in of_study.families
                   if any(v.family == family and v.spec["type"] == "warmup_stable_decay" for v in of_study.variants)]
        summaries, comparisons = [], []
        for dataset in of_study.datasets:
            summary = read_table(paths[dataset]["budget_summary"], "budget_summary")
            compared = read_table(paths[dataset]["budget_comparisons"], "budget_comparisons")
            summaries.append(summary)
            comparisons.append(compared)
            name = f"budgets-{study}-{dataset}"
            for protocol in of_study.protocols:
                views.append(budget_view(
                    summary[summary["protocol"] == protocol], compared[compared["protocol"] == protocol],
                    study=study, name=name, dataset=dataset, title=f"{study}, {dataset}", protocol=protocol,
                    families=of_study.families, optimizers=optimizers, confidence=plan.report["confidence"],
                    figures=list(shown.values()), anytime=anytime,
                    wall_seconds=family_wall_seconds(plan, study, dataset, protocol, benchmarks)))
        sentences += budget_answer(study, pd.concat(summaries, ignore_index=True),
                                   pd.concat(comparisons, ignore_index=True), optimizers, anytime=anytime,
                                   min_seeds=plan.report["equivalence_min_seeds"])
    return views, sentences, answer_figure


def build_context(plan: Plan, results: Mapping[str, Mapping[str, PathLike]],
                  figures: Mapping[str, Mapping[str, PathLike]], captions: Mapping[str, str],
                  provenance: Mapping[str, PathLike], benchmarks: Sequence[tuple[PathLike, int]],
                  now: dt.datetime | None = None) -> dict:
    """Everything the template shows; the arguments are :func:`render_report`'s."""
    now = now or dt.datetime.now(dt.timezone.utc)
    datasets = list(plan.datasets)
    html_captions = render_captions(captions)
    views, attributions, tunings = study_views(plan, results, figures, html_captions)
    suite_tables = {study: read_results(results[study]["suite"], SUITE_TABLES)
                    for study in plan.tuning_studies if "suite" in results.get(study, {})}
    suite_figures = {study: figures.get(study, {}).get("suite", {}) for study in suite_tables}
    budgets, budget_sentences, budget_figure = budget_views(plan, results, figures, html_captions, benchmarks)
    # The answer's figure is not repeated in the suite's section; a study with budgets takes the answer's place.
    suites = [suite_view(study, tables, {name: path for name, path in suite_figures[study].items()
                                         if name != ANSWER_FIGURE or budget_figure is not None},
                         html_captions, baseline=plan.report["baseline"], alpha=1 - plan.report["confidence"],
                         references={name: plan.datasets[name].entry["reference"] for name in plan.studies[study].datasets
                                     if "reference" in plan.datasets[name].entry})
              for study, tables in suite_tables.items()]
    answer = answer_view(suite_tables, suite_figures, attributions, html_captions, baseline=plan.report["baseline"],
                         tunings=tunings, alpha=1 - plan.report["confidence"], budget_sentences=budget_sentences,
                         budget_figure=budget_figure)
    schedule_table, schedule_sentence = schedule_view(plan, datasets[0])
    runtime_steps, runtime_table, runtime_sentence = runtime_view(benchmarks)
    return {
        "title": "Learning-rate schedules compared: " + ", ".join(datasets),
        "datasets": views,
        "attributions": attributions,
        "tunings": tunings,
        "budgets": budgets,
        # Once per tuning study: its families by schedule and optimizer, and what each is tuned over.
        "families": {study: families_table(plan.studies[study]) for study in plan.tuning_studies},
        "suites": suites,
        "answer": answer,
        "bands": band_table(plan, results),
        "data_tables": [data_table(d, provenance.get(d)) for d in datasets],
        "dataset_names": datasets,
        "pages": [(d, page_file(d)) for d in datasets] if len(datasets) > 1 else [],
        "overview_href": None,
        "baseline": plan.report["baseline"],
        "schedule_table": schedule_table,
        "schedule_sentence": schedule_sentence,
        "lr_note": LR_NOTE,
        "methods": methods_view(plan, datasets),
        "glossary": glossary(plan, datasets),
        "config_yaml": plan.config_text,
        "versions": package_versions(),
        "git_commit": git_commit(),
        "rendered_utc": now.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "machine": machine_info(),
        "runtime_steps": runtime_steps,
        "runtime_table": runtime_table,
        "runtime_sentence": runtime_sentence,
    }


def page_file(dataset: str) -> str:
    """The file name of a dataset's page, beside the overview."""
    return f"{dataset}.html"


def dataset_page(context: dict, plan: Plan, dataset: str) -> dict:
    """The context of one dataset's page: the full context with only that dataset's views and its own design. The
    template shows only this dataset's data provenance there and links the overview's for the configuration, the
    package versions and the machine, which are the same for every dataset."""
    def mine(views):
        return [view for view in views if view.dataset == dataset]

    schedule_table, schedule_sentence = schedule_view(plan, dataset)
    return {
        **context,
        "title": f"Learning-rate schedules compared: {dataset}",
        "datasets": mine(context["datasets"]),
        "attributions": mine(context["attributions"]),
        "tunings": mine(context["tunings"]),
        "budgets": mine(context["budgets"]),
        "data_tables": [t for t, d in zip(context["data_tables"], context["dataset_names"]) if d == dataset],
        "overview_href": "report.html",
        "methods": methods_view(plan, [dataset]),
        "glossary": glossary(plan, [dataset]),
        "schedule_table": schedule_table,
        "schedule_sentence": schedule_sentence,
    }


def render_html(context: dict, template: str = "report.html.j2") -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("schedbench", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template(template).render(**context)


def render_report(
    plan: Plan,
    results: Mapping[str, Mapping[str, PathLike]],
    figures: Mapping[str, Mapping[str, PathLike]],
    captions: Mapping[str, str],
    provenance: Mapping[str, PathLike],
    benchmarks: Sequence[tuple[PathLike, int]],
    out_path: PathLike,
) -> list[Path]:
    """Write the self-contained HTML report atomically and return the paths written: for one dataset, the whole
    report at ``out_path``; for several, an overview there that answers across datasets first and links one page
    per dataset (``<dataset>.html`` beside it, each with that dataset's detail and a link back).

    ``plan``: what was run (:func:`schedbench.plan.build_plan`), studies and datasets reported in its order;
    ``results``: study -> dataset -> {table name -> CSV path} for every table of :data:`REPORT_TABLES` (a tuning
    study: of :data:`schedbench.tables.TUNING_TABLES`, and ``budget_summary`` and ``budget_comparisons`` where it
    has budgets); ``figures``: study -> dataset -> {figure stem -> PNG path} (stems of
    :func:`schedbench.figures.registry.figure_stems`, or ``sensitivity``; a missing one is listed as not produced),
    and study -> "budgets" -> {name of :data:`schedbench.figures.registry.BUDGET_FIGURES` -> PNG path};
    ``captions``: figure name -> its reStructuredText caption;
    ``provenance``: dataset -> path of ``data/raw/<dataset>.provenance.json``; ``benchmarks``: (Snakemake
    benchmark TSV of a job, ``logs/benchmarks/<step>/...``, training runs that job trained; 0 for other steps).
    """
    context = build_context(plan, results, figures, captions, provenance, benchmarks)
    out_path = Path(out_path)
    if not context["pages"]:
        atomic_write_text(out_path, render_html(context))
        return [out_path]
    written = []
    for dataset, name in context["pages"]:
        path = out_path.parent / name
        atomic_write_text(path, render_html(dataset_page(context, plan, dataset)))
        written.append(path)
    atomic_write_text(out_path, render_html(context, "overview.html.j2"))
    return [out_path, *written]

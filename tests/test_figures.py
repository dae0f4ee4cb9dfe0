"""The figures: one registry, a caption file per figure, deterministic PNGs, titled and labelled axes."""

from __future__ import annotations

import pytest

from conftest import REPO, tiny_config

from schedbench.config import validate_config
from schedbench.figures.build import build_figures, save_figures
from schedbench.figures.data import FIGURE_TABLES, FigureData
from schedbench.figures.registry import (
    BUDGET_FIGURES,
    FIGURES,
    SUITE_FIGURES,
    TUNING_FIGURES,
    figure_settings,
    figure_stems,
)
from schedbench.plan import build_plan

DATASET = "ionosphere"
TABLE_CAPTIONS = {"runs.rst", "summary.rst", "comparisons.rst", "attribution.rst", "sensitivity-table.rst",
                  "tuned.rst", "tuned-comparisons.rst", "tuned-attribution.rst", "suite.rst", "report.rst", "workflow.rst",
                  "budgets.rst", "budget-comparisons.rst", "budget-profiles.rst", "best-by-budget.rst"}


def test_every_figure_has_a_caption_file_and_every_caption_a_use():
    captions = {path.name for path in (REPO / "workflow/report").glob("*.rst")}
    specs = (*FIGURES, *TUNING_FIGURES, *SUITE_FIGURES, *BUDGET_FIGURES)
    figure_captions = {spec.caption_file for spec in specs}
    assert figure_captions <= captions
    assert captions - figure_captions == TABLE_CAPTIONS
    assert len({spec.name for spec in specs}) == len(specs)
    used = "".join(path.read_text() for path in (REPO / "workflow/rules").glob("*.smk"))
    assert all(f"../report/{name}" in used for name in TABLE_CAPTIONS - {"workflow.rst"})


def test_figure_stems_put_dataset_figures_first_then_each_protocol():
    stems = figure_stems(["tail", "resplit"])
    wide = [spec.name for spec in FIGURES if not spec.per_protocol]
    per_protocol = [spec.name for spec in FIGURES if spec.per_protocol]
    assert stems == wide + [f"tail-{n}" for n in per_protocol] + [f"resplit-{n}" for n in per_protocol]


def _tables(workdir):
    return {name: workdir / f"results/article/{DATASET}/{name}.csv" for name in FIGURE_TABLES}


@pytest.mark.slow
@pytest.mark.parametrize("processes", [1, 2])
def test_figures_are_deterministic(tiny_run, tmp_path, processes):
    """Drawn again, in this process or by two workers, the figures are the workflow's bytes (its figures rule draws
    them two at a time)."""
    workdir, _ = tiny_run
    config = tiny_config()
    again = save_figures(figure_settings(build_plan(validate_config(config)), "article", DATASET), _tables(workdir),
                         tmp_path, processes=processes)
    assert list(again) == figure_stems(config["studies"]["article"]["protocols"])
    for stem, path in again.items():
        drawn_by_the_workflow = workdir / f"results/article/{DATASET}/figures/{stem}.png"
        assert path.read_bytes() == drawn_by_the_workflow.read_bytes(), stem
        assert b"tEXtSoftware" not in path.read_bytes() and b"Creation" not in path.read_bytes()


@pytest.mark.slow
def test_figure_functions_return_titled_figures(tiny_run):
    workdir, _ = tiny_run
    data = FigureData.load(figure_settings(build_plan(validate_config(tiny_config())), "article", DATASET), _tables(workdir))
    for name, fig in build_figures(data).items():
        axes = [ax for ax in fig.axes if ax.get_visible()]
        assert axes, name
        titled = fig.get_suptitle() or any(ax.get_title() for ax in axes)
        assert titled, name
        assert fig.get_supxlabel() or any(ax.get_xlabel() for ax in axes), name
        assert any(ax.get_ylabel() for ax in axes), name


def test_long_schedule_names_wrap_at_hyphens_instead_of_clipping():
    from schedbench.figures.style import wrapped

    name = "drop-decay-every-ten-epochs-by-half"
    lines = wrapped(name).split("\n")
    assert len(lines) > 1 and all(len(line) <= 16 for line in lines) and "".join(lines) == name
    assert wrapped("cosine") == "cosine"
    assert wrapped("averyveryverylongnamewithoutbreaks") == "averyveryverylongnamewithoutbreaks"  # never cut a word

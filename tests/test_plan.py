"""The plan: what the validated config asks to run, computed once, and the protocol registry it rests on."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from conftest import REPO, load_repo_config

from schedbench.config import validate_config
from schedbench.config_files import load_config
from schedbench.plan import Plan, build_plan
from schedbench.protocols import PROTOCOLS, held_out
from schedbench.report.methods import methods_view, schedule_view

CONFIG = validate_config(load_repo_config())
PLAN = build_plan(CONFIG)


def test_the_plan_survives_the_trip_through_rule_params():
    """Rules receive the plan as builtins (Snakemake's params trigger ignores other objects) and rebuild it."""
    data = PLAN.to_dict()

    def builtins_only(node):
        if isinstance(node, dict):
            return all(isinstance(k, str) and builtins_only(v) for k, v in node.items())
        if isinstance(node, (list, tuple)):
            return all(builtins_only(v) for v in node)
        return node is None or isinstance(node, (str, int, float, bool))

    assert builtins_only(data)
    again = Plan.from_dict(data)
    assert again == PLAN
    assert [v.spec for v in again.studies["article"].variants] == [v.spec for v in PLAN.studies["article"].variants]


def test_each_dataset_carries_its_own_model_training_and_split_sizes():
    wine, ionosphere = PLAN.datasets["wine"], PLAN.datasets["ionosphere"]
    assert wine.model["hidden_units"] == 13 and wine.training["batch_size"] == 16 and wine.classes == 3
    assert wine.model_text == "Dense(13, relu) then Dense(3, softmax)"
    assert ionosphere.model_text == "Dense(34, relu) then Dense(1, sigmoid)"
    # Only the protocols some study uses on the dataset: wine is in the tuning study alone.
    assert wine.sizes == {"heldout": (83, 59, 36)}
    assert ionosphere.sizes == {"tail": (235, 116, 0), "heldout": (164, 116, 71)}
    assert ionosphere.updates_per_epoch("tail") == 9 and ionosphere.updates_per_epoch("heldout") == 6


def test_jit_compile_is_a_dataset_setting_its_jobs_carry():
    """training.jit_compile (off) stands where a dataset does not set its own (the MNIST-1D workloads compile their
    updates with XLA); it changes the numbers, so a job's settings carry it and the job reruns when it changes."""
    assert CONFIG["training"]["jit_compile"] is False
    assert PLAN.job_settings("article", "ionosphere")["training"]["jit_compile"] is False
    assert PLAN.job_settings("optimizers", "mnist1d_cnn")["training"]["jit_compile"] is True
    other = copy.deepcopy(CONFIG)
    other["training"]["jit_compile"] = True
    del other["datasets"]["mnist1d_cnn"]["training"]["jit_compile"]
    plan = build_plan(validate_config(other))
    assert plan.job_settings("article", "ionosphere")["training"]["jit_compile"] is True
    assert plan.job_settings("article", "ionosphere") != PLAN.job_settings("article", "ionosphere")
    # The report's methods say which of a page's datasets compile their updates.
    assert methods_view(PLAN, ["ionosphere"])["compiled"] == ""
    assert methods_view(PLAN, ["mnist1d_mlp", "mnist1d_cnn"])["compiled"] == ", each update compiled by XLA (jit_compile)"
    assert methods_view(PLAN, ["ionosphere", "mnist1d_cnn"])["compiled"].endswith("(jit_compile) on mnist1d_cnn")


def test_studies_their_chunks_and_their_kind():
    article, tuning = PLAN.studies["article"], PLAN.studies["tuning"]
    assert PLAN.plain_studies == ["article"] and PLAN.tuning_studies == ["tuning", "optimizers"]
    assert PLAN.suites == ["tuning", "optimizers"]
    assert list(article.chunks) == ["seeds-0-49"] and article.runs_per_job("ionosphere", "tail", "seeds-0-49") == 50 * 8
    assert article.compared == ["baseline", "time-decay", "drop-decay", "exponential", "plateau", "cosine"]
    assert ("cosine", "baseline momentum=0.9") in article.attributions
    assert len(tuning.variants) == 60 and tuning.parameters == ("lr0", "momentum")
    # Today's question on the second group: 6 families of 3 rates, every family split against its control family,
    # at four budgets: the decays to zero and WSD trained again for each shorter one, the others read.
    optimizers = PLAN.studies["optimizers"]
    assert len(optimizers.variants) == 18 and optimizers.parameters == ("lr0",)
    assert dict(optimizers.attributions)["adamw-cosine"] == "adamw-constant"
    assert dict(optimizers.attributions)["sgd-cosine"] == "baseline"
    assert PLAN.budget_studies == ["optimizers"] and optimizers.budgets == (0.125, 0.25, 0.5, 1.0)
    assert {v.family for v in optimizers.trained_variants("mnist1d_cnn", "heldout", 0.125)} == {
        "sgd-cosine", "adamw-cosine", "adamw-wsd"}
    assert optimizers.jobs("mnist1d_mlp", "heldout") == [
        "seeds-0-9", "seeds-0-9.budget-0.125", "seeds-0-9.budget-0.25", "seeds-0-9.budget-0.5"]
    # The full study, one config file away: 11 families of 6 settings each on both groups of datasets.
    full = build_plan(load_config(REPO / "config.yaml", REPO / "config-full.yaml"))
    optimizers = full.studies["optimizers"]
    assert len(optimizers.variants) == 66 and optimizers.parameters == ("lr0", "weight_decay")
    assert dict(optimizers.attributions)["adamw-wsd"] == "adamw-constant"
    assert dict(optimizers.attributions)["sgd-wsd"] == "baseline"
    assert full.studies["tuning"].datasets == optimizers.datasets and len(optimizers.datasets) == 7
    assert list(optimizers.seeds) == list(range(30)) and full.datasets["mnist1d_cnn"].training["epochs"] == 100
    # Cosine anneals over each dataset's own run there (its decay_steps removed by a null).
    cosine = next(v for v in full.studies["tuning"].variants if v.family == "cosine")
    assert "decay_steps" not in cosine.spec


def test_the_primary_score_follows_the_study_and_the_protocol():
    """A study without a grid compares validation accuracy even where the protocol holds out test rows; a tuning
    study scores its choice on those test rows."""
    assert PLAN.studies["article"].primary_score("tail") == "val_accuracy"
    assert PLAN.studies["tuning"].primary_score("heldout") == "test_accuracy"
    config = copy.deepcopy(load_repo_config())
    config["studies"]["article"]["protocols"] = ["heldout"]
    plan = build_plan(validate_config(config))
    assert plan.studies["article"].primary_score("heldout") == "val_accuracy"
    assert methods_view(plan, ["ionosphere"])["primary"] == [
        ("article", "heldout", "final-epoch validation accuracy"),
        ("tuning", "heldout", "test accuracy of the variant chosen on validation rows"),
    ]


def test_the_corrected_t_ratio_is_given_only_where_seeds_resample_the_split():
    config = copy.deepcopy(load_repo_config())
    config["studies"]["article"]["protocols"] = ["tail", "resplit"]
    plan = build_plan(validate_config(config))
    assert plan.corrected_t_ratios("article", "ionosphere") == {"resplit": 116 / 235}
    assert PLAN.corrected_t_ratios("article", "ionosphere") == {}


def test_a_job_depends_on_its_own_study_and_dataset_only():
    settings = PLAN.job_settings("article", "ionosphere")
    assert "urls" not in settings["dataset"] and "threads" not in settings["training"]
    other = copy.deepcopy(CONFIG)
    other["datasets"]["ionosphere"]["urls"] = ["https://mirror.example/ionosphere.data"]
    other["training"]["threads"] = 1
    other["studies"]["tuning"]["seeds"] = {"start": 0, "count": 3}
    assert build_plan(other).job_settings("article", "ionosphere") == settings


def test_the_report_threads_are_the_statistics_and_figures_jobs_threads_not_a_setting_of_their_tables():
    other = copy.deepcopy(CONFIG)
    other["report"]["threads"] = 1
    plan = build_plan(other)
    assert (plan.report_threads, PLAN.report_threads) == (1, 2)
    assert plan.report == PLAN.report and "threads" not in plan.report  # the statistics' params: no rerun
    assert plan.threads == PLAN.threads  # the training jobs' own count


@pytest.mark.parametrize("name", list(PROTOCOLS))
def test_every_protocol_splits_to_its_sizes(name):
    protocol = PROTOCOLS[name]
    y = np.array([0] * 120 + [1] * 231, dtype=np.float32)
    sizes = protocol.sizes(len(y), 0.33, 0.2)
    train, val, test = protocol.split(7, y, sizes, 0.33)
    assert (len(train), len(val), len(test)) == sizes
    assert (sizes[2] > 0) == protocol.has_test_rows == (name in held_out())
    assert len(set(train) | set(val) | set(test)) == len(y)
    again = protocol.split(8, y, sizes, 0.33)
    assert np.array_equal(val, again[1]) != protocol.split_per_seed


def test_a_page_of_a_tuning_study_alone_shows_its_grid_not_a_difference_of_momentum():
    table, sentence = schedule_view(PLAN, "wine")
    assert "trains every family over its grid (lr0 in 0.01, 0.03, 0.1, 0.3, 1; momentum in 0, 0.9)" in sentence
    assert "optimizer settings" not in sentence
    _, sentence = schedule_view(PLAN, "ionosphere")
    assert "differ in how the rate decays and in the optimizer settings" in sentence
    assert table.columns[-2] == "Optimizer" and table.rows[0][-2] == "sgd (momentum 0, nesterov no)"

"""Studies as config data: grids expand into named variants, controls are added exactly where the optimizer
settings differ, bad studies are refused naming the key, and the held-out split is disjoint and stratified."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from conftest import REPO, load_repo_config

from schedbench import data as datamod
from schedbench import studies
from schedbench.config import ConfigError, validate_config
from schedbench.jobs import prepare_job
from schedbench.plan import build_plan, dataset_split_sizes
from schedbench.protocols import PROTOCOLS


def config_with(**changes) -> dict:
    config = copy.deepcopy(load_repo_config())
    for key, value in changes.items():
        config[key] = value
    return config


def one_study(config: dict, **study) -> dict:
    """``config`` with a single study named 'only' (the baseline included)."""
    config["studies"] = {"only": {"protocols": ["tail"], "seeds": [0, 1], **study}}
    return config


# --------------------------------------------------------------------------------------------------
# grids
# --------------------------------------------------------------------------------------------------
def test_a_list_in_a_schedule_entry_expands_into_named_variants_with_parameter_columns():
    config = load_repo_config()
    config["schedules"]["cosine"] = dict(config["schedules"]["cosine"], lr0=[0.1, 0.3], optimizer={"momentum": [0.0, 0.9]})
    config["schedules"]["baseline"] = dict(config["schedules"]["baseline"], lr0=[0.01, 0.03, 0.1, 0.3])
    config = validate_config(one_study(config, protocols=["heldout"], schedules=["baseline", "cosine"]))
    names = [v.name for v in studies.variants(config, "only")]
    assert names == ["baseline lr0=0.01", "baseline lr0=0.03", "baseline lr0=0.1", "baseline lr0=0.3",
                     "cosine lr0=0.1 momentum=0.0", "cosine lr0=0.1 momentum=0.9",
                     "cosine lr0=0.3 momentum=0.0", "cosine lr0=0.3 momentum=0.9"]
    assert studies.parameters(config, "only") == ["lr0", "momentum"]
    variant = studies.variants(config, "only")[7]
    assert (variant.family, variant.spec["lr0"], variant.spec["optimizer"]["momentum"]) == ("cosine", 0.3, 0.9)
    assert studies.parameter_values(studies.variants(config, "only")[0], ["lr0", "momentum"]) == {
        "lr0": 0.01, "momentum": 0.0}
    # The catalogue keeps its grid, with the schema's defaults filled around it.
    assert config["schedules"]["cosine"]["lr0"] == [0.1, 0.3] and config["schedules"]["cosine"]["alpha"] == 0.0


def test_a_study_grid_overrides_every_family_that_has_the_parameter():
    config = validate_config(load_repo_config())
    variants = studies.variants(config, "tuning")
    families = config["studies"]["tuning"]["schedules"]
    assert len(variants) == len(families) * 5 * 2
    for family in families:
        mine = [v for v in variants if v.family == family]
        assert sorted({v.spec["lr0"] for v in mine}) == [0.01, 0.03, 0.1, 0.3, 1.0]
        assert sorted({v.spec["optimizer"]["momentum"] for v in mine}) == [0.0, 0.9]
    assert studies.has_grid(config, "tuning") and not studies.has_grid(config, "article")
    # The study's override of a family: cosine counts epochs in the tuning study only.
    cosine = next(v for v in variants if v.family == "cosine")
    assert (cosine.spec["per"], cosine.spec["decay_steps"]) == ("epoch", 50)
    assert config["schedules"]["cosine"]["per"] == "update"


def test_the_default_tuning_grid_is_log_spaced_over_30x_around_the_articles_rate():
    grid = validate_config(load_repo_config())["studies"]["tuning"]["grid"]
    lr0 = np.array(grid["lr0"])
    assert len(lr0) >= 5 and lr0.max() / lr0.min() >= 30 and 0.1 in lr0
    assert np.ptp(np.diff(np.log10(lr0))) < 0.1  # evenly spaced on a log axis (to rounding of 0.03)
    assert {0.0, 0.9} <= set(grid["optimizer"]["momentum"])


@pytest.mark.parametrize("change, message", [
    (lambda c: c["schedules"]["cosine"].update(lr0=[0.1, 0.1]), "schedules.cosine.lr0: a grid needs distinct"),
    (lambda c: c["schedules"]["cosine"].update(lr0=[0.1, -1.0]), "schedules.cosine.lr0.1: -1.0 is less"),
    (lambda c: c["schedules"].update(twin=dict(c["schedules"]["cosine"])), "'cosine' and 'twin' are the same variant"),
    (lambda c: c["studies"]["tuning"]["grid"].update(decay=[0.1, 0.2]), "studies.tuning.grid.decay"),
    (lambda c: c["studies"]["tuning"]["grid"].update(type=["constant"]), "studies.tuning.grid.type"),
    (lambda c: c["studies"]["tuning"]["grid"].update(lr0=[0.1, -0.3]), "studies.tuning.grid.lr0.1: -0.3 is less"),
    (lambda c: c["studies"]["article"].update(schedules=["baseline", "nope"]), "studies.article.schedules: nope"),
    (lambda c: c["studies"]["article"].update(schedules=["cosine"]), "must include the baseline"),
    (lambda c: c["studies"]["tuning"].update(protocols=["tail"]), "studies.tuning.protocols"),
    (lambda c: c["studies"]["article"].update(datasets=["nope"]), "studies.article.datasets: nope"),
    (lambda c: c["studies"].update(report=dict(c["studies"]["article"])), "studies.report: the name is taken"),
    (lambda c: c["studies"]["tuning"].update(overrides={"nope": {}}), "studies.tuning.overrides.nope: not among"),
    (lambda c: c["studies"]["tuning"].update(overrides={"cosine": {"per": "batch"}}),
     "studies.tuning.overrides.cosine.per: 'batch'"),
])
def test_bad_grids_and_studies_are_refused_naming_them(change, message):
    config = load_repo_config()
    if "twin" in message:  # the twin must be in a study to be a duplicate there
        change(config)
        config["studies"]["article"]["schedules"].append("twin")
    else:
        change(config)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        validate_config(config)


def test_a_check_beyond_the_schema_names_the_study_setting_that_breaks_it():
    config = load_repo_config()
    config["schedules"]["cyclic"] = {"type": "cyclical", "base_lr": 0.01, "max_lr": 0.1, "step_size": 20,
                                   "per": "update"}
    config["studies"]["article"]["schedules"].append("cyclic")
    config["studies"]["article"]["overrides"] = {"cyclic": {"max_lr": 0.001}}
    with pytest.raises(ConfigError) as caught:
        validate_config(config)
    # Located at the override (in the file that sets it), not at the catalogue entry it changes.
    assert str(caught.value) == ("invalid configuration:\n  "
                                 "studies.article.overrides.cyclic.max_lr: 0.001 is below base_lr 0.01")


def test_unequal_tuning_budgets_are_refused():
    config = load_repo_config()
    config["studies"]["tuning"]["overrides"]["cosine"]["alpha"] = [0.0, 0.1]  # 20 variants, the others 10
    with pytest.raises(ConfigError, match="same number of variants.*cosine 20"):
        validate_config(config)



def test_a_grid_without_test_rows_is_refused():
    config = load_repo_config()
    config["studies"]["tuning"]["protocols"] = ["resplit"]
    with pytest.raises(ConfigError, match=r"studies\.tuning\.protocols: .* its protocols must be heldout "
                                          r"\(not resplit\)"):
        validate_config(config)

# --------------------------------------------------------------------------------------------------
# controls
# --------------------------------------------------------------------------------------------------
def test_controls_are_added_exactly_where_the_optimizer_settings_differ():
    config = load_repo_config()
    config["schedules"]["plain-decay"] = {"type": "step", "lr0": 0.1, "drop": 0.5, "epochs_drop": 10}  # momentum 0
    config["schedules"]["nesterov-decay"] = dict(config["schedules"]["drop-decay"], optimizer={"momentum": 0.9, "nesterov": True})
    config["studies"]["article"]["schedules"] += ["plain-decay", "nesterov-decay"]
    config = validate_config(config)
    variants = studies.variants(config, "article")
    controls = [v for v in variants if v.control]
    assert [v.name for v in controls] == ["baseline momentum=0.8", "baseline momentum=0.9",
                                          "baseline momentum=0.9 nesterov=true"]
    for control in controls:
        assert control.family == "baseline" and control.spec["type"] == "constant" and control.spec["lr0"] == 0.1
    pairs = dict(studies.attributions(config, "article"))
    assert pairs["time-decay"] == "baseline momentum=0.8"
    assert pairs["drop-decay"] == pairs["cosine"] == "baseline momentum=0.9"
    assert pairs["plain-decay"] == "baseline"  # same optimizer: its whole difference is the schedule's
    assert pairs["nesterov-decay"] == "baseline momentum=0.9 nesterov=true"
    assert studies.parameters(config, "article") == ["momentum", "nesterov"]


def test_a_control_is_the_baseline_as_the_study_trains_it():
    config = load_repo_config()
    config["studies"]["article"]["overrides"] = {"baseline": {"lr0": 0.05}}
    config = validate_config(config)
    controls = [v for v in studies.variants(config, "article") if v.control]
    assert [v.spec["lr0"] for v in controls] == [0.05, 0.05]  # not the catalogue's 0.1


def test_nesterov_without_momentum_is_the_same_variant():
    config = load_repo_config()
    config["studies"]["tuning"]["grid"]["optimizer"]["nesterov"] = [False, True]
    with pytest.raises(ConfigError, match="momentum=0.0 nesterov=false' and '.*momentum=0.0 nesterov=true' are the same"):
        validate_config(config)


def test_split_sizes_are_checked_only_where_a_study_uses_the_dataset():
    config = load_repo_config()
    small = dict(config["datasets"]["ionosphere"], rows=50)
    config["datasets"]["small"] = small
    config["studies"]["article"]["datasets"] = ["ionosphere", "small"]  # tail: 34 training rows, batch 28 fits
    config["studies"]["tuning"]["datasets"] = ["ionosphere"]
    validate_config(config)
    config["studies"]["tuning"]["datasets"] = ["ionosphere", "small"]  # heldout: 23 training rows
    with pytest.raises(ConfigError, match="28 is larger than the 23 training rows of datasets.small under heldout"):
        validate_config(config)


def test_a_configured_schedule_that_is_a_control_is_not_trained_twice():
    config = load_repo_config()
    config["schedules"]["sgd-momentum"] = {"type": "constant", "lr0": 0.1, "optimizer": {"momentum": 0.9}}
    config["studies"]["article"]["schedules"].append("sgd-momentum")
    config = validate_config(config)
    names = [v.name for v in studies.variants(config, "article")]
    assert "baseline momentum=0.9" not in names and names.count("sgd-momentum") == 1
    assert dict(studies.attributions(config, "article"))["cosine"] == "sgd-momentum"


def test_no_controls_when_switched_off_or_in_a_tuning_study():
    config = load_repo_config()
    config["studies"]["article"]["controls"] = False
    config = validate_config(config)
    assert not any(v.control for v in studies.variants(config, "article"))
    assert studies.attributions(config, "article") == []
    assert not any(v.control for v in studies.variants(config, "tuning"))


def test_job_settings_hold_the_studys_variants_and_nothing_of_other_studies():
    config = validate_config(load_repo_config())
    settings = build_plan(config).job_settings("article", "ionosphere")
    assert [name for name, _, _ in settings["variants"]][-2:] == ["baseline momentum=0.8", "baseline momentum=0.9"]
    other = copy.deepcopy(config)
    other["studies"]["tuning"]["grid"]["lr0"] = [0.1, 1.0]
    assert build_plan(other).job_settings("article", "ionosphere") == settings


# --------------------------------------------------------------------------------------------------
# the held-out protocol
# --------------------------------------------------------------------------------------------------
def test_heldout_split_sizes_follow_the_configured_fractions():
    config = validate_config(load_repo_config())
    assert dataset_split_sizes(config, "ionosphere", "heldout") == (164, 116, 71)
    assert dataset_split_sizes(config, "ionosphere", "tail") == (235, 116, 0)


@pytest.mark.parametrize("seed", range(5))
def test_heldout_split_is_disjoint_stratified_and_paired_by_seed(seed):
    _, y = datamod.load_dataset(REPO / "data/bundled/ionosphere.data", features=34, labels=["b", "g"])
    train, val, test = PROTOCOLS["heldout"].split(seed, y, (164, 116, 71), 0.33)
    assert (len(train), len(val), len(test)) == (164, 116, 71)
    assert not set(train) & set(val) and not set(train) & set(test) and not set(val) & set(test)
    assert len(set(train) | set(val) | set(test)) == len(y)
    share = y.mean()
    for part in (train, val, test):
        # Stratified: each part's share of 'g' within one example of the whole table's.
        assert abs(y[part].sum() - share * len(part)) <= 1.0
    again = PROTOCOLS["heldout"].split(seed, y, (164, 116, 71), 0.33)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again))
    other = PROTOCOLS["heldout"].split(seed + 1, y, (164, 116, 71), 0.33)
    assert not np.array_equal(test, other[2])


def test_every_schedule_of_a_seed_sees_the_same_heldout_rows():
    config = validate_config(load_repo_config())
    settings = build_plan(config).job_settings("tuning", "ionosphere")
    inputs = prepare_job(settings, "heldout", [3, 4], REPO / "data/bundled/ionosphere.data")
    assert inputs.test_rows.shape == (2, 71) and inputs.val_rows.shape == (2, 116) and inputs.n_train == 164
    assert len(inputs.schedules) == 60  # one job trains every variant of the seed on the seed's split
    assert not np.array_equal(inputs.test_rows[0], inputs.test_rows[1])


def test_fractions_that_leave_no_training_rows_are_refused():
    config = load_repo_config()
    config["test_fraction"] = 0.67
    with pytest.raises(ConfigError, match="leave an empty part.*heldout"):
        validate_config(config)


# --------------------------------------------------------------------------------------------------
# the optimizer block
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("change, message", [
    (lambda c: c["schedules"]["baseline"].update(momentum=0.9),
     "schedules.baseline.momentum: moved to schedules.baseline.optimizer.momentum"),
    (lambda c: c["schedules"]["cosine"].update(nesterov=True),
     "schedules.cosine.nesterov: moved to schedules.cosine.optimizer.nesterov"),
    (lambda c: c["studies"]["tuning"]["grid"].update(momentum=[0.0, 0.5]),
     "studies.tuning.grid.momentum: moved to studies.tuning.grid.optimizer.momentum"),
    (lambda c: c["studies"]["article"].update(overrides={"cosine": {"momentum": 0.5}}),
     "studies.article.overrides.cosine.momentum: moved to studies.article.overrides.cosine.optimizer.momentum"),
    (lambda c: c["studies"]["tuning"]["grid"]["optimizer"].update(name=["sgd"]),
     "studies.tuning.grid.optimizer.name: cannot be a grid"),
    (lambda c: c["studies"]["tuning"]["grid"]["optimizer"].update(beta_1=[0.9]),
     "studies.tuning.grid.optimizer.beta_1: the optimizer of schedule.s. baseline, .* has no parameter beta_1"),
])
def test_optimizer_settings_outside_the_optimizer_block_are_refused_naming_where_they_go(change, message):
    config = load_repo_config()
    change(config)
    with pytest.raises(ConfigError, match=message):
        validate_config(config)


def test_an_optimizer_grid_in_a_family_names_variants_by_parameter():
    config = load_repo_config()
    config["schedules"]["cosine"]["optimizer"] = {"momentum": [0.5, 0.9], "nesterov": [False, True]}
    config["schedules"]["baseline"]["lr0"] = [0.01, 0.03, 0.1, 0.3]
    config = validate_config(one_study(config, protocols=["heldout"], schedules=["baseline", "cosine"]))
    variants = {v.name: v for v in studies.variants(config, "only")}
    assert [name for name in variants if name.startswith("cosine")] == [
        "cosine momentum=0.5 nesterov=false", "cosine momentum=0.5 nesterov=true",
        "cosine momentum=0.9 nesterov=false", "cosine momentum=0.9 nesterov=true"]
    assert variants["cosine momentum=0.9 nesterov=true"].spec["optimizer"] == {
        "momentum": 0.9, "nesterov": True, "name": "sgd"}
    assert studies.parameters(config, "only") == ["lr0", "momentum", "nesterov"]
    assert config["schedules"]["cosine"]["optimizer"]["momentum"] == [0.5, 0.9]  # the catalogue keeps its grid


def test_an_optimizer_override_merges_into_the_entrys_block():
    config = load_repo_config()
    config["studies"]["article"]["overrides"] = {"drop-decay": {"optimizer": {"nesterov": True}}}
    config = validate_config(config)
    variants = {v.name: v for v in studies.variants(config, "article")}
    # drop-decay keeps its momentum 0.9, now with nesterov; its control follows.
    assert variants["drop-decay"].spec["optimizer"] == {"momentum": 0.9, "name": "sgd", "nesterov": True}
    assert dict(studies.attributions(config, "article"))["drop-decay"] == "baseline momentum=0.9 nesterov=true"
    assert config["schedules"]["drop-decay"]["optimizer"]["nesterov"] is False  # the catalogue is untouched


# --------------------------------------------------------------------------------------------------
# a tuning study of schedules x optimizers: each family's control family
# --------------------------------------------------------------------------------------------------
def optimizer_factorial_config() -> dict:
    """Constant and cosine, each with plain SGD and with heavy-ball momentum, tuned over lr0 on held-out rows."""
    config = load_repo_config()
    config["schedules"]["momentum-constant"] = {"type": "constant", "lr0": 0.1, "optimizer": {"momentum": 0.9}}
    config["schedules"]["momentum-cosine"] = dict(config["schedules"]["cosine"], optimizer={"momentum": 0.9})
    config["schedules"]["cosine"] = dict(config["schedules"]["cosine"], optimizer={"momentum": 0.0})
    return validate_config(one_study(
        config, protocols=["heldout"], grid={"lr0": [0.03, 0.1, 0.3]},
        schedules=["baseline", "cosine", "momentum-constant", "momentum-cosine"]))


def test_a_tuning_study_pairs_each_family_with_the_baselines_formula_under_its_optimizer():
    config = optimizer_factorial_config()
    assert studies.attributions(config, "only") == [
        ("cosine", "baseline"), ("momentum-constant", "momentum-constant"), ("momentum-cosine", "momentum-constant")]
    assert build_plan(config).studies["only"].attributions == (
        ("cosine", "baseline"), ("momentum-constant", "momentum-constant"), ("momentum-cosine", "momentum-constant"))


def test_a_tuning_study_whose_families_share_the_baselines_optimizer_splits_nothing():
    assert studies.attributions(validate_config(load_repo_config()), "tuning") == []


def test_a_family_without_its_control_family_is_left_out_of_the_split():
    config = optimizer_factorial_config()
    config["studies"]["only"]["schedules"].remove("momentum-constant")
    assert studies.attributions(config, "only") == [("cosine", "baseline")]

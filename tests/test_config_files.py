"""Config files that cannot be used are named, with the line and column, before anything runs."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from conftest import REPO
from schedbench.config import ConfigError, validate_config
from schedbench.config_files import key_marks, load_config, merged_config, read_config_file
from schedbench.plan import build_plan


def snakemake_dry_run(workdir, *args):
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
               "--cores", "1", "--dry-run", *args]
    # Snakemake prints its own errors on stdout, the workflow's on stderr: one stream, as a terminal shows them.
    return subprocess.run(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=120)


def check_command(*paths):
    """The README's command that locates a problem in config files."""
    return subprocess.run([sys.executable, "-m", "schedbench.config_files", *map(str, paths)], capture_output=True,
                          text=True, timeout=60)


def assert_refused_before_anything_ran(result, workdir, message):
    assert result.returncode == 1
    assert message in result.stdout, result.stdout
    assert "Traceback" not in result.stdout
    assert not (workdir / "results").exists() and not (workdir / "logs").exists()


def broken_yaml(tmp_path, name="config.yaml"):
    """config.yaml with an unclosed list on one line; returns the file and where YAML sees the problem."""
    lines = (REPO / "config.yaml").read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("training:")) + 1
    lines.insert(at, "  seeds: [0, 1, 2")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(yaml.MarkedYAMLError) as caught:
        yaml.safe_load(path.read_text())
    mark = caught.value.problem_mark
    return path, f"line {mark.line + 1}, column {mark.column + 1}"


def test_syntax_error_in_config_yaml_names_the_file_line_and_column(tmp_path):
    _, where = broken_yaml(tmp_path)
    result = snakemake_dry_run(tmp_path)
    assert_refused_before_anything_ran(result, tmp_path, f"schedbench: config.yaml, {where}: not valid YAML")


def test_empty_config_yaml_is_named(tmp_path):
    (tmp_path / "config.yaml").write_text("# every key commented out\n")
    result = snakemake_dry_run(tmp_path)
    assert_refused_before_anything_ran(result, tmp_path, "schedbench: config.yaml: the file is empty")


@pytest.mark.parametrize("name", ["yes", "no", "on"])
def test_yaml_boolean_words_as_schedule_names_are_refused_with_their_place(tmp_path, name):
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    override = tmp_path / "mine.yaml"
    override.write_text(f"schedules:\n  {name}:\n    type: constant\n    lr0: 0.1\n")
    result = snakemake_dry_run(tmp_path, "--configfile", str(override))
    assert_refused_before_anything_ran(
        result, tmp_path, f"schedbench: {override}, line 2, column 3: the key {name} is read by YAML as the bool")
    assert f"quote it to use it as one: '{name}'" in result.stdout


def test_quoted_boolean_word_is_a_name(tmp_path):
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    override = tmp_path / "mine.yaml"
    override.write_text("schedules:\n  'yes':\n    type: constant\n    lr0: 0.05\n"
                        "studies:\n  article:\n    schedules: [baseline, 'yes']\n    controls: false\n")
    assert read_config_file(override)["schedules"] == {"yes": {"type": "constant", "lr0": 0.05}}
    result = snakemake_dry_run(tmp_path, "article", "--configfile", str(override))
    assert result.returncode == 0, result.stdout[-2000:]


def test_dataset_named_off_is_refused(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("datasets:\n  off:\n    source: sklearn\n")
    with pytest.raises(ConfigError, match="line 2, column 3: the key off is read by YAML as the bool False"):
        read_config_file(path)


def test_duplicate_key_names_its_line(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("training:\n  epochs: 10\n  epochs: 20\n")
    with pytest.raises(ConfigError, match=r"mine.yaml, line 3, column 3: epochs: duplicate key"):
        read_config_file(path)


def test_override_file_snakemake_cannot_read_is_located_by_the_check_command(tmp_path):
    # Snakemake reads --configfile files before the workflow starts: its own message, without file or line.
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    override, where = broken_yaml(tmp_path, "mine.yaml")
    result = snakemake_dry_run(tmp_path, "--configfile", str(override))
    assert result.returncode == 1 and "Config file is not valid JSON or YAML" in result.stdout
    # The README's next step names the file, the line and the column.
    checked = check_command(REPO / "config.yaml", override)
    assert checked.returncode == 1
    assert checked.stderr.strip() == checked.stderr.strip().splitlines()[0]  # one line
    assert f"schedbench: {override}, {where}: not valid YAML" in checked.stderr


def test_empty_override_file_snakemake_refuses_is_named_by_the_check_command(tmp_path):
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    override = tmp_path / "empty.yaml"
    override.write_text("")
    result = snakemake_dry_run(tmp_path, "--configfile", str(override))
    assert result.returncode == 1 and "Config file must be given as JSON or YAML with keys at top level" in result.stdout
    checked = check_command(REPO / "config.yaml", override)
    assert checked.returncode == 1 and f"schedbench: {override}: the file is empty" in checked.stderr


def test_check_command_accepts_the_repository_config_with_a_test_override():
    checked = check_command(REPO / "config.yaml", REPO / ".test" / "config-tiny.yaml")
    assert checked.returncode == 0, checked.stderr
    assert load_config(REPO / "config.yaml", REPO / ".test" / "config-tiny.yaml")["training"]["epochs"] == 3


def test_dotted_key_in_config_option_is_refused_by_snakemake(tmp_path):
    # --config takes top-level keys only; Snakemake refuses a dotted one before the workflow starts.
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    result = snakemake_dry_run(tmp_path, "--config", "training.epochs=10")
    assert result.returncode == 1
    assert "Config entry must start with a valid identifier" in result.stdout


def test_a_key_outside_the_schema_is_named_before_anything_runs(tmp_path):
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    override = tmp_path / "mine.yaml"
    override.write_text("training:\n  epochs: 0\n")
    result = snakemake_dry_run(tmp_path, "--configfile", str(override))
    assert_refused_before_anything_ran(result, tmp_path, "schedbench: invalid configuration:")
    assert f"training.epochs: 0 is less than the minimum of 1 ({override}, line 2, column 3)" in result.stdout


def test_a_schema_error_is_located_in_the_last_file_that_sets_the_key(tmp_path):
    base, override = tmp_path / "config.yaml", tmp_path / "mine.yaml"
    base.write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    override.write_text("studies:\n  article:\n    schedules: [baseline, 5]\n")
    checked = check_command(base, override)
    assert checked.returncode == 1
    assert f"studies.article.schedules.1: 5 is not of type 'string' ({override}, line 3, column 27)" in checked.stderr
    # A key only the first file sets is located there.
    broken = (REPO / "config.yaml").read_text(encoding="utf-8").replace("  epochs: 50\n", "  epochs: -1\n", 1)
    base.write_text(broken, encoding="utf-8")
    line = broken.splitlines().index("  epochs: -1") + 1
    checked = check_command(base)
    assert f"training.epochs: -1 is less than the minimum of 1 ({base}, line {line}, column 3)" in checked.stderr


def test_a_key_given_with_config_on_the_command_line_is_located_there(tmp_path):
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    result = snakemake_dry_run(tmp_path, "--config", "validation_fraction=1.5")
    assert result.returncode == 1
    assert "validation_fraction: 1.5 is greater than" in result.stdout and "(--config)" in result.stdout


# --------------------------------------------------------------------------------------------------
# a later file narrows what config.yaml sets: a null removes the key
# --------------------------------------------------------------------------------------------------
NARROWER_TUNING = {
    "the override": "studies:\n  tuning:\n    schedules: [baseline, time-decay]\n    overrides:\n      cosine: null\n",
    "all overrides": "studies:\n  tuning:\n    schedules: [baseline, time-decay]\n    overrides:\n",
}


@pytest.mark.parametrize("dropped", NARROWER_TUNING)
def test_a_user_file_narrows_a_study_by_removing_an_inherited_override_with_null(tmp_path, dropped):
    base, mine = tmp_path / "config.yaml", tmp_path / "mine.yaml"
    base.write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    mine.write_text(NARROWER_TUNING[dropped], encoding="utf-8")
    config = validate_config(merged_config([base, mine]))
    assert config["studies"]["tuning"]["overrides"] == {}
    assert config["studies"]["tuning"]["grid"] == read_config_file(base)["studies"]["tuning"]["grid"]  # merged in
    tuning = build_plan(config).studies["tuning"]
    assert tuning.families == ("baseline", "time-decay")
    assert {variant.family for variant in tuning.variants} == {"baseline", "time-decay"}
    checked = check_command(base, mine)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == f"schedbench: {base} + {mine}: a valid configuration"


def test_the_workflow_merges_a_null_away_as_the_check_command_does(tmp_path):
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    mine = tmp_path / "mine.yaml"
    mine.write_text(NARROWER_TUNING["the override"], encoding="utf-8")
    result = snakemake_dry_run(tmp_path, "tuning", "--configfile", str(mine))
    assert result.returncode == 0, result.stdout[-3000:]


def test_an_inherited_override_outside_a_narrowed_study_is_located_where_it_is_set_with_the_fix(tmp_path):
    base, mine = tmp_path / "config.yaml", tmp_path / "mine.yaml"
    base.write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    mine.write_text("studies:\n  tuning:\n    schedules: [baseline, time-decay]\n    overrides: {}\n", encoding="utf-8")
    line = key_marks(base)[("studies", "tuning", "overrides", "cosine")].line + 1
    checked = check_command(base, mine)
    assert checked.returncode == 1
    assert (f"studies.tuning.overrides.cosine: not among the study's schedules (baseline, time-decay); to drop an "
            f"override inherited from an earlier config file, set it to null (cosine: null) ({base}, line {line}, "
            f"column 7)") in checked.stderr


def test_a_null_that_removes_nothing_is_named_with_its_file_and_line(tmp_path):
    base, mine = tmp_path / "config.yaml", tmp_path / "mine.yaml"
    base.write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    mine.write_text("studies:\n  tuning:\n    overrides:\n      cosin: null\n", encoding="utf-8")  # misspelt
    checked = check_command(base, mine)
    assert checked.returncode == 1
    assert (f"schedbench: {mine}, line 4, column 7: studies.tuning.overrides.cosin: null (or no value) removes a key "
            f"an earlier config file sets, but none sets it") in checked.stderr
    # An empty value is a null too: in the first file, nothing is there to remove.
    base.write_text(base.read_text(encoding="utf-8").replace("  epochs: 50\n", "  epochs:\n", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config\.yaml, line \d+, column 3: training\.epochs: null"):
        merged_config([base])


def test_files_merge_key_by_key_a_list_replaces_a_null_removes_and_config_comes_last(tmp_path):
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text("a: {b: 1, c: [1, 2], d: {e: 1}}\nf: 1\n", encoding="utf-8")
    second.write_text("a: {c: [3], d: null, g: {h: 2}}\nf: {i: 3}\n", encoding="utf-8")
    assert merged_config([first, second], {"f": {"j": 4}}) == {"a": {"b": 1, "c": [3], "g": {"h": 2}},
                                                               "f": {"i": 3, "j": 4}}
    assert merged_config([first, second], {"f": None}) == {"a": {"b": 1, "c": [3], "g": {"h": 2}}}
    with pytest.raises(ConfigError, match=r"^--config nope=: null \(or no value\) removes"):
        merged_config([first], {"nope": None})


# --------------------------------------------------------------------------------------------------
# a bad value in a study's grid: said once, where it is set
# --------------------------------------------------------------------------------------------------
def test_a_bad_grid_value_in_an_override_file_is_reported_once_at_its_line(tmp_path):
    base, mine = tmp_path / "config.yaml", tmp_path / "mine.yaml"
    base.write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    mine.write_text("studies:\n  tuning:\n    grid:\n      lr0: [0, 0.1]\n", encoding="utf-8")
    checked = check_command(base, mine)
    assert checked.returncode == 1
    problem = "0 is less than or equal to the minimum of 0"
    assert checked.stderr.count(problem) == 1, checked.stderr  # not once per family
    assert f"studies.tuning.grid.lr0.0: {problem} ({mine}, line 4, column 13)" in checked.stderr
    with pytest.raises(ConfigError) as caught:
        load_config(base, mine)
    assert str(caught.value) == f"invalid configuration:\n  studies.tuning.grid.lr0.0: {problem}"


def test_a_bad_optimizer_grid_value_is_reported_once_where_it_is_set(tmp_path):
    base, mine = tmp_path / "config.yaml", tmp_path / "mine.yaml"
    base.write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    mine.write_text("studies:\n  tuning:\n    grid:\n      optimizer:\n        momentum:\n          - 0.0\n"
                    "          - 1.5\n", encoding="utf-8")
    checked = check_command(base, mine)
    assert checked.returncode == 1
    assert checked.stderr.count("1.5 is greater than") == 1, checked.stderr
    assert "studies.tuning.grid.optimizer.momentum.1: 1.5 is greater than" in checked.stderr
    assert f"({mine}, line 7, column 13)" in checked.stderr


# Each bad optimizer setting, as a family in the user's file: (the optimizer block, the key refused, the message).
BAD_OPTIMIZERS = [
    ("{name: rmsprop}", "name", "'rmsprop' is not one of ['sgd', 'adam', 'adamw', 'schedule_free_sgd', "
                                "'schedule_free_adamw']"),
    ("{name: adamw, beta_1: 1.0}", "beta_1", "1.0 is greater than or equal to the maximum of 1"),
    ("{name: adam, beta_2: -0.1}", "beta_2", "-0.1 is less than the minimum of 0"),
    ("{name: adam, weight_decay: 0.01}", "weight_decay",
     "not a parameter of optimizer adam (its parameters: beta_1, beta_2, epsilon)"),
    ("{name: adam, momentum: 0.9}", "momentum",
     "not a parameter of optimizer adam (its parameters: beta_1, beta_2, epsilon)"),
    ("{name: adamw, weight_decay: -0.1}", "weight_decay", "-0.1 is less than the minimum of 0"),
]


def optimizer_family(tmp_path, block: str):
    base, mine = tmp_path / "config.yaml", tmp_path / "mine.yaml"
    base.write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    mine.write_text(f"schedules:\n  mine:\n    type: constant\n    lr0: 0.01\n    optimizer: {block}\n",
                    encoding="utf-8")
    return base, mine


@pytest.mark.parametrize("block, key, problem", BAD_OPTIMIZERS, ids=[b for b, _, _ in BAD_OPTIMIZERS])
def test_a_bad_optimizer_setting_is_named_with_its_key_and_file(tmp_path, block, key, problem):
    base, mine = optimizer_family(tmp_path, block)
    checked = check_command(base, mine)
    assert checked.returncode == 1
    assert f"schedules.mine.optimizer.{key}: {problem} ({mine}, line 5" in checked.stderr, checked.stderr


def test_snakemake_refuses_a_bad_optimizer_before_anything_runs(tmp_path):
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    mine = tmp_path / "mine.yaml"
    mine.write_text("schedules:\n  mine: {type: constant, lr0: 0.01, optimizer: {name: adam, weight_decay: 0.01}}\n")
    result = snakemake_dry_run(tmp_path, "--configfile", str(mine))
    assert_refused_before_anything_ran(
        result, tmp_path, "schedules.mine.optimizer.weight_decay: not a parameter of optimizer adam")
    assert str(mine) in result.stdout


def test_a_grid_over_an_optimizer_parameter_expands_into_variants():
    from conftest import load_repo_config
    from schedbench import studies

    config = load_repo_config()
    config["schedules"] = {
        "baseline": {"type": "constant", "lr0": 0.1, "optimizer": {"momentum": [0.0, 0.9]}},
        "mine": {"type": "constant", "lr0": 0.01, "optimizer": {"name": "adamw", "beta_1": [0.8, 0.9]}},
    }
    config["studies"] = {"grid": {"protocols": ["heldout"], "schedules": ["baseline", "mine"], "seeds": [0],
                                  "grid": {"lr0": [0.01, 0.1]}}}
    config["report"]["article"] = {}
    config = validate_config(config)
    names = [variant.name for variant in studies.variants(config, "grid") if variant.family == "mine"]
    assert names == ["mine lr0=0.01 beta_1=0.8", "mine lr0=0.01 beta_1=0.9",
                     "mine lr0=0.1 beta_1=0.8", "mine lr0=0.1 beta_1=0.9"]
    assert studies.parameters(config, "grid") == ["lr0", "momentum", "beta_1"]
    variant = studies.variants(config, "grid")[-1]
    assert variant.spec["optimizer"] == {"name": "adamw", "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                                         "weight_decay": 0.004}

"""A non-editable install validates and runs a config: the package is built from a copy of the repository and
installed into a directory of its own, the copy's src/ is removed, and everything runs with only that directory
on PYTHONPATH, from outside the repository (the schema and the report templates must ship as package data).
The finished project, moved, has nothing to redo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO

pytestmark = pytest.mark.slow


def copy_repository(destination: Path) -> None:
    """The repository's files as git sees them (tracked and new, not ignored), symbolic links kept as links."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            check=True, capture_output=True).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = REPO / name
        if source.is_symlink() or source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name, follow_symlinks=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path, dict]:
    """(the installed package's directory, the project without src/, the environment that imports it)."""
    root = tmp_path_factory.mktemp("packaging")
    project, target = root / "project", root / "site"
    copy_repository(project)
    # No build isolation and no index: the build uses this environment's setuptools, offline; the dependencies
    # are this environment's too (--no-deps).
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
         "--target", str(target), str(project)],
        cwd=root, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    shutil.rmtree(project / "src")
    shutil.rmtree(project / "build", ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    return target, project, env


def python(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_an_installed_package_validates_a_config_from_outside_the_repository(installed, tmp_path):
    target, project, env = installed
    imported = python("-c", "import schedbench; print(schedbench.__file__)", cwd=tmp_path, env=env)
    assert Path(imported.stdout.strip()).resolve().is_relative_to(target.resolve()), imported

    good = python("-m", "schedbench.config_files", str(project / "config.yaml"), cwd=tmp_path, env=env)
    assert good.returncode == 0, good.stderr
    assert "a valid configuration" in good.stdout

    config = yaml.safe_load((project / "config.yaml").read_text(encoding="utf-8"))
    config["datasets"]["ionosphere"]["source"] = "csv"
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    bad = python("-m", "schedbench.config_files", str(bad_file), cwd=tmp_path, env=env)
    assert bad.returncode == 1
    assert "datasets.ionosphere.source: 'csv' is not one of ['uci', 'sklearn', 'file', 'mnist1d']" in bad.stderr
    assert str(bad_file) in bad.stderr and "Traceback" not in bad.stderr


def test_an_installed_package_runs_the_tiny_workflow(installed):
    _, project, env = installed
    run = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", ".test/config-tiny.yaml"],
                         cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "</html>" in (project / "reports" / "report.html").read_text(encoding="utf-8")
    # The bundled copy is found next to the workflow that ran, not where the package was built.
    provenance = json.loads((project / "data" / "raw" / "ionosphere.provenance.json").read_text(encoding="utf-8"))
    assert provenance["source"] == "bundled"
    assert provenance["url"] == str(project / "data" / "bundled" / "ionosphere.data")

    # No rule's params hold the project's own path (the bundled copy's is found from the download script), so a
    # project folder moved elsewhere has nothing to redo.
    moved = project.with_name("moved")
    shutil.copytree(project, moved, symlinks=True)
    plan = subprocess.run([sys.executable, "-m", "snakemake", "--dry-run", "--configfile", ".test/config-tiny.yaml"],
                          cwd=moved, env=env, capture_output=True, text=True, timeout=300)
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert "Nothing to be done" in plan.stdout + plan.stderr, plan.stdout[-3000:]

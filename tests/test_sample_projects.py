"""Every machine-executor sample project runs with the outcome it is there to show."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import make_project, run_cli

SAMPLES = Path(__file__).resolve().parent.parent / "sample_projects"


def copy_sample(name: str, tmp_path: Path) -> Path:
    """A sample as its own git repository, as a user would have it."""
    target = tmp_path / name
    shutil.copytree(SAMPLES / name, target, symlinks=True)
    config = (target / ".circleci" / "config.yml").read_text()
    return make_project(target, config)


def test_multi_job(tmp_path: Path) -> None:
    project = copy_sample("multi-job", tmp_path)
    result = run_cli(["run"], project)
    assert result.code == 0, result.stdout + result.stderr
    assert "build │ tests passed" in result.stdout
    assert "build │ app built from " in result.stdout and "on main (build 1)" in result.stdout
    for job, target in (("deploy_staging", "staging"), ("deploy_production", "production")):
        result = run_cli(["run", job], project)
        assert result.code == 0
        assert f"{job} │ deploying job {job} to {target}" in result.stdout


def test_parallel_deploy(tmp_path: Path) -> None:
    project = copy_sample("parallel-deploy", tmp_path)
    result = run_cli(["run"], project)
    assert result.code == 0
    ran = sorted(line.split("│ ")[1] for line in result.stdout.splitlines() if "│ test " in line)
    assert ran == [f"test {n} ok" for n in range(1, 7)]  # every test once, across 3 nodes
    assert result.stdout.count("publishing once, from node 0 of 3") == 1
    assert "build#0 │ publishing once, from node 0 of 3" in result.stdout
    assert result.stdout.count("│ announced") == 1


def test_failing_step(tmp_path: Path) -> None:
    project = copy_sample("failing-step", tmp_path)
    result = run_cli(["run"], project)
    assert result.code == 1
    assert "build │ collecting diagnostics after the failure" in result.stdout
    assert "build │ cleaned up" in result.stdout
    assert (
        "build - Package" in result.stdout
        and "never runs" not in result.stdout.split("FAILED")[0].split("Package")[-1]
    )
    assert "FAILED build: Compile" in result.stdout
    assert "  exit code 3" in result.stdout
    assert "    src/main.c:12: trailing whitespace" in result.stdout


def test_env_demo(tmp_path: Path) -> None:
    project = copy_sample("env-demo", tmp_path)
    result = run_cli(["run"], project)
    assert result.code == 0
    for line in (
        "build │ CI=true CIRCLECI=true job=build node=0/1",
        "build │ working directory: ~/project",
        "build │ hello from the job at level job",
        "build │ level is now step",
        "build │ DEPLOY_ID=demo-42",
        "build │ in docs:",
        "build │ notes for the env demo",
    ):
        assert line in result.stdout


@pytest.mark.parametrize("name", ["multi-job", "parallel-deploy", "failing-step", "env-demo"])
def test_samples_run_in_place_inside_this_repository(name: str) -> None:
    """As the README shows: `runner run -C sample_projects/<name>` from a checkout of runner."""
    # a checkout of runner at a detached HEAD has no branch to plan for: say one (issue 18)
    detached = subprocess.run(
        ["git", "symbolic-ref", "-q", "HEAD"], cwd=SAMPLES.parent, capture_output=True, check=False
    ).returncode != 0
    branch = ["--branch", "main"] if detached else []
    result = run_cli(["run", "-C", str(SAMPLES / name), *branch], SAMPLES.parent)
    assert result.code == (1 if name == "failing-step" else 0), result.stdout + result.stderr

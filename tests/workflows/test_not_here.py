"""Jobs that cannot run on this machine are skipped with the reason, the rest runs (issue 13)."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest

from runner.config.load import LoadOptions, load_config
from runner.graph import Selection, plan
from runner.hostfit import blocked_by, not_here
from tests.support import make_project, run_cli

CONFIG = """
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - run: echo built > $SHARED/build
  unit:
    machine: true
    steps:
      - run: COMMAND
  mac:
    macos: {xcode: 15.0.0}
    resource_class: macos.m1.medium.gen1
    steps:
      - run: touch $SHARED/mac
  win:
    machine: {image: windows-server-2022-gui:current}
    resource_class: windows.medium
    steps:
      - run: touch $SHARED/win
  graviton:
    machine: {image: ubuntu-2204:current}
    resource_class: arm.medium
    steps:
      - run: touch $SHARED/graviton
  graviton-docker:
    docker: [{image: example.invalid/never-pulled:1}]
    resource_class: arm.large
    steps:
      - run: touch $SHARED/graviton-docker
  after-mac:
    machine: true
    steps:
      - run: touch $SHARED/after-mac
  after-after-mac:
    machine: true
    steps:
      - run: touch $SHARED/after-after-mac
workflows:
  main:
    jobs:
      - build
      - unit: {requires: [build]}
      - mac
      - win
      - graviton
      - graviton-docker
      - after-mac: {requires: [mac, build]}
      - after-after-mac: {requires: [after-mac]}
"""
X86 = platform.machine().lower() not in ("aarch64", "arm64")


def project(tmp_path: Path, command: str = "true") -> tuple[Path, Path]:
    shared = tmp_path / "shared"
    shared.mkdir()
    return make_project(tmp_path / "p", CONFIG.replace("COMMAND", command)), shared


def _graph(root: Path) -> object:
    config = load_config(root / ".circleci" / "config.yml", "config.yml", LoadOptions())
    return plan(config, Selection(branch="main"))


def test_the_reasons_name_the_platform(tmp_path: Path) -> None:
    root, _ = project(tmp_path)
    graph = _graph(root)
    reasons = not_here(graph, "x86_64")  # type: ignore[arg-type]
    assert sorted(reasons) == ["graviton", "graviton-docker", "mac", "win"]
    assert "macOS" in reasons["mac"] and "Windows" in reasons["win"]
    assert "arm.medium" in reasons["graviton"] and "x86_64" in reasons["graviton"]
    assert blocked_by(graph, reasons) == {  # type: ignore[arg-type]
        "after-mac": ("mac",), "after-after-mac": ("after-mac",)
    }
    # an arm64 machine runs the arm resource classes
    assert sorted(not_here(graph, "aarch64")) == ["mac", "win"]  # type: ignore[arg-type]


@pytest.mark.skipif(not X86, reason="the arm jobs run on an arm64 machine")
def test_the_others_run_and_the_run_passes(tmp_path: Path) -> None:
    root, shared = project(tmp_path)
    done = run_cli(["run", "--json", "-e", f"SHARED={shared}"], root)
    assert done.code == 0, done.stdout[-3000:] + done.stderr
    assert sorted(p.name for p in shared.iterdir()) == ["build"]
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    jobs = {e["job"]: e for e in events if e.get("event") == "job_finished"}
    for name in ("mac", "win", "graviton", "graviton-docker"):
        assert jobs[name]["status"] == "skipped" and jobs[name]["not_here"], jobs[name]
        assert jobs[name]["message"].startswith("cannot run here: ")
    for name in ("after-mac", "after-after-mac"):
        assert jobs[name]["status"] == "blocked" and jobs[name]["not_here"], jobs[name]
    assert jobs["build"]["status"] == jobs["unit"]["status"] == "passed"
    text = run_cli(["run", "-e", f"SHARED={shared}"], root)
    assert text.code == 0, text.stdout[-3000:]
    assert "4 job(s) could not run here: mac, win, graviton, graviton-docker; " \
        "2 blocked by them" in text.stdout


def test_a_failure_of_a_job_that_ran_still_fails_the_run(tmp_path: Path) -> None:
    root, shared = project(tmp_path, "exit 4")
    done = run_cli(["run", "-e", f"SHARED={shared}"], root)
    assert done.code == 1, done.stdout[-3000:]
    assert "could not run here" in done.stdout


def test_strict_refuses_the_run_before_anything_starts(tmp_path: Path) -> None:
    root, shared = project(tmp_path)
    state = tmp_path / "state"
    done = run_cli(["run", "--strict", "-e", f"SHARED={shared}"], root,
                   env={"RUNNER_STATE_DIR": str(state)})
    assert done.code == 2, done.stdout + done.stderr
    assert "cannot run on this machine" in done.stderr and "mac (macOS executor" in done.stderr
    assert list(shared.iterdir()) == [] and not (state / "runs").exists()


def test_a_run_of_only_such_jobs_is_refused(tmp_path: Path) -> None:
    root, shared = project(tmp_path)
    done = run_cli(["run", "mac", "-e", f"SHARED={shared}"], root)
    assert done.code == 2, done.stdout + done.stderr
    assert "mac (macOS executor" in done.stderr


def test_plan_shows_what_cannot_run_here(tmp_path: Path) -> None:
    root, _ = project(tmp_path)
    done = run_cli(["plan"], root)
    assert done.code == 0, done.stderr
    assert "skipped: cannot run here: macOS executor" in done.stdout
    assert "blocked: requires after-mac, which cannot run here" in done.stdout
    data = json.loads(run_cli(["plan", "--format", "json"], root).stdout)
    by_id = {j["id"]: j for j in data["jobs"]}
    assert by_id["win"]["not_run_here"].startswith("skipped: cannot run here: Windows")
    assert by_id["build"]["not_run_here"] is None

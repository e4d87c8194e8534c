"""What one `runner run` start costs in processes: each question to git is asked once (issue 17)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from tests.support import make_project, run_cli

ONE_STEP = "version: 2\njobs:\n  build:\n    machine: true\n    steps: [{run: echo one-step}]\n"


def logging_git(bin_dir: Path, log: Path) -> dict[str, str]:
    """A PATH whose `git` records its arguments in ``log``, then runs the real git."""
    real = shutil.which("git")
    assert real is not None
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_a_run_asks_git_for_the_project_directory_once(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", ONE_STEP)
    (project / "sub").mkdir()
    log = tmp_path / "git.log"
    env = {**logging_git(tmp_path / "bin", log), "RUNNER_STATE_DIR": str(tmp_path / "state")}
    result = run_cli(["run"], project / "sub", env=env)
    assert result.code == 0, result.stderr
    assert "build" in result.stdout and "one-step" in result.stdout
    calls = log.read_text().splitlines()
    assert calls.count("rev-parse --show-toplevel") == 1, calls

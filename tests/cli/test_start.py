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


def _built(args: list[str]) -> set[str]:
    import typer.main

    from runner.cli import app, invoked_only

    group = typer.main.get_command(invoked_only(app, args))
    return set(getattr(group, "commands", {}))


def test_a_process_builds_only_the_command_it_runs() -> None:
    everything = _built([])
    assert {"run", "history", "config", "orb", "clean"} <= everything
    assert _built(["run", "--jobs", "2"]) == {"run"}
    assert _built(["history"]) == {"history", "run"}  # run's options: the settings' schema
    assert _built(["config", "show"]) == {"config", "run"}  # a group keeps its own commands
    assert _built(["--version"]) == everything
    assert _built(["--help"]) == everything
    assert _built(["rn"]) == everything  # unknown: the error lists what is known


def test_the_trimmed_app_answers_as_the_whole_one(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from runner.cli import app, invoked_only

    for args in (["run", "--help"], ["config", "--help"], ["history", "--bogus"], ["run", "-j"],
                 ["config", "show", "-C", str(tmp_path)]):
        whole = CliRunner().invoke(app, args, prog_name="runner")
        trimmed = CliRunner().invoke(invoked_only(app, args), args, prog_name="runner")
        assert (trimmed.exit_code, trimmed.output) == (whole.exit_code, whole.output), args
    typo = run_cli(["rn"], tmp_path)  # the real process: the error still knows every command
    assert typo.code == 2 and "Did you mean 'run'?" in typo.stderr

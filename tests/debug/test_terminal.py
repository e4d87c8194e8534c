"""The shell on a real terminal (tmux): prompt, BASH_ENV, Ctrl-C to the shell's foreground job
and not to runner, job control, and runner going on after ``exit``."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from tests.debug.support import Terminal, config, runner_argv
from tests.support import make_project

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

BODY = """\
    steps:
      - run: echo 'export FROM_BASH_ENV=sourced' >> "$BASH_ENV"
      - deploy:
          name: deploy it
          command: echo DEPLOYED
"""
PROMPT = "(runner build) "


def _drive(project: Path) -> None:
    env = {"RUNNER_STATE_DIR": os.environ["RUNNER_STATE_DIR"], "NO_COLOR": "1"}
    term = Terminal(project, runner_argv("run", "--shell"), env)
    try:
        term.wait_for(PROMPT)
        term.type('echo "B=$FROM_BASH_ENV J=$CIRCLE_JOB"; tty')
        screen = term.wait_for("/dev/pts/")  # a terminal inside, too
        assert "B=sourced J=build" in screen
        assert "Running in SSH mode. Avoid deploying." in screen
        # Type on only once the shell is back at its prompt: a line typed ahead sits in the
        # terminal's queue, and the Ctrl-C below flushes it with no prompt drawn in between,
        # so the prompts would not add up (a CI failure).
        term.wait_for(PROMPT, after=1)

        term.type("sleep 30")
        term.wait_for("sleep 30\n")
        term.key("C-c")  # to the shell's foreground job only
        term.wait_for(PROMPT, after=2)
        term.type("echo alive-$((40+2))")
        term.wait_for("alive-42")

        term.type("sleep 30 &")
        term.type("jobs")
        term.wait_for("Running")
        term.type("kill %1; exit")
        screen = term.wait_for("RUNNER_EXIT=0")
        assert "stopping running steps" not in screen  # runner never saw the Ctrl-C
        assert "the shell in build exited" in screen
    finally:
        term.close()


def test_interactive_shell_on_the_machine_executor(tmp_path: Path) -> None:
    _drive(make_project(tmp_path / "p", config("machine", BODY)))


@pytest.mark.docker
def test_interactive_shell_in_a_container(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # containers are labelled by the state directory's name: one of its own (see test_docker)
    monkeypatch.setenv("RUNNER_STATE_DIR", str(tmp_path / f"state-{uuid.uuid4().hex[:8]}"))
    _drive(make_project(tmp_path / "p", config("debian", BODY)))

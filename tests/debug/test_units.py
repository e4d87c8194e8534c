"""Unit tests: shell plans, the docker exec command line, step selection, kept records, and
runner ignoring SIGINT while a shell runs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from runner.config.model import Job, MachineExecutor, RunStep
from runner.debug import kept as kept_mod
from runner.debug.kept import KeptNode
from runner.debug.reenter import choose
from runner.debug.shell import plan_shell
from runner.debug.steps import resolve_step
from runner.errors import UsageError
from runner.executors import interactive
from tests.debug.support import config
from tests.support import make_project, run_cli


def _plan(configured: str | None, *, bash: bool = True, tty: bool) -> Any:
    return plan_shell(
        configured=configured, has_bash=bash, env={"A": "1"}, cwd="/w", task_data="/td/",
        label="wf/build#1", tty=tty,
    )


def test_shell_plans() -> None:
    on_tty = _plan(None, tty=True)
    assert on_tty.argv == ["/bin/bash", "--rcfile", "/td/runner-shellrc", "-i"]
    assert '. "$BASH_ENV"' in on_tty.rc_text and "PS1='(runner wf/build#1) \\w\\$ '" in (
        on_tty.rc_text
    )
    assert "TERM" in on_tty.env  # an image sets none; a terminal needs it
    piped = _plan(None, tty=False)
    assert piped.argv == ["/bin/bash"] and piped.rc_path is None  # reads BASH_ENV itself
    assert piped.env == {"A": "1"}
    sh = _plan(None, bash=False, tty=True)
    assert sh.argv == ["/bin/sh", "-i"] and sh.env["PS1"] == "(runner wf/build#1) $ "
    assert _plan("python3 -u", tty=False).argv == ["/bin/bash"]  # not a shell: the default
    assert _plan("/bin/zsh -e", tty=False).argv == ["/bin/zsh"]  # a shell, without -e


def test_docker_exec_keeps_values_off_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake(argv: list[str], *, env: dict[str, str], cwd: str | None, stdin_is_tty: bool) -> int:
        seen.update(argv=argv, env=env, tty=stdin_is_tty)
        return 7

    monkeypatch.setattr(interactive, "run_attached", fake)
    environ = {"PATH": os.environ["PATH"], "DOCKER_HOST": "unix:///host.sock"}
    code = interactive.docker_exec(
        "c1", ["bash"], cwd="/w", user="1000:1000", stdin_is_tty=True, environ=environ,
        env={"TOKEN": "s3cret-value", "HOME": "/home/u", "DOCKER_HOST": "tcp://inner:2375"},
    )
    assert code == 7
    argv = seen["argv"]
    assert argv[1:8] == ["exec", "-i", "-t", "-u", "1000:1000", "-w", "/w"]
    assert argv[-2:] == ["c1", "bash"]
    assert "s3cret-value" not in " ".join(argv)  # by name: the CLI's environment carries it
    assert argv[argv.index("TOKEN") - 1: argv.index("TOKEN") + 1] == ["-e", "TOKEN"]
    assert seen["env"]["TOKEN"] == "s3cret-value"
    # what the CLI itself reads goes on the command line, and the CLI keeps the host's own
    assert "HOME=/home/u" in argv and "DOCKER_HOST=tcp://inner:2375" in argv
    assert seen["env"]["DOCKER_HOST"] == "unix:///host.sock"


def test_an_attached_program_killed_by_a_signal_reports_128_plus_n() -> None:
    env = {"PATH": os.environ["PATH"]}
    status = interactive.run_attached(
        ["sh", "-c", "kill -TERM $$"], env=env, cwd=None, stdin_is_tty=False
    )
    assert status == 143
    assert interactive.attached()  # for a moment after: a late Ctrl-C is still the shell's


def _job() -> Job:
    steps = (RunStep(name="a", command="x"), RunStep(name="b", command="y"),
             RunStep(name="a", command="z"))
    return Job(name="build", executor=MachineExecutor(), steps=steps)


def test_step_selection() -> None:
    assert resolve_step(_job(), "b", "--from-step") == 1
    assert resolve_step(_job(), "2", "--from-step") == 2
    with pytest.raises(UsageError, match="2 steps of build have that name"):
        resolve_step(_job(), "a", "--from-step")
    with pytest.raises(UsageError, match="build has steps 0 to 2"):
        resolve_step(_job(), "-1", "--only-step")


def _kept(job: str, node: int = 0, run: str = "3") -> KeptNode:
    return KeptNode(
        executor="machine", run=run, job=job, job_name=job.rsplit("/", maxsplit=1)[-1], node=node,
        home="/h", workdir="/h/p", bash_env="/b", task_data="/t", shell="", has_bash=True,
        env={},
    )


def test_choosing_a_kept_node() -> None:
    both = [_kept("wf/build", 1), _kept("wf/build", 0)]
    assert choose(both, 3, None, None).node == 0
    assert choose(both, 3, "build", 1).node == 1  # the job's name works as well as its id
    with pytest.raises(UsageError, match="kept several jobs: lint, wf/build"):
        choose([*both, _kept("lint")], 3, None, None)


def test_records_are_read_newest_first_and_odd_ones_ignored(tmp_path: Path) -> None:
    from runner.store.state import StateDir

    state = StateDir(tmp_path)
    for run in ("2", "10"):
        kept_mod.save(state.node_dir(run, "build", 0), _kept("build", run=run))
    bad = state.node_dir("11", "build", 0) / kept_mod.RECORD
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    assert [k.run for k in kept_mod.records(state)] == ["10", "2"]


def test_runner_ignores_sigint_while_the_shell_runs(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", config("machine", "    steps:\n      - run: 'true'\n"))
    # the shell is runner's child when stdin is not a terminal: send runner a Ctrl-C's signal
    script = "kill -INT $PPID; sleep 0.3; echo still-running\n"
    done = run_cli(["run", "--shell"], project, stdin=script)
    assert done.code == 0, done.stderr
    assert "still-running" in done.stdout
    assert "stopping running steps" not in done.stderr

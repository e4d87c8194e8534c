"""One executor registry (issue 19): backends by kind, built from typed options."""

from __future__ import annotations

import pytest

from runner.errors import UsageError
from runner.executors.base import KillPolicy
from runner.executors.machine import MachineExecutor
from runner.executors.options import ExecutorOptions
from runner.executors.registry import build_executors, kept_place, own_docker


def test_only_kinds_with_a_backend_get_an_executor_with_the_run_s_options() -> None:
    options = ExecutorOptions(environ={"RUNNER_STOP_GRACE": "1,3"}, pass_env=("A",), keep=True)
    built = build_executors({"machine", "macos"}, options)
    assert list(built) == ["machine"]
    machine = built["machine"]
    assert isinstance(machine, MachineExecutor)
    assert (machine.kill, machine.pass_env, machine.keep) == (
        KillPolicy(interrupt_grace=1.0, terminate_grace=3.0), ("A",), True)


def test_what_a_backend_answers_for() -> None:
    assert own_docker("machine") and not own_docker("docker") and not own_docker("macos")
    machine, docker = kept_place("machine"), kept_place("docker")
    assert machine is not None and machine.on_host and machine.restore_note == ""
    assert docker is not None and not docker.on_host and "container" in docker.restore_note
    assert kept_place("windows") is None


def test_stop_grace_from_the_environment() -> None:
    assert KillPolicy.from_env({}) == KillPolicy()
    assert KillPolicy.from_env({"RUNNER_STOP_GRACE": "4"}) == KillPolicy(
        interrupt_grace=4.0, terminate_grace=4.0)
    with pytest.raises(UsageError, match="RUNNER_STOP_GRACE takes seconds"):
        KillPolicy.from_env({"RUNNER_STOP_GRACE": "soon"})

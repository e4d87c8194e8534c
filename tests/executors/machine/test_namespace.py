"""The machine executor's mount namespace (machine.namespace, issue 18): where bubblewrap works, steps
see the node's home at /home/circleci and what a step leaves running ends with it; where it is
not used, a config that names /home/circleci gets one warning."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import pytest

from runner.executors.machine.namespace import CIRCLECI_HOME, bwrap_path
from tests.support import make_project, run_cli

NS_ON = {"RUNNER_MACHINE_NAMESPACE": "1", "NO_COLOR": "1"}
NS_OFF = {"RUNNER_MACHINE_NAMESPACE": "0", "NO_COLOR": "1"}
needs_bwrap = pytest.mark.skipif(bwrap_path() is None, reason="no usable bubblewrap here")


def machine_project(root: Path, steps: str) -> Path:
    return make_project(
        root, "version: 2.1\njobs:\n  build:\n    machine: true\n    steps:\n" + steps
    )


def _processes_with(word: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and word in Path(f"/proc/{entry}/cmdline").read_bytes().decode():
                found.append(int(entry))
        except OSError:
            continue
    return found


@needs_bwrap
def test_home_and_project_are_at_home_circleci_and_caches_of_them_work(tmp_path: Path) -> None:
    host_had_it = os.path.lexists(CIRCLECI_HOME)
    project = machine_project(tmp_path / "p", """
      - restore_cache: {key: venv-v1}
      - checkout
      - run: echo "home=$HOME pwd=$PWD"; cat /home/circleci/.local/venv/marker || echo none
      - run: mkdir -p /home/circleci/.local/venv && echo from-run-1 > ~/.local/venv/marker
      - save_cache: {key: venv-v1, paths: [/home/circleci/.local/venv]}
""")
    first = run_cli(["run"], project, env=NS_ON)
    assert first.code == 0, first.stdout + first.stderr
    assert "steps run in a mount namespace (bubblewrap), HOME=/home/circleci" in first.stderr + first.stdout
    assert "home=/home/circleci pwd=/home/circleci/project" in first.stdout
    assert "│ none" in first.stdout
    second = run_cli(["run"], project, env=NS_ON)
    assert second.code == 0, second.stdout + second.stderr
    assert "│ from-run-1" in second.stdout  # the cache saved the files under /home/circleci
    assert os.path.lexists(CIRCLECI_HOME) == host_had_it  # nothing made on the host


@needs_bwrap
def test_a_daemon_that_clears_its_environment_ends_with_its_step(tmp_path: Path) -> None:
    # Without the namespace this escapes (tests/adversarial: the strict xfail).
    word = f"306.{uuid.uuid4().int % 10**6}"
    project = machine_project(tmp_path / "p", f"""
      - run: |
          setsid env -i sleep {word} > /dev/null 2>&1 &
          sleep 0.3
          echo started
      - run: echo next
""")
    try:
        outcome = run_cli(["run"], project, env=NS_ON)
        assert outcome.code == 0, outcome.stdout + outcome.stderr
        assert "│ started" in outcome.stdout and "│ next" in outcome.stdout
        assert _processes_with(f"sleep\0{word}") == []
    finally:
        for pid in _processes_with(f"sleep\0{word}"):
            os.kill(pid, signal.SIGKILL)


def test_without_the_namespace_a_config_naming_home_circleci_warns_once(tmp_path: Path) -> None:
    project = machine_project(tmp_path / "p", """
      - run: ls /home/circleci/project || true
      - run: echo /home/circleci/.cache
""")
    outcome = run_cli(["run"], project, env=NS_OFF)
    assert outcome.code == 0, outcome.stdout + outcome.stderr
    text = outcome.stdout + outcome.stderr
    assert text.count("the config names /home/circleci, but steps run with HOME in the") == 1
    assert "mount namespace" not in text


@needs_bwrap
def test_an_interrupt_reaches_the_step_in_the_namespace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.executors.docker.test_cleanup import start_run, wait_for_lines

    monkeypatch.setenv("RUNNER_MACHINE_NAMESPACE", "1")
    project = machine_project(tmp_path / "p", """
      - run: |
          trap 'sleep 0.3; echo "got INT in $HOME"; exit 1' INT
          echo "ready $((1 + 1))"
          while :; do sleep 0.1; done
""")
    proc, lines = start_run(project)
    wait_for_lines(lines, "ready 2")  # printed by the step, not its script's echo
    proc.send_signal(signal.SIGINT)
    rest = "".join(lines)
    assert proc.wait(timeout=30) == 130
    assert "got INT in /home/circleci" in rest  # its trap ran, in the namespace

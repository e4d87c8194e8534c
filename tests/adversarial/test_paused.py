"""A frozen step (``docker pause``, SIGSTOP) cannot outlast ``no_output_timeout`` (issue 13).

Silence is silence whatever the container's state: the step fails with CircleCI's message
``Too long with no output (exceeded 5s)``, never "the container stopped", and never hangs.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from runner.store.state import StateDir
from tests.adversarial.helpers import BUSYBOX_IMAGE, Running, no_traceback
from tests.support import make_project

STEPS = """
- run:
    name: frozen
    no_output_timeout: 5s
    command: echo started; sleep 120; echo never
- run: {name: after, command: echo after-ran, when: always}
"""


def _project(root: Path, executor: str) -> Path:
    where = "machine: true" if executor == "machine" else f"docker: [{{image: {executor}}}]"
    body = textwrap.indent(textwrap.dedent(STEPS).strip("\n"), "      ")
    return make_project(root, f"version: 2.1\njobs:\n  build:\n    {where}\n    steps:\n{body}\n")


def _primary(state: Path) -> str:
    from tests.executors.docker.helpers import containers

    found = [c.name for c in containers(StateDir(state.resolve()).label)]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.docker
@pytest.mark.parametrize("serve", ["1", "0"], ids=["served", "exec"])
def test_a_paused_container_times_out_with_circleci_message(
    tmp_path: Path, serve: str
) -> None:
    state = tmp_path / "state"
    project = _project(tmp_path / "p", BUSYBOX_IMAGE)
    run = Running(["run"], project,
                  env={"RUNNER_STATE_DIR": str(state), "RUNNER_DOCKER_SERVE": serve})
    try:
        run.wait_for(lambda: run.saw("│ started"), "the step")
        subprocess.run(["docker", "pause", _primary(state)], check=True, capture_output=True)
        outcome = run.finish(timeout=90)
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    no_traceback(outcome)
    assert outcome.code == 1, outcome.stdout[-3000:] + outcome.stderr
    assert "Too long with no output (exceeded 5s)" in outcome.stdout
    assert "the container stopped" not in outcome.stdout
    assert "│ after-ran" in outcome.stdout  # the node is still there: when: always runs


def test_a_stopped_step_times_out_on_the_machine_executor(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        "version: 2.1\njobs:\n  build:\n    machine: true\n    steps:\n"
        "      - run: {no_output_timeout: 2s, command: 'echo started; kill -STOP $$; echo never'}\n",
    )
    run = Running(["run"], project)
    outcome = run.finish(timeout=60)
    no_traceback(outcome)
    assert outcome.code == 1, outcome.stdout[-3000:]
    assert "Too long with no output (exceeded 2s)" in outcome.stdout

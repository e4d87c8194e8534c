"""The debugging modes on the docker executor: a bash image and an sh-only image."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from runner.store.state import StateDir
from tests.debug.support import config, node_dir, state_dir
from tests.support import make_project, run_cli

pytestmark = pytest.mark.docker


@pytest.fixture(autouse=True)
def _own_state_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Containers are labelled (and `runner clean` selects them) by the state directory's
    name: give each test its own, so tests running side by side never see each other's."""
    monkeypatch.setenv("RUNNER_STATE_DIR", str(tmp_path / f"state-{uuid.uuid4().hex[:8]}"))

BODY = """\
    environment:
      JOB_VAR: from-job
    steps:
      - checkout
      - run: echo 'export FROM_BASH_ENV=sourced' >> "$BASH_ENV"; echo kept-file > ~/made.txt
      - run:
          name: breaks
          working_directory: sub/dir
          environment: {STEP_VAR: from-step}
          command: |
            echo before the failure
            no-such-command-xyz
      - deploy:
          name: deploy it
          command: echo DEPLOYED
          when: always
"""


def _containers() -> list[str]:
    label = f"com.runner.state={StateDir(state_dir().resolve()).label}"
    done = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={label}"],
        capture_output=True, text=True, check=True,
    )
    return done.stdout.split()


@pytest.fixture
def debian(tmp_path: Path) -> Path:
    return make_project(tmp_path / "p", config("debian", BODY))


def test_shell_and_shell_on_failure_in_the_primary_container(debian: Path) -> None:
    script = (
        'echo "S=${STEP_VAR:-none} J=$JOB_VAR P=$PROJ B=$FROM_BASH_ENV N=$CIRCLE_JOB"; pwd\n'
    )
    # stdin holds both shells' commands: the first shell (at the failure) reads them all
    done = run_cli(
        ["run", "--shell", "--shell-on-failure", "-e", "PROJ=proj"], debian, stdin=script
    )
    assert done.code == 1, done.stderr
    out = done.stdout
    # the failed step's environment and working directory, in the container
    assert "S=from-step J=from-job P=proj B=sourced N=build" in out
    assert "/project/sub/dir\n" in out
    assert "exit code 127: command not found: no-such-command-xyz (PATH was " in done.stderr
    # --shell: deploy skipped with CircleCI's words, then the second shell (stdin is spent)
    assert "skipping deploy" in out and "Running in SSH mode. Avoid deploying." in out
    assert "DEPLOYED" not in out
    assert "a shell in its environment" in done.stderr
    assert _containers() == []  # leaving the shell removed the containers


def test_keep_shell_from_step_and_clean(debian: Path) -> None:
    kept = run_cli(["run", "--keep"], debian)
    assert kept.code == 1
    assert "enter it with `runner shell 1 build`" in kept.stdout
    assert len(_containers()) == 1

    script = 'echo "J=$JOB_VAR B=$FROM_BASH_ENV"; cat ~/made.txt; pwd; id -u; exit 5\n'
    entered = run_cli(["shell", "1", "build"], debian, stdin=script)
    assert entered.code == 5, entered.stderr
    assert "J=from-job B=sourced\nkept-file\n" in entered.stdout
    assert "/project\n" in entered.stdout

    # --from-step: home and BASH_ENV come from the kept container; earlier steps are skipped
    again = run_cli(["run", "build", "--only-step", "breaks", "--json"], debian)
    assert '"message": "skipped: --only-step 2; its effects come from run 1 build node 0"' in (
        again.stdout
    )
    assert "restored the environment kept by run 1 build node 0" in again.stdout
    assert "before the failure" in again.stdout

    cleaned = run_cli(["clean"], debian)
    assert cleaned.code == 0
    assert _containers() == []
    assert not (node_dir(1) / "kept.json").exists()


def test_from_step_restores_files_and_bash_env_into_the_new_container(tmp_path: Path) -> None:
    body = """\
    steps:
      - run: echo 'export MADE=yes' >> "$BASH_ENV"; mkdir -p ~/project; echo one > ~/project/f
      - run: echo "MADE=$MADE f=$(cat ~/project/f)"; echo two >> ~/project/f
"""
    project = make_project(tmp_path / "p", config("debian", body))
    assert run_cli(["run", "--keep"], project).code == 0
    again = run_cli(["run", "build", "--from-step", "1"], project)
    assert again.code == 0, again.stderr
    assert "MADE=yes f=one" in again.stdout  # BASH_ENV and the file, as run 1 ended
    run_cli(["clean"], project)


def test_sh_only_image(tmp_path: Path) -> None:
    body = """\
    environment:
      JOB_VAR: from-job
    steps:
      - run: {name: fails, command: "echo out; exit 4", environment: {STEP_VAR: s1}}
"""
    project = make_project(tmp_path / "p", config("busybox", body))
    script = 'echo "prog=$0 S=$STEP_VAR J=$JOB_VAR"; pwd\n'
    done = run_cli(["run", "--shell-on-failure"], project, stdin=script)
    assert done.code == 1
    assert "prog=/bin/sh S=s1 J=from-job" in done.stdout
    assert "failed: exit code 4" in done.stderr
    assert _containers() == []

"""One config, every executor, one observable result (architecture principle 13).

Each test writes its job once and asserts the same outcome for the machine executor and the
docker executor (Debian with bash, busybox with sh only). Where CircleCI itself differs by
shell (BASH_ENV is a bash feature), the expectation says so.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from runner.events import StepFinished, StepStarted
from tests.contract.conftest import pid_alive
from tests.executors.docker.helpers import run_with
from tests.support import make_project
from tests.targets import Target


def outcomes(run: object, node: int | None = None) -> list[tuple[str, str, int | None, str]]:
    steps = run.steps(node=node)  # type: ignore[attr-defined]
    return [(s.name, s.outcome.status.value, s.outcome.exit_code, s.outcome.message) for s in steps]


def test_environment_and_precedence(target: Target, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", target.config("""
        version: 2.1
        jobs:
          build:
            EXECUTOR
            environment:
              JOB_VAR: job
              SHARED: job
              CIRCLE_JOB: from-job-env
            steps:
              - run:
                  name: env
                  environment: {SHARED: step, STEP_ONLY: step}
                  command: |
                    echo "JOB_VAR=$JOB_VAR SHARED=$SHARED STEP_ONLY=$STEP_ONLY"
                    [ "$PROJECT_VAR" = projectvalue ] && echo "project-level seen"
                    echo "CIRCLE_JOB=$CIRCLE_JOB CI=$CI CIRCLECI=$CIRCLECI"
                    echo "NODE=$CIRCLE_NODE_INDEX/$CIRCLE_NODE_TOTAL WD=$CIRCLE_WORKING_DIRECTORY"
                    echo "BRANCH=$CIRCLE_BRANCH HOME-RELATIVE-PWD=${PWD#"$HOME"}"
                    INLINE=shell && echo "INLINE=$INLINE"
              - run: echo "after=[$STEP_ONLY]"
    """))
    run = run_with(
        project, target.executors(), env=("PROJECT_VAR=projectvalue", "JOB_VAR=projectvalue")
    )
    assert run.output() == [
        "JOB_VAR=job SHARED=step STEP_ONLY=step",  # step > job > project [ENV]
        "project-level seen",  # -e values are project-level (and masked: not printed)
        "CIRCLE_JOB=from-job-env CI=true CIRCLECI=true",  # job > built-ins
        "NODE=0/1 WD=~/project",  # the literal value (#387)
        "BRANCH=main HOME-RELATIVE-PWD=/project",
        "INLINE=shell",
        "after=[]",  # a step's environment is its own
    ]
    assert run.result is not None and run.result.exit_code == 0


def test_working_directories(target: Target, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", target.config("""
        version: 2
        jobs:
          build:
            EXECUTOR
            working_directory: ~/app/src
            steps:
              - run: mkdir -p nested && echo "job=${PWD#"$HOME"}"
              - run: {name: relative, working_directory: nested, command: 'echo "step=${PWD#"$HOME"}"'}
              - run: {name: absolute, working_directory: /tmp, command: 'echo "abs=$PWD"'}
              - run: {name: tilde, working_directory: ~/app, command: 'echo "tilde=${PWD#"$HOME"}"'}
              - run: {name: made, working_directory: ~/app/new/deep, command: 'echo "made=${PWD#"$HOME"}"'}
    """))
    run = run_with(project, target.executors())
    # a step's missing working_directory is created, like the job's [CR]
    assert run.output() == [
        "job=/app/src", "step=/app/src/nested", "abs=/tmp", "tilde=/app", "made=/app/new/deep"
    ]


def test_a_working_directory_a_step_removed_is_made_again(target: Target, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", target.config("""
        version: 2
        jobs:
          build:
            EXECUTOR
            working_directory: ~/app
            steps:
              - run: touch old && cd / && rm -rf ~/app && echo removed
              - run: 'echo "again=${PWD#"$HOME"} $(ls -A | wc -l)"'
              - run: {name: physical, working_directory: ~/link, command: 'echo "link=${PWD#"$HOME"}"'}
    """).replace("touch old", "mkdir -p ~/real && ln -s real ~/link && touch old"))
    run = run_with(project, target.executors())
    # recreated empty, as a missing working directory always is; a symlinked one is entered
    # by its physical path, as a chdir() gives it
    assert run.output() == ["removed", "again=/app 0", "link=/real"]


def test_a_background_step_can_halt_the_job(target: Target, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", target.config("""
        version: 2
        jobs:
          build:
            EXECUTOR
            steps:
              - run:
                  background: true
                  command: |
                    i=0; until [ -e ~/started ]; do i=$((i+1)); [ $i -lt 600 ] || exit 9; sleep 0.05; done
                    circleci-agent step halt
                    touch ~/halted
              # Halted while it runs (whatever the machine's load): it ends, nothing after it.
              - run: |
                  touch ~/started
                  i=0; until [ -e ~/halted ]; do i=$((i+1)); [ $i -lt 600 ] || exit 9; sleep 0.05; done
                  echo waited
              - run: echo never
    """))
    run = run_with(project, target.executors())
    assert run.job_status("build") == "passed"
    assert run.output() == ["waited"]


def test_exit_codes_and_when(target: Target, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", target.config("""
        version: 2
        jobs:
          build:
            EXECUTOR
            steps:
              - run: {name: three, command: exit 3}
              - run: {name: skipped, command: echo never}
              - run: {name: pipefail, when: always, command: false | true}
              - run: {name: child killed, when: always, command: "sh -c 'kill -KILL $$'"}
              - run: {name: on fail, when: on_fail, command: echo on_fail ran}
              - run: {name: ok, when: always, command: exit 0}
    """))
    run = run_with(project, target.executors())
    assert outcomes(run) == [
        ("three", "failed", 3, "exit code 3"),
        ("skipped", "skipped", None, "skipped: an earlier step failed"),
        ("pipefail", "failed", 1, "exit code 1"),
        ("child killed", "failed", 137, "exit code 137: killed (SIGKILL), perhaps out of memory"),
        ("on fail", "passed", 0, ""),
        ("ok", "passed", 0, ""),
    ]
    assert "on_fail ran" in run.output()
    assert run.result is not None and run.result.exit_code == 1


def test_bash_env_persists_between_steps_in_bash(target: Target, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", target.config("""
        version: 2
        jobs:
          build:
            EXECUTOR
            steps:
              - run: echo 'export FROM_BASH_ENV=yes' >> "$BASH_ENV" && echo "same step=[$FROM_BASH_ENV]"
              - run: echo "next step=[$FROM_BASH_ENV]"
    """))
    run = run_with(project, target.executors())
    # bash sources BASH_ENV in every step; sh never does, on CircleCI too [ENV]
    later = "yes" if target.has_bash else ""
    assert run.output() == ["same step=[]", f"next step=[{later}]"]


def _barrier_project(target: Target, root: Path) -> Path:
    return make_project(root, target.config("""
        version: 2
        jobs:
          build:
            EXECUTOR
            parallelism: 3
            steps:
              - run: echo "test on $CIRCLE_NODE_INDEX" && [ "$CIRCLE_NODE_INDEX" != "$FAIL_NODE" ]
              - deploy: {name: ship, command: 'echo "deploying from $CIRCLE_NODE_INDEX"'}
    """))


def test_deploy_runs_once_on_node_0_after_the_others(target: Target, tmp_path: Path) -> None:
    run = run_with(_barrier_project(target, tmp_path / "p"), target.executors(), env=("FAIL_NODE=x",))
    assert run.output().count("deploying from 0") == 1
    assert not any(line.startswith("deploying from") and line != "deploying from 0"
                   for line in run.output())
    # The barrier opens when every other node has finished its STEPS (its last step is the
    # skipped deploy); its NodeFinished comes later, after the node's cleanup.
    events = run.events
    deploy_at = next(i for i, e in enumerate(events) if isinstance(e, StepStarted) and e.name == "ship")
    last_steps = [
        max(i for i, e in enumerate(events) if isinstance(e, StepFinished) and e.node == node)
        for node in (1, 2)
    ]
    assert deploy_at > max(last_steps)
    for node in (1, 2):
        assert outcomes(run, node)[-1][:2] == ("ship", "skipped")
    assert run.result is not None and run.result.exit_code == 0


def test_no_deploy_when_a_node_failed(target: Target, tmp_path: Path) -> None:
    run = run_with(_barrier_project(target, tmp_path / "p"), target.executors(), env=("FAIL_NODE=2",))
    assert not any(line.startswith("deploying") for line in run.output())
    assert outcomes(run, 0)[-1] == (
        "ship", "skipped", None, "skipped: node(s) 2 failed; deploy runs only if all pass"
    )
    assert run.result is not None and run.result.exit_code == 1


def test_background_step_runs_alongside_and_stops_with_the_job(target: Target, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", target.config("""
        version: 2
        jobs:
          build:
            EXECUTOR
            steps:
              - run:
                  name: server
                  background: true
                  command: echo serving && touch "$HOME/ready" && while :; do sleep 0.1; done
              - run:
                  name: client
                  command: |
                    while [ ! -f "$HOME/ready" ]; do sleep 0.05; done
                    echo "saw the background step"
    """))
    run = run_with(project, target.executors())
    assert "serving" in run.output() and "saw the background step" in run.output()
    assert ("client", "passed", 0, "") in outcomes(run)
    server = run.step("server")
    assert server.outcome.status.value == "passed"
    assert server.outcome.message == "stopped at the end of the job"


def test_no_output_timeout(target: Target, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", target.config("""
        version: 2
        jobs:
          build:
            EXECUTOR
            steps:
              - run: {name: silent, no_output_timeout: 1s, command: echo start && sleep 60}
              - run: {name: after, when: always, command: echo after}
    """))
    run = run_with(project, target.executors())
    silent = run.step("silent")
    assert silent.outcome.status.value == "timed_out"
    assert silent.outcome.message == "Too long with no output (exceeded 1s)"
    assert silent.outcome.duration >= 1.0  # never before the limit; and not the 60 s sleep:
    assert silent.outcome.duration < 30
    assert run.output()[0] == "start" and run.output()[-1] == "after"


def test_leftovers_of_a_step_are_stopped_at_its_end(target: Target, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", target.config("""
        version: 2
        jobs:
          build:
            EXECUTOR
            steps:
              - run:
                  name: forgets a server
                  command: |
                    sh -c 'sleep 300; :' "in-group-$MARK" &
                    setsid sh -c 'sleep 300; :' "daemon-$MARK" > /dev/null 2>&1 < /dev/null &
                    echo started
              - run:
                  name: check
                  command: |
                    ! grep -l "[i]n-group-$MARK\\|[d]aemon-$MARK" /proc/[0-9]*/cmdline 2>/dev/null
                    echo nothing left
    """))
    mark = uuid.uuid4().hex
    run = run_with(project, target.executors(), env=(f"MARK={mark}",))
    step = run.step("forgets a server")
    assert step.outcome.status.value == "passed" and step.outcome.duration < 30  # not the 300 s sleep
    assert any("stopped what the step left running" in n for n in run.notices())
    assert run.output() == ["started", "nothing left"], run.notices()


def test_interrupt_stops_the_step_and_leaves_nothing(target: Target, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", target.config("""
        version: 2
        jobs:
          build:
            EXECUTOR
            steps:
              - run:
                  name: long
                  command: |
                    trap 'echo "got INT"; exit 7' INT
                    echo "pid $$"
                    echo started
                    while :; do sleep 0.1; done
              - run: {name: after, when: always, command: echo never}
    """))
    run = run_with(project, target.executors(), when_output=("started", lambda e: e.cancel()))
    assert run.result is not None and run.result.exit_code == 130
    assert "got INT" in run.output() and "never" not in run.output()
    long = run.step("long")
    # the step loops for ever: only the interrupt can have ended it
    assert long.outcome.status.value == "cancelled"
    if target.kind == "machine":  # docker: the target fixture checks no container is left
        pid = int(next(line for line in run.output() if line.startswith("pid ")).split()[1])
        assert not pid_alive(pid)

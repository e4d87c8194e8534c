"""Real runs on the machine executor: environment, shells, exit codes, step rules, checkout."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from runner.events import Status
from tests.support import git, make_project, run_in_process


def one_job(steps: str, extra: str = "") -> str:
    return f"""
    version: 2
    jobs:
      build:
        machine: true
{extra}
        steps:
{steps}
    """


def values(lines: list[str]) -> dict[str, str]:
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_builtin_variables(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        one_job("""
          - run: |
              for v in CI CIRCLECI CIRCLE_BRANCH CIRCLE_SHA1 CIRCLE_JOB CIRCLE_NODE_INDEX \\
                  CIRCLE_NODE_TOTAL CIRCLE_BUILD_NUM CIRCLE_WORKING_DIRECTORY \\
                  CIRCLE_PROJECT_USERNAME CIRCLE_PROJECT_REPONAME CIRCLE_REPOSITORY_URL \\
                  CIRCLE_INTERNAL_TASK_DATA BASH_ENV HOME; do
                echo "$v=$(printenv $v)"
              done
              echo "PWD=$PWD"
              echo "TAG_SET=${CIRCLE_TAG+yes}"
    """),
    )
    run = run_in_process(project)
    env = values(run.output())
    assert run.result is not None and run.result.exit_code == 0
    assert env["CI"] == env["CIRCLECI"] == "true"
    assert env["CIRCLE_BRANCH"] == "main"
    assert env["CIRCLE_SHA1"] == git(project, "rev-parse", "HEAD")
    assert (env["CIRCLE_JOB"], env["CIRCLE_NODE_INDEX"], env["CIRCLE_NODE_TOTAL"]) == (
        "build",
        "0",
        "1",
    )
    assert env["CIRCLE_BUILD_NUM"] == "1"
    assert env["CIRCLE_WORKING_DIRECTORY"] == "~/project"  # literal tilde, as CircleCI (#387)
    assert (env["CIRCLE_PROJECT_USERNAME"], env["CIRCLE_PROJECT_REPONAME"]) == ("acme", "widget")
    assert env["CIRCLE_REPOSITORY_URL"] == "git@github.com:acme/widget.git"
    assert env["HOME"] != os.environ["HOME"] and env["HOME"].startswith(str(tmp_path / "state"))
    assert env["PWD"] == env["HOME"] + "/project"
    assert env["TAG_SET"] == ""
    assert os.path.isabs(env["BASH_ENV"]) and os.path.isabs(env["CIRCLE_INTERNAL_TASK_DATA"])
    second = run_in_process(project)
    assert values(second.output())["CIRCLE_BUILD_NUM"] == "2"


def test_tag_and_branch_overrides(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p", one_job('          - run: echo "B=$CIRCLE_BRANCH" && echo "T=$CIRCLE_TAG"')
    )
    env = values(run_in_process(project, tag="v1.2").output())
    assert (env["B"], env["T"]) == ("", "v1.2")
    env = values(run_in_process(project, branch="feature/x").output())
    assert env["B"] == "feature/x"


def test_environment_precedence(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        one_job(
            """
          - run:
              environment: {STEP_WINS: step}
              command: |
                echo "STEP_WINS=$STEP_WINS"; echo "JOB_WINS=$JOB_WINS"; echo "ONLY_E=$ONLY_E"
                echo "BUILTIN=$CIRCLE_JOB"; echo "BRANCH=$CIRCLE_BRANCH"
                echo "FROM_FILE=$FROM_FILE"; echo "FROM_FILE_LEN=${#FROM_FILE}"
        """,
            extra="""        environment:
          STEP_WINS: job
          JOB_WINS: job
          CIRCLE_BRANCH: from-config""",
        ),
    )
    (tmp_path / "vars.env").write_text(
        "# comment\nexport FROM_FILE='quoted value'\nJOB_WINS=file\n"
    )
    run = run_in_process(
        project,
        env=("STEP_WINS=cli", "JOB_WINS=cli", "ONLY_E=cli", "CIRCLE_JOB=nope"),
        env_files=(tmp_path / "vars.env",),
    )
    env = values(run.output())
    # step > job > built-ins > project-level (-e, --env-file) [ENV]; project-level values are
    # secrets, masked in output (3-character values are too short to mask, as on CircleCI)
    assert env == {
        "STEP_WINS": "step",
        "JOB_WINS": "job",
        "ONLY_E": "cli",
        "BUILTIN": "build",
        "BRANCH": "from-config",
        "FROM_FILE": "********",
        "FROM_FILE_LEN": "12",
    }


def test_callers_environment_is_not_handed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_SECRET_TOKEN", "s3cr3t-value")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    project = make_project(
        tmp_path / "p",
        one_job(
            '          - run: echo "T=${MY_SECRET_TOKEN:-unset}"; echo "LC=$LC_ALL"; echo "P=${PATH:+set}"'
        ),
    )
    env = values(run_in_process(project).output())
    assert env == {"T": "unset", "LC": "C.UTF-8", "P": "set"}
    env = values(run_in_process(project, pass_env=("MY_SECRET_TOKEN",)).output())
    assert env["T"] == "s3cr3t-value"


def test_bash_env_carries_exports_to_later_steps_only(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        one_job("""
          - run: echo 'export GREETING="hi there"' >> "$BASH_ENV"; echo "SAME=${GREETING:-unset}"
          - run: echo "NEXT=$GREETING"
          - run:
              shell: /bin/sh -e
              command: echo "SH=${GREETING:-unset}"
    """),
    )
    env = values(run_in_process(project).output())
    # bash sources BASH_ENV on start; plain sh does not [ENV]
    assert env == {"SAME": "unset", "NEXT": "hi there", "SH": "unset"}


def test_working_directories(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        one_job(
            """
          - run: mkdir -p sub/deeper && pwd
          - run:
              working_directory: sub/deeper
              command: pwd
          - run:
              working_directory: ~/elsewhere
              command: pwd
        """,
            extra="        working_directory: ~/app",
        ),
    )
    (project / ".circleci").joinpath("config.yml")
    run = run_in_process(project)
    first, second, third = run.output()
    assert first.endswith("/home/app")
    assert second == first + "/sub/deeper"
    assert third.endswith("/home/elsewhere")


def test_default_shell_is_bash_with_errexit_and_pipefail(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        one_job("""
          - run:
              name: pipefail
              command: false | true; echo "not reached"
          - run:
              name: errexit
              when: always
              command: false; echo "not reached"
          - run:
              name: custom shell
              when: always
              shell: python3
              command: import sys; print("python", sys.version_info[0])
    """),
    )
    run = run_in_process(project)
    assert run.step("pipefail").outcome.exit_code == 1
    assert run.step("errexit").outcome.exit_code == 1
    assert "not reached" not in run.output()
    assert run.step("custom shell").outcome.status is Status.PASSED
    assert "python 3" in run.output()
    started = {s.name: s.shell for s in run.started()}
    assert started["pipefail"] == "#!/bin/bash -eo pipefail"
    assert started["custom shell"] == "#!python3"


@pytest.mark.parametrize(
    ("command", "exit_code", "signal", "message"),
    [
        ("exit 3", 3, None, "exit code 3"),
        ("nosuchcommand-xyz", 127, None, "exit code 127: command not found: nosuchcommand-xyz (PATH was /"),
        ("kill -9 $$", None, 9, "killed by SIGKILL"),
        ("kill -TERM $$", None, 15, "killed by SIGTERM"),
        ("sh -c 'kill -9 $$'", 137, None, "exit code 137: killed (SIGKILL), perhaps out of memory"),
    ],
)
def test_exit_codes_and_signals_are_faithful(
    tmp_path: Path, command: str, exit_code: int | None, signal: int | None, message: str
) -> None:
    project = make_project(tmp_path / "p", one_job(f"          - run: {command!r}"))
    run = run_in_process(project)
    outcome = run.steps()[0].outcome
    assert (outcome.status, outcome.exit_code, outcome.signal) == (Status.FAILED, exit_code, signal)
    assert outcome.message == message or (exit_code == 127 and outcome.message.startswith(message))
    assert run.result is not None and run.result.exit_code == 1


def test_step_rules_after_a_failure(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        one_job("""
          - run: {name: first, command: "true"}
          - run: {name: on_fail before failure, command: "true", when: on_fail}
          - run: {name: breaks, command: exit 2}
          - run: {name: next, command: "true"}
          - run: {name: always, command: "true", when: always}
          - run: {name: on_fail after, command: "true", when: on_fail}
          - add_ssh_keys
    """),
    )
    run = run_in_process(project)
    status = {s.name: (s.outcome.status, s.outcome.message) for s in run.steps()}
    assert status == {
        "first": (Status.PASSED, ""),
        "on_fail before failure": (
            Status.SKIPPED,
            "skipped: runs only when an earlier step failed",
        ),
        "breaks": (Status.FAILED, "exit code 2"),
        "next": (Status.SKIPPED, "skipped: an earlier step failed"),
        "always": (Status.PASSED, ""),
        "on_fail after": (Status.PASSED, ""),
        "Installing additional ssh keys": (Status.SKIPPED, "skipped: an earlier step failed"),
    }
    assert run.job_status("build") == "failed"


def test_unsupported_step_kind_is_reported_not_dropped(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p", one_job("          - add_ssh_keys\n          - run: 'true'")
    )
    run = run_in_process(project)
    first = run.steps()[0]
    assert (first.outcome.status, first.outcome.message) == (
        Status.NOT_SUPPORTED,
        "skipped: add_ssh_keys is not supported yet",
    )
    assert run.job_status("build") == "passed"


def test_background_steps_run_alongside_and_stop_with_the_job(tmp_path: Path) -> None:
    marker = tmp_path / "bg.pid"
    project = make_project(
        tmp_path / "p",
        one_job(f"""
          - run:
              name: server
              background: true
              command: echo $$ > {marker}; while true; do echo tick; sleep 0.1; done
          - run: sleep 0.5; echo foreground
    """),
    )
    run = run_in_process(project)
    server = run.step("server")
    assert (server.outcome.status, server.outcome.message) == (
        Status.PASSED,
        "stopped at the end of the job",
    )
    assert "tick" in run.output() and "foreground" in run.output()
    assert not Path(f"/proc/{marker.read_text().strip()}").exists()


def test_a_failing_background_step_fails_the_job(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        one_job("""
          - run: {name: bad server, background: true, command: exit 4}
          - run: sleep 0.3
    """),
    )
    run = run_in_process(project)
    assert run.step("bad server").outcome.exit_code == 4
    assert run.job_status("build") == "failed"


def test_no_output_timeout_stops_the_whole_tree(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    project = make_project(
        tmp_path / "p",
        one_job(f"""
          - run:
              no_output_timeout: 1s
              command: echo started; sleep 60 & echo $! > {pidfile}; wait
    """),
    )
    run = run_in_process(project)
    outcome = run.steps()[0].outcome
    assert outcome.status is Status.TIMED_OUT
    assert outcome.message == "Too long with no output (exceeded 1s)"
    assert outcome.duration < 30  # not the 60 s sleep
    assert not Path(f"/proc/{pidfile.read_text().strip()}").exists()


def test_output_keeps_a_step_alive(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        one_job("""
          - run:
              no_output_timeout: 1s
              command: for i in 1 2 3 4; do echo $i; sleep 0.5; done
    """),
    )
    assert run_in_process(project).steps()[0].outcome.status is Status.PASSED


def test_processes_a_step_leaves_behind_are_stopped(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    project = make_project(
        tmp_path / "p",
        one_job(f"""
          - run: |
              sleep 300 > /dev/null 2>&1 &
              echo $! >> {pids}
              setsid sleep 301 > /dev/null 2>&1 < /dev/null &
              echo $! >> {pids}
              sleep 0.3  # let setsid take effect before the step ends
    """),
    )
    run = run_in_process(project)
    assert run.steps()[0].outcome.status is Status.PASSED
    for pid in pids.read_text().split():
        assert not Path(f"/proc/{pid}").exists(), f"pid {pid} survived the step"
    notices = [getattr(e, "text", "") for e in run.events if type(e).__name__ == "Notice"]
    assert any("stopped what the step left running" in n and "sleep 301" in n for n in notices)


def test_checkout_copies_the_working_tree_with_git(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        one_job("""
          - checkout
          - run: |
              ls -A | sort
              git log --oneline | wc -l
              git status --porcelain
              echo changed >> tracked.txt
        """),
        files={"tracked.txt": "v1\n", ".gitignore": "ignored.txt\n", "dir/a.txt": "a\n"},
    )
    (project / "untracked.txt").write_text("new\n")
    (project / "ignored.txt").write_text("secret\n")
    (project / "tracked.txt").write_text("v2 (uncommitted)\n")
    os.symlink("tracked.txt", project / "link")
    run = run_in_process(project)
    out = run.output()
    listing = out[1 : out.index("1")]
    assert listing == [
        ".circleci",
        ".git",
        ".gitignore",
        "dir",
        "link",
        "tracked.txt",
        "untracked.txt",
    ]
    assert sorted(out[out.index("1") + 1 :]) == [" M tracked.txt", "?? link", "?? untracked.txt"]
    assert (
        project / "tracked.txt"
    ).read_text() == "v2 (uncommitted)\n"  # the user's tree is untouched


def test_node_homes_are_removed_after_the_run(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", one_job("          - run: echo $HOME"))
    home = run_in_process(project).output()[0]
    assert not Path(home).exists()
    kept = run_in_process(project, keep=True).output()[0]
    assert Path(kept).is_dir()


def test_logs_are_kept_per_step(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", one_job("          - run: echo one; echo two"))
    run = run_in_process(project)
    log = run.steps()[0].log_path
    assert log is not None and Path(log).read_text() == "one\ntwo\n"
    assert re.search(r"/runs/1/jobs/build/0/logs/000-run\.log$", log)


def test_a_session_interrupted_before_a_step_starts_never_launches_it(tmp_path: Path) -> None:
    """The gap between the node's cancel check and the step's start (a cancel landing there)."""
    from runner.config import model as m
    from runner.executors.base import ExecRequest, NodeSpec
    from runner.executors.machine import MachineExecutor
    from runner.output import Masker, StepSink

    job = m.Job(name="j", executor=m.MachineExecutor(), steps=())
    spec = NodeSpec(job=job, job_id="j", node_index=0, node_total=1, run_id="1", node_dir=tmp_path / "n")
    session = MachineExecutor(environ={"PATH": "/usr/bin:/bin"}).open(spec, lambda _t: None)
    session.interrupt()
    marker = tmp_path / "ran"
    request = ExecRequest(script=f"touch {marker}\n", shell=("/bin/sh",), cwd=str(tmp_path), env={})
    result = session.start(request, StepSink(lambda _t, _p: None, Masker())).wait()
    assert result.interrupted and not result.ok
    assert not marker.exists()

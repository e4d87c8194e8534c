"""``--shell`` and ``--shell-on-failure`` on the machine executor, scripted through stdin."""

from __future__ import annotations

from pathlib import Path

from tests.debug.support import config, node_dir
from tests.support import make_project, run_cli

JOB = config("machine", """\
    working_directory: ~/work
    environment:
      JOB_VAR: from-job
    steps:
      - run: echo 'export FROM_BASH_ENV=sourced' >> "$BASH_ENV"
      - run: {name: make file, command: echo made > made.txt}
      - deploy:
          name: deploy it
          command: echo DEPLOYED > ~/deployed
      - run: {name: after, command: echo after-ran, when: always}
""")

SHELL_SCRIPT = (
    'echo "J=$CIRCLE_JOB V=$JOB_VAR P=$PROJ B=$FROM_BASH_ENV"\n'
    "pwd\n"
    "cat made.txt\n"
    "test -e ~/deployed && echo DEPLOY-RAN\n"
    "exit 3\n"
)


def test_shell_opens_in_the_jobs_environment_and_skips_deploy(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", JOB)
    done = run_cli(["run", "--shell", "-e", "PROJ=project-value"], project, stdin=SHELL_SCRIPT)
    assert done.code == 0, done.stderr  # the job's result decides the exit code, not the shell's
    out = done.stdout
    # built-ins, the job's environment, project-level -e values and BASH_ENV, as steps see them
    assert "J=build V=from-job P=project-value B=sourced" in out
    assert str(node_dir(1) / "home" / "work") + "\n" in out  # the job's working directory
    assert "made\n" in out  # after every step
    assert "skipping deploy" in out and "Running in SSH mode. Avoid deploying." in out
    assert "DEPLOY-RAN" not in out and "DEPLOYED" not in out
    assert out.index("after-ran") < out.index("J=build")  # the shell opens after the last step
    assert "the shell in build exited with status 3" in out
    assert "a shell in its environment" in done.stderr
    assert not (node_dir(1) / "home").exists()  # leaving the shell cleaned the node up


def test_shell_opens_on_node_zero_only(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p", config("machine", "    parallelism: 3\n    steps:\n      - run: 'true'\n")
    )
    script = "echo shell-on-node-$CIRCLE_NODE_INDEX\n"
    done = run_cli(["run", "--shell"], project, stdin=script)
    assert done.code == 0, done.stderr
    assert done.stdout.count("shell-on-node-") == 1
    assert "shell-on-node-0" in done.stdout
    # --node-index runs one node; that node gets the shell
    done = run_cli(["run", "--shell", "--node-index", "2"], project, stdin=script)
    assert done.stdout.count("shell-on-node-") == 1
    assert "shell-on-node-2" in done.stdout


FAILING = config("machine", """\
    environment:
      JOB_VAR: from-job
    steps:
      - checkout
      - run: echo 'export FROM_BASH_ENV=sourced' >> "$BASH_ENV"
      - run:
          name: breaks
          working_directory: sub/dir
          environment: {STEP_VAR: from-step, JOB_VAR: step-wins}
          command: |
            echo before the failure
            no-such-command-xyz --flag
      - run: {name: on fail, command: echo on-fail-ran, when: on_fail}
      - run: {name: never, command: echo never-ran}
""")


def test_shell_on_failure_opens_in_the_failed_steps_environment(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", FAILING)
    script = 'echo "S=$STEP_VAR J=$JOB_VAR B=$FROM_BASH_ENV"; pwd; ls -a ../..\n'
    done = run_cli(["run", "--shell-on-failure"], project, stdin=script)
    assert done.code == 1
    out, err = done.stdout, done.stderr
    assert "S=from-step J=step-wins B=sourced" in out  # the step's own environment
    assert str(node_dir(1) / "home" / "project" / "sub" / "dir") + "\n" in out
    assert ".circleci" in out  # the checkout is there, two levels up
    # the failure, explained above the prompt
    assert "step 2 'breaks' of build failed: exit code 127: command not found: " in err
    assert "no-such-command-xyz (PATH was " in err
    assert "  $ no-such-command-xyz --flag" in err
    assert "    before the failure" in err
    assert f"full log: {node_dir(1) / 'logs' / '002-run.log'}" in err
    assert "runner logs 1 build --step 2" in err
    # then the job goes on as it would have: on_fail steps, not the others
    assert out.index("S=from-step") < out.index("on-fail-ran")
    assert "never-ran" not in out


def test_no_shell_on_failure_when_nothing_fails(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", config("machine", "    steps:\n      - run: 'true'\n"))
    done = run_cli(["run", "--shell-on-failure"], project, stdin="echo SHELL-OPENED\n")
    assert done.code == 0
    assert "SHELL-OPENED" not in done.stdout


def test_a_job_without_bash_gets_sh_and_a_configured_shell_is_used(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        config("machine", "    shell: /bin/sh -eu\n    steps:\n      - run: 'true'\n"),
    )
    # sh does not read BASH_ENV (neither do sh steps); $0 names the program
    done = run_cli(["run", "--shell"], project, stdin='echo "prog=$0"\n')
    assert "prog=/bin/sh" in done.stdout

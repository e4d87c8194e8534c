"""``--keep`` + ``runner shell`` + ``runner clean``, and ``--from-step``/``--only-step``
(machine executor; the docker forms are in test_docker.py)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from runner.events import Status
from tests.debug.support import config, node_dir
from tests.support import make_project, run_cli, run_in_process

PREPARED = config("machine", """\
    environment:
      JOB_VAR: from-job
    steps:
      - run:
          name: prepare
          command: |
            echo ran-prepare
            echo line >> ~/prepared
            echo 'export PREPARED=yes' >> "$BASH_ENV"
      - run:
          name: use it
          command: |
            echo "lines=$(wc -l < ~/prepared) P=$PREPARED"
            echo line >> ~/prepared
      - run: {name: last, command: echo ran-last}
""")


def test_keep_then_shell_then_clean(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", PREPARED)
    done = run_cli(["run", "--keep", "-e", "SECRET_ONE=hunter22"], project)
    assert done.code == 0, done.stderr
    assert "kept build: enter it with `runner shell 1 build`" in done.stdout
    record = node_dir(1) / "kept.json"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600  # it holds the job's -e values

    script = 'echo "V=$JOB_VAR P=$PREPARED S=$SECRET_ONE"; cat ~/prepared; pwd; exit 4\n'
    entered = run_cli(["shell", "1"], project, stdin=script)
    assert entered.code == 4  # `runner shell` exits with the shell's status
    assert "V=from-job P=yes S=hunter22" in entered.stdout
    assert str(node_dir(1) / "home" / "project") in entered.stdout
    assert "a shell in the environment run 1 build node 0 kept (machine)" in entered.stderr

    cleaned = run_cli(["clean"], project)
    assert "removed 1 kept node environment(s)" in cleaned.stdout
    assert not record.exists() and not (node_dir(1) / "home").exists()
    gone = run_cli(["shell", "1"], project, stdin="true\n")
    assert gone.code == 2 and "run 1 kept no environment" in gone.stderr


def test_runner_shell_names_what_it_cannot_find(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", PREPARED)
    run_cli(["run", "--keep"], project)
    wrong = run_cli(["shell", "1", "buld"], project, stdin="")
    assert wrong.code == 2 and "did you mean 'build'" in wrong.stderr
    wrong = run_cli(["shell", "1", "build", "--node", "3"], project, stdin="")
    assert wrong.code == 2 and "kept nodes: 0" in wrong.stderr


def _steps(run: object) -> dict[str, tuple[Status, str]]:
    return {s.name: (s.outcome.status, s.outcome.message) for s in run.steps()}  # type: ignore[attr-defined]


def test_from_step_restores_a_kept_run_and_skips_the_steps_before(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", PREPARED)
    first = run_in_process(project, keep=True)
    assert first.job_status("build") == "passed"

    again = run_in_process(project, jobs=("build",), from_step="use it")
    steps = _steps(again)
    assert steps["prepare"] == (
        Status.SKIPPED, "skipped: --from-step 1; its effects come from run 1 build node 0"
    )
    assert "ran-prepare" not in again.output()
    # the home and BASH_ENV of run 1, as run 1 left them (two lines: prepare + use it)
    assert "lines=2 P=yes" in again.output()
    assert steps["last"][0] is Status.PASSED

    # the kept home is copied, never changed: the next try starts from the same state
    third = run_in_process(project, jobs=("build",), from_step="1")
    assert "lines=2 P=yes" in third.output()
    assert (node_dir(1) / "home" / "prepared").read_text() == "line\nline\n"


def test_only_step_runs_one_step(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", PREPARED)
    run_in_process(project, keep=True)
    run = run_in_process(project, jobs=("build",), only_step="1")
    steps = _steps(run)
    assert steps["prepare"][0] is Status.SKIPPED
    assert steps["use it"][0] is Status.PASSED
    assert steps["last"] == (Status.SKIPPED, "skipped: --only-step 1 runs step 1 only")


def test_without_a_kept_environment_the_earlier_steps_run_first(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", PREPARED)
    run = run_in_process(project, jobs=("build",), only_step="use it")
    assert "ran-prepare" in run.output()
    assert "lines=1 P=yes" in run.output()
    notices = [getattr(e, "text", "") for e in run.events]
    assert any("no kept environment of an earlier run of build" in t for t in notices)
    assert any("running step 0 first" in t for t in notices)
    assert _steps(run)["last"][0] is Status.SKIPPED


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from-step", "7"], "--from-step 7: build has steps 0 to 2"),
        (["--only-step", "use"], "--only-step 'use': build has no step of that name"),
        (["--from-step", "1", "--only-step", "1"], "cannot be used together"),
    ],
)
def test_bad_step_selections_stop_before_anything_runs(
    tmp_path: Path, args: list[str], message: str
) -> None:
    project = make_project(tmp_path / "p", PREPARED)
    done = run_cli(["run", "build", *args], project)
    assert done.code == 2
    assert message in done.stderr
    assert "ran-prepare" not in done.stdout


def test_from_step_needs_one_job(tmp_path: Path) -> None:
    two = PREPARED + "  other:\n    machine: true\n    steps:\n      - run: 'true'\n"
    project = make_project(tmp_path / "p", two)
    done = run_cli(["run", "build", "other", "--from-step", "1"], project)
    assert done.code == 2
    assert "--from-step applies to one job, and this run has 2 (build, other)" in done.stderr

"""`last` for run numbers, step names for `logs --step`, `runner artifacts` (issue 18, item 4)."""

from __future__ import annotations

from pathlib import Path

from tests.support import make_project, run_cli

CONFIG = """
version: 2
jobs:
  build:
    machine: true
    steps:
      - run: {name: Compile, command: echo "compiling $CIRCLE_BUILD_NUM"}
      - run: |
          mkdir -p out/sub && echo report > out/report.txt && echo deep > out/sub/deep.txt
      - store_artifacts: {path: out, destination: reports}
  lint:
    machine: true
    parallelism: 2
    steps:
      - run: mkdir -p l && echo "node $CIRCLE_NODE_INDEX" > l/n.txt
      - store_artifacts: {path: l}
"""


def test_logs_last_and_steps_by_name(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    assert run_cli(["run", "build"], project).code == 0
    assert run_cli(["run", "build"], project).code == 0
    last = run_cli(["logs", "last", "build", "--step", "Compile"], project)
    assert (last.code, last.stdout) == (0, "compiling 2\n")  # run 2, build #2
    first = run_cli(["logs", "1", "build", "--step", "0"], project)
    assert (first.code, first.stdout) == (0, "compiling 1\n")
    typo = run_cli(["logs", "last", "build", "--step", "Compil"], project)
    assert typo.code == 2 and "did you mean 'Compile'?" in typo.stderr
    bad = run_cli(["logs", "latest"], project)
    assert bad.code == 2 and "takes a run number or 'last'" in bad.stderr


def test_last_with_no_runs_says_so(tmp_path: Path) -> None:
    result = run_cli(["logs", "last"], make_project(tmp_path / "p", CONFIG))
    assert result.code == 2
    assert "there is no run yet to take as 'last'" in result.stderr


def test_shell_last_enters_the_newest_kept_environment(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    assert run_cli(["shell", "last"], project).stderr.startswith("no run kept an environment")
    assert run_cli(["run", "build", "--keep"], project).code == 0
    assert run_cli(["run", "build"], project).code == 0  # run 2 kept nothing
    result = run_cli(["shell", "last"], project, stdin="echo build=$CIRCLE_BUILD_NUM\nexit\n")
    assert result.code == 0, result.stderr
    assert "build=1" in result.stdout


def test_artifacts_are_listed_and_copied_out(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    assert run_cli(["run", "build", "lint"], project).code == 0
    listing = run_cli(["artifacts", "last", "build"], project)
    assert listing.stdout.splitlines() == [
        "reports/report.txt  (7 bytes)",
        "reports/sub/deep.txt  (5 bytes)",
    ]
    dest = tmp_path / "out"
    copied = run_cli(["artifacts", "1", "build", "--to", str(dest)], project)
    assert copied.code == 0, copied.stderr
    assert copied.stdout == f"Copied 2 files of run 1 into {dest}\n"
    assert (dest / "reports" / "sub" / "deep.txt").read_text() == "deep\n"

    again = run_cli(["artifacts", "1", "build", "--to", str(dest)], project)
    assert again.code == 2 and "2 file(s) already exist, nothing was copied" in again.stderr
    (dest / "reports" / "report.txt").write_text("mine\n")
    assert run_cli(["artifacts", "1", "build", "--to", str(dest), "--force"], project).code == 0
    assert (dest / "reports" / "report.txt").read_text() == "report\n"

    every = tmp_path / "every"
    assert run_cli(["artifacts", "last", "--to", str(every)], project).code == 0
    assert (every / "lint" / "1" / "l" / "n.txt").read_text() == "node 1\n"  # per node
    assert (every / "build" / "reports" / "report.txt").is_file()

    missing = run_cli(["artifacts", "1", "biuld"], project)
    assert missing.code == 2 and "did you mean 'build'?" in missing.stderr

"""`--shell` on a parallel job (issue 18, item 7): the other nodes' output waits until the
shell ends instead of being printed over it, and the banner says so."""

from __future__ import annotations

from pathlib import Path

from tests.support import make_project, run_cli

CONFIG = """
version: 2
jobs:
  par:
    machine: true
    parallelism: 2
    steps:
      - run: |
          if [ "$CIRCLE_NODE_INDEX" = 1 ]; then sleep 2; echo late from node 1; fi
"""


def test_other_nodes_wait_for_the_shell(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    script = "sleep 5\necho in the shell\nexit\n"
    result = run_cli(["run", "par", "--shell"], project, stdin=script)
    assert result.code == 0, result.stdout + result.stderr
    assert "runner: output of other jobs and nodes waits until the shell ends" in result.stderr
    lines = result.stdout.splitlines()
    assert lines.index("in the shell") < lines.index("par#1 │ late from node 1")

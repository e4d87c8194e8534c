"""Issue 13, defect 3: ``--from-step`` after a fix tests the fix, on both executors.

Run 1 (``--keep``) builds, then its test step fails. The user fixes ``app.sh``, deletes a
tracked file and adds a new one, then reruns from the test step. By default the restored
checkout is refreshed from the working tree: the fix is seen, the deleted file is gone, the
new file is there, and the earlier step's build output (not in the tree) is still there.
``--no-resync`` keeps the kept copy as it was: the old code fails again.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.debug.support import config
from tests.support import make_project, run_cli

BODY = """\
    steps:
      - checkout
      - run: {name: build, command: echo built > build-output.txt}
      - run:
          name: test
          command: |
            sh app.sh
            test -f build-output.txt && echo has-build-output
            if [ -e old.txt ]; then echo has-old; else echo old-gone; fi
            if [ -e new.txt ]; then echo has-new; fi
"""


@pytest.fixture(autouse=True)
def _own_state_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # containers are labelled by the state directory's name: one per test
    monkeypatch.setenv("RUNNER_STATE_DIR", str(tmp_path / f"state-{uuid.uuid4().hex[:8]}"))


@pytest.mark.parametrize(
    "executor", ["machine", pytest.param("busybox", marks=pytest.mark.docker)]
)
def test_from_step_sees_the_fix_and_keeps_build_outputs(tmp_path: Path, executor: str) -> None:
    files = {"app.sh": "echo app-v1; exit 1\n", "old.txt": "old\n"}
    project = make_project(tmp_path / "p", config(executor, BODY), files)
    first = run_cli(["run", "--keep"], project)
    assert first.code == 1 and "app-v1" in first.stdout, first.stdout[-2000:]
    try:
        (project / "app.sh").write_text("echo app-v2\n")  # the fix
        (project / "old.txt").unlink()
        (project / "new.txt").write_text("new\n")

        fixed = run_cli(["run", "build", "--from-step", "test"], project)
        assert fixed.code == 0, (fixed.stderr, fixed.stdout[-3000:])
        for seen in ("app-v2", "has-build-output", "old-gone", "has-new"):
            assert seen in fixed.stdout, (seen, fixed.stdout[-3000:])
        assert "app-v1" not in fixed.stdout
        said = [line for line in fixed.stdout.splitlines() if "resynced" in line]
        assert len(said) == 1 and "1 deleted ones removed" in said[0], said

        old = run_cli(["run", "build", "--from-step", "test", "--no-resync"], project)
        assert old.code == 1, old.stdout[-2000:]
        assert "app-v1" in old.stdout and "has-old" in old.stdout
        assert "resynced" not in old.stdout
    finally:
        run_cli(["clean"], project)

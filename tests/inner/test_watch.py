"""``runner run --watch`` (issue 18, item 5): runs again on a change git would see, stopping a
run still going first; ignored files and runner's own state do not count."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.support import make_project

CONFIG = """
version: 2
jobs:
  build:
    machine: true
    steps:
      - checkout
      - run: |
          echo "content: $(cat file.txt)"
          if grep -q slow file.txt; then echo sleeping; sleep 60; fi
"""
HANG_GUARD = 60.0


class Lines:
    """The process's output lines, read by a thread, waited for with a hang guard."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, needle: str) -> None:
        deadline = time.monotonic() + HANG_GUARD
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.seen.append(line)
            if needle in line:
                return
        raise AssertionError(f"never printed {needle!r}:\n" + "\n".join(self.seen))


def test_watch_runs_again_on_changes_git_sees(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p", CONFIG, {"file.txt": "one\n", ".gitignore": "ignored.txt\n"}
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", "--watch"], cwd=project, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1", "RUNNER_STOP_GRACE": "1,1",
             "RUNNER_STATE_DIR": str(project / "state-inside")},  # its own state: ignored
    )
    lines = Lines(proc)
    try:
        lines.wait_for("build │ content: one")
        lines.wait_for("watching for changes")
        (project / "ignored.txt").write_text("x\n")  # git ignores it: no run
        (project / ".git" / "scratch").write_text("x\n")  # nor .git
        time.sleep(2)  # past the debounce, so these would have been seen on their own
        (project / "file.txt").write_text("slow\n")  # tracked: run 2, which sleeps
        lines.wait_for("build │ sleeping")
        (project / "new.txt").write_text("untracked, not ignored\n")
        (project / "file.txt").write_text("two\n")
        lines.wait_for("files changed: running again")
        lines.wait_for("build │ content: two")
        lines.wait_for("watching for changes")
        config = project / ".circleci" / "config.yml"
        good = config.read_text()
        config.write_text(good.replace("steps:", "stpes:"))  # an edit breaks it: run 4 refused
        lines.wait_for("config error")
        lines.wait_for("watching for changes")
        config.write_text(good)  # and the fix runs
        lines.wait_for("build │ content: two")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=HANG_GUARD)
        finally:
            proc.kill()
    runs = [line for line in lines.seen if line.startswith("runner: run ")]
    assert [r.split()[2] for r in runs] == ["1", "2", "3", "4"]  # ignored changes ran nothing
    slow = lines.seen.index("build │ sleeping")
    stopped = next(i for i, line in enumerate(lines.seen) if line.startswith("run 2 "))
    assert slow < stopped < lines.seen.index("build │ content: two")  # run 2 stopped first
    assert "interrupted" in lines.seen[stopped] or "cancelled" in lines.seen[stopped]
    assert code == 130

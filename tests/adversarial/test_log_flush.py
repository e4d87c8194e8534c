"""What runner received of a step's output is in the step's log, even when runner is told to
exit at once (a second Ctrl-C or SIGTERM) while the output still flows (issue 13)."""

from __future__ import annotations

import re
import signal
import textwrap
import time
from pathlib import Path

import pytest

from tests.adversarial.helpers import BUSYBOX_IMAGE, Running
from tests.support import make_project

# Numbered lines, never quiet for 0.2 s (so no idle flush happens), ignoring INT and TERM.
STEPS = """
- run: |
    trap '' INT TERM
    i=0
    while [ $i -lt 100000 ]; do
      i=$((i+1)); echo "line $i"
      [ $((i % 50)) = 0 ] && sleep 0.02
    done
"""


def _project(root: Path, executor: str) -> Path:
    where = "machine: true" if executor == "machine" else f"docker: [{{image: {executor}}}]"
    body = textwrap.indent(textwrap.dedent(STEPS).strip("\n"), "      ")
    return make_project(root, f"version: 2.1\njobs:\n  build:\n    {where}\n    steps:\n{body}\n")


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"line (\d+)\n", text)]


@pytest.mark.parametrize(
    "executor",
    ["machine", pytest.param(BUSYBOX_IMAGE, marks=pytest.mark.docker, id="docker")],
)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_exiting_at_once_keeps_what_was_received(
    tmp_path: Path, executor: str, sig: signal.Signals
) -> None:
    state = tmp_path / "state"
    run = Running(["run"], _project(tmp_path / "p", executor),
                  env={"RUNNER_STATE_DIR": str(state), "RUNNER_STOP_GRACE": "20,20"})
    try:
        run.wait_for(lambda: run.saw("│ line 3000"), "the output")
        run.proc.send_signal(sig)  # graceful stop: the step ignores it and goes on printing
        time.sleep(1)
        run.proc.send_signal(sig)  # exit at once
        outcome = run.finish(timeout=60)
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    assert outcome.code == 130, outcome.stderr
    shown = _numbers("".join(line.split("│ ", 1)[-1] for line in run.lines))
    logs = list(state.glob("runs/1/jobs/build/0/logs/000-run.log"))
    assert logs, list(state.rglob("*"))
    stored = _numbers(logs[0].read_text())
    assert stored == list(range(1, len(stored) + 1))  # nothing lost in between
    # every line runner showed had been received: the log holds it too
    assert stored[-1] >= shown[-1], (stored[-1], shown[-1])

"""Ctrl-C, SIGTERM, SIGHUP: steps stopped in phases, summary printed, exit 130, nothing left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import make_project

STUBBORN = """
version: 2
jobs:
  build:
    machine: true
    parallelism: 2
    steps:
      - run:
          name: Long step
          command: |
            {trap}
            sleep 120 &
            echo $! >> "$SHARED/pids"
            echo $$ >> "$SHARED/pids"
            echo started
            wait
      - run: {{name: After, command: echo never, when: always}}
"""


def start(tmp_path: Path, trap: str = "", grace: str = "0.5,0.5") -> tuple[subprocess.Popen[str], Path]:
    shared = tmp_path / "shared"
    shared.mkdir()
    project = make_project(tmp_path / "p", STUBBORN.format(trap=trap))
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", "-e", f"SHARED={shared}"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "RUNNER_STOP_GRACE": grace},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = (shared / "pids").read_text().split() if (shared / "pids").exists() else []
        if len(pids) == 4:
            return proc, shared
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("steps did not start")


def alive(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_stops_steps_cleans_up_and_exits_130(tmp_path: Path, sig: signal.Signals) -> None:
    proc, shared = start(tmp_path)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert f"{sig.name}: stopping running steps" in err
    assert "run 1 cancelled" in out
    assert "cancelled" in out.split("job")[-1]  # the summary table shows it
    assert "never" not in out  # nothing runs after an interrupt, not even `when: always`
    for pid in (shared / "pids").read_text().split():
        assert not alive(pid), f"{pid} survived"


def test_steps_that_ignore_int_and_term_are_killed(tmp_path: Path) -> None:
    proc, shared = start(tmp_path, trap="trap '' INT TERM")
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert time.monotonic() - started < 25  # hang guard: nothing but KILL ends these steps
    for pid in (shared / "pids").read_text().split():
        assert not alive(pid)


def test_a_second_interrupt_exits_at_once(tmp_path: Path) -> None:
    # Long graces: a graceful stop of these stubborn steps would take 40 s; the second
    # Ctrl-C must not wait for them.
    proc, shared = start(tmp_path, trap="trap '' INT TERM", grace="20,20")
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert time.monotonic() - started < 25  # a graceful stop would take 40 s
    assert "exiting now" in err
    time.sleep(0.2)
    for pid in (shared / "pids").read_text().split():
        assert not alive(pid)

"""Helpers for the debugging tests: configs on either executor, a tmux terminal, state paths."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEBIAN = "runner-test/debian:bookworm"  # has bash
BUSYBOX = "runner-test/busybox:latest"  # sh only

EXECUTORS = {
    "machine": "    machine: true\n",
    "debian": f"    docker:\n      - image: {DEBIAN}\n",
    "busybox": f"    docker:\n      - image: {BUSYBOX}\n",
}


def config(executor: str, body: str, *, job: str = "build") -> str:
    """A one-job config: ``body`` is the job's keys below the executor, indented 4 spaces."""
    return f"version: 2\njobs:\n  {job}:\n{EXECUTORS[executor]}{body}"


def state_dir() -> Path:
    return Path(os.environ["RUNNER_STATE_DIR"])


def node_dir(run: int, job: str = "build", node: int = 0) -> Path:
    return state_dir() / "runs" / str(run) / "jobs" / job / str(node)


def summary(stdout: str) -> dict[str, Any]:
    """The final ``summary`` object of ``runner run --json``."""
    last = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")][-1]
    assert last["event"] == "summary", last
    return last


class Terminal:
    """A real terminal: a tmux session on a private server, driven with keys."""

    def __init__(self, cwd: Path, argv: Sequence[str], env: dict[str, str]) -> None:
        self.socket = f"runner-test-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        command = (
            f"env {exports} {shlex.join(argv)}; echo RUNNER_EXIT=$?; sleep 60"
        )
        self._tmux("new-session", "-d", "-x", "160", "-y", "60", "-c", str(cwd), command)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        ).stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-J", "-S", "-200")

    def wait_for(self, text: str, timeout: float = 30, after: int = 0) -> str:
        """Wait until ``text`` is on screen (beyond ``after`` occurrences); return the screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if screen.count(text) > after:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; screen:\n{screen}")

    def type(self, line: str) -> None:
        self._tmux("send-keys", "-t", "0", "-l", line)
        self._tmux("send-keys", "-t", "0", "Enter")

    def key(self, name: str) -> None:
        self._tmux("send-keys", "-t", "0", name)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)


def runner_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "runner", *args]

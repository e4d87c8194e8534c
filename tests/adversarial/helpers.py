"""Running runner as a user would, under watch: exit code, output, time, peak memory.

Each adversarial case runs ``python -m runner`` as a real process (the edge users see), with an
optional address-space limit, and samples the process's peak resident memory (``VmHWM``)
while it runs, so a case can assert that runner's memory stayed flat.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

MIB = 1024 * 1024
BUSYBOX_IMAGE = "runner-test/busybox:latest"
DEBIAN_IMAGE = "runner-test/debian:bookworm"
LOCATED = re.compile(r"\.circleci/config\.yml:\d+:\d+: ")


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss: int  # bytes, as sampled

    @property
    def peak_mib(self) -> float:
        return self.peak_rss / MIB


def _limit_memory(limit: int | None) -> Callable[[], None] | None:
    if limit is None:
        return None

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def peak_rss(pid: int) -> int:
    """``VmHWM``: the highest resident set size the process has had so far, in bytes."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def start(
    args: Sequence[str],
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    memory_limit: int | None = None,
    stdout: int | IO[str] = subprocess.PIPE,
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "runner", *args],
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        stdout=stdout,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        preexec_fn=_limit_memory(memory_limit),  # noqa: PLW1509 - only setrlimit, no locks
    )


def watch(proc: subprocess.Popen[str], *, timeout: float = 120) -> Outcome:
    """Wait for ``proc`` while sampling its peak memory; kill it past ``timeout``."""
    begun = time.monotonic()
    peak = 0
    out: list[str] = []
    err: list[str] = []
    readers = [
        threading.Thread(target=lambda s=s, b=b: b.append(s.read()), daemon=True)
        for s, b in ((proc.stdout, out), (proc.stderr, err))
        if s is not None
    ]
    for reader in readers:
        reader.start()
    while proc.poll() is None:
        peak = max(peak, peak_rss(proc.pid))
        if time.monotonic() - begun > timeout:
            proc.kill()
            proc.wait()
            raise AssertionError(f"runner did not finish within {timeout} s")
        time.sleep(0.02)
    seconds = time.monotonic() - begun
    for reader in readers:
        reader.join(10)
    return Outcome(proc.returncode, "".join(out), "".join(err), seconds, peak)


def runner(
    args: Sequence[str],
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    memory_limit: int | None = None,
    timeout: float = 120,
    stdout: int | IO[str] = subprocess.PIPE,
) -> Outcome:
    proc = start(args, cwd, env=env, memory_limit=memory_limit, stdout=stdout)
    return watch(proc, timeout=timeout)


def no_traceback(outcome: Outcome) -> None:
    for stream in (outcome.stderr, outcome.stdout):
        assert "Traceback" not in stream, stream[-3000:]


def state_dir() -> Path:
    """The state directory the autouse fixture of tests/conftest.py gave this test."""
    return Path(os.environ["RUNNER_STATE_DIR"])


def wait_for(predicate: Callable[[], object], *, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.02)


def alive(pid: int) -> bool:
    """Running (a zombie or a missing process is not)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def read_pids(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [int(p) for p in path.read_text().split() if p.strip().isdigit()]


def json_events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def summary(stdout: str) -> dict[str, Any]:
    found = [e for e in json_events(stdout) if e.get("event") == "summary"]
    assert found, stdout[-2000:]
    return found[-1]


def all_files(root: Path) -> Iterator[Path]:
    for folder, _dirs, files in os.walk(root):
        for name in files:
            yield Path(folder) / name


def send(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    proc.send_signal(sig)


class Running:
    """``runner run`` as a process, its output lines collected as they come."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.proc = start(args, cwd, env={"RUNNER_STOP_GRACE": "0.5,0.5", **(env or {})})
        self.lines: list[str] = []
        stream, self.proc.stdout = self.proc.stdout, None
        assert stream is not None
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def wait_for(self, cue: Callable[[], bool], what: str, timeout: float = 60) -> None:
        try:
            wait_for(lambda: cue() or self.proc.poll() is not None, timeout=timeout, what=what)
        except AssertionError as timed_out:
            raise AssertionError(f"{timed_out}; runner printed: {self.lines[-20:]}") from None
        assert self.proc.poll() is None, f"runner ended before {what}: {self.lines[-20:]}"

    def signal(self, sig: signal.Signals) -> float:
        self.proc.send_signal(sig)
        return time.monotonic()

    def finish(self, timeout: float = 60) -> Outcome:
        outcome = watch(self.proc, timeout=timeout)
        self._reader.join(5)
        outcome.stdout = "".join(self.lines)
        return outcome

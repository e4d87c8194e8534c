"""One machine step: a host process group, started in a session of its own.

Its lifecycle (output as it comes, the idle flush, ``no_output_timeout``, the phased stop) is
:class:`runner.executors.process.StepProcess`'s; this module starts the process, signals its
group, and finds what it leaves running (:mod:`runner.executors.host_procs`).
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping

from runner.executors import host_procs
from runner.executors.base import ExecResult
from runner.executors.process import StepProcess


class HostProcess(StepProcess):
    """One step's process tree on this host; the lifecycle is :class:`StepProcess`'s."""

    starts_live = False  # until Popen has made the process group
    _popen: subprocess.Popen[bytes] | None = None
    _exited_at: float | None = None  # when the shell ended while its pipe stayed open
    _leftovers: tuple[str, ...] = ()
    settle = 0.0  # seconds the group may take to end by itself (a pid namespace)

    def launch(self, argv: list[str], env: Mapping[str, str], cwd: str) -> None:
        try:
            self._popen = subprocess.Popen(
                argv,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            self._finish(ExecResult(error=_start_error(exc, argv, cwd)))
            return
        self._begin("step")
        self._went_live()

    def _send(self, sig: signal.Signals) -> None:
        assert self._popen is not None
        host_procs.signal_group(self._popen.pid, sig)

    def _body(self) -> ExecResult:
        popen = self._popen
        assert popen is not None and popen.stdout is not None
        pipe = _Pipe(popen.stdout.fileno())
        try:
            self._pump(pipe, self._given_up)
        finally:
            pipe.close()
            popen.stdout.close()
        popen.wait()
        if self._exited_at is None:
            self._leftovers += tuple(self._sweep())
        code = popen.returncode
        sig = -code if code < 0 else None
        return self._ended(None if sig else code, sig, leftovers=self._leftovers)

    def _given_up(self, now: float) -> bool:
        """Whether to stop waiting for the end of the output: the shell has ended, yet
        something still holds its pipe (the step's leftovers, stopped here)."""
        assert self._popen is not None
        if self._exited_at is None and self._popen.poll() is not None:
            self._exited_at = now
            self._leftovers += tuple(self._sweep())
            self._exited_at = time.monotonic()
        elif self._exited_at is not None and now - self._exited_at > self.kill.terminate_grace + 1:
            return True  # an escaped writer we could not find: stop waiting for EOF
        return False

    def _sweep(self) -> list[str]:
        assert self._popen is not None
        found: list[str] = []
        if not host_procs.settle_group(self._popen.pid, self.settle):
            found.append(f"process group {self._popen.pid}")
            host_procs.stop_group(self._popen.pid, grace=self.kill.terminate_grace)
        found += host_procs.sweep_orphans(self.request.tag, grace=self.kill.terminate_grace)
        return found


class _Pipe:
    """The read end of a step's stdout and stderr, waited on with a timeout."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._selector = selectors.DefaultSelector()
        self._selector.register(fd, selectors.EVENT_READ)

    def read(self, timeout: float) -> bytes | None:
        if not self._selector.select(timeout):
            return b""
        return os.read(self._fd, 65536) or None

    def close(self) -> None:
        self._selector.close()


def _start_error(exc: OSError, argv: list[str], cwd: str) -> str:
    if not os.path.isdir(cwd):
        return f"working directory {cwd} does not exist"
    return f"cannot start {argv[0]}: {exc.strerror or exc}"

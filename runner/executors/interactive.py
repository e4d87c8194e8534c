"""Interactive programs attached to runner's own terminal: the debugging shell (issue 7).

On a terminal the program becomes the terminal's foreground process group, as a job-control
shell would make it: Ctrl-C, Ctrl-Z and Ctrl-\\ then reach the program (and the jobs it starts),
never runner. When stdin is not a terminal the program simply inherits runner's stdin, stdout and
stderr and reads its commands from stdin, so it can be scripted and tested.

A terminal hosts one such program at a time: a lock serialises them (two failing nodes queue
their shells), and :func:`attached` tells runner's signal handler that a Ctrl-C it sees belongs
to the shell, not to the run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence

from runner.errors import EnvironmentFailure

_terminal = threading.Lock()
_attached = threading.Event()
_ended_at = -1e9  # when the last attached program ended (monotonic)
# A signal may be delivered to any thread; Python runs the handler in the main thread only when
# that thread next wakes, which for the engine's scheduling loop is up to 0.5 s later. A Ctrl-C
# that reached the shell just before it ended must still count as the shell's.
SIGNAL_LATENCY = 1.0

# Variables the docker CLI itself reads: passed to the exec as NAME=VALUE on its command line,
# never by name through the CLI's own environment, where they would change the CLI (its config
# directory, its engine, its proxy). Every other value travels by name, so no secret of the job
# appears in the host's process list.
_CLI_OWN = frozenset({"HOME", "PATH", "TMPDIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"})
_CLI_OWN_PREFIXES = ("DOCKER_", "XDG_")


def attached() -> bool:
    """Whether an interactive program owns runner's terminal (or did a moment ago)."""
    return _attached.is_set() or time.monotonic() - _ended_at < SIGNAL_LATENCY


def holding_terminal() -> bool:
    """Whether an interactive program owns the terminal right now: reporters hold their output
    (runner.cli.hold) until it ends."""
    return _attached.is_set()


def stdin_is_tty() -> bool:
    try:
        return os.isatty(0)
    except OSError:
        return False


def run_attached(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: str | None, stdin_is_tty: bool
) -> int:
    """Run ``argv`` on runner's stdin/stdout/stderr and return its exit status (128+N when a
    signal N ended it). One at a time per process."""
    with _terminal:
        _attached.set()
        try:
            if stdin_is_tty and _controlling_terminal():
                return _in_foreground(argv, env, cwd)
            done = subprocess.run(list(argv), env=dict(env), cwd=cwd, check=False)
            return _status(done.returncode)
        except OSError as exc:
            raise EnvironmentFailure(f"cannot start {argv[0]}: {exc.strerror or exc}") from None
        finally:
            global _ended_at  # noqa: PLW0603 - process-wide, like the terminal it describes
            _ended_at = time.monotonic()
            _attached.clear()


def _controlling_terminal() -> bool:
    """Whether stdin is this process's controlling terminal (a tty of another session, or
    none, cannot be handed to a child)."""
    try:
        os.tcgetpgrp(0)
    except OSError:
        return False
    return True


def _status(code: int) -> int:
    return 128 - code if code < 0 else code


def _in_foreground(argv: Sequence[str], env: Mapping[str, str], cwd: str | None) -> int:
    # Taking the terminal back from a background group raises SIGTTOU unless the calling
    # thread blocks it; blocking it in this thread is enough (and signal.signal() is main-only).
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU, signal.SIGTTIN})
    previous = os.tcgetpgrp(0)
    try:
        child = subprocess.Popen(list(argv), env=dict(env), cwd=cwd, process_group=0)
        with contextlib.suppress(OSError):
            os.tcsetpgrp(0, child.pid)
        return _wait_foreground(child)
    finally:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(0, previous)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _wait_foreground(child: subprocess.Popen[bytes]) -> int:
    """Wait for the child, continuing it when it stops: an interactive shell that started
    before it was handed the terminal stops itself with SIGTTIN until it is the foreground."""
    while True:
        try:
            _, status = os.waitpid(child.pid, os.WUNTRACED)
        except ChildProcessError:  # reaped elsewhere (a subreaper sweep): nothing to report
            child.returncode = 0
            return 0
        if os.WIFSTOPPED(status):
            with contextlib.suppress(OSError):
                os.tcsetpgrp(0, child.pid)
                os.killpg(child.pid, signal.SIGCONT)
            continue
        code = os.waitstatus_to_exitcode(status)
        child.returncode = code  # so Popen never waits for it again
        return _status(code)


def docker_exec(
    container: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str,
    user: str,
    stdin_is_tty: bool,
    environ: Mapping[str, str] | None = None,
) -> int:
    """An interactive ``docker exec -i [-t]`` in ``container``, attached to runner's terminal.

    The docker CLI does what an interactive exec needs (raw mode, window size, detach keys);
    the SDK's attach socket would mean re-implementing all of it."""
    host = dict(os.environ if environ is None else environ)
    cli = shutil.which("docker", path=host.get("PATH"))
    if cli is None:
        raise EnvironmentFailure(
            "an interactive shell in a container needs the docker CLI, and `docker` is not on "
            "the PATH",
            hint="install the docker CLI (Debian: apt install docker.io, or docker-ce-cli)",
        )
    words = [cli, "exec", "-i"] + (["-t"] if stdin_is_tty else [])
    if user:
        words += ["-u", user]
    if cwd:
        words += ["-w", cwd]
    for name, value in env.items():
        if name.upper() in _CLI_OWN or name.startswith(_CLI_OWN_PREFIXES):
            words += ["-e", f"{name}={value}"]
        else:
            words += ["-e", name]
            host[name] = value
    return run_attached([*words, container, *argv], env=host, cwd=None, stdin_is_tty=stdin_is_tty)

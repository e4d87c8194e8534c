"""Process trees on the host: start a step in its own session, stop it in phases, sweep leftovers.

A step runs in a new session (``start_new_session``), so its process group can be signalled as a
whole. Children that escape the group (``setsid``, double-fork daemons) are found because runner
makes itself a child subreaper (Linux ``PR_SET_CHILD_SUBREAPER``): orphans are re-parented to
runner, and the tag in their environment says which step started them. Killing is two-phase,
as the reliability notes require: a signal, a grace period, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable

TAG_VARIABLE = "RUNNER_STEP_ID"
_subreaper_on = False


def become_subreaper() -> bool:
    """Ask Linux to re-parent orphaned descendants to this process (once per process)."""
    global _subreaper_on  # noqa: PLW0603 - a process-wide fact, set once
    if _subreaper_on or not sys.platform.startswith("linux"):
        return _subreaper_on
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_child_subreaper = 36
        _subreaper_on = libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        _subreaper_on = False
    return _subreaper_on


def group_alive(pgid: int) -> bool:
    return _answers(os.killpg, pgid)


def process_alive(pid: int) -> bool:
    return _answers(os.kill, pid)


def _answers(send: Callable[[int, int], None], ident: int) -> bool:
    """Whether signal 0 finds the process (group); one that is someone else's is alive."""
    try:
        send(ident, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def reap_group(pgid: int) -> None:
    """Reap exited members of a group that are our children (re-parented orphans included):
    a zombie still counts as a group member for ``killpg``."""
    while True:
        try:
            pid, _ = os.waitpid(-pgid, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def settle_group(pgid: int, within: float) -> bool:
    """Reap the group's members as they exit, for up to ``within`` seconds; True when none is
    left. For steps in a pid namespace (machine.namespace): the kernel ends what they leave, but
    bubblewrap's own helper may exit a moment after the step's shell."""
    end = time.monotonic() + within
    while True:
        reap_group(pgid)
        if not group_alive(pgid):
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.005)


def stop_group(pgid: int, *, first: int = signal.SIGTERM, grace: float = 5.0) -> bool:
    """Signal a process group, wait up to ``grace`` for it to go, then SIGKILL. True if any ran.

    Only for groups whose leader was already waited for: members are reaped here."""
    reap_group(pgid)
    if not group_alive(pgid):
        return False
    signal_group(pgid, first)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        reap_group(pgid)
        if not group_alive(pgid):
            return True
        time.sleep(0.02)
    signal_group(pgid, signal.SIGKILL)
    time.sleep(0.02)
    reap_group(pgid)
    return True


def _our_children() -> list[int]:
    """Direct children of this process (orphans land here when we are a subreaper)."""
    out: list[int] = []
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/children") as handle:
                out.extend(int(p) for p in handle.read().split())
        except (OSError, ValueError):
            continue
    return out


def _tagged(pid: int, tag: str) -> bool:
    needle = f"{TAG_VARIABLE}={tag}".encode()
    for _ in range(3):
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                data = handle.read()
        except OSError:
            return False
        if data:
            items = data.split(b"\0")
            return any(item == needle or item.startswith(needle + b"-") for item in items)
        # An environment reads empty while its process is inside execve (a daemon that has
        # just called setsid): look again before deciding it is not the step's.
        if not os.path.exists(f"/proc/{pid}"):
            return False
        time.sleep(0.05)
    return False


def _command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            parts = handle.read().split(b"\0")
    except OSError:
        return "?"
    return " ".join(p.decode(errors="replace") for p in parts if p)[:80] or "?"


def sweep_orphans(tag: str, exclude: Iterable[int] = (), *, grace: float = 2.0) -> list[str]:
    """Stop re-parented processes started under ``tag``; return a description of each.

    Processes change while they are stopped (a fork caught before its ``setsid`` and ``exec``
    is a daemon a moment later), so it looks again after each round until one finds nothing."""
    if not _subreaper_on:
        return []
    skip = set(exclude)
    described: list[str] = []
    for _ in range(4):
        found = [p for p in _our_children() if p not in skip and _tagged(p, tag)]
        if not found:
            break
        described += [f"pid {p}: {_command_line(p)}" for p in found]
        _stop_orphans(found, grace)
        skip.update(found)
    return described


def _stop_orphans(found: list[int], grace: float) -> None:
    for pid in found:
        # A daemon leads its own group: stop the group it leads, and the process itself.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
        signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    alive = list(found)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if not _reap(p)]
        if alive:
            time.sleep(0.02)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        signal_group(pid, signal.SIGKILL)
        _reap(pid, block=True)


def _reap(pid: int, *, block: bool = False) -> bool:
    """True once ``pid`` is gone (reaped here, or not our child)."""
    try:
        done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid

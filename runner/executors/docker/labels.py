"""Labels and names of what runner creates in the engine, and who is still alive to own it.

Every container carries the run's label (``com.runner.run``), its state directory's name
(``com.runner.state``, what ``runner clean`` selects by), the job and node, and the identity of
the runner process that made it: host name, boot id, PID and the PID's start time. A later run
on the same host removes containers whose runner is gone (the reliability notes: reap orphans
of dead runs on the next start); the start time guards against a reused PID. Nothing without
these labels is ever touched.

Names include a random token per executor as well as run, job and node: two runs whose state
directories share a name (and so a run number) still never collide (act derives names from
workflow and job only, and two runs clash).
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import socket
from collections.abc import Mapping

from runner.executors.base import NodeSpec
from runner.names import name_form

RUN = "com.runner.run"
STATE = "com.runner.state"
PROJECT = "com.runner.project"
JOB = "com.runner.job"
NODE = "com.runner.node"
ROLE = "com.runner.role"
PID = "com.runner.pid"
PID_START = "com.runner.pid-start"
HOST = "com.runner.host"
BOOT = "com.runner.boot"
KEEP = "com.runner.keep"

def run_label(spec: NodeSpec) -> str:
    """The run's label value: the engine's name for the run (its state directory's label and
    run number), unless the spec's own labels set it."""
    return spec.labels.get(RUN) or spec.run_label or spec.run_id


_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]+")


def new_token() -> str:
    return secrets.token_hex(3)


def state_of(run_label: str) -> str:
    """``<state dir name>.<run number>`` -> the state dir name."""
    return run_label.rpartition(".")[0] or run_label


def container_name(run_label: str, job_id: str, node: int, token: str, role: str = "") -> str:
    # name_form: ``a/b`` and ``a__b`` of one run get different containers (issue 14)
    parts = [run_label, name_form(job_id), str(node), token] + ([role[:30]] if role else [])
    name = "runner-" + "-".join(_UNSAFE.sub("_", p) for p in parts)
    return name[:200]


def _start_time(pid: int) -> str:
    """Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


@functools.cache
def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def owner_labels() -> dict[str, str]:
    pid = os.getpid()
    return {
        PID: str(pid),
        PID_START: _start_time(pid),
        HOST: socket.gethostname(),
        BOOT: _boot_id(),
    }


def owner_alive(labels: Mapping[str, str]) -> bool | None:
    """Whether the runner that created a container still runs; None when it ran elsewhere."""
    if labels.get(HOST) != socket.gethostname():
        return None
    if labels.get(BOOT) != _boot_id():
        return False  # the machine restarted since
    try:
        pid = int(labels.get(PID, ""))
    except ValueError:
        return None
    started = _start_time(pid)
    return bool(started) and started == labels.get(PID_START)

"""host_procs' liveness checks: signal 0 to a process or a process group."""

from __future__ import annotations

import os
import subprocess
import sys

from runner.executors.host_procs import group_alive, process_alive


def test_a_running_process_and_group_are_alive_and_a_reaped_one_is_not() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE, start_new_session=True,
    )
    assert (process_alive(child.pid), group_alive(child.pid)) == (True, True)
    assert child.stdin is not None
    child.stdin.close()
    assert child.wait(timeout=30) == 0
    assert (process_alive(child.pid), group_alive(child.pid)) == (False, False)


def test_our_own_process_is_alive() -> None:
    assert process_alive(os.getpid())

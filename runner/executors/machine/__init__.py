"""The machine executor (see :mod:`runner.executors.machine.executor`): its session is in
:mod:`~runner.executors.machine.session`, one step's process in
:mod:`~runner.executors.machine.process`."""

from __future__ import annotations

from runner.executors.base import KillPolicy
from runner.executors.machine.executor import PASSED_BY_DEFAULT, MachineExecutor
from runner.executors.machine.process import HostProcess
from runner.executors.machine.session import MachineSession

__all__ = ["PASSED_BY_DEFAULT", "HostProcess", "KillPolicy", "MachineExecutor", "MachineSession"]

"""What a node calls at the four moments debugging cares about (issue 7).

The protocol belongs to the core (:mod:`runner.node` calls it, :class:`runner.run_types.RunOptions`
carries a factory of it); :mod:`runner.debug` implements it. Keeping it here lets the core be
imported without the debugging package (issue 19: one way down).

The four moments: after the session opened (restore a kept environment for ``--from-step``),
before each step (skip it?), after a step failed (``--shell-on-failure``), and after the last
step, before cleanup (``--shell``, the ``--keep`` record).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol

from runner.config.model import Step
from runner.events import Status, StepOutcome
from runner.executors.base import NodeSpec, Session
from runner.graph import PlannedJob

if TYPE_CHECKING:
    from runner.steps.context import StepContext

Notice = Callable[[str, str], None]  # text, level


class NodeHooks(Protocol):
    def opened(
        self, session: Session, env: Mapping[str, str], workdir: str, notice: Notice
    ) -> None: ...

    def skip(self, index: int) -> tuple[Status, str] | None: ...

    def step_failed(
        self, step: Step, ctx: StepContext, outcome: StepOutcome, tail: tuple[str, ...]
    ) -> None: ...

    def finished(self, status: Status) -> None: ...


# the hooks of one node of a run, or None when that node is not debugged
HooksFactory = Callable[[NodeSpec, PlannedJob], NodeHooks | None]

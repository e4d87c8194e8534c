"""The deploy barrier of a parallel job.

"In a job with parallelism, the deploy step will only be executed by node #0 and only if all
nodes succeed. Nodes other than #0 will skip this step." [CR-2019] So node 0 waits at its first
deploy step until every other node has finished all of its steps, then deploys only if every
one of them succeeded.
"""

from __future__ import annotations

import threading

from msgspec import Struct


class BarrierResult(Struct, frozen=True):
    ok: bool
    failed_nodes: tuple[int, ...]
    cancelled: bool = False


class DeployBarrier:
    def __init__(self, nodes: tuple[int, ...]) -> None:
        self._others = {n for n in nodes if n != 0}
        self._finished: dict[int, bool] = {}
        self._cancelled = False
        self._cond = threading.Condition()

    @property
    def waits_for(self) -> int:
        return len(self._others)

    def node_finished(self, node: int, ok: bool) -> None:
        with self._cond:
            self._finished[node] = ok
            self._cond.notify_all()

    def cancel(self) -> None:
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    def wait_for_others(self) -> BarrierResult:
        with self._cond:
            self._cond.wait_for(lambda: self._cancelled or self._others <= self._finished.keys())
            failed = tuple(sorted(n for n in self._others if not self._finished.get(n, False)))
            return BarrierResult(not failed and not self._cancelled, failed, self._cancelled)

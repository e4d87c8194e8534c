"""Removal order, without an engine: services before the primary they depend on (podman
refuses a primary whose services share its network namespace; issue 18)."""

from __future__ import annotations

import threading
from typing import Any, cast

from runner.executors.docker.connection import Api, EngineError
from runner.executors.docker.containers import Started, remove_all


class PodmanLike:
    """Refuses to remove a primary while a container that joined its namespace exists."""

    def __init__(self, boxes: list[Started]) -> None:
        self.alive = {box.cid for box in boxes}
        self.primaries = {box.cid for box in boxes if box.role == "primary"}
        self.order: list[str] = []
        self.lock = threading.Lock()

    def remove(self, cid: str) -> None:
        with self.lock:
            if cid in self.primaries and self.alive - self.primaries:
                raise EngineError(f"container {cid} has dependent containers")
            self.alive.discard(cid)
            self.order.append(cid)


def test_services_are_removed_before_their_primaries() -> None:
    boxes = [
        Started("p1", "n-primary", "primary"),
        Started("s1", "n-db", "db"),
        Started("s2", "n-cache", "service:cache"),  # as runner clean reads the role label
        Started("p2", "m-primary", "primary"),
    ]
    engine = PodmanLike(boxes)
    remove_all(cast(Api, cast(Any, engine)), boxes, deadline=10)
    assert engine.alive == set()
    assert set(engine.order[:2]) == {"s1", "s2"} and set(engine.order[2:]) == {"p1", "p2"}

"""`runner run`'s own lines beside the reporters': a reporter the event bus turned off is said
on stderr by the CLI, which owns the terminal (issue 19: the bus itself prints nothing)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import pytest

from runner.cli.run_cmd import _SignalGuard
from runner.events import Event, EventBus, Notice

if TYPE_CHECKING:
    from runner.engine import Engine


class _Engine:
    def __init__(self) -> None:
        self.bus = EventBus()


def _broken(_event: Event) -> None:
    raise RuntimeError("boom")


def test_a_failed_reporter_is_said_on_stderr_once(capsys: pytest.CaptureFixture[str]) -> None:
    engine = _Engine()
    _SignalGuard().attach(cast("Engine", engine))
    seen: list[Event] = []
    engine.bus.subscribe(_broken)
    engine.bus.subscribe(seen.append)
    engine.bus.emit(Notice(text="one"))
    engine.bus.emit(Notice(text="two"))
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "runner: a reporter failed and was turned off: RuntimeError('boom')\n"
    assert len(seen) == 2

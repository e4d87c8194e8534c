"""The event bus: delivery, and what it does when a reporter breaks (issue 19: the bus itself
prints nothing and leaves the process's streams alone; the CLI says it and silences stdout)."""

from __future__ import annotations

import os

import pytest

from runner.events import Event, EventBus, Notice


def _broken(_event: Event) -> None:
    raise RuntimeError("bug in a reporter")


def _pipe_gone(_event: Event) -> None:
    raise BrokenPipeError(32, "the reader went away")


def test_a_failing_reporter_is_turned_off_and_told_to_the_listener_not_to_stderr(
    capfd: pytest.CaptureFixture[str],
) -> None:
    bus = EventBus()
    seen: list[Event] = []
    told: list[str] = []
    bus.subscribe(_broken)
    bus.subscribe(seen.append)
    bus.on_reporter_failed(told.append)
    bus.emit(Notice(text="one"))
    bus.emit(Notice(text="two"))
    assert [e.text for e in seen if isinstance(e, Notice)] == ["one", "two"]  # the run goes on
    assert told == ["a reporter failed and was turned off: RuntimeError('bug in a reporter')"]
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_a_closed_pipe_stops_that_reporter_tells_the_listeners_and_leaves_stdout_alone(
    capfd: pytest.CaptureFixture[str],
) -> None:
    bus = EventBus()
    seen: list[Event] = []
    closed: list[str] = []
    bus.subscribe(_pipe_gone)
    bus.subscribe(seen.append)
    bus.on_output_closed(lambda: closed.append("closed"))
    bus.emit(Notice(text="one"))
    bus.emit(Notice(text="two"))
    assert closed == ["closed"]  # once: the reporter was turned off after the first
    assert len(seen) == 2
    # stdout (fd 1) is the CLI's to silence, not the bus's: it still reaches its reader
    os.write(1, b"still here\n")
    out, err = capfd.readouterr()
    assert (out, err) == ("still here\n", "")

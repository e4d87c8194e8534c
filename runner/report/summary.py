"""The end-of-run account: a table of every step, then what failed and why.

Built from events only, so the console and the JSON form tell the same story.
"""

from __future__ import annotations

from typing import Any

from msgspec import Struct, field
from rich.console import Console
from rich.table import Table
from rich.text import Text

from runner.events import (
    Event,
    JobFinished,
    JobStarted,
    RunFinished,
    RunStarted,
    Status,
    StepFinished,
    StepStarted,
    TestResultsStored,
    TestsReportedTwice,
)
from runner.report import failure
from runner.report.duration import fmt_duration
from runner.report.tests import render_test_results, test_results_dict
from runner.sanitize import strip_sgr, visible

_STYLE = {
    Status.PASSED: "green",
    Status.FAILED: "red",
    Status.TIMED_OUT: "red",
    Status.CANCELLED: "yellow",
    Status.BLOCKED: "yellow",
    Status.WAITING: "yellow",
    Status.NOT_SUPPORTED: "yellow",
    Status.SKIPPED: "dim",
}
TAIL_SHOWN = 10
# jobs that end without steps get a row of their own in the table
_JOB_ROWS = (Status.BLOCKED, Status.WAITING, Status.CANCELLED, Status.SKIPPED)


class StepRecord(Struct):
    job: str
    node: int
    index: int
    name: str
    kind: str
    command: str | None = None
    finished: StepFinished | None = None


class RunSummary(Struct):
    steps: dict[tuple[str, int, int], StepRecord] = field(default_factory=dict)
    jobs: dict[str, JobFinished] = field(default_factory=dict)
    parallel: dict[str, int] = field(default_factory=dict)
    tests: list[TestResultsStored] = field(default_factory=list)
    twice: list[TestsReportedTwice] = field(default_factory=list)  # split gone wrong
    run_id: str | None = None  # for the `runner logs` command a failure report names
    order: dict[str, int] = field(default_factory=dict)  # the planned (workflow) order

    def add(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.run_id = event.run_id
            self.order = {job: i for i, job in enumerate(event.jobs)}
        if isinstance(event, TestResultsStored):
            self.tests.append(event)
        if isinstance(event, TestsReportedTwice):
            self.twice.append(event)
        if isinstance(event, StepStarted):
            self.steps[(event.job, event.node, event.index)] = StepRecord(
                event.job, event.node, event.index, event.name, event.kind, event.command
            )
        elif isinstance(event, StepFinished):
            key = (event.job, event.node, event.index)
            record = self.steps.setdefault(
                key, StepRecord(event.job, event.node, event.index, event.name, event.kind)
            )
            record.finished = event
        elif isinstance(event, JobFinished):
            self.jobs[event.job] = event
        elif isinstance(event, JobStarted):
            self.parallel[event.job] = event.parallelism

    def failures(self) -> list[StepRecord]:
        return [
            r
            for r in self.ordered()
            if r.finished is not None
            and r.finished.outcome.status.failed
            and r.finished.outcome.status is not Status.CANCELLED
        ]

    def ordered(self) -> list[StepRecord]:
        """In the order the jobs were planned (workflow order), then node and step."""
        last = len(self.order)
        return sorted(
            self.steps.values(),
            key=lambda r: (self.order.get(r.job, last), r.job, r.node, r.index),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "jobs": {
                k: {"status": v.status.value, "duration": v.duration, "message": v.message}
                for k, v in self.jobs.items()
            },
            "failures": [{**_failure_dict(r), **self._failure_extras(r)} for r in self.failures()],
            "tests": test_results_dict(self.tests, self.twice),
            "not_here": [k for k, v in self.jobs.items() if v.not_here],
        }

    def not_here_line(self) -> str | None:
        """One line counting the jobs that could not run on this machine (issue 13)."""
        skipped = [j for j in self.jobs.values() if j.not_here and j.status is Status.SKIPPED]
        blocked = [j for j in self.jobs.values() if j.not_here and j.status is Status.BLOCKED]
        if not skipped and not blocked:
            return None
        line = f"{len(skipped)} job(s) could not run here: " + ", ".join(j.job for j in skipped)
        return line + (f"; {len(blocked)} blocked by them" if blocked else "")

    def render(self, console: Console, end: RunFinished) -> None:
        table = Table(title=None, show_edge=False, pad_edge=False, box=None, header_style="bold")
        for column in ("job", "node", "step", "status", "duration"):
            table.add_column(
                column, justify="right" if column == "duration" else "left", no_wrap=True
            )
        last = len(self.order)
        stepless = [
            (job_id, finished) for job_id, finished in self.jobs.items()
            if finished.status in _JOB_ROWS
            and not any(r.job == job_id for r in self.steps.values())
        ]
        rows = [(self.order.get(r.job, last), r.job, 0, self._step_row(r)) for r in self.ordered()]
        rows += [
            (self.order.get(job_id, last), job_id, 1, (
                Text(visible(job_id)), "", Text(visible(finished.message or "-"), style="dim"),
                Text(finished.status.value, style=_STYLE[finished.status]), "",
            ))
            for job_id, finished in stepless
        ]
        for *_key, row in sorted(rows, key=lambda r: r[:3]):
            table.add_row(*row)
        console.print()
        if table.row_count:
            console.print(table)
        render_test_results(console, self.tests, self.twice)
        for record in self.failures():
            self._render_failure(console, record)
        if (line := self.not_here_line()) is not None:
            console.print(Text(f"\n{line}", style="yellow"))
        style = _STYLE.get(end.status, "")
        waiting = end.status is Status.WAITING
        state = "on hold, waiting for approval" if waiting else end.status.value
        took = fmt_duration(end.duration)
        console.print(Text(f"\nrun {end.run_id} {state} in {took}", style=f"bold {style}"))

    def _step_row(self, record: StepRecord) -> tuple[Text, str, Text, Text, str]:
        outcome = record.finished.outcome if record.finished else None
        status = outcome.status if outcome else Status.RUNNING
        node = str(record.node) if self.parallel.get(record.job, 1) > 1 else ""
        return (  # names are Text: never read as markup (issue 14)
            Text(visible(record.job)),
            node,
            Text(_short(record.name)),
            Text(status.value, style=_STYLE.get(status, "")),
            fmt_duration(outcome.duration) if outcome else "",
        )

    def _render_failure(self, console: Console, record: StepRecord) -> None:
        finished = record.finished
        assert finished is not None
        outcome = finished.outcome
        node = f" node {record.node}" if self.parallel.get(record.job, 1) > 1 else ""
        title = f"\nFAILED {visible(record.job)}{node}: {_short(record.name)}"
        console.print(Text(title, style="bold red"))
        if record.command is not None:
            for line in record.command.rstrip("\n").splitlines()[:8]:
                console.print(Text(f"  $ {visible(line)}", style="dim"))
        reason = failure.reason(outcome)  # the message, else the exit explained (OOM too)
        console.print(Text(f"  {visible(reason)}", style="red"))
        if finished.tail:  # step output: cleaned already, its colour kept only with ours
            console.print(Text("  last lines:", style="dim"))
            for line in finished.tail[-TAIL_SHOWN:]:
                shown = strip_sgr(line) if console.color_system is None else _reset(line)
                console.print(Text(f"    {shown}"))
        if finished.log_path:
            console.print(Text(f"  full log: {finished.log_path}", style="dim"))
        for line in failure.report_lines(  # `runner logs` and failed tests (issue 7)
            run_id=self.run_id if finished.log_path else None, job=record.job,
            node=self._node_of(record), index=record.index, tests=self.tests,
        ):
            console.print(Text(visible(line), style="dim"))

    def _node_of(self, record: StepRecord) -> int | None:
        return record.node if self.parallel.get(record.job, 1) > 1 else None

    def _failure_extras(self, record: StepRecord) -> dict[str, Any]:
        assert record.finished is not None
        return failure.extras(
            run_id=self.run_id if record.finished.log_path else None, job=record.job,
            node=self._node_of(record), index=record.index, outcome=record.finished.outcome,
            tests=self.tests,
        )


def _reset(line: str) -> str:
    """A line of step output whose colour ends with it."""
    return line + "\x1b[0m" if "\x1b[" in line else line


def _short(name: str, width: int = 48) -> str:
    first = visible(name.strip().splitlines()[0]) if name.strip() else ""
    return first if len(first) <= width else first[: width - 1] + "…"


def _failure_dict(record: StepRecord) -> dict[str, Any]:
    assert record.finished is not None
    o = record.finished.outcome
    return {
        "job": record.job,
        "node": record.node,
        "step": record.index,
        "name": record.name,
        "command": record.command,
        "status": o.status.value,
        "exit_code": o.exit_code,
        "signal": o.signal,
        "message": o.message,
        "tail": list(record.finished.tail),
        "log_path": record.finished.log_path,
    }

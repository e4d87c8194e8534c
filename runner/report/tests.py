"""The test results part of the end-of-run summary: counts per job, then failed tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from msgspec.structs import asdict
from rich.console import Console
from rich.text import Text

from runner.events import TestResultsStored, TestsReportedTwice
from runner.sanitize import visible

SHOWN = 20


def _totals(
    results: Sequence[TestResultsStored], twice: Sequence[TestsReportedTwice] = ()
) -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = {}
    for event in results:
        job = jobs.setdefault(
            event.job,
            {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "duration": 0.0, "failed": [],
             "reported_twice": []},
        )  # fmt: skip
        for key in ("tests", "failures", "errors", "skipped", "duration"):
            job[key] += getattr(event, key)
        job["failed"] += [{"node": event.node, **asdict(test)} for test in event.failed]
    for flagged in twice:
        if flagged.job in jobs:
            jobs[flagged.job]["reported_twice"] += list(flagged.tests)
    return jobs


def test_results_dict(
    results: Sequence[TestResultsStored], twice: Sequence[TestsReportedTwice]
) -> dict[str, Any]:
    return _totals(results, twice)


def render_test_results(
    console: Console,
    results: Sequence[TestResultsStored],
    twice: Sequence[TestsReportedTwice] = (),
) -> None:
    if not results:
        return
    console.print(Text("\ntest results", style="bold"))
    for job, totals in _totals(results, twice).items():
        bad = totals["failures"] + totals["errors"]
        console.print(
            Text(
                f"  {visible(job)}: {totals['tests']} tests, {totals['failures']} failures, "
                f"{totals['errors']} errors, {totals['skipped']} skipped",
                style="red" if bad else "green",
            )
        )
        _render_twice(console, totals["reported_twice"])
        for test in totals["failed"][:SHOWN]:
            where = f" ({test['file']})" if test["file"] else ""
            message = f": {test['message']}" if test["message"] else ""
            line = f"    ✗ {test['classname']}.{test['name']}{where}{message}"
            console.print(Text(visible(line), style="red"))  # the test report is step-written
        if len(totals["failed"]) > SHOWN:
            console.print(Text(f"    ... and {len(totals['failed']) - SHOWN} more", style="dim"))


def _render_twice(console: Console, tests: list[str]) -> None:
    """Nodes of one job should split their tests without overlap; say so when they did not."""
    if not tests:
        return
    console.print(
        Text(f"    ! {len(tests)} test case(s) reported by more than one node:", style="yellow")
    )
    for test in tests[:SHOWN]:
        console.print(Text(f"      {test}", style="yellow"))
    if len(tests) > SHOWN:
        console.print(Text(f"      ... and {len(tests) - SHOWN} more", style="dim"))

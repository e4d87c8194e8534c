"""Timing data as one job run sees it: read once before its first node, written once after.

On CircleCI every node of a job splits its tests with the same timing data, that of earlier
builds ("CircleCI uses timing data from previous test runs" [SPLIT]); a node never sees what a
sibling stored a minute ago. Here nodes of one job may start at different times (``-j`` smaller
than ``parallelism``), so reading ``timings/<job>.json`` at each node's start let later nodes
split another way than earlier ones: some tests ran twice and others never (issue 13). So the
engine takes one snapshot per job run when the job starts, every node gets that snapshot, and
the cases each node stored are held here until the job ends, then merged into the store.

A test case that nodes of one job both reported is the sign of a split that went wrong: the
job's end names such cases, and the run summary flags them.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import TYPE_CHECKING

from msgspec import Struct, field

from runner.events import Event, Notice, TestsReportedTwice
from runner.store.timings import TimingStore

if TYPE_CHECKING:  # the JUnit parser (and its XML library) is only needed once tests are stored
    from runner.store.test_results import TestCase


class Reported(Struct, frozen=True):
    """A test case reported by more than one node of a job."""

    name: str  # classname.name (file)
    nodes: tuple[int, ...]


class _JobRun(Struct):
    job_name: str
    snapshot: bytes | None
    cases: dict[int, list[TestCase]] = field(default_factory=lambda: defaultdict(list))
    timed: list[TestCase] = field(default_factory=list)  # from nodes with no failure so far


class RunTimings(Struct):
    """The timing data of every job of one run (thread-safe: nodes run on threads)."""

    store: TimingStore
    _jobs: dict[str, _JobRun] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, job_id: str, job_name: str) -> None:
        """Take the job's snapshot: what all its nodes will split by."""
        snapshot = self.store.results_json(job_name)
        with self._lock:
            self._jobs[job_id] = _JobRun(job_name, snapshot)

    def snapshot(self, job_id: str) -> bytes | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job.snapshot if job is not None else None

    def record(self, job_id: str, node: int, cases: list[TestCase], *, timed: bool) -> None:
        """A node's stored test results; ``timed``: they may become timing data [SPLIT]."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return
            job.cases[node].extend(cases)
            if timed:
                job.timed.extend(cases)

    def finish(self, job_id: str) -> list[Event]:
        """The job ended: write its new timings. Returns what to report: the cases several
        nodes reported, and a timing file that could not be written (never an exception: the
        engine calls this while it settles the job)."""
        with self._lock:
            job = self._jobs.pop(job_id, None)
        if job is None:
            return []
        events: list[Event] = []
        twice = _reported_twice(job.cases)
        if twice:
            tests = tuple(f"{r.name} on nodes {', '.join(map(str, r.nodes))}" for r in twice)
            events.append(TestsReportedTwice(job=job_id, tests=tests))
        try:
            self.store.update(job.job_name, job.timed)
        except OSError as exc:
            text = f"the timing data of {job.job_name} was not saved: {exc.strerror or exc}"
            events.append(Notice(text=text, level="warning", job=job_id))
        return events


def _reported_twice(by_node: dict[int, list[TestCase]]) -> tuple[Reported, ...]:
    nodes_of: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    for node, cases in by_node.items():
        for case in cases:
            nodes_of[(case.file, case.classname, case.name)].add(node)
    out = []
    for (file, classname, name), nodes in sorted(nodes_of.items()):
        if len(nodes) > 1:
            where = f" ({file})" if file else ""
            out.append(Reported(f"{classname}.{name}{where}", tuple(sorted(nodes))))
    return tuple(out)

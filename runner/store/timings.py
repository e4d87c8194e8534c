"""Timing data of earlier runs, per job: what ``circleci tests split --split-by=timings`` reads.

"On each successful run of a test suite, CircleCI saves timing data" [SPLIT]; runner keeps it
under ``<state>/timings/<job>.json`` and hands it to each node as CircleCI's ``results.json``.
Kept apart from the JUnit parser so starting a node does not import an XML library.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from runner.names import name_form
from runner.store.atomic import locked, write_json

if TYPE_CHECKING:
    from runner.store.test_results import TestCase


class TimingStore(Struct, frozen=True):
    root: Path  # <state>/timings

    def _path(self, job_name: str) -> Path:
        return self.root / f"{name_form(job_name)}.json"

    def load(self, job_name: str) -> list[dict[str, Any]]:
        try:
            data = json.loads(self._path(job_name).read_text())
            tests = data["tests"]
        except (OSError, ValueError, KeyError, TypeError):
            return []
        return [t for t in tests if isinstance(t, dict)]

    def update(self, job_name: str, cases: list[TestCase]) -> None:
        """Merge the times of one node's successful run into the job's timing data."""
        if not cases:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with locked(self.root / ".lock"):
            merged = {_identity(t): t for t in self.load(job_name)}
            for case in cases:
                merged[_identity(case.timing())] = case.timing()
            write_json(self._path(job_name), {"tests": list(merged.values())})

    def results_json(self, job_name: str) -> bytes | None:
        """The job's timing data as CircleCI's results.json, one test per line."""
        tests = self.load(job_name)
        if not tests:
            return None
        lines = ",\n".join(json.dumps(t, sort_keys=True) for t in tests)
        return ('{"tests": [\n' + lines + "\n]}\n").encode()


def _identity(test: dict[str, Any]) -> str:
    return "\0".join(str(test.get(key, "")) for key in ("file", "classname", "name"))

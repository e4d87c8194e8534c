"""JUnit XML test results: parsing, a summary for the run, and timing data for later runs.

"On each successful run of a test suite, CircleCI saves timing data from the directory
specified by the path in the store_test_results step" [SPLIT]. runner keeps it per project and
job name in ``<state>/timings/<job>.json`` (the newest time of each test wins), and writes it
into every node of that job before it starts, as CircleCI's ``results.json`` (``{"tests":
[{"file", "classname", "name", "run_time", "result"}]}``, [PAR]) under
``$CIRCLE_INTERNAL_TASK_DATA/circle-test-results/``, where ``circleci tests split`` looks.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from runner.events import FailedTest

MAX_XML = 64 * 1024 * 1024  # bytes per file: bigger ones are not parsed
_RESULTS = ("failure", "error", "skipped")


class TestCase(Struct, frozen=True):
    name: str
    classname: str
    file: str
    time: float
    result: str  # success | failure | error | skipped
    message: str = ""

    def timing(self) -> dict[str, Any]:
        return {"file": self.file, "classname": self.classname, "name": self.name,
                "run_time": self.time, "result": self.result}  # fmt: skip


class TestSummary(Struct):
    files: int = 0
    cases: list[TestCase] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for case in self.cases if case.result == result)

    @property
    def failed(self) -> list[FailedTest]:
        return [
            FailedTest(
                name=c.name, classname=c.classname, file=c.file, result=c.result, message=c.message
            )
            for c in self.cases
            if c.result in ("failure", "error")
        ]

    def lines(self) -> Iterator[str]:
        seconds = sum(case.time for case in self.cases)
        yield (
            f"{len(self.cases)} tests, {self.count('failure')} failures, "
            f"{self.count('error')} errors, {self.count('skipped')} skipped ({seconds:.2f}s)"
        )
        failed = self.failed
        if failed:
            yield "Failed tests:"
        for test in failed[:20]:
            where = f" ({test.file})" if test.file else ""
            message = f": {test.message}" if test.message else ""
            yield f"  - {test.classname}.{test.name}{where}{message}"
        if len(failed) > 20:
            yield f"  ... and {len(failed) - 20} more"
        for problem in self.problems:
            yield f"Warning: {problem}"


def parse_results(root: Path) -> TestSummary:
    """Every ``*.xml`` file under ``root`` (or ``root`` itself, a file)."""
    summary = TestSummary()
    paths = [root] if root.is_file() else sorted(root.rglob("*.xml"))
    for path in paths:
        if path.is_symlink() or not path.is_file():
            continue
        if path.stat().st_size > MAX_XML:
            summary.problems.append(f"{path.name}: larger than {MAX_XML // 2**20} MiB, not read")
            continue
        try:
            tree = ET.parse(path)
        except (ET.ParseError, OSError) as exc:
            summary.problems.append(f"{path.name}: not JUnit XML ({exc})")
            continue
        summary.files += 1
        root_element = tree.getroot()
        summary.cases += _cases(root_element, root_element.get("file") or "")
    return summary


def _cases(element: ET.Element, suite_file: str) -> list[TestCase]:
    out: list[TestCase] = []
    if element.tag == "testcase":
        return [_case(element, suite_file)]
    for child in element:
        if child.tag in ("testsuite", "testsuites"):
            out += _cases(child, child.get("file") or suite_file)
        elif child.tag == "testcase":
            out.append(_case(child, suite_file))
    return out


def _case(element: ET.Element, suite_file: str) -> TestCase:
    result, message = "success", ""
    for kind in _RESULTS:
        found = element.find(kind)
        if found is not None:
            result = kind
            text = (found.text or "").strip().splitlines()
            message = found.get("message") or (text[0] if text else "")
            break
    try:
        seconds = max(float(element.get("time") or 0), 0.0)
    except ValueError:
        seconds = 0.0
    return TestCase(
        name=element.get("name", ""),
        classname=element.get("classname", ""),
        file=element.get("file") or suite_file,
        time=seconds,
        result=result,
        message=message[:500],
    )

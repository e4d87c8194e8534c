"""store_artifacts and store_test_results [CR] on every executor: copied out after a failed
step too, a test summary in the output, the events and the JSON summary."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from msgspec.structs import replace
from rich.console import Console

from runner import events
from runner.events import RunFinished, Status
from runner.report.summary import RunSummary
from runner.store.test_results import parse_results
from runner.store.timings import TimingStore
from tests.targets import Target

JUNIT = """<?xml version="1.0"?>
<testsuites>
  <testsuite name="unit" file="tests/test_math.py">
    <testcase classname="tests.test_math" name="test_add" time="0.25"/>
    <testcase classname="tests.test_math" name="test_div" time="0.5">
      <failure message="ZeroDivisionError: division by zero">Traceback...</failure>
    </testcase>
    <testcase classname="tests.test_math" name="test_skip" time="0"><skipped/></testcase>
  </testsuite>
  <testsuite name="io">
    <testcase classname="tests.test_io" name="test_read" file="tests/test_io.py" time="1.5">
      <error>OSError: disk
second line</error>
    </testcase>
  </testsuite>
</testsuites>
"""


def test_copied_out_after_a_failed_step(target: Target, tmp_path: Path) -> None:
    project = target.project(tmp_path / "p", """
        version: 2.1
        jobs:
          build:
            EXECUTOR
            steps:
              - checkout
              - run: |
                  mkdir -p reports/unit out/sub
                  cp junit.xml reports/unit/results.xml
                  echo "<not xml" > reports/unit/broken.xml
                  echo one > out/one.txt; echo two > out/sub/two.txt
                  ln -s /etc/passwd out/passwd
                  echo log > build.log
                  exit 3
              - store_test_results: {path: reports}
              - store_artifacts: {path: out, destination: bundle}
              - store_artifacts: {path: build.log}
              - store_artifacts: {path: nothing-here}
    """, {"junit.xml": JUNIT})
    run = target.run(project)
    assert run.job_status("build") == "failed"
    statuses = [s.outcome.status for s in run.steps()]
    assert statuses == [Status.PASSED, Status.FAILED] + [Status.PASSED] * 4  # ``when: always``
    out = run.output()
    assert "4 tests, 1 failures, 1 errors, 1 skipped (2.25s)" in out
    assert "  - tests.test_math.test_div (tests/test_math.py): ZeroDivisionError: division by zero" in out
    assert "  - tests.test_io.test_read (tests/test_io.py): OSError: disk" in out
    assert any(line.startswith("Warning: broken.xml: not JUnit XML") for line in out)
    assert "Warning: passwd is a link to outside of what is stored; not kept" in out
    assert any(line.startswith("No artifact files found at ") for line in out)

    run_dir = run.result.run_dir if run.result else Path()
    stored = run_dir / "artifacts" / "build" / "0"
    assert (stored / "bundle" / "one.txt").read_text() == "one\n"
    assert (stored / "bundle" / "sub" / "two.txt").read_text() == "two\n"
    assert not os.path.lexists(stored / "bundle" / "passwd")
    assert (stored / "build.log").read_text() == "log\n"
    assert (run_dir / "test-results" / "build" / "0" / "reports" / "unit" / "results.xml").is_file()

    (event,) = [e for e in run.events if isinstance(e, events.TestResultsStored)]
    assert (event.tests, event.failures, event.errors, event.skipped) == (4, 1, 1, 1)
    summary = RunSummary()
    for item in run.events:
        summary.add(item)
    data = json.loads(json.dumps(summary.as_dict()))["tests"]["build"]
    assert (data["tests"], data["failures"], data["errors"]) == (4, 1, 1)
    assert data["failed"][0]["message"] == "ZeroDivisionError: division by zero"
    console = io.StringIO()
    end = next(e for e in run.events if isinstance(e, RunFinished))
    summary.render(Console(file=console, width=200, no_color=True), end)
    assert "build: 4 tests, 1 failures, 1 errors, 1 skipped" in console.getvalue()
    assert "✗ tests.test_io.test_read (tests/test_io.py): OSError: disk" in console.getvalue()
    # the node failed: no timing data is learnt from this run [SPLIT]
    assert TimingStore(Path(os.environ["RUNNER_STATE_DIR"]) / "timings").load("build") == []


def test_junit_shapes(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_text(JUNIT)
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "b.xml").write_text(
        '<testsuite file="outer.rb"><testsuite><testcase name="deep" time="x"/></testsuite>'
        '</testsuite>'
    )
    (tmp_path / "notes.txt").write_text("not a result")
    summary = parse_results(tmp_path)
    assert summary.files == 2 and len(summary.cases) == 5
    deep = next(c for c in summary.cases if c.name == "deep")
    assert (deep.file, deep.time, deep.result) == ("outer.rb", 0.0, "success")  # inherited file
    single = parse_results(tmp_path / "a.xml")
    assert [c.result for c in single.cases] == ["success", "failure", "skipped", "error"]


def test_timing_data_merges_the_newest_time_of_each_test(tmp_path: Path) -> None:
    store = TimingStore(tmp_path / "timings")
    (tmp_path / "one.xml").write_text(JUNIT)
    cases = parse_results(tmp_path / "one.xml").cases
    store.update("test", cases[:2])
    store.update("test", [replace(cases[1], time=9.0), cases[3]])
    data = json.loads(store.results_json("test") or b"{}")
    times = {t["name"]: t["run_time"] for t in data["tests"]}
    assert times == {"test_add": 0.25, "test_div": 9.0, "test_read": 1.5}
    assert store.results_json("other-job") is None

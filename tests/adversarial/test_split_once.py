"""Issue 13, defect 1: every node of a job splits its tests by the same timing data.

``parallelism: 4`` with ``-j 2`` starts nodes 3 and 2 first; nodes 1 and 0 start only after
those stored their test results. Reading the timing data at each node's start made the late
nodes split another way than the early ones: some test files ran twice and others never, and
the run stayed green. Each file must run exactly once, in the first run (no timing data yet)
and in the next (timing data of the first), on both executors.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from runner.events import TestsReportedTwice as Twice
from runner.store.job_timings import RunTimings
from runner.store.test_results import TestCase as Case
from runner.store.timings import TimingStore
from tests.adversarial.helpers import BUSYBOX_IMAGE, json_events, no_traceback, runner, summary
from tests.support import make_project

FILES = 9
STEPS = """
    parallelism: 4
    steps:
      - checkout
      - run:
          name: my share of the tests
          command: |
            circleci tests glob "tests/*.sh" | circleci tests split --split-by=timings > mine
            mkdir -p results
            cases=""
            for f in $(cat mine); do
              echo "ran $f"
              cases="$cases<testcase classname=\\"t\\" name=\\"$f\\" file=\\"$f\\" time=\\"$(cat $f)\\"/>"
            done
            echo "<testsuite>$cases</testsuite>" > results/junit.xml
      - store_test_results:
          path: results
"""


def _project(root: Path, executor: str) -> Path:
    # unequal times, so a split by timings differs from the split by name of the first run
    files = {f"tests/t{i}.sh": f"{(i * 7) % 10 + 1}\n" for i in range(FILES)}
    return make_project(root, f"version: 2.1\njobs:\n  test:\n    {executor}{STEPS}", files)


def _ran(stdout: str) -> Counter[str]:
    ran: Counter[str] = Counter()
    for event in json_events(stdout):
        if event.get("event") == "step_output" and event["text"].startswith("ran "):
            ran[event["text"].split()[1]] += 1
    return ran


@pytest.mark.parametrize(
    "executor",
    [
        pytest.param("machine: true", id="machine"),
        pytest.param(f"docker: [{{image: {BUSYBOX_IMAGE}}}]", id="docker", marks=pytest.mark.docker),
    ],
)
def test_every_test_file_runs_once_when_nodes_start_in_turns(tmp_path: Path, executor: str) -> None:
    project = _project(tmp_path / "p", executor)
    expected = Counter({f"tests/t{i}.sh": 1 for i in range(FILES)})
    for attempt in (1, 2):  # no timing data yet; then the first run's
        outcome = runner(["run", "test", "--json", "-j", "2"], project, timeout=300)
        no_traceback(outcome)
        assert outcome.code == 0, (outcome.stderr, outcome.stdout[-3000:])
        assert _ran(outcome.stdout) == expected, f"run {attempt}"
        tests = summary(outcome.stdout)["tests"]["test"]
        assert tests["tests"] == FILES and tests["reported_twice"] == [], tests


def _case(name: str) -> Case:
    return Case(name=name, classname="t", file=f"tests/{name}.sh", time=1.0, result="success")


def test_cases_reported_by_two_nodes_are_flagged_and_timings_wait_for_the_job(
    tmp_path: Path,
) -> None:
    store = TimingStore(tmp_path / "timings")
    timings = RunTimings(store)
    timings.start("test", "test")
    timings.record("test", 0, [_case("a"), _case("b")], timed=True)
    timings.record("test", 1, [_case("b"), _case("c")], timed=True)
    assert store.load("test") == []  # nothing written while the job runs
    events = timings.finish("test")
    assert events == [Twice(job="test", tests=("t.b (tests/b.sh) on nodes 0, 1",))]
    assert sorted(t["name"] for t in store.load("test")) == ["a", "b", "c"]

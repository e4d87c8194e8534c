"""The history recorder learns everything from the events (issue 19): no engine is attached."""

from __future__ import annotations

from pathlib import Path

from runner.events import (
    JobFinished,
    JobsJoined,
    JobStarted,
    PlannedFacts,
    RunFinished,
    RunStarted,
    Status,
    StepStarted,
)
from runner.store.history import HistoryStore, workflow_uuid
from runner.store.recorder import HistoryRecorder


def test_the_plan_and_the_pipeline_come_from_the_events(tmp_path: Path) -> None:
    recorder = HistoryRecorder()
    build = PlannedFacts(id="build", name="build", workflow="main", executor="machine")
    test = PlannedFacts(id="test", name="unit tests", workflow="main", requires=("build",),
                        parallelism=2, executor="docker")
    recorder(RunStarted(
        run_id="3", project="/p", jobs=("build", "test"), state_dir="/s/runs/3",
        state_root=str(tmp_path), pipeline_id="pipe", branch="main", tag="", revision="abc",
        plan=(build, test), time=1.0,
    ))
    recorder(JobStarted(job="build", executor="machine", nodes=(0,), parallelism=1,
                        build_num=7, time=2.0))
    recorder(StepStarted(job="build", node=0, index=0, name="hi", kind="run",
                         log_path="/s/runs/3/jobs/build/0/logs/000-run.log", time=2.5))
    # a continuation's job joins the run later
    recorder(JobsJoined(plan=(PlannedFacts(id="deploy", name="deploy", workflow="cont",
                                            requires=("x",), executor="machine"),)))
    recorder(JobFinished(job="deploy", status=Status.BLOCKED, duration=0.0, time=3.0))
    recorder(RunFinished(run_id="3", status=Status.FAILED, duration=3.0, exit_code=1, time=4.0))

    store = HistoryStore.for_state(tmp_path)
    run = store.run(3)
    assert run is not None
    assert (run.pipeline_id, run.project, run.branch, run.revision, run.run_dir, run.status) == (
        "pipe", "/p", "main", "abc", "/s/runs/3", "failed")
    jobs = {j.job: j for j in store.jobs(3)}
    assert (jobs["test"].name, jobs["test"].requires_list, jobs["test"].parallelism,
            jobs["test"].executor) == ("unit tests", ["build"], 2, "docker")
    assert jobs["test"].workflow_id == workflow_uuid("pipe", "main")
    assert (jobs["deploy"].workflow, jobs["deploy"].requires_list, jobs["deploy"].status) == (
        "cont", ["x"], "blocked")
    assert [s.log_path for s in store.steps(3, "build")] == [
        "/s/runs/3/jobs/build/0/logs/000-run.log"]

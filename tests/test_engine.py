"""The engine over a fake executor: scheduling, blocking, deploy gating, cancel, cleanup."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from runner.config import model as m
from runner.engine import Engine
from runner.events import EventBus, JobFinished, Status, StepFinished
from runner.executors.base import ExecRequest, NodeSpec
from runner.graph import Selection, plan
from runner.project import Project
from runner.run_types import RunOptions
from runner.store.state import StateDir
from tests.fakes import FakeExecutor
from tests.support import Collected, make_project


def job(name: str, *commands: str, parallelism: int = 1, deploy: str | None = None) -> m.Job:
    steps: list[m.Step] = [m.RunStep(name=c, command=c) for c in commands]
    if deploy:
        steps.append(m.RunStep(name=deploy, command=deploy, deploy=True))
    return m.Job(
        name=name, executor=m.MachineExecutor(), steps=tuple(steps), parallelism=parallelism
    )


def engine(
    tmp_path: Path, config: m.Config, fake: FakeExecutor, **options: object
) -> tuple[Engine, Collected]:
    root = make_project(tmp_path / "p", "version: 2\njobs: {}\n")
    graph = plan(config, Selection(branch="main"))
    bus = EventBus()
    collected = Collected()
    bus.subscribe(collected)
    eng = Engine(
        graph=graph,
        project=Project(root=root, config_path=root / ".circleci" / "config.yml"),
        state=StateDir(tmp_path / "state"),
        executors={"machine": fake},
        bus=bus,
        options=RunOptions(**options),  # type: ignore[arg-type]
    )
    return eng, collected


def wf(jobs: list[m.Job], *entries: m.WorkflowJob) -> m.Config:
    return m.Config(
        version="2",
        jobs={j.name: j for j in jobs},
        workflows={"w": m.Workflow(name="w", jobs=entries)},
    )


def test_steps_get_the_environment_and_sessions_close(tmp_path: Path) -> None:
    fake = FakeExecutor()
    config = m.Config(version="2", jobs={"build": job("build", "make")})
    eng, _ = engine(tmp_path, config, fake, project_env={"TOKEN": "abc"})
    result = eng.run()
    assert result.exit_code == 0
    ((job_id, node, script, env),) = fake.log
    assert (job_id, node, script) == ("build", 0, "make")
    assert env["CIRCLE_JOB"] == "build" and env["TOKEN"] == "abc" and env["HOME"] == "/fake/home"
    assert all(s.closed for s in fake.sessions)
    assert fake.prepared == [[config.jobs["build"]]]


def test_blocked_dependents_and_exit_code(tmp_path: Path) -> None:
    fake = FakeExecutor(script=lambda spec, req: (1 if spec.job_id == "a" else 0, 0.0, ""))
    config = wf(
        [job("a", "x"), job("b", "y"), job("c", "z")],
        m.WorkflowJob(name="a", job="a"),
        m.WorkflowJob(name="b", job="b", requires=("a",)),
        m.WorkflowJob(name="c", job="c"),
    )
    eng, _ = engine(tmp_path, config, fake)
    result = eng.run()
    assert dict(result.jobs) == {"a": Status.FAILED, "b": Status.BLOCKED, "c": Status.PASSED}
    assert result.exit_code == 1
    assert [j for j, *_ in fake.log] == ["a", "c"] or [j for j, *_ in fake.log] == ["c", "a"]


def test_nodes_start_highest_index_first(tmp_path: Path) -> None:
    fake = FakeExecutor(script=lambda spec, req: (0, 0.05, ""))
    config = m.Config(version="2", jobs={"build": job("build", "t", parallelism=4)})
    eng, _ = engine(tmp_path, config, fake, jobs_limit=1)
    eng.run()
    order = sorted(fake.opened_at, key=fake.opened_at.__getitem__)
    assert order == [("build", 3), ("build", 2), ("build", 1), ("build", 0)]


def test_deploy_runs_once_after_all_nodes(tmp_path: Path) -> None:
    def script(spec: NodeSpec, req: ExecRequest) -> tuple[int, float, str]:
        return 0, 0.2 if spec.node_index == 2 else 0.0, ""

    fake = FakeExecutor(script=script)
    config = m.Config(version="2", jobs={"build": job("build", "t", parallelism=3, deploy="ship")})
    eng, run = engine(tmp_path, config, fake, jobs_limit=3)
    eng.run()
    assert [(j, n) for j, n, s, _ in fake.log if s == "ship"] == [("build", 0)]
    ship = {s.node: s.outcome.status for s in run.steps() if s.name == "ship"}
    assert ship == {0: Status.PASSED, 1: Status.SKIPPED, 2: Status.SKIPPED}


def test_cancel_interrupts_running_steps_and_settles_everything(tmp_path: Path) -> None:
    fake = FakeExecutor(script=lambda spec, req: (0, 30.0, ""))
    config = wf(
        [job("a", "long"), job("b", "after")],
        m.WorkflowJob(name="a", job="a"),
        m.WorkflowJob(name="b", job="b", requires=("a",)),
    )
    eng, run = engine(tmp_path, config, fake)
    threading.Timer(0.3, eng.cancel).start()
    started = time.monotonic()
    result = eng.run()
    assert time.monotonic() - started < 20  # hang guard: the fake step takes 30 s uninterrupted
    assert result.exit_code == 130
    assert dict(result.jobs) == {"a": Status.CANCELLED, "b": Status.CANCELLED}
    finished = [e for e in run.events if isinstance(e, JobFinished)]
    assert {e.job: e.message for e in finished}["b"] == "not started: the run was interrupted"
    assert all(s.closed for s in fake.sessions)
    assert [s.outcome.status for s in run.steps()] == [Status.CANCELLED]
    assert not any(isinstance(e, StepFinished) and e.name == "after" for e in run.events)

"""Runs a job graph: ready-set scheduling of job nodes, approvals, blocking, cancellation.

A job starts as soon as everything it requires has finished with an accepted status, and its
nodes take slots from ``--jobs N`` (gitlab-ci-local's loop, not act's stage barrier, act#2492).
Nodes of a job start highest index first, so node 0, which may wait at the deploy barrier for
the others, never holds the last slot they need. Failed requirements block their dependents,
and independent branches keep going unless ``--fail-fast``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping

from msgspec.structs import replace

from runner.barrier import DeployBarrier
from runner.config.model import Job
from runner.config.substitute import substitutions
from runner.errors import Interrupted
from runner.events import (
    EventBus,
    JobFinished,
    JobsJoined,
    JobStarted,
    Notice,
    RunFinished,
    RunStarted,
    Status,
)
from runner.executors.base import Executor, NodeSpec, Session
from runner.graph import JobGraph, PlannedJob
from runner.job_state import JobState, check_contexts, node_facts, plan_facts
from runner.node import NodeRun, NodeSetup
from runner.output import Masker
from runner.project import Project
from runner.run_types import RunOptions, RunResult, accepts, run_outcome
from runner.steps.context import RunServices
from runner.steps.tools import task_files
from runner.store import liveness
from runner.store.job_timings import RunTimings
from runner.store.state import StateDir
from runner.store.timings import TimingStore


class Engine:
    """Runs a graph's jobs. :mod:`runner.continuation` extends it through its public seam:
    :meth:`schedule` (the loop, until every job known so far has finished), :meth:`statuses`,
    :meth:`join` (jobs that join the running run) and :meth:`add_failed`."""

    def __init__(
        self,
        *,
        graph: JobGraph,
        project: Project,
        state: StateDir,
        executors: Mapping[str, Executor],
        bus: EventBus,
        options: RunOptions,
        approver: Callable[[str], bool] | None = None,
        pipeline_id: str | None = None,
    ) -> None:
        self.graph = graph
        self.project = project
        self.state = state
        self.executors = executors
        self.bus = bus
        self.options = options
        self.approver = approver
        self.masker = Masker(options.secrets)
        self.cancelled = threading.Event()
        self._environment_failed = False  # a node met EnvironmentFailure: exit code 3
        # jobs that cannot run here, and those blocked only by them: not a failure (issue 13)
        self._not_here: set[str] = set()
        self._cond = threading.Condition()
        self._sessions: dict[tuple[str, int], Session] = {}
        self._jobs = {j.id: JobState(j) for j in graph.jobs}
        self._queue: deque[tuple[str, int]] = deque()
        self._free = max(1, options.jobs_limit)
        self.workflow_id = str(uuid.uuid4())
        self.pipeline_id = pipeline_id or str(uuid.uuid4())

    # ------------------------------------------------------------ control

    def cancel(self) -> None:
        """Stop scheduling, interrupt every running step (INT, TERM, KILL), let cleanup run."""
        if self.cancelled.is_set():
            return
        self.cancelled.set()
        with self._cond:
            sessions = list(self._sessions.values())
            for state in self._jobs.values():
                if state.barrier is not None:
                    state.barrier.cancel()
            self._cond.notify_all()
        threads = [threading.Thread(target=s.interrupt, daemon=True) for s in sessions]
        for t in threads:
            t.start()

    def force(self) -> None:
        """A second interrupt: kill every running step now, without grace periods."""
        self.cancelled.set()
        with self._cond:
            sessions = list(self._sessions.values())
        for session in sessions:
            session.kill_now()

    # ------------------------------------------------------------ the run

    def run(self) -> RunResult:
        check_contexts(self.graph, self.options.contexts)
        self._prepare()
        run_number, build_nums = self.state.new_run(len(self.graph.jobs))
        self.run_id = str(run_number)
        self.run_dir = self.state.run_dir(run_number)
        self._services = RunServices(
            state=self.state,
            run_dir=self.run_dir,
            run_id=self.run_id,
            graph=self.graph,
            project=self.project,
            timings=RunTimings(TimingStore(self.state.root / "timings")),
            workspace_from=self.options.workspace_from,
        )
        for state, num in zip(self._jobs.values(), build_nums, strict=True):
            state.build_num = num
        started = time.monotonic()
        git = self.project.git
        self.bus.emit(RunStarted(
            run_id=self.run_id, project=str(self.project.root), jobs=tuple(self._jobs),
            state_dir=str(self.run_dir), state_root=str(self.state.root),
            pipeline_id=self.pipeline_id, branch=git.branch, tag=git.tag, revision=git.sha,
            plan=plan_facts(self.graph),
        ))
        try:
            self.schedule()
        finally:
            for executor in self.executors.values():
                executor.shutdown()
            liveness.release(self.run_dir)  # `runner clean` may now remove what is left
        return self._finish(time.monotonic() - started)

    def _prepare(self) -> None:
        """The executors' checks and pulls, on a thread: an interrupt ends the wait at once
        even when the engine or a registry never answers (nothing has started yet)."""
        failures: list[BaseException] = []

        def prepare() -> None:
            try:
                for kind, executor in self.executors.items():
                    jobs = [j for j in self._runnable() if j.executor.kind == kind]
                    if jobs:
                        executor.prepare(jobs, lambda text: self.bus.emit(Notice(text=text)))
            except BaseException as exc:  # raised again on the caller's thread
                failures.append(exc)

        worker = threading.Thread(target=prepare, name="prepare", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.05)
            if self.cancelled.is_set():
                raise Interrupted("interrupted while preparing (images, engine): nothing started")
        if failures:
            raise failures[0]

    def _runnable(self) -> list[Job]:
        """The jobs (not approvals) this machine can run: nothing else is pulled."""
        return [p.job for p in self.graph.jobs if p.job and p.id not in self.options.not_here]

    def schedule(self) -> None:
        """Start jobs as they become ready, until every job of the run so far has finished."""
        while True:
            with self._cond:
                self._advance()
                if all(s.status.finished for s in self._jobs.values()):
                    return
                self._start_nodes()
                self._cond.wait(0.5)

    def _advance(self) -> None:
        """Settle every pending job whose requirements are all finished (lock held)."""
        for state in self._jobs.values():
            if state.status is not Status.PENDING:
                continue
            job = state.job
            if self.cancelled.is_set():
                self._settle(state, Status.CANCELLED, "not started: the run was interrupted")
                continue
            reason = self.options.not_here.get(job.id)
            if reason is not None:
                self._not_here.add(job.id)
                self._settle(state, Status.SKIPPED, f"cannot run here: {reason}")
                continue
            upstream = [self._jobs[r] for r in job.requires]
            if any(not u.status.finished for u in upstream):
                continue
            refused = [u for u in upstream if not self._accepts(job, u)]
            if refused and all(u.status is Status.WAITING for u in refused):
                names = ", ".join(u.job.name for u in refused)
                self._settle(state, Status.WAITING, f"on hold: waits for approval of {names}")
                continue
            if refused:
                if all(u.job.id in self._not_here for u in refused):
                    self._not_here.add(job.id)
                names = ", ".join(f"{u.job.id} ({u.status.value})" for u in refused)
                self._settle(state, Status.BLOCKED, f"blocked: requires {names}")
                continue
            if job.approval:
                self._approval(state)
                continue
            if job.no_op:  # ``type: no-op`` runs nothing and passes [CR]
                self._settle(state, Status.PASSED, "no-op")
                continue
            self._start_job(state)

    def _accepts(self, job: PlannedJob, upstream: JobState) -> bool:
        return accepts(job.requires_status.get(upstream.job.id, ("success",)), upstream.status)

    def _approval(self, state: JobState) -> None:
        name = state.job.name
        approved = "all" in self.options.approve or name in self.options.approve
        if not approved and self.approver is not None:
            self._cond.release()
            try:
                approved = self.approver(name)
            finally:
                self._cond.acquire()
        if approved:
            self.bus.emit(Notice(text=f"approval '{name}' given", job=state.job.id))
            self._settle(state, Status.PASSED, "approved")
        else:
            self._settle(
                state,
                Status.WAITING,
                f"on hold: approval '{name}' was not given (pass --approve {name} to approve it)",
            )

    def _settle(self, state: JobState, status: Status, message: str = "") -> None:
        state.status = status
        duration = time.monotonic() - state.started if state.started else 0.0
        self.bus.emit(
            JobFinished(job=state.job.id, status=status, duration=duration, message=message,
                        not_here=state.job.id in self._not_here)
        )
        if status.failed and self.options.fail_fast and not self.cancelled.is_set():
            self.bus.emit(Notice(text=f"--fail-fast: stopping after {state.job.id} {status.value}"))
            self._cond.release()
            try:
                self.cancel()
            finally:
                self._cond.acquire()

    def _start_job(self, state: JobState) -> None:
        job = state.job
        assert job.job is not None
        state.status = Status.RUNNING
        state.started = time.monotonic()
        state.nodes_left = len(job.nodes)
        state.barrier = DeployBarrier(job.nodes)
        self._services.timings.start(job.id, job.name)  # every node splits by this snapshot
        self.bus.emit(
            JobStarted(
                job=job.id,
                executor=job.executor_kind,
                nodes=job.nodes,
                parallelism=job.parallelism,
                build_num=state.build_num,
                substitutions=substitutions(job.job),
            )
        )
        for node in sorted(job.nodes, reverse=True):
            self._queue.append((job.id, node))

    def _start_nodes(self) -> None:
        while self._queue and (self._free > 0 or self._running_nodes() == 0):
            job_id, node = self._queue.popleft()
            self._free -= 1
            threading.Thread(
                target=self._run_node, args=(job_id, node), name=f"{job_id}#{node}", daemon=True
            ).start()

    def _running_nodes(self) -> int:
        return max(0, self.options.jobs_limit - self._free)

    def _run_node(self, job_id: str, node: int) -> None:
        state = self._jobs[job_id]
        status = Status.FAILED
        try:
            node_run = NodeRun(self._node_setup(state, node))
            status = node_run.run()
            self._environment_failed |= node_run.environment_failed
        except BaseException as exc:  # any death of this thread fails its node
            text = f"internal error: {type(exc).__name__}: {exc}"  # and never hangs the run
            self.bus.emit(Notice(text=text, level="error", job=job_id, node=node))
        finally:
            with self._cond:
                self._free += 1
                state.node_status[node] = status
                state.nodes_left -= 1
                if state.nodes_left == 0:
                    for event in self._services.timings.finish(job_id):  # after the job
                        self.bus.emit(event)
                    self._settle(state, state.outcome())
                self._cond.notify_all()

    def _track(self, key: tuple[str, int], session: Session | None) -> None:
        with self._cond:
            if session is None:
                self._sessions.pop(key, None)
            else:
                self._sessions[key] = session
        if session is not None and self.cancelled.is_set():
            session.interrupt()

    def _node_setup(self, state: JobState, node: int) -> NodeSetup:
        job = state.job
        assert job.job is not None and state.barrier is not None
        spec = NodeSpec(
            job=job.job,
            job_id=job.id,
            node_index=node,
            node_total=job.parallelism,
            run_id=self.run_id,
            node_dir=self.state.node_dir(self.run_id, job.id, node),
            run_label=f"{self.state.label}.{self.run_id}",
            task_files=task_files(self._services, job.id),
        )
        facts = node_facts(state, node, self.project, workflow_id=self.workflow_id,
                           pipeline_id=self.pipeline_id, user=self.options.user)
        context_env: dict[str, str] = {}
        for name in job.contexts:
            context_env.update(self.options.contexts[name])
        key = (job.id, node)
        return NodeSetup(
            job=job,
            index=node,
            spec=spec,
            executor=self.executors[job.job.executor.kind],
            bus=self.bus,
            masker=self.masker,
            barrier=state.barrier,
            project_root=self.project.root,
            services=self._services,
            facts=facts,
            project_env=dict(self.options.project_env),
            context_env=context_env,
            cancelled=self.cancelled,
            on_session=lambda session: self._track(key, session),
            ssh_mode=self.options.ssh_mode,
            debug=self.options.debug(spec, job) if self.options.debug is not None else None,
        )

    # ------------------------------------------------------------ the seam for continuations

    def statuses(self) -> dict[str, Status]:
        with self._cond:
            return {job_id: s.status for job_id, s in self._jobs.items()}

    def add_failed(self, name: str, message: str) -> None:
        """A failed entry that is no job (a refused continuation), under a name no job has."""
        with self._cond:
            while name in self._jobs:
                name += "_"
            state = JobState(PlannedJob(id=name, name=name, job=None, no_op=True))
            self._jobs[name] = state
            self._settle(state, Status.FAILED, message)

    def join(self, graph: JobGraph, executors: Mapping[str, Executor]) -> None:
        """``graph``'s jobs join the run (ids unique in it), with the executors they need that
        the run lacks; their images are prepared before any of them starts."""
        self.graph = JobGraph((*self.graph.jobs, *graph.jobs),
                              (*self.graph.skipped, *graph.skipped),
                              (*self.graph.workflows, *graph.workflows))
        self.executors = {**executors, **self.executors}
        self._services = replace(self._services, graph=self.graph)
        self.bus.emit(JobsJoined(plan=plan_facts(graph)))
        self._prepare()
        builds = self.state.more_builds(len(graph.jobs))
        with self._cond:
            for job, build_num in zip(graph.jobs, builds, strict=True):
                self._jobs[job.id] = JobState(job, build_num=build_num)

    def _finish(self, duration: float) -> RunResult:
        statuses = {job_id: s.status for job_id, s in self._jobs.items()}
        ran = [s for job_id, s in statuses.items() if job_id not in self._not_here]
        status, code = run_outcome(
            ran,
            cancelled=self.cancelled.is_set() and not self.options.fail_fast,
            environment_failed=self._environment_failed,
        )
        self.bus.emit(
            RunFinished(run_id=self.run_id, status=status, duration=duration, exit_code=int(code))
        )
        return RunResult(self.run_id, status, code, statuses, self.run_dir)

"""What the routes call: trigger (check, number, record, queue), look up, cancel, shut down.

Runs go through ``runflow.run``, the CLI's own core call, on the queue's worker threads, with
the same history recorder the CLI registers. A run started here gets project-level variables
naming this server and its token (masked), so a job can trigger the next one [APIJOB].
"""

from __future__ import annotations

import getpass
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from msgspec import Struct
from msgspec.structs import replace

from runner import runflow
from runner.api import revisions
from runner.api.body import JobTrigger
from runner.api.errors import ApiError, not_found
from runner.api.live import LiveLogs
from runner.api.projects import ProjectIndex, ServedProject
from runner.api.queue import QueueClosed, QueuedRun, RunQueue
from runner.api.triggers import Refs, Validator
from runner.errors import Interrupted, RunnerError
from runner.events import Subscriber
from runner.graph import JobGraph
from runner.store.history import JobRow, RunRow, workflow_uuid
from runner.store.recorder import (
    HistoryRecorder,
    mark_interrupted,
    new_owner,
    reconcile,
    release_owner,
)

UNFINISHED = ("queued", "running")


class ServiceSettings(Struct, frozen=True, kw_only=True):
    base_url: str  # http://127.0.0.1:PORT
    token: str
    concurrency: int = 2
    environ: Mapping[str, str]
    # One line per trigger, cancel, rerun and run end, for the operator (`runner serve`'s
    # output); never parameters or tokens.
    log: Callable[[str], None] = lambda _line: None
    allow_parameters: frozenset[str] = frozenset()  # build parameters allowed beyond the config


class ApiService:
    def __init__(self, index: ProjectIndex, settings: ServiceSettings) -> None:
        self.index = index
        self.settings = settings
        self.owner = new_owner()
        self.live = LiveLogs()
        self.validator = Validator(settings.environ, settings.allow_parameters)
        self.user = _user()
        self.log = settings.log
        self.cut_off = {p.root: reconcile(p.store) for p in index.projects}
        for p in index.projects:
            revisions.sweep(p, own=False)  # clones a crashed server left behind
        self.queue = RunQueue(settings.concurrency, self._execute)

    @property
    def callback_env(self) -> dict[str, str]:
        """Variables naming this server, so that a deploy step's
        ``curl -u ${CIRCLE_API_USER_TOKEN}: ${CIRCLE_API_URL}/project/...`` reaches it."""
        base = self.settings.base_url
        token = self.settings.token
        return {
            "CIRCLE_API_URL": f"{base}/api/v1.1",
            "RUNNER_API_URL": base,
            "RUNNER_API_TOKEN": token,
            "CIRCLE_API_USER_TOKEN": token,
        }

    def project(self, vcs: str, org: str, repo: str) -> ServedProject:
        found = self.index.find(vcs, org, repo)
        if found is None:
            raise not_found("Project")
        return found

    # ------------------------------------------------------------ triggers

    def trigger_job(
        self, project: ServedProject, trigger: JobTrigger, *, why: Mapping[str, Any] | None = None
    ) -> tuple[RunRow, JobRow]:
        asked_refs = Refs(branch=trigger.branch, tag=trigger.tag, revision=trigger.revision)
        with self._commit(project, asked_refs) as refs:
            graph = self.validator.plan_job(project, trigger, refs)
            asked = {"why": "api", "job": trigger.job, "parallel": trigger.parallel,
                     "build_parameters": trigger.build_parameters, "commit": refs.revision,
                     **(why or {})}
            run = self._enqueue(
                project, refs, graph, why=asked, jobs=(trigger.job,), parallel=trigger.parallel,
                build_parameters=trigger.build_parameters,
            )
        jobs = project.store.jobs(run.run)
        self.log(f"trigger: job {trigger.job} of {project.slug()} on {_refs_text(run)}: "
                 f"build {jobs[0].build_num} (run {run.run})")
        return run, jobs[0]

    def trigger_pipeline(
        self, project: ServedProject, refs: Refs, *, workflow: str | None = None,
        passed: tuple[str, ...] = (), why: Mapping[str, Any] | None = None,
    ) -> RunRow:
        """A v2 pipeline: its workflows; or one ``workflow`` without the ``passed`` jobs (a
        rerun, see api.reruns)."""
        with self._commit(project, refs) as built:
            graph = self.validator.plan_pipeline(project, built, workflow=workflow, passed=passed)
            asked = {"why": "api", "parameters": dict(p.split("=", 1) for p in built.params),
                     "commit": built.revision, **(why or {})}
            run = self._enqueue(
                project, built, graph, why=asked, workflow=workflow, passed=passed
            )
        self.log(f"trigger: pipeline {run.run} of {project.slug()} on {_refs_text(run)}: "
                 f"{len(graph.jobs)} job(s)")
        return run

    @contextmanager
    def _commit(self, project: ServedProject, refs: Refs) -> Iterator[Refs]:
        """The refs with the clone of the commit they select (api.revisions), if any; the
        clone is removed if the trigger is refused, else by the run when it ends."""
        sha = revisions.select(project, revision=refs.revision, tag=refs.tag, branch=refs.branch)
        if sha is None:
            yield refs
            return
        source = revisions.materialize(project, sha, refs.tag)
        branch = refs.branch
        if branch is None and refs.tag is None:
            branch = revisions.current_branch(project.root) or None  # the label it had
        try:
            yield replace(refs, revision=sha, source=source.directory, branch=branch)
        except BaseException:
            revisions.discard(source.clone)
            raise

    def _enqueue(
        self,
        project: ServedProject,
        refs: Refs,
        graph: JobGraph,
        *,
        why: dict[str, Any],
        jobs: tuple[str, ...] = (),
        parallel: int | None = None,
        build_parameters: Mapping[str, str] | None = None,
        workflow: str | None = None,
        passed: tuple[str, ...] = (),
    ) -> RunRow:
        """Number the run (the answer carries its build_num), record it queued, queue it."""
        self._check_open()
        loaded = self.validator.load(project, refs)
        numbers = project.state.reserve(len(graph.jobs))
        pipeline_id = str(uuid.uuid4())
        git = loaded.project.git
        now = time.time()
        status = "queued" if graph.jobs else "skipped"  # no workflow applies: nothing to run
        statements: list[tuple[str, tuple[Any, ...]]] = [(
            "INSERT INTO runs (run, pipeline_id, source, status, project, branch, tag, revision,"
            " queued_at, stopped_at, trigger, pid, owner) "
            "VALUES (?, ?, 'api', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (numbers[0], pipeline_id, status, str(project.root), git.branch, git.tag, git.sha,
             now, None if graph.jobs else now, json.dumps(why), os.getpid(), self.owner),
        )]
        for job, build_num in zip(graph.jobs, numbers[1], strict=True):
            statements.append((
                "INSERT INTO jobs (run, job, name, workflow, workflow_id, requires, build_num, "
                "executor, parallelism, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued')",
                (numbers[0], job.id, job.name, job.workflow or "",
                 workflow_uuid(pipeline_id, job.workflow or ""), json.dumps(list(job.requires)),
                 build_num, job.executor_kind, job.parallelism),
            ))
        project.store.write(statements)
        if graph.jobs:
            request = runflow.RunRequest(
                project=refs.project_request(project, numbers=numbers, pipeline_id=pipeline_id),
                jobs=jobs,
                workflow=workflow,
                passed=passed,
                parallelism=parallel,
                build_parameters=dict(build_parameters or {}),
                extra_env=self.callback_env,
                extra_secrets=(self.settings.token,),
            )
            self._submit(QueuedRun(project, numbers[0], request, now))
        elif clone := revisions.clone_of(project, refs.source):
            revisions.discard(clone)  # nothing will run from it
        run = project.store.run(numbers[0])
        assert run is not None
        return run

    def _check_open(self) -> None:
        if self.queue.closed:
            raise ApiError(503, "the server is shutting down")

    def _submit(self, item: QueuedRun) -> None:
        try:
            self.queue.submit(item)
        except QueueClosed as exc:
            mark_interrupted(item.project.store, [item.run], str(exc))
            raise ApiError(503, str(exc)) from None

    # ------------------------------------------------------------ running

    def _execute(self, item: QueuedRun) -> None:
        recorder = HistoryRecorder(source="api", owner=self.owner)
        subscribers: list[Subscriber] = [recorder, self.live.subscriber(item.project.state_root)]

        def on_engine(engine: Any) -> None:
            engine.bus.on_reporter_failed(self.settings.log)  # the operator's log says it
            self.queue.track(item, engine)

        try:
            result = runflow.run(
                item.request,
                subscribers=subscribers,
                environ=self.settings.environ,
                cwd=item.project.root,
                on_engine=on_engine,
            )
            # Normally a no-op; if the history writer gave up mid-run (the bus turns a failing
            # subscriber off), the result still ends the run in the store.
            self._end(item, "", status=result.status.value)
        except Interrupted as exc:  # cancelled while its executors were preparing
            self._end(item, exc.render(), status="cancelled")
        except RunnerError as exc:
            self._end(item, exc.render())
        except Exception as exc:  # a worker must outlive any run's failure
            self._end(item, f"internal error: {type(exc).__name__}: {exc}")
        finally:
            self.queue.track(item, None)
            self.live.drop_run(str(item.project.state_root), item.run)  # ends log followers
            clone = revisions.clone_of(item.project, item.request.project.project_dir)
            if clone is not None:
                revisions.discard(clone)
            self._log_end(item)

    def _log_end(self, item: QueuedRun) -> None:
        run = item.project.store.run(item.run)
        jobs = item.project.store.jobs(item.run)
        builds = ", ".join(f"{j.name} #{j.build_num} {j.status}" for j in jobs[:10])
        more = f" and {len(jobs) - 10} more" if len(jobs) > 10 else ""
        self.log(f"end: run {item.run} of {item.project.slug()}: "
                 f"{run.status if run else 'unknown'} ({builds}{more})")

    def _end(self, item: QueuedRun, message: str, status: str = "errored") -> None:
        """End a run the events did not end (it never started, or its recorder failed)."""
        now = time.time()
        item.project.store.write([
            (f"UPDATE {table} SET status = ?, message = ?, stopped_at = ? WHERE run = ? "
             "AND status IN (?, ?)", (status, message, now, item.run, *UNFINISHED))
            for table in ("runs", "jobs")
        ])

    def cancel(self, project: ServedProject, run: RunRow) -> None:
        if run.status not in UNFINISHED:
            return
        self.log(f"cancel: run {run.run} of {project.slug()}")
        waiting = self.queue.cancel((str(project.state_root), run.run))
        # A run a worker already took ends (and says so) through the worker, even while its
        # row still says queued: ending it here too would log its end twice.
        if waiting and run.status == "queued":
            now = time.time()
            project.store.write([
                ("UPDATE runs SET status = 'cancelled', stopped_at = ? WHERE run = ? "
                 "AND status = 'queued'", (now, run.run)),
                ("UPDATE jobs SET status = 'cancelled', stopped_at = ? WHERE run = ? "
                 "AND status = 'queued'", (now, run.run)),
            ])
            self.log(f"end: run {run.run} of {project.slug()}: cancelled before it started")

    def shutdown(self, timeout: float = 15.0) -> None:
        """Cancel what runs, then mark everything this server left unfinished as cut off."""
        running = set(self.queue.running())
        self.queue.shutdown(timeout)
        release_owner(self.owner)
        for p in self.index.projects:
            revisions.sweep(p, own=True)
            root = str(p.state_root)
            stale = {r.run for r in p.store.unfinished() if r.owner == self.owner}
            stale |= {run for key_root, run in running if key_root == root}
            if stale:
                mark_interrupted(
                    p.store, sorted(stale), "cut off: the server stopped", cancelled_too=True
                )

    # ------------------------------------------------------------ lookups

    def job(
        self, vcs: str, org: str, repo: str, build_num: int
    ) -> tuple[ServedProject, RunRow, JobRow]:
        """A project's job by number: what every per-job route looks up first (404s if absent)."""
        project = self.project(vcs, org, repo)
        return (project, *self.build(project, build_num))

    def build(self, project: ServedProject, build_num: int) -> tuple[RunRow, JobRow]:
        job = project.store.job_by_build(build_num)
        run = project.store.run(job.run) if job is not None else None
        if job is None or run is None or not owns(project, run):
            raise not_found("Build")
        if run.status in UNFINISHED and reconcile(project.store):
            return self.build(project, build_num)
        return run, job

    def pipeline(self, pipeline_id: str) -> tuple[ServedProject, RunRow]:
        for project in self.index.projects:
            run = project.store.run_by_pipeline(pipeline_id)
            if run is not None and owns(project, run):
                return project, run
        raise not_found("Pipeline")

    def workflow(self, workflow_id: str) -> tuple[ServedProject, RunRow, list[JobRow]]:
        for project in self.index.projects:
            jobs = project.store.jobs_of_workflow(workflow_id)
            run = project.store.run(jobs[0].run) if jobs else None
            if run is not None and owns(project, run):
                return project, run, jobs
        raise not_found("Workflow")


def _refs_text(run: RunRow) -> str:
    where = f"tag {run.tag}" if run.tag else (run.branch or "no branch")
    return f"{where} at {run.revision[:12]}" if run.revision else where


def owns(project: ServedProject, run: RunRow) -> bool:
    """Projects may share a state directory (``--state-dir``): a run belongs to one of them."""
    if not run.project or run.project == str(project.root):
        return True
    return Path(run.project).resolve() == project.root.resolve()  # a CLI run via a symlink


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""

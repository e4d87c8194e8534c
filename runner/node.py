"""One node of one job: open a session, run the steps in order, report each, close.

Step rules [CR `when`]: steps run in order until one fails; after a failure only ``always``
and ``on_fail`` steps run; nothing more runs once the job is cancelled. ``deploy`` steps run on
node 0 only, after every other node finished all its steps, and only if all of them passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct, field
from msgspec.structs import replace

from runner.barrier import DeployBarrier
from runner.config.model import RunStep, Step, When
from runner.environment import NodeFacts, builtin_variables, node_environment
from runner.errors import (
    EnvironmentFailure,
    Interrupted,
    NodeLost,
    RunnerError,
    os_error_text,
)
from runner.events import (
    EventBus,
    NodeFinished,
    Notice,
    Status,
    StepFinished,
    StepOutcome,
    StepOutput,
    StepStarted,
)
from runner.executors.base import Executor, NodeSpec, Session
from runner.graph import PlannedJob
from runner.output import CappedLog, Masker, StepSink
from runner.steps import handler_for
from runner.steps.context import Background, RunServices, StepContext
from runner.steps.run import shebang, shell_for
from runner.steps.tools import prepare_node

if TYPE_CHECKING:
    from runner.node_hooks import NodeHooks


class NodeSetup(Struct):
    """Everything a node needs from its run; built once per job node by the engine."""

    job: PlannedJob
    index: int
    spec: NodeSpec
    executor: Executor
    bus: EventBus
    masker: Masker
    barrier: DeployBarrier
    project_root: Path
    services: RunServices
    facts: NodeFacts
    project_env: dict[str, str]
    context_env: dict[str, str]
    cancelled: threading.Event
    on_session: Callable[[Session | None], None] = lambda _s: None
    ssh_mode: bool = False  # --shell: deploy steps are skipped, as in CircleCI's SSH reruns
    sessions: list[Session] = field(default_factory=list)
    debug: NodeHooks | None = None  # issue 7: --shell, --shell-on-failure, --keep, --from-step


class NodeRun:
    def __init__(self, setup: NodeSetup) -> None:
        self.s = setup
        self.job_id = setup.job.id
        self.failed = False
        self.cancelled = False
        # the engine, the disk: the run ends with exit code 3, not as a job's own failure
        self.environment_failed = False
        self.lost = False  # the node went away (NodeLost): no later step can run
        self.deploy_gate: bool | None = None  # node 0's barrier result, once waited for
        self.gate_reason = "skipped: the job was cancelled"
        self.logs = setup.spec.node_dir / "logs"
        self._facts = setup.facts

    # ------------------------------------------------------------ events

    def notice(self, text: str, level: str = "info") -> None:
        self.s.bus.emit(
            Notice(text=self.s.masker.mask(text), level=level, job=self.job_id, node=self.s.index)
        )

    def _emit_output(self, index: int) -> Callable[[str, bool], None]:
        def emit(text: str, partial: bool) -> None:
            self.s.bus.emit(
                StepOutput(
                    job=self.job_id, node=self.s.index, index=index, text=text, partial=partial
                )
            )

        return emit

    # ------------------------------------------------------------ the node

    def run(self) -> Status:
        started = time.monotonic()
        session: Session | None = None
        background: list[Background] = []
        try:
            session = self.s.executor.open(self.s.spec, self.notice)
            self.s.on_session(session)
            env = self._environment(session)
            prepare_node(session, env)  # the `circleci` helper first on PATH
            workdir = session.resolve(self.s.spec.job.working_directory)
            if self.s.debug is not None:  # may restore an earlier run's environment
                self.s.debug.opened(session, env, workdir, self.notice)
            for index, step in enumerate(self.s.spec.job.steps):
                if self.s.cancelled.is_set():
                    self.cancelled = True
                    break
                self._step(
                    session=session,
                    env=env,
                    workdir=workdir,
                    index=index,
                    step=step,
                    background=background,
                )
                if self.lost or self._halted(session):
                    break  # nothing more can run, or `circleci-agent step halt`
        except (RunnerError, OSError) as exc:
            error = exc if isinstance(exc, RunnerError) else EnvironmentFailure(os_error_text(exc))
            self.failed = True
            self.environment_failed |= isinstance(error, EnvironmentFailure)
            self.notice(error.render(), level="error")
        finally:
            self._finish_background(background)
            status = self._status()
            self.s.barrier.node_finished(self.s.index, status is Status.PASSED)
            if session is not None:
                if self.s.debug is not None:  # the --shell, the --keep record: before cleanup
                    self.s.debug.finished(status)
                self.s.on_session(None)
                try:
                    session.close()
                except RunnerError as exc:
                    self.notice(f"cleanup: {exc.render()}", level="warning")
            self.s.bus.emit(
                NodeFinished(
                    job=self.job_id,
                    node=self.s.index,
                    status=status,
                    duration=time.monotonic() - started,
                )
            )
        return status

    def _status(self) -> Status:
        if self.cancelled:
            return Status.CANCELLED
        return Status.FAILED if self.failed else Status.PASSED

    def _environment(self, session: Session) -> dict[str, str]:
        facts = replace(
            self.s.facts, home=session.home, bash_env=session.bash_env, task_data=session.task_data
        )
        self._facts = facts
        return node_environment(
            base=session.base_env(),
            project=self.s.project_env,
            contexts=self.s.context_env,
            builtins=builtin_variables(facts),
            job=self.s.spec.job.environment,
        )

    def _halted(self, session: Session) -> bool:
        # ``circleci-agent step halt`` leaves a marker; the job then ends successfully [CR]
        return session.halted()

    # ------------------------------------------------------------ one step

    def _skip_reason(self, step: Step) -> tuple[Status, str] | None:
        if step.when is When.ON_SUCCESS and self.failed:
            return Status.SKIPPED, "skipped: an earlier step failed"
        if step.when is When.ON_FAIL and not self.failed:
            return Status.SKIPPED, "skipped: runs only when an earlier step failed"
        if isinstance(step, RunStep) and step.deploy:
            return self._deploy_gate()
        return None

    def _deploy_gate(self) -> tuple[Status, str] | None:
        if self.s.ssh_mode:
            return Status.SKIPPED, "skipping deploy\nRunning in SSH mode. Avoid deploying."
        if self.s.index != 0:
            return Status.SKIPPED, "skipped: deploy steps run on node 0 only"
        if self.deploy_gate is None:
            if self.s.barrier.waits_for:
                self.notice(
                    f"waiting for the other {self.s.barrier.waits_for} node(s) to finish "
                    "before deploying"
                )
            result = self.s.barrier.wait_for_others()
            self.deploy_gate = result.ok
            if result.cancelled:
                self.cancelled = True
            elif not result.ok:
                failed = ", ".join(str(n) for n in result.failed_nodes)
                self.gate_reason = f"skipped: node(s) {failed} failed; deploy runs only if all pass"
        if not self.deploy_gate:
            return Status.SKIPPED, self.gate_reason
        return None

    def _step(
        self,
        *,
        session: Session,
        env: dict[str, str],
        workdir: str,
        index: int,
        step: Step,
        background: list[Background],
    ) -> None:
        skip = self.s.debug.skip(index) if self.s.debug is not None else None  # --from-step
        skip = skip or self._skip_reason(step)
        if self.cancelled:
            return
        if skip is not None:  # a skipped step is one line: no header, no command, no log
            sink = StepSink(self._emit_output(index), self.s.masker)
            self._record(index, step, StepOutcome(status=skip[0], message=skip[1]), sink, None)
            return
        log_path = str(self.logs / f"{index:03d}-{step.kind}.log")
        self.s.bus.emit(self._started(session, index, step, log_path))
        sink = StepSink(self._emit_output(index), self.s.masker, CappedLog(Path(log_path)))
        ctx = StepContext(
            session=session,
            spec=self.s.spec,
            job=self.s.spec.job,
            env=env,
            workdir=workdir,
            project_root=self.s.project_root,
            sink=sink,
            index=index,
            tag=f"{self.s.spec.tag}-{index}",
            log_path=log_path,
            notice=self.notice,
            services=self.s.services,
            facts=self._facts,
            planned=self.s.job,
            failed=self.failed,
            background=background,
            emit=self.s.bus.emit,
        )
        outcome = self._run_handler(step, ctx)
        if outcome.status is Status.RUNNING:
            return  # a background step reports when it ends
        sink.close()
        if sink.log_error is not None:  # the step ran, but its log is not all on disk
            self.environment_failed = True
            outcome = replace(
                outcome,
                status=Status.FAILED,
                message=f"cannot write the step's log: {os_error_text(sink.log_error)}",
            )
        self._record(index, step, outcome, sink, log_path)
        if self.s.debug is not None and outcome.status in (Status.FAILED, Status.TIMED_OUT):
            self.s.debug.step_failed(step, ctx, outcome, tuple(sink.tail))  # --shell-on-failure

    def _started(self, session: Session, index: int, step: Step, log_path: str) -> StepStarted:
        """The step's header: its name, and for run steps the shell line and the command."""
        run = step if isinstance(step, RunStep) else None
        return StepStarted(
            job=self.job_id,
            node=self.s.index,
            index=index,
            name=step.name,
            kind=step.kind,
            command=run.command if run else None,
            shell=shebang(shell_for(session, run.shell, self.s.spec.job.shell)) if run else None,
            log_path=log_path,
        )

    def _run_handler(self, step: Step, ctx: StepContext) -> StepOutcome:
        handler = handler_for(step, self.s.spec.job.executor.kind)
        started = time.monotonic()
        try:
            outcome = handler(step, ctx)
        except Interrupted:  # the session was interrupted while the step moved files
            self.cancelled = True
            outcome = StepOutcome(status=Status.CANCELLED, interrupted=True, message="interrupted")
        except RunnerError as exc:
            self.environment_failed |= isinstance(exc, EnvironmentFailure)
            self.lost |= isinstance(exc, NodeLost)
            outcome = StepOutcome(status=Status.FAILED, message=exc.render())
        except OSError as exc:  # the disk under the state directory (caches, workspaces)
            self.environment_failed = True
            outcome = StepOutcome(status=Status.FAILED, message=os_error_text(exc))
        except Exception as exc:  # a bug: the step is recorded as failed, never left running
            self.failed = True
            outcome = StepOutcome(
                status=Status.FAILED, message=f"internal error: {type(exc).__name__}: {exc}"
            )
        if not outcome.duration:
            outcome = replace(outcome, duration=time.monotonic() - started)
        return outcome

    def _record(
        self, index: int, step: Step, outcome: StepOutcome, sink: StepSink, log_path: str | None
    ) -> None:
        if outcome.status.failed:
            if outcome.status is Status.CANCELLED:
                self.cancelled = True
            else:
                self.failed = True
        self.s.bus.emit(
            StepFinished(
                job=self.job_id,
                node=self.s.index,
                index=index,
                name=step.name,
                kind=step.kind,
                outcome=outcome,
                tail=tuple(sink.tail),
                log_path=log_path,
            )
        )

    def _finish_background(self, background: list[Background]) -> None:
        """Background steps end with the job: stop those still running, report each."""
        for item in background:
            item.process.stop()
        from runner.steps.run import outcome_of

        for item in background:
            result = item.process.wait()
            outcome = outcome_of(result, None)
            if result.interrupted and not self.s.cancelled.is_set():
                outcome = StepOutcome(
                    status=Status.PASSED,
                    duration=result.duration,
                    message="stopped at the end of the job",
                )
            item.sink.close()
            self._record(item.index, item.step, outcome, item.sink, item.log_path)

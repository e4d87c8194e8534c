"""runner's implementation of the node's debugging hooks.

:class:`runner.node_hooks.NodeHooks` (owned by the core) is the whole interface between
:class:`runner.node.NodeRun` and this package: after the session opened (restore a kept
environment for ``--from-step``), before each step (skip it?), after a step failed
(``--shell-on-failure``), and after the last step, before cleanup (``--shell``, the ``--keep``
record). A hook never fails the run by accident: a shell that cannot open is reported as a
warning; only a failed restore fails the node, since the steps after it would run on the
wrong state.
"""

from __future__ import annotations

import os
import shlex
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct, field

from runner.config.model import RunStep, Step
from runner.debug.kept import KeptNode, save
from runner.debug.plan import DebugOptions, DebugPlan, debug_plan
from runner.debug.shell import (
    RC_NAME,
    open_shell,
    plan_shell,
    put_text,
    rc_text,
    say,
    shell_program,
)
from runner.errors import EnvironmentFailure, RunnerError
from runner.events import Status, StepOutcome
from runner.executors.base import NodeSpec, Session
from runner.executors.registry import place_of
from runner.graph import JobGraph, PlannedJob
from runner.node_hooks import HooksFactory, NodeHooks, Notice
from runner.report import failure

if TYPE_CHECKING:
    from runner.steps.context import StepContext

def debug_hooks(
    options: DebugOptions, graph: JobGraph, state_root: Path, project_root: Path | None = None
) -> HooksFactory | None:
    """Hooks for a run's nodes, or None when it asks for no debugging; raises UsageError for
    a ``--from-step``/``--only-step`` that does not fit the planned job."""
    plan = debug_plan(options, graph, state_root, project_root)
    if plan is None:
        return None

    def for_node(spec: NodeSpec, job: PlannedJob) -> NodeHooks | None:
        return DebugNode(plan=plan, spec=spec, job=job, shell_here=plan.shell_here(spec, job))

    return for_node


class DebugNode(Struct):
    plan: DebugPlan
    spec: NodeSpec
    job: PlannedJob
    shell_here: bool  # --shell opens on this node
    restored_from: str | None = None
    _session: Session | None = None
    _env: dict[str, str] = field(default_factory=dict)
    _workdir: str = ""
    _notice: Notice = lambda _text, _level: None

    @property
    def who(self) -> str:
        node = f" node {self.spec.node_index}" if self.job.parallelism > 1 else ""
        return f"{self.job.id}{node}"

    # ------------------------------------------------------------ the hooks

    def opened(
        self, session: Session, env: Mapping[str, str], workdir: str, notice: Notice
    ) -> None:
        self._session, self._env, self._workdir, self._notice = session, dict(env), workdir, notice
        steps = self.plan.steps
        if steps is None or steps.start == 0 or steps.job.id != self.job.id:
            return
        source = self.plan.source_for(self.job, self.spec.node_index)
        if source is None:
            notice(
                f"{steps.flag}: no kept environment of an earlier run of {self.who} (run it with "
                f"--keep to have one); running {steps.before} first",
                "info",
            )
            return
        from runner.debug.restore import restore

        try:
            restore(source, session, workdir)
        except (OSError, tarfile.TarError) as exc:  # a RunnerError passes as it is
            raise EnvironmentFailure(
                f"{steps.flag}: could not restore the environment kept by {source.title}: {exc}",
                hint="`runner clean` removes kept environments; run without --from-step",
            ) from None
        self.restored_from = source.title
        resynced = self._resync(session, workdir, steps.start)
        notice(
            f"{steps.flag}: restored the environment kept by {source.title} (its home, working "
            f"directory and BASH_ENV"
            + place_of(source).restore_note
            + f"); {steps.before} skipped",
            "info",
        )
        if resynced:
            notice(resynced, "info")

    def skip(self, index: int) -> tuple[Status, str] | None:
        steps = self.plan.steps
        if steps is None or steps.job.id != self.job.id:
            return None
        reason = steps.skip_reason(index, self.restored_from)
        return (Status.SKIPPED, reason) if reason else None

    def step_failed(
        self, step: Step, ctx: StepContext, outcome: StepOutcome, tail: tuple[str, ...]
    ) -> None:
        if not self.plan.shell_on_failure:
            return
        env: Mapping[str, str] = ctx.env
        cwd, configured = ctx.workdir, ctx.job.shell
        if isinstance(step, RunStep):
            from runner.steps.run import request_for

            request = request_for(step, ctx)  # the step's own environment and directory
            env, cwd, configured = request.env, request.cwd, step.shell or ctx.job.shell
        lines = failure.banner(
            who=self.who, run_id=self.spec.run_id, job_id=self.job.id,
            node=self.spec.node_index if self.job.parallelism > 1 else None,
            index=ctx.index, step=step, outcome=outcome, tail=tail, log_path=ctx.log_path,
        )
        lines.append(
            f"runner: a shell in that step's environment, in {cwd}; `exit` continues the job "
            "(on_fail and always steps, then cleanup)"
        )
        self._shell(ctx.session, env, cwd, configured, lines)

    def finished(self, status: Status) -> None:
        if self._session is None:
            return
        try:
            if self.shell_here and status is not Status.CANCELLED:
                self._shell(self._session, self._env, self._workdir, self.spec.job.shell, [
                    f"runner: {self.who} {status.value}; a shell in its environment, in "
                    f"{self._workdir} (deploy steps were skipped: SSH mode)",
                    "runner: `exit` leaves the shell; the node is then "
                    + ("kept (--keep)" if self.plan.keep else "cleaned up"),
                ])
            if self.plan.keep:
                self._keep(status)
        except (RunnerError, OSError) as exc:  # never in the way of the node's cleanup
            self._notice(_render(exc), "warning")

    # ------------------------------------------------------------ helpers

    def _resync(self, session: Session, workdir: str, start: int) -> str | None:
        """The checkout directories get the working tree as it is now (issue 13): a fix made
        since the kept run is what the rerun tests. See :mod:`runner.debug.resync`."""
        from runner.debug.resync import checkout_dirs, resync

        dirs = checkout_dirs(self.spec.job, start, session, workdir)
        if not self.plan.resync or self.plan.project_root is None or not dirs:
            return None
        try:
            copied, removed = resync(session, self.plan.project_root, dirs, self._env)
        except OSError as exc:
            raise EnvironmentFailure(f"could not resync {', '.join(dirs)}: {exc}") from None
        return (
            f"resynced {', '.join(dirs)} from the working tree ({copied} files copied, "
            f"{removed} deleted ones removed, other files kept; --no-resync keeps the old copy)"
        )

    @property
    def _node_flag(self) -> str:
        return f" --node {self.spec.node_index}" if self.job.parallelism > 1 else ""

    def _label(self) -> str:
        node = f"#{self.spec.node_index}" if self.job.parallelism > 1 else ""
        return f"{self.job.id}{node}"

    def _shell(
        self,
        session: Session,
        env: Mapping[str, str],
        cwd: str,
        configured: str | None,
        lines: list[str],
    ) -> None:
        tty = self.plan.tty
        plan = plan_shell(
            configured=configured, has_bash=session.has_bash, env=env, cwd=cwd,
            task_data=session.task_data, label=self._label(), tty=tty,
        )
        # runner.cli.hold: the terminal's reporter waits while the shell is open
        if self.plan.out is not None:
            say([*lines, "runner: output of other jobs and nodes waits until the shell ends"],
                self.plan.out)
        try:
            code = open_shell(session, plan, tty=tty)
        except (RunnerError, OSError) as exc:
            self._notice(f"could not open a shell: {_render(exc)}", "warning")
            return
        self._notice(f"the shell in {self.who} exited with status {code}", "info")

    def _keep(self, status: Status) -> None:
        session = self._session
        assert session is not None
        if os.path.basename(shell_program(self.spec.job.shell, session.has_bash)) == "bash":
            # what an interactive `runner shell` starts with (see shell.py)
            put_text(session, f"{session.task_data}/{RC_NAME}", rc_text(self._label()))
        kept = KeptNode(
            executor=self.job.executor_kind, run=self.spec.run_id, job=self.job.id,
            job_name=self.job.name, node=self.spec.node_index, home=session.home,
            workdir=self._workdir, bash_env=session.bash_env, task_data=session.task_data,
            shell=self.spec.job.shell or "", has_bash=session.has_bash, env=self._env,
            labels=self.plan.labels_for(self.spec), status=status.value,
        )
        save(self.spec.node_dir, kept)
        self._notice(
            f"kept {self.who}: enter it with "
            f"`runner shell {self.spec.run_id} {shlex.quote(self.job.id)}"
            f"{self._node_flag}`; `runner clean` removes it",
            "info",
        )


def _render(exc: Exception) -> str:
    return exc.render() if isinstance(exc, RunnerError) else str(exc)

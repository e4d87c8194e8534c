"""``runner run``: run jobs or workflows, live, then a summary; exit code from the result."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer

from runner import collector
from runner.cli import common
from runner.errors import ExitCode

_SEL, _ENV, _EXE = common.SELECTION, common.ENVIRONMENT, common.EXECUTORS
_DBG, _OUT = common.DEBUGGING, common.OUTPUT

if TYPE_CHECKING:
    from runner.engine import Engine
    from runner.events import Subscriber
    from runner.report.early import EarlyOffThread
    from runner.runflow import RunRequest


def register(app: typer.Typer) -> None:
    app.command(name="run", no_args_is_help=False)(run)


# The options of `runner run` that no other command shares (the shared ones are in common),
# one constant each so that the command's signature stays a list of names, grouped by panel.
_JOBS = typer.Argument(None, help="Jobs to run (default: the workflows, or 'build').")
_APPROVE = typer.Option(
    [], "--approve", help="Approve this approval job, or 'all'.", rich_help_panel=_SEL
)
_STRICT = typer.Option(
    False, "--strict", help="Refuse the run (exit 2) if a job cannot run on this machine "
    "(macOS, Windows, arm) instead of skipping it.", rich_help_panel=_SEL,
)
_ENV_VAR = typer.Option(
    [], "-e", "--env", help="Variable NAME=value (repeatable).", rich_help_panel=_ENV
)
_ENV_FILE = typer.Option(
    [], "--env-file", help="dotenv file of variables (repeatable).", rich_help_panel=_ENV
)
_PASS_ENV = typer.Option(
    [], "--pass-env", help="Pass this variable of yours to machine jobs.", rich_help_panel=_ENV,
)
_CONTEXTS = typer.Option(
    None, "--contexts", help="Contexts file (see README).", rich_help_panel=_ENV
)
_WORKSPACE_FROM = typer.Option(
    None, "--workspace-from", metavar="RUN",
    help="Attach the workspace run RUN (a number or 'last') persisted.", rich_help_panel=_ENV,
)
_PULL = typer.Option(
    "missing", "--pull", metavar="WHEN", show_default=False,
    help="Pull images: missing (default) | never | always.", rich_help_panel=_EXE
)
_JOBS_LIMIT = typer.Option(
    None, "-j", "--jobs", min=1, metavar="N",
    help="Nodes running at once (default: CPU count).", rich_help_panel=_EXE,
)
_FAIL_FAST = typer.Option(
    False, "--fail-fast", help="Stop everything at the first failure.", rich_help_panel=_EXE
)
_RESOURCE_LIMITS = typer.Option(
    True, "--resource-limits/--no-resource-limits", show_default=False,
    help="resource_class CPU and memory limits (default: on).", rich_help_panel=_EXE,
)
_REMOTE_DOCKER = typer.Option(
    True, "--remote-docker/--no-remote-docker", show_default=False,
    help="Allow setup_remote_docker (default: on).", rich_help_panel=_EXE,
)
_KEEP = typer.Option(
    False, "--keep", help="Keep node homes and containers afterwards.", rich_help_panel=_DBG
)
_SHELL = typer.Option(
    False, "--shell", help="After a job's steps, a shell in its environment (node 0); "
    "deploy steps are skipped, as in CircleCI's SSH reruns.", rich_help_panel=_DBG,
)
_SHELL_ON_FAILURE = typer.Option(
    False, "--shell-on-failure",
    help="When a step fails, a shell in its environment; the job goes on after it.",
    rich_help_panel=_DBG,
)
_FROM_STEP = typer.Option(
    None, "--from-step", metavar="N",
    help="Start the job at step N (from 0, or a name), restoring a kept earlier run.",
    rich_help_panel=_DBG,
)
_ONLY_STEP = typer.Option(
    None, "--only-step", metavar="N", help="Run only step N of the job (see --from-step).",
    rich_help_panel=_DBG,
)
_RESYNC = typer.Option(
    True, "--resync/--no-resync", show_default=False,
    help="With --from-step: refresh the restored checkout from the working tree (default).",
    rich_help_panel=_DBG,
)
_WATCH = typer.Option(
    False, "--watch", help="Run again whenever a file of the project changes.",
    rich_help_panel=_DBG,
)
_JSON = typer.Option(
    False, "--json", help="JSON lines events instead of text.", rich_help_panel=_OUT
)
_COLOR = typer.Option(
    None, "--color/--no-color", help="Colour (default: on a terminal).", rich_help_panel=_OUT
)


def run(  # one parameter per option: typer reads the command from the signature
    ctx: typer.Context,
    jobs: list[str] = _JOBS,
    config: Path = common.CONFIG,
    project_dir: Path = common.PROJECT_DIR,
    workflow: str = common.WORKFLOW,
    branch: str = common.BRANCH,
    tag: str = common.TAG,
    scheduled: str = common.SCHEDULED,
    param: list[str] = common.PARAM,
    with_requires: bool = common.WITH_REQUIRES,
    parallelism: int = common.PARALLELISM,
    node_index: int = common.NODE_INDEX,
    approve: list[str] = _APPROVE,
    env: list[str] = _ENV_VAR,
    env_file: list[Path] = _ENV_FILE,
    pass_env: list[str] = _PASS_ENV,
    contexts: Path = _CONTEXTS,
    workspace_from: str = _WORKSPACE_FROM,
    image: list[str] = common.IMAGE,
    pull: str = _PULL,
    jobs_limit: int = _JOBS_LIMIT,
    fail_fast: bool = _FAIL_FAST,
    resource_limits: bool = _RESOURCE_LIMITS,
    remote_docker: bool = _REMOTE_DOCKER,
    strict: bool = _STRICT,
    orb_dir: Path = common.ORB_DIR,
    orb_host: str = common.ORB_HOST,
    offline: bool = common.OFFLINE,
    primary_env_to_steps: bool = common.PRIMARY_ENV,
    state_dir: Path = common.STATE_DIR,
    keep: bool = _KEEP,
    shell: bool = _SHELL,
    shell_on_failure: bool = _SHELL_ON_FAILURE,
    from_step: str = _FROM_STEP,
    only_step: str = _ONLY_STEP,
    resync: bool = _RESYNC,
    watch: bool = _WATCH,
    json_output: bool = _JSON,
    color: bool = _COLOR,
) -> None:
    """Run jobs: the workflows that apply to this branch, 'build', or the named JOBs.

    Defaults for these options can be set in .circleci/runner.yml and
    $XDG_CONFIG_HOME/runner/runner.yml (see `runner config show`)."""
    from runner.cli.run_settings import apply_settings

    o = apply_settings(ctx)  # the values above, with the settings files' where not given
    request = _request(o, jobs, config, project_dir)
    json_out, colour = o["json_output"], common.color_choice(o["color"])
    if o["watch"]:
        from runner.cli.watch import watch_runs

        code = common.call(lambda: watch_runs(
            request, lambda hook: _execute(request, json_out, colour, hook)
        ))
    else:
        code = common.call(lambda: _execute(request, json_out, colour))
    raise typer.Exit(code)


def _request(
    o: dict[str, Any], jobs: list[str] | None, config: Path, project_dir: Path
) -> RunRequest:
    """The run's request from the option values (settings applied)."""
    from runner.executors.options import DockerOptions
    from runner.runflow import RunRequest

    return RunRequest(
        project=common.project_request(
            config, o["project_dir"], o["branch"], o["tag"], o["param"], o["orb_dir"],
            o["state_dir"], images=o["image"], primary_env_to_steps=o["primary_env_to_steps"],
            orb_host=o["orb_host"], offline=o["offline"], schedule=o["scheduled"],
        ),
        jobs=tuple(jobs or ()),
        workflow=o["workflow"],
        with_requires=o["with_requires"],
        env=tuple(o["env"]),
        env_files=tuple(o["env_file"]),
        pass_env=tuple(o["pass_env"]),
        parallelism=o["parallelism"],
        node_index=o["node_index"],
        jobs_limit=o["jobs_limit"],
        fail_fast=o["fail_fast"],
        strict=o["strict"],
        approve=tuple(o["approve"]),
        contexts_file=o["contexts"],
        keep=o["keep"],
        shell=o["shell"],
        shell_on_failure=o["shell_on_failure"],
        from_step=o["from_step"],
        only_step=o["only_step"],
        resync=o["resync"],
        workspace_from=o["workspace_from"],
        docker=DockerOptions(pull=str(o["pull"]), resource_limits=bool(o["resource_limits"]),
                             remote_docker=bool(o["remote_docker"])),
        terminal=sys.stderr,  # debugging shells' banners: stdout stays the run's output
    )


def _execute(
    request: object,
    json_output: bool,
    color: bool | None,
    on_engine: Callable[[Engine], None] = lambda _e: None,
) -> int:
    from runner import runflow
    from runner.cli.hold import HeldWhileShell

    assert isinstance(request, runflow.RunRequest)
    subscribers: list[Subscriber] = []
    console: EarlyOffThread | None = None
    if json_output:
        from runner.report.jsonl import JsonLinesReporter

        subscribers.append(HeldWhileShell(JsonLinesReporter(sys.stdout)))
    else:
        from runner.report.early import EarlyOffThread

        # rich loads while the engine starts the first containers (runner.report.early)
        console = EarlyOffThread(lambda: _console_reporter(color))
        subscribers.append(HeldWhileShell(console))
    from runner.store.recorder import HistoryRecorder

    recorder = HistoryRecorder(source="cli")  # `runner history`/`logs` and the API read it
    subscribers.append(recorder)
    subscribers.append(_collector_resumer())  # last: after the console is made (it loads rich)
    guard = _SignalGuard()
    with guard:
        try:
            result = runflow.run(
                request,
                subscribers=subscribers,
                approver=_approver(console) if sys.stdin.isatty() and not json_output else None,
                on_engine=_both(guard.attach, on_engine),
            )
        finally:
            if console is not None:  # its first lines before whatever ends the run
                with contextlib.suppress(Exception):  # the bus saw it, or it is moot now
                    console.settle()
    if guard.output_closed:  # the run was stopped for it; see ExitCode.OUTPUT_CLOSED
        return int(ExitCode.OUTPUT_CLOSED)
    return int(result.exit_code)


def _console_reporter(color: bool | None) -> Subscriber:
    from runner.report.console import ConsoleReporter

    return ConsoleReporter(sys.stdout, color=color)


def _collector_resumer() -> Subscriber:
    """A run's start-up is over at its first step, or at its end if none ran: every module it
    needs is loaded by then (runner.collector). Every event passes here: its imports are
    bound once, not per event (a step's output can be millions of them)."""
    from runner.events import Event, RunFinished, StepStarted

    def resume(event: Event) -> None:
        if isinstance(event, (StepStarted, RunFinished)):
            collector.resume()

    return resume


def _both(
    first: Callable[[Engine], None], second: Callable[[Engine], None]
) -> Callable[[Engine], None]:
    def both(engine: Engine) -> None:
        first(engine)
        second(engine)

    return both


def _approver(console: EarlyOffThread | None) -> Callable[[str], bool]:
    def approve(name: str) -> bool:
        if console is not None:  # the run's first lines come before the question
            with contextlib.suppress(Exception):  # the bus sees it at the next event
                console.settle()
        return _terminal_approver(name)

    return approve


def _terminal_approver(name: str) -> bool:
    answer = typer.prompt(f"Approve '{name}'? [y/N]", default="n", show_default=False)
    return answer.strip().lower() in ("y", "yes")


class _SignalGuard:
    """First INT/TERM/HUP: graceful stop and cleanup. A second one: exit at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.count = 0
        self.previous: dict[int, object] = {}
        self.output_closed = False

    def attach(self, engine: Engine) -> None:
        self.engine = engine
        engine.bus.on_output_closed(self._closed)
        engine.bus.on_reporter_failed(lambda text: _say(f"runner: {text}\n"))

    def _closed(self) -> None:
        """stdout's reader went away (``runner run | head``): nobody sees the run any more, so
        stop it as a first Ctrl-C would (steps stopped, containers removed, history marked).
        On a thread of its own: the engine may hold its lock in the thread that found out."""
        _silence_stdout()  # so that the exit's flush of what is buffered stays quiet
        if self.output_closed or self.engine is None:
            return
        self.output_closed = True
        _say("runner: output closed: stopping running steps and cleaning up\n")
        threading.Thread(target=self.engine.cancel, name="output-closed", daemon=True).start()

    def __enter__(self) -> _SignalGuard:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        from runner.executors.interactive import attached

        if signum == signal.SIGINT and attached():
            return  # a Ctrl-C typed in the debugging shell belongs to it (issue 7)
        self.count += 1
        name = signal.Signals(signum).name
        if self.count == 1 and self.engine is not None:
            _say(f"\n{name}: stopping running steps and cleaning up (again to exit at once)\n")
            self.engine.cancel()
            return
        _say(f"\n{name}: exiting now; `runner clean` removes anything left behind\n")
        if self.engine is not None:
            self.engine.force()
        from runner.output import close_open_logs

        close_open_logs()  # what runner received of each step is in its log (issue 13)
        from runner.cli.edge import abandon

        abandon(ExitCode.INTERRUPTED)


def _say(text: str) -> None:
    """A line on stderr, unless stderr is gone too (``runner run 2>&1 | head``)."""
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _silence_stdout() -> None:
    """Point stdout at /dev/null: its reader went away (``runner run | head``)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass

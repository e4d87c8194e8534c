"""From typed requests to results: the core calls behind ``runner run``, ``plan`` and friends.

The CLI (and the API server) build a request record from their arguments and call one function
here; nothing here parses flags, prints, or exits.
"""

from __future__ import annotations

import getpass
import os
import platform
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING

from msgspec import Struct, field
from msgspec.structs import replace

from runner import hostfit
from runner.contexts import contexts_path, load_contexts
from runner.engine import Engine
from runner.environment import parse_assignment, parse_env_file
from runner.errors import UsageError
from runner.events import EventBus, Notice, Subscriber
from runner.executors.base import Executor
from runner.executors.options import DockerOptions, ExecutorOptions
from runner.executors.registry import build_executors
from runner.graph import JobGraph, Selection, plan
from runner.loading import (
    Loaded,
    ProjectRequest,
    load,
    load_options,
    open_project,
    orb_resolver,
    process_text,
)
from runner.output import MIN_SECRET, Masker
from runner.project import Project
from runner.run_types import RunOptions, RunResult
from runner.store import cache_tmp
from runner.store.state import StateDir

__all__ = [  # the loading half lives in runner.loading; callers reach it from here too
    "Loaded", "ProjectRequest", "RunRequest", "load", "open_project", "orb_resolver",
    "process_text", "run", "selection_for",
]

if TYPE_CHECKING:
    from runner.continuation import ContinuationRequest, ContinueWith
    from runner.debug.plan import DebugOptions


class RunRequest(Struct, frozen=True, kw_only=True):
    project: ProjectRequest = field(default_factory=ProjectRequest)
    jobs: tuple[str, ...] = ()
    workflow: str | None = None
    with_requires: bool = False
    env: tuple[str, ...] = ()  # -e NAME=value
    env_files: tuple[Path, ...] = ()
    pass_env: tuple[str, ...] = ()
    parallelism: int | None = None
    node_index: int | None = None
    jobs_limit: int | None = None
    fail_fast: bool = False
    approve: tuple[str, ...] = ()
    contexts_file: Path | None = None
    keep: bool = False
    ssh_mode: bool = False
    # issue 7 (runner.debug): a shell after each job (SSH mode), or when a step fails; and
    # iterating on one step of one job (a step number from 0, or a step's name)
    shell: bool = False
    shell_on_failure: bool = False
    from_step: str | None = None
    only_step: str | None = None
    resync: bool = True  # --from-step: refresh the restored checkout (--no-resync: keep it)
    terminal: IO[str] | None = None  # the CLI's stream for lines to the person at a shell
    workspace_from: str | None = None  # a run number or "last": attach what it persisted
    docker: DockerOptions = field(default_factory=DockerOptions)  # --pull and friends
    # API ``build_parameters``: environment below every config and project value [ENV-2020].
    build_parameters: Mapping[str, str] = field(default_factory=dict)
    # Project-level variables from the API server (its URL and a token), and values to mask.
    extra_env: Mapping[str, str] = field(default_factory=dict)
    extra_secrets: tuple[str, ...] = ()
    passed: tuple[str, ...] = ()  # an API rerun from failed: jobs that passed (graph.Selection)
    # issue 13: jobs that cannot run on this machine refuse the run (exit 2), not skipped
    strict: bool = False


def selection_for(request: RunRequest, project: Project) -> Selection:
    git = project.git
    if not request.jobs and git.in_git and git.sha and not git.branch and not git.tag:
        # Workflows are filtered by branch; planning for no branch at all would silently run
        # only the unfiltered ones (issue 18).
        raise UsageError(
            f"HEAD is detached (at {git.sha[:8]}): there is no branch to plan the workflows for",
            hint="say which branch a push would go to: --branch NAME (or --tag TAG), "
            "or name the jobs to run",
        )
    return Selection(
        jobs=request.jobs,
        workflow=request.workflow,
        with_requires=request.with_requires,
        branch=project.git.branch,
        tag=project.git.tag,
        parallelism=request.parallelism,
        node_index=request.node_index,
        passed=frozenset(request.passed),
    )


def project_env(request: RunRequest, environ: Mapping[str, str]) -> dict[str, str]:
    """``--env-file`` files in order, then ``-e`` values: project-level variables."""
    env: dict[str, str] = {}
    for path in request.env_files:
        try:
            text = path.read_text()
        except OSError as exc:
            raise UsageError(f"cannot read --env-file {path}: {exc.strerror}") from None
        try:
            env.update(parse_env_file(text, str(path)))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    for text in request.env:
        if "=" not in text and text in environ:
            env[text] = environ[text]  # ``-e NAME`` passes the caller's value, as docker does
            continue
        try:
            name, value = parse_assignment(text)
        except ValueError as exc:
            raise UsageError(f"-e: {exc}") from None
        env[name] = value
    return env


def executor_options(request: RunRequest, environ: Mapping[str, str]) -> ExecutorOptions:
    return ExecutorOptions(
        environ=environ, pass_env=request.pass_env, keep=request.keep, docker=request.docker
    )


def run(
    request: RunRequest,
    *,
    subscribers: list[Subscriber],
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    approver: Callable[[str], bool] | None = None,
    on_engine: Callable[[Engine], None] = lambda _e: None,
    executors: Mapping[str, Executor] | None = None,
) -> RunResult:
    """Load, plan, check, then run: everything that can be refused is refused before a start."""
    environ = dict(os.environ if environ is None else environ)
    loaded = load(request.project, cwd=cwd, environ=environ)
    graph = plan(loaded.config, selection_for(request, loaded.project))
    not_here = _check_runnable(graph, strict=request.strict)
    state_root = loaded.state_root
    options = replace(
        _run_options(request, graph, environ, state_root, loaded.project.root), not_here=not_here
    )
    setup = None
    if loaded.config.setup:  # dynamic config: see runner.continuation
        from runner.continuation import setup_run

        setup, options = setup_run(options, _continue_with(request, loaded, environ))
    masker = Masker(options.secrets)
    bus = EventBus(mask=masker.mask)
    for subscriber in subscribers:
        bus.subscribe(subscriber)
    for warning in loaded.config.warnings:  # what CircleCI ignores, said before anything runs
        bus.emit(Notice(text=warning.render(), level="warning"))
    _warn_unmasked(bus, options)
    cache_tmp.sweep(state_root / "caches")  # saves killed with their run
    if loaded.parsed is not None:  # the config was accepted, the run starts: keep its parse,
        # unless it holds a secret's value (no secret is ever written to the state directory)
        loaded.parsed.commit(lambda data: not masker.found_in(data))
    engine = (Engine if setup is None else setup.engine)(
        graph=graph,
        project=loaded.project,
        state=StateDir(state_root, request.project.numbers),
        executors=executors
        if executors is not None
        else build_executors(
            {j.executor_kind for j in graph.jobs if j.id not in not_here},
            executor_options(request, environ),
        ),
        bus=bus,
        options=options,
        approver=approver,
        pipeline_id=loaded.pipeline_id,
    )
    on_engine(engine)
    return engine.run()


def _continue_with(
    request: RunRequest, loaded: Loaded, environ: Mapping[str, str]
) -> ContinueWith:
    """How a continuation becomes jobs of the run: processed with the setup config's pipeline
    values and orb directory, planned for the same branch or tag, with the executors it needs."""
    options = load_options(
        request.project, loaded.project, {}, loaded.pipeline_id, environ,
        state_root=loaded.state_root,
    )
    selection = selection_for(replace(request, jobs=(), workflow=None), loaded.project)

    def continue_with(
        cont: ContinuationRequest, run_dir: Path, have: set[str]
    ) -> tuple[JobGraph, Mapping[str, Executor]]:
        from runner.continuation import load_continued

        config = load_continued(cont, run_dir, options)
        graph = plan(config, selection) if config.jobs else JobGraph(())
        kinds = {j.executor_kind for j in graph.jobs} - have
        return graph, build_executors(kinds, executor_options(request, environ))

    return continue_with


def _run_options(
    request: RunRequest,
    graph: JobGraph,
    environ: Mapping[str, str],
    state_root: Path,
    project_root: Path | None = None,
) -> RunOptions:
    env = project_env(request, environ)
    contexts = _contexts(request, graph, environ)
    debug = None
    wanted = _debug_options(request)
    if wanted is not None:
        from runner.debug.hooks import debug_hooks  # refuses a bad --from-step before any start

        debug = debug_hooks(wanted, graph, state_root, project_root)
    earlier = None
    if request.workspace_from is not None or debug is not None:
        from runner.store.workspace_from import workspace_source

        stepping = request.from_step is not None or request.only_step is not None
        earlier = workspace_source(state_root, request.workspace_from, graph, stepping=stepping)
    # -e, --env-file and context values are secrets, as project variables and contexts are on
    # CircleCI; build parameters are not [ENV-2020]; the API's callback token is.
    secrets = (*env.values(), *(v for c in contexts.values() for v in c.values()),
               *request.extra_secrets)
    return RunOptions(
        jobs_limit=request.jobs_limit or os.cpu_count() or 1,
        fail_fast=request.fail_fast,
        project_env={**request.build_parameters, **request.extra_env, **env},
        contexts=contexts,
        secrets=secrets,
        approve=frozenset(request.approve),
        ssh_mode=request.ssh_mode or request.shell,
        user=_user(),
        debug=debug,
        workspace_from=earlier,
    )


def _debug_options(request: RunRequest) -> DebugOptions | None:
    """The debugging the run asks for, or None (then the debug package is never imported)."""
    if not (request.shell or request.shell_on_failure or request.keep
            or request.from_step is not None or request.only_step is not None):
        return None
    from runner.debug.plan import DebugOptions

    return DebugOptions(
        shell=request.shell, shell_on_failure=request.shell_on_failure, keep=request.keep,
        from_step=request.from_step, only_step=request.only_step, resync=request.resync,
        terminal=request.terminal,
    )


def _warn_unmasked(bus: EventBus, options: RunOptions) -> None:
    """CircleCI warns about secret values too short to mask; so does runner."""
    named = dict(options.project_env)
    for context in options.contexts.values():
        named.update(context)
    for name, value in named.items():
        if value in options.secrets and 0 < len(value.strip()) < MIN_SECRET:
            bus.emit(Notice(
                text=f"{name} is shorter than {MIN_SECRET} characters and will not be masked "
                "in output",
                level="warning",
            ))


def _check_runnable(graph: JobGraph, *, strict: bool) -> dict[str, str]:
    """The jobs that cannot run on this machine, with why (issue 13): they are skipped, unless
    ``--strict`` or nothing else could run (a run of nothing is not a pass)."""
    reasons = hostfit.not_here(graph, platform.machine())
    if reasons and (strict or all(j.id in reasons for j in graph.jobs if j.job)):
        raise UsageError(
            f"job(s) that cannot run on this machine: {hostfit.describe(reasons)}",
            hint="run the other jobs by name, or pick a workflow without them"
            + ("" if strict else "; the others would be skipped"),
        )
    if not graph.jobs:
        skipped = "; ".join(f"{s.name}: {s.reason}" for s in graph.skipped[:5])
        raise UsageError(
            "nothing to run" + (f" ({skipped})" if skipped else ""),
            hint="use --branch/--tag, -w WORKFLOW, or name jobs",
        )
    return reasons


def _contexts(
    request: RunRequest, graph: JobGraph, environ: Mapping[str, str]
) -> dict[str, dict[str, str]]:
    if not any(j.contexts for j in graph.jobs):
        return {}
    path = contexts_path(request.contexts_file, environ)
    return load_contexts(path, required=request.contexts_file is not None)


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


def stream_is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

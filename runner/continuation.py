"""Dynamic config (``setup: true``, issue 15 item 5): a setup workflow continues the same run.

On CircleCI a setup workflow's job gets ``CIRCLE_CONTINUATION_KEY`` and POSTs ``{"continuation-key",
"configuration", "parameters"}`` to ``/api/v2/pipeline/continue`` (the ``circleci/continuation``
orb does it with curl: CircleCI-Public/continuation-orb ``src/scripts/continue.sh``); the
pipeline then runs the workflows of that configuration, processed with those parameters. A
second continuation of the same pipeline is refused.

Here the continuation reaches runner without any network: runner's own ``circleci/continuation``
(:mod:`runner.config.expand.builtin_orbs`) stores it as the artifact ``circleci-continuation``
of the job, and ``runner serve`` takes hand-written POSTs (:mod:`runner.api.continue_route`).
When every setup job has passed, :class:`ContinuingEngine` reads it, checks the key, and the
continued config's jobs join the same run (same run number, history and summary).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from msgspec import Struct
from msgspec.structs import replace

from runner.config.load import LoadOptions, load_config
from runner.config.model import Config
from runner.engine import Engine
from runner.errors import ConfigError, ExitCode, RunnerError
from runner.events import Notice, Status
from runner.executors.base import Executor
from runner.graph import JobGraph, PlannedJob
from runner.run_types import RunOptions

KEY_VARIABLE = "CIRCLE_CONTINUATION_KEY"
ARTIFACT = "circleci-continuation"  # where the built-in orb stores the continuation
MAX_CONFIG = 16 * 1024 * 1024  # as a config file (README "budgets")


class ContinuationRequest(Struct, frozen=True):
    key: str
    configuration: str
    parameters: Mapping[str, Any]


class ContinuationRefused(RunnerError):
    """A continuation runner cannot accept: the message is what CircleCI's API would answer."""

    exit_code = ExitCode.JOB_FAILED


def parse_body(body: Any) -> ContinuationRequest:
    """The JSON body of ``POST /api/v2/pipeline/continue``."""
    if not isinstance(body, dict):
        raise ContinuationRefused("the body must be a JSON object")
    key, config = body.get("continuation-key"), body.get("configuration")
    params = body.get("parameters", {})
    if not isinstance(key, str) or not key:
        raise ContinuationRefused("'continuation-key' is required")
    if not isinstance(config, str):
        raise ContinuationRefused("'configuration' is required: the config as a string")
    if not isinstance(params, dict):
        raise ContinuationRefused("'parameters' must be a JSON object")
    return ContinuationRequest(key, config, params)


def read_stored(folder: Path) -> ContinuationRequest:
    """What the built-in orb's ``continue`` left in ``folder`` (its artifact)."""
    try:
        key = (folder / "continuation-key").read_text()
        config = (folder / "configuration.yml").read_text()
        raw = (folder / "parameters.json").read_text().strip() or "{}"
    except (OSError, UnicodeDecodeError) as exc:
        raise ContinuationRefused(f"the stored continuation is incomplete: {exc}") from None
    try:
        params = json.loads(raw)
    except ValueError:
        raise ContinuationRefused("PARAMETERS aren't valid json") from None  # continue.sh's words
    if not isinstance(params, dict):
        raise ContinuationRefused("PARAMETERS must be a JSON object")
    changed = folder / "files-changed"
    if changed.is_file():  # parameter_for_files_changed: the list joined with commas, as
        name = (folder / "files-changed-parameter").read_text().strip()  # `paste -sd,` does
        params = {**params, name: ",".join(changed.read_text().splitlines())}
    return ContinuationRequest(key, config, params)


class Inbox:
    """The one continuation a pipeline accepts: the key must match, a second one is refused."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.request: ContinuationRequest | None = None
        self._lock = threading.Lock()

    def receive(self, request: ContinuationRequest) -> None:
        with self._lock:
            if request.key != self.key:
                raise ContinuationRefused("the continuation key is not this pipeline's")
            if self.request is not None:
                raise ContinuationRefused("this pipeline was already continued")
            self.request = request


_OPEN: dict[str, Inbox] = {}  # key -> inbox of the running setup pipelines of this process
_OPEN_LOCK = threading.Lock()


def deliver(request: ContinuationRequest) -> None:
    """Hand a continuation received over HTTP to the running pipeline that owns its key."""
    with _OPEN_LOCK:
        inbox = _OPEN.get(request.key)
    if inbox is None:
        raise ContinuationRefused("no running setup pipeline has this continuation key")
    inbox.receive(request)


def parameter_text(name: str, value: Any) -> str:
    """A continuation parameter as ``--param`` text (typed again when the config reads it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    raise ContinuationRefused(f"parameter '{name}': expected a string, integer or boolean")


def load_continued(request: ContinuationRequest, run_dir: Path, options: LoadOptions) -> Config:
    """The continued config, written into the run (so its errors name a file one can open) and
    processed like any config: orbs, pipeline parameters (the continuation's), 2.1."""
    if len(request.configuration.encode()) > MAX_CONFIG:
        raise ContinuationRefused("the continued configuration is larger than 16 MiB")
    params = {k: parameter_text(k, v) for k, v in request.parameters.items()}
    folder = run_dir / "continuation"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yml"
    path.write_text(request.configuration)
    config = load_config(path, str(path), replace(options, pipeline_parameters=params))
    if config.setup:
        raise ContinuationRefused("a continuation cannot be another setup config ('setup: true')")
    return config


# (request, run directory, executor kinds the run has) -> the continued graph, new executors
ContinueWith = Callable[
    [ContinuationRequest, Path, set[str]], tuple[JobGraph, Mapping[str, Executor]]
]


class SetupRun(Struct, frozen=True):
    engine: Callable[..., Engine]  # builds the engine of the run, with Engine's arguments


def setup_run(options: RunOptions, continue_with: ContinueWith) -> tuple[SetupRun, RunOptions]:
    """A setup config's run: a fresh continuation key in every job (masked, as a secret), and
    an engine that continues the pipeline with what is sent back with that key."""
    inbox = Inbox(secrets.token_hex(24))
    options = replace(
        options,
        project_env={**options.project_env, KEY_VARIABLE: inbox.key},
        secrets=(*options.secrets, inbox.key),
    )
    return SetupRun(partial(ContinuingEngine, continue_with=continue_with, inbox=inbox)), options


class ContinuingEngine(Engine):
    """An engine for a setup config: when its jobs are done, the continuation's jobs join."""

    def __init__(self, *, continue_with: ContinueWith, inbox: Inbox, **engine: Any) -> None:
        super().__init__(**engine)
        self.continue_with = continue_with
        self.inbox = inbox

    def schedule(self) -> None:
        with _OPEN_LOCK:
            _OPEN[self.inbox.key] = self.inbox
        try:
            super().schedule()
        finally:
            with _OPEN_LOCK:
                _OPEN.pop(self.inbox.key, None)
        more = self._continuation()
        if more is not None:
            self._join(*more)
            super().schedule()

    def _continuation(self) -> tuple[JobGraph, Mapping[str, Executor]] | None:
        if self.cancelled.is_set():
            return None
        if any(s is not Status.PASSED for s in self.statuses().values()):
            self.bus.emit(Notice(text="the setup workflow did not pass: no continuation"))
            return None
        try:
            for folder in sorted((self.run_dir / "artifacts").glob(f"*/*/{ARTIFACT}")):
                self.inbox.receive(read_stored(folder))
            if self.inbox.request is None:
                self.bus.emit(Notice(
                    text="the setup workflow passed without continuing the pipeline (no "
                    "circleci/continuation step ran): the pipeline ends here", level="warning"))
                return None
            graph, executors = self.continue_with(
                self.inbox.request, self.run_dir, set(self.executors))
        except RunnerError as exc:
            # as CircleCI's API refuses it (the continuing job fails there): a failed entry
            self.add_failed("continuation", "the continuation was refused: " + (
                "; ".join(p.render() for p in exc.problems)
                if isinstance(exc, ConfigError) else exc.render()))
            return None
        if not graph.jobs:
            self.bus.emit(Notice(text="the continuation runs no jobs: the pipeline ends here"))
            return None
        return graph, executors

    def _join(self, graph: JobGraph, executors: Mapping[str, Executor]) -> None:
        jobs = _renamed(graph.jobs, set(self.statuses()))
        # the key is for setup jobs only; the continued ones never see it, as on CircleCI
        env = {k: v for k, v in self.options.project_env.items() if k != KEY_VARIABLE}
        self.options = replace(self.options, project_env=env)
        self.bus.emit(Notice(text="continuing the pipeline: " + ", ".join(j.id for j in jobs)))
        self.join(JobGraph(tuple(jobs), graph.skipped, graph.workflows), executors)


def _renamed(jobs: tuple[PlannedJob, ...], taken: set[str]) -> list[PlannedJob]:
    """Continued jobs keep their ids unless a setup job has it: then ``<workflow>/<id>``."""
    ids: dict[str, str] = {}
    for job in jobs:
        new = job.id if job.id not in taken else f"{job.workflow or 'continued'}/{job.id}"
        while new in taken:
            new += "_"
        ids[job.id] = new
    return [
        replace(job, id=ids[job.id], requires=tuple(ids.get(r, r) for r in job.requires),
                requires_status={ids.get(k, k): v for k, v in job.requires_status.items()})
        for job in jobs
    ]

"""A project and its config, loaded for a pipeline: the first step of every command.

``runner.runflow`` (run, plan) and the CLI's inspecting commands call :func:`load`; it finds the
project, reads its pipeline parameters and values, resolves orbs not vendored (lock, cache,
registry) and applies ``--image`` rules.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct

from runner.config.load import LoadOptions, load_config
from runner.config.model import Config
from runner.config.orb_source import OrbSource, OrbText
from runner.config.substitute import parse_rules, substitute_images
from runner.errors import UsageError
from runner.project import Project, find_project
from runner.store.parsed import ParsedConfigs
from runner.store.state import StateDir, resolve_root

if TYPE_CHECKING:
    from runner.orbs.resolver import RegistryResolver


class ProjectRequest(Struct, frozen=True, kw_only=True):
    """Where the project and its config are, and the pipeline it is processed for."""

    config: Path | None = None
    project_dir: Path | None = None
    branch: str | None = None
    tag: str | None = None
    revision: str | None = None
    params: tuple[str, ...] = ()  # --param KEY=VALUE
    images: tuple[str, ...] = ()  # --image FROM=TO (runner.config.substitute)
    orb_dir: Path | None = None
    primary_env_to_steps: bool = False  # issue 15: the pre-2020 rule for image environment
    offline: bool = False  # never ask CircleCI's orb registry (cache and vendored orbs only)
    orb_host: str | None = None  # the registry's host (else CIRCLECI_CLI_HOST, circleci.com)
    state_dir: Path | None = None
    numbers: tuple[int, tuple[int, ...]] | None = None  # reserved by an API trigger (StateDir)
    pipeline_id: str | None = None  # set by an API trigger, which answers with it
    # ``pipeline.trigger_source`` [PV]: a plain run stands for a push (``webhook``); the API
    # server sets ``api``; ``--scheduled NAME`` stands for a scheduled pipeline of that name.
    trigger_source: str = "webhook"
    schedule: str | None = None



class Loaded(Struct, frozen=True):
    project: Project
    config: Config
    pipeline_id: str
    state_root: Path  # resolved once (--state-dir, RUNNER_STATE_DIR, the project's)
    parsed: ParsedConfigs | None = None  # the config's parse, kept when a run starts


def open_project(request: ProjectRequest, *, cwd: Path | None = None) -> Project:
    project = find_project(config=request.config, project_dir=request.project_dir, cwd=cwd)
    if request.branch is not None and request.tag is not None:
        raise UsageError("--branch and --tag cannot be used together (a push is one or the other)")
    return project.with_refs(branch=request.branch, tag=request.tag, revision=request.revision)


def load(
    request: ProjectRequest,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Loaded:
    project = open_project(request, cwd=cwd)
    environ = os.environ if environ is None else environ
    params = _params(request)
    pipeline_id = request.pipeline_id or str(uuid.uuid4())
    state_root = resolve_root(project.root, request.state_dir, environ)
    parsed = ParsedConfigs(state_root / "parsed")
    options = load_options(request, project, params, pipeline_id, environ, state_root=state_root,
                           parsed=parsed)  # fmt: skip
    rules = parse_rules(request.images)  # a bad rule is refused before the config is read
    config = load_config(project.config_path, project.config_display, options)
    return Loaded(project, substitute_images(config, rules), pipeline_id, state_root, parsed)


def load_options(
    request: ProjectRequest,
    project: Project,
    params: dict[str, str],
    pipeline_id: str,
    environ: Mapping[str, str],
    *,
    state_root: Path,
    parsed: ParsedConfigs | None = None,
) -> LoadOptions:
    state = StateDir(state_root, request.numbers)
    return LoadOptions(
        pipeline_parameters=params,
        pipeline_values=_pipeline_values(project, state, pipeline_id, request),
        orb_dir=request.orb_dir or project.root / ".circleci" / "orbs",
        orb_source=OnFirstOrb(lambda: orb_resolver(request, project, environ)),
        primary_env_to_steps=request.primary_env_to_steps,
        parsed=parsed,
    )


class OnFirstOrb:
    """The orb source a load asks, made (its lock read, its cache opened) when the config
    first names an orb it has not vendored. Most configs never do, and loading
    :mod:`runner.orbs` took 5-12 ms of every run's start (issue 17). A broken lock file is
    now found when an orb is resolved with it, not by runs that resolve none."""

    def __init__(self, make: Callable[[], OrbSource]) -> None:
        self._make = make
        self._source: OrbSource | None = None

    def resolve(self, reference: str) -> OrbText:
        if self._source is None:
            self._source = self._make()
        return self._source.resolve(reference)


def orb_resolver(
    request: ProjectRequest, project: Project, environ: Mapping[str, str], *, locked: bool = True
) -> RegistryResolver:
    """Orbs the project has not vendored: its lock, the orb cache, CircleCI's registry."""
    from runner.orbs.lock import lock_path, read_lock
    from runner.orbs.resolver import default_resolver

    path = lock_path(project.config_path)
    display = str(Path(project.config_display).parent / path.name)
    return default_resolver(
        environ, lock=read_lock(path, display) if locked else None, lock_display=display,
        host=request.orb_host, offline=request.offline,
    )


def process_text(request: ProjectRequest, *, cwd: Path | None = None) -> str:
    """The processed config as YAML, like ``circleci config process``."""
    from runner.config.dump import dump_processed
    from runner.config.load import build_config, processed_tree

    project = open_project(request, cwd=cwd)
    state_root = resolve_root(project.root, request.state_dir, os.environ)
    options = load_options(
        request, project, _params(request), str(uuid.uuid4()), os.environ, state_root=state_root
    )
    root, version = processed_tree(project.config_path, project.config_display, options)
    build_config(root, version, project.config_display)  # refuse what `run` would refuse
    return dump_processed(root)


def _params(request: ProjectRequest) -> dict[str, str]:
    params: dict[str, str] = {}
    for text in request.params:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise UsageError(f"--param takes KEY=VALUE, got {text!r}")
        params[key] = value
    return params


def _pipeline_values(
    project: Project, state: StateDir, pipeline_id: str, request: ProjectRequest
) -> dict[str, object]:
    git = project.git
    number = state.peek_run_number()
    try:
        from runner.config.pipeline import pipeline_values
    except ImportError:  # 2.1 processing not installed: pipeline values unused by 2.0 configs
        return {}
    return pipeline_values(
        branch=git.branch,
        tag=git.tag,
        revision=git.sha,
        git_url=git.remote_url,
        number=number,
        pipeline_id=pipeline_id,
        trigger_source="scheduled_pipeline" if request.schedule else request.trigger_source,
        schedule=request.schedule or "",
    )

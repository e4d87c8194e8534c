"""Checking a trigger before anything is queued: the config loads, the job or the pipeline
parameters exist, and there is something to run. Every refusal is a 400 and queues nothing.

Loads are cached for a few seconds per (config file state, refs, parameters): a burst of
triggers reads the config once. The run itself always loads the config afresh.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path

from msgspec import Struct

from runner import runflow
from runner.api.body import JobTrigger
from runner.api.errors import bad_request
from runner.api.parameters import refusal
from runner.api.projects import ServedProject
from runner.errors import ConfigError, RunnerError
from runner.graph import JobGraph, Selection, plan

CACHE_SECONDS = 5.0
_FOREIGN = ("macos", "windows")


class Refs(Struct, frozen=True, kw_only=True):
    branch: str | None = None
    tag: str | None = None
    revision: str | None = None
    params: tuple[str, ...] = ()  # KEY=VALUE
    source: Path | None = None  # a clone of the commit to build (api.revisions); else the tree

    def root(self, project: ServedProject) -> Path:
        return self.source or project.root

    def project_request(self, project: ServedProject, **extra: object) -> runflow.ProjectRequest:
        return runflow.ProjectRequest(
            project_dir=self.root(project),
            branch=self.branch,
            tag=self.tag,
            revision=self.revision,
            params=self.params,
            # a clone lives elsewhere: its runs still belong to the project's state directory
            state_dir=project.state_root if self.source else project.state_override,
            trigger_source="api",  # pipeline.trigger_source of an API-triggered pipeline [PV]
            **extra,  # type: ignore[arg-type]
        )


class Validator:
    def __init__(self, environ: Mapping[str, str], allowed: frozenset[str] = frozenset()) -> None:
        self.environ = environ
        self.allowed = allowed  # runner serve --allow-parameter NAME
        self._cache: dict[tuple[object, ...], tuple[float, runflow.Loaded]] = {}
        self._lock = threading.Lock()

    def load(self, project: ServedProject, refs: Refs) -> runflow.Loaded:
        config = refs.root(project) / ".circleci" / "config.yml"
        try:
            stat = config.stat()
        except OSError:
            raise bad_request(f"the project has no config file at {config.name}") from None
        key = (str(project.root), stat.st_mtime_ns, stat.st_size, refs)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        try:
            loaded = runflow.load(
                refs.project_request(project), cwd=project.root, environ=self.environ
            )
        except ConfigError as exc:
            raise bad_request(exc.render()) from None
        except RunnerError as exc:
            raise bad_request(exc.render()) from None
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if now - v[0] < CACHE_SECONDS}
            self._cache[key] = (now, loaded)
        return loaded

    def plan_job(self, project: ServedProject, trigger: JobTrigger, refs: Refs) -> JobGraph:
        """The one job a v1.1 trigger names, with ``parallel`` applied [APIJOB]."""
        loaded = self.load(project, refs)
        if trigger.job not in loaded.config.jobs:
            raise bad_request(
                f"Job '{trigger.job}' not found in the config; its jobs: "
                + ", ".join(sorted(loaded.config.jobs))
            )
        why = refusal(  # only names the project allows (issue 14)
            trigger.build_parameters, loaded.config, loaded.project.config_path, self.allowed
        )
        if why is not None:
            raise bad_request(why)
        return _planned(loaded, Selection(jobs=(trigger.job,), parallelism=trigger.parallel))

    def plan_pipeline(
        self, project: ServedProject, refs: Refs, *, workflow: str | None = None,
        passed: tuple[str, ...] = (),
    ) -> JobGraph:
        """The workflows a v2 pipeline runs for its branch or tag; or one workflow of a rerun,
        without the jobs that ``passed`` before."""
        self.check_declared(project, refs)
        loaded = self.load(project, refs)
        git = loaded.project.git
        selection = Selection(
            branch=git.branch, tag=git.tag, workflow=workflow, passed=frozenset(passed)
        )
        return _planned(loaded, selection)

    def check_declared(self, project: ServedProject, refs: Refs) -> None:
        """Pipeline parameters must be declared by the config; CircleCI's words [PV]."""
        if not refs.params:
            return
        from runner.config.load import parse_root
        from runner.config.yaml import MDict

        path = refs.root(project) / ".circleci" / "config.yml"
        try:
            root = parse_root(path, path.name)
        except ConfigError as exc:
            raise bad_request(exc.render()) from None
        declared = root.get("parameters")
        names = set(declared) if isinstance(declared, MDict) else set()
        unknown = [p.partition("=")[0] for p in refs.params if p.partition("=")[0] not in names]
        if unknown:
            raise bad_request("Unexpected argument(s): " + ", ".join(unknown))


def _planned(loaded: runflow.Loaded, selection: Selection) -> JobGraph:
    try:
        graph = plan(loaded.config, selection)
    except RunnerError as exc:
        raise bad_request(exc.render()) from None
    foreign = sorted({j.executor_kind for j in graph.jobs if j.executor_kind in _FOREIGN})
    if foreign:
        raise bad_request(f"{' and '.join(foreign)} jobs cannot run on this machine")
    return graph

"""What each step kind means, written once against the executor-neutral Session.

A step kind with no handler yet is reported in the run as "skipped: not supported yet",
never silently dropped.
"""

from __future__ import annotations

import importlib

from runner.config import model as m
from runner.events import Status, StepOutcome
from runner.executors.registry import own_docker
from runner.steps.context import Handler, StepContext

# Step kind -> "module:function". Handlers are imported on first use: a run of `run` steps
# should not pay for the archive and cache machinery (``runner run`` start-up is measured).
_HANDLER_PATHS: dict[type[m.Step], str] = {
    m.RunStep: "runner.steps.run:run_step",
    m.CheckoutStep: "runner.steps.checkout:checkout",
    m.SetupRemoteDockerStep: "runner.steps.remote_docker:setup_remote_docker",
    m.SaveCacheStep: "runner.steps.cache:save_cache",
    m.RestoreCacheStep: "runner.steps.cache:restore_cache",
    m.PersistToWorkspaceStep: "runner.steps.workspace:persist_to_workspace",
    m.AttachWorkspaceStep: "runner.steps.workspace:attach_workspace",
    m.StoreArtifactsStep: "runner.steps.artifacts:store_artifacts",
    m.StoreTestResultsStep: "runner.steps.artifacts:store_test_results",
}
_loaded: dict[type[m.Step], Handler] = {}


def _handler(kind: type[m.Step]) -> Handler | None:
    if kind not in _loaded:
        path = _HANDLER_PATHS.get(kind)
        if path is None:
            return None
        module, _, name = path.partition(":")
        _loaded[kind] = getattr(importlib.import_module(module), name)
    return _loaded[kind]


def _not_supported(step: m.Step, ctx: StepContext) -> StepOutcome:
    return StepOutcome(
        status=Status.NOT_SUPPORTED, message=f"skipped: {step.kind} is not supported yet"
    )


def _remote_docker_on_machine(step: m.Step, ctx: StepContext) -> StepOutcome:
    # "setup_remote_docker is not compatible with machine": Docker is local already [CR][RDOCK]
    return StepOutcome(
        status=Status.SKIPPED,
        message="skipped: setup_remote_docker is for docker jobs; a machine job uses the "
        "machine's own Docker",
    )


def handler_for(step: m.Step, executor_kind: str) -> Handler:
    if isinstance(step, m.SetupRemoteDockerStep) and own_docker(executor_kind):
        return _remote_docker_on_machine
    return _handler(type(step)) or _not_supported

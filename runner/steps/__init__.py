"""What each step kind means, written once against the executor-neutral Session.

A step kind with no handler yet is reported in the run as "skipped: not supported yet",
never silently dropped.
"""

from __future__ import annotations

from runner.config import model as m
from runner.events import Status, StepOutcome
from runner.steps.checkout import checkout
from runner.steps.context import Handler, StepContext
from runner.steps.jobdata import JOB_DATA_HANDLERS
from runner.steps.remote_docker import setup_remote_docker
from runner.steps.run import run_step

HANDLERS: dict[type[m.Step], Handler] = {
    m.RunStep: run_step,
    m.CheckoutStep: checkout,
    m.SetupRemoteDockerStep: setup_remote_docker,
    **JOB_DATA_HANDLERS,
}


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
    if isinstance(step, m.SetupRemoteDockerStep) and executor_kind == "machine":
        return _remote_docker_on_machine
    return HANDLERS.get(type(step), _not_supported)

"""``setup_remote_docker``: later steps of a docker job reach a Docker engine [CR][RDOCK].

CircleCI gives the job a separate engine and sets ``DOCKER_HOST``; runner hands the job the
engine it uses itself, which is root on this machine, and says so in one line. The session does
the work (see ``runner/executors/docker/remote.py``); a session without the ability (a test
double, a future executor) fails the step with a clear message. ``version`` and
``docker_layer_caching`` have no local meaning: the engine is whatever runs here.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from runner.config.model import SetupRemoteDockerStep, Step
from runner.errors import RunnerError
from runner.events import Status, StepOutcome
from runner.steps.context import StepContext

WARNING = (
    "warning: setup_remote_docker gives this job the host's Docker engine, which is root on "
    "this machine (--no-remote-docker refuses it)"
)


@runtime_checkable
class RemoteDockerCapable(Protocol):
    def setup_remote_docker(self) -> str:
        """Make an engine reachable from later steps; return their DOCKER_HOST."""


def setup_remote_docker(step: Step, ctx: StepContext) -> StepOutcome:
    assert isinstance(step, SetupRemoteDockerStep)
    session = ctx.session
    if not isinstance(session, RemoteDockerCapable):
        return StepOutcome(
            status=Status.FAILED, message="setup_remote_docker works only in docker jobs"
        )
    try:
        host = session.setup_remote_docker()
    except RunnerError as exc:
        return StepOutcome(status=Status.FAILED, message=exc.render())
    ctx.sink.write(f"{WARNING}\n".encode())
    if step.version:
        ctx.sink.write(f"version {step.version} ignored: the engine is the host's own\n".encode())
    ctx.sink.write(f"DOCKER_HOST={host} for the following steps\n".encode())
    return StepOutcome(status=Status.PASSED)

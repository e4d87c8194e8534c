"""What a run asks of its executors, typed: built by :mod:`runner.runflow` from the request,
turned into backends by :mod:`runner.executors.registry`.

Podman is the docker backend reached through ``DOCKER_HOST`` (see the README): it has no
options of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

from msgspec import Struct, field


class DockerOptions(Struct, frozen=True, kw_only=True):
    pull: str = "missing"  # --pull: always, missing or never
    resource_limits: bool = True  # --no-resource-limits: containers get the engine's defaults
    remote_docker: bool = True  # --no-remote-docker: refuse setup_remote_docker


class ExecutorOptions(Struct, frozen=True, kw_only=True):
    environ: Mapping[str, str]  # runner's environment (DOCKER_HOST, RUNNER_STOP_GRACE...)
    pass_env: tuple[str, ...] = ()  # --pass-env: names whose values the steps get
    keep: bool = False  # --keep: nodes are left in place after the run
    docker: DockerOptions = field(default_factory=DockerOptions)

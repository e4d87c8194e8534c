"""Running jobs on a given executor in-process, and looking at what is left in the engine."""

from __future__ import annotations

import os
import textwrap
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from runner import runflow
from runner.engine import Engine
from runner.events import Event, Notice, StepOutput
from runner.executors.base import Executor, KillPolicy
from tests.support import Collected, make_project

BUSYBOX = "runner-test/busybox:latest"
DEBIAN = "runner-test/debian:bookworm"
FAST_STOP = KillPolicy(interrupt_grace=1.0, terminate_grace=1.0)
STATE_LABEL = "com.runner.state"


def docker_executor(**fields: Any) -> Executor:
    from runner.executors.docker import DockerExecutor

    fields.setdefault("kill", FAST_STOP)
    return DockerExecutor(environ=dict(os.environ), **fields)


def machine_executor() -> Executor:
    from runner.executors.machine import MachineExecutor

    return MachineExecutor(environ=dict(os.environ), kill=FAST_STOP)


def docker_project(
    root: Path, body: str, image: str = BUSYBOX, *, images: str | None = None, **files: str
) -> Path:
    """A project whose job ``build`` runs on ``image`` (or the ``docker:`` list ``images``, as
    YAML); ``body`` is the rest of the job."""
    listing = textwrap.dedent(images).strip("\n") if images else f"- image: {image}"
    config = "version: 2.1\njobs:\n  build:\n    docker:\n"
    config += textwrap.indent(listing, "      ") + "\n"
    config += textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"
    return make_project(root, config, files)


class Run(Collected):
    """Collected events, plus the engine, and a trigger to act when a line appears."""

    def __init__(self, when_output: tuple[str, Callable[[Engine], None]] | None = None) -> None:
        super().__init__()
        self.engine: Engine | None = None
        self._trigger = when_output
        self._fired = False

    def __call__(self, event: Event) -> None:
        super().__call__(event)
        if self._trigger and not self._fired and isinstance(event, StepOutput):
            text, action = self._trigger
            if text in event.text and self.engine is not None:
                self._fired = True
                threading.Thread(target=action, args=(self.engine,), daemon=True).start()

    def notices(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, Notice)]


def run_with(
    project: Path,
    executors: Mapping[str, Executor],
    *,
    when_output: tuple[str, Callable[[Engine], None]] | None = None,
    **request_fields: Any,
) -> Run:
    """``runflow.run`` with these executors; ``when_output`` acts on the engine from another
    thread as soon as a step prints the given text (an event, never a sleep)."""
    run = Run(when_output)
    known = ("branch", "tag", "params", "primary_env_to_steps")
    project_fields = {k: request_fields.pop(k) for k in list(request_fields) if k in known}
    request = runflow.RunRequest(
        project=runflow.ProjectRequest(project_dir=project, **project_fields),
        **request_fields,
    )

    def attach(engine: Engine) -> None:
        run.engine = engine

    run.result = runflow.run(
        request, subscribers=[run], cwd=project, executors=executors, on_engine=attach
    )
    return run


def containers(state_name: str) -> list[Any]:
    """Every container (any state) of runs whose state directory has the label ``state_name``."""
    import docker

    client = docker.from_env()
    try:
        return list(client.containers.list(all=True, filters={"label": f"{STATE_LABEL}={state_name}"}))
    finally:
        client.close()

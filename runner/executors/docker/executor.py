"""The docker executor: jobs in real containers, with CircleCI's docker semantics [CR][DOCK].

``prepare()`` connects to the engine (``docker.from_env``: ``DOCKER_HOST`` works as it is),
checks or pulls every image as ``--pull`` says, works out resource limits and reaps what dead
runs left behind, all before any job starts. ``open()`` starts one node's containers
(:mod:`containers`); the returned :class:`DockerSession` runs steps (served by the primary's
shell, or by exec: :mod:`server`) and removes the containers in ``close()``.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from msgspec import Struct, field

from runner.config.model import Job, SetupRemoteDockerStep
from runner.executors.base import KillPolicy, NodeSpec
from runner.executors.docker import labels as lab
from runner.executors.docker import scripts
from runner.executors.docker.connection import Api, EngineError, connect, engine_address
from runner.executors.docker.containers import (
    Launch,
    inline_files,
    open_node,
    remove_all,
    roles,
)
from runner.executors.docker.images import ImageFacts, check_policy, ensure_images
from runner.executors.docker.remote import RemoteDocker, plan
from runner.executors.docker.resources import LimitPolicy, Limits
from runner.executors.docker.server import StepServer
from runner.executors.docker.session import DockerSession
from runner.executors.options import DockerOptions
from runner.executors.task_files import task_files_tar

REAP_DEADLINE = 65.0  # seconds: the reaper's removals give up after 60 (remove_all)

class DockerExecutor(Struct):
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    keep: bool = False
    pass_env: tuple[str, ...] = ()
    pull: str = "missing"
    limits: LimitPolicy = field(default_factory=LimitPolicy)
    remote_docker: bool = True
    serve: bool = True  # foreground steps served without an exec each (server.py)
    kill: KillPolicy = field(default_factory=KillPolicy)
    token: str = field(default_factory=lab.new_token)
    _api: Api | None = None
    _images: dict[str, ImageFacts] = field(default_factory=dict)
    _limits: dict[str, Limits] = field(default_factory=dict)
    _remote: RemoteDocker | None = None
    _reaper: threading.Thread | None = None

    kind = "docker"

    @classmethod
    def from_options(
        cls,
        *,
        environ: Mapping[str, str],
        keep: bool = False,
        pass_env: tuple[str, ...] = (),
        options: DockerOptions | None = None,
    ) -> DockerExecutor:
        """The executor a run asks for (built by :mod:`runner.executors.registry`)."""
        options = options or DockerOptions()
        return cls(
            kill=KillPolicy.from_env(environ),  # RUNNER_STOP_GRACE, as the machine executor
            environ=environ,
            # A way out should a served step ever behave unlike an exec: every step an exec.
            serve=environ.get("RUNNER_DOCKER_SERVE", "1").strip().lower() not in SWITCHED_OFF,
            keep=keep,
            pass_env=tuple(pass_env),
            pull=check_policy(options.pull),
            limits=LimitPolicy(enabled=options.resource_limits),
            remote_docker=options.remote_docker,
        )

    @property
    def api(self) -> Api:
        if self._api is None:
            self._api = connect(self.environ)
        return self._api

    def prepare(self, jobs: list[Job], notice: Callable[[str], None]) -> None:
        api = self.api
        self._reaper = threading.Thread(target=self._reap, args=(notice,), daemon=True)
        self._reaper.start()
        self._images = ensure_images(api, jobs, self.pull, self.environ, notice)
        host_cpus = self._engine_cpus(api) if self.limits.enabled else 0
        for job in jobs:
            key = job.resource_class or ""
            if key not in self._limits:
                self._limits[key] = self.limits.limits_for(job.resource_class, host_cpus, notice)
        if any(_wants_remote_docker(job) for job in jobs):
            self._remote = plan(self.environ, allowed=self.remote_docker)

    def _engine_cpus(self, api: Api) -> int:
        """The engine's CPU count: this machine's for a local socket (``/info`` costs ~12 ms
        of every run), else the engine's own answer."""
        if urlsplit(engine_address(self.environ)).scheme == "unix":
            return os.cpu_count() or 0
        try:
            return int(api.info().get("NCPU") or 0)
        except (EngineError, ValueError):
            return 0

    def _reap(self, notice: Callable[[str], None]) -> None:
        from runner.executors.docker_cleanup import reap_dead

        for line in reap_dead(self.api):
            notice(line)

    def open(self, spec: NodeSpec, notice: Callable[[str], None]) -> DockerSession:
        job = spec.job
        executor = job.executor
        assert executor.kind == "docker" and hasattr(executor, "images")
        primary, services = executor.images[0], tuple(executor.images[1:])
        run_label = lab.run_label(spec)
        launch = Launch(
            api=self.api,
            images=self._images,
            primary=primary,
            services=services,
            workdir=job.working_directory,
            labels=self._labels(spec, run_label),
            names={
                role: lab.container_name(run_label, spec.job_id, spec.node_index, self.token, role)
                for role in roles(primary, services)
            },
            limits=self._limits.get(job.resource_class or "") or Limits(pids=self.limits.pids),
            remote=self._remote if _wants_remote_docker(job) else None,
            task_files=spec.task_files,
            serve=self.serve,
        )
        try:
            opened = open_node(launch)
        except BaseException:
            _discard(launch)
            raise
        started = opened.primary
        boxes = [started, *[c for c in launch.created if c.role != "primary"]]
        session = DockerSession(
            api=self.api,
            spec=spec,
            primary=started,
            containers=boxes,
            facts=opened.facts,
            user=launch.step_user,
            image_env=launch.facts(primary).env,
            pass_env={k: self.environ[k] for k in self.pass_env if k in self.environ},
            kill=self.kill,
            notice=notice,
            environ=self.environ,
            keep=self.keep,
            remote=launch.remote,
        )
        if opened.attach is not None:
            session.server = StepServer(opened.attach, launch.token)
        elif opened.facts.serving == "exec":
            session.server = _serve_by_exec(session, launch.token)
        large = inline_files(spec.task_files)[1]
        if large:  # too big to travel as setup arguments
            session.put_archive(session.task_data, io.BytesIO(task_files_tar(large)))
        return session

    def _labels(self, spec: NodeSpec, run_label: str) -> dict[str, str]:
        labels: dict[str, Any] = {
            **spec.labels,
            lab.RUN: run_label,
            lab.STATE: lab.state_of(run_label),
            lab.PROJECT: lab.state_of(run_label),
            lab.JOB: spec.job_id,
            lab.NODE: str(spec.node_index),
            **lab.owner_labels(),
        }
        if self.keep:
            labels[lab.KEEP] = "1"
        return {k: str(v) for k, v in labels.items()}

    def shutdown(self) -> None:
        if self._reaper is not None:
            # Its removals have their own deadline: returning earlier would leave them undone.
            self._reaper.join(REAP_DEADLINE)
        if self._api is not None:
            # Closing the pool's sockets takes a few ms that nobody needs to wait for.
            threading.Thread(target=self._api.close, name="engine-close", daemon=True).start()
            self._api = None


SWITCHED_OFF = ("0", "false", "no", "off")


def _serve_by_exec(session: DockerSession, token: str) -> StepServer | None:
    """A serving shell started by one exec as the job's user (scripts.SERVE): the same user,
    groups and environment every step's own exec would have. The engine answers once the
    connection is hijacked; the first command waits in the shell's stdin while it starts."""
    argv = ["/bin/sh", "-c", scripts.SERVE, "runner-serve", token, scripts.STEP]
    try:
        return StepServer(session.api.exec_socket(session.cid, argv, user=session.user), token)
    except EngineError:
        return None  # every step is an exec, as without a server


def _wants_remote_docker(job: Job) -> bool:
    return any(isinstance(step, SetupRemoteDockerStep) for step in job.steps)


def _discard(launch: Launch) -> None:
    """Remove what a failed or interrupted ``open()`` created (it never became a session)."""
    with contextlib.suppress(Exception):  # the original error is the one to report
        remove_all(launch.api, list(launch.created), deadline=30)

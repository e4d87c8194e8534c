"""One job node as a set of containers: the :class:`Session` of the docker executor."""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import signal
import tarfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO

from msgspec import Struct, field

from runner.errors import EnvironmentFailure, Interrupted
from runner.executors.base import ExecRequest, KillPolicy, NodeSpec, OutputSink, Process
from runner.executors.docker import gone, scripts
from runner.executors.docker.connection import Api, EngineError
from runner.executors.docker.containers import RUNNER_DIR, Started, UserFacts, remove_all
from runner.executors.docker.process import DockerProcess, ExecPlan
from runner.executors.docker.remote import CERTS, RemoteDocker
from runner.executors.docker.server import StepServer
from runner.executors.process import RunningSteps

TAG_VARIABLE = "RUNNER_STEP_ID"  # as host_procs.TAG_VARIABLE: marks a step's processes
SCRIPT_VARIABLE = "RUNNER_SCRIPT"
INLINE_SCRIPT_MAX = 96 * 1024  # one environment string may hold 128 KiB (MAX_ARG_STRLEN)
CLOSE_DEADLINE = 30.0  # seconds for removing a node's containers


class DockerSession(Struct):
    api: Api
    spec: NodeSpec
    primary: Started
    containers: list[Started]  # every container of the node, primary first
    facts: UserFacts
    user: str  # who steps run as (exec's User)
    image_env: Mapping[str, str]
    pass_env: Mapping[str, str]
    kill: KillPolicy
    notice: Callable[[str], None]
    environ: Mapping[str, str] = field(default_factory=dict)  # runner's own (DOCKER_HOST...)
    keep: bool = False
    remote: RemoteDocker | None = None
    server: StepServer | None = None  # the primary's shell, when it serves foreground steps
    _overlay: dict[str, str] = field(default_factory=dict)  # set by setup_remote_docker
    _base: dict[str, str] = field(default_factory=dict)
    _procs: RunningSteps = field(default_factory=RunningSteps)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _steps: int = 0
    _halt_seen: bool = False  # a step ended with `circleci-agent step halt`
    _closed: bool = False

    @property
    def cid(self) -> str:
        return self.primary.cid

    @property
    def home(self) -> str:
        return self.facts.home

    @property
    def has_bash(self) -> bool:
        return self.facts.has_bash

    @property
    def bash_env(self) -> str:
        return f"{RUNNER_DIR}/bash_env"

    @property
    def task_data(self) -> str:
        return f"{RUNNER_DIR}/task-data"

    def base_env(self) -> Mapping[str, str]:
        # The image's own ENV (PATH...) and HOME; never the host's PATH: it means nothing here.
        self._base = {**self.image_env, **self.pass_env, "HOME": self.home}
        return dict(self._base)

    def resolve(self, path: str, base: str | None = None) -> str:
        if path == "~" or path.startswith("~/"):
            return os.path.normpath(self.home + path[1:])
        if os.path.isabs(path):
            return os.path.normpath(path)
        root = base if base is not None else self.resolve(self.spec.job.working_directory, "~")
        return os.path.normpath(os.path.join(root, path))

    # ------------------------------------------------------------ steps

    def start(self, request: ExecRequest, sink: OutputSink) -> Process:
        with self._lock:
            self._steps += 1
            prefix = f"{RUNNER_DIR}/steps/{self._steps}"
        env = {**request.env, TAG_VARIABLE: request.tag}
        for key, value in self._overlay.items():  # just above the node's own variables
            if request.env.get(key) == self._base.get(key):
                env[key] = value
        if len(request.script.encode()) <= INLINE_SCRIPT_MAX:
            env[SCRIPT_VARIABLE] = request.script
        else:
            self._put_bytes(prefix + ".sh", request.script.encode())
        grace = str(int(self.kill.terminate_grace * 10))
        words = [prefix, request.tag, grace, request.cwd, *request.shell]
        argv = ["/bin/sh", "-c", scripts.STEP, "runner-step", *words]
        command = None
        if self.server is not None and not request.background and SCRIPT_VARIABLE in env:
            command = served_command(words, env, self.server.token)
        plan = ExecPlan(argv=argv, env=env, prefix=prefix, command=command)
        process = DockerProcess(
            self, request=request, plan=plan, sink=sink, kill=self.kill, on_exit=self._procs.forget
        )
        self._procs.start(process, process.launch)
        return process

    def signal(self, pidfile: str, sig: signal.Signals) -> None:
        """Signal one step's process group, from a root exec (see scripts.py)."""
        name = sig.name.removeprefix("SIG")
        argv = ["/bin/sh", "-c", scripts.SIGNAL, "runner-signal", pidfile, name]
        try:
            self.api.run(self.cid, argv)
        except EngineError as exc:
            if exc.status != 409 or "paused" not in exc.reason:
                raise
            # `docker pause` froze the container: no exec starts in it and no signal reaches
            # its processes. The step must still end (no_output_timeout, Ctrl-C: issue 13),
            # so thaw it, then signal.
            self.api.unpause(self.cid)
            self.api.run(self.cid, argv)

    def make_dir(self, path: str) -> bool:
        """Create a missing working directory for the job's user; False when impossible."""
        uid, gid = str(self.facts.uid), str(self.facts.gid)
        code, _ = self.api.run(
            self.cid, ["/bin/sh", "-c", scripts.MAKE_DIR, "runner-mkdir", uid, gid, path]
        )
        return code == 0

    def oom_killed(self) -> bool:
        try:
            return bool(self.api.inspect(self.cid).get("State", {}).get("OOMKilled"))
        except EngineError:
            return False

    def read_text(self, path: str) -> str | None:
        """A small file of the container, or None when it does not exist."""
        try:
            if not self.api.stat(self.cid, path):
                return None
            data = b"".join(self.api.get_archive(self.cid, path))
        except EngineError:
            return None
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            member = archive.next()
            handle = archive.extractfile(member) if member is not None else None
            return handle.read().decode(errors="replace") if handle is not None else None

    def interrupt(self) -> None:
        self._procs.interrupt()

    def kill_now(self) -> None:
        """A second Ctrl-C: remove the containers now (that kills every step), briefly."""
        for process in self._procs.running(close=True):
            process.mark_killed()
        with contextlib.suppress(EnvironmentFailure):  # close() tries again, or `runner clean`
            self._remove_all(deadline=2.0)

    # ------------------------------------------------------------ files

    def put_files(self, dest: str, root: Path, names: list[str]) -> None:
        # imported here: a job without checkout, caches or workspaces never needs them
        from runner.executors import tree_copy
        from runner.executors.docker import archives

        uid, gid = self.facts.uid, self.facts.gid
        what = f"copy the project into {dest}"
        if not tree_copy.available():
            chunks = archives.project_tar(root, names, dest, uid, gid)
            self._put("/", self._unless_stopped(chunks), what)
            return
        # The host's GNU tar makes the stream (issue 17: a Python header per file made a big
        # checkout several times slower than ``tar | docker cp -``); ``dest`` is made first,
        # owned by the job's user, as the archive API only extracts into an existing folder.
        self._put("/", b"".join(archives.project_tar(root, [], dest, uid, gid)), what)
        chunks = tree_copy.tar_chunks(root, tree_copy.with_folders(names), uid, gid)
        self._put(dest, self._unless_stopped(chunks), what)

    @property
    def _stopped(self) -> bool:
        """Set by interrupt(): no new step may start, and uploads stop."""
        return self._procs.stopped

    def _unless_stopped(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """The chunks of an upload, cut short by interrupt(): a Ctrl-C must not wait for it."""
        for chunk in chunks:
            if self._stopped:
                raise Interrupted("interrupted during the copy")
            yield chunk

    def put_archive(self, dest: str, data: IO[bytes]) -> None:
        from runner.executors.docker import archives

        spool = archives.owned_archive(data, dest, self.facts.uid, self.facts.gid)
        self._put("/", archives.file_chunks(spool), f"extract an archive into {dest}")

    def get_archive(self, path: str) -> Iterator[bytes]:
        doing = f"reading {path}"
        try:
            if not self.api.stat(self.cid, path):
                gone.check_alive(self.api, self.cid, self.environ, doing)  # 404: which one?
                raise FileNotFoundError(path)
            stream = self.api.get_archive(self.cid, path)
        except EngineError as exc:
            gone.check_alive(self.api, self.cid, self.environ, doing)
            raise EnvironmentFailure(
                f"cannot read {path} from the container: {exc.reason}"
            ) from None
        return gone.watched(self.api, self.cid, self.environ, doing, stream)

    def saw_halt(self) -> None:
        self._halt_seen = True

    def halted(self) -> bool:
        # A step's wrapper notes the marker when the step ends (saw_halt), which saves asking
        # the engine after every step; only a background step may leave it at another time.
        if self._halt_seen:
            return True
        background = bool(self._procs.running())
        return background and self.exists(self.task_data + "/halt")

    def exists(self, path: str) -> bool:
        try:
            if self.api.stat(self.cid, path):
                return True
        except EngineError as exc:
            gone.check_alive(self.api, self.cid, self.environ, f"looking for {path}")
            raise EnvironmentFailure(f"the primary container is gone: {exc.reason}") from None
        gone.check_alive(self.api, self.cid, self.environ, f"looking for {path}")  # 404: which?
        return False

    def shell(
        self, argv: list[str], *, env: Mapping[str, str], cwd: str, stdin_is_tty: bool
    ) -> int:
        """The debugging shell: ``docker exec -i [-t]`` in the primary, as the step user."""
        from runner.executors.interactive import docker_exec

        if not self.api.stat(self.cid, cwd):
            self.make_dir(cwd)
        return docker_exec(
            self.primary.name, argv, env={**env, **self._overlay}, cwd=cwd, user=self.user,
            stdin_is_tty=stdin_is_tty, environ=self.environ,
        )

    def _put(self, dest: str, data: bytes | Iterator[bytes], what: str) -> None:
        try:
            self.api.put_archive(self.cid, dest, data)
        except EngineError as exc:
            if self._stopped:  # the upload was cut short on purpose (_unless_stopped)
                raise Interrupted(f"interrupted: could not {what}") from None
            raise EnvironmentFailure(f"cannot {what}: {exc.reason}") from None

    def _put_bytes(self, path: str, data: bytes) -> None:
        info = tarfile.TarInfo(path.lstrip("/"))
        info.size, info.uid, info.gid, info.mode = len(data), self.facts.uid, self.facts.gid, 0o644
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            archive.addfile(info, io.BytesIO(data))
        self._put("/", buffer.getvalue(), f"write {path}")

    # ------------------------------------------------------------ setup_remote_docker

    def setup_remote_docker(self) -> str:
        """Make the engine reachable from later steps; returns DOCKER_HOST (remote.py)."""
        remote = self.remote
        if remote is None or remote.refusal():
            raise EnvironmentFailure(
                remote.refusal() or "" if remote else "setup_remote_docker: not prepared"
            )
        overlay = {"DOCKER_HOST": remote.docker_host}
        if remote.cert_dir:
            self._copy_certs(remote.cert_dir)
            overlay |= {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": f"{RUNNER_DIR}/docker-certs"}
        exports = [f"export {k}={scripts.quote(v)}" for k, v in overlay.items()]
        code, out = self.api.run(
            self.cid, ["/bin/sh", "-c", scripts.APPEND, "runner-env", self.bash_env, *exports],
            user=self.user,
        )
        if code != 0:
            raise EnvironmentFailure(f"setup_remote_docker: cannot write BASH_ENV: {out.strip()}")
        self._overlay.update(overlay)
        return remote.docker_host

    def _copy_certs(self, cert_dir: str) -> None:
        for name in CERTS:
            source = Path(cert_dir) / name
            if source.is_file():
                self._put_bytes(f"{RUNNER_DIR}/docker-certs/{name}", source.read_bytes())

    # ------------------------------------------------------------ the end

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.interrupt()
        self._report_services()
        if self.keep:
            self._detach()
            for box in self.containers:
                self.notice(f"kept {box.role} container: {self._enter_hint(box)}")
            return
        try:
            self._remove_all(deadline=CLOSE_DEADLINE)
        finally:
            self._detach()

    def _enter_hint(self, box: Started) -> str:
        """How to enter a kept container: the primary as the job's user, in its working
        directory, with its HOME (what ``runner shell`` gives; a bare exec is root, HOME=/root)."""
        if box.role != "primary":
            return f"docker exec -it {box.name} sh"
        words = ["docker", "exec", "-it"]
        if self.user:
            words += ["-u", self.user]
        words += ["-w", self.resolve(self.spec.job.working_directory, "~"), "-e",
                  f"HOME={self.home}", box.name, "bash" if self.has_bash else "sh"]
        return shlex.join(words)

    def _detach(self) -> None:
        """Close the serving connection (a kept container's shell goes on waiting)."""
        if self.server is not None:
            self.server.close()

    def _report_services(self) -> None:
        for box in self.containers[1:]:
            try:
                state = self.api.inspect(box.cid).get("State", {})
            except EngineError:
                continue
            if not state.get("Running") and state.get("ExitCode"):
                tail = self.api.logs_tail(box.cid)
                self.notice(
                    f"service {box.role} exited with code {state.get('ExitCode')}"
                    + (f"; its last output:\n{tail}" if tail else "")
                )

    def _remove_all(self, *, deadline: float) -> None:
        remove_all(self.api, self.containers, deadline=deadline)


def served_command(words: list[str], env: Mapping[str, str], token: str) -> str | None:
    """The serving shell's command for one step (scripts.SERVE): the step wrapper
    in a session of its own, with the step's environment over the container's, as an exec
    would run it. None when it cannot be said safely: an environment name ``env`` would take
    for an option, or a line that is the end token."""
    if any(not key or key.startswith("-") or "=" in key for key in env):
        return None
    assignments = " ".join(scripts.quote(f"{key}={value}") for key, value in env.items())
    quoted = " ".join(scripts.quote(word) for word in words[1:])
    command = (
        f"d={scripts.quote(words[0])}\n"
        f'env {assignments} setsid /bin/sh -c "$step" runner-step "$d" {quoted}'
    )
    return None if token in command else command

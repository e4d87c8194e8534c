"""The machine executor: steps run as host processes, in an isolated home per job node.

``HOME`` is a fresh directory under the run's state directory, so ``~/project`` never touches the
user's own home. Only a controlled environment reaches steps (PATH, locale, terminal, and what
``--pass-env`` names): the caller's environment holds secrets. There is no isolation beyond that,
and the README says so.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from runner.config.model import Job
from runner.executors import host_procs
from runner.executors.base import (
    ExecRequest,
    ExecResult,
    KillPolicy,
    NodeSpec,
    OutputSink,
    Process,
)
from runner.executors.machine_ns import CIRCLECI_HOME, HomeView, namespace_wanted

# Host variables steps may see; everything else must be asked for with --pass-env.
PASSED_BY_DEFAULT = ("PATH", "LANG", "LANGUAGE", "TERM", "TZ", "COLORTERM", "NO_COLOR")
PASSED_PREFIXES = ("LC_",)
_IDLE_FLUSH = 0.2  # seconds before a partial line is shown


@dataclass
class MachineExecutor:
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    pass_env: tuple[str, ...] = ()
    kill: KillPolicy = field(default_factory=KillPolicy)
    keep: bool = False
    namespace: bool = False  # steps see the home at /home/circleci (decided by prepare)

    kind = "machine"

    def prepare(self, jobs: list[Job], notice: Callable[[str], None]) -> None:
        host_procs.become_subreaper()
        self.namespace = namespace_wanted(self.environ)
        if self.namespace:
            notice(f"machine: steps run in a mount namespace (bubblewrap), HOME={CIRCLECI_HOME}")
        elif any(CIRCLECI_HOME in repr(job) for job in jobs):
            notice(
                f"machine: the config names {CIRCLECI_HOME}, but steps run with HOME in the "
                "state directory (no usable bubblewrap here): such paths are this host's own"
            )

    def open(self, spec: NodeSpec, notice: Callable[[str], None]) -> MachineSession:
        home = spec.node_dir / "home"
        home.mkdir(parents=True, exist_ok=True)
        (spec.node_dir / "tmp").mkdir(exist_ok=True)
        (spec.node_dir / "task-data").mkdir(exist_ok=True)
        (spec.node_dir / "bash_env").touch()
        for item in spec.task_files:
            target = spec.node_dir / "task-data" / item.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(item.text)
            target.chmod(item.mode)
        env = {k: v for k, v in self.environ.items() if _passes(k, self.pass_env)}
        session = MachineSession(spec=spec, home_dir=home, env=env, kill=self.kill, keep=self.keep,
                                 view=HomeView(home, self.namespace))
        workdir = spec.job.working_directory
        if not workdir.startswith("~") and os.path.isabs(workdir):
            notice(
                f"working_directory {workdir} is outside the node's home: the machine executor "
                "uses that path on this computer as it is"
            )
        Path(session.view.to_host(session.resolve(workdir))).mkdir(parents=True, exist_ok=True)
        return session

    def shutdown(self) -> None:
        return None


def _passes(name: str, extra: tuple[str, ...]) -> bool:
    return name in PASSED_BY_DEFAULT or name.startswith(PASSED_PREFIXES) or name in extra


@dataclass
class MachineSession:
    spec: NodeSpec
    home_dir: Path
    env: dict[str, str]
    kill: KillPolicy
    keep: bool = False
    view: HomeView = field(default_factory=lambda: HomeView(Path(), mounted=False))
    _running: list[HostProcess] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _scripts: int = 0
    _stopped: bool = False  # set by interrupt(): no new process may start
    _at_close: list[Callable[[], None]] = field(default_factory=list)

    @property
    def home(self) -> str:
        return self.view.home

    @property
    def has_bash(self) -> bool:
        return os.path.exists("/bin/bash")

    @property
    def bash_env(self) -> str:
        return str(self.spec.node_dir / "bash_env")

    @property
    def task_data(self) -> str:
        return str(self.spec.node_dir / "task-data")

    def base_env(self) -> Mapping[str, str]:
        return {**self.env, "HOME": self.home, "TMPDIR": str(self.spec.node_dir / "tmp")}

    def resolve(self, path: str, base: str | None = None) -> str:
        if path == "~" or path.startswith("~/"):
            return os.path.normpath(self.home + path[1:])
        if os.path.isabs(path):
            return os.path.normpath(path)
        root = base if base is not None else self.resolve(self.spec.job.working_directory)
        return os.path.normpath(os.path.join(root, path))

    def start(self, request: ExecRequest, sink: OutputSink) -> Process:
        # A step's working_directory is created when missing, like the job's [CR].
        os.makedirs(self.view.to_host(request.cwd), exist_ok=True)
        with self._lock:
            self._scripts += 1
            script = self.spec.node_dir / "tmp" / f"step-{self._scripts}.sh"
        script.write_text(request.script)
        env = {**request.env, host_procs.TAG_VARIABLE: request.tag}
        process = HostProcess(request, sink, self.kill, on_exit=self._forget)
        process.settle = 1.0 if self.view.mounted else 0.0
        with self._lock:
            refused = self._stopped
            if not refused:
                self._running.append(process)
        if refused:
            # interrupted between the node's cancel check and this start: never launch
            process.refuse()
        else:
            argv = self.view.wrap([*request.shell, str(script)], request.cwd)
            process.launch(argv, env, self.view.to_host(request.cwd))
        return process

    def _forget(self, process: HostProcess) -> None:
        with self._lock:
            if process in self._running:
                self._running.remove(process)

    def interrupt(self) -> None:
        with self._lock:
            self._stopped = True
            running = list(self._running)
        threads = [threading.Thread(target=p.stop) for p in running]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def kill_now(self) -> None:
        with self._lock:
            running = list(self._running)
        for process in running:
            process.kill_now()

    def put_files(self, dest: str, root: Path, names: list[str]) -> None:
        """Copy ``names`` (relative to ``root``) into ``dest``, keeping modes and symlinks."""
        from runner.executors import tree_copy

        target = Path(self.view.to_host(dest))
        if tree_copy.available():  # two tar processes: what a user would script (issue 17)
            tree_copy.copy_files(root, names, target, lambda: self._stopped)
        else:
            tree_copy.copy_files_here(root, names, target, lambda: self._stopped)

    def host_dir(self, path: str) -> Path:
        return Path(self.view.to_host(path))

    def at_close(self, action: Callable[[], None]) -> None:
        self._at_close.append(action)  # a kept checkout's return (executors/kept_checkout.py)

    def stopping(self) -> bool:
        return self._stopped

    def put_archive(self, dest: str, data: IO[bytes]) -> None:
        from runner.archive import safe_extract

        safe_extract(data, Path(self.view.to_host(dest)))

    def get_archive(self, path: str) -> Iterator[bytes]:
        from runner.archive import tar_stream

        return tar_stream(Path(self.view.to_host(path)))

    def exists(self, path: str) -> bool:
        return os.path.lexists(self.view.to_host(path))

    def halted(self) -> bool:
        return os.path.lexists(self.task_data.rstrip("/") + "/halt")

    def shell(
        self, argv: list[str], *, env: Mapping[str, str], cwd: str, stdin_is_tty: bool
    ) -> int:
        from runner.executors.interactive import run_attached

        os.makedirs(self.view.to_host(cwd), exist_ok=True)
        # Tagged like a step of this node, so what the shell leaves running is swept at close.
        tagged = {**env, host_procs.TAG_VARIABLE: f"{self.spec.tag}-shell"}
        return run_attached(self.view.wrap(argv, cwd), env=tagged, cwd=self.view.to_host(cwd),
                            stdin_is_tty=stdin_is_tty)

    def close(self) -> None:
        self.interrupt()
        host_procs.sweep_orphans(self.spec.tag, grace=self.kill.terminate_grace)
        if not self.keep:
            for action in self._at_close:
                action()
            for name in ("tmp", "home", "task-data"):
                shutil.rmtree(self.spec.node_dir / name, ignore_errors=True)


class HostProcess:
    """One step's process tree, its output pump and its phased stop."""

    def __init__(
        self,
        request: ExecRequest,
        sink: OutputSink,
        kill: KillPolicy,
        on_exit: Callable[[HostProcess], None],
    ) -> None:
        self.request = request
        self.sink = sink
        self.kill = kill
        self.on_exit = on_exit
        self._popen: subprocess.Popen[bytes] | None = None
        self._result: ExecResult | None = None
        self._finished = threading.Event()
        self._stopping = threading.Event()
        self._timed_out = False
        self._started = 0.0
        self.settle = 0.0  # seconds the group may take to end by itself (a pid namespace)

    def launch(self, argv: list[str], env: Mapping[str, str], cwd: str) -> None:
        self._started = time.monotonic()
        try:
            self._popen = subprocess.Popen(
                argv,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            self._finish(ExecResult(error=_start_error(exc, argv, cwd)))
            return
        threading.Thread(target=self._pump, name=f"step-{self.request.tag}", daemon=True).start()
        if self._stopping.is_set():  # stop() came while Popen was starting the process
            threading.Thread(target=self.stop, daemon=True).start()

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    def wait(self) -> ExecResult:
        self._finished.wait()
        assert self._result is not None
        return self._result

    def refuse(self) -> None:
        """Finish without starting: the session was interrupted before this step began."""
        self._stopping.set()
        self._finish(ExecResult(interrupted=True))

    def stop(self) -> None:
        """INT, then TERM, then KILL to the whole group; returns once the step has ended."""
        self._stopping.set()  # seen by launch() if the process is still being started
        if self._popen is None or self.done:
            return
        pgid = self._popen.pid
        for sig, grace in (
            (signal.SIGINT, self.kill.interrupt_grace),
            (signal.SIGTERM, self.kill.terminate_grace),
        ):
            host_procs.signal_group(pgid, sig)
            if self._finished.wait(grace):
                return
        host_procs.signal_group(pgid, signal.SIGKILL)
        self._finished.wait()

    def kill_now(self) -> None:
        if self._popen is not None and not self.done:
            self._stopping.set()
            host_procs.signal_group(self._popen.pid, signal.SIGKILL)

    def _pump(self) -> None:
        popen = self._popen
        assert popen is not None and popen.stdout is not None
        fd = popen.stdout.fileno()
        selector = selectors.DefaultSelector()
        selector.register(fd, selectors.EVENT_READ)
        limit = self.request.no_output_timeout
        last_output = time.monotonic()
        exited_at: float | None = None
        leftovers: list[str] = []
        try:
            while True:
                now = time.monotonic()
                wait = _IDLE_FLUSH
                if limit is not None and not self._timed_out:
                    wait = max(0.0, min(wait, last_output + limit - now))
                if selector.select(wait):
                    data = os.read(fd, 65536)
                    if not data:
                        break
                    self.sink.write(data)
                    last_output = time.monotonic()
                    continue
                self.sink.idle()
                now = time.monotonic()
                if limit is not None and not self._timed_out and now - last_output >= limit:
                    self._timed_out = True
                    threading.Thread(target=self._stop_for_timeout, daemon=True).start()
                if exited_at is None and popen.poll() is not None:
                    # The shell is gone but something holds the pipe: the step's leftovers.
                    exited_at = now
                    leftovers += self._sweep()
                    exited_at = time.monotonic()
                elif exited_at is not None and now - exited_at > self.kill.terminate_grace + 1:
                    break  # an escaped writer we could not find: stop waiting for EOF
        finally:
            selector.close()
            popen.stdout.close()
        popen.wait()
        if exited_at is None:
            leftovers += self._sweep()
        self.sink.idle()
        self._finish(self._result_of(popen.returncode, leftovers))

    def _sweep(self) -> list[str]:
        assert self._popen is not None
        found: list[str] = []
        if not host_procs.settle_group(self._popen.pid, self.settle):
            found.append(f"process group {self._popen.pid}")
            host_procs.stop_group(self._popen.pid, grace=self.kill.terminate_grace)
        found += host_procs.sweep_orphans(self.request.tag, grace=self.kill.terminate_grace)
        return found

    def _stop_for_timeout(self) -> None:
        assert self._popen is not None
        host_procs.signal_group(self._popen.pid, signal.SIGTERM)
        if not self._finished.wait(self.kill.terminate_grace):
            host_procs.signal_group(self._popen.pid, signal.SIGKILL)

    def _result_of(self, code: int, leftovers: list[str]) -> ExecResult:
        duration = time.monotonic() - self._started
        sig = -code if code < 0 else None
        return ExecResult(
            exit_code=None if sig else code,
            signal=sig,
            timed_out=self._timed_out,
            interrupted=self._stopping.is_set() and not self._timed_out,
            duration=duration,
            leftovers=tuple(leftovers),
        )

    def _finish(self, result: ExecResult) -> None:
        self._result = result
        self._finished.set()
        self.on_exit(self)


def _start_error(exc: OSError, argv: list[str], cwd: str) -> str:
    if not os.path.isdir(cwd):
        return f"working directory {cwd} does not exist"
    return f"cannot start {argv[0]}: {exc.strerror or exc}"

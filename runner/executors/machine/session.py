"""One machine job node: a home directory on this host (the machine executor's session)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO

from msgspec import Struct, field

from runner.executors import host_procs
from runner.executors.base import ExecRequest, KillPolicy, NodeSpec, OutputSink, Process
from runner.executors.machine.namespace import HomeView
from runner.executors.machine.process import HostProcess
from runner.executors.process import RunningSteps


class MachineSession(Struct):
    spec: NodeSpec
    home_dir: Path
    env: dict[str, str]
    kill: KillPolicy
    keep: bool = False
    view: HomeView = field(default_factory=lambda: HomeView(Path(), mounted=False))
    _procs: RunningSteps = field(default_factory=RunningSteps)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _scripts: int = 0
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
        process = HostProcess(request, sink, self.kill, on_exit=self._procs.forget)
        process.settle = 1.0 if self.view.mounted else 0.0
        argv = self.view.wrap([*request.shell, str(script)], request.cwd)
        cwd = self.view.to_host(request.cwd)
        self._procs.start(process, lambda: process.launch(argv, env, cwd))
        return process

    def interrupt(self) -> None:
        self._procs.interrupt()

    def kill_now(self) -> None:
        for process in self._procs.running():
            process.kill_now()

    @property
    def _stopped(self) -> bool:
        """Set by interrupt(): no new process may start, and copies stop."""
        return self._procs.stopped

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

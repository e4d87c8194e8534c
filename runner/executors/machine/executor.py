"""The machine executor: steps run as host processes, in an isolated home per job node.

``HOME`` is a fresh directory under the run's state directory, so ``~/project`` never touches the
user's own home. Only a controlled environment reaches steps (PATH, locale, terminal, and what
``--pass-env`` names): the caller's environment holds secrets. There is no isolation beyond that,
and the README says so.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from msgspec import Struct, field

from runner.config.model import Job
from runner.executors import host_procs
from runner.executors.base import KillPolicy, NodeSpec
from runner.executors.machine.namespace import CIRCLECI_HOME, HomeView, namespace_wanted
from runner.executors.machine.session import MachineSession

# Host variables steps may see; everything else must be asked for with --pass-env.
PASSED_BY_DEFAULT = ("PATH", "LANG", "LANGUAGE", "TERM", "TZ", "COLORTERM", "NO_COLOR")
PASSED_PREFIXES = ("LC_",)


class MachineExecutor(Struct):
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


"""Where a machine node's home appears to its steps: at ``/home/circleci``, like CircleCI's.

On CircleCI's machine executor ``HOME`` is ``/home/circleci`` and the project
``/home/circleci/project`` [CR `machine`; the `circleci/python` orb caches
``/home/circleci/.local/share/virtualenvs``], and configs hard-code those paths. Where
bubblewrap (Debian's ``bubblewrap``) can make a mount namespace, each step runs in one in which
the rest of the host is as it is and the node's home (a directory under the state directory) is
mounted at ``/home/circleci``. ``--unshare-pid`` also contains the step's processes: whatever it
leaves behind, even a ``setsid env -i`` daemon the environment tag cannot find, ends with it.

Where bubblewrap is missing or refused (no user namespaces), steps run as before in the home under
the state directory; ``RUNNER_MACHINE_NAMESPACE=0`` asks for that too. runner's own file work
(checkout, caches, workspaces) happens outside the namespace: :meth:`HomeView.to_host` maps a
path steps see to the host's.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path

from msgspec import Struct

from runner.host_tools import probe

CIRCLECI_HOME = "/home/circleci"
SWITCH = "RUNNER_MACHINE_NAMESPACE"  # "0": never use the namespace


@functools.cache
def bwrap_path() -> str | None:
    """bubblewrap, when it is installed and can make the namespaces steps need here."""
    probed = probe("bwrap", ["--dev-bind", "/", "/", "--unshare-pid", "--", "true"])
    return probed[0] if probed is not None and probed[1].returncode == 0 else None


def namespace_wanted(environ: Mapping[str, str]) -> bool:
    return environ.get(SWITCH, "1") != "0" and bwrap_path() is not None


class HomeView(Struct, frozen=True):
    """The node's home on the host, and whether steps see it at ``/home/circleci``."""

    host_home: Path
    mounted: bool

    @property
    def home(self) -> str:
        return CIRCLECI_HOME if self.mounted else str(self.host_home)

    def to_host(self, path: str) -> str:
        """A path as steps see it -> the same file on the host."""
        if self.mounted and (path == CIRCLECI_HOME or path.startswith(CIRCLECI_HOME + "/")):
            return str(self.host_home) + path[len(CIRCLECI_HOME):]
        return path

    def wrap(self, argv: list[str], cwd: str) -> list[str]:
        """``argv`` run in the namespace, starting in ``cwd`` (as steps see it)."""
        if not self.mounted:
            return argv
        bwrap = bwrap_path()
        assert bwrap is not None
        # The exit status is the step's (bubblewrap reports a step killed by signal N as
        # 128+N, as a shell does). No --die-with-parent: runner's INT to the step's group ends
        # bubblewrap's monitor at once, and the step must still get its grace to clean up.
        return [bwrap, "--dev-bind", "/", "/", *_home_mounts(self.host_home), "--unshare-pid",
                "--chdir", cwd, "--", *argv]


def _home_mounts(host_home: Path) -> list[str]:
    """Mount the node's home at /home/circleci without creating anything on the host: over an
    existing /home/circleci, else in a tmpfs /home that shows every entry of the real one."""
    if os.path.isdir(CIRCLECI_HOME):
        return ["--bind", str(host_home), CIRCLECI_HOME]
    out = ["--tmpfs", "/home"]
    for entry in sorted(os.listdir("/home")) if os.path.isdir("/home") else []:
        path = f"/home/{entry}"
        if os.path.islink(path):
            out += ["--symlink", os.readlink(path), path]
        else:
            out += ["--dev-bind", path, path]
    return [*out, "--bind", str(host_home), CIRCLECI_HOME]

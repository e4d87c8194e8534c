"""The docker backend's kept environments: a kept primary container, found by its labels.

It is reached through the ``docker`` CLI, as ``docker exec -it`` is (see
:mod:`runner.executors.interactive`): the primary container is found by the labels the kept
record names (:meth:`DockerKept.labels`, the ones :mod:`.executor` gave it).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence

from runner.errors import EnvironmentFailure
from runner.executors.base import NodeSpec
from runner.executors.docker import labels as lab
from runner.executors.interactive import docker_exec
from runner.executors.kept import KeptNode

_CHUNK = 1024 * 1024


class DockerKept:
    on_host = False
    restore_note = "; files elsewhere in the container are not"

    def labels(self, spec: NodeSpec) -> dict[str, str]:
        return {
            lab.RUN: lab.run_label(spec),
            lab.JOB: spec.job_id,
            lab.NODE: str(spec.node_index),
            lab.ROLE: "primary",
        }

    def alive(self, kept: KeptNode) -> bool:
        return self.container(kept, start=False) is not None

    def container(self, kept: KeptNode, *, start: bool = True) -> str | None:
        """The kept primary container's id (started again if it stopped), or None."""
        filters = [f"--filter=label={k}={v}" for k, v in sorted(kept.labels.items())]
        if not filters:
            return None
        found = _docker("ps", "-aq", "--no-trunc", *filters).split()
        if not found:
            return None
        cid = found[0]
        if start and _docker("inspect", "-f", "{{.State.Running}}", cid).strip() != "true":
            _docker("start", cid)
        return cid

    def enter(
        self, kept: KeptNode, argv: Sequence[str], *, env: Mapping[str, str], tty: bool
    ) -> int:
        cid = self._need(kept)
        # Steps run as the image's user, not as the container's (root) first process: the
        # owner of the home is that user.
        user = _docker("exec", cid, "stat", "-c", "%u:%g", kept.home, check=False).strip()
        return docker_exec(
            cid, argv, env=env, cwd=kept.workdir, user=user if ":" in user else "",
            stdin_is_tty=tty,
        )

    def archive(self, kept: KeptNode, path: str) -> Iterator[bytes]:
        cid = self._need(kept)
        proc = subprocess.Popen(
            [_cli(), "cp", f"{cid}:{path}", "-"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        return _stream(proc, f"docker cp {path}")

    def _need(self, kept: KeptNode) -> str:
        cid = self.container(kept)
        if cid is None:
            raise EnvironmentFailure(
                f"the kept container of {kept.title} is gone",
                hint="it was removed (`runner clean`, or by hand); run the job again with --keep",
            )
        return cid


def _cli() -> str:
    cli = shutil.which("docker")
    if cli is None:
        raise EnvironmentFailure(
            "kept docker environments are reached with the docker CLI, and `docker` is not on "
            "the PATH",
            hint="install the docker CLI (Debian: apt install docker.io, or docker-ce-cli)",
        )
    return cli


def _docker(*args: str, check: bool = True) -> str:
    done = subprocess.run([_cli(), *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise EnvironmentFailure(f"docker {args[0]}: {done.stderr.strip() or 'failed'}")
    return done.stdout


def _stream(proc: subprocess.Popen[bytes], what: str) -> Iterator[bytes]:
    assert proc.stdout is not None and proc.stderr is not None
    complete = False
    try:
        while chunk := proc.stdout.read(_CHUNK):
            yield chunk
        complete = True
    finally:
        proc.stdout.close()
        error = proc.stderr.read().decode(errors="replace").strip()
        proc.stderr.close()
        code = proc.wait()
    if complete and code != 0:  # a reader that stopped early has its own error to report
        raise EnvironmentFailure(f"{what}: {error or 'failed'}")

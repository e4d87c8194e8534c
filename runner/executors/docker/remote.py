"""``setup_remote_docker`` emulated with the engine runner itself uses.

On CircleCI the step gives the job a separate engine reached through ``DOCKER_HOST`` [RDOCK];
locally the nearest honest thing is the engine runner talks to. A socket can only be mounted
when a container is created, so the primary container of a job that has a
``setup_remote_docker`` step gets it at creation, and nothing else ever does: the host's socket
is root on the host (reliability note 9), so no job gets it by default, and
``--no-remote-docker`` refuses the step.

* unix socket (the default, or ``DOCKER_HOST=unix://...``): bind-mounted at
  ``/var/run/docker.sock``, and the socket's group added to the container's groups so a
  non-root job user can use it.
* ``DOCKER_HOST=tcp://...``: passed as it is; a loopback address is rewritten to
  ``host.docker.internal`` (mapped to the host gateway), since the container's loopback is its
  own. With ``DOCKER_TLS_VERIFY`` the client certificates are copied into the container.
* anything else (``ssh://``): the step fails and says why.

The step sets ``DOCKER_HOST`` for later steps twice over: an ``export`` in ``BASH_ENV`` (the
CircleCI mechanism) and a session-level overlay applied to every later exec, so that ``sh``
images, which never read ``BASH_ENV``, get it too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from msgspec import Struct, field

SOCKET_INSIDE = "/var/run/docker.sock"
CERTS = ("ca.pem", "cert.pem", "key.pem")
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


class RemoteDocker(Struct, frozen=True):
    allowed: bool = True
    docker_host: str = ""  # DOCKER_HOST as seen from inside the container
    problem: str = ""  # why the engine cannot be handed to a container
    binds: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    group_add: tuple[str, ...] = ()
    extra_hosts: Mapping[str, str] = field(default_factory=dict)
    cert_dir: str = ""  # host directory of TLS client certificates

    @property
    def active(self) -> bool:
        return self.allowed and not self.problem

    def host_config(self) -> dict[str, object]:
        """What the primary container needs at creation for the step to work later."""
        if not self.active:
            return {}
        config: dict[str, object] = {}
        if self.binds:
            config["binds"] = dict(self.binds)
        if self.group_add:
            config["group_add"] = list(self.group_add)
        return config

    def refusal(self) -> str | None:
        if not self.allowed:
            return (
                "setup_remote_docker is turned off (--no-remote-docker): this job cannot use "
                "a Docker engine"
            )
        if self.problem:
            return f"setup_remote_docker: {self.problem}"
        return None


def plan(environ: Mapping[str, str], *, allowed: bool) -> RemoteDocker:
    if not allowed:
        return RemoteDocker(allowed=False)
    address = environ.get("DOCKER_HOST") or f"unix://{SOCKET_INSIDE}"
    parts = urlsplit(address)
    if parts.scheme == "unix":
        return _unix(parts.path or SOCKET_INSIDE)
    if parts.scheme == "tcp":
        return _tcp(address, environ)
    return RemoteDocker(
        problem=f"DOCKER_HOST={address} cannot be handed to a container (unix or tcp only)"
    )


def _unix(path: str) -> RemoteDocker:
    try:
        gid = os.stat(path).st_gid
    except OSError as exc:
        return RemoteDocker(problem=f"the engine's socket {path} is not reachable: {exc.strerror}")
    return RemoteDocker(
        docker_host=f"unix://{SOCKET_INSIDE}",
        binds={path: {"bind": SOCKET_INSIDE, "mode": "rw"}},
        group_add=(str(gid),) if gid else (),
    )


def _tcp(address: str, environ: Mapping[str, str]) -> RemoteDocker:
    parts = urlsplit(address)
    extra: dict[str, str] = {}
    if parts.hostname in _LOOPBACK:
        netloc = "host.docker.internal" + (f":{parts.port}" if parts.port else "")
        address = urlunsplit(parts._replace(netloc=netloc))
        extra["host.docker.internal"] = "host-gateway"
    cert_dir = ""
    if environ.get("DOCKER_TLS_VERIFY"):
        cert_dir = environ.get("DOCKER_CERT_PATH") or os.path.expanduser("~/.docker")
    return RemoteDocker(docker_host=address, extra_hosts=extra, cert_dir=cert_dir)

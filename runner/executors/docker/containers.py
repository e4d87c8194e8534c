"""A node's containers: the primary, where steps run, and its services, in one network namespace.

Primary [CR][DOCK][CUST]: unless the config gives ``entrypoint``/``command`` or the image
carries ``com.circleci.preserve-entrypoint=true``, the image's ENTRYPOINT and CMD are replaced
by runner's own command (:data:`scripts.KEEP_ALIVE`), which runs as root, creates the working
directory and runner's directory owned by the job's user, reports the user's uid, gid and HOME
(as the image's ``/etc/passwd`` defines it, or the image's ``HOME``) and whether bash exists,
then stays alive. runner attaches before starting and reads that one line: no extra exec and
no archive round trip on the start path. With a kept entrypoint the same setup runs as a root
exec instead. ``docker-init`` is PID 1 and reaps what steps orphan.

Services [DOCK]: every other image runs with its own entrypoint, command, ``environment`` and
``user``, in the primary's network namespace (``network_mode=container:<primary>``), so
``localhost:PORT`` reaches it, with no network to create or remove. A service's ``name`` is an
``/etc/hosts`` entry for 127.0.0.1 in the primary (``extra_hosts``), which the services share:
a DNS alias would need a user-defined network, and every name still means the one shared
loopback, as on CircleCI. Image ``environment`` goes to that image's container only, never to
the primary's steps (the current docs); a primary with a kept entrypoint gets it for that
entrypoint.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any

from msgspec import Struct, field

from runner.config.model import DockerImage
from runner.errors import EnvironmentFailure
from runner.executors.base import TaskFile
from runner.executors.docker import labels as lab
from runner.executors.docker import scripts
from runner.executors.docker.connection import Api, EngineError
from runner.executors.docker.images import ImageFacts
from runner.executors.docker.remote import RemoteDocker
from runner.executors.docker.resources import Limits
from runner.executors.docker.server import close_socket, read_exactly

RUNNER_DIR = "/tmp/.runner"  # the node's scripts, BASH_ENV and task data, in the container
READY_TIMEOUT = 60.0


class UserFacts(Struct, frozen=True):
    uid: int
    gid: int
    has_bash: bool
    home: str
    serving: str = ""  # who serves steps (scripts.SERVE): "shell" (the keep-alive), "exec", ""

    @property
    def serves(self) -> bool:
        return self.serving == "shell"


class Started(Struct, frozen=True):
    cid: str
    name: str
    role: str  # "primary" or the service's name


class Launch(Struct):
    """Everything needed to create one node's containers."""

    api: Api
    images: Mapping[str, ImageFacts]
    primary: DockerImage
    services: tuple[DockerImage, ...]
    workdir: str
    labels: dict[str, str]
    names: dict[str, str]  # role -> container name
    limits: Limits
    remote: RemoteDocker | None = None
    task_files: tuple[TaskFile, ...] = ()  # written by the setup script (see inline_files)
    created: list[Started] = field(default_factory=list)  # for cleanup, whatever happens
    token: str = field(default_factory=lambda: secrets.token_hex(12))  # ends a served command
    serve: bool = True  # steps may be served (RUNNER_DOCKER_SERVE=0 makes every step an exec)

    def facts(self, image: DockerImage) -> ImageFacts:
        return self.images.get(image.image, ImageFacts())

    @property
    def step_user(self) -> str:
        return self.primary.user or self.facts(self.primary).user or "0"

    @property
    def kept_entrypoint(self) -> bool:
        p = self.primary
        return p.entrypoint is not None or p.command is not None or (
            self.facts(p).preserves_entrypoint
        )


def _service_roles(services: tuple[DockerImage, ...]) -> list[str]:
    """A role per service: its ``name``, unique among the node's, else ``serviceN``."""
    out: list[str] = []
    for i, service in enumerate(services):
        role = service.name or f"service{i + 1}"
        out.append(role if role not in out and role != "primary" else f"{role}{i + 1}")
    return out


def roles(primary: DockerImage, services: tuple[DockerImage, ...]) -> list[str]:
    return ["primary", *_service_roles(services)]


def _host_config(launch: Launch, *, primary: bool, init: bool) -> dict[str, Any]:
    config: dict[str, Any] = launch.limits.host_config()
    if primary:
        config["init"] = init
        if not launch.kept_entrypoint:
            # Served steps write to the container's stdout: nobody reads its log, so the
            # engine need not write one (`docker attach` still works).
            config["log_config"] = {"type": "none", "config": {}}
        hosts = {s.name: "127.0.0.1" for s in launch.services if s.name}
        if launch.primary.name:
            hosts[launch.primary.name] = "127.0.0.1"
        if launch.remote is not None and launch.remote.active:
            config.update(launch.remote.host_config())
            hosts.update(launch.remote.extra_hosts)
        if hosts:
            config["extra_hosts"] = hosts
    return config


class Opened(Struct):
    primary: Started
    facts: UserFacts
    attach: Any = None  # the primary's attach connection, kept open when its shell serves


def open_node(launch: Launch) -> Opened:
    """Create and start the primary, start the services while it sets itself up, and return
    the job user's facts once everything runs."""
    image = launch.primary
    home = launch.facts(image).env.get("HOME", "")
    token = "" if launch.kept_entrypoint or not launch.serve else launch.token
    # setpriv would give the user its groups, without the container's extra ones (group_add)
    switch = "0" if _host_config(launch, primary=True, init=True).get("group_add") else "1"
    setup_args = [launch.step_user, launch.workdir, RUNNER_DIR, home, token, switch]
    for item in inline_files(launch.task_files)[0]:
        setup_args += [item.path, f"{item.mode:o}", item.text]
    kw: dict[str, Any] = {"labels": {**launch.labels, lab.ROLE: "primary"}, "detach": True}
    if launch.kept_entrypoint:
        kw.update(entrypoint=list(image.entrypoint) if image.entrypoint is not None else None,
                  command=list(image.command) if image.command is not None else None,
                  user=image.user or None, environment=dict(image.environment) or None)
    else:
        # stdin open: the keep-alive reads served steps from it (never closed: StdinOnce off)
        kw.update(entrypoint=["/bin/sh", "-c", scripts.KEEP_ALIVE, "runner-init", *setup_args],
                  command=[], user="0", stdin_open=True)
    primary = _create(launch, "primary", image.image, kw, primary=True)
    attach = None if launch.kept_entrypoint else launch.api.attach_socket(primary.cid)
    errors: list[EnvironmentFailure] = []
    services = threading.Thread(target=_services, args=(launch, primary, errors), daemon=True)
    facts: UserFacts | None = None
    try:
        _start(launch, primary)
        services.start()
        if attach is None:
            output = _run_setup(launch.api, primary.cid, setup_args)
        else:
            output = _read_ready(attach)
        facts = _parse_ready(output, image.image)
    finally:
        if attach is not None and (facts is None or not facts.serves or errors):
            close_socket(attach)
            attach = None
        if services.ident is not None:
            services.join()
    if errors:
        raise errors[0]
    return Opened(primary, facts, attach)


# One argument may hold 128 KiB on Linux (MAX_ARG_STRLEN) and all of them about 2 MiB: files
# past these bounds go in with put_archive after the start instead.
_INLINE_FILE = 64 * 1024
_INLINE_TOTAL = 512 * 1024


def inline_files(files: tuple[TaskFile, ...]) -> tuple[list[TaskFile], list[TaskFile]]:
    """Split task files into those the setup script writes and those uploaded afterwards."""
    inline: list[TaskFile] = []
    later: list[TaskFile] = []
    total = 0
    for item in files:
        size = len(item.text.encode())
        if size <= _INLINE_FILE and total + size <= _INLINE_TOTAL and "\0" not in item.text:
            inline.append(item)
            total += size
        else:
            later.append(item)
    return inline, later


def _create(
    launch: Launch, role: str, image: str, kw: dict[str, Any], *, primary: bool
) -> Started:
    name = launch.names[role]
    try:
        cid = launch.api.create(image, name, _host_config(launch, primary=primary, init=True), **kw)
    except EngineError as exc:
        hint = None
        if "CPU" in exc.reason:
            hint = "use a smaller resource_class, or --no-resource-limits"
        raise EnvironmentFailure(
            f"cannot create the {role} container ({image}): {exc.reason}", hint=hint
        ) from None
    started = Started(cid, name, role)
    launch.created.append(started)
    return started


def _start(launch: Launch, started: Started) -> None:
    try:
        launch.api.start(started.cid)
    except EngineError as exc:
        hint = None
        if "/bin/sh" in exc.reason and started.role == "primary":
            hint = "the primary image needs /bin/sh: runner runs steps with a shell, like CircleCI"
        raise EnvironmentFailure(
            f"cannot start the {started.role} container: {exc.reason}", hint=hint
        ) from None


def _run_setup(api: Api, cid: str, args: list[str]) -> str:
    try:
        return api.run(cid, ["/bin/sh", "-c", scripts.SETUP, "runner-setup", *args], user="0")[1]
    except EngineError as exc:
        raise EnvironmentFailure(f"cannot prepare the primary container: {exc.reason}") from None


def _read_ready(attach: Any) -> str:
    """The setup's output from the attach stream, up to its ``runner-ready`` line."""
    raw = getattr(attach, "_sock", attach)
    with contextlib.suppress(OSError, AttributeError):
        raw.settimeout(READY_TIMEOUT)
    text = ""
    try:
        while True:
            # A non-tty attach stream is multiplexed: 8-byte headers (stream, 0, 0, 0, size).
            header = read_exactly(attach, 8)
            if len(header) < 8:
                break
            text += read_exactly(attach, int.from_bytes(header[4:], "big")).decode(
                errors="replace"
            )
            done = text.rpartition("\n")[0].splitlines()
            if any(line.startswith(("runner-ready ", "runner-error ")) for line in done):
                break
    except OSError as exc:
        text += f"\n(reading the container's output failed: {exc})"
    return text


def _parse_ready(output: str, image: str) -> UserFacts:
    for line in output.splitlines():
        if line.startswith("runner-error "):
            raise EnvironmentFailure(f"cannot prepare the primary container ({image}): {line[13:]}")
        if line.startswith("runner-ready "):
            uid, gid, bash, serves, home = line[13:].split(" ", 4)
            serving = {"1": "shell", "2": "exec"}.get(serves, "")
            return UserFacts(int(uid), int(gid), bash == "1", home, serving)
    detail = output.strip()[-300:] or "it printed nothing"
    raise EnvironmentFailure(
        f"the primary container ({image}) stopped before it was ready: {detail}"
    )


def _services(launch: Launch, primary: Started, errors: list[EnvironmentFailure]) -> None:
    """Create and start every service at once; collect what fails."""

    def one(role: str, image: DockerImage) -> None:
        kw: dict[str, Any] = {
            "labels": {**launch.labels, lab.ROLE: f"service:{role}"},
            "detach": True,
            "entrypoint": list(image.entrypoint) if image.entrypoint is not None else None,
            "command": list(image.command) if image.command is not None else None,
            "environment": dict(image.environment) or None,
            "user": image.user or None,
        }
        host = _host_config(launch, primary=False, init=False)
        host["network_mode"] = f"container:{primary.cid}"
        try:
            cid = launch.api.create(image.image, launch.names[role], host, **kw)
            launch.created.append(Started(cid, launch.names[role], role))
            launch.api.start(cid)
        except EngineError as exc:
            errors.append(
                EnvironmentFailure(f"cannot start service {role} ({image.image}): {exc.reason}")
            )

    threads = [
        threading.Thread(target=one, args=(role, image), daemon=True)
        for role, image in zip(_service_roles(launch.services), launch.services, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def remove_all(api: Api, containers: list[Started], *, deadline: float) -> None:
    """Force-remove containers, services before primaries, waiting at most ``deadline`` seconds.

    Services share their primary's network namespace (``network_mode=container:``): podman
    refuses to remove a container others depend on ("has dependent containers which must be
    removed before it"), so removing all at once left every primary behind under podman
    (issue 18). Docker accepts either order; each wave is still removed in parallel."""
    failures: list[str] = []

    def remove(box: Started) -> None:
        try:
            api.remove(box.cid)
        except EngineError as exc:
            failures.append(f"{box.name}: {exc.reason}")

    end = time.monotonic() + deadline
    for wave in _removal_waves(containers):
        threads = [threading.Thread(target=remove, args=(box,), daemon=True) for box in wave]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, end - time.monotonic()))
        if any(t.is_alive() for t in threads):
            failures.append(f"removal did not finish within {deadline:g} s")
            break
    if failures:
        raise EnvironmentFailure(
            "could not remove every container: " + "; ".join(failures),
            hint="`runner clean` removes what is left",
        )


def _removal_waves(containers: list[Started]) -> list[list[Started]]:
    """Services first (any container not labelled the primary), then the primaries."""
    services = [box for box in containers if box.role != "primary"]
    primaries = [box for box in containers if box.role == "primary"]
    return [wave for wave in (services, primaries) if wave]

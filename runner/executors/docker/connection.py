"""The one place runner talks to the Docker SDK: a typed facade over docker-py's low-level API.

The SDK is imported here, lazily (it costs ~140 ms), and every SDK error that leaves this module
is a :class:`EngineError` carrying the engine's own reason, which callers turn into runner
errors naming what failed (architecture principle 11). Steps stream through
``exec_create``/exec start/``exec_inspect``, the pattern docker-py's authors recommend for a
streamed exec with an exit code (docker-py#1989); the exec's output is read through the HTTP
response's buffer rather than docker-py's raw socket, which loses what arrives with the answer
(docker-py#425).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from runner.errors import EnvironmentFailure

START_HINT = (
    "start the engine (`sudo systemctl start docker`, or `sudo dockerd &`), "
    "or set DOCKER_HOST to an engine that runs"
)
_OS_ERROR = re.compile(r"(?:\[Errno -?\d+\] |Error\(-?\d+, ')(?P<text>[^'\")\]]+)")
_ABORTED = ("Connection aborted", "RemoteDisconnected", "Connection broken")
# The API version spoken: the engine's newest (its /_ping says which), capped at the newest the
# docker SDK was written for. No fixed version works everywhere: Docker 20.10 serves up to 1.41,
# and Docker 29 refuses anything below 1.44 ("client version 1.41 is too old").
SDK_API = "1.45"  # docker-py 7's DEFAULT_DOCKER_API_VERSION
API_TIMEOUT = 120  # seconds for one API call; streams have no timeout


class EngineError(Exception):
    """An engine call failed; ``reason`` is the engine's message, ``status`` its HTTP code."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status

    @property
    def not_found(self) -> bool:
        return self.status == 404


def reason_of(exc: BaseException) -> str:
    """The engine's explanation, without docker-py's request boilerplate."""
    explanation = getattr(exc, "explanation", None)
    if explanation:
        return str(explanation.decode() if isinstance(explanation, bytes) else explanation)
    text = str(exc)
    # Socket errors arrive wrapped by urllib3 and requests: keep the OS's own words.
    found = _OS_ERROR.search(text)
    if found:
        return found.group("text")
    if any(marker in text for marker in _ABORTED):
        # requests' "('Connection aborted.', RemoteDisconnected(...))": the engine went away
        return "the Docker engine closed the connection (stopped or restarted?)"
    for marker in ("Caused by ", "Error while fetching server API version: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.strip().strip("()'\"") or type(exc).__name__


def _wrap(exc: BaseException) -> EngineError:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return EngineError(reason_of(exc), status if isinstance(status, int) else None)


def engine_address(environ: Mapping[str, str]) -> str:
    return environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def connect(environ: Mapping[str, str]) -> Api:
    """A client for the engine DOCKER_HOST names (``docker.from_env``), or EnvironmentFailure."""
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise EnvironmentFailure(f"the docker Python package is missing: {exc}") from None
    try:
        # One unversioned /_ping instead of version="auto"'s GET /version (a round trip less
        # per run): its Api-Version header is the engine's newest version.
        client = docker.from_env(
            environment=dict(environ), timeout=API_TIMEOUT, max_pool_size=64, version=SDK_API
        )
        response = client.api.get(client.api.base_url + "/_ping", timeout=10)
        response.raise_for_status()
        served = response.headers.get("Api-Version", SDK_API)
        if _version(served) < _version(SDK_API):
            client.close()
            client = docker.from_env(
                environment=dict(environ), timeout=API_TIMEOUT, max_pool_size=64, version=served
            )
    except Exception as exc:  # docker-py raises DockerException and requests errors alike
        raise EnvironmentFailure(
            f"cannot reach the Docker engine at {engine_address(environ)}: {reason_of(exc)}",
            hint=START_HINT,
        ) from None
    return Api(client)


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return (0,)


class Api:
    """What the docker executor needs from the engine, with plain types."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.api = client.api

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()

    def _call(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.api, method)(*args, **kwargs)
        except Exception as exc:
            raise _wrap(exc) from None

    # ------------------------------------------------------------ engine and images

    def info(self) -> dict[str, Any]:
        return dict(self._call("info"))

    def image_config(self, image: str) -> dict[str, Any] | None:
        """The image's inspect data, or None when the engine does not have it."""
        try:
            return dict(self._call("inspect_image", image))
        except EngineError as exc:
            if exc.not_found:
                return None
            raise

    def pull(self, image: str, auth: Mapping[str, str] | None) -> None:
        from docker.utils import parse_repository_tag

        repo, tag = parse_repository_tag(image)
        try:
            # stream=True and reading to the end: errors arrive inside the progress stream.
            events = list(
                self.api.pull(
                    repo, tag=tag or "latest", auth_config=dict(auth) if auth else None,
                    stream=True, decode=True,
                )
            )
        except Exception as exc:
            raise _wrap(exc) from None
        for event in events:
            if isinstance(event, dict) and event.get("error"):
                raise EngineError(str(event["error"]))

    # ------------------------------------------------------------ containers

    def create(self, image: str, name: str, host_config: Mapping[str, Any], **kw: Any) -> str:
        config = self._call("create_host_config", **host_config)
        created = self._call("create_container", image, name=name, host_config=config, **kw)
        return str(created["Id"])

    def start(self, cid: str) -> None:
        self._call("start", cid)

    def attach_socket(self, cid: str) -> Any:
        """stdin, stdout and stderr of a container not started yet (so nothing it writes can
        be read ahead into the HTTP response's buffer and lost: docker-py#425)."""
        return self._call(
            "attach_socket", cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )

    def inspect(self, cid: str) -> dict[str, Any]:
        return dict(self._call("inspect_container", cid))

    def kill(self, cid: str) -> None:
        self._call("kill", cid)

    def unpause(self, cid: str) -> None:
        self._call("unpause", cid)

    def remove(self, cid: str) -> None:
        """Force-remove; a container already gone counts as removed. When another client is
        removing it already, wait until it is gone, so that "removed" stays true."""
        try:
            self._call("remove_container", cid, force=True, v=True)
        except EngineError as exc:
            if exc.not_found:
                return
            if "is already in progress" not in exc.reason:
                raise
        else:
            return
        give_up = time.monotonic() + 60
        while time.monotonic() < give_up:
            try:
                self._call("inspect_container", cid)
            except EngineError as probe:
                if probe.not_found:
                    return
                raise
            time.sleep(0.05)
        raise EngineError(f"another removal of {cid[:12]} did not finish within 60 s")

    def logs_tail(self, cid: str, lines: int = 5) -> str:
        try:
            data = self._call("logs", cid, tail=lines)
        except EngineError:
            return ""
        return bytes(data).decode(errors="replace").strip()

    def containers(self, label: str) -> list[dict[str, Any]]:
        """Every container (running or not) carrying ``label`` (``key`` or ``key=value``)."""
        return [dict(c) for c in self._call("containers", all=True, filters={"label": label})]

    # ------------------------------------------------------------ exec

    def exec_create(
        self, cid: str, cmd: list[str], *, user: str, env: Mapping[str, str] | None = None,
        workdir: str | None = None,
    ) -> str:
        created = self._call(
            "exec_create", cid, cmd, user=user, environment=dict(env) if env else None,
            workdir=workdir, stdout=True, stderr=True, stdin=False, tty=False,
        )
        return str(created["Id"])

    def exec_stream(self, exec_id: str) -> Iterator[bytes]:
        """The exec's stdout and stderr, interleaved as they come (no demux, docker-py#1989).

        docker-py reads the frames from the socket beneath the HTTP response; when the engine's
        answer and the first output arrive together (a loaded machine, a remote engine), that
        output is already in the response's buffer and is lost (docker-py#425, #3332). So the
        frames are read through the response's own buffered reader instead."""
        base = str(self.api.base_url)
        if base.startswith("http+docker://ssh") or base == "http+docker://localnpipe":
            # Transports without a buffered HTTP reader: docker-py's own reading.
            return _guarded(self._call("exec_start", exec_id, stream=True, demux=False))
        try:
            response = self.api._post_json(
                self.api._url("/exec/{0}/start", exec_id),
                headers={"Connection": "Upgrade", "Upgrade": "tcp"},
                data={"Tty": False, "Detach": False},
                stream=True,
            )
            self.api._raise_for_status(response)
            reader = response.raw._fp.fp
            # A step may be silent for longer than an API call may take.
            self.api._disable_socket_timeout(reader.raw)
        except Exception as exc:
            raise _wrap(exc) from None
        return _guarded(_frames(reader, response))

    def exec_socket(self, cid: str, cmd: list[str], *, user: str) -> Any:
        """A long-lived exec with its stdin, stdout and stderr on one hijacked connection (the
        serving shell, when it cannot be the container's own: server.py). Nothing may be read
        ahead into the HTTP response's buffer (docker-py#425): the shell prints nothing before
        it is sent a command."""
        exec_id = self._call(
            "exec_create", cid, cmd, user=user, stdin=True, stdout=True, stderr=True, tty=False,
            workdir="/",
        )["Id"]
        return self._call("exec_start", exec_id, socket=True)

    def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        return dict(self._call("exec_inspect", exec_id))

    def run(self, cid: str, cmd: list[str], *, user: str = "0") -> tuple[int, str]:
        """A short helper exec to its end: exit code and output."""
        exec_id = self.exec_create(cid, cmd, user=user)
        output = b"".join(self.exec_stream(exec_id))
        code = self.exec_inspect(exec_id).get("ExitCode")
        return (code if isinstance(code, int) else -1), output.decode(errors="replace")

    # ------------------------------------------------------------ files

    def stat(self, cid: str, path: str) -> bool:
        """Whether ``path`` exists: a HEAD request, about 1 ms (GET/PUT cost ~40 ms)."""
        try:
            response = self.api.head(
                self.api._url("/containers/{0}/archive", cid), params={"path": path}
            )
        except Exception as exc:
            raise _wrap(exc) from None
        if response.status_code == 404:
            return False
        if response.status_code >= 400:
            raise EngineError(f"stat {path}: HTTP {response.status_code}", response.status_code)
        return True

    def put_archive(self, cid: str, path: str, data: bytes | Iterable[bytes]) -> None:
        if not self._call("put_archive", cid, path, data):
            raise EngineError(f"the engine refused the archive for {path}")

    def get_archive(self, cid: str, path: str) -> Iterator[bytes]:
        stream, _stat = self._call("get_archive", cid, path)
        return _guarded(stream)


def _frames(reader: Any, response: Any) -> Iterator[bytes]:
    """The payloads of the engine's multiplexed stream: an 8-byte header (stream, 0, 0, 0,
    big-endian size) before each frame. Yields what has arrived, never waiting for more."""
    try:
        while True:
            header = reader.read(8)
            if len(header) < 8:
                return
            size = int.from_bytes(header[4:8], "big")
            while size > 0:
                chunk = reader.read1(size)
                if not chunk:
                    return
                size -= len(chunk)
                yield chunk
    finally:
        with contextlib.suppress(Exception):
            response.close()


def _guarded(stream: Iterable[bytes]) -> Iterator[bytes]:
    try:
        yield from stream
    except (TimeoutError, OSError) as exc:
        raise EngineError(f"the engine connection broke: {exc}") from None
    except Exception as exc:
        raise _wrap(exc) from None

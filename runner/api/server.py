"""Binding, starting and stopping the API server (uvicorn), in the foreground or a thread.

Loopback by default; another address only when asked, with a warning, since the token is then
all that stands between the network and running jobs on this machine [reliability 10]. The
access log stays off: it would print ``?circle-token=`` query strings.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote

from msgspec import Struct

from runner.api import revisions
from runner.api.auth import MIN_TOKEN, generate_token
from runner.api.guard import DEFAULT_MAX_BODY, GuardSettings, loopback_hosts
from runner.api.parameters import check_allow_list
from runner.api.projects import ProjectIndex, served_project
from runner.api.service import ApiService, ServiceSettings
from runner.errors import UsageError

DEFAULT_PORT = 8642
BACKLOG = 2048


class ServeOptions(Struct, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token: str | None = None
    projects: tuple[Path, ...] = ()
    state_dir: Path | None = None
    concurrency: int = 2
    max_body: int = DEFAULT_MAX_BODY
    allow_parameters: tuple[str, ...] = ()


class ApiServer:
    def __init__(
        self, options: ServeOptions, *, environ: Mapping[str, str], cwd: Path,
        say: Callable[[str], None] = lambda _text: None,
    ) -> None:
        self.options = options
        self.say = say
        self.generated = not (options.token or environ.get("RUNNER_API_TOKEN"))
        self.token = options.token or environ.get("RUNNER_API_TOKEN") or generate_token()
        if len(self.token) < MIN_TOKEN:
            raise UsageError(f"the API token must have at least {MIN_TOKEN} characters")
        try:
            check_allow_list(options.allow_parameters)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        dirs: tuple[Path | None, ...] = options.projects or (None,)
        index = ProjectIndex(
            [served_project(d, options.state_dir, environ, cwd) for d in dict.fromkeys(dirs)]
        )
        self.sock, self.loopback = _bind(options.host, options.port)
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://{_url_host(options.host, self.sock)}:{self.port}"
        self.service = ApiService(
            index,
            ServiceSettings(
                base_url=self.url, token=self.token, concurrency=options.concurrency,
                environ=dict(environ), log=self._log,
                allow_parameters=frozenset(options.allow_parameters),
            ),
        )
        self._server = self._uvicorn(index)
        self._thread: threading.Thread | None = None

    def _uvicorn(self, index: ProjectIndex) -> Any:
        import uvicorn

        from runner.api.app import create_app

        guard = GuardSettings(
            token=self.token,
            max_body=self.options.max_body,
            allowed_hosts=loopback_hosts(self.port) if self.loopback else None,
        )
        config = uvicorn.Config(
            create_app(self.service, guard), log_level="warning", access_log=False,
            lifespan="off", timeout_graceful_shutdown=5,
        )
        return uvicorn.Server(config)

    def banner(self) -> list[str]:
        lines = [f"runner serve: listening on {self.url}"]
        if not self.loopback:
            lines.append(
                f"warning: bound to {self.options.host}, reachable from other machines; "
                "anyone with the token can run this project's jobs here"
            )
        for p in self.service.index.projects:
            lines.append(f"  project {p.org or '*'}/{p.repo}: {p.root}")
        for root, cut in self.service.cut_off.items():
            if cut:
                lines.append(f"  marked {len(cut)} cut-off run(s) of {root.name} as interrupted")
        if self.generated:
            lines.append(f"token: {self.token}")
        lines.append("trigger: " + self.curl_line())
        return lines

    def curl_line(self) -> str:
        """A command that works as printed: the real slug and branch, and the token (shown
        above when generated; else the variable it came from, or a placeholder)."""
        project = self.service.index.projects[0]
        vcs = "bitbucket" if project.vcs == "bb" else "github"
        branch = revisions.current_branch(project.root) or "main"
        if self.generated:
            token = self.token
        elif not self.options.token:
            token = "$RUNNER_API_TOKEN"
        else:
            token = "YOUR_TOKEN"  # given with --token: not printed again
        return (f'curl -u "{token}:" -d "build_parameters[CIRCLE_JOB]=build" '
                f"{self.url}/api/v1.1/project/{vcs}/{project.org or 'local'}/{project.repo}/tree/"
                f"{quote(branch, safe='/')}")

    def _log(self, line: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.say(f"{stamp} {line}")

    def serve_forever(self) -> None:
        """Serve in the foreground until SIGINT, SIGTERM or SIGHUP, then stop every run."""
        self.sock.listen(BACKLOG)  # before the banner: a client reading it can connect at once
        for line in self.banner():
            self.say(line)
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
        try:
            self._server.run(sockets=[self.sock])
        except KeyboardInterrupt:
            pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.say("runner serve: stopping; cancelling running jobs")
            self.service.shutdown()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._server.should_exit = True

    def start(self) -> None:
        """Serve on a thread (tests, benchmarks); returns once the server accepts requests."""
        self.sock.listen(BACKLOG)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the API server did not start")
            threading.Event().wait(0.01)

    def stop(self, timeout: float = 15.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self.service.shutdown(timeout)
        self.sock.close()


def _bind(host: str, port: int) -> tuple[socket.socket, bool]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(f"cannot resolve --host {host}: {exc.strerror}") from None
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(False)
    return sock, ipaddress.ip_address(address[0]).is_loopback


def _url_host(host: str, sock: socket.socket) -> str:
    """How jobs and links reach the server: a wildcard bind is reached on the loopback."""
    address = ipaddress.ip_address(sock.getsockname()[0])
    if address.is_unspecified:
        return "127.0.0.1" if address.version == 4 else "[::1]"
    return f"[{host}]" if ":" in host else host

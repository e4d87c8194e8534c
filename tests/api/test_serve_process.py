"""`runner serve` as a process: the printed token, SIGTERM, a crash and a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from runner.api.server import ApiServer, ServeOptions
from tests.api.conftest import PROJECT, TOKEN, Api
from tests.support import run_cli


@contextmanager
def serve(
    project: Path, *args: str, banner: list[str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """``runner serve --port 0``; yields the process, its URL and its token (and adds the
    start-up lines to ``banner``)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("RUNNER_API_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "serve", "--port", "0", *args],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = token = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        if banner is not None:
            banner.append(line.rstrip("\n"))
        if line.startswith("runner serve: listening on "):
            url = line.split()[-1]
        if line.startswith("token: "):
            token = line.split()[-1]
        if line.startswith("trigger: "):
            break
    assert url and (token or "--token" in args), "the server did not start"
    try:
        yield proc, url, token
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def wait_for(client: httpx.Client, number: int, statuses: set[str], timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        data: dict = client.get(f"{PROJECT}/{number}").json()
        if data["status"] in statuses:
            return data
        assert time.monotonic() < deadline, data
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_generated_token_is_printed_and_sigterm_stops_running_jobs(
    project: Path, tmp_path: Path
) -> None:
    pid_file = tmp_path / "step.pid"
    with serve(project) as (proc, url, token), httpx.Client(base_url=url, auth=(token, "")) as c:
        assert len(token) >= 16
        assert c.get("/openapi.json", auth=("wrong-token-0123456789", "")).status_code == 401
        response = c.post(
            PROJECT, json={"job": "sleeper", "build_parameters": {"PIDFILE": str(pid_file)}}
        )
        assert response.status_code == 201
        number = response.json()["build_num"]
        wait_for(c, number, {"running"})
        deadline = time.monotonic() + 10
        while not pid_file.exists() or not pid_file.read_text().strip():  # the step runs
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    with (
        serve(project, "--token", TOKEN) as (_proc, url, _token),
        httpx.Client(base_url=url, auth=(TOKEN, "")) as c,
    ):
        done = c.get(f"{PROJECT}/{number}").json()
    assert (done["status"], done["lifecycle"]) == ("infrastructure_fail", "finished"), done
    assert done["messages"] == ["cut off: the server stopped"] and done["stop_time"]
    assert not alive(int(pid_file.read_text()))  # the step's processes were stopped


def test_a_crashed_server_leaves_its_runs_marked_as_cut_off(
    project: Path, start_api: Callable[..., Api]
) -> None:
    with serve(project, "--token", TOKEN) as (proc, url, _token):
        with httpx.Client(base_url=url, auth=(TOKEN, "")) as client:
            running = client.post(f"{PROJECT}/tree/main", data={"build_parameters[CIRCLE_JOB]": "slow"})
            queued = [
                client.post(f"{PROJECT}/tree/main", data={"build_parameters[CIRCLE_JOB]": "slow"})
                for _ in range(2)
            ]
            wait_for(client, running.json()["build_num"], {"running"})
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    api = start_api(project)
    assert any("cut-off" in line for line in api.server.banner())
    for response in (running, *queued):
        data = api.build(response.json()["build_num"])
        assert (data["status"], data["outcome"]) == ("infrastructure_fail", "infrastructure_fail")
        assert data["messages"] == ["cut off: the process running it went away"]
    # the restarted server runs new triggers as usual
    fresh = api.trigger()
    assert fresh.status_code == 201
    assert api.wait(fresh.json()["build_num"])["status"] == "success"


def test_other_addresses_warn_and_skip_the_host_check(project: Path) -> None:
    server = ApiServer(
        ServeOptions(host="0.0.0.0", port=0, token=TOKEN, projects=(project,)),
        environ=dict(os.environ), cwd=project,
    )
    try:
        banner = server.banner()
        assert any(line.startswith("warning: bound to 0.0.0.0") for line in banner)
        assert server.url.startswith("http://127.0.0.1:")  # how jobs call back
        assert not server.loopback
    finally:
        server.stop(timeout=1)


def test_short_token_and_unknown_project_dir_are_refused(project: Path, tmp_path: Path) -> None:
    result = run_cli(["serve", "--port", "0", "--token", "short"], project, timeout=30)
    assert result.code == 2 and "at least 16 characters" in result.stderr
    result = run_cli(["serve", "--port", "0", "-C", str(tmp_path / "none")], project, timeout=30)
    assert result.code == 2 and "does not exist" in result.stderr

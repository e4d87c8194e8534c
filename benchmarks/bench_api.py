"""The API server under load: 200 triggers of a trivial machine job, 4 clients at a time.

Figures (no assertions): accepted trigger requests per second, and the time from sending a
trigger to its job starting (JobStarted, from the history store), at the median and p90.
Target (issue 6): under 50 ms at the median.

Two phases against one `runner serve` process (a separate process, so the clients do not
share its interpreter):
  burst  4 clients send 200 triggers as fast as the server accepts them; the queue fills, so
         trigger-to-start there includes the wait for a free worker;
  paced  4 clients each trigger, wait for their job to finish, and trigger again (4 runs in
         flight, --concurrency 4): trigger-to-start is the server's own overhead.

    python benchmarks/bench_api.py [--triggers 200] [--clients 4] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from common import git_project, installed_env

TOKEN = "bench-token-0123456789abcdef"
CONFIG = "version: 2\njobs:\n  build:\n    machine: true\n    steps:\n      - run: echo hi\n"
PATH = "/api/v1.1/project/github/bench/app"


def start_server(project: Path, state: Path, concurrency: int) -> tuple[subprocess.Popen[str], str]:
    env = installed_env({"RUNNER_STATE_DIR": str(state), "PYTHONUNBUFFERED": "1"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "serve", "--port", "0", "--token", TOKEN,
         "--concurrency", str(concurrency)],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("runner serve: listening on "):
            return proc, line.split()[-1]
    raise RuntimeError("the server did not start")


def fire(url: str, count: int, clients: int, wait: bool) -> tuple[float, dict[int, float]]:
    """``count`` triggers from ``clients`` threads; the wall time and each build's send time."""
    sent: dict[int, float] = {}
    lock = threading.Lock()
    todo = iter(range(count))

    def client() -> None:
        with httpx.Client(base_url=url, auth=(TOKEN, ""), timeout=60) as http:
            while True:
                with lock:
                    if next(todo, None) is None:
                        return
                at = time.time()
                response = http.post(f"{PATH}/tree/main")
                response.raise_for_status()
                number = response.json()["build_num"]
                with lock:
                    sent[number] = at
                if wait:
                    until_finished(http, number)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, sent


def until_finished(http: httpx.Client, number: int, check: Callable[[str], bool] = lambda s: s
                   in ("finished", "not_run")) -> None:
    while not check(http.get(f"{PATH}/{number}").json()["lifecycle"]):
        time.sleep(0.02)


def start_delays(state: Path, sent: dict[int, float]) -> list[float]:
    with sqlite3.connect(state / "history.sqlite") as db:
        rows = db.execute("SELECT build_num, started_at FROM jobs").fetchall()
    started = {n: t for n, t in rows if t is not None}
    return sorted((started[n] - t) * 1000 for n, t in sent.items() if n in started)


def report(name: str, wall: float, count: int, delays: list[float]) -> None:
    p90 = delays[int(len(delays) * 0.9) - 1] if delays else float("nan")
    print(f"{name:6} {count} triggers in {wall:.2f} s: {count / wall:7.1f} accepted/s; "
          f"trigger to job start: median {statistics.median(delays):6.1f} ms, "
          f"p90 {p90:6.1f} ms ({len(delays)} jobs)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--triggers", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = git_project(Path(tmp) / "app", {".circleci/config.yml": CONFIG})
        state = Path(tmp) / "state"
        proc, url = start_server(project, state, args.concurrency)
        try:
            fire(url, 4, args.clients, wait=True)  # warm-up: imports, first config load
            wall, sent = fire(url, args.triggers, args.clients, wait=False)
            with httpx.Client(base_url=url, auth=(TOKEN, ""), timeout=60) as http:
                until_finished(http, max(sent))
            time.sleep(0.5)  # let the last jobs settle
            report("burst", wall, args.triggers, start_delays(state, sent))
            wall, sent = fire(url, args.triggers, args.clients, wait=True)
            report("paced", wall, args.triggers, start_delays(state, sent))
        finally:
            proc.terminate()
            proc.wait(30)
    print(f"(--concurrency {args.concurrency}, {args.clients} clients, {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()

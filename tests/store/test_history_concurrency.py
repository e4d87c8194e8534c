"""Writers at once: threads and processes on one store, and a CLI run next to the server."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from runner.store.history import HistoryStore
from tests.api.conftest import PROJECT, Api
from tests.support import make_project

WRITER = """
import sys
from pathlib import Path
from runner.store.history import HistoryStore
store = HistoryStore(Path(sys.argv[1]))
base = int(sys.argv[2])
for i in range(150):
    store.write([
        ("INSERT INTO runs (run, source, status) VALUES (?, 'cli', 'running')", (base + i,)),
        ("UPDATE runs SET status = 'passed' WHERE run = ?", (base + i,)),
    ])
"""


def test_threads_and_processes_write_one_store(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(base)],
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
        for base in (10_000, 20_000)
    ]

    def write(base: int) -> None:
        store = HistoryStore(path)  # separate instances share the process's one connection
        for i in range(150):
            store.execute(
                "INSERT INTO runs (run, source, status) VALUES (?, 'api', 'passed')", base + i
            )

    threads = [threading.Thread(target=write, args=(b,)) for b in (30_000, 40_000, 50_000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.wait(60) for p in procs] == [0, 0]
    runs = HistoryStore(path).runs(limit=10_000)
    assert len(runs) == 750 and {r.status for r in runs} == {"passed"}


CONFIG = """
version: 2
jobs:
  build:
    machine: true
    steps:
      - run: for i in $(seq 1 20); do echo "line $i"; done
      - run: echo two; sleep 0.3
      - run: echo three
  many:
    machine: true
    parallelism: 3
    steps:
      - run: for i in $(seq 1 200); do echo "cli line $i"; done
      - run: echo a; sleep 1.5
      - run: echo b
      - run: echo c
"""


def test_a_cli_run_and_the_server_record_at_once(
    start_api: Callable[..., Api], tmp_path: Path
) -> None:
    project = make_project(tmp_path / "widget", CONFIG)
    api = start_api(project, concurrency=3)
    cli = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", "many", "--json"],
        cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    store = api.server.service.index.projects[0].store
    deadline = time.monotonic() + 30
    while not any(r.source == "cli" and r.status == "running" for r in store.runs()):
        assert time.monotonic() < deadline and cli.poll() is None
        time.sleep(0.02)
    numbers = [api.trigger().json()["build_num"] for _ in range(6)]
    _out, err = cli.communicate(timeout=60)
    assert cli.returncode == 0, err
    assert "reporter failed" not in err  # the history writer never gave up
    for number in numbers:
        done = api.wait(number)
        assert done["status"] == "success"
        assert [len(s["actions"]) for s in done["steps"]] == [1, 1, 1]
    runs = store.runs()
    assert len(runs) == 7 and {r.status for r in runs} == {"passed"}
    (cli_run,) = [r for r in runs if r.source == "cli"]
    assert any(  # they really wrote at the same time
        (r.started_at or 0) < (cli_run.stopped_at or 0)
        and (cli_run.started_at or 0) < (r.stopped_at or 0)
        for r in runs if r.source == "api"
    )
    assert len(store.steps(cli_run.run, "many")) == 12
    assert {n.status for n in store.nodes(cli_run.run, "many")} == {"passed"}
    numbers_seen = sorted(j.build_num or 0 for r in runs for j in store.jobs(r.run))
    assert len(set(numbers_seen)) == 7  # one counter for CLI and API runs: no number twice


def test_the_server_follows_the_log_of_a_cli_run(
    start_api: Callable[..., Api], tmp_path: Path
) -> None:
    project = make_project(
        tmp_path / "widget",
        "version: 2\njobs:\n  build:\n    machine: true\n    steps:\n"
        "      - run: for i in 1 2 3; do echo line $i; sleep 0.4; done\n",
    )
    api = start_api(project)
    cli = subprocess.Popen(
        [sys.executable, "-m", "runner", "run"], cwd=project, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while not (running := [b for b in api.client.get(PROJECT).json()
                                if b["status"] == "running"]):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        number = running[0]["build_num"]
        assert running[0]["why"] == "runner"  # started from the command line
        while not api.build(number)["steps"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        text = api.client.get(  # the text stream follows a running step to its end
            f"{PROJECT}/{number}/output/0/0", headers={"Accept": "text/plain"}
        ).text
    finally:
        assert cli.wait(30) == 0
    assert text == "line 1\nline 2\nline 3\n"  # followed to the end of the step

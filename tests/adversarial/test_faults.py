"""Faults of the environment: the Docker engine going away, the state directory's disk filling.

Each ends with a clear message, exit 3 (the environment failed), no traceback, no hang, and no
corrupt cache or history. The engine is "stopped" by cutting a proxy runner talks to
(:class:`EngineProxy`), never the engine other tests use; the disk is a 2 MiB tmpfs mounted
for the test (skipped where mounting is not allowed).
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.store.state import StateDir
from tests.adversarial.engine_proxy import EngineProxy
from tests.adversarial.helpers import (
    BUSYBOX_IMAGE,
    Outcome,
    Running,
    no_traceback,
    runner,
    wait_for,
)
from tests.support import make_project

FAST = {"RUNNER_STOP_GRACE": "0.5,0.5"}


def docker_project(root: Path, steps: str) -> Path:
    body = textwrap.indent(textwrap.dedent(steps).strip("\n"), "      ")
    return make_project(
        root,
        f"version: 2.1\njobs:\n  build:\n    docker: [{{image: {BUSYBOX_IMAGE}}}]\n"
        f"    steps:\n{body}\n",
    )


def assert_environment_failed(outcome: Outcome, *words: str) -> None:
    no_traceback(outcome)
    assert outcome.code == 3, (outcome.code, outcome.stderr, outcome.stdout[-3000:])
    text = outcome.stdout + outcome.stderr
    for word in words:
        assert word in text, text[-3000:]


def labelled(state: Path) -> list[str]:
    from tests.executors.docker.helpers import containers

    return [c.name for c in containers(StateDir(state.resolve()).label)]


# ---------------------------------------------------------------- the engine goes away


@pytest.mark.docker
def test_no_engine_at_all(tmp_path: Path) -> None:
    proxy = EngineProxy()
    proxy.cut()  # nothing listens there
    outcome = runner(["run"], docker_project(tmp_path / "p", "- run: echo hi"),
                     env={"DOCKER_HOST": proxy.url})
    assert_environment_failed(outcome, "cannot reach the Docker engine")
    assert outcome.stdout == ""


@pytest.mark.docker
def test_the_engine_stops_while_a_step_runs(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proxy = EngineProxy().start()
    project = docker_project(tmp_path / "p", "- run: echo started; sleep 60\n"
                             "- run: {name: later, command: echo never, when: always}")
    run = Running(["run"], project, env={"DOCKER_HOST": proxy.url, **FAST})
    try:
        run.wait_for(lambda: run.saw("│ started"), "the step")
        proxy.cut()
        outcome = run.finish(timeout=90)
        assert_environment_failed(outcome, "Connection refused", "`runner clean` removes")
        assert "│ never" not in outcome.stdout
        assert outcome.seconds < 60
    finally:
        proxy.stop()
    # the engine is back: what the cut run could not remove goes with `runner clean`
    cleaned = runner(["clean"], project)
    no_traceback(cleaned)
    assert cleaned.code == 0, cleaned.stderr
    wait_for(lambda: labelled(state) == [], timeout=30, what="the containers to go")


@pytest.mark.docker
def test_the_engine_stops_while_containers_are_created(tmp_path: Path) -> None:
    proxy = EngineProxy().start()
    held = proxy.hold("POST", r"/containers/create", seconds=600)
    project = docker_project(tmp_path / "p", "- run: echo never")
    run = Running(["run"], project, env={"DOCKER_HOST": proxy.url, **FAST})
    try:
        run.wait_for(held.arrived.is_set, "container creation")
        proxy.cut()
        outcome = run.finish(timeout=90)
        assert_environment_failed(outcome, "cannot create the primary container")
        assert "│ never" not in outcome.stdout
    finally:
        proxy.stop()
    runner(["clean"], project)


@pytest.mark.docker
def test_output_that_arrives_with_the_engines_answer_is_not_lost(tmp_path: Path) -> None:
    # On a loaded machine or with a remote engine, the answer to "start the exec" and the
    # step's first output reach runner in one read (docker-py#425, #3332). RUNNER_DOCKER_SERVE=0
    # makes every step an exec (they are served otherwise: server.py).
    proxy = EngineProxy().start()
    proxy.coalesce("POST", r"/exec/[^/]+/start", seconds=0.5)
    project = docker_project(tmp_path / "p", """
        - run: echo first; echo second >&2; sleep 1; echo third
        - run: printf 'no newline'
    """)
    try:
        env = {"DOCKER_HOST": proxy.url, "RUNNER_DOCKER_SERVE": "0", **FAST}
        outcome = runner(["run"], project, env=env)
    finally:
        proxy.stop()
        runner(["clean"], project)
    assert outcome.code == 0, outcome.stdout[-2000:]
    for line in ("│ first", "│ second", "│ third", "│ no newline"):
        assert line in outcome.stdout


@pytest.mark.docker
@pytest.mark.parametrize("phase", ["create", "step"])
def test_an_engine_that_goes_away_is_named_in_the_message(tmp_path: Path, phase: str) -> None:
    proxy = EngineProxy().start()
    held = proxy.hold("POST", r"/containers/create", seconds=600) if phase == "create" else None
    project = docker_project(tmp_path / "p", "- run: echo started; sleep 60")
    run = Running(["run"], project, env={"DOCKER_HOST": proxy.url, **FAST})
    try:
        if held is not None:
            run.wait_for(held.arrived.is_set, "container creation")
        else:
            run.wait_for(lambda: run.saw("│ started"), "the step")
        proxy.cut()
        outcome = run.finish(timeout=90)
    finally:
        proxy.stop()
        runner(["clean"], project)
    assert_environment_failed(outcome, "Docker engine")
    assert "RemoteDisconnected" not in outcome.stdout
    assert "the container stopped" not in outcome.stdout


# ---------------------------------------------------------------- the disk fills


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB filesystem for the state directory (root only: skipped elsewhere)."""
    where = tmp_path / "small"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where / "state"
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


def _history_is_sound(state: Path) -> None:
    db = state / "history.sqlite"
    if not db.exists():
        return
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_full_disk_while_a_step_prints(tmp_path: Path, small_disk: Path) -> None:
    project = make_project(
        tmp_path / "p",
        "version: 2.1\njobs:\n  build:\n    machine: true\n    steps:\n"
        "      - run: head -c 6000000 /dev/zero | tr '\\0' x; echo; echo done\n",
    )
    outcome = runner(["run"], project, env={"RUNNER_STATE_DIR": str(small_disk)}, timeout=90)
    assert_environment_failed(outcome, "No space left on device")
    _history_is_sound(small_disk)
    history = runner(["history"], project, env={"RUNNER_STATE_DIR": str(small_disk)})
    no_traceback(history)
    assert history.code == 0, history.stderr
    # issue 13: the run's end is recorded (by runner itself, with its exit code and stop
    # time), never left `running` for a later look to mark "cut off" at the wrong time
    with sqlite3.connect(small_disk / "history.sqlite") as conn:
        row = conn.execute("SELECT status, exit_code, message FROM runs").fetchone()
        steps = conn.execute("SELECT status FROM steps").fetchall()
    assert row == ("failed", 3, ""), row
    assert steps == [("failed",)], steps
    log = next(small_disk.glob("runs/1/jobs/build/0/logs/000-run.log")).read_text()
    assert log.endswith("[runner: log cut here: No space left on device]\n")


def test_a_full_disk_while_a_cache_is_saved(tmp_path: Path, small_disk: Path) -> None:
    project = make_project(
        tmp_path / "p",
        "version: 2.1\njobs:\n  build:\n    machine: true\n    steps:\n"
        "      - run: mkdir -p ~/data && head -c 3000000 /dev/urandom > ~/data/blob\n"
        "      - save_cache: {key: data-v1, paths: [~/data]}\n",
    )
    outcome = runner(["run"], project, env={"RUNNER_STATE_DIR": str(small_disk)}, timeout=90)
    assert_environment_failed(outcome, "No space left on device")
    entries = small_disk / "caches" / "entries"
    assert not entries.exists() or not list(entries.iterdir())  # never a partial cache
    leftovers = list((small_disk / "caches" / "tmp").glob("*/*")) if (
        small_disk / "caches" / "tmp").exists() else []
    assert leftovers == [], leftovers
    _history_is_sound(small_disk)


def test_a_full_disk_before_anything_starts(tmp_path: Path, small_disk: Path) -> None:
    small_disk.mkdir()
    (small_disk / "filler").write_bytes(b"\0" * (2 * 1024 * 1024 - 8192))
    with contextlib.suppress(OSError):  # fill what is left
        (small_disk / "filler2").write_bytes(b"\0" * 65536)
    project = make_project(
        tmp_path / "p",
        "version: 2.1\njobs:\n  build:\n    machine: true\n    steps:\n      - run: echo hi\n",
    )
    outcome = runner(["run"], project, env={"RUNNER_STATE_DIR": str(small_disk)}, timeout=60)
    assert_environment_failed(outcome, "No space left on device")


# ---------------------------------------------------------------- faults while archiving

ARCHIVING = {
    "save_cache": "- save_cache: {key: data-v1, paths: [~/data]}",
    "persist_to_workspace": "- persist_to_workspace: {root: ~/data, paths: [blob]}",
}


def _step_statuses(state: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(state / "history.sqlite") as conn:
        return conn.execute("SELECT name, status FROM steps ORDER BY idx").fetchall()


@pytest.mark.docker
@pytest.mark.parametrize("step", sorted(ARCHIVING))
def test_the_engine_is_lost_in_the_middle_of_an_archive(tmp_path: Path, step: str) -> None:
    # issue 13: an IncompleteRead was an "internal error", exit 1, and the step stayed
    # `running` in the summary and in history for ever
    state = tmp_path / "state"
    proxy = EngineProxy().start()
    proxy.cut_during("GET", r"/containers/[^/]+/archive", after=1024 * 1024)
    project = docker_project(tmp_path / "p", f"""
        - run: mkdir -p ~/data && head -c 20000000 /dev/urandom > ~/data/blob
        {ARCHIVING[step]}
        - run: {{name: later, command: echo never, when: always}}
    """)
    try:
        outcome = runner(["run"], project, env={"DOCKER_HOST": proxy.url,
                                                "RUNNER_STATE_DIR": str(state), **FAST})
    finally:
        proxy.stop()
        runner(["clean"], project, env={"RUNNER_STATE_DIR": str(state)})
    assert_environment_failed(outcome, "lost the Docker engine at tcp://127.0.0.1:")
    assert "internal error" not in outcome.stdout + outcome.stderr
    assert "│ never" not in outcome.stdout
    assert "running" not in outcome.stdout.split("job ", 1)[-1]  # the summary's table
    statuses = dict(_step_statuses(state))
    assert "running" not in statuses.values(), statuses
    assert list(statuses.values())[1] == "failed", statuses
    for folder in ("caches/entries", "caches/tmp", "runs/1/workspace"):
        found = [p for p in (state / folder).rglob("*") if p.is_file()]
        # a workspace keeps the marker of a layer that failed (attach says it is missing)
        kept = [p for p in found if "pending" not in p.relative_to(state / folder).parts]
        assert kept == [], folder


@pytest.mark.docker
def test_a_container_removed_while_persisting_says_it_went_away(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proxy = EngineProxy().start()
    held = proxy.hold("HEAD", r"/containers/[^/]+/archive\?path=%2Froot%2Fdata$", seconds=600)
    project = docker_project(tmp_path / "p", f"""
        - run: mkdir -p ~/data && echo hi > ~/data/blob
        {ARCHIVING["persist_to_workspace"]}
    """)
    run = Running(["run"], project, env={"DOCKER_HOST": proxy.url,
                                         "RUNNER_STATE_DIR": str(state), **FAST})
    try:
        run.wait_for(held.arrived.is_set, "the workspace root check")
        for name in labelled(state):
            subprocess.run(["docker", "rm", "-f", name], check=True, capture_output=True)
        held.released.set()
        outcome = run.finish(timeout=90)
    finally:
        proxy.stop()
    assert_environment_failed(outcome, "the container went away while looking for /root/data")
    assert "does not exist" not in outcome.stdout


# ---------------------------------------------------------------- a save killed with runner

BIG_SAVE = """
- run: mkdir -p ~/data && head -c 150000000 /dev/urandom > ~/data/blob
- save_cache: {key: data-v1, paths: [~/data]}
"""


def _saves(state: Path) -> list[Path]:
    tmp = state / "caches" / "tmp"
    return sorted(p for p in tmp.iterdir() if p.is_dir()) if tmp.is_dir() else []


def _writing(state: Path) -> bool:
    return any(any(p.iterdir()) for p in _saves(state))


def _machine(root: Path, steps: str) -> Path:
    body = textwrap.indent(textwrap.dedent(steps).strip("\n"), "      ")
    return make_project(root, f"version: 2.1\njobs:\n  build:\n    machine: true\n"
                              f"    steps:\n{body}\n")


@pytest.mark.parametrize("then", ["clean", "run"])
def test_a_save_cut_by_kill_9_is_removed_by_clean_and_by_the_next_run(
    tmp_path: Path, then: str
) -> None:
    state = tmp_path / "state"
    env = {"RUNNER_STATE_DIR": str(state)}
    project = _machine(tmp_path / "p", BIG_SAVE)
    run = Running(["run"], project, env=env)
    try:
        run.wait_for(lambda: _writing(state), "the cache archive", timeout=120)
    finally:
        run.proc.kill()  # kill -9: no cleanup of any kind
        run.proc.wait()
    assert _saves(state), "the partial save is there"
    if then == "clean":
        done = runner(["clean"], project, env=env)
    else:
        (project / ".circleci" / "config.yml").write_text(
            "version: 2.1\njobs:\n  build:\n    machine: true\n    steps:\n      - run: echo hi\n"
        )
        done = runner(["run"], project, env=env)
    assert done.code == 0, done.stdout[-2000:] + done.stderr
    assert _saves(state) == []
    assert list((state / "caches" / "tmp").glob("*.lock")) == []


def test_clean_leaves_a_live_save_alone(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {"RUNNER_STATE_DIR": str(state)}
    project = _machine(tmp_path / "p", BIG_SAVE)
    run = Running(["run"], project, env=env)
    run.wait_for(lambda: _writing(state), "the cache archive", timeout=120)
    cleaned = runner(["clean"], project, env=env)
    assert cleaned.code == 0, cleaned.stderr
    # had clean removed the save being written, it would fail instead of being stored
    outcome = run.finish(timeout=300)
    assert outcome.code == 0, outcome.stdout[-2000:]
    assert "Stored Cache to data-v1" in outcome.stdout
    assert _saves(state) == []


@pytest.mark.docker
@pytest.mark.parametrize("step", sorted(ARCHIVING))
def test_a_full_disk_while_archiving_from_a_container(
    tmp_path: Path, small_disk: Path, step: str
) -> None:
    # issue 13: the files are in the container, only the state directory is full: the
    # archive cannot be written, which is the environment's failure (exit 3), not the job's
    project = docker_project(tmp_path / "p", f"""
        - run: mkdir -p ~/data && head -c 3000000 /dev/urandom > ~/data/blob
        {ARCHIVING[step]}
    """)
    env = {"RUNNER_STATE_DIR": str(small_disk), **FAST}
    try:
        outcome = runner(["run"], project, env=env, timeout=90)
    finally:
        runner(["clean"], project, env=env)
    assert_environment_failed(outcome, "No space left on device")
    assert "internal error" not in outcome.stdout
    entries = small_disk / "caches" / "entries"
    assert not entries.exists() or not list(entries.iterdir())
    _history_is_sound(small_disk)

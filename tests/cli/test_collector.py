"""The cyclic collector is paused while a `runner` process starts, and resumes (issue 17)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import make_project

ONE_STEP = "version: 2\njobs:\n  build:\n    machine: true\n    steps: [{run: echo one-step}]\n"

# Runs the `runner` executable's entry in this process, noting every collection (before or
# after start-up's objects were frozen) and what was loaded when the collector resumed.
WATCHED_ENTRY = """
import atexit, gc, json, sys
from runner import collector

out, args = sys.argv[1], sys.argv[2:]
seen = {"before": 0, "after": 0, "loaded_at_resume": None}

def count(phase, info):
    if phase == "start":
        seen["after" if gc.get_freeze_count() else "before"] += 1

def resume(real=collector.resume):
    if seen["loaded_at_resume"] is None:
        seen["loaded_at_resume"] = sorted(m for m in sys.modules if m.startswith("runner."))
    real()

def report():
    seen.update(enabled=gc.isenabled(), frozen=gc.get_freeze_count())
    with open(out, "w") as f:
        json.dump(seen, f)

gc.callbacks.append(count)
collector.resume = resume
atexit.register(report)
sys.argv = ["runner", *args]
from runner.__main__ import main
main()
"""


def watched(tmp_path: Path, args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str],
                                                                   dict[str, object]]:  # fmt: skip
    out = tmp_path / "seen.json"
    env = {**os.environ, "NO_COLOR": "1", "RUNNER_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run([sys.executable, "-c", WATCHED_ENTRY, str(out), *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    return done, json.loads(out.read_text())


def test_a_run_collects_nothing_until_its_first_step_then_collects_again(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", ONE_STEP)
    done, seen = watched(tmp_path, ["run"], project)
    assert done.returncode == 0, done.stderr
    assert "one-step" in done.stdout
    assert seen["before"] == 0  # left on, the collector runs ~100 times on this way
    assert seen["enabled"] is True and isinstance(seen["frozen"], int) and seen["frozen"] > 10_000
    loaded = seen["loaded_at_resume"]
    assert isinstance(loaded, list)
    # resumed once the run's own modules were in: the executor, the console, the history
    assert {"runner.engine", "runner.report.console", "runner.store.recorder"} <= set(loaded)
    assert any(m.startswith("runner.executors.machine") for m in loaded)


def test_other_commands_resume_before_they_run(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", ONE_STEP)
    done, seen = watched(tmp_path, ["history"], project)
    assert done.returncode == 0, done.stderr
    assert seen["before"] == 0 and seen["enabled"] is True
    loaded = seen["loaded_at_resume"]
    assert isinstance(loaded, list) and "runner.cli" in loaded
    assert "runner.cli.history_cmd" in loaded and "runner.store.history" not in loaded


def test_without_the_entry_the_collector_runs_on_the_same_way(tmp_path: Path) -> None:
    """The control: the same start with the collector left on collects many times, so the
    counts above are the pause's doing (a module importing runner is never paused)."""
    project = make_project(tmp_path / "p", ONE_STEP)
    entry = WATCHED_ENTRY.replace("from runner.__main__ import main", "from runner.cli import main")
    out = tmp_path / "seen.json"
    env = {**os.environ, "NO_COLOR": "1", "RUNNER_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run([sys.executable, "-c", entry, str(out), "run"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = json.loads(out.read_text())
    assert seen["before"] > 10 and seen["frozen"] == 0  # never paused: resuming did nothing


PAUSE_AND_RESUME = """
import gc
from runner import collector
steps = []
def note(): steps.append((gc.isenabled(), collector.paused(), gc.get_freeze_count() > 0))
collector.pause(); note()
collector.pause(); note()  # twice: still one pause
collector.resume(); note()
collector.resume(); note()  # no second freeze needed, nothing changes
gc.disable(); gc.unfreeze()
collector.pause(); note()  # off already (someone else's choice): left alone
collector.resume(); note()
print(steps)
"""


def test_pause_and_resume_leave_a_collector_they_did_not_turn_off_alone() -> None:
    done = subprocess.run([sys.executable, "-c", PAUSE_AND_RESUME], capture_output=True,
                          text=True, timeout=60, check=True)  # fmt: skip
    assert done.stdout.strip() == str([
        (False, True, False), (False, True, False), (True, False, True), (True, False, True),
        (False, False, False), (False, False, False),
    ])  # fmt: skip

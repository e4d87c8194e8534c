"""``runner run --watch``: run the same selection again whenever a project file changes.

act's ``-w`` does this (by polling every 2 s); runner uses ``watchfiles`` (inotify on Linux,
imported only here, so other commands never pay for it). A change counts when it is to a file
git tracks or would track: ``.git``, runner's own state directory and git-ignored paths are
left out (``git check-ignore``, so every ignore rule git knows applies). Changes are debounced
(an editor's save is several events); a change while a run is going stops that run first (the
same graceful stop as a Ctrl-C), then runs again. Ctrl-C stops the run and the watching.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from runner import collector
from runner.errors import RunnerError

if TYPE_CHECKING:
    from runner.engine import Engine
    from runner.runflow import RunRequest

DEBOUNCE_MS = 400
INTERRUPTED = 130


def watch_runs(
    request: RunRequest,
    execute: Callable[[Callable[[Engine], None]], int],
    say: Callable[[str], None] = lambda text: print(f"runner: {text}", file=sys.stderr),
) -> int:
    """Run, then again after each relevant change, until interrupted; the last run's exit."""
    from runner.runflow import open_project
    from runner.store.state import resolve_root

    collector.resume()  # a watching process lives long: collect from its first run on
    project = open_project(request.project)
    state = resolve_root(project.root, request.project.state_dir, os.environ)
    watcher = Watcher(project.root, state)
    watcher.start()
    try:
        while True:
            watcher.changed.clear()
            try:
                code = execute(watcher.attach)
            except RunnerError as exc:  # a config broken by an edit: say so, watch for the fix
                say(exc.render())
                code = int(exc.exit_code)
            watcher.detach()
            if not watcher.changed.is_set():
                if code == INTERRUPTED:
                    return code  # Ctrl-C (or SIGTERM) ends the watching too
                say("watching for changes (Ctrl-C to stop)")
                watcher.changed.wait()
            say("files changed: running again")
    finally:
        watcher.stop()


class Watcher:
    """A daemon thread that sets ``changed`` (and stops the attached run) on a relevant change."""

    def __init__(self, root: Path, state: Path) -> None:
        self.root = root.resolve()
        self.state = state.resolve()
        self.changed = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="runner-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=10)  # changes made once the first run starts are seen

    def stop(self) -> None:
        self._stop.set()

    def attach(self, engine: Engine) -> None:
        with self._lock:
            self._engine = engine
        if self.changed.is_set():  # changed while the run was being prepared
            engine.cancel()

    def detach(self) -> None:
        with self._lock:
            self._engine = None

    def _loop(self) -> None:
        import watchfiles

        self._ready.set()
        for changes in watchfiles.watch(
            self.root, watch_filter=self._candidate, debounce=DEBOUNCE_MS,
            stop_event=self._stop, raise_interrupt=False,
        ):
            if self.relevant(Path(path) for _, path in changes):
                self._changed()

    def _changed(self) -> None:
        with self._lock:
            self.changed.set()
            engine = self._engine
        if engine is not None:
            engine.cancel()

    def _candidate(self, _change: object, path: str) -> bool:
        where = Path(path)
        return not (
            where.is_relative_to(self.root / ".git") or where.is_relative_to(self.state)
        )

    def relevant(self, paths: Iterable[Path]) -> bool:
        """Whether any of these paths is one git tracks or would track (not ignored)."""
        candidates = sorted({str(p) for p in paths if self._candidate(None, str(p))})
        if not candidates:
            return False
        ignored = _git_ignored(self.root, candidates)
        return any(p not in ignored for p in candidates)


def _git_ignored(root: Path, paths: list[str]) -> set[str]:
    """The paths git ignores (tracked files never are); none outside a git repository."""
    try:
        done = subprocess.run(
            ["git", "check-ignore", "--stdin", "-z"], cwd=root, input="\0".join(paths) + "\0",
            capture_output=True, text=True, timeout=30, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return set()
    if done.returncode not in (0, 1):  # 128: not a repository
        return set()
    return {p for p in done.stdout.split("\0") if p}

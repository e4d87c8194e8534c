"""Shared helpers for the benchmarks: timing whole processes, medians, a results table.

Every figure is a median of repeated runs measured in the same invocation as its baseline, so
the ratios hold on a shared, noisy machine where absolute numbers do not.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    wall: float  # seconds
    rss_mib: float  # peak resident memory of the measured process itself


GNU_TIME = "/usr/bin/time"


def time_process(
    argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> Sample:
    """Run a command to completion: its wall time, and its peak RSS as GNU time reports it.

    GNU time (a small C program) is the parent, so the figure is the command's own and not
    inflated by a Python parent's memory, as wait4's ru_maxrss would be after a fork."""
    with tempfile.NamedTemporaryFile("r") as report:
        wrapped = [GNU_TIME, "-q", "-f", "%M", "-o", report.name, *argv]
        use_time = os.path.exists(GNU_TIME)
        started = time.perf_counter()
        done = subprocess.run(
            wrapped if use_time else list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - started
        rss_kib = float(report.read().strip() or 0) if use_time else 0.0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}")
    return Sample(wall, rss_kib / 1024)


def measure(argv: Sequence[str], repeat: int, **kw: object) -> Sample:
    """One warm-up, then the median wall time and median peak RSS of ``repeat`` runs."""
    time_process(argv, **kw)  # type: ignore[arg-type]
    samples = [time_process(argv, **kw) for _ in range(repeat)]  # type: ignore[arg-type]
    return Sample(
        statistics.median(s.wall for s in samples), statistics.median(s.rss_mib for s in samples)
    )


def git_project(root: Path, files: Mapping[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@example.invalid",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@example.invalid",
    }
    # gc.auto=0: a big commit would start `git gc --auto` in the background (bench_checkout)
    commit = ["-c", "gc.auto=0", "commit", "-qm", "bench"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], commit):
        subprocess.run(["git", *args], cwd=root, check=True, env=env, capture_output=True)
    return root


def runner_argv(*args: str, python: str = sys.executable) -> list[str]:
    return [python, "-m", "runner", *args]


def installed_runner(python: str, *args: str) -> list[str]:
    """The ``runner`` command pip installed beside ``python`` (see :func:`wheel_python`): what
    a user types, without ``-m``'s runpy (about 10 ms of importlib here)."""
    return [str(Path(python).with_name("runner")), *args]


def installed_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of an installed runner: its bytecode compiled and cached.

    ``pip install`` compiles a package's modules; a checkout run with
    ``PYTHONDONTWRITEBYTECODE`` (as in some sandboxes) would recompile all of them on every
    start (~90 ms) and measure something no user runs."""
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "runner")], check=True,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **(extra or {})}


def wheel_python(work: Path) -> str:
    """A Python with runner installed from its wheel, as ``pip install runner`` leaves it, and
    runner's dependencies from this environment: the interpreter start-up probes run.

    An editable install (the README's development set-up) adds a finder that every Python in
    its environment loads at start-up, runner or not (about 30 ms here, half of ``python -c
    pass``), and no user's installed runner has it."""
    import site
    import venv

    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(work / "wheel"), str(root)],
                   check=True, env=env)  # fmt: skip
    venv.create(work / "venv", with_pip=False)
    target = Path(next(iter((work / "venv").glob("lib/python3*/site-packages"))))
    # a path line adds the directory to sys.path without running that directory's .pth files
    (target / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    python = str(work / "venv" / "bin" / "python")
    wheel = next(iter((work / "wheel").glob("runner-*.whl")))
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, env=env)  # fmt: skip
    return python


def table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def docker_session_shim(box: str) -> object:
    """Enough of a ``DockerSession`` around the running container ``box`` for its upload
    methods (``put_files``, ``put_archive``), as the job's root user: the benchmarks time
    runner's copy into a container without starting a whole job."""
    from runner.executors.docker.connection import connect
    from runner.executors.docker.session import DockerSession

    class Facts:
        uid = 0
        gid = 0

    class Shim:
        facts = Facts()
        cid = box
        _stopped = False
        api = connect(os.environ)

        def _unless_stopped(self, chunks):  # type: ignore[no-untyped-def]
            return DockerSession._unless_stopped(self, chunks)  # type: ignore[arg-type]

        def _put(self, dest, chunks, what):  # type: ignore[no-untyped-def]
            return DockerSession._put(self, dest, chunks, what)  # type: ignore[arg-type]

    return Shim()

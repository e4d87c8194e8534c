"""Start-up of a one-step job through ``runner run``, against its floor (issue 17, item 3).

The floor of a one-step docker job is what a user's own script would pay: ``docker run --rm``
of the same step, plus starting Python with the stack runner needs (``python -c "import
docker, typer"``). Every Python probe runs in a fresh environment holding runner's wheel, as a
user's install has it (``common.wheel_python``), and runner is started by the ``runner``
command pip put there, as a user types it. Every probe runs in turn, round after round, in
this one process (a shared machine's load drifts; interleaving spreads it evenly), and each
ratio is the median of the round-by-round ratios. Also printed: the machine one-step job and
``runner --help`` (absolute targets: at most ~0.16-0.21 s and 0.12 s), the engine calls one
docker job makes (counted in-process), and the load average. No assertions: numbers, for the
issue note.
Requires the images of ``.ci/build-test-images.sh``.

    python benchmarks/bench_start.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench_docker import IMAGE, in_process, interleaved, process
from common import git_project, installed_env, installed_runner, table, wheel_python

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STEP = "echo one-step"


def config(executor: str) -> str:
    return f"version: 2\njobs:\n  build:\n{executor}    steps:\n      - run: {STEP}\n"


def engine_calls(project: Path) -> Counter[str]:
    """The engine's HTTP calls during one in-process run, by method and path (ids elided)."""
    import re

    import requests

    seen: Counter[str] = Counter()
    send = requests.Session.send

    def counting(self: requests.Session, request: requests.PreparedRequest, **kw: object) -> object:
        path = re.sub(r"/v[\d.]+/", "/", (request.path_url or "").split("?")[0])
        seen[f"{request.method} {re.sub(r'/[0-9a-f]{12,}', '/ID', path)}"] += 1
        return send(self, request, **kw)  # type: ignore[arg-type]

    requests.Session.send = counting  # type: ignore[assignment,method-assign]
    try:
        in_process(project)()
    finally:
        requests.Session.send = send  # type: ignore[method-assign]
    return seen


def child_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def with_cpu(probe: Callable[[], float], cpu: list[float]) -> Callable[[], float]:
    """The probe, also noting the CPU seconds its processes used (user + system). On a loaded
    machine CPU time drifts much less than wall time; it misses what the Docker engine does."""

    def once() -> float:
        before = child_cpu()
        wall = probe()
        cpu.append(child_cpu() - before)
        return wall

    return once


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    repeat = parser.parse_args().repeat
    work = Path(tempfile.mkdtemp(prefix="runner-bench-start-"))
    env = installed_env({"RUNNER_STATE_DIR": str(work / "state"), "NO_COLOR": "1"})
    os.environ["RUNNER_STATE_DIR"] = env["RUNNER_STATE_DIR"]
    docker = git_project(work / "docker", {".circleci/config.yml": config(
        f"    docker:\n      - image: {IMAGE}\n")})  # fmt: skip
    machine = git_project(work / "machine", {".circleci/config.yml": config(
        "    machine: true\n")})  # fmt: skip
    python = wheel_python(work)
    run = installed_runner(python, "run")
    probes: dict[str, Callable[[], float]] = {
        "docker run --rm": process(["docker", "run", "--rm", IMAGE, "sh", "-c", STEP]),
        "import docker, typer": process([python, "-c", "import docker, typer"], env=env),
        # the interpreter alone: beside the absolute targets, how fast this machine starts
        # any Python at all (it varies severalfold between machines and days)
        "python -c pass": process([python, "-c", "pass"], env=env),
        # what `runner --help` cannot go below: the command-line library it is written with
        "import typer": process([python, "-c", "import typer"], env=env),
        "runner run (docker)": process(run, cwd=docker, env=env),
        "runner run (machine)": process(run, cwd=machine, env=env),
        "runner --help": process(installed_runner(python, "--help"), env=env),
    }
    cpus: dict[str, list[float]] = {name: [] for name in probes}
    probes = {name: with_cpu(probe, cpus[name]) for name, probe in probes.items()}
    load = os.getloadavg()
    try:
        walls = interleaved(probes, repeat)
        calls = engine_calls(docker)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(table(report(walls, repeat, load)))
    print("\nCPU (user + system) of the processes, median:")
    for name, used in cpus.items():
        print(f"  {name}: {statistics.median(used[1:]) * 1000:.0f} ms")  # [0]: the warm-up
    print(f"\nengine calls of one docker job ({sum(calls.values())}):")
    for call, count in sorted(calls.items()):
        print(f"  {count} x {call}")


def report(
    walls: dict[str, list[float]], repeat: int, load: tuple[float, float, float]
) -> list[tuple[str, ...]]:
    med = {name: statistics.median(w) for name, w in walls.items()}
    floors = [a + b for a, b in zip(walls["docker run --rm"], walls["import docker, typer"],
                                    strict=True)]  # fmt: skip
    ratio = statistics.median(
        ours / floor for ours, floor in zip(walls["runner run (docker)"], floors, strict=True)
    )
    rows: list[tuple[str, ...]] = [("measure", "median wall", "ratio", "target")]
    rows += [(name, f"{v * 1000:.0f} ms", "", "") for name, v in med.items()]
    rows += [
        ("floor: docker run + import", f"{statistics.median(floors) * 1000:.0f} ms", "", ""),
        ("docker one-step job", f"{med['runner run (docker)'] * 1000:.0f} ms",
         f"{ratio:.2f}x floor", "<= 1.15x"),
        ("machine one-step job", f"{med['runner run (machine)'] * 1000:.0f} ms", "",
         "<= ~160-210 ms"),
        ("runner --help", f"{med['runner --help'] * 1000:.0f} ms", "", "< 120 ms"),
        (f"{repeat} interleaved rounds", f"load {load[0]:.1f} / {os.getloadavg()[0]:.1f}",
         f"{os.cpu_count()} cores", "(load before / after)"),
    ]
    return rows


if __name__ == "__main__":
    main()

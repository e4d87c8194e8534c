"""Docker executor overhead, against plain ``docker run``/``docker exec`` and gitlab-ci-local.

Targets (issue 3), every ratio measured in this same invocation:
- a job with one 50-line ``echo`` step: at most 1.3x ``docker run --rm IMAGE sh -c '<lines>'``;
- each extra step: at most 1.2x one ``docker exec`` ((10-step job - 1-step job) / 9);
- 4 parallel nodes of ``sleep 2``: at most 1.3x the time of one node (``-j 4``: by default
  runner runs as many nodes at once as there are CPUs).
gitlab-ci-local 4.60.0's docker executor runs the same job when it is installed
(``npm install -g gitlab-ci-local@4.60.0``; it needs rsync), with ``--helper-image`` set to the
local busybox image since no registry is reachable here.

The one-step job is timed twice: ``runner run`` as a process (what a user waits for, Python's
start and imports included), and the same run in-process (``runflow.run``: the executor's own
path, which is what the 1.3x target is about). A third probe times what any Python CLI on the
required stack pays before its first engine call (``python -c "import docker, typer"``): about
half of ``docker run`` by itself, so 1.3x through a process is out of reach for this stack.
Requires the images of ``.ci/build-test-images.sh``.

    python benchmarks/bench_docker.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import (
    Sample,
    git_project,
    installed_env,
    measure,
    runner_argv,
    table,
    time_process,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

IMAGE = "runner-test/busybox:latest"
STACK = "python: import docker, typer"
LINES = [f"echo step {i}" for i in range(1, 51)]


def job(steps: list[str], *, parallelism: int = 1) -> str:
    head = ["version: 2", "jobs:", "  build:", "    docker:", f"      - image: {IMAGE}"]
    if parallelism > 1:
        head.append(f"    parallelism: {parallelism}")
    return "\n".join([*head, "    steps:", *steps]) + "\n"


def configs() -> dict[str, str]:
    block = ["      - run: |", *(f"          {line}" for line in LINES)]
    return {
        "one-step": job(block),
        "single": job(["      - run: echo one"]),
        "ten-steps": job([f"      - run: echo step {i}" for i in range(10)]),
        "sleep-1-node": job(["      - run: sleep 2"]),
        "sleep-4-nodes": job(["      - run: sleep 2"], parallelism=4),
    }


def in_process(project: Path) -> Callable[[], float]:
    """One ``runflow.run`` without the Python start: the executor's own cost."""
    from runner import runflow

    def once() -> float:
        request = runflow.RunRequest(
            project=runflow.ProjectRequest(project_dir=project), jobs_limit=4
        )
        started = time.perf_counter()
        result = runflow.run(request, subscribers=[], cwd=project)
        if result.exit_code != 0:
            raise RuntimeError(f"the job failed: {result}")
        return time.perf_counter() - started

    return once


def process(argv: list[str], **kw: Any) -> Callable[[], float]:
    return lambda: time_process(argv, **kw).wall


def interleaved(probes: dict[str, Callable[[], float]], repeat: int) -> dict[str, list[float]]:
    """One warm-up each, then ``repeat`` rounds of every probe in turn: a shared machine's load
    drifts, and interleaving spreads the drift evenly over what is compared."""
    for probe in probes.values():
        probe()
    walls: dict[str, list[float]] = {name: [] for name in probes}
    for _ in range(repeat):
        for name, probe in probes.items():
            walls[name].append(probe())
    return walls


def paired(walls: dict[str, list[float]], name: str, baseline: str) -> float:
    """The median of the round-by-round ratios: each round's two figures were taken moments
    apart, so a drift in the machine's load cancels out of each ratio."""
    return statistics.median(a / b for a, b in zip(walls[name], walls[baseline], strict=True))


def gitlab_ci_local(work: Path, repeat: int, env: dict[str, str]) -> Sample | None:
    gcl = shutil.which("gitlab-ci-local")
    if gcl is None:
        return None
    text = f"bench-job:\n  image: {IMAGE}\n  script:\n" + "".join(f"    - {x}\n" for x in LINES)
    project = git_project(work / "gcl", {".gitlab-ci.yml": text})
    argv = [gcl, "--helper-image", IMAGE, "--cwd", project.name, "bench-job"]
    return measure(argv, repeat, cwd=work, env=env)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    work = Path(tempfile.mkdtemp(prefix="runner-bench-docker-"))
    env = installed_env({"RUNNER_STATE_DIR": str(work / "state"), "NO_COLOR": "1"})
    os.environ["RUNNER_STATE_DIR"] = env["RUNNER_STATE_DIR"]
    projects = {
        name: git_project(work / name, {".circleci/config.yml": text})
        for name, text in configs().items()
    }
    box = subprocess.run(
        ["docker", "run", "-d", "--rm", "--label", "com.runner.bench=1", IMAGE, "sleep", "600"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    lines = "\n".join(LINES)
    probes: dict[str, Callable[[], float]] = {
        "docker run --rm (50 lines)": process(["docker", "run", "--rm", IMAGE, "sh", "-c", lines]),
        "docker exec echo": process(["docker", "exec", box, "echo", "x"]),
        # What any Python CLI on the required stack pays before its first engine call
        STACK: process([sys.executable, "-c", "import docker, typer"], env=env),
    }
    for name in ("one-step", "single", "ten-steps"):
        probes[f"in-process {name}"] = in_process(projects[name])
    for name, project in projects.items():
        # -j 4: the default number of nodes at once is the CPU count (2 on the CI machines)
        argv = runner_argv("run", "-j", "4")
        probes[f"runner run {name}"] = process(argv, cwd=project, env=env)
    try:
        walls = interleaved(probes, repeat)
        r = {name: Sample(statistics.median(w), 0.0) for name, w in walls.items()}
        gcl = gitlab_ci_local(work, max(3, repeat // 2), env)
        if gcl is not None:
            r["gitlab-ci-local 4.60.0 docker"] = gcl
    finally:
        subprocess.run(["docker", "rm", "-f", box], capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)
    print(table(report(r, walls)))


def report(r: dict[str, Sample], walls: dict[str, list[float]]) -> list[tuple[str, ...]]:
    docker_run = r["docker run --rm (50 lines)"].wall
    exec_ = r["docker exec echo"].wall

    def per_step(prefix: str) -> float:
        return (r[f"{prefix} ten-steps"].wall - r[f"{prefix} single"].wall) / 9

    nodes = r["runner run sleep-4-nodes"].wall / r["runner run sleep-1-node"].wall
    one, one_cli = r["in-process one-step"].wall, r["runner run one-step"].wall
    rows: list[tuple[str, ...]] = [("measure", "median wall", "ratio", "target")]
    rows += [(k, f"{v.wall * 1000:.0f} ms", "", "") for k, v in r.items()]
    base = "docker run --rm (50 lines)"
    rows += [
        ("one-step job, in-process", f"{one * 1000:.0f} ms",
         f"{one / docker_run:.2f}x docker run", "<= 1.3x"),
        ("  round by round", "", f"{paired(walls, 'in-process one-step', base):.2f}x", ""),
        ("one-step job, `runner run`", f"{one_cli * 1000:.0f} ms",
         f"{one_cli / docker_run:.2f}x docker run", "(Python start included)"),
        ("  round by round", "", f"{paired(walls, 'runner run one-step', base):.2f}x", ""),
        ("  of which the stack's floor", f"{r[STACK].wall * 1000:.0f} ms",
         f"{r[STACK].wall / docker_run:.2f}x docker run", "(Python, docker SDK, typer)"),
        ("per extra step, in-process", f"{per_step('in-process') * 1000:.0f} ms",
         f"{per_step('in-process') / exec_:.2f}x docker exec", "<= 1.2x"),
        ("per extra step, `runner run`", f"{per_step('runner run') * 1000:.0f} ms",
         f"{per_step('runner run') / exec_:.2f}x docker exec", "(console output included)"),
        ("4 parallel nodes vs 1 (-j 4)", "", f"{nodes:.2f}x", "<= 1.3x"),
    ]
    if "gitlab-ci-local 4.60.0 docker" in r:
        g = r["gitlab-ci-local 4.60.0 docker"].wall
        rows.append(("vs gitlab-ci-local", "", f"{g / one_cli:.1f}x faster (runner run)", ""))
    return rows


if __name__ == "__main__":
    main()

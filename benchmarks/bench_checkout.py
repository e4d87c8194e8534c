"""``checkout`` of a big tree on both executors, against copying the same files with tar.

    python benchmarks/bench_checkout.py [--files 50000] [--mb 300] [--repeat 3] [--dir DIR]
                                        [--project GIT_DIR] [--only machine|docker]

Builds a git project of ``--files`` files, ``--mb`` MB in all (committed, so ``.git`` holds
them too), then times, round after round (interleaved: a shared machine's load drifts):

* machine: runner's checkout step into a node home, against
  ``tar --null -T LIST -c | tar -x`` into a fresh directory on the same disk;
* docker: runner's checkout into a running container, against the same tar stream piped
  into ``docker cp - CONTAINER:/dest``.

The floor makes the list runner copies as a user would, inside the timed pipeline (``git
ls-files -z`` of tracked and untracked files that are not ignored, plus ``find .git``), so
both sides list and copy the same bytes. A third row times ``RUNNER_REUSE_CHECKOUT``'s kept
checkout after 10 files of the project changed, against the same machine floor. Each figure is
the median of ``--repeat`` rounds; the load average is printed with them. ``--project`` reuses
a git project made before (the 10 files are rewritten each round: use a scratch copy). Docker needs
``runner-test/debian:bookworm`` (``.ci/build-test-images.sh``). No assertions.
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

from bench_cache import make_tree
from common import docker_session_shim, git_project, table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

IMAGE = "runner-test/debian:bookworm"


def machine_checkout(project: Path, work: Path) -> Callable[[], float]:
    from runner.config.model import Job, MachineExecutor
    from runner.executors.base import NodeSpec
    from runner.executors.machine import KillPolicy, MachineSession
    from runner.steps.checkout import project_files

    job = Job(name="bench", executor=MachineExecutor(), steps=())

    def once() -> float:
        home = work / "home"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir()
        spec = NodeSpec(job=job, job_id="bench", node_index=0, node_total=1, run_id="1",
                        node_dir=work / "node")  # fmt: skip
        session = MachineSession(spec=spec, home_dir=home, env={}, kill=KillPolicy())
        started = time.perf_counter()
        names, _note = project_files(project)
        session.put_files(str(home / "project"), project, names)
        return time.perf_counter() - started

    return once


def kept_checkout(project: Path, work: Path) -> Callable[[], float]:
    """RUNNER_REUSE_CHECKOUT's path: the kept tree of the last round, 10 files changed since."""
    from runner.executors.kept_checkout import reuse
    from runner.steps.checkout import project_files

    class Node:
        def __init__(self) -> None:
            self.closing: list[Callable[[], None]] = []

        def host_dir(self, path: str) -> Path:
            return Path(path)

        def at_close(self, action: Callable[[], None]) -> None:
            self.closing.append(action)

        def stopping(self) -> bool:
            return False

    changed = sorted(p for p in project.rglob("*.txt") if ".git" not in p.parts)[:10]
    node = Node()

    def once() -> float:
        for action in node.closing:  # the last round's node ends: its checkout is kept
            action()
        node.closing.clear()
        shutil.rmtree(work / "kept-home", ignore_errors=True)
        for path in changed:
            path.write_bytes(path.read_bytes()[::-1])
        started = time.perf_counter()
        names, _note = project_files(project)
        done = reuse(node, str(work / "kept-home" / "project"), project, names, work / "slot")
        assert not isinstance(done, str), done
        return time.perf_counter() - started

    once()  # the first one copies everything
    return once


def floor_list(project: Path) -> str:
    """The shell that lists what runner copies: tracked and untracked files, and .git."""
    return (f"cd '{project}' && {{ git ls-files -z --cached --others --exclude-standard; "
            "find .git ! -type d -print0; }")  # fmt: skip


def timed(argv: list[str], before: list[str] | None = None) -> Callable[[], float]:
    def once() -> float:
        if before:
            subprocess.run(before, check=True)
        started = time.perf_counter()
        subprocess.run(argv, check=True)
        return time.perf_counter() - started

    return once


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--mb", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--only", choices=("machine", "docker"), default=None)
    parser.add_argument("--project", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="runner-bench-checkout-", dir=args.dir))
    try:
        run(work, args)
    finally:
        subprocess.run(["docker", "rm", "-f", f"runner-bench-checkout-{os.getpid()}"],
                       capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    project = args.project or work / "project"
    if args.project is None:
        make_tree(project, args.files, args.mb)
        git_project(project, {"README": "bench\n"})
        # pack now: a commit of 50,000 files starts `git gc --auto` in the background, which
        # would pack (remove) loose objects while they are copied
        subprocess.run(["git", "gc", "-q"], cwd=project, check=True)
    listing = subprocess.run(["sh", "-c", floor_list(project)], capture_output=True, check=True)
    count = listing.stdout.count(b"\0")
    print(f"project: {count} names with .git, made in {time.perf_counter() - started:.0f}s, "
          f"in {project}")  # fmt: skip
    tar_c = f"{floor_list(project)} | tar --null -T - -cf -"
    probes: dict[str, Callable[[], float]] = {}
    if args.only in (None, "machine"):
        out = work / "floor"
        probes["machine floor: ls-files | tar -c | tar -x"] = timed(
            ["sh", "-c", f"{tar_c} | tar -xf - -C '{out}'"],
            ["sh", "-c", f"rm -rf '{out}' && mkdir '{out}'"])  # fmt: skip
        probes["machine: runner checkout"] = machine_checkout(project, work)
        probes["machine: kept checkout, 10 files changed"] = kept_checkout(project, work)
    if args.only in (None, "docker"):
        box = f"runner-bench-checkout-{os.getpid()}"
        subprocess.run(["docker", "run", "-d", "--name", box, "--label", "com.runner.bench=1",
                        IMAGE, "sleep", "3600"], capture_output=True, check=True)  # fmt: skip
        # sync after the wipe: each side starts with no dirty pages of the other's 300 MB
        # still being written back to the engine's disk (which slowed whichever came second)
        wipe = ["sh", "-c", f"docker exec {box} sh -c 'rm -rf /floor && mkdir /floor' && sync"]
        probes["docker floor: ls-files | tar -c | docker cp -"] = timed(
            ["sh", "-c", f"{tar_c} | docker cp - {box}:/floor"], wipe)  # fmt: skip
        probes["docker: runner checkout"] = docker_into(box, project)
    load = os.getloadavg()
    walls: dict[str, list[float]] = {name: [] for name in probes}
    for _ in range(args.repeat):
        for name, probe in probes.items():
            walls[name].append(probe())
    rows: list[tuple[str, ...]] = [("measure", "median", "ratio", "target")]
    floor = ""
    for name, times in walls.items():
        if "floor" in name:
            floor = name
            rows.append((name, f"{statistics.median(times):.2f} s", "", ""))
            continue
        ratio = statistics.median(o / f for o, f in zip(times, walls[floor], strict=True))
        target = "<= 1.3x" if "kept" not in name else ""
        rows.append((name, f"{statistics.median(times):.2f} s", f"{ratio:.2f}x", target))
    rows.append((f"{args.repeat} interleaved rounds", f"load {load[0]:.1f} / "
                 f"{os.getloadavg()[0]:.1f}", f"{os.cpu_count()} cores", ""))  # fmt: skip
    print(table(rows))


def docker_into(box: str, project: Path) -> Callable[[], float]:
    """runner's docker checkout (``DockerSession.put_files``) into an existing container."""
    from runner.executors.docker.session import DockerSession
    from runner.steps.checkout import project_files

    put = DockerSession.put_files
    shim = docker_session_shim(box)

    def once() -> float:
        subprocess.run(["docker", "exec", box, "rm", "-rf", "/root/project"], check=True)
        subprocess.run(["sync"], check=True)
        started = time.perf_counter()
        names, _note = project_files(project)
        put(shim, "/root/project", project, names)  # type: ignore[arg-type]
        return time.perf_counter() - started

    return once


if __name__ == "__main__":
    main()

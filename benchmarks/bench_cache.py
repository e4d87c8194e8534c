"""Saving and restoring a cache against ``tar`` piped through ``zstd -1`` (issue 17's floor).

    python benchmarks/bench_cache.py [--files 20000] [--mb 200] [--dir DIR] [--repeat 3]

Builds a tree of ``--files`` files, ``--mb`` MB in all (a quarter incompressible, the rest
text-like), then times, each in a fresh process (so peak memory is that phase's alone):

* save: runner's cache save (the machine session's ``get_archive``, every member checked,
  compressed with zstd level 2, hashed, published) against ``tar -cf - | zstd -1 > file``;
* restore: runner's restore (digest verified, decompressed ahead in a thread, checked and
  extracted all-or-nothing by the machine session's ``put_archive``) against
  ``zstd -dc file | tar -xf -``.

Floor and runner alternate, round after round, and each figure is the median of ``--repeat``
rounds (a shared machine's load drifts; the load average is printed with the results); each
ratio is the median of the rounds' ratios, runner's run against the floor's just before it.
Prints seconds, the ratio to the floor (the target is at most 1.3x) and the peak RSS of the
largest process of each phase. Runner's phase is timed twice: the step, from opening the cache
to the last file in place, which is what a job waits for (runner is already running then), and
the whole process, which adds a fresh interpreter and runner's imports (``bench_start`` measures
those on their own). No assertions: numbers, for the issue note. The tree goes to ``/dev/shm``
when it has room, so the disk's write-back does not drown the comparison: there, with no disk
to wait for, the restore is CPU against CPU (runner's checks and digest against ``tar``'s C),
the hardest case for runner. ``--dir`` on the project's own disk measures the issue's "same
disk" case instead, where creating 20,000 files dominates both and the ratio is nearer 1.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def make_tree(root: Path, files: int, total_mb: int) -> None:
    rnd = random.Random(1)
    words = [bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9)))
             for _ in range(4000)]  # fmt: skip
    text = b" ".join(rnd.choice(words) for _ in range(400_000))
    per = total_mb * 1024 * 1024 // files
    for i in range(files):
        folder = root / f"d{i // 200:03d}" / f"s{(i // 20) % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        size = rnd.randint(per // 2, per * 3 // 2)
        if i % 4 == 0:
            data = os.urandom(size)
        else:
            start = rnd.randrange(0, len(text) - size)
            data = text[start : start + size]
        (folder / f"f{i}.dat").write_bytes(data)


# ---------------------------------------------------------------- phases (child processes)


def _session(work: Path):  # type: ignore[no-untyped-def]
    from runner.config.model import Job, MachineExecutor
    from runner.executors.base import NodeSpec
    from runner.executors.machine import MachineSession

    job = Job(name="bench", executor=MachineExecutor(), steps=())
    spec = NodeSpec(job=job, job_id="bench", node_index=0, node_total=1, run_id="1",
                    node_dir=work / "node")  # fmt: skip
    from runner.executors.machine import KillPolicy

    return MachineSession(spec=spec, home_dir=work, env={}, kill=KillPolicy())


def phase_save(work: Path) -> None:
    from runner.store.caches import CacheStore

    session = _session(work)
    started = time.perf_counter()
    store = CacheStore(work / "caches")
    pending = store.begin()
    pending.add(str(work / "tree"), session.get_archive(str(work / "tree")))
    store.publish(pending, key="bench", build_num=1, job="bench", run_id="1")
    _report_step(time.perf_counter() - started)


def phase_restore(work: Path) -> None:
    session = _session(work)
    _timed_restore(work, lambda stream: session.put_archive(str(work / "restored"), stream))


def phase_restore_docker(work: Path, box: str) -> None:
    """The docker executor's restore: every member checked and re-owned by runner, then the
    engine's archive API extracts it in the container (``DockerSession.put_archive``)."""
    from common import docker_session_shim

    from runner.executors.docker.session import DockerSession

    shim = docker_session_shim(box)
    _timed_restore(work, lambda stream: DockerSession.put_archive(shim, "/restored", stream))  # type: ignore[arg-type]


def _timed_restore(work: Path, put: Callable[[IO[bytes]], None]) -> None:
    """The step as a job runs it: from opening the cache to the last file in place."""
    from runner.archive import as_file
    from runner.store.caches import CacheStore

    started = time.perf_counter()
    store = CacheStore(work / "caches")
    entry = store.get("bench")
    assert entry is not None
    with as_file(store.open(entry, entry.paths[0])) as stream:
        put(stream)
    _report_step(time.perf_counter() - started)


STEP_FILE = "RUNNER_BENCH_STEP_FILE"


def _report_step(seconds: float) -> None:
    """The phase's own seconds, for the parent (stdout is the user's), when it asks."""
    if STEP_FILE in os.environ:
        Path(os.environ[STEP_FILE]).write_text(f"{seconds:.6f}")


# ---------------------------------------------------------------- measuring


TIME = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)


def measure(argv: list[str]) -> tuple[float, float, float]:
    """Wall seconds, the step's own seconds (the wall when the process reports none) and peak
    RSS (MiB) of the largest process of ``argv`` and its children.

    Peak RSS comes from GNU time when there is one: a process forked from this Python would
    report this Python's memory as its own peak (``ru_maxrss`` survives ``exec``)."""
    report = tempfile.NamedTemporaryFile(suffix=".rss", delete=False)  # noqa: SIM115
    report.close()
    step_file = Path(report.name + ".step")
    wrapped = [TIME, "-f", "%M", "-o", report.name, *argv] if TIME else argv
    started = time.perf_counter()
    proc = subprocess.Popen(wrapped, env={**os.environ, STEP_FILE: str(step_file)})
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"failed: {argv}")
    text = Path(report.name).read_text().strip().splitlines()
    os.unlink(report.name)
    step = float(step_file.read_text()) if step_file.exists() else elapsed
    step_file.unlink(missing_ok=True)
    peak_kib = int(text[-1]) if TIME and text and text[-1].isdigit() else usage.ru_maxrss
    return elapsed, step, peak_kib / 1024


@dataclass
class Timings:
    """Medians of one phase: the floor, runner's step, runner's whole process; peak RSS; and
    the medians of the round-by-round ratios of the step and the process to the floor."""

    floor: float
    step: float
    process: float
    peak: float
    step_ratio: float
    process_ratio: float


def rounds(floor: list[str], ours: list[str], repeat: int, before: list[str]) -> Timings:
    """``repeat`` rounds of the floor then runner, ``before`` ahead of every run."""
    floors: list[float] = []
    steps: list[float] = []
    processes: list[float] = []
    peak = 0.0
    for _ in range(repeat):
        subprocess.run(before, check=True)
        floors.append(measure(floor)[0])
        subprocess.run(before, check=True)
        wall, step, rss = measure(ours)
        processes.append(wall)
        steps.append(step)
        peak = max(peak, rss)
    median = statistics.median
    # each runner run against the floor run just before it: a shared machine's load drifts
    # between rounds, and pairing keeps that drift out of the ratio (as bench_start does)
    step_ratio = median(s / f for s, f in zip(steps, floors, strict=True))
    process_ratio = median(p / f for p, f in zip(processes, floors, strict=True))
    return Timings(median(floors), median(steps), median(processes), peak, step_ratio,
                   process_ratio)  # fmt: skip


def docker_rounds(work: Path, floor: Path, me: list[str], repeat: int) -> Timings | None:
    """Restore into a container (``runner-test/debian:bookworm``), or None without an engine."""
    box = f"runner-bench-cache-{os.getpid()}"
    started = subprocess.run(
        ["docker", "run", "-d", "--name", box, "--label", "com.runner.bench=1",
         "runner-test/debian:bookworm", "sleep", "infinity"], capture_output=True, check=False,
    )  # fmt: skip
    if started.returncode != 0:
        print("no docker restore: " + started.stderr.decode(errors="replace").strip()[-200:])
        return None
    try:
        wipe = ["sh", "-c", f"docker exec {box} sh -c 'rm -rf /restored && mkdir /restored'"]
        floor_restore = ["sh", "-c", f"zstd -dc '{floor}' | docker cp - {box}:/restored"]
        return rounds(floor_restore, [*me, "restore-docker", "--box", box], repeat, wipe)
    finally:
        subprocess.run(["docker", "rm", "-f", box], capture_output=True, check=False)


def compression_levels(tree: Path) -> None:
    import zstandard

    sample = subprocess.run(["tar", "-cf", "-", "-C", str(tree.parent), tree.name],
                            capture_output=True, check=True).stdout[: 64 * 2**20]  # fmt: skip
    print("\none thread, on a 64 MiB slice of the tree's tar stream:")
    packers = {f"zlib {n}": (lambda d, n=n: zlib.compress(d, n)) for n in (1, 6)}
    packers |= {f"zstd {n}": zstandard.ZstdCompressor(level=n).compress for n in (1, 3)}
    for name, pack in packers.items():
        started = time.perf_counter()
        packed = pack(sample)
        seconds = time.perf_counter() - started
        print(f"  {name}: {len(sample) / seconds / 2**20:6.1f} MiB/s, "
              f"{len(packed) / len(sample):.1%} of the input")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-docker", action="store_true", help="skip the docker restore")
    parser.add_argument("--phase", choices=("save", "restore", "restore-docker"),
                        help=argparse.SUPPRESS)  # fmt: skip
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--box", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "restore-docker":
        phase_restore_docker(args.work, args.box)
        return
    if args.phase:
        (phase_save if args.phase == "save" else phase_restore)(args.work)
        return
    shm = Path("/dev/shm")
    base = args.dir or (shm if shm.is_dir() and shutil.disk_usage(shm).free > 3 * args.mb * 2**20
                        else None)  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="bench-cache-", dir=base))
    try:
        run(work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, args: argparse.Namespace) -> None:
    me = [sys.executable, __file__, "--work", str(work), "--phase"]
    started = time.perf_counter()
    make_tree(work / "tree", args.files, args.mb)
    print(f"tree: {args.files} files, {args.mb} MB, in {work} "
          f"(made in {time.perf_counter() - started:.1f}s)")  # fmt: skip
    floor = work / "floor.tar.zst"
    clear = ["sh", "-c", f"rm -rf '{work}/caches' '{floor}'"]
    floor_save = ["sh", "-c", f"tar -cf - -C '{work}' tree | zstd -q -1 > '{floor}'"]
    load = os.getloadavg()
    save = rounds(floor_save, [*me, "save"], args.repeat, clear)
    subprocess.run(floor_save, check=True)
    subprocess.run([*me, "save"], check=True)
    wipe = ["sh", "-c", f"rm -rf '{work}/restored' && mkdir '{work}/restored'"]
    floor_restore = ["sh", "-c", f"zstd -dc '{floor}' | tar -xf - -C '{work}/restored'"]
    restore = rounds(floor_restore, [*me, "restore"], args.repeat, wipe)
    ours = next((work / "caches" / "entries").rglob("*.tar.zst"))
    # the same floor on runner's own archive (zstd reads its frames as one stream): runner
    # writes level 2, which unpacks faster than the floor's level 1
    same_floor = ["sh", "-c", f"zstd -dc '{ours}' | tar -xf - -C '{work}/restored'"]
    same = rounds(same_floor, [*me, "restore"], args.repeat, wipe)
    in_docker = None if args.no_docker else docker_rounds(work, floor, me, args.repeat)
    load_after = os.getloadavg()
    ours_size = ours.stat().st_size
    print(f"\nmedians of {args.repeat} interleaved rounds; load average {load[0]:.1f} "
          f"before, {load_after[0]:.1f} after, on {os.cpu_count()} cores")  # fmt: skip
    print(f"{'':10}{'floor':>8}{'step':>9}{'ratio':>7}{'process':>10}{'ratio':>7}   peak RSS")
    named = [("save", save), ("restore", restore), ("restore*", same)]
    for name, t in named + ([("restore/d", in_docker)] if in_docker is not None else []):
        print(f"{name:10}{t.floor:7.2f}s{t.step:8.2f}s{t.step_ratio:6.2f}x"
              f"{t.process:9.2f}s{t.process_ratio:6.2f}x   {t.peak:.0f} MiB")  # fmt: skip
    print("floor: save `tar -c | zstd -1 > file`, restore `zstd -dc file | tar -x`; target 1.3x")
    print("ratio: the median of the rounds' ratios, each run of runner against the floor's run")
    print("just before it (so it can differ from the ratio of the two medians)")
    print("restore*: the floor run on runner's own archive (zstd level 2) instead of the floor's")
    print("restore/d: into a running container, against `zstd -dc file | docker cp - box:/dir`")
    print("step: the cache step as a job runs it; process: plus a fresh interpreter and imports")
    print(f"archive: tar|zstd -1 {floor.stat().st_size / 2**20:.1f} MiB, "
          f"runner {ours_size / 2**20:.1f} MiB")  # fmt: skip
    compression_levels(work / "tree")


if __name__ == "__main__":
    main()

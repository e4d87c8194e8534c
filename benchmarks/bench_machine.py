"""Machine executor overhead, against bash and gitlab-ci-local's shell executor.

Targets (issue 2): a one-step job of 50 `echo` lines in at most 0.25 s wall and 60 MiB;
at most 5 ms per extra step beyond the shell's own start; `runner --help` in at most 0.2 s.
gitlab-ci-local 4.60.0 is measured on the equivalent job when it is installed
(`npm install -g gitlab-ci-local@4.60.0`; it needs rsync).

    python benchmarks/bench_machine.py [--repeat N]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from common import Sample, git_project, installed_env, measure, runner_argv, table

LINES = [f"echo step {i}" for i in range(1, 51)]


def configs() -> dict[str, str]:
    one = "\n".join(
        [
            "version: 2",
            "jobs:",
            "  build:",
            "    machine: true",
            "    steps:",
            "      - run: |",
            *(f"          {line}" for line in LINES),
        ]
    )
    many = "\n".join(
        [
            "version: 2",
            "jobs:",
            "  build:",
            "    machine: true",
            "    steps:",
            *(f"      - run: {line}" for line in LINES),
        ]
    )
    single = "\n".join(
        [
            "version: 2",
            "jobs:",
            "  build:",
            "    machine: true",
            "    steps:",
            f"      - run: {LINES[0]}",
        ]
    )
    return {"one-step": one, "fifty-steps": many, "single-step": single}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    work = Path(tempfile.mkdtemp(prefix="runner-bench-"))
    env = installed_env({"RUNNER_STATE_DIR": str(work / "state"), "NO_COLOR": "1"})
    projects = {
        name: git_project(work / name, {".circleci/config.yml": text + "\n"})
        for name, text in configs().items()
    }
    script = "\n".join(LINES)
    r: dict[str, Sample] = {}
    r["bash 50 lines"] = measure(["bash", "-c", script], repeat)
    r["bash -c true"] = measure(["bash", "-c", "true"], repeat)
    r["python -c pass"] = measure(["python3", "-c", "pass"], repeat)
    r["runner --help"] = measure(runner_argv("--help"), repeat, env=env)
    for name, project in projects.items():
        r[f"runner {name}"] = measure(runner_argv("run"), repeat, cwd=project, env=env)
    gcl = shutil.which("gitlab-ci-local")
    if gcl:
        job = "bench-job:\n  script:\n" + "".join(f"    - {line}\n" for line in LINES)
        gproject = git_project(work / "gcl", {".gitlab-ci.yml": job})
        r["gitlab-ci-local"] = measure(
            [gcl, "--cwd", gproject.name, "bench-job"], repeat, cwd=work, env=env
        )
    shutil.rmtree(work, ignore_errors=True)

    one = r["runner one-step"]
    per_step = (r["runner fifty-steps"].wall - r["runner single-step"].wall) / 49
    per_step_overhead = per_step - r["bash -c true"].wall
    rows = [("measure", "median wall", "peak RSS", "vs baseline", "target")]
    rows += [(k, f"{v.wall * 1000:.1f} ms", f"{v.rss_mib:.1f} MiB", "", "") for k, v in r.items()]
    rows += [
        (
            "one-step job",
            f"{one.wall * 1000:.1f} ms",
            f"{one.rss_mib:.1f} MiB",
            f"{one.wall / r['bash 50 lines'].wall:.0f}x bash",
            "<= 250 ms, <= 60 MiB",
        ),
        (
            "cost per extra step",
            f"{per_step * 1000:.2f} ms",
            "",
            f"{per_step_overhead * 1000:.2f} ms beyond bash start",
            "<= 5 ms beyond bash start",
        ),
        ("runner --help", f"{r['runner --help'].wall * 1000:.1f} ms", "", "", "<= 200 ms"),
    ]
    if "gitlab-ci-local" in r:
        g = r["gitlab-ci-local"]
        rows.append(
            (
                "vs gitlab-ci-local",
                "",
                "",
                f"{g.wall / one.wall:.1f}x faster, {g.rss_mib / one.rss_mib:.1f}x less memory",
                "",
            )
        )
    print(table(rows))


if __name__ == "__main__":
    main()

"""Loading and planning a generated 2.1 config of 1,000 jobs (issue 4: at most 0.5 s),
against plain `yaml.safe_load` of the same file with libyaml (the floor for any loader).

    python benchmarks/bench_load.py [--jobs N] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.config.load import LoadOptions, load_config
from runner.graph import Selection, plan


def generate(jobs: int) -> str:
    """Commands with parameters, an executor, parameterised jobs, matrices and requires chains."""
    out = [
        "version: 2.1",
        "executors:",
        "  base:",
        "    parameters: {tag: {type: string, default: '3.12'}}",
        "    docker: [{image: 'cimg/python:<< parameters.tag >>'}]",
        "    environment: {LANG: C.UTF-8}",
        "commands:",
        "  setup:",
        "    parameters: {what: {type: string, default: deps}}",
        "    steps:",
        "      - checkout",
        "      - restore_cache: {keys: ['v1-<< parameters.what >>-{{ checksum \"lock\" }}']}",
        "      - run: echo installing << parameters.what >>",
        "  test:",
        "    parameters: {shard: {type: integer, default: 1}}",
        "    steps:",
        "      - setup: {what: tests}",
        "      - run: {name: 'test << parameters.shard >>', command: make test}",
        "jobs:",
    ]
    for i in range(jobs):
        out += [
            f"  job{i}:",
            "    parameters: {py: {type: string, default: '3.12'}, n: {type: integer, default: 1}}",
            "    executor: {name: base, tag: << parameters.py >>}",
            "    parallelism: << parameters.n >>",
            "    steps:",
            "      - test: {shard: << parameters.n >>}",
            "      - run: echo done",
            "      - save_cache: {key: 'k-{{ .Branch }}', paths: [~/.cache]}",
        ]
    out += ["workflows:", "  main:", "    jobs:"]
    for i in range(jobs):
        if i % 10 == 0:
            out += [
                f"      - job{i}:",
                "          matrix:",
                "            parameters: {py: ['3.11', '3.12'], n: [1, 2]}",
            ]
        else:
            out += [f"      - job{i}:", f"          requires: [job{i - 1}]"]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    text = generate(args.jobs)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yml"
        path.write_text(text)
        floor, ours = [], []
        planned = 0
        for _ in range(args.repeat):
            started = time.perf_counter()
            yaml.load(text, Loader=yaml.CSafeLoader)
            floor.append(time.perf_counter() - started)
            started = time.perf_counter()
            config = load_config(path, "config.yml", LoadOptions())
            graph = plan(config, Selection(branch="main"))
            ours.append(time.perf_counter() - started)
            planned = len(graph.jobs)
    lines = text.count("\n")
    f, o = statistics.median(floor), statistics.median(ours)
    print(f"config: {args.jobs} job definitions, {lines} lines, {planned} planned jobs")
    print(f"yaml.safe_load (libyaml)  {f * 1000:7.1f} ms")
    print(
        f"runner load + plan        {o * 1000:7.1f} ms   {o / f:.2f}x safe_load   target <= 500 ms"
    )


if __name__ == "__main__":
    main()

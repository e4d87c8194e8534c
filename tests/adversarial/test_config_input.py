"""Bad config input: each case gets one located message (``file:line:col``), exit 2, in bounded
time and memory, with nothing started and no traceback [reliability.md point 8].

Every case runs ``runner run`` as a real process under a 512 MiB address-space limit.
"""

from __future__ import annotations

import os
import random
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.adversarial.helpers import LOCATED, MIB, Outcome, no_traceback, runner, state_dir
from tests.support import make_project

MEMORY = 512 * MIB
# A hang guard, never a speed check (issue 12): a hostile config must be refused, not loop.
SECONDS = 55.0

JOB = """
jobs:
  build:
    machine: true
    steps:
      - run: echo hi
"""


def alias_bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    return "version: 2.1\n" + "\n".join(lines) + JOB


def deep_flow() -> str:
    return "version: 2.1\nx: " + "[" * 5000 + "]" * 5000 + "\n" + JOB


def deep_block() -> str:
    # 5,000 nested maps, one space of indentation per level (12 MB of spaces, under 16 MiB)
    body = "".join(" " * i + "k:\n" for i in range(5000))
    return "version: 2.1\nx:\n" + textwrap.indent(body, " ") + JOB


def matrix(params: int, values: int) -> str:
    names = [f"p{i}" for i in range(params)]
    declared = "".join(f"      {n}: {{type: string}}\n" for n in names)
    listed = "".join(
        f"              {n}: [{', '.join(f'v{j}' for j in range(values))}]\n" for n in names
    )
    return (
        "version: 2.1\njobs:\n  build:\n    parameters:\n" + declared
        + "    machine: true\n    steps:\n      - run: echo hi\n"
        + "workflows:\n  w:\n    jobs:\n      - build:\n          matrix:\n            parameters:\n"
        + listed
    )


def command_bomb(fan: int = 10, depth: int = 9) -> str:
    """Commands that call the next one ``fan`` times, ``depth`` deep: fan**depth steps."""
    out = ["version: 2.1", "commands:"]
    for level in range(depth):
        calls = "".join(f"      - c{level + 1}\n" for _ in range(fan))
        out.append(f"  c{level}:\n    steps:\n{calls.rstrip()}")
    out.append(f"  c{depth}:\n    steps:\n      - run: echo leaf")
    out.append("jobs:\n  build:\n    machine: true\n    steps:\n      - c0\n")
    return "\n".join(out)


# name -> (config text, what the one message says)
CASES: dict[str, tuple[str | Callable[[], str], str]] = {
    "alias bomb": (alias_bomb, "expands to more than 1,000,000 nodes through aliases"),
    "5000-deep flow nesting": (deep_flow, "nesting deeper than 64 levels"),
    "5000-deep block nesting": (deep_block, "nesting deeper than 64 levels"),
    "duplicate job": (
        "version: 2.1\njobs:\n  build:\n    machine: true\n    steps: [{run: a}]\n"
        "  build:\n    machine: true\n    steps: [{run: b}]\n",
        "config.yml:6:3: jobs.build: duplicate key 'build' (first at line 3, column 3)",
    ),
    "duplicate step key": (
        "version: 2.1\njobs:\n  build:\n    machine: true\n    steps:\n"
        "      - run:\n          command: a\n          command: b\n",
        "config.yml:8:11: jobs.build.steps[0].run.command: duplicate key 'command' "
        "(first at line 7, column 11)",
    ),
    "number key": ("version: 2.1\njobs:\n  1: {machine: true, steps: [{run: a}]}\n",
                   "config.yml:3:3: jobs: mapping key 1 is a number, not a string"),
    "null key": ("version: 2.1\njobs:\n  ~: {machine: true, steps: [{run: a}]}\n",
                 "config.yml:3:3: jobs: mapping key null is a null, not a string"),
    "bool key": ("version: 2.1\njobs:\n  true: {machine: true, steps: [{run: a}]}\n",
                 "mapping key true is a boolean, not a string"),
    "float key 3.10": ("version: 2.1\njobs:\n  3.10: {machine: true, steps: [{run: a}]}\n",
                       "mapping key 3.10 is a number, not a string (quote it: '3.10')"),
    "octal-looking key 0755": (
        "version: 2.1\njobs:\n  0755: {machine: true, steps: [{run: a}]}\n",
        "mapping key 0755 is a number, not a string (quote it: '0755')",
    ),
    "list key (unhashable)": ("version: 2.1\njobs:\n  ? [a, b]\n  : x\n",
                              "a mapping key must be a plain string, not a collection"),
    "map key (unhashable)": ("version: 2.1\njobs:\n  {a: 1}: x\n",
                             "a mapping key must be a plain string, not a collection"),
    "python object tag": (
        "version: 2.1\nx: !!python/object/apply:os.system ['touch PWNED']\n" + JOB,
        "unsupported YAML tag !!python/object/apply:os.system",
    ),
    "python name tag": ("version: 2.1\nx: !!python/name:os.system\n" + JOB,
                        "unsupported YAML tag !!python/name:os.system"),
    "custom local tag": ("version: 2.1\nx: !vault secret\n" + JOB, "unsupported YAML tag !vault"),
    "set tag": ("version: 2.1\nx: !!set {a, b}\n" + JOB, "unsupported YAML tag !!set"),
    "binary tag": ("version: 2.1\nx: !!binary aGk=\n" + JOB, "unsupported YAML tag !!binary"),
    "parallelism 0": ("version: 2.1" + JOB.replace("machine: true", "machine: true\n    "
                                                    "parallelism: 0"), "parallelism"),
    "parallelism -1": ("version: 2.1" + JOB.replace("machine: true", "machine: true\n    "
                                                     "parallelism: -1"), "parallelism"),
    "parallelism 10^9": ("version: 2.1" + JOB.replace("machine: true", "machine: true\n    "
                                                       "parallelism: 1000000000"), "parallelism"),
    "parallelism text": ("version: 2.1" + JOB.replace("machine: true", "machine: true\n    "
                                                       "parallelism: many"), "parallelism"),
    "negative timeout": (
        "version: 2.1" + JOB.replace("- run: echo hi",
                                     "- run: {command: echo hi, no_output_timeout: -5m}"),
        "no_output_timeout",
    ),
    "absurd timeout": (
        "version: 2.1" + JOB.replace("- run: echo hi",
                                     "- run: {command: echo hi, no_output_timeout: 9999999999h}"),
        "invalid duration '9999999999h': longer than the longest duration",
    ),
    "garbage timeout": (
        "version: 2.1" + JOB.replace("- run: echo hi",
                                     "- run: {command: echo hi, no_output_timeout: soon}"),
        "no_output_timeout",
    ),
    "empty job name": ("version: 2.1\njobs:\n  '': {machine: true, steps: [{run: a}]}\n",
                       "config.yml:3:3: jobs: a job name cannot be blank: ''"),
    "blank job name (2.0)": ("version: 2\njobs:\n  ' ': {machine: true, steps: [{run: a}]}\n",
                             "config.yml:3:3: jobs: a job name cannot be blank: ' '"),
    "requires cycle (2.1)": (
        "version: 2.1\njobs:\n  a: {machine: true, steps: [{run: a}]}\n"
        "  b: {machine: true, steps: [{run: b}]}\nworkflows:\n  w:\n    jobs:\n"
        "      - a: {requires: [b]}\n      - b: {requires: [a]}\n",
        "requires form a cycle: a -> b -> a",
    ),
    "requires cycle (2.0)": (
        "version: 2\njobs:\n  a: {machine: true, steps: [{run: a}]}\n"
        "  b: {machine: true, steps: [{run: b}]}\nworkflows:\n  version: 2\n  w:\n    jobs:\n"
        "      - a: {requires: [b]}\n      - b: {requires: [a]}\n",
        "requires form a cycle: a -> b -> a",
    ),
    "self requires": (
        "version: 2.1\njobs:\n  a: {machine: true, steps: [{run: a}]}\nworkflows:\n  w:\n"
        "    jobs:\n      - a: {requires: [a]}\n",
        "config.yml:",
    ),
    "unknown requires (2.1)": (
        "version: 2.1\njobs:\n  a: {machine: true, steps: [{run: a}]}\nworkflows:\n  w:\n"
        "    jobs:\n      - a: {requires: [nope]}\n",
        "nope",
    ),
    "unknown requires (2.0)": (
        "version: 2\njobs:\n  a: {machine: true, steps: [{run: a}]}\nworkflows:\n  version: 2\n"
        "  w:\n    jobs:\n      - a: {requires: [nope]}\n",
        "nope",
    ),
    "config is a list": ("- version: 2.1\n- jobs: {}\n", "the config must be a map of keys"),
    "config is a scalar": ("42\n", "the config must be a map of keys"),
    "config is a string": ("just some words\n", "the config must be a map of keys"),
    "empty config": ("# nothing here\n", "the config file is empty"),
    "two documents": ("version: 2.1\n" + JOB + "---\nversion: 2.1\n",
                      "only one YAML document is allowed"),
    "control characters": (
        "version: 2.1\njobs: \x00\x01\x02\n",
        "config.yml:2:7: invalid YAML: unacceptable character #x0000: control characters are "
        "not allowed\n",
    ),
    "matrix 10 params x 10 values": (
        lambda: matrix(10, 10),
        "config.yml:23:13: workflows.w.jobs[0].build.matrix: the config's matrices make more "
        "than 10,000 jobs (this one: 10,000,000,000)",
    ),
    "matrix 3 params x 1000 values": (
        lambda: matrix(3, 1000), "matrices make more than 10,000 jobs (this one: 1,000,000,000)"
    ),
    "commands calling each other": (
        "version: 2.1\ncommands:\n  a: {steps: [b]}\n  b: {steps: [a]}\n"
        "jobs:\n  build: {machine: true, steps: [a]}\n",
        "commands call each other in a cycle: a -> b -> a",
    ),
    "command fan-out bomb (10^9 steps)": (command_bomb, "steps expand to more than 10,000 steps"),
    "orb command calling itself": (
        "version: 2.1\norbs:\n  me:\n    commands:\n      go: {steps: [go]}\n"
        "jobs:\n  build: {machine: true, steps: [me/go]}\n",
        "commands call each other in a cycle: ",
    ),
}


def run_bad(project: Path, *args: str) -> Outcome:
    return runner(["run", *args], project, memory_limit=MEMORY, timeout=60)


def assert_refused(outcome: Outcome, expected: str) -> None:
    no_traceback(outcome)
    assert outcome.code == 2, (outcome.code, outcome.stderr[-2000:], outcome.stdout[-2000:])
    assert expected in outcome.stderr, outcome.stderr[-2000:]
    located = [line for line in outcome.stderr.splitlines() if LOCATED.search(line)]
    assert located, f"no file:line:col in {outcome.stderr[-2000:]!r}"
    assert outcome.stderr.count("config error") <= 1
    assert outcome.seconds < SECONDS, f"took {outcome.seconds:.1f} s"
    assert not (state_dir() / "runs").exists(), "a run was started"
    assert outcome.stdout == ""


@pytest.mark.parametrize("name", list(CASES))
def test_bad_config_is_refused_with_one_located_message(tmp_path: Path, name: str) -> None:
    text, expected = CASES[name]
    config = text() if callable(text) else text
    project = make_project(tmp_path / "p", "version: 2.1\n" + JOB)
    (project / ".circleci" / "config.yml").write_text(config)
    outcome = run_bad(project)
    assert_refused(outcome, expected)
    assert len([ln for ln in outcome.stderr.splitlines() if LOCATED.search(ln)]) >= 1
    assert not (project / "PWNED").exists() and not Path("PWNED").exists()


def test_a_100_mb_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", "version: 2.1\n" + JOB)
    config = project / ".circleci" / "config.yml"
    with open(config, "r+b") as handle:  # sparse: costs no disk
        handle.truncate(100 * 1000 * 1000)
    outcome = run_bad(project)
    assert_refused(outcome, "the file is 95.4 MiB; a config may be at most 16 MiB")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_endless_file_is_refused_without_reading_it(tmp_path: Path, device: str) -> None:
    """A config that is a link to a device has no size and no end: it is not read at all."""
    project = make_project(tmp_path / "p", "version: 2.1\n" + JOB)
    config = project / ".circleci" / "config.yml"
    config.unlink()
    config.symlink_to(device)
    for args in ([], ["-c", device]):
        outcome = run_bad(project, *args)
        no_traceback(outcome)
        assert outcome.code == 2, outcome.stderr
        assert "no config file at" in outcome.stderr, outcome.stderr
        assert outcome.seconds < SECONDS and outcome.peak_mib < 100
        assert not (state_dir() / "runs").exists()


def test_binary_garbage_is_refused(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", "version: 2.1\n" + JOB)
    noise = random.Random(8).randbytes(200_000)
    (project / ".circleci" / "config.yml").write_bytes(b"\xff\xfe\x00" + noise)
    outcome = run_bad(project)
    assert_refused(outcome, "the file is not UTF-8 text")


def test_unsafe_tags_never_run_anything(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    project = make_project(tmp_path / "p", "version: 2.1\n" + JOB)
    (project / ".circleci" / "config.yml").write_text(
        f"version: 2.1\nx: !!python/object/apply:os.system ['touch {marker}']\n"
        f"y: !!python/object/new:subprocess.Popen [['touch', '{marker}']]\n" + JOB
    )
    outcome = run_bad(project)
    assert_refused(outcome, "unsupported YAML tag")
    assert not marker.exists()


def test_yaml_1_1_words_and_numbers_arrive_as_written(tmp_path: Path) -> None:
    """``on``, ``no``, ``yes``, ``off``, ``3.10``, ``0755``, ``1e3``, ``0x1F`` as environment
    values, and ``on``/``no``/``yes`` as job names: no silent coercion."""
    config = """
        version: 2.1
        jobs:
          "on": &job
            machine: true
            environment: {A: on, B: no, C: yes, D: off, E: 3.10, F: 0755, G: 1e3, H: 0x1F, I: ~}
            steps:
              - run: echo "[$A|$B|$C|$D|$E|$F|$G|$H|${I-unset}]"
          no: *job
          yes: *job
        workflows:
          w:
            jobs: [on, no, yes]
    """
    project = make_project(tmp_path / "p", config)
    outcome = runner(["run"], project, timeout=60)
    no_traceback(outcome)
    assert outcome.code == 0, outcome.stderr + outcome.stdout[-2000:]
    for job in ("on", "no", "yes"):
        assert re.search(rf"^{job} │ \[on\|no\|yes\|off\|3\.10\|0755\|1e3\|0x1F\|(unset)?\]$",
                         outcome.stdout, re.M), outcome.stdout


def test_every_problem_is_reported_once_and_located(tmp_path: Path) -> None:
    """Several independent problems: each gets its own located line, nothing else."""
    config = """
        version: 2.1
        jobs:
          a: {machine: true, parallelism: 0, steps: [{run: a}]}
          b: {machine: true, steps: [{run: {command: b, no_output_timeout: -1s}}]}
        workflows:
          w:
            jobs: [a, b, {b: {name: b2, requires: [nope]}}]
    """
    project = make_project(tmp_path / "p", config)
    outcome = run_bad(project)
    no_traceback(outcome)
    assert outcome.code == 2
    problems = [ln for ln in outcome.stderr.splitlines() if ln.startswith("  ")]
    assert len(problems) >= 3, outcome.stderr
    assert all(LOCATED.search(p) for p in problems), outcome.stderr
    assert len(set(problems)) == len(problems)
    assert not (state_dir() / "runs").exists()


def test_the_state_directory_is_not_touched(tmp_path: Path) -> None:
    """Nothing started means nothing written: not even the state directory."""
    project = make_project(tmp_path / "p", "version: 2.1\n" + JOB)
    (project / ".circleci" / "config.yml").write_text(alias_bomb())
    assert_refused(run_bad(project), "alias")
    assert not state_dir().exists() or not os.listdir(state_dir())

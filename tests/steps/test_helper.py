"""The in-job ``circleci`` helper [SPLIT][PAR]: glob, split (disjoint shares that cover every
input, on the host's /bin/sh and in busybox), tests run, step halt, and timing data."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.steps.tools import helper_script
from tests.executors.docker.helpers import BUSYBOX
from tests.support import Collected, docker_available
from tests.targets import Target

HELPER = Path(__file__).resolve().parents[2] / "runner" / "assets" / "circleci"
TREE = ["src/app.py", "src/lib/util.py", "src/lib/deep/x.py", "src/lib/deep/y.rb", "src/.hid.py",
        "tests/t_1.sh", "tests/t_2.sh", "tests/t_10.sh", "docs/a b.md", "top.py"]  # fmt: skip
GLOBS = {
    "**/*.py": ["src/.hid.py", "src/app.py", "src/lib/deep/x.py", "src/lib/util.py", "top.py"],
    "*.py": ["top.py"],
    "src/*.py": ["src/.hid.py", "src/app.py"],
    "src/**/*.{py,rb}": [
        "src/.hid.py", "src/app.py", "src/lib/deep/x.py", "src/lib/deep/y.rb", "src/lib/util.py"
    ],
    "tests/t_?.sh": ["tests/t_1.sh", "tests/t_2.sh"],
    "tests/t_[12].sh": ["tests/t_1.sh", "tests/t_2.sh"],
    "tests/t_[!1]*.sh": ["tests/t_2.sh"],
    "{src/lib,tests}/*": ["src/lib/util.py", "tests/t_1.sh", "tests/t_10.sh", "tests/t_2.sh"],
    "src/lib/**": ["src/lib/deep/x.py", "src/lib/deep/y.rb", "src/lib/util.py"],
    "docs/a b.md": ["docs/a b.md"],
    "nothing/*.py": [],
}


def make_tree(root: Path) -> Path:
    for name in TREE:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name * (1 + len(name) % 5))
    return root


def helper(*args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["/bin/sh", str(HELPER), *args], cwd=cwd, input=stdin, capture_output=True, text=True,
        env={"PATH": os.environ["PATH"], **(env or {})}, check=True,
    )  # fmt: skip
    return done.stdout


def test_the_installed_helper_is_the_asset() -> None:
    assert helper_script() == HELPER.read_text()


@pytest.mark.parametrize("pattern", sorted(GLOBS))
def test_glob_on_the_host(pattern: str, tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    assert helper("tests", "glob", pattern, cwd=root).splitlines() == GLOBS[pattern]


def test_glob_takes_several_patterns_and_absolute_ones(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    out = helper("tests", "glob", "*.py", f"{root}/tests/*_1*", cwd=root).splitlines()
    assert out == sorted([f"{root}/tests/t_1.sh", f"{root}/tests/t_10.sh", "top.py"])


def shares(run: Iterator[str], total: int) -> list[list[str]]:
    return [next(run).split() for _ in range(total)]


def check_partition(names: list[str], parts: list[list[str]]) -> None:
    flat = [n for part in parts for n in part]
    assert sorted(flat) == sorted(set(names))  # every input once: disjoint, and covering


NAMES = st.lists(st.from_regex(r"(tests/)?[a-z][a-z0-9_]{0,6}\.(py|sh)", fullmatch=True),
                 min_size=0, max_size=14)  # fmt: skip
SPLIT = st.sampled_from(["name", "filesize", "timings"])
TYPES = st.sampled_from(["autodetect", "filename", "classname", "testname"])


def timings_json(names: list[str], times: list[float]) -> str:
    tests = [
        {"file": f"./{n}" if i % 2 else n, "classname": n.split(".")[0], "name": n,
         "run_time": t, "result": "success"}
        for i, (n, t) in enumerate(zip(names, times, strict=False))
    ]  # fmt: skip
    return json.dumps({"tests": tests})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=NAMES, total=st.integers(1, 4), split=SPLIT, kind=TYPES,
       times=st.lists(st.floats(0, 50), max_size=14))  # fmt: skip
def test_split_shares_are_disjoint_and_cover_everything_on_the_host(
    names: list[str], total: int, split: str, kind: str, times: list[float]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name in names[::2]:  # some files exist (filesize), some do not
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text("x" * (len(name) * 7))
        (root / "task" / "circle-test-results").mkdir(parents=True)
        (root / "task" / "circle-test-results" / "results.json").write_text(
            timings_json(names[1::2], times)
        )
        env = {"CIRCLE_INTERNAL_TASK_DATA": str(root / "task"), "CIRCLE_NODE_TOTAL": str(total)}
        parts = [
            helper("tests", "split", f"--split-by={split}", "--timings-type", kind,
                   f"--index={index}", cwd=root, stdin=" ".join(names), env=env).split()
            for index in range(total)
        ]  # fmt: skip
        check_partition(names, parts)


def test_split_by_timings_balances_and_falls_back_by_name(tmp_path: Path) -> None:
    names = [f"tests/test_{c}.sh" for c in "abcdef"]
    times = [1.2, 0.1, 0.1, 1.2, 0.1, 0.1]
    (tmp_path / "t" / "circle-test-results").mkdir(parents=True)
    env = {"CIRCLE_INTERNAL_TASK_DATA": str(tmp_path / "t"), "CIRCLE_NODE_TOTAL": "3"}

    def split(index: int, *extra: str) -> list[str]:
        return helper("tests", "split", "--split-by=timings", f"--index={index}", *extra,
                      cwd=tmp_path, stdin="\n".join(names), env=env).split()  # fmt: skip

    by_name = [split(i) for i in range(3)]  # no timing data yet
    assert by_name[0] == ["tests/test_a.sh", "tests/test_d.sh"]
    (tmp_path / "t" / "circle-test-results" / "results.json").write_text(timings_json(names, times))
    by_time = [split(i) for i in range(3)]
    assert by_time == [["tests/test_a.sh"], ["tests/test_d.sh"],
                       ["tests/test_b.sh", "tests/test_c.sh", "tests/test_e.sh", "tests/test_f.sh"]]  # fmt: skip
    # --total and --index override the node's variables; --time-default weighs the unknown
    assert split(1, "--total=2") == ["tests/test_c.sh", "tests/test_d.sh", "tests/test_f.sh"]
    names.append("tests/test_new.sh")
    assert split(0, "--time-default=3s") == ["tests/test_new.sh"]
    done = subprocess.run(
        ["/bin/sh", str(HELPER), "tests", "split", "--split-by=timings"], input="x y",
        capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]},
    )  # fmt: skip
    assert done.stderr == "Error auto-detecting timing type, falling back to weighting by name.\n"


def test_tests_run_and_errors(tmp_path: Path) -> None:
    out = helper("tests", "run", "--command", "echo got: $(cat)", "--index=1", "--total=2",
                 cwd=tmp_path, stdin="a b c d")  # fmt: skip
    assert out == "got: b d\n"
    for args, message in (
        (["tests", "split", "--split-by=size"], "--split-by: expected name, filesize or timings"),
        (["tests", "split", "--index=2", "--total=2"], "--index must be between 0 and 1"),
        (["tests", "split", "--time-default=soon"], "--time-default: not a duration"),
        (["tests", "glob"], "tests glob: give at least one pattern"),
        (["step", "halt"], "CIRCLE_INTERNAL_TASK_DATA is not set"),
        (["frobnicate"], "unknown command: frobnicate"),
    ):
        done = subprocess.run(
            ["/bin/sh", str(HELPER), *args], input="", capture_output=True, text=True,
            cwd=tmp_path, env={"PATH": os.environ["PATH"]}, check=False,
        )  # fmt: skip
        assert done.returncode == 1 and message in done.stderr, (args, done.stderr)


# ---------------------------------------------------------------- busybox


@pytest.fixture(scope="module")
def busybox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, Path]]:
    """One busybox container with the helper and a shared folder, for many quick execs."""
    if not docker_available():
        pytest.skip("no Docker engine")
    import docker

    shared = tmp_path_factory.mktemp("busybox")
    make_tree(shared / "tree")
    client = docker.from_env()
    box = client.containers.run(
        BUSYBOX, ["sleep", "600"], detach=True, remove=True,
        volumes={str(HELPER): {"bind": "/bin/circleci", "mode": "ro"},
                 str(shared): {"bind": "/w", "mode": "rw"}},
        labels={"com.runner.test": "jobdata-helper"},
    )  # fmt: skip
    try:
        yield box, shared
    finally:
        box.kill()
        client.close()


def in_busybox(box: object, script: str) -> str:
    code, output = box.exec_run(["sh", "-c", script], workdir="/w")  # type: ignore[attr-defined]
    assert code == 0, output.decode()
    return str(output.decode())


@pytest.mark.docker
def test_glob_in_busybox(busybox: tuple[object, Path]) -> None:
    box, _shared = busybox
    script = "cd tree; " + "; ".join(f"echo '=== {p}'; circleci tests glob '{p}'" for p in GLOBS)
    found: dict[str, list[str]] = {}
    current = ""
    for line in in_busybox(box, script).splitlines():
        if line.startswith("=== "):
            current = line[4:]
            found[current] = []
        else:
            found[current].append(line)
    assert found == GLOBS


@pytest.mark.docker
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip
@given(names=NAMES, total=st.integers(1, 4), split=SPLIT, times=st.lists(st.floats(0, 50), max_size=14))
def test_split_shares_are_disjoint_and_cover_everything_in_busybox(
    busybox: tuple[object, Path], names: list[str], total: int, split: str, times: list[float]
) -> None:
    box, shared = busybox
    (shared / "task" / "circle-test-results").mkdir(parents=True, exist_ok=True)
    (shared / "task" / "circle-test-results" / "results.json").write_text(
        timings_json(names[1::2], times)
    )
    (shared / "names.txt").write_text("\n".join(names) + "\n")
    script = (
        f"export CIRCLE_INTERNAL_TASK_DATA=/w/task CIRCLE_NODE_TOTAL={total}; i=0; "
        f"while [ $i -lt {total} ]; do CIRCLE_NODE_INDEX=$i circleci tests split "
        f"--split-by={split} names.txt 2>/dev/null | tr '\\n' ' '; echo; i=$((i+1)); done"
    )
    check_partition(names, [line.split() for line in in_busybox(box, script).splitlines()])


# ---------------------------------------------------------------- in jobs, every executor


def test_the_helper_in_jobs_and_timings_of_an_earlier_run(target: Target, tmp_path: Path) -> None:
    files = {name: name for name in TREE}
    project = target.project(tmp_path / "p", """
        version: 2.1
        jobs:
          build:
            EXECUTOR
            parallelism: 2
            steps:
              - checkout
              - run: |
                  command -v circleci-agent >/dev/null && echo "agent on PATH"
                  echo "files:" $(circleci tests glob "src/**/*.py" "tests/*.sh" | circleci tests split --split-by=filesize)
                  mkdir -p r
                  echo '<testsuite><testcase file="a.sh" name="a" time="5"/><testcase file="b.sh" name="b" time="4"/><testcase file="c.sh" name="c" time="1"/></testsuite>' > r/$CIRCLE_NODE_INDEX.xml
                  echo "share:" $(printf 'a.sh b.sh c.sh d.sh' | circleci tests split --split-by=timings 2>&1)
              - store_test_results: {path: r}
              - run: circleci-agent step halt
              - run: echo "never runs"
    """, files)
    first = target.run(project)
    assert first.job_status("build") == "passed"
    assert "never runs" not in first.output()
    parts = []
    for node in (0, 1):
        assert "agent on PATH" in first.output(node=node)
        parts.append(line_of(first, node, "files:").split()[1:])
    expected = [n for n in TREE if (n.startswith("src/") and n.endswith(".py")) or n.endswith(".sh")]
    check_partition(expected, parts)
    assert line_of(first, 0, "share:") == (
        "share: Error auto-detecting timing type, falling back to weighting by name. a.sh c.sh"
    )
    second = target.run(project)
    # a=5 and b=4 seconds; d.sh has no timing: the mean (3.33 s); c=1. Heaviest first, each to
    # the node with less so far: a -> 0, b -> 1, d -> 1, c -> 0
    assert line_of(second, 0, "share:") == 'share: No timing found for "d.sh" a.sh c.sh'
    assert line_of(second, 1, "share:") == 'share: No timing found for "d.sh" b.sh d.sh'


def line_of(run: Collected, node: int, prefix: str) -> str:
    return next(line for line in run.output(node=node) if line.startswith(prefix))

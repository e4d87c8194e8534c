"""Issue 14, part 3: job names that look alike never share a folder or a container name, on
either executor; ``runner logs RUN a/b`` shows a/b's log."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.executors.docker.labels import container_name
from runner.names import name_form
from runner.store.workspaces import WorkspaceStore
from tests.support import make_project, run_cli

ALIKE = [
    "a/b", "a__b", "a_b", "a b", "a:b", "test (a)", "test [a]", "test _a_", "..", ".", "-",
    "_", "build", "Build", "x" * 64, "x" * 65, "x" * 66, "é", "e", "a\x1bb", "a\nb",
    "build-0123456789ab", name_form("a/b"),
]


def test_the_form_is_injective_and_safe() -> None:
    forms = {name: name_form(name) for name in ALIKE}
    assert len(set(forms.values())) == len(ALIKE), forms
    for name, form in forms.items():
        assert form not in (".", "..", "") and not form.startswith((".", "-")), name
        assert all((c.isalnum() and c.isascii()) or c in "_.-" for c in form), name
        assert len(form) <= 64, name
    assert name_form("build") == "build"  # plain names keep the folders older runs used
    containers = {container_name("state.1", name, 0, "abc123") for name in ALIKE}
    assert len(containers) == len(ALIKE)


def test_pending_workspace_markers_of_similar_jobs_do_not_mix(tmp_path: Path) -> None:
    store = WorkspaceStore(tmp_path / "ws")
    store.begin("a.b", 0, 1)  # "a." was a prefix of "a.b"'s marker
    assert store.layers_of("a") == ([], [])
    assert store.layers_of("a.b")[1] == ["0-001 (its persist_to_workspace did not finish)"]


def _config(executor: str) -> str:
    names = ["a/b", "a__b", "test (a)", "test [a]", ".."]
    entries = "\n".join(
        f"      - job:\n          name: {name!r}\n          who: {name!r}" for name in names
    )
    return f"""\
version: 2.1
jobs:
  job:
{executor}
    parameters:
      who: {{type: string}}
    steps:
      - run: |
          mkdir -p out && echo "I am << parameters.who >>" | tee out/me.txt
      - store_artifacts: {{path: out}}
workflows:
  main:
    jobs:
{entries}
"""


EXECUTORS = {
    "machine": "    machine: true",
    "docker": "    docker:\n      - image: runner-test/busybox:latest",
}


@pytest.mark.parametrize(
    "executor", ["machine", pytest.param("docker", marks=pytest.mark.docker)]
)
def test_alike_job_names_keep_their_own_logs_artifacts_and_containers(
    tmp_path: Path, executor: str
) -> None:
    project = make_project(tmp_path / "p", _config(EXECUTORS[executor]))
    result = run_cli(["run", "-j", "5"], project, timeout=300)
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-3000:]
    state = tmp_path / "state" / "runs" / "1"
    for name in ("a/b", "a__b", "test (a)", "test [a]", ".."):
        logs = run_cli(["logs", "1", name], project)
        assert logs.code == 0, logs.stderr
        assert f"I am {name}\n" in logs.stdout
        others = {"a/b", "a__b", "test (a)", "test [a]", ".."} - {name}
        assert not any(f"I am {other}\n" in logs.stdout for other in others), logs.stdout
        artifact = state / "artifacts" / name_form(name) / "0" / "out" / "me.txt"
        assert artifact.read_text() == f"I am {name}\n"
    # nothing of the job named ".." landed beside the run's folders
    # live.lock: held by the run while it lives (runner clean spares a live run, issue 13)
    assert sorted(p.name for p in state.iterdir()) == ["artifacts", "jobs", "live.lock"], list(
        state.iterdir()
    )
    assert len(list((state / "jobs").iterdir())) == 5


"""persist_to_workspace / attach_workspace [WS] on every executor, and the layer rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.archive import safe_extract
from runner.graph import JobGraph, PlannedJob
from runner.steps.workspace import go_match_regex
from runner.store.workspace_apply import WorkspaceError, combined_stream, plan
from runner.store.workspaces import WorkspaceStore
from tests.archive.archives import M, tar_bytes
from tests.support import make_project, run_in_process
from tests.targets import Target


def test_layers_in_graph_order_and_globs(target: Target, tmp_path: Path) -> None:
    project = target.project(tmp_path / "p", """
        version: 2.1
        jobs:
          build:
            EXECUTOR
            steps:
              - run: |
                  mkdir -p out/sub out/more
                  echo build > out/app.txt; echo build > out/notes.txt; echo log > out/x.log
                  echo sub > out/sub/s.txt; echo more > out/more/m.txt
              - persist_to_workspace:
                  root: out
                  paths: ["*.txt", sub, "m[aeiou]re/?.txt"]
          docs:
            EXECUTOR
            steps:
              - run: mkdir -p site && echo docs > site/index.html
              - persist_to_workspace: {root: ., paths: [site]}
          package:
            EXECUTOR
            steps:
              - attach_workspace: {at: ws}
              - run: mkdir -p pkg && echo "package of $(cat ws/app.txt)" > pkg/app.txt
              - persist_to_workspace: {root: pkg, paths: [.]}
          deploy:
            EXECUTOR
            steps:
              - attach_workspace: {at: ~/release}
              - run: cd ~/release && find . -type f | sort && cat app.txt
        workflows:
          w:
            jobs:
              - build
              - docs
              - package: {requires: [build]}
              - deploy: {requires: [package, docs]}
    """)
    run = target.run(project)
    assert run.job_status("deploy") == "passed", run.output("deploy")
    # later layers (package, after build in the graph) replace earlier files; x.log never
    # matched the globs; docs ran alongside build and adds its own files
    assert run.output("deploy")[-1] == "package of build"
    listed = [line for line in run.output("deploy") if line.startswith("./")]
    assert listed == ["./app.txt", "./more/m.txt", "./notes.txt", "./site/index.html", "./sub/s.txt"]


def test_concurrent_jobs_persisting_one_file_cannot_be_attached(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", """
        version: 2.1
        jobs:
          left:
            machine: true
            steps:
              - run: mkdir -p o && echo left > o/same.txt && echo l > o/left.txt
              - persist_to_workspace: {root: o, paths: [.]}
          right:
            machine: true
            steps:
              - run: mkdir -p o && echo right > o/same.txt
              - persist_to_workspace: {root: o, paths: [same.txt]}
          both:
            machine: true
            steps:
              - attach_workspace: {at: ws}
        workflows:
          w:
            jobs: [left, right, {both: {requires: [left, right]}}]
    """)
    run = run_in_process(project)
    conflict = run.step("Attaching Workspace", job="both").outcome
    assert conflict.status.value == "failed"
    assert conflict.message.startswith(
        "Concurrent upstream jobs persisted the same file(s) into the workspace:"
    )
    assert "same.txt (from left (node 0, step 1) and right (node 0, step 1))" in conflict.message


def test_attach_fails_closed_without_a_workspace(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", """
        version: 2.1
        jobs:
          build:
            machine: true
            steps:
              - attach_workspace: {at: ws}
              - run: echo never
          persist:
            machine: true
            steps:
              - run: mkdir -p o && echo x > o/x
              - persist_to_workspace: {root: o, paths: ["*.nothing"]}
    """)
    run = run_in_process(project, jobs=("build", "persist"))
    attach = run.step("Attaching Workspace", job="build").outcome
    assert attach.status.value == "failed"
    assert "there is no workspace to attach" in attach.message
    assert "--with-requires" in attach.message
    assert "never" not in run.output("build")
    persist = run.step("Persisting to Workspace", job="persist").outcome
    assert persist.message.startswith("The specified paths did not match any files in ")
    assert persist.message.endswith("/o: *.nothing")


def graph(*jobs: tuple[str, tuple[str, ...]]) -> JobGraph:
    return JobGraph(tuple(PlannedJob(id=j, name=j, job=None, requires=r) for j, r in jobs))


def persist(store: WorkspaceStore, job: str, files: dict[str, bytes], node: int = 0) -> None:
    pending = store.begin(job, node, 1)
    members = [M("root/", kind="dir"), *(M(f"root/{n}", d) for n, d in files.items())]
    pending.add(".", [tar_bytes(*members)])
    store.publish(pending, "/persisted/root")


def test_a_missing_or_damaged_layer_is_never_half_applied(tmp_path: Path) -> None:
    store = WorkspaceStore(tmp_path / "workspace")
    jobs = graph(("a", ()), ("b", ("a",)), ("c", ("b",)))
    persist(store, "a", {"f": b"a"})
    persist(store, "b", {"f": b"b", "g": b"b"})
    layers = plan(store, jobs, "c")
    assert [layer.job for layer in layers.layers] == ["a", "b"]  # graph order
    # sequential layers may hold the same file: the later one wins
    safe_extract(combined_stream(layers), tmp_path / "ws")
    assert (tmp_path / "ws" / "f").read_text() == "b" and (tmp_path / "ws" / "g").exists()
    # a persist that started and never finished: the layer is missing
    store.begin("b", 0, 2)
    with pytest.raises(WorkspaceError, match=r"incomplete.*b layer 0-002 \(its persist_to_workspace did not finish\)"):
        plan(store, jobs, "c")
    (store.root / "pending" / "b" / "0-002").unlink()
    # a layer whose data was cut short: refused before anything is sent
    data = next((store.root / "layers" / "b").glob("*/0.tar.zst"))  # zstd since issue 17
    data.write_bytes(data.read_bytes()[:-10])
    with pytest.raises(Exception, match="is damaged"):
        combined_stream(plan(store, jobs, "c"))
    manifest = next((store.root / "layers" / "a").glob("*/manifest.json"))
    manifest.write_text(json.dumps({"job": "a"}))
    with pytest.raises(WorkspaceError, match=r"a layer 0-001 \(damaged\)"):
        plan(store, jobs, "c")


def test_nodes_of_one_job_are_concurrent(tmp_path: Path) -> None:
    store = WorkspaceStore(tmp_path / "workspace")
    persist(store, "t", {"cov-0.json": b"0", "same": b"0"}, node=0)
    persist(store, "t", {"cov-1.json": b"1", "same": b"1"}, node=1)
    with pytest.raises(WorkspaceError, match=r"same \(from t \(node 0, step 1\) and t \(node 1, step 1\)\)"):
        plan(store, graph(("t", ()), ("u", ("t",))), "u")


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("*.txt", ["a.txt", ".hidden.txt"], ["a/b.txt", "a.txt.bak"]),
        ("dist/*", ["dist/app", "dist/x.js"], ["dist/a/b", "dist"]),
        ("?.go", ["a.go"], ["ab.go", "/.go"]),
        ("[abc]*.py", ["a1.py", "c.py"], ["d.py"]),
        ("[^abc]*.py", ["d.py"], ["a.py"]),
        ("[a-c]", ["b"], ["d"]),
        ("x\\*y", ["x*y"], ["xay"]),
    ],
)
def test_go_filepath_match(pattern: str, matches: list[str], misses: list[str]) -> None:
    regex = go_match_regex(pattern)
    assert all(regex.match(name) for name in matches)
    assert not any(regex.match(name) for name in misses)

"""Parallel nodes and the deploy barrier: deploy runs once, on node 0, after every node finished
all its steps, and only if all of them passed [CR-2019 `deploy`]."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.events import Status
from tests.support import make_project, run_in_process


def parallel_job(steps: str, parallelism: int = 3) -> str:
    return f"""
    version: 2
    jobs:
      build:
        machine: true
        parallelism: {parallelism}
        steps:
{steps}
    """


def stamp(name: str) -> str:
    """A shell snippet that appends '<name> <node> <monotonic ns>' to the shared log."""
    return f'echo "{name} $CIRCLE_NODE_INDEX $(date +%s%N)" >> "$SHARED/log"'


def read_log(shared: Path) -> list[tuple[str, int, int]]:
    rows = [line.split() for line in (shared / "log").read_text().splitlines()]
    return [(name, int(node), int(ns)) for name, node, ns in rows]


def test_nodes_get_their_index_and_total(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        parallel_job(
            '          - run: echo "I am $CIRCLE_NODE_INDEX/$CIRCLE_NODE_TOTAL in $HOME"', 4
        ),
    )
    run = run_in_process(project)
    lines = sorted(run.output())
    assert [line.split(" in ")[0] for line in lines] == [f"I am {i}/4" for i in range(4)]
    homes = {line.split(" in ")[1] for line in lines}
    assert len(homes) == 4  # a home of its own per node
    for node in range(4):
        assert run.output(node=node) == [
            f"I am {node}/4 in " + next(h for h in homes if f"/{node}/home" in h)
        ]


def test_deploy_waits_for_every_other_node_and_runs_once(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    project = make_project(
        tmp_path / "p",
        parallel_job(f"""
          - run: |
              # node 0 is the fastest, so it reaches the deploy step first and must wait
              sleep $((CIRCLE_NODE_INDEX * 1))
              {stamp("work")}
          - deploy:
              name: Ship
              command: {stamp("deploy")}
          - run: {stamp("after")}
    """),
    )
    run = run_in_process(project, env=(f"SHARED={shared}",))
    rows = read_log(shared)
    deploys = [r for r in rows if r[0] == "deploy"]
    assert [(n, node) for n, node, _ in deploys] == [("deploy", 0)]
    others_done = max(ns for name, node, ns in rows if node != 0)  # their last step included
    assert deploys[0][2] > others_done
    ship = {s.node: (s.outcome.status, s.outcome.message) for s in run.steps() if s.name == "Ship"}
    assert ship == {
        0: (Status.PASSED, ""),
        1: (Status.SKIPPED, "skipped: deploy steps run on node 0 only"),
        2: (Status.SKIPPED, "skipped: deploy steps run on node 0 only"),
    }
    assert run.job_status("build") == "passed"


@pytest.mark.parametrize("failing_node", [1, 2])
def test_a_failed_node_cancels_the_deploy(tmp_path: Path, failing_node: int) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    project = make_project(
        tmp_path / "p",
        parallel_job(f"""
          - run: '[ "$CIRCLE_NODE_INDEX" != {failing_node} ]'
          - deploy:
              name: Ship
              command: {stamp("deploy")}
    """),
    )
    run = run_in_process(project, env=(f"SHARED={shared}",))
    assert not (shared / "log").exists()
    ship = run.step("Ship", node=0).outcome
    assert (ship.status, ship.message) == (
        Status.SKIPPED,
        f"skipped: node(s) {failing_node} failed; deploy runs only if all pass",
    )
    assert run.job_status("build") == "failed"
    assert run.result is not None and run.result.exit_code == 1


def test_node_zero_failing_skips_its_deploy_without_waiting(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        parallel_job("""
          - run: '[ "$CIRCLE_NODE_INDEX" != 0 ]'
          - deploy: {name: Ship, command: echo shipped}
    """),
    )
    run = run_in_process(project)
    ship = run.step("Ship", node=0).outcome
    assert (ship.status, ship.message) == (Status.SKIPPED, "skipped: an earlier step failed")
    assert "shipped" not in run.output()


def test_several_deploys_and_runs_between_them(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    project = make_project(
        tmp_path / "p",
        parallel_job(
            f"""
          - run: sleep $((CIRCLE_NODE_INDEX)); {stamp("a")}
          - deploy: {{name: first, command: '{stamp("d1")}'}}
          - run: {stamp("b")}
          - deploy: {{name: second, command: '{stamp("d2")}'}}
          - run: {stamp("c")}
    """,
            parallelism=2,
        ),
    )
    run = run_in_process(project, env=(f"SHARED={shared}",))
    node0 = [name for name, node, _ in sorted(read_log(shared), key=lambda r: r[2]) if node == 0]
    node1 = [name for name, node, _ in read_log(shared) if node == 1]
    assert node0 == ["a", "d1", "b", "d2", "c"]
    assert node1 == ["a", "b", "c"]  # run steps between deploys run on every node
    rows = read_log(shared)
    node1_end = max(ns for _, node, ns in rows if node == 1)
    first_deploy = next(ns for name, _, ns in rows if name == "d1")
    assert first_deploy > node1_end  # the barrier is at node 0's FIRST deploy step
    assert run.job_status("build") == "passed"


def test_deploy_with_one_node_is_a_run_step(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        parallel_job("          - deploy: {name: Ship, command: echo shipped}", parallelism=1),
    )
    run = run_in_process(project)
    assert run.output() == ["shipped"]


def test_single_node_runs(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        parallel_job(
            """
          - run: echo "node $CIRCLE_NODE_INDEX of $CIRCLE_NODE_TOTAL"
          - deploy: {name: Ship, command: echo shipped}
    """,
            parallelism=3,
        ),
    )
    run = run_in_process(project, node_index=1)
    assert run.output() == ["node 1 of 3"]
    assert run.step("Ship").outcome.message == "skipped: deploy steps run on node 0 only"
    run = run_in_process(project, node_index=0)
    assert run.output() == ["node 0 of 3", "shipped"]


def test_parallelism_override(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        parallel_job(
            '          - run: echo "$CIRCLE_NODE_INDEX/$CIRCLE_NODE_TOTAL"', parallelism=3
        ),
    )
    assert sorted(run_in_process(project, parallelism=2).output()) == ["0/2", "1/2"]


def test_nodes_count_against_the_limit_without_deadlock(tmp_path: Path) -> None:
    """One slot, three nodes, a deploy barrier: node 0 must not hold the only slot."""
    shared = tmp_path / "shared"
    shared.mkdir()
    project = make_project(
        tmp_path / "p",
        parallel_job(f"""
          - run: {stamp("work")}; sleep 0.2; {stamp("end")}
          - deploy: {{name: Ship, command: '{stamp("deploy")}'}}
    """),
    )
    run = run_in_process(project, env=(f"SHARED={shared}",), jobs_limit=1)
    rows = sorted(read_log(shared), key=lambda r: r[2])
    # one node at a time: every node's work ends before the next node's work starts
    works = [(name, node) for name, node, _ in rows if name in ("work", "end")]
    assert works == [(n, node) for node in (2, 1, 0) for n in ("work", "end")]
    assert rows[-1][:2] == ("deploy", 0)
    assert run.job_status("build") == "passed"


def test_nodes_run_at_the_same_time(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    project = make_project(
        tmp_path / "p",
        parallel_job(f"          - run: {stamp('start')}; sleep 1; {stamp('end')}", parallelism=3),
    )
    run_in_process(project, env=(f"SHARED={shared}",), jobs_limit=3)
    rows = read_log(shared)
    last_start = max(ns for name, _, ns in rows if name == "start")
    first_end = min(ns for name, _, ns in rows if name == "end")
    assert last_start < first_end

"""Workflows run as a ready set: jobs start when what they require has passed, up to --jobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import ConfigError, UsageError
from runner.events import JobStarted
from tests.support import make_project, run_cli, run_in_process


def workflow_config(jobs: dict[str, str], entries: str, version: str = "2.1") -> str:
    lines = [f"version: {version}", "jobs:"]
    for name, command in jobs.items():
        lines += [f"  {name}:", "    machine: true", "    steps:", f"      - run: {command}"]
    lines += ["workflows:"]
    if version != "2.1":
        lines.append("  version: 2")
    lines += ["  main:", "    jobs:"]
    lines += ["      " + line for line in entries.strip("\n").splitlines()]
    return "\n".join(lines) + "\n"


def stamp(name: str) -> str:
    return f"'echo {name} start $(date +%s%N) >> $SHARED/log; sleep 0.6; echo {name} end $(date +%s%N) >> $SHARED/log'"


def wait_for(name: str) -> str:
    """Shell: wait until job ``name`` has written its start line; fail after 30 s (it never came)."""
    found = f'grep -q "^{name} start" $SHARED/log'
    return f"for i in $(seq 600); do {found} && break; sleep 0.05; done; {found}"


def times(shared: Path) -> dict[tuple[str, str], int]:
    out = {}
    for line in (shared / "log").read_text().splitlines():
        name, what, ns = line.split()
        out[(name, what)] = int(ns)
    return out


DIAMOND = """
- a
- b:
    requires: [a]
- c:
    requires: [a]
- d:
    requires: [b, c]
"""


def test_diamond_runs_its_middle_jobs_at_the_same_time(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    jobs = {n: stamp(n) for n in "ad"}
    # b and c overlap: each waits, before it ends, until the other has started (a job that
    # waited for the other to end would wait in vain, and fail)
    for name, other in (("b", "c"), ("c", "b")):
        jobs[name] = (
            f"'echo {name} start $(date +%s%N) >> $SHARED/log; {wait_for(other)}; "
            f"echo {name} end $(date +%s%N) >> $SHARED/log'"
        )
    project = make_project(tmp_path / "p", workflow_config(jobs, DIAMOND))
    run = run_in_process(project, env=(f"SHARED={shared}",), jobs_limit=2)
    assert run.result is not None and run.result.exit_code == 0
    t = times(shared)
    assert t[("a", "end")] < t[("b", "start")] and t[("a", "end")] < t[("c", "start")]
    assert t[("b", "start")] < t[("c", "end")] and t[("c", "start")] < t[("b", "end")]
    assert t[("d", "start")] > max(t[("b", "end")], t[("c", "end")])


def test_a_job_starts_as_soon_as_its_own_requirements_pass(tmp_path: Path) -> None:
    """Not a stage barrier (act#2492): x needs only a (fast) and must not wait for slow."""
    shared = tmp_path / "shared"
    shared.mkdir()
    jobs = {
        "a": "'echo a end $(date +%s%N) >> $SHARED/log'",
        # slow ends only once x has started: behind a stage barrier, x would wait for slow
        "slow": f"'{wait_for('x')}; echo slow end $(date +%s%N) >> $SHARED/log'",
        "x": "'echo x start $(date +%s%N) >> $SHARED/log'",
    }
    project = make_project(
        tmp_path / "p", workflow_config(jobs, "- a\n- slow\n- x:\n    requires: [a]")
    )
    run = run_in_process(project, env=(f"SHARED={shared}",), jobs_limit=3)
    assert run.result is not None and run.result.exit_code == 0
    t = times(shared)
    assert t[("x", "start")] < t[("slow", "end")]


def test_limit_counts_nodes(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    project = make_project(tmp_path / "p", workflow_config({n: stamp(n) for n in "ab"}, "- a\n- b"))
    run_in_process(project, env=(f"SHARED={shared}",), jobs_limit=1)
    t = times(shared)
    first, second = sorted("ab", key=lambda n: t[(n, "start")])
    assert t[(first, "end")] < t[(second, "start")]


def test_failure_blocks_dependents_but_not_independent_branches(tmp_path: Path) -> None:
    jobs = {"a": "'exit 1'", "b": "'echo b ran'", "c": "'echo c ran'", "other": "'echo other ran'"}
    entries = "- a\n- b:\n    requires: [a]\n- c:\n    requires: [b]\n- other"
    project = make_project(tmp_path / "p", workflow_config(jobs, entries))
    run = run_in_process(project)
    assert run.job_status("a") == "failed"
    assert run.job_status("b") == "blocked" and run.job_status("c") == "blocked"
    assert run.job_status("other") == "passed"
    assert "b ran" not in run.output() and "other ran" in run.output()
    blocked = [
        e for e in run.events if getattr(e, "job", None) == "b" and getattr(e, "message", "")
    ]
    assert blocked[-1].message == "blocked: requires a (failed)"  # type: ignore[attr-defined]
    assert run.result is not None and run.result.exit_code == 1


def test_fail_fast_stops_the_rest(tmp_path: Path) -> None:
    jobs = {"bad": "'exit 1'", "slow": "'sleep 30'", "later": "'echo later'"}
    entries = "- bad\n- slow\n- later:\n    requires: [slow]"
    project = make_project(tmp_path / "p", workflow_config(jobs, entries))
    run = run_in_process(project, fail_fast=True, jobs_limit=2)
    assert run.job_status("bad") == "failed"
    assert run.job_status("slow") == "cancelled"
    assert run.job_status("later") == "cancelled"
    assert run.result is not None and run.result.exit_code == 1


def test_requires_with_statuses(tmp_path: Path) -> None:
    jobs = {"a": "'exit 1'", "cleanup": "'echo cleaning'", "notify": "'echo notified'"}
    entries = "- a\n- cleanup:\n    requires: [{a: failed}]\n- notify:\n    requires: [{a: [success, failed]}]"
    project = make_project(tmp_path / "p", workflow_config(jobs, entries))
    run = run_in_process(project)
    assert run.job_status("cleanup") == "passed" and run.job_status("notify") == "passed"


APPROVAL = """
- build
- hold:
    type: approval
    requires: [build]
- deploy:
    requires: [hold]
"""


def test_approval_not_given_stops_there_and_says_so(tmp_path: Path) -> None:
    jobs = {"build": "'echo built'", "deploy": "'echo deployed'"}
    project = make_project(tmp_path / "p", workflow_config(jobs, APPROVAL))
    result = run_cli(["run"], project)
    assert result.code == 0
    assert "built" in result.stdout and "deployed" not in result.stdout
    assert (
        "on hold: approval 'hold' was not given (pass --approve hold to approve it)"
        in result.stdout
    )
    assert "deploy waiting  on hold: waits for approval of hold" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("run 1 on hold, waiting for approval in ")


@pytest.mark.parametrize("approve", ["hold", "all"])
def test_approval_given_on_the_command_line(tmp_path: Path, approve: str) -> None:
    jobs = {"build": "'echo built'", "deploy": "'echo deployed'"}
    project = make_project(tmp_path / "p", workflow_config(jobs, APPROVAL))
    run = run_in_process(project, approve=(approve,))
    assert "deployed" in run.output()
    assert run.job_status("hold") == "passed"


def test_approval_by_prompt(tmp_path: Path) -> None:
    from runner import runflow
    from tests.support import Collected

    jobs = {"build": "'echo built'", "deploy": "'echo deployed'"}
    project = make_project(tmp_path / "p", workflow_config(jobs, APPROVAL))
    asked: list[str] = []
    collected = Collected()
    request = runflow.RunRequest(project=runflow.ProjectRequest(project_dir=project))
    runflow.run(
        request,
        subscribers=[collected],
        cwd=project,
        approver=lambda name: asked.append(name) or True,
    )
    assert asked == ["hold"] and "deployed" in collected.output()


def test_contexts_from_the_contexts_file(tmp_path: Path) -> None:
    contexts = tmp_path / "contexts.yml"
    contexts.write_text("org-global:\n  DEPLOY_TOKEN: tok-123456\n  REGION: eu-west\n")
    jobs = {"deploy": "'echo region=$REGION; echo token=$DEPLOY_TOKEN'"}
    project = make_project(
        tmp_path / "p", workflow_config(jobs, "- deploy:\n    context: org-global")
    )
    run = run_in_process(project, contexts_file=contexts)
    # every context value is a secret on CircleCI, so every one is masked in output
    assert run.output() == ["region=********", "token=********"]


def test_a_missing_context_is_a_clear_error(tmp_path: Path) -> None:
    jobs = {"deploy": "'echo hi'"}
    project = make_project(
        tmp_path / "p", workflow_config(jobs, "- deploy:\n    context: [org-global, aws]")
    )
    (tmp_path / "xdg-config" / "runner").mkdir(parents=True)
    (tmp_path / "xdg-config" / "runner" / "contexts.yml").write_text("org-global: {A: b}\n")
    with pytest.raises(UsageError) as info:
        run_in_process(project)
    assert info.value.message == "context(s) not found: aws"
    missing = tmp_path / "nope.yml"
    with pytest.raises(ConfigError, match=r"contexts file .*nope\.yml does not exist"):
        run_in_process(project, contexts_file=missing)


def test_branch_and_tag_filters_select_jobs(tmp_path: Path) -> None:
    jobs = {"test": "'echo test'", "release": "'echo release'"}
    entries = """
- test:
    filters: {tags: {only: /.*/}}
- release:
    requires: [test]
    filters:
      branches: {ignore: /.*/}
      tags: {only: '/^v[0-9.]+$/'}
"""
    project = make_project(tmp_path / "p", workflow_config(jobs, entries))
    assert run_in_process(project).output() == ["test"]
    assert sorted(run_in_process(project, tag="v1.2").output()) == ["release", "test"]
    assert run_in_process(project, tag="nightly").output() == ["test"]


def test_with_requires_runs_upstream_first(tmp_path: Path) -> None:
    jobs = {n: f"'echo {n}'" for n in "abcd"}
    project = make_project(tmp_path / "p", workflow_config(jobs, DIAMOND))
    run = run_in_process(project, jobs=("b",), with_requires=True)
    assert run.output() == ["a", "b"]
    started = [e.job for e in run.events if isinstance(e, JobStarted)]
    assert started == ["a", "b"]
    alone = run_in_process(project, jobs=("d",))
    assert alone.output() == ["d"]


def test_v2_config_without_workflows_still_runs_build(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        """
        version: 2
        jobs:
          build: {machine: true, steps: [{run: echo built}]}
          other: {machine: true, steps: [{run: echo other}]}
    """,
    )
    assert run_in_process(project).output() == ["built"]


def test_plan_and_list_show_the_workflow(tmp_path: Path) -> None:
    jobs = {n: f"'echo {n}'" for n in "abcd"}
    project = make_project(tmp_path / "p", workflow_config(jobs, DIAMOND))
    listing = run_cli(["list"], project).stdout
    assert (
        "workflows:\n  main\n    - a\n    - b  requires a\n    - c  requires a\n    - d  requires b, c\n"
        in listing
    )
    mermaid = run_cli(["plan", "--format", "mermaid"], project).stdout.splitlines()
    assert "  n_a --> n_b" in mermaid and "  n_c --> n_d" in mermaid

"""The pure planner: selection -> job graph, with stable order, filters and reasons."""

from __future__ import annotations

import pytest

from runner.config import model as m
from runner.errors import UsageError
from runner.graph import Selection, applies, plan

STEP = (m.RunStep(name="x", command="true"),)


def job(name: str, parallelism: int = 1) -> m.Job:
    return m.Job(name=name, executor=m.MachineExecutor(), steps=STEP, parallelism=parallelism)


def entry(name: str, *requires: str, **kw: object) -> m.WorkflowJob:
    return m.WorkflowJob(name=name, job=kw.pop("job", name), requires=requires, **kw)  # type: ignore[arg-type]


def only(*patterns: str) -> m.RefFilter:
    return m.RefFilter(only=tuple(m.Pattern(p) for p in patterns))


def config(
    jobs: list[m.Job], workflows: dict[str, list[m.WorkflowJob]] | None = None, **wf_kw: object
) -> m.Config:
    return m.Config(
        version="2",
        jobs={j.name: j for j in jobs},
        workflows={
            n: m.Workflow(name=n, jobs=tuple(e), **wf_kw) for n, e in (workflows or {}).items()
        },  # type: ignore[arg-type]
    )


def ids(graph) -> list[str]:  # type: ignore[no-untyped-def]
    return [j.id for j in graph.jobs]


def test_without_workflows_runs_build() -> None:
    graph = plan(config([job("test"), job("build")]), Selection())
    assert ids(graph) == ["build"]


def test_without_workflows_or_build_lists_the_jobs() -> None:
    with pytest.raises(UsageError) as info:
        plan(config([job("lint"), job("test")]), Selection())
    assert info.value.render() == (
        "this config has no workflows and no job named 'build'\n"
        "hint: name the jobs to run: runner run lint test"
    )


def test_named_jobs_in_the_order_given_without_duplicates() -> None:
    graph = plan(config([job("a"), job("b"), job("c")]), Selection(jobs=("c", "a", "c")))
    assert ids(graph) == ["c", "a"]
    assert all(not j.requires for j in graph.jobs)


def test_unknown_job_suggests_a_near_name() -> None:
    with pytest.raises(UsageError) as info:
        plan(config([job("deploy_staging")]), Selection(jobs=("deploy_stagin",)))
    assert info.value.render() == (
        "no job named 'deploy_stagin'\nhint: did you mean 'deploy_staging'?"
    )


def test_parallelism_override_and_single_node() -> None:
    cfg = config([job("build", parallelism=4)])
    assert plan(cfg, Selection()).jobs[0].nodes == (0, 1, 2, 3)
    assert plan(cfg, Selection(parallelism=2)).jobs[0].nodes == (0, 1)
    one = plan(cfg, Selection(node_index=3)).jobs[0]
    assert (one.nodes, one.parallelism) == ((3,), 4)
    with pytest.raises(UsageError, match="--node-index 4 is outside job 'build' with 4 node"):
        plan(cfg, Selection(node_index=4))


DIAMOND = {"main": [entry("a"), entry("b", "a"), entry("c", "a"), entry("d", "b", "c")]}


def test_workflow_order_is_topological_and_stable() -> None:
    cfg = config(
        [job(n) for n in "abcd"],
        {"main": [entry("d", "b", "c"), entry("c", "a"), entry("b", "a"), entry("a")]},
    )
    graph = plan(cfg, Selection(branch="main"))
    assert ids(graph) == ["a", "c", "b", "d"]
    assert graph.get("d").requires == ("b", "c")
    assert [j.id for j in graph.dependents("a")] == ["c", "b"]


def test_several_workflows_prefix_ids() -> None:
    cfg = config([job(n) for n in "abcd"], {**DIAMOND, "other": [entry("a")]})
    graph = plan(cfg, Selection(branch="main"))
    assert ids(graph) == ["main/a", "main/b", "main/c", "main/d", "other/a"]
    assert graph.get("main/d").requires == ("main/b", "main/c")
    assert graph.get("main/d").name == "d"


def test_select_one_workflow_and_unknown_workflow() -> None:
    cfg = config([job(n) for n in "abcd"], {**DIAMOND, "other": [entry("a")]})
    assert ids(plan(cfg, Selection(workflow="other"))) == ["a"]
    with pytest.raises(UsageError, match="no workflow named 'mian'"):
        plan(cfg, Selection(workflow="mian"))


def test_with_requires_pulls_upstream_entries() -> None:
    cfg = config([job(n) for n in "abcd"], DIAMOND)
    graph = plan(cfg, Selection(jobs=("c",), with_requires=True))
    assert ids(graph) == ["a", "c"]
    assert graph.get("c").requires == ("a",)


@pytest.mark.parametrize(
    ("filters", "branch", "tag", "reason"),
    [
        (m.Filters(), "main", "", None),
        (m.Filters(), "", "v1", "no tag filter, and this is tag v1"),
        (m.Filters(branches=only("main")), "dev", "", "branch filter excludes dev"),
        (m.Filters(branches=only("/feat-.*/")), "feat-x", "", None),
        (m.Filters(branches=only("/feat-.*/")), "xfeat-x", "", "branch filter excludes xfeat-x"),
        (
            m.Filters(branches=m.RefFilter(ignore=(m.Pattern("wip"),))),
            "wip",
            "",
            "branch filter excludes wip",
        ),
        (m.Filters(tags=only("/^v.*/")), "", "v1.2", None),
        (m.Filters(tags=only("/^v.*/")), "", "1.2", "tag filter excludes 1.2"),
        (m.Filters(tags=only("/^v.*/")), "main", "", None),
    ],
)
def test_filters(filters: m.Filters, branch: str, tag: str, reason: str | None) -> None:
    assert (
        applies(m.WorkflowJob(name="x", job="x", filters=filters), branch=branch, tag=tag) == reason
    )


def test_filtered_requirements_are_ignored_but_all_filtered_skips() -> None:
    main_only = m.Filters(branches=only("main"))
    cfg = config(
        [job(n) for n in "abc"],
        {
            "wf": [
                entry("a", filters=main_only),
                entry("b"),
                entry("c", "a"),
            ]
        },
    )
    graph = plan(cfg, Selection(branch="dev"))
    assert ids(graph) == ["b"]
    assert [(s.name, s.reason) for s in graph.skipped] == [
        ("a", "branch filter excludes dev"),
        ("c", "every job it requires was filtered out"),
    ]


def test_scheduled_and_disabled_workflows_are_skipped_with_reasons() -> None:
    cfg = m.Config(
        version="2.1",
        jobs={"a": job("a")},
        workflows={
            "nightly": m.Workflow(
                name="nightly", jobs=(entry("a"),), triggers=(m.Trigger(cron="0 0 * * *"),)
            ),
            "off": m.Workflow(name="off", jobs=(entry("a"),), enabled=False),
            "main": m.Workflow(name="main", jobs=(entry("a"),)),
        },
    )
    graph = plan(cfg, Selection(branch="main"))
    assert ids(graph) == ["a"]
    assert [(s.name, s.reason) for s in graph.skipped] == [
        ("nightly", "runs on a schedule only"),
        ("off", "its 'when' is false"),
    ]
    assert ids(plan(cfg, Selection(workflow="nightly"))) == ["a"]


def test_approvals_contexts_and_statuses_are_carried() -> None:
    cfg = config(
        [job("a"), job("b")],
        {
            "wf": [
                entry("a", contexts=("org",)),
                entry("hold", "a", job="hold", approval=True),
                entry("b", "hold", requires_status={"hold": ("success", "failed")}),
            ]
        },
    )
    graph = plan(cfg, Selection(branch="main"))
    hold = graph.get("hold")
    assert hold.approval and hold.job is None and hold.executor_kind == "approval"
    assert graph.get("a").contexts == ("org",)
    assert dict(graph.get("b").requires_status) == {"hold": ("success", "failed")}
    assert graph.node_count == 2

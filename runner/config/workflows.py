"""Workflows of a processed config: entries, requires, filters, contexts, approvals, triggers.

Matrices, ``name`` overrides of parameterised jobs and ``when``/``unless`` are resolved by the
2.1 expansion before this runs; what is left is checked here, including unknown ``requires``
and cycles, so a bad graph is refused with its place before anything starts.
"""

from __future__ import annotations

from typing import Any

from runner.config import model as m
from runner.config.reader import Reader, join, kind_of
from runner.config.yaml import MDict, MList
from runner.errors import Mark, did_you_mean

WORKFLOW_KEYS = ("jobs", "triggers", "when", "max_auto_reruns")
ENTRY_KEYS = ("requires", "filters", "context", "type", "name")
# ``type: no-op``: "a job that does nothing" and passes at once, so that its dependents run [CR]
JOB_TYPES = ("approval", "build", "no-op")
JOB_STATUSES = ("success", "failed", "canceled", "unauthorized", "not_run", "terminal")


def read_workflows(
    r: Reader, root: MDict, jobs: dict[str, m.Job], *, version: str
) -> dict[str, m.Workflow]:
    if "workflows" not in root or root["workflows"] is None:
        return {}
    node = r.mapping(root["workflows"], root.mark_of("workflows"), "workflows")
    if node is None:
        return {}
    if version in ("2", "2.0") and "version" not in node:
        # [CR] workflows ``version``: "Y if config version is 2"
        r.problem(node.mark, "workflows", "a version 2 config needs 'version: 2' under 'workflows'")
    out: dict[str, m.Workflow] = {}
    for name, value in node.items():
        if name == "version":
            continue
        workflow = read_workflow(r, name, value, node.mark_of(name), jobs)
        if workflow is not None:
            out[name] = workflow
    return out


def read_workflow(
    r: Reader, name: str, value: Any, mark: Mark, jobs: dict[str, m.Job]
) -> m.Workflow | None:
    path = join("workflows", name)
    node = r.mapping(value, mark, path, " with a 'jobs' list")
    if node is None:
        return None
    r.keys(node, path, WORKFLOW_KEYS, required=("jobs",), what="workflow key")
    entries_node = node.get("jobs")
    if not isinstance(entries_node, MList) or not entries_node:
        if isinstance(entries_node, MList):
            # CircleCI's schema: workflow "jobs" has "minItems": 1 (circleci-yaml-language-server
            # schema.json); it refuses an empty list too
            r.problem(node.mark_of("jobs"), join(path, "jobs"),
                      "a workflow needs at least one job; 'jobs' is an empty list",
                      "add a job, or remove the workflow")
        elif "jobs" in node:
            r.problem(
                node.mark_of("jobs"),
                join(path, "jobs"),
                f"expected a list of jobs, found {kind_of(entries_node)}",
            )
        return None
    entries: list[m.WorkflowJob] = []
    seen: dict[str, Mark] = {}
    for index, item in enumerate(entries_node):
        entry = read_entry(
            r, item, entries_node.mark_of(index), join(join(path, "jobs"), index), jobs
        )
        if entry is None:
            continue
        if entry.name in seen:
            r.problem(
                entries_node.mark_of(index),
                join(join(path, "jobs"), index),
                f"job '{entry.name}' appears twice in workflow '{name}' (first at line "
                f"{seen[entry.name].line})",
                "give one of them a different 'name:'",
            )
            continue
        seen[entry.name] = entries_node.mark_of(index)
        entries.append(entry)
    _check_requires(r, path, entries)
    enabled = True
    if "when" in node:
        enabled = r.boolean(node, "when", path, default=True)
    return m.Workflow(
        name=name,
        jobs=tuple(entries),
        triggers=read_triggers(r, node, path),
        enabled=enabled,
        mark=mark,
    )


def read_entry(
    r: Reader, item: Any, mark: Mark, path: str, jobs: dict[str, m.Job]
) -> m.WorkflowJob | None:
    if isinstance(item, str):
        if item not in jobs:
            r.problem(
                mark, path, f"job '{item}' is not defined under 'jobs'", did_you_mean(item, jobs)
            )
            return None
        return m.WorkflowJob(name=item, job=item, mark=mark)
    if not isinstance(item, MDict) or len(item) != 1:
        r.problem(mark, path, f"expected a job name or a map with one job, found {kind_of(item)}")
        return None
    job, body = next(iter(item.items()))
    where = join(path, job)
    if body is None:
        body = MDict(item.mark_of(job))
    node = r.mapping(body, item.mark_of(job), where, " of workflow job keys")
    if node is None:
        return None
    r.keys(node, where, ENTRY_KEYS)
    kind = r.choice(node, "type", where, JOB_TYPES, default="build")
    approval, no_op = kind == "approval", kind == "no-op"
    if not (approval or no_op) and job not in jobs:
        r.problem(
            item.key_mark_of(job),
            where,
            f"job '{job}' is not defined under 'jobs'",
            did_you_mean(job, jobs) or "for a manual gate add 'type: approval'",
        )
        return None
    requires, statuses = _requires(r, node, where)
    return m.WorkflowJob(
        name=r.string(node, "name", where, default=job, allow_empty=False) or job,
        job=job,
        requires=requires,
        requires_status=statuses,
        filters=read_filters(r, node, where),
        contexts=r.strings(node, "context", where) or (),
        approval=approval,
        no_op=no_op,
        mark=mark,
    )


def _requires(
    r: Reader, node: MDict, path: str
) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """Names, and the newer map form ``- job: failed`` / ``- job: [success, failed]`` [CR]."""
    if "requires" not in node or node["requires"] is None:
        return (), {}
    value = node["requires"]
    where = join(path, "requires")
    if not isinstance(value, MList):
        return r.strings(node, "requires", path) or (), {}
    names: list[str] = []
    statuses: dict[str, tuple[str, ...]] = {}
    for index, item in enumerate(value):
        if isinstance(item, MDict):
            for name in item:
                wanted = r.strings(item, name, join(where, index)) or ("success",)
                for status in wanted:
                    if status not in JOB_STATUSES:
                        r.problem(
                            item.mark_of(name),
                            join(join(where, index), name),
                            f"invalid job status '{status}'",
                            did_you_mean(status, JOB_STATUSES)
                            or "one of: " + ", ".join(JOB_STATUSES),
                        )
                names.append(name)
                statuses[name] = wanted
        elif isinstance(item, MList) or item is None:
            r.problem(
                value.mark_of(index),
                join(where, index),
                f"expected a job name, found {kind_of(item)}",
            )
        else:
            names.append(value.text(index) or "")
    return tuple(names), statuses


def read_filters(r: Reader, node: MDict, path: str) -> m.Filters:
    if "filters" not in node or node["filters"] is None:
        return m.Filters()
    where = join(path, "filters")
    filters = r.mapping(node["filters"], node.mark_of("filters"), where)
    if filters is None:
        return m.Filters()
    r.keys(filters, where, ("branches", "tags"))
    return m.Filters(
        branches=_ref_filter(r, filters, "branches", where),
        tags=_ref_filter(r, filters, "tags", where),
    )


def _ref_filter(r: Reader, node: MDict, key: str, path: str) -> m.RefFilter:
    if key not in node or node[key] is None:
        return m.RefFilter()
    where = join(path, key)
    body = r.mapping(node[key], node.mark_of(key), where, " with 'only' or 'ignore'")
    if body is None:
        return m.RefFilter()
    r.keys(body, where, ("only", "ignore"))
    only = r.strings(body, "only", where)
    ignore = r.strings(body, "ignore", where) or ()
    for field_name, values in (("only", only or ()), ("ignore", ignore)):
        for value in values:
            _check_pattern(r, body.mark_of(field_name), join(where, field_name), value)
    return m.RefFilter(
        only=tuple(m.Pattern(v) for v in only) if only is not None else None,
        ignore=tuple(m.Pattern(v) for v in ignore),
    )


def _check_pattern(r: Reader, mark: Mark, path: str, text: str) -> None:
    pattern = m.Pattern(text)
    if pattern.is_regex:
        import re

        try:
            re.compile(text[1:-1])
        except re.error as exc:
            r.problem(mark, path, f"invalid regular expression {text}: {exc}")


def read_triggers(r: Reader, node: MDict, path: str) -> tuple[m.Trigger, ...]:
    if "triggers" not in node or node["triggers"] is None:
        return ()
    where = join(path, "triggers")
    value = r.sequence(node, "triggers", path)
    if value is None:
        return ()
    out: list[m.Trigger] = []
    for index, item in enumerate(value):
        item_path = join(where, index)
        body = r.mapping(item, value.mark_of(index), item_path, " with 'schedule'")
        if body is None:
            continue
        r.keys(body, item_path, ("schedule",), required=("schedule",))
        schedule = body.get("schedule")
        sched_path = join(item_path, "schedule")
        if not isinstance(schedule, MDict):
            continue
        r.keys(schedule, sched_path, ("cron", "filters"), required=("cron", "filters"))
        cron = r.string(schedule, "cron", sched_path, default="", allow_empty=False) or ""
        out.append(m.Trigger(cron=cron, filters=read_filters(r, schedule, sched_path)))
    return tuple(out)


def _check_requires(r: Reader, path: str, entries: list[m.WorkflowJob]) -> None:
    names = {e.name for e in entries} | {a for e in entries for a in e.aliases}
    for entry in entries:
        for required in entry.requires:
            if required not in names:
                r.problem(
                    entry.mark,
                    join(join(path, "jobs"), entry.name) + ".requires",
                    f"requires '{required}', which is not a job of this workflow",
                    did_you_mean(required, names),
                )
    cycle = find_cycle(entries)
    if cycle:
        first = next(e for e in entries if e.name == cycle[0])
        r.problem(first.mark, join(path, "jobs"), "requires form a cycle: " + " -> ".join(cycle))


def find_cycle(entries: list[m.WorkflowJob] | tuple[m.WorkflowJob, ...]) -> list[str] | None:
    """The first cycle in ``requires`` (in entry order), as ``[a, b, a]``; None if acyclic."""
    by_alias: dict[str, list[str]] = {}
    for e in entries:
        for alias in (e.name, *e.aliases):
            by_alias.setdefault(alias, []).append(e.name)
    edges = {e.name: [n for req in e.requires for n in by_alias.get(req, [])] for e in entries}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for start in edges:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        trail: list[str] = []
        while stack:
            name, index = stack.pop()
            if index == 0:
                state[name] = 1
                trail.append(name)
            children = edges[name]
            if index < len(children):
                stack.append((name, index + 1))
                child = children[index]
                if state.get(child) == 1:
                    return [*trail[trail.index(child) :], child]
                if not state.get(child):
                    stack.append((child, 0))
            else:
                state[name] = 2
                trail.pop()
    return None

"""``runner plan``: what would run, as text, JSON or a Mermaid flowchart."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from runner.config import model as m
from runner.config.substitute import substitutions
from runner.graph import JobGraph, PlannedJob
from runner.hostfit import blocked_by
from runner.report.listing import executor_text


def _steps(job: PlannedJob) -> list[dict[str, Any]]:
    if job.job is None:
        return []
    out: list[dict[str, Any]] = []
    for index, step in enumerate(job.job.steps):
        item: dict[str, Any] = {
            "index": index,
            "kind": step.kind,
            "name": step.name,
            "when": step.when.value,
        }
        if isinstance(step, m.RunStep) and step.deploy:
            item["note"] = (
                "runs once, on node 0, after every node passed"
                if job.parallelism > 1
                else "runs like a run step (one node)"
            )
        if isinstance(step, m.RunStep) and step.background:
            item["note"] = "background"
        out.append(item)
    return out


def _not_run(graph: JobGraph, not_here: Mapping[str, str]) -> dict[str, str]:
    """Planned job id -> why it will not run on this machine (issue 13)."""
    out = {job: f"skipped: cannot run here: {why}" for job, why in not_here.items()}
    for job, upstream in blocked_by(graph, not_here).items():
        out[job] = f"blocked: requires {', '.join(upstream)}, which cannot run here"
    return out


def plan_dict(
    graph: JobGraph, *, branch: str, tag: str, not_here: Mapping[str, str] | None = None
) -> dict[str, Any]:
    not_run = _not_run(graph, not_here or {})
    return {
        "branch": branch,
        "tag": tag,
        "workflows": list(graph.workflows),
        "jobs": [
            {
                "id": j.id,
                "name": j.name,
                "workflow": j.workflow,
                "type": "approval" if j.approval else "no-op" if j.no_op else "build",
                "executor": None if j.job is None else executor_text(j.job),
                "parallelism": j.parallelism,
                "nodes": list(j.nodes),
                "requires": list(j.requires),
                "contexts": list(j.contexts),
                "images": [
                    {"image": i.image, "for": i.substituted}
                    for i in (getattr(j.job.executor, "images", ()) if j.job else ())
                ],
                "steps": _steps(j),
                "not_run_here": not_run.get(j.id),
            }
            for j in graph.jobs
        ],
        "skipped": [
            {"name": s.name, "workflow": s.workflow, "reason": s.reason} for s in graph.skipped
        ],
    }


def render_text(
    graph: JobGraph, *, branch: str, tag: str, not_here: Mapping[str, str] | None = None
) -> str:
    ref = f"tag {tag}" if tag else f"branch {branch or '(none)'}"
    not_run = _not_run(graph, not_here or {})
    lines = [f"plan for {ref}: {len(graph.jobs)} job(s), {graph.node_count} node(s)"]
    for job in graph.jobs:
        reqs = f"  after {', '.join(job.requires)}" if job.requires else ""
        if job.job is None:
            lines.append(f"  {job.id}: {'no-op' if job.no_op else 'approval'}{reqs}")
            continue
        assert job.job is not None
        nodes = (
            f"node {job.nodes[0]} of {job.parallelism}"
            if len(job.nodes) == 1 and job.parallelism > 1
            else f"{len(job.nodes)} node(s)"
        )
        ctx = f"  contexts {', '.join(job.contexts)}" if job.contexts else ""
        lines.append(f"  {job.id}: {executor_text(job.job)}, {nodes}{reqs}{ctx}")
        lines.extend(f"    image {text} (--image)" for text in substitutions(job.job))
        if job.id in not_run:
            lines.append(f"    {not_run[job.id]}")
        for step in _steps(job):
            note = f"  [{step['note']}]" if "note" in step else ""
            when = f" (when {step['when']})" if step["when"] != "on_success" else ""
            name = step["name"].strip().splitlines()[0] if step["name"].strip() else ""
            lines.append(f"    {step['index']:>2}. {step['kind']}: {name[:70]}{when}{note}")
    for skipped in graph.skipped:
        where = (
            f"{skipped.workflow}/" if skipped.workflow and skipped.workflow != skipped.name else ""
        )
        lines.append(f"  skipped {where}{skipped.name}: {skipped.reason}")
    if not_here:
        lines.append(f"{len(not_here)} job(s) cannot run here (runner run skips them, "
                     "--strict refuses the run)")
    return "\n".join(lines) + "\n"


def _node_id(text: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", text)


def render_mermaid(graph: JobGraph) -> str:
    lines = ["flowchart LR"]
    for job in graph.jobs:
        label = job.id + (" (approval)" if job.approval else "")
        if job.parallelism > 1:
            label += f" x{job.parallelism}"
        shape = ("{{", "}}") if job.approval else ("[", "]")
        lines.append(f'  {_node_id(job.id)}{shape[0]}"{label}"{shape[1]}')
    for job in graph.jobs:
        for req in job.requires:
            lines.append(f"  {_node_id(req)} --> {_node_id(job.id)}")
    return "\n".join(lines) + "\n"


def render_plan(
    graph: JobGraph, fmt: str, *, branch: str, tag: str, not_here: Mapping[str, str] | None = None
) -> str:
    if fmt == "json":
        data = plan_dict(graph, branch=branch, tag=tag, not_here=not_here)
        return json.dumps(data, indent=2) + "\n"
    if fmt == "mermaid":
        return render_mermaid(graph)
    return render_text(graph, branch=branch, tag=tag, not_here=not_here)

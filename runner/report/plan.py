"""``runner plan``: what would run, as text, JSON or a Mermaid flowchart."""

from __future__ import annotations

import json
import re
from typing import Any

from runner.config import model as m
from runner.config.substitute import substitutions
from runner.graph import JobGraph, PlannedJob
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


def plan_dict(graph: JobGraph, *, branch: str, tag: str) -> dict[str, Any]:
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
            }
            for j in graph.jobs
        ],
        "skipped": [
            {"name": s.name, "workflow": s.workflow, "reason": s.reason} for s in graph.skipped
        ],
    }


def render_text(graph: JobGraph, *, branch: str, tag: str) -> str:
    ref = f"tag {tag}" if tag else f"branch {branch or '(none)'}"
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


def render_plan(graph: JobGraph, fmt: str, *, branch: str, tag: str) -> str:
    if fmt == "json":
        return json.dumps(plan_dict(graph, branch=branch, tag=tag), indent=2) + "\n"
    if fmt == "mermaid":
        return render_mermaid(graph)
    return render_text(graph, branch=branch, tag=tag)

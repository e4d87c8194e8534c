"""``runner list``: the jobs and workflows of a config, one line each."""

from __future__ import annotations

from typing import Any

from runner.config import model as m


def executor_text(job: m.Job) -> str:
    ex = job.executor
    if isinstance(ex, m.DockerExecutor):
        extra = f" + {len(ex.services)} service(s)" if ex.services else ""
        return f"docker ({ex.primary.image}{extra})"
    if isinstance(ex, m.MachineExecutor):
        return f"machine ({ex.image})" if ex.image else "machine"
    return f"{ex.kind} (cannot run here)"


def render_listing(config: m.Config) -> str:
    lines = ["jobs:"]
    width = max((len(n) for n in config.jobs), default=4)
    for name, job in config.jobs.items():
        nodes = f"{job.parallelism} node{'s' * (job.parallelism != 1)}"
        steps = f"{len(job.steps)} step{'s' * (len(job.steps) != 1)}"
        deploy = ", deploy steps" if job.has_deploy else ""
        lines.append(f"  {name:<{width}}  {executor_text(job)}, {nodes}, {steps}{deploy}")
    if config.workflows:
        lines.append("workflows:")
        for workflow in config.workflows.values():
            notes = []
            if workflow.scheduled:
                notes.append("scheduled")
            if not workflow.enabled:
                notes.append("off: its 'when' is false")
            suffix = f"  ({', '.join(notes)})" if notes else ""
            lines.append(f"  {workflow.name}{suffix}")
            for entry in workflow.jobs:
                kind = "approval" if entry.approval else "no-op" if entry.no_op else entry.job
                reqs = f"  requires {', '.join(entry.requires)}" if entry.requires else ""
                label = entry.name if entry.name == kind else f"{entry.name} ({kind})"
                lines.append(f"    - {label}{reqs}")
    return "\n".join(lines) + "\n"


def listing_json(config: m.Config) -> dict[str, Any]:
    """``runner list --json``: the same facts as the text, as data."""
    return {
        "jobs": [
            {
                "name": name,
                "executor": job.executor.kind,
                "images": [
                    {"image": i.image, "for": i.substituted}
                    for i in getattr(job.executor, "images", ())
                ],
                "parallelism": job.parallelism,
                "steps": len(job.steps),
                "deploy": job.has_deploy,
            }
            for name, job in config.jobs.items()
        ],
        "workflows": [
            {
                "name": workflow.name,
                "scheduled": workflow.scheduled,
                "enabled": workflow.enabled,
                "jobs": [
                    {"name": e.name, "job": None if e.approval else e.job,
                     "type": "approval" if e.approval else "build", "requires": list(e.requires)}
                    for e in workflow.jobs
                ],
            }
            for workflow in config.workflows.values()
        ],
    }

"""Which planned jobs cannot run on this machine, and why: a pure judgement on the plan.

CircleCI runs macOS and Windows jobs on its own macOS and Windows hosts, and ``arm.*`` resource
classes on arm64 machines [CircleCI docs "Using the Arm execution environment", "Using the macOS
execution environment", "Using the Windows execution environment"]. Here they can only be
listed: the engine shows them as skipped with the reason, their dependents as blocked, and runs
every other job (issue 13); ``--strict`` refuses the run instead. The machine's architecture is
a parameter (``platform.machine()`` at the edge), so this stays pure.
"""

from __future__ import annotations

from collections.abc import Mapping

from runner.config import model as m
from runner.graph import JobGraph

ARM_MACHINES = frozenset({"aarch64", "arm64", "armv8l", "armv8b"})
_KIND_NAMES = {"macos": "macOS", "windows": "Windows"}
# Windows container images: Microsoft's own, and CircleCI's Windows machine images.
_WINDOWS_IMAGES = ("mcr.microsoft.com/windows", "mcr.microsoft.com/dotnet/framework")


def why_not_here(job: m.Job, machine: str) -> str | None:
    """Why ``job`` cannot run on a machine of architecture ``machine``, or None if it can."""
    executor = job.executor
    if isinstance(executor, m.ForeignExecutor):
        detail = f" ({executor.detail})" if executor.detail else ""
        return f"{_KIND_NAMES.get(executor.kind, executor.kind)} executor{detail}"
    resource = (job.resource_class or "").lower()
    if resource.startswith("macos."):
        return f"macOS resource class {job.resource_class}"
    if resource.startswith("windows."):
        return f"Windows resource class {job.resource_class}"
    if resource.startswith("arm.") and machine.lower() not in ARM_MACHINES:
        return f"resource class {job.resource_class} needs an arm64 machine, this one is {machine}"
    for image in getattr(executor, "images", ()):
        if image.image.lower().startswith(_WINDOWS_IMAGES):
            return f"Windows image {image.image}"
    return None


def not_here(graph: JobGraph, machine: str) -> dict[str, str]:
    """Planned job id -> why it cannot run here, for every such job of the plan."""
    reasons: dict[str, str] = {}
    for planned in graph.jobs:
        if planned.job is not None:
            reason = why_not_here(planned.job, machine)
            if reason is not None:
                reasons[planned.id] = reason
    return reasons


def describe(reasons: Mapping[str, str]) -> str:
    """``mac-test (macOS executor), win (Windows executor)``."""
    return ", ".join(f"{job} ({why})" for job, why in reasons.items())


def blocked_by(graph: JobGraph, reasons: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Planned job id -> the jobs it requires that cannot run here, directly or through
    others: what the engine will show as blocked (the graph is in dependency order)."""
    blocked: dict[str, tuple[str, ...]] = {}
    for planned in graph.jobs:
        if planned.id in reasons:
            continue
        upstream = tuple(
            r for r in planned.requires
            if (r in reasons or r in blocked)
            and "not_run" not in planned.requires_status.get(r, ("success",))  # [CR] requires
        )
        if upstream:
            blocked[planned.id] = upstream
    return blocked

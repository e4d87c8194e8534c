"""Attaching a workspace: which layers, in what order, conflicts, and one combined stream.

The layers of every job upstream of the attaching one (through ``requires``, transitively)
are applied in graph order, and for one job in node then step order [WS]. Every layer file is
verified before anything is sent, and all layers go to the node as one tar stream (later
layers' files replace earlier ones'), so the node receives the whole workspace or nothing.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from itertools import combinations
from typing import IO

from msgspec import Struct

from runner.archive import ArchiveError, MemberChecker, from_writer, scan
from runner.errors import RunnerError
from runner.graph import JobGraph
from runner.store.files import open_archive, verify
from runner.store.workspace_from import EarlierWorkspace
from runner.store.workspaces import Layer, LayerPart, WorkspaceStore, place


class WorkspaceError(RunnerError):
    """A workspace that cannot be attached; the job must not run without it."""


def upstream(graph: JobGraph, job_id: str) -> list[str]:
    """Jobs ``job_id`` requires, directly or not, in graph order."""
    wanted: set[str] = set()
    todo = list(graph.get(job_id).requires)
    while todo:
        current = todo.pop()
        if current not in wanted:
            wanted.add(current)
            todo.extend(graph.get(current).requires)
    return [job.id for job in graph.jobs if job.id in wanted]


def _ancestors(graph: JobGraph) -> dict[str, set[str]]:
    return {job.id: set(upstream(graph, job.id)) for job in graph.jobs}


class Plan(Struct, frozen=True):
    layers: tuple[Layer, ...]

    @property
    def size(self) -> int:
        return sum(layer.size for layer in self.layers)


def plan(
    store: WorkspaceStore,
    graph: JobGraph,
    job_id: str,
    earlier: EarlierWorkspace | None = None,
) -> Plan:
    """The layers to apply, or WorkspaceError: missing or damaged layers, no workspace at
    all, or concurrent layers holding the same file. ``earlier`` (``--workspace-from``) puts
    an earlier run's layers first; this run's upstream jobs replace theirs."""
    jobs = upstream(graph, job_id)
    layers: list[Layer] = []
    problems: list[str] = []
    if earlier is not None:
        layers, problems = earlier.layers(job_id, skip=set(jobs))
        _check_conflicts(layers, earlier.ancestors())
    mine: list[Layer] = []
    for job in jobs:
        found, broken = store.layers_of(job)
        mine += found
        problems += [f"{job} layer {item}" for item in broken]
    if problems:
        raise WorkspaceError(
            "the workspace is incomplete, refusing to attach part of it: " + "; ".join(problems)
        )
    if not layers and not mine:
        names = ", ".join(jobs) or "none in this run"
        where = "in this run" if earlier is None else f"in this run or in run {earlier.run}"
        raise WorkspaceError(
            f"there is no workspace to attach: no job upstream of {job_id} ({names}) persisted "
            f"one {where}",
            hint="run the jobs that persist it too (a workflow, or --with-requires), or "
            "attach what an earlier run persisted: --workspace-from RUN (a number, or last)",
        )
    _check_conflicts(mine, _ancestors(graph))
    return Plan(tuple(layers + mine))


def _concurrent(a: Layer, b: Layer, ancestors: dict[str, set[str]]) -> bool:
    if a.job == b.job:
        return a.node != b.node
    return a.job not in ancestors.get(b.job, set()) and b.job not in ancestors.get(a.job, set())


def _check_conflicts(layers: list[Layer], ancestors: dict[str, set[str]]) -> None:
    clashes: list[str] = []
    names = {id(layer): layer.names() for layer in layers}
    for a, b in combinations(layers, 2):
        if _concurrent(a, b, ancestors):
            for name in sorted(names[id(a)] & names[id(b)])[:20]:
                clashes.append(f"  - {name} (from {a.label} and {b.label})")
    if clashes:
        raise WorkspaceError(
            "Concurrent upstream jobs persisted the same file(s) into the workspace:\n"
            + "\n".join(clashes[:20])
        )


def combined_stream(plan: Plan) -> Iterator[bytes]:
    """One tar stream of every layer in order; each file once, from the last layer holding it."""
    for layer in plan.layers:
        for part in layer.parts:
            verify(layer.folder, part.archive, f"workspace layer {layer.label}")
    winner: dict[str, tuple[int, int]] = {}
    for i, layer in enumerate(plan.layers):
        for j, part in enumerate(layer.parts):
            for name in part.names():
                winner[name] = (i, j)
    return from_writer(lambda out: _write_all(out, plan, winner))


def _write_all(out: IO[bytes], plan: Plan, winner: dict[str, tuple[int, int]]) -> None:
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as dest:
        for i, layer in enumerate(plan.layers):
            for j, part in enumerate(layer.parts):
                _copy_part(dest, layer, part, (i, j), winner)


def _copy_part(
    dest: tarfile.TarFile,
    layer: Layer,
    part: LayerPart,
    here: tuple[int, int],
    winner: dict[str, tuple[int, int]],
) -> None:
    def copy(tar: tarfile.TarFile, member: tarfile.TarInfo, name: str) -> None:
        target = place(part.target, name)
        if target is None or (not member.isdir() and winner.get(target) != here):
            return  # the workspace root itself, or a file a later layer replaces
        member.name = target
        if member.islnk():
            member.linkname = place(part.target, member.linkname) or member.linkname
        dest.addfile(member, tar.extractfile(member) if member.isreg() else None)

    stream = open_archive(layer.folder, part.archive, f"workspace layer {layer.label}")
    try:
        scan(stream, MemberChecker(), _ignore, on_member=copy)
    except ArchiveError as exc:
        raise WorkspaceError(f"workspace layer {layer.label}: {exc.message}") from None


def _ignore(_data: bytes) -> None:
    return None

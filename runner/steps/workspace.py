"""``persist_to_workspace`` and ``attach_workspace`` [CR][WS].

``paths`` are relative to ``root``: a directory or file, or a glob as Go's ``filepath.Match``
reads it (``*`` and ``?`` stop at ``/``, ``[...]`` with ``^`` to negate, ``\\`` escapes; no
``**``); ``.`` persists all of ``root``. A path that matches nothing fails the step, as on
CircleCI. A job attaches only a complete workspace or fails the step (fail closed,
reliability.md §7).
"""

from __future__ import annotations

import re
from functools import partial

from runner.archive import ArchiveError, as_file, human_size
from runner.config.model import AttachWorkspaceStep, PersistToWorkspaceStep, Step
from runner.errors import RunnerError
from runner.events import Status, StepOutcome
from runner.steps.context import StepContext
from runner.steps.node_io import archive_into, list_tree
from runner.store.workspace_apply import WorkspaceError, combined_stream, plan
from runner.store.workspaces import WorkspaceStore

_META = re.compile(r"[*?\[\\]")


def workspace_store(ctx: StepContext) -> WorkspaceStore:
    return WorkspaceStore(ctx.services.run_dir / "workspace")


def go_match_regex(pattern: str) -> re.Pattern[str]:
    """Go's ``filepath.Match`` as a regular expression over the whole relative path."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                raise RunnerError(f"persist_to_workspace: bad glob pattern {pattern!r}: no ']'")
            body = pattern[i + 1 : end]
            negate = body.startswith("^")
            body = (body[1:] if negate else body).replace("\\", "\\\\")
            out.append(f"[{'^/' if negate else ''}{body}]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def _entries(ctx: StepContext, root: str, path: str) -> list[str]:
    """The entries under ``root`` that one ``paths`` item names."""
    clean = "/".join(p for p in path.split("/") if p not in ("", "."))
    if path.startswith("/") or ".." in clean.split("/"):
        raise RunnerError(f"persist_to_workspace: path {path!r} must be relative to the root")
    if not clean:
        return ["."]
    if not _META.search(clean):
        return [clean] if ctx.session.exists(f"{root}/{clean}") else []
    regex = go_match_regex(clean)
    names = list_tree(ctx, root, depth=clean.count("/") + 1)
    return [name for name in names if regex.match(name)]


def persist_to_workspace(step: Step, ctx: StepContext) -> StepOutcome:
    assert isinstance(step, PersistToWorkspaceStep)
    root = ctx.session.resolve(step.root, ctx.workdir)
    if not ctx.session.exists(root):
        return StepOutcome(status=Status.FAILED, message=f"workspace root {root} does not exist")
    entries: list[str] = []
    for path in step.paths:
        found = _entries(ctx, root, path)
        if not found:
            return StepOutcome(
                status=Status.FAILED,
                message=f"The specified paths did not match any files in {root}: {path}",
            )
        entries += [e for e in found if e not in entries]
    store = workspace_store(ctx)
    pending = store.begin(ctx.planned.id, ctx.spec.node_index, ctx.index)
    ctx.sink.write(b"Creating workspace archive...\n")
    paths = [(root if entry == "." else f"{root}/{entry}", entry) for entry in entries]
    failed = archive_into(ctx, pending, paths, partial(_said, ctx))
    if failed is not None:
        message = f"cannot persist to the workspace: {failed}"
        return StepOutcome(status=Status.FAILED, message=message)
    layer = store.publish(pending, root)
    ctx.sink.write(b"Uploading workspace archive...\n")
    ctx.sink.write(f"Total size uploaded: {human_size(layer.size)}\n".encode())
    return StepOutcome(status=Status.PASSED)


def _said(ctx: StepContext, path: str) -> None:
    ctx.sink.write(f"  * {path}\n".encode())


def attach_workspace(step: Step, ctx: StepContext) -> StepOutcome:
    assert isinstance(step, AttachWorkspaceStep)
    at = ctx.session.resolve(step.at, ctx.workdir)
    try:
        layers = plan(
            workspace_store(ctx), ctx.services.graph, ctx.planned.id,
            ctx.services.workspace_from,
        )
    except WorkspaceError as exc:
        return StepOutcome(status=Status.FAILED, message=exc.render())
    if ctx.services.workspace_from is not None:
        run = ctx.services.workspace_from.run
        ctx.sink.write(f"With the workspace run {run} persisted (--workspace-from)\n".encode())
    ctx.sink.write(b"Downloading workspace layers\n")
    for layer in layers.layers:
        ctx.sink.write(f"  {layer.label}: {human_size(layer.size)}\n".encode())
    ctx.sink.write(f"Applying workspace layers for job: {ctx.planned.id}\n".encode())
    try:
        with as_file(combined_stream(layers)) as stream:
            ctx.session.put_archive(at, stream)
    except (WorkspaceError, ArchiveError) as exc:
        return StepOutcome(
            status=Status.FAILED, message=f"cannot attach the workspace at {at}: {exc.message}"
        )
    ctx.sink.write(f"Attached the workspace at {at}\n".encode())
    return StepOutcome(status=Status.PASSED)

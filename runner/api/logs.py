"""A step's log: CircleCI's ``output_url`` answer, a JSON list of ``{message, time, type,
truncated}`` [APIV1]; or, for ``Accept: text/plain``, plain text from the live buffer while this
server runs the step (streamed until the step ends), by following the file while another
process (a CLI run) runs it, and from the file once it is finished.
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from runner.api.errors import not_found
from runner.api.live import LiveStep
from runner.api.projects import ServedProject
from runner.api.service import ApiService
from runner.api.shapes_v1 import iso
from runner.sanitize import Sanitizer
from runner.store.history import HistoryStore, JobRow, RunRow, StepRow
from runner.store.recorder import reconcile

POLL = 0.05
FILE_POLL = 0.25
TEXT = "text/plain; charset=utf-8"
MAX_JSON = 8 * 1024 * 1024  # a stored log keeps at most its first and last 2 MiB anyway


async def _step(project: ServedProject, run: RunRow, job: JobRow, index: int, node: int) -> StepRow:
    steps = await run_in_threadpool(project.store.steps, run.run, job.job)
    row = next((s for s in steps if s.idx == index and s.node == node), None)
    if row is None:
        raise not_found("Step")
    return row


async def step_messages(
    service: ApiService, project: ServedProject, run: RunRow, job: JobRow, *, index: int, node: int
) -> list[dict[str, Any]]:
    """The output so far, as one message (the stored log keeps no time per line)."""
    row = await _step(project, run, job, index, node)
    live = service.live.get(project.state_root, run.run, job.job, node, index)
    if live is not None:
        text = "".join(live.chunks[: len(live.chunks)])
    else:
        path = _log_file(project, row)
        if path is not None and path.is_file():
            data = await run_in_threadpool(_read_from, path, 0, MAX_JSON)
            text = data.decode("utf-8", errors="replace")
        else:
            text = row.message + "\n" if row.message else ""
    if not text:
        return []
    return [{"message": text, "time": iso(row.stopped_at or row.started_at), "type": "out",
             "truncated": False}]


async def step_log(
    service: ApiService, project: ServedProject, run: RunRow, job: JobRow, *, index: int, node: int
) -> Response:
    row = await _step(project, run, job, index, node)
    live = service.live.get(project.state_root, run.run, job.job, node, index)
    if live is not None:
        return StreamingResponse(_follow_live(live), media_type=TEXT)
    path = _log_file(project, row)
    if row.status == "running" and path is not None:
        return StreamingResponse(_follow_file(project.store, row, path), media_type=TEXT)
    if path is not None and path.is_file():
        # Logs stored before issue 14 may hold terminal control: cleaned on the way out.
        return StreamingResponse(_clean_file(path), media_type=TEXT)
    return PlainTextResponse(row.message + "\n" if row.message else "")


def _log_file(project: ServedProject, row: StepRow) -> Path | None:
    """The step's log, if it lies in the project's state directory (never anywhere else)."""
    if not row.log_path:
        return None
    path = Path(row.log_path).resolve()
    return path if path.is_relative_to(project.state_root.resolve()) else None


async def _follow_live(live: LiveStep) -> AsyncIterator[str]:
    sent = 0
    while True:
        count = len(live.chunks)
        if sent < count:
            yield "".join(live.chunks[sent:count])
            sent = count
        elif live.done:
            break
        else:
            await asyncio.sleep(POLL)
    if live.overflowed:
        yield "\n[runner: more output is in the step's log file, served here once it ends]\n"


async def _follow_file(store: HistoryStore, row: StepRow, path: Path) -> AsyncIterator[bytes]:
    offset = 0
    while True:
        chunk = await run_in_threadpool(_read_from, path, offset)
        offset += len(chunk)
        if chunk:
            yield chunk
            continue
        steps = await run_in_threadpool(_steps_settled, store, row)
        now = next((s for s in steps if s.idx == row.idx and s.node == row.node), None)
        if now is None or now.status != "running":
            rest = await run_in_threadpool(_read_from, path, offset)
            if rest:
                yield rest
            return
        await asyncio.sleep(FILE_POLL)


async def _clean_file(path: Path) -> AsyncIterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    sanitizer, offset = Sanitizer(), 0
    while chunk := await run_in_threadpool(_read_from, path, offset):
        offset += len(chunk)
        yield sanitizer.feed(decoder.decode(chunk))
    yield sanitizer.feed(decoder.decode(b"", final=True)) + sanitizer.finish()


def _steps_settled(store: HistoryStore, row: StepRow) -> list[StepRow]:
    """The run's steps, after marking runs of dead processes (a killed CLI run) as cut off,
    so that following the log of such a step ends."""
    reconcile(store)
    return store.steps(row.run, row.job)


def _read_from(path: Path, offset: int, size: int = 1024 * 1024) -> bytes:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read(size)
    except OSError:
        return b""

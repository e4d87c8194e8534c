"""Rendering the run history: the ``runner history`` table and JSON, and ``runner logs``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO, Any

from msgspec import Struct
from msgspec.structs import asdict

from runner.errors import UsageError, did_you_mean
from runner.report.duration import fmt_duration
from runner.sanitize import clean, strip_sgr, visible
from runner.store.history import HistoryStore, JobRow, RunRow, StepRow


def history_json(runs: list[RunRow], jobs: dict[int, list[JobRow]]) -> list[dict[str, Any]]:
    out = []
    for run in runs:
        data = asdict(run)
        data["trigger"] = run.trigger_data
        data["jobs"] = [
            {**asdict(j), "requires": j.requires_list} for j in jobs.get(run.run, [])
        ]
        out.append(data)
    return out


def history_table(runs: list[RunRow], jobs: dict[int, list[JobRow]]) -> str:
    if not runs:
        return "no runs recorded for this project yet\n"
    rows = [("RUN", "STATUS", "FROM", "REF", "STARTED", "TOOK", "JOBS")]
    for run in runs:
        start = run.started_at or run.queued_at
        took = (
            fmt_duration(run.stopped_at - start) if run.stopped_at and start else ""
        )
        rows.append((
            str(run.run),
            run.status,
            run.source,
            (run.tag and f"tag {run.tag}") or run.branch or (run.revision[:8]),
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(start)) if start else "",
            took,
            ", ".join(_job_cell(j) for j in jobs.get(run.run, [])),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]
             for r in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _job_cell(job: JobRow) -> str:
    number = f"#{job.build_num}" if job.build_num is not None else ""
    return f"{visible(job.job)}{number} {job.status}"


class LogQuery(Struct, frozen=True):
    run: int
    job: str | None = None
    node: int | None = None
    step: str | None = None  # a number from 0, or a step's name
    color: bool = False  # keep the steps' colour (on a terminal)


def write_logs(store: HistoryStore, query: LogQuery, out: IO[str]) -> int:
    run = store.run(query.run)
    if run is None:
        raise UsageError(
            f"no run {query.run} in this project's history", hint="see `runner history`"
        )
    jobs = _jobs(store, run, query.job)
    every = [
        (job, s)
        for job in jobs
        for s in sorted(store.steps(run.run, job.job), key=lambda s: (s.node, s.idx))
        if query.node is None or s.node == query.node
    ]
    steps = [(job, s) for job, s in every if query.step is None or _is_step(s, query.step)]
    if not steps:
        names = sorted({s.name.splitlines()[0] for _, s in every if s.name})
        hint = did_you_mean(query.step or "", names) if query.step else None
        raise UsageError(
            "no step matches", hint=hint or "leave out --node/--step to see every step"
        )
    headers = len(steps) > 1
    for job, step in steps:
        if headers:
            out.write(_header(job, step))
        # Logs of runs before issue 14 were stored raw: clean them on the way out as well.
        text = clean(_log_text(step))
        out.write(text if query.color else strip_sgr(text))
    out.flush()
    return 0


def _is_step(step: StepRow, wanted: str) -> bool:
    """``--step 2`` or ``--step Compile``: a number, else the step's name (its first line),
    as ``runner run --from-step`` takes them."""
    if wanted.isdigit():
        return step.idx == int(wanted)
    name = step.name.strip()
    return wanted in (name, name.splitlines()[0] if name else "")


def _jobs(store: HistoryStore, run: RunRow, wanted: str | None) -> list[JobRow]:
    jobs = store.jobs(run.run)
    if wanted is None:
        return jobs
    found = [j for j in jobs if wanted in (j.job, j.name, str(j.build_num))]
    if not found:
        names = [j.job for j in jobs]
        raise UsageError(
            f"run {run.run} has no job {wanted!r}",
            hint=did_you_mean(wanted, names) or "jobs: " + ", ".join(names),
        )
    return found


def _header(job: JobRow, step: StepRow) -> str:
    number = f" #{job.build_num}" if job.build_num is not None else ""
    status = step.status
    if step.exit_code not in (None, 0):
        status += f", exit code {step.exit_code}"
    name = visible(step.name)
    return f"==> {visible(job.job)}{number} node {step.node} step {step.idx}: {name} ({status})\n"


def _log_text(step: StepRow) -> str:
    if step.log_path:
        try:
            text = Path(step.log_path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = f"(log file {step.log_path} is gone)\n"
        if text and not text.endswith("\n"):
            text += "\n"
        return text
    return step.message + "\n" if step.message else ""

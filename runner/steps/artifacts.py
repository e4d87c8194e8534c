"""``store_artifacts`` and ``store_test_results`` [CR]: files copied out of the node.

Both run even after a failed step (their ``when`` is ``always``). A path that does not exist
passes with a warning, as on CircleCI. Test results also feed the run's summary (an event) and,
when the node had no failure so far, the timing data of later runs of this job [SPLIT], written
when the job ends (:mod:`runner.store.job_timings`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from pathlib import Path

from msgspec import Struct

from runner.archive import ArchiveError, human_size
from runner.config.model import Step, StoreArtifactsStep, StoreTestResultsStep
from runner.events import Status, StepOutcome, TestResultsStored
from runner.steps.context import StepContext
from runner.store.artifacts import CopiedFiles, copy_out, default_destination, target_dir
from runner.store.test_results import parse_results

SHOWN = 20  # files listed in the step's output


def _say(ctx: StepContext, text: str) -> None:
    ctx.sink.write((text + "\n").encode())


def _warn_dropped(ctx: StepContext, dropped: tuple[str, ...]) -> None:
    for name in dropped:
        _say(ctx, f"Warning: {name} is a link to outside of what is stored; not kept")


class _Store(Struct, frozen=True):
    """What differs between the two steps' copying: folder and wording (CircleCI's)."""

    folder: str  # under the run's folder
    missing: str  # "No {missing} found at SOURCE"
    what: str  # "no {what} found", "cannot store {what}"


_ARTIFACTS = _Store("artifacts", "artifact files", "artifacts")
_TEST_RESULTS = _Store("test-results", "test results", "test results")


def _copy_out(
    ctx: StepContext, store: _Store, path: str, destination: str, announce: Callable[[str], str]
) -> tuple[str, Path, CopiedFiles] | StepOutcome:
    """Copy ``path`` of the node into the run's folder: (the path in the node, the target, what
    was copied), or the step's outcome when it ends here."""
    source = ctx.session.resolve(path, ctx.workdir)
    if not ctx.session.exists(source):
        _say(ctx, f"No {store.missing} found at {source}")
        return StepOutcome(status=Status.PASSED, message=f"no {store.what} found")
    _say(ctx, announce(source))
    try:
        target = target_dir(
            ctx.services.run_dir / store.folder, ctx.planned.id, ctx.spec.node_index, destination
        )
        copied = copy_out(ctx.session.get_archive(source), target, posixpath.basename(source))
    except ArchiveError as exc:
        return StepOutcome(
            status=Status.FAILED, message=f"cannot store {store.what}: {exc.message}"
        )
    _warn_dropped(ctx, copied.dropped)
    return source, target, copied


def store_artifacts(step: Step, ctx: StepContext) -> StepOutcome:
    assert isinstance(step, StoreArtifactsStep)
    destination = step.destination or default_destination(step.path)
    done = _copy_out(
        ctx, _ARTIFACTS, step.path, destination, lambda src: f"Uploading {src} to {destination}"
    )
    if isinstance(done, StepOutcome):
        return done
    _source, _target, copied = done
    for name, size in copied.files[:SHOWN]:
        _say(ctx, f"  Uploading {name} ({human_size(size)}): SUCCESS")
    if len(copied.files) > SHOWN:
        _say(ctx, f"  ... and {len(copied.files) - SHOWN} more")
    count = len(copied.files)
    _say(ctx, f"Stored {count} artifact(s), {human_size(copied.size)}, in {copied.folder}")
    return StepOutcome(status=Status.PASSED)


def store_test_results(step: Step, ctx: StepContext) -> StepOutcome:
    assert isinstance(step, StoreTestResultsStep)
    done = _copy_out(
        ctx, _TEST_RESULTS, step.path, default_destination(step.path),
        lambda source: f"Archiving the following test results: {source}",
    )
    if isinstance(done, StepOutcome):
        return done
    source, target, _copied = done
    summary = parse_results(target)
    for line in summary.lines():
        _say(ctx, line)
    ctx.emit(
        TestResultsStored(
            job=ctx.planned.id,
            node=ctx.spec.node_index,
            path=source,
            tests=len(summary.cases),
            failures=summary.count("failure"),
            errors=summary.count("error"),
            skipped=summary.count("skipped"),
            duration=sum(case.time for case in summary.cases),
            failed=tuple(summary.failed),
        )
    )
    # "On each successful run ... CircleCI saves timing data" [SPLIT]: kept until the job ends
    ctx.services.timings.record(
        ctx.planned.id, ctx.spec.node_index, summary.cases, timed=not ctx.failed
    )
    return StepOutcome(status=Status.PASSED)

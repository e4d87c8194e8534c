"""``save_cache`` and ``restore_cache`` [CR][CACHE], with CircleCI's own wording in the output.

A restore that finds nothing passes with a warning, as on CircleCI; a cache that is damaged in
the store fails the step (never half-restored) and is removed, so the next save replaces it.
"""

from __future__ import annotations

import posixpath
import time

from runner.archive import ArchiveError, as_file, human_size
from runner.config.model import RestoreCacheStep, SaveCacheStep, Step
from runner.errors import RunnerError
from runner.events import Status, StepOutcome
from runner.steps.cache_keys import KeyFacts, render_key
from runner.steps.context import StepContext
from runner.steps.node_io import archive_into, file_checksum
from runner.store.caches import CacheEntry, CacheStore


def cache_store(ctx: StepContext) -> CacheStore:
    return CacheStore(ctx.services.state.root / "caches")


def _say(ctx: StepContext, text: str = "") -> None:
    ctx.sink.write((text + "\n").encode())


def _key_facts(ctx: StepContext) -> KeyFacts:
    return KeyFacts(
        branch=ctx.facts.branch,
        revision=ctx.facts.sha,
        build_num=ctx.facts.build_num,
        environment=ctx.env,
        checksum=lambda name: file_checksum(ctx.session, ctx.session.resolve(name, ctx.workdir)),
    )


def _label(ctx: StepContext, resolved: str) -> str:
    """Where a path is restored: under the home as ``~/...`` (a machine node's home changes
    from run to run), anything else as the absolute path it is."""
    home = ctx.session.home.rstrip("/")
    if resolved == home or resolved.startswith(home + "/"):
        return "~" + resolved[len(home) :]
    return resolved


def _created(entry: CacheEntry) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(entry.created))


def _key_error(ctx: StepContext, exc: RunnerError, skipping: str) -> None:
    """A key that cannot be computed (a checksum of a file the node lacks, a bad template) does
    not fail the job on CircleCI: its agent prints ``error computing cache key: ...`` and the
    step goes on without that key (reported on green builds, e.g.
    jubilee-works/timetree-sdk-js#247, checkstyle/checkstyle#18970). runner does the same."""
    hint = f" ({exc.hint})" if exc.hint else ""
    _say(ctx, f"error computing cache key: {exc.message}{hint}")
    _say(ctx, skipping)


def save_cache(step: Step, ctx: StepContext) -> StepOutcome:
    assert isinstance(step, SaveCacheStep)
    try:
        key = render_key(step.key, _key_facts(ctx))
    except RunnerError as exc:  # a bad template, or a checksum of a file that is not there
        _key_error(ctx, exc, "Skipping cache save: its key cannot be computed")
        return StepOutcome(status=Status.PASSED, message="skipped: error computing cache key")
    store = cache_store(ctx)
    if (existing := store.get(key)) is not None:
        _skip(ctx, key, existing)
        return StepOutcome(status=Status.PASSED)
    found: list[tuple[str, str]] = []
    for path in step.paths:
        resolved = ctx.session.resolve(path, ctx.workdir)
        if resolved in ("/", ctx.session.home.rstrip("/")):
            return StepOutcome(
                status=Status.FAILED,
                message=f"save_cache cannot save {path} ({resolved}) itself: name the "
                "directories in it",
            )
        if ctx.session.exists(resolved):
            found.append((resolved, _label(ctx, resolved)))
        else:
            _say(ctx, f"Warning: could not find path {resolved}, it is not cached")
    if not found:
        _say(ctx, f"None of the paths exist: nothing is stored under {key}")
        return StepOutcome(status=Status.PASSED, message="nothing to cache")
    return _store(ctx, store, key, found)


def _skip(ctx: StepContext, key: str, existing: CacheEntry) -> None:
    _say(ctx, f"Skipping cache generation, cache already exists for key: {key}")
    _say(ctx, f"Found one created at {_created(existing)}")


def _store(
    ctx: StepContext, store: CacheStore, key: str, found: list[tuple[str, str]]
) -> StepOutcome:
    _say(ctx, "Creating cache archive...")
    pending = store.begin()
    failed = archive_into(ctx, pending, found)
    if failed is not None:
        message = f"cannot create the cache archive: {failed}"
        return StepOutcome(status=Status.FAILED, message=message)
    _say(ctx, "Uploading cache archive...")
    entry, won = store.publish(
        pending,
        key=key,
        build_num=ctx.facts.build_num,
        job=ctx.planned.id,
        run_id=ctx.services.run_id,
    )
    if not won:  # another node published this key while we were archiving: first writer wins
        _skip(ctx, key, entry)
        return StepOutcome(status=Status.PASSED)
    _say(ctx, f"Stored Cache to {key}")
    for resolved in (path for path, _target in found):
        _say(ctx, f"  * {resolved}")
    _say(ctx, f"Size: {human_size(entry.size)}")
    return StepOutcome(status=Status.PASSED)


def restore_cache(step: Step, ctx: StepContext) -> StepOutcome:
    assert isinstance(step, RestoreCacheStep)
    store = cache_store(ctx)
    facts = _key_facts(ctx)
    entry: CacheEntry | None = None
    unusable = 0
    for template in step.keys:  # ``key`` first, then ``keys`` in order [CR]
        try:
            key = render_key(template, facts)
        except RunnerError as exc:
            unusable += 1
            _key_error(ctx, exc, "Skipping this key")
            continue
        entry = store.find(key)
        if entry is not None:
            break
        _say(ctx, f"No cache is found for key: {key}")
    if entry is None:
        skipped = unusable == len(step.keys)
        message = "skipped: error computing cache key" if skipped else "no cache found"
        return StepOutcome(status=Status.PASSED, message=message)
    return _restore(ctx, store, entry)


def _restore(ctx: StepContext, store: CacheStore, entry: CacheEntry) -> StepOutcome:
    targets = [(cached, ctx.session.resolve(cached.target)) for cached in entry.paths]
    _say(ctx, f"Found a cache from build {entry.build_num} at {entry.key}")
    _say(ctx, f"Size: {human_size(entry.size)}")
    _say(ctx, "Cached paths:")
    for _cached, target in targets:
        _say(ctx, f"  * {target}")
    _say(ctx)
    _say(ctx, "Downloading cache archive...")
    _say(ctx, "Validating cache...")
    _say(ctx)
    _say(ctx, "Unarchiving cache...")
    try:
        for cached, target in targets:
            with as_file(store.open(entry, cached)) as stream:
                ctx.session.put_archive(posixpath.dirname(target) or "/", stream)
    except ArchiveError as exc:
        store.remove(entry)
        return StepOutcome(
            status=Status.FAILED,
            message=f"{exc} (the cache was removed; the next save_cache stores it again)",
        )
    store.mark_used(entry)
    return StepOutcome(status=Status.PASSED)

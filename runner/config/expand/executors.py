"""Reusable executors, and how a job's own keys combine with the executor it names [RC].

"When invoking an executor in a job any keys in the job itself will override those of the executor
invoked ... The environment variable maps are additive. If an executor has one of the same
environment variables as the job, the value in the job will be used" [RC "Overriding Keys"].
``docker``/``machine``/``macos`` are one slot: a job that declares one drops the executor's.
"""

from __future__ import annotations

from typing import Any

from runner.config.expand.context import Env, Expander
from runner.config.expand.nodes import ResolvedExecutor, copy_entry, fail, freeze
from runner.config.reader import join, kind_of
from runner.config.yaml import MDict, MList
from runner.errors import Mark, did_you_mean

EXECUTOR_KEYS = ("docker", "machine", "macos", "resource_class", "shell", "working_directory",
                 "environment")
DEFINITION_KEYS = (*EXECUTOR_KEYS, "parameters", "description")
KINDS = ("docker", "machine", "macos")


def resolve_executor(x: Expander, value: Any, env: Env, mark: Mark, path: str) -> ResolvedExecutor:
    """``executor: name`` or ``executor: {name: ..., <args>}``, expanded."""
    if isinstance(value, ResolvedExecutor):
        return value
    args: MDict | None = None
    if isinstance(value, MDict):
        args, name = value, value.get("name")
        if not isinstance(name, str) or not name:
            fail(value.mark, path, "an executor invocation needs 'name'",
                 "executor: {name: my-executor, <parameters>}")
    elif isinstance(value, str) and value:
        name = value
    else:
        fail(mark, path, f"expected an executor name or a map with 'name', found {kind_of(value)}")
    where = join(path, "name") if args is not None else path
    definition = env.ns.lookup("executor", name, mark, where)
    if definition is None:
        fail(mark, where, f"unknown executor '{name}'",
             did_you_mean(name, env.ns.known("executor")) or "declare it under 'executors:'")
    key = ("executor", id(definition.body), id(definition.ns), freeze(args))
    cached = x.cache.get(key)
    if cached is None:
        cached = _expand(x, definition.body, definition.path, args, x.bind(
            definition, args, env, mark, path, skip=("name",)))
        x.cache[key] = cached
    assert isinstance(cached, ResolvedExecutor)
    return cached


def _expand(x: Expander, body: Any, path: str, args: MDict | None, scope: Any) -> ResolvedExecutor:
    if not isinstance(body, MDict):
        fail(None, path, f"expected a map of executor keys, found {kind_of(body)}")
    out = ResolvedExecutor(body.mark)
    for key, value in body.items():
        if key not in DEFINITION_KEYS:
            fail(body.key_mark_of(key), join(path, key), f"unknown executor key '{key}'",
                 did_you_mean(key, DEFINITION_KEYS))
        if key in ("parameters", "description"):
            continue
        copy_entry(out, body, key, x.interp.tree(value, scope, join(path, key), body.mark_of(key)))
    return out


def merge_executor(out: MDict, executor: ResolvedExecutor, job: MDict) -> None:
    """Add the executor's keys that the job does not set itself, at the job's ``executor:``."""
    own_kind = any(k in job for k in KINDS)
    for key, value in executor.items():
        if key in KINDS and own_kind:
            continue
        if key in job and key != "executor":
            continue  # the job's own key wins wholesale; ``environment`` merges at its place
        copy_entry(out, executor, key, value)


def merge_environment(base: Any, own: Any) -> Any:
    """The executor's variables, then the job's: the job wins on a shared name."""
    if isinstance(base, MDict) and isinstance(own, MDict):
        merged = MDict(own.mark)
        for key, value in base.items():
            source = own if key in own else base
            copy_entry(merged, source, key, own.get(key, value))
        for key in own:
            if key not in base:
                copy_entry(merged, own, key, own[key])
        return merged
    # the 2.0 list form (a list of one-key maps) is read in order, later entries winning
    items = MList(own.mark if isinstance(own, MDict | MList) else base.mark)
    for part in (base, own):
        if isinstance(part, MList):
            for index, item in enumerate(part):
                items.add(item, part.mark_of(index), part.raw.get(index))
        elif part is not None:
            items.add(part, part.mark if isinstance(part, MDict) else items.mark, None)
    return items

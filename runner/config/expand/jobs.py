"""One job invocation -> one version-2 job: parameters bound, executor merged, steps expanded.

``pre-steps`` run "before any of the other steps in the job" and ``post-steps`` "after all of the
other steps" [RC "Using pre and post steps"]; they are expanded where the workflow wrote them.
"""

from __future__ import annotations

from typing import Any

from runner.config.expand.context import Env, Expander
from runner.config.expand.executors import merge_environment, merge_executor, resolve_executor
from runner.config.expand.namespace import Definition
from runner.config.expand.nodes import (
    ExpandedSteps,
    ResolvedExecutor,
    copy_entry,
    extend_items,
    fail,
)
from runner.config.expand.steps import expand_steps
from runner.config.reader import join, kind_of
from runner.config.yaml import MDict
from runner.errors import Mark

DROPPED_KEYS = ("parameters", "description")


def expand_job(
    x: Expander, job: Definition, args: MDict | None, caller: Env, *, mark: Mark, path: str,
    pre: ExpandedSteps | None = None, post: ExpandedSteps | None = None,
    skip: tuple[str, ...] = (),
) -> MDict:
    body = job.body
    if not isinstance(body, MDict):
        fail(job.mark, job.path, f"expected a map of job keys, found {kind_of(body)}")
    scope = x.bind(job, args, caller, mark, path, skip=skip)
    env = Env(job.ns, scope)
    executor: ResolvedExecutor | None = None
    if "executor" in body:
        where = join(job.path, "executor")
        value = x.interp.tree(body["executor"], scope, where, body.mark_of("executor"))
        executor = resolve_executor(x, value, env, body.mark_of("executor"), where)
    out = MDict(body.mark)
    for key, value in body.items():
        where = join(job.path, key)
        if key in DROPPED_KEYS:
            continue
        if key == "executor":
            assert executor is not None
            merge_executor(out, executor, body)
            continue
        new: Any = x.interp.tree(value, scope, where, body.mark_of(key))
        if key == "steps":
            new = _steps(x, new, env, mark=body.mark_of(key), path=where, pre=pre, post=post)
        elif key == "environment" and executor is not None and "environment" in executor:
            new = merge_environment(executor["environment"], new)
        copy_entry(out, body, key, new)
    return out


def _steps(
    x: Expander, steps: Any, env: Env, *, mark: Mark, path: str,
    pre: ExpandedSteps | None, post: ExpandedSteps | None,
) -> ExpandedSteps:
    own = expand_steps(x, steps, env, mark, path)
    if not pre and not post:
        return own
    out = ExpandedSteps(own.mark)
    for part in (pre, own, post):
        if part:
            extend_items(out, part)
    return out

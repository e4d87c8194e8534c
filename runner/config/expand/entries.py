"""Workflow job entries -> instances: plain references, concrete invocations, approvals, matrices.

An entry that passes arguments, ``pre-steps``/``post-steps``, a ``matrix``, or names an orb job
becomes a concrete job of its own; any other entry refers to the job under ``jobs`` as it is.
A matrix is the cartesian product of its parameter lists minus ``exclude``; an instance is named
``<job>-<values joined by "-">`` with values in the alphabetical order of their parameter names,
unless ``name`` says otherwise (``<< matrix.x >>`` allowed there) [CR "matrix"][MX].
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from msgspec import Struct

from runner.config.expand.context import Env, Expander
from runner.config.expand.interpolate import Scope
from runner.config.expand.namespace import Definition
from runner.config.expand.nodes import ExpandedSteps, copy_entry, fail, freeze
from runner.config.expand.steps import expand_steps
from runner.config.reader import join, kind_of
from runner.config.yaml import MDict, MList
from runner.errors import ConfigError, ConfigProblem, Mark, did_you_mean

ENTRY_KEYS = ("requires", "filters", "context", "type", "name")  # what the validator reads
INVOCATION_KEYS = (*ENTRY_KEYS, "matrix", "pre-steps", "post-steps")
MATRIX_KEYS = ("parameters", "exclude", "alias")
# Jobs all matrices of a config may make (GitHub allows 256 per matrix, GitLab 200): counted
# before any is made, so a product of 10 parameters of 10 values is refused at once.
MAX_MATRIX_JOBS = 10_000


class Instance(Struct, frozen=True):
    """One job of a workflow after matrix expansion, before its final name is chosen."""

    ref: str  # the job as written: "build", "node/test", or an approval's name
    base: str  # its name before duplicates are numbered
    kind: str  # "plain" | "concrete" | "approval" | "raw" (not an entry: the validator says why)
    entry: Any  # the interpolated entry keys (or the raw item)
    mark: Mark
    path: str
    job: Definition | None = None
    args: MDict | None = None
    pre: ExpandedSteps | None = None
    post: ExpandedSteps | None = None
    alias: str | None = None  # a matrix's alias, which ``requires`` may name [CR]
    signature: Any = None  # equal signatures expand to the same job


def read_entry(x: Expander, env: Env, item: Any, mark: Mark, path: str) -> list[Instance]:
    body: Any
    if isinstance(item, str):
        ref, body, key_mark = item, MDict(mark), mark
    elif isinstance(item, MDict) and len(item) == 1:
        ref, body = next(iter(item.items()))
        key_mark = item.key_mark_of(ref)
        body = MDict(item.mark_of(ref)) if body is None else body
    else:
        return [Instance("", "", "raw", item, mark, path)]
    where = join(path, ref)
    if not isinstance(body, MDict):
        return [Instance(ref, ref, "raw", item, mark, path)]
    if body.text("type") in ("approval", "no-op"):  # entries of their own, not of a job
        entry = x.interp.tree(body, env.scope, where, body.mark)
        return [Instance(ref, _name(entry, ref), "approval", entry, mark, where)]
    job = _job(env, ref, key_mark, where)
    if "matrix" in body:
        return _matrix(x, env, ref, job, body, mark=mark, path=where)
    entry = x.interp.tree(body, env.scope, where, body.mark)
    return [_instance(x, env, ref, job, entry, mark=mark, path=where)]


def _name(entry: MDict, default: str) -> str:
    return (entry.text("name") or default) if "name" in entry else default


def _job(env: Env, ref: str, mark: Mark, path: str) -> Definition:
    found = env.ns.lookup("job", ref, mark, path)
    if found is not None:
        return found
    alias, slash, _ = ref.partition("/")
    if slash:
        fail(mark, path, f"job '{ref}' names no orb: there is no orb '{alias}' under 'orbs'",
             did_you_mean(alias, [a.rstrip("/") for a in env.ns.known("job") if a.endswith("/")]))
    return fail(mark, path, f"job '{ref}' is not defined under 'jobs'",
                did_you_mean(ref, env.ns.known("job")) or "for a manual gate add 'type: approval'")


def _instance(
    x: Expander, env: Env, ref: str, job: Definition, entry: MDict, *, mark: Mark, path: str,
    matrix: MDict | None = None, alias: str | None = None, base: str | None = None,
) -> Instance:
    args = MDict(entry.mark)
    for key, value in entry.items():
        if key not in INVOCATION_KEYS:
            copy_entry(args, entry, key, value)
    for key, value in (matrix or {}).items():
        assert matrix is not None
        copy_entry(args, matrix, key, value)
    pre, post = (_around(x, env, entry, key, path) for key in ("pre-steps", "post-steps"))
    concrete = bool(args) or pre is not None or post is not None or job.ns.in_orb
    if not concrete:
        _check_required(env, job, mark, path)
        return Instance(ref, _name(entry, ref), "plain", entry, mark, path, job)
    signature = (id(job.body), id(job.ns), freeze(args), freeze(entry.get("pre-steps")),
                 freeze(entry.get("post-steps")))
    return Instance(ref, _name(entry, base or ref), "concrete", entry, mark, path, job,
                    args, pre, post, alias, signature)


def _check_required(env: Env, job: Definition, mark: Mark, path: str) -> None:
    """A plain entry runs the job with its defaults: each parameter needs one [RC]."""
    if not isinstance(job.body, MDict):
        return
    missing = [ConfigProblem(mark, path, f"missing required argument '{name}' of {job.label}",
                             f"pass '{name}: ...' ({param.type})")
               for name, param in job.ns.params(job).items() if not param.has_default]
    if missing:
        raise ConfigError(missing)


def _around(x: Expander, env: Env, entry: MDict, key: str, path: str) -> ExpandedSteps | None:
    value = entry.get(key)
    if value is None or (isinstance(value, MList) and not value):
        return None
    return expand_steps(x, value, env, entry.mark_of(key), join(path, key))


def _matrix(
    x: Expander, env: Env, ref: str, job: Definition, body: MDict, *, mark: Mark, path: str,
) -> list[Instance]:
    where = join(path, "matrix")
    matrix = x.interp.tree(body["matrix"], env.scope, where, body.mark_of("matrix"))
    params = _matrix_parameters(matrix, body.mark_of("matrix"), where, x.warnings)
    names = sorted(params)
    excludes = _excludes(matrix, names, where)
    alias = matrix.text("alias") or ref
    rest = MDict(body.mark)
    for key, value in body.items():
        if key != "matrix":
            copy_entry(rest, body, key, value)
    x.matrix_jobs += math.prod(len(params[n]) for n in names)
    if x.matrix_jobs > MAX_MATRIX_JOBS:  # before any is made: 10 x 10 values is 10**10 jobs
        fail(body.mark_of("matrix"), where,
             f"the config's matrices make more than {MAX_MATRIX_JOBS:,} jobs "
             f"(this one: {math.prod(len(params[n]) for n in names):,})",
             "use fewer parameter values, or split the workflow")
    out: list[Instance] = []
    for combo in itertools.product(*(range(len(params[n])) for n in names)):
        texts = {n: params[n].text(i) or "" for n, i in zip(names, combo, strict=True)}
        if any(all(texts[k] == v for k, v in ex.items()) for ex in excludes):
            continue
        chosen = MDict(matrix.mark)
        for n, i in zip(names, combo, strict=True):
            chosen.set(n, params[n][i], params.key_mark_of(n), params[n].mark_of(i),
                       params[n].raw.get(i))
        values = {n: texts[n] if isinstance(chosen[n], float) else chosen[n] for n in names}
        scope = Scope(matrix=values, in_orb=env.scope.in_orb)
        entry = x.interp.tree(rest, scope, path, body.mark)
        base = f"{ref}-" + "-".join(texts[n] for n in names)
        out.append(_instance(x, Env(env.ns, scope), ref, job, entry, mark=mark, path=path,
                             matrix=chosen, alias=alias, base=base))
    return out


def _matrix_parameters(
    matrix: Any, mark: Mark, path: str, warnings: list[ConfigProblem]
) -> MDict:
    if not isinstance(matrix, MDict):
        fail(mark, path, f"expected a map with 'parameters', found {kind_of(matrix)}")
    for key in matrix:
        if key not in MATRIX_KEYS and "parameters" not in matrix:  # a typo of 'parameters'
            fail(matrix.key_mark_of(key), join(path, key), f"unknown matrix key '{key}'",
                 did_you_mean(key, MATRIX_KEYS))
        if key not in MATRIX_KEYS:
            # CircleCI ignores them: a real project ran `matrix: {databases: ..., parameters:
            # ...}` for weeks with `databases` unused (issue 15)
            warnings.append(ConfigProblem(
                matrix.key_mark_of(key), join(path, key), f"unknown matrix key '{key}' is ignored",
                did_you_mean(key, MATRIX_KEYS) or "a matrix takes parameters, exclude and alias"))
    params = matrix.get("parameters")
    if not isinstance(params, MDict) or not params:
        fail(matrix.mark_of("parameters"), join(path, "parameters"),
             "a matrix needs 'parameters': a map of parameter names to lists of values")
    for name, values in params.items():
        if not isinstance(values, MList) or not values:
            fail(params.mark_of(name), join(join(path, "parameters"), name),
                 f"expected a non-empty list of values, found {kind_of(values)}")
    return params


def _excludes(matrix: MDict, names: list[str], path: str) -> list[dict[str, str]]:
    node = matrix.get("exclude")
    if node is None:
        return []
    where = join(path, "exclude")
    if not isinstance(node, MList):
        fail(matrix.mark_of("exclude"), where, f"expected a list of maps, found {kind_of(node)}")
    out: list[dict[str, str]] = []
    for index, item in enumerate(node):
        if not isinstance(item, MDict):
            fail(node.mark_of(index), join(where, index), f"expected a map, found {kind_of(item)}")
        for key in item:
            if key not in names:
                fail(item.key_mark_of(key), join(join(where, index), key),
                     f"'{key}' is not a parameter of this matrix", did_you_mean(key, names))
        out.append({key: item.text(key) or "" for key in item})
    return out

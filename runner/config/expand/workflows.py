"""Workflows and the ``jobs`` map of the processed config.

A workflow keeps ``jobs`` (entries with only the keys the validator reads), ``triggers`` and
``max_auto_reruns``; its ``when``/``unless`` becomes ``when: true|false`` ("Workflows are always
run unless there is a when or unless" [CR]). The ``jobs`` map holds every job of the config that
can run with its defaults, under its own name, and one concrete job per distinct invocation.
"""

from __future__ import annotations

from typing import Any

from msgspec import Struct, field

from runner.config.expand.context import Env, Expander
from runner.config.expand.entries import ENTRY_KEYS, Instance, read_entry
from runner.config.expand.jobs import expand_job
from runner.config.expand.logic import evaluate
from runner.config.expand.naming import numbered, rewrite_requires
from runner.config.expand.nodes import Problems, copy_entry
from runner.config.reader import join
from runner.config.yaml import MDict, MList


class Workflows(Struct, frozen=True):
    node: Any  # the processed ``workflows`` (None when the config has none)
    concrete: dict[str, Instance] = field(default_factory=dict)  # by final name


def expand_workflows(x: Expander, env: Env, root: MDict, problems: Problems) -> Workflows:
    if "workflows" not in root:
        return Workflows(None)
    node = root["workflows"]
    if not isinstance(node, MDict):
        return Workflows(node)  # the validator says why
    groups: dict[str, list[Instance]] = {}
    for name, workflow in node.items():
        if name != "version" and isinstance(workflow, MDict) and isinstance(
                workflow.get("jobs"), MList):
            groups[name] = _read(x, env, workflow["jobs"], join(join("workflows", name), "jobs"),
                                 problems)
    plain = {inst.ref for group in groups.values() for inst in group if inst.kind == "plain"}
    finals, renames = numbered(list(groups.values()), plain)
    named = dict(zip(groups, zip(finals, renames, strict=True), strict=True))
    out = MDict(node.mark)
    out.set("version", 2, node.mark, node.mark, None)
    concrete: dict[str, Instance] = {}
    for name, workflow in node.items():
        if name == "version":
            continue
        if name not in groups:
            copy_entry(out, node, name, workflow)  # the validator says why
            continue
        names, renamed = named[name]
        for inst, final in zip(groups[name], names, strict=True):
            if inst.kind == "concrete":
                concrete.setdefault(final, inst)
        out.set(name, _workflow(x, env, name, workflow, group=groups[name], names=names,
                                renamed=renamed, problems=problems),
                node.key_mark_of(name), node.mark_of(name), None)
    return Workflows(out, concrete)


def _read(x: Expander, env: Env, entries: MList, path: str, problems: Problems) -> list[Instance]:
    out: list[Instance] = []
    for index, item in enumerate(entries):
        with problems.collect():
            out.extend(read_entry(x, env, item, entries.mark_of(index), join(path, index)))
    return out


def _workflow(
    x: Expander, env: Env, name: str, workflow: MDict, *, group: list[Instance], names: list[str],
    renamed: dict[str, str], problems: Problems,
) -> MDict:
    path = join("workflows", name)
    out = MDict(workflow.mark)
    enabled = True
    for key, value in workflow.items():
        where, mark = join(path, key), workflow.mark_of(key)
        if key == "jobs":
            out.set(key, _entries(value, group, names, renamed), workflow.key_mark_of(key),
                    mark, None)
        elif key in ("when", "unless"):
            with problems.collect():
                result = evaluate(x.interp.tree(value, env.scope, where, mark), mark, where)
                enabled = enabled and result == (key == "when")
            out.set("when", enabled, workflow.key_mark_of(key), mark, None)
        else:
            with problems.collect():
                copy_entry(out, workflow, key, x.interp.tree(value, env.scope, where, mark))
    return out


def _entries(node: MList, group: list[Instance], names: list[str],
             renamed: dict[str, str]) -> MList:
    aliases: dict[str, list[str]] = {}
    for inst, final in zip(group, names, strict=True):
        if inst.alias is not None:
            aliases.setdefault(inst.alias, []).append(final)
    taken = set(names)
    targets = {alias: finals for alias, finals in aliases.items() if alias not in taken}
    for old, new in renamed.items():
        targets.setdefault(old, [new])
    out = MList(node.mark)
    for inst, final in zip(group, names, strict=True):
        out.add(_entry(inst, final, targets), inst.mark, None)
    return out


def _entry(inst: Instance, final: str, targets: dict[str, list[str]]) -> Any:
    if inst.kind == "raw":
        return inst.entry
    entry: MDict = inst.entry
    key = final if inst.kind == "concrete" else inst.ref
    body = MDict(entry.mark)
    for name, value in entry.items():
        if name not in ENTRY_KEYS and inst.kind != "approval":
            continue  # arguments went into the job
        if name == "name":
            if final != key:
                body.set(name, final, entry.key_mark_of(name), entry.mark_of(name), None)
            continue
        new = rewrite_requires(entry, targets) if name == "requires" else value
        copy_entry(body, entry, name, new)
    if final != key and "name" not in body:
        body.set("name", final, entry.mark, entry.mark, None)
    if not body:
        return key
    wrapper = MDict(inst.mark)
    wrapper.set(key, body, inst.mark, entry.mark, None)
    return wrapper


def build_jobs(x: Expander, env: Env, root: MDict, workflows: Workflows,
               problems: Problems) -> Any:
    node = root.get("jobs")
    if node is not None and not isinstance(node, MDict):
        return node  # the validator says why
    defined = node if isinstance(node, MDict) else MDict(root.mark)
    out = MDict(defined.mark)
    for name in defined:
        with problems.collect():
            if name in workflows.concrete:
                out.set(name, _concrete(x, env, workflows.concrete[name]),
                        defined.key_mark_of(name), defined.mark_of(name), None)
                continue
            job = env.ns.own("job", name)
            assert job is not None
            if not isinstance(job.body, MDict):
                copy_entry(out, defined, name, job.body)  # the validator says why
            elif all(p.has_default for p in env.ns.params(job).values()):
                out.set(name, expand_job(x, job, None, env, mark=job.mark, path=job.path),
                        defined.key_mark_of(name), defined.mark_of(name), None)
    for name, inst in workflows.concrete.items():
        if name not in defined:
            with problems.collect():
                out.set(name, _concrete(x, env, inst), inst.mark, inst.mark, None)
    return out if "jobs" in root or out else None


def _concrete(x: Expander, env: Env, inst: Instance) -> MDict:
    key = ("job", inst.signature)
    if key not in x.cache:
        assert inst.job is not None
        x.cache[key] = expand_job(x, inst.job, inst.args, env, mark=inst.mark, path=inst.path,
                                  pre=inst.pre, post=inst.post)
    job = x.cache[key]
    assert isinstance(job, MDict)
    return job

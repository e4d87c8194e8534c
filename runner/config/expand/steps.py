"""Steps: commands inlined where they are invoked, ``when``/``unless`` decided, ``steps`` spliced.

Input lists are already interpolated in the scope of the element that wrote them; a command's own
body is interpolated in the command's scope when it is invoked. "When using a command, the steps of
that command are inserted at the location where the command is invoked" and "it is possible to
override the special keys with a custom command" [RC], so a command wins over a built-in step of
the same name.
"""

from __future__ import annotations

from typing import Any

from runner.config.expand.context import Env, Expander
from runner.config.expand.logic import evaluate
from runner.config.expand.namespace import Definition
from runner.config.expand.nodes import ExpandedSteps, add_item, extend_items, fail, freeze
from runner.config.reader import join, kind_of
from runner.config.steps import STEP_KINDS
from runner.config.yaml import MDict, MList
from runner.errors import Mark, did_you_mean

# CircleCI 2.0 also accepted hyphenated names of built-in steps (``add-ssh-keys``).
BUILTIN_STEPS = frozenset({*STEP_KINDS, *(k.replace("_", "-") for k in STEP_KINDS)})
COMMAND_KEYS = ("description", "parameters", "steps")
CONDITIONAL_KEYS = ("condition", "steps")
_SPECIAL = frozenset({"steps", "when", "unless"})
# Commands calling commands several times multiply steps (10 calls, 9 levels deep: 10**9), a
# "billion laughs" of their own: a list of steps past this size is refused, never built.
MAX_STEPS = 10_000


def expand_steps(x: Expander, steps: Any, env: Env, mark: Mark, path: str) -> ExpandedSteps:
    out = ExpandedSteps(mark)
    _splice(x, out, steps, env, mark=mark, path=path)
    return out


def _splice(x: Expander, out: MList, steps: Any, env: Env, *, mark: Mark, path: str) -> None:
    if isinstance(steps, ExpandedSteps):
        if len(out) + len(steps) > MAX_STEPS:
            fail(mark, path, f"the steps expand to more than {MAX_STEPS:,} steps",
                 "commands that call commands many times multiply their steps")
        extend_items(out, steps)
        return
    if steps is None:
        return
    if not isinstance(steps, MList):
        fail(mark, path, f"expected a list of steps, found {kind_of(steps)}")
    for index, item in enumerate(steps):
        _step(x, out, steps, index, item, env=env, path=path)


def _step(x: Expander, out: MList, steps: MList, index: int, item: Any, *, env: Env,
          path: str) -> None:
    """One step of ``steps`` (at ``path``); key paths are built only when needed."""
    if isinstance(item, str):
        name, args, key_mark = item, None, steps.item_marks[index]
    elif isinstance(item, MDict) and len(item) == 1:
        name, args = next(iter(item.items()))
        key_mark = item.key_marks[name]
    elif isinstance(item, ExpandedSteps):  # ``- << parameters.steps >>`` as a step
        _splice(x, out, item, env, mark=steps.item_marks[index], path=join(path, index))
        return
    else:
        add_item(out, steps, index, item)  # not a step: the validator says why
        return
    if "/" not in name and name not in _SPECIAL and env.ns.own("command", name) is None:
        if name not in BUILTIN_STEPS:
            where = join(join(path, index), name) if args is not None else join(path, index)
            fail(key_mark, where, f"unknown step or command '{name}'",
                 did_you_mean(name, [*BUILTIN_STEPS, *env.ns.known("command")]))
        add_item(out, steps, index, item)  # the common case: a built-in step
        return
    mark, where = steps.item_marks[index], join(join(path, index), name)
    if name == "steps":
        at = item.value_marks[name] if isinstance(item, MDict) else mark
        _splice(x, out, args, env, mark=at, path=where)
    elif name in ("when", "unless") and isinstance(args, MDict):
        _conditional(x, out, name, args, env=env, path=where)
    else:
        found = env.ns.lookup("command", name, key_mark, where)
        if found is None:
            fail(key_mark, where, f"unknown step or command '{name}'",
                 did_you_mean(name, env.ns.known("command")))
        _call(x, out, found, args, env=env, mark=mark, path=where)


def _call(x: Expander, out: MList, command: Definition, args: Any, *, env: Env, mark: Mark,
          path: str) -> None:
    body = command.body
    if not isinstance(body, MDict):
        fail(command.mark, command.path, f"expected a map with 'steps', found {kind_of(body)}")
    for key in body:
        if key not in COMMAND_KEYS:
            fail(body.key_mark_of(key), join(command.path, key), f"unknown command key '{key}'",
                 did_you_mean(key, COMMAND_KEYS))
    if "steps" not in body:
        fail(body.mark, command.path, "missing required key 'steps'")
    if args is not None and not isinstance(args, MDict):
        fail(mark, path, f"expected a map of arguments for {command.label}, found {kind_of(args)}")
    scope = x.bind(command, args, env, mark, path)
    inner = env.calling(command, scope, mark, path)
    # One command with the same arguments always gives the same steps: expand it once.
    cache_key = ("command", id(body), id(command.ns), freeze(scope.params))
    done = x.cache.get(cache_key)
    if done is None:
        where = join(command.path, "steps")
        steps = x.interp.tree(body["steps"], scope, where, body.mark_of("steps"))
        done = expand_steps(x, steps, inner, body.mark_of("steps"), where)
        x.cache[cache_key] = done
    _splice(x, out, done, env, mark=mark, path=path)


def _conditional(x: Expander, out: MList, kind: str, body: MDict, *, env: Env,
                 path: str) -> None:
    for key in body:
        if key not in CONDITIONAL_KEYS:
            fail(body.key_mark_of(key), join(path, key), f"unknown key '{key}' of '{kind}'",
                 did_you_mean(key, CONDITIONAL_KEYS))
    for key in CONDITIONAL_KEYS:
        if key not in body:
            fail(body.mark, path, f"'{kind}' needs '{key}'")
    chosen = evaluate(body["condition"], body.mark_of("condition"), join(path, "condition"))
    if chosen != (kind == "unless"):  # "unless" runs its steps when the condition is falsy [CR]
        _splice(x, out, body["steps"], env, mark=body.mark_of("steps"),
                path=join(path, "steps"))

"""Parameter declarations and the binding of invocation arguments to them [RC "Parameter syntax"].

Names: [RC] says "start with a letter ... lowercase letters, digits, ``_`` and ``-``", but CircleCI
accepts upper case (real configs declare ``PYTEST_LOGLEVEL``, ``specPattern``), so upper case is
accepted here too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from msgspec import Struct

from runner.config.expand.nodes import fail
from runner.config.reader import join, kind_of
from runner.config.yaml import MDict, MList
from runner.errors import ConfigError, ConfigProblem, Mark, did_you_mean

TYPES = ("string", "boolean", "integer", "enum", "executor", "steps", "env_var_name")
PIPELINE_TYPES = ("string", "boolean", "integer", "enum")  # [RC][PV]
SPEC_KEYS = ("type", "default", "description", "enum")
# Keys of a workflow job entry; a job may not declare them as parameters [CR][RC].
RESERVED_JOB_PARAMS = ("name", "requires", "context", "type", "filters", "matrix",
                       "pre-steps", "post-steps")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
_POSIX_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")  # [RC "Environment variable name"]
_INTEGER = re.compile(r"\s*[-+]?[0-9]+\s*\Z")
# YAML 1.1 booleans, any case [RC "Boolean"]
TRUE_WORDS = frozenset({"true", "yes", "on", "y"})
FALSE_WORDS = frozenset({"false", "no", "off", "n"})


class Param(Struct, frozen=True):
    name: str
    type: str
    mark: Mark
    path: str
    default: Any = None
    has_default: bool = False
    choices: tuple[str, ...] = ()


# Completes a value: expands steps, resolves executors, interpolates defaults. The flag is True
# for a caller's argument (already interpolated where it was written), False for a default.
Finish = Callable[[Param, Any, Mark, str, bool], Any]


def read_params(
    node: Any, mark: Mark, path: str, *, types: Iterable[str] = TYPES,
    reserved: Iterable[str] = (),
) -> dict[str, Param]:
    """The ``parameters`` map of a job, command, executor or pipeline; every problem at once."""
    if node is None:
        return {}
    if not isinstance(node, MDict):
        fail(mark, path, f"expected a map of parameters, found {kind_of(node)}")
    allowed, taboo = tuple(types), tuple(reserved)
    out: dict[str, Param] = {}
    problems: list[ConfigProblem] = []
    for name, spec in node.items():
        try:
            out[name] = _read_param(node, name, spec, join(path, name), types=allowed,
                                    reserved=taboo)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return out


def _read_param(
    node: MDict, name: str, spec: Any, path: str, *, types: tuple[str, ...],
    reserved: tuple[str, ...],
) -> Param:
    key_mark = node.key_mark_of(name)
    if not _NAME.match(name):
        fail(key_mark, path, f"invalid parameter name '{name}'",
             "start with a letter; use letters, digits, '_' and '-'")
    if name in reserved:
        fail(key_mark, path, f"'{name}' is reserved for workflow job entries",
             "give the parameter another name")
    if not isinstance(spec, MDict):
        fail(node.mark_of(name), path, f"expected a map with 'type', found {kind_of(spec)}")
    for key in spec:
        if key not in SPEC_KEYS:
            fail(spec.key_mark_of(key), join(path, key), f"unknown parameter key '{key}'",
                 did_you_mean(key, SPEC_KEYS))
    kind = spec.text("type")
    if kind is None:
        fail(spec.mark, path, "missing required key 'type'", "one of: " + ", ".join(types))
    if kind not in types:
        fail(spec.mark_of("type"), join(path, "type"), f"invalid parameter type '{kind}'",
             did_you_mean(kind, types) or "one of: " + ", ".join(types))
    choices: tuple[str, ...] = ()
    if kind == "enum":
        listed = spec.get("enum")
        if not isinstance(listed, MList) or not listed:
            fail(spec.mark_of("enum"), join(path, "enum"),
                 "an enum parameter needs a non-empty 'enum' list")
        choices = tuple(listed.text(i) or "" for i in range(len(listed)))
    param = Param(name, kind, spec.mark, path, choices=choices)
    if "default" not in spec:
        return param
    default = spec["default"]
    if isinstance(default, str) and "<<" in default:
        # a default may use pipeline values; it is checked once interpolated, when bound
        return Param(name, kind, spec.mark, path, default, True, choices)
    default = coerce(param, spec["default"], spec.text("default"), spec.mark_of("default"),
                     join(path, "default"))
    return Param(name, kind, spec.mark, path, default, True, choices)


def coerce(param: Param, value: Any, text: str | None, mark: Mark, path: str) -> Any:
    """Check one value against a parameter's type; give the typed value."""
    kind = param.type
    if kind in ("steps", "executor"):
        return _container(param, value, mark, path)
    if isinstance(value, MDict | MList):
        _bad(param, kind_of(value), mark, path)
    shown = "''" if text is None else f"'{text}'"
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        word = (text or "").strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        _bad(param, shown, mark, path, "use true or false (yes/no and on/off work too)")
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INTEGER.match(value):
            return int(value)
        _bad(param, shown, mark, path, "use a whole number")
    if isinstance(value, bool) and kind != "enum":
        # "Using an unquoted string value that YAML interprets as a boolean will result in a
        # type error" [RC "String"]
        _bad(param, shown, mark, path, f"quote it: {shown.replace(chr(39), chr(34))}")
    word = text or ""
    if kind == "enum" and word not in param.choices:
        _bad(param, shown, mark, path,
             did_you_mean(word, param.choices) or "one of: " + ", ".join(param.choices))
    if kind == "env_var_name" and not _POSIX_NAME.match(word):
        _bad(param, shown, mark, path,
             "an environment variable name: letters, digits and '_', not starting with a digit")
    return word


def _container(param: Param, value: Any, mark: Mark, path: str) -> Any:
    if param.type == "steps":
        if value is None:
            return MList(mark)
        if not isinstance(value, MList):
            _bad(param, kind_of(value), mark, path, "steps are always a list, even of one step")
        return value
    if isinstance(value, MDict) or (isinstance(value, str) and value):
        return value
    return _bad(param, kind_of(value), mark, path, "an executor name, or a map with 'name'")


def _bad(param: Param, shown: str, mark: Mark, path: str, hint: str | None = None) -> Any:
    fail(mark, path, f"invalid value {shown} for {param.type} parameter '{param.name}'", hint)


def bind(
    params: Mapping[str, Param], args: MDict | None, *, owner: str, mark: Mark, path: str,
    finish: Finish, skip: Iterable[str] = (),
) -> dict[str, Any]:
    """Arguments of one invocation, checked and completed with defaults; all problems at once."""
    problems: list[ConfigProblem] = []
    skipped = frozenset(skip)
    for key in args or ():
        if key not in params and key not in skipped:
            assert args is not None
            problems.append(ConfigProblem(
                args.key_mark_of(key), join(path, key), f"{owner} has no parameter '{key}'",
                did_you_mean(key, params) or _declared(params)))
    values: dict[str, Any] = {}
    for name, param in params.items():
        try:
            if args is not None and name in args:
                where, at = join(path, name), args.mark_of(name)
                value = coerce(param, args[name], args.text(name), at, where)
                values[name] = finish(param, value, at, where, True) if _deferred(param) else value
            elif param.has_default:
                value = param.default
                if _deferred(param) or (isinstance(value, str) and "<<" in value):
                    value = finish(param, value, param.mark, param.path, False)
                values[name] = value
            else:
                problems.append(ConfigProblem(
                    mark, path, f"missing required argument '{name}' of {owner}",
                    f"pass '{name}: ...' ({param.type})"))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return values


def _deferred(param: Param) -> bool:
    return param.type in ("steps", "executor")


def _declared(params: Mapping[str, Param]) -> str:
    if not params:
        return "it declares no parameters"
    return "its parameters: " + ", ".join(params)

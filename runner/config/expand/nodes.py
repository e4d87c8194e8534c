"""Small helpers to build new marked nodes and to raise located problems.

The parsed tree is shared (YAML aliases point to one object), so expansion never changes an input
node: it builds new :class:`MDict`/:class:`MList` nodes and copies the marks of the nodes it came
from, so an error found later (by the validator or at run time) still names the original line.
Unchanged input subtrees are shared with the output, which is read-only from then on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from runner.config.yaml import MDict, MList
from runner.errors import ConfigError, ConfigProblem, Mark


class ExpandedSteps(MList):
    """Steps already expanded in their caller's scope: spliced verbatim, never expanded again.

    A ``steps`` argument is written by the caller, so its commands resolve and its parameters
    interpolate where it was written ([RC] "The scope of parameters"), not inside the callee.
    """

    __slots__ = ()


class ResolvedExecutor(MDict):
    """The keys an executor gives a job (``docker``, ``environment``, ...), already expanded."""

    __slots__ = ()


def fail(mark: Mark | None, path: str, message: str, hint: str | None = None) -> NoReturn:
    raise ConfigError([ConfigProblem(mark, path, message, hint)])


def copy_entry(out: MDict, src: MDict, key: str, value: Any) -> None:
    """Set ``key`` of ``out`` to ``value``, keeping the marks of ``src[key]``.

    The written text of a plain scalar (``3.10``) is kept only when the value is unchanged.
    """
    raw = src.raw.get(key) if value is src.get(key) else None
    out.set(key, value, src.key_mark_of(key), src.mark_of(key), raw)


def add_item(out: MList, src: MList, index: int, value: Any) -> None:
    raw = src.raw.get(index) if value is src[index] else None
    out.add(value, src.mark_of(index), raw)


def extend_items(out: MList, items: MList) -> None:
    """Append all of ``items`` to ``out``, marks and written texts included."""
    base = len(out)
    out.extend(items)
    out.item_marks.extend(items.item_marks)
    for index, raw in items.raw.items():
        out.raw[base + index] = raw


def text_of(value: Any) -> str:
    """How CircleCI writes a scalar inside a string: booleans as ``true``/``false``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def freeze(value: Any) -> Any:
    """A hashable, order-sensitive image of a node, to tell identical invocations apart."""
    if isinstance(value, MDict | dict):
        return ("map", tuple((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, MList | list):
        return ("list", tuple(freeze(v) for v in value))
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return (type(value).__name__, value)



def truthy(value: Any) -> bool:
    """Falsy are false, null, 0, NaN and the empty string; everything else is truthy [CR]."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return not (value == 0 or (isinstance(value, float) and math.isnan(value)))
    return True


class Problems:
    """Problems of independent parts (a job, a workflow entry), reported together, each once."""

    def __init__(self) -> None:
        self.items: list[ConfigProblem] = []
        self._seen: set[tuple[Mark | None, str, str]] = set()

    @contextmanager
    def collect(self) -> Iterator[None]:
        try:
            yield
        except ConfigError as exc:
            self.add(exc.problems)

    def add(self, problems: Iterable[ConfigProblem]) -> None:
        for problem in problems:
            key = (problem.mark, problem.path, problem.message)
            if key not in self._seen:
                self._seen.add(key)
                self.items.append(problem)

    def raise_if_any(self) -> None:
        """Raise them in the order of the files' lines (a stable sort keeps ties in order)."""
        if self.items:
            raise ConfigError(sorted(self.items, key=_place))


def _place(problem: ConfigProblem) -> tuple[str, int, int]:
    mark = problem.mark
    return ("", 0, 0) if mark is None else (mark.file, mark.line, mark.col)

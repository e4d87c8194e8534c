"""Logic statements of ``when``/``unless`` steps and workflows, evaluated at config time [CR].

| Form | True if |
| literal / ``<< parameters.x >>`` / ``<< pipeline.x >>`` | truthy |
| ``and: [...]`` / ``or: [...]`` | all / any truthy |
| ``not: x`` | x falsy |
| ``equal: [a, b, ...]`` | all equal |
| ``matches: {pattern, value}`` | the pattern matches the entire value (Java regex) |

Falsy: false, null, 0, NaN, "" and statements with no arguments; an empty list is an error;
nesting is limited to 100 levels [CR "Logic statements"]. The newer string expressions
(``pipeline.git.branch == "main"``) are refused with a hint rather than taken as a truthy string.
"""

from __future__ import annotations

import math
import re
from typing import Any

from runner.config.expand.nodes import fail, freeze, truthy
from runner.config.reader import join, kind_of
from runner.config.yaml import MDict, MList
from runner.errors import Mark, did_you_mean

MAX_NESTING = 100
OPERATORS = ("and", "or", "not", "equal", "matches")
# a string naming a pipeline value next to an operator is an expression, not a literal
_EXPRESSION = re.compile(r"pipeline\.[\w.-]+.*(?:==|!=|\bmatches\s*/)|(?:==|!=).*pipeline\.|"
                         r"\bstarts-with\(\s*pipeline\.")


def evaluate(value: Any, mark: Mark, path: str, depth: int = 0) -> bool:
    if depth > MAX_NESTING:
        fail(mark, path, f"logic statements nest deeper than {MAX_NESTING} levels")
    if isinstance(value, MDict):
        return _statement(value, path, depth)
    if isinstance(value, MList):
        if not value:
            fail(mark, path, "an empty list is not a logic statement",
                 "use a literal, or and/or/not/equal/matches")
        return True
    if isinstance(value, str) and "pipeline." in value and _EXPRESSION.search(value):
        fail(mark, path, f"expression conditions are not supported: {value!r}",
             "write a logic statement, e.g. equal: [main, << pipeline.git.branch >>]")
    return truthy(value)


def _statement(node: MDict, path: str, depth: int) -> bool:
    if len(node) != 1:
        fail(node.mark, path, "a logic statement is a map with one key",
             "one of: " + ", ".join(OPERATORS))
    operator, arg = next(iter(node.items()))
    where, mark = join(path, operator), node.mark_of(operator)
    if operator not in OPERATORS:
        fail(node.key_mark_of(operator), where, f"unknown logic statement '{operator}'",
             did_you_mean(operator, OPERATORS) or "one of: " + ", ".join(OPERATORS))
    if operator == "not":
        return not evaluate(arg, mark, where, depth + 1)
    if operator == "matches":
        return _matches(arg, mark, where)
    if arg is None:
        return False  # "statements with no arguments" are falsy [CR]
    if not isinstance(arg, MList):
        fail(mark, where, f"'{operator}' takes a list, found {kind_of(arg)}")
    if not arg:
        return False
    if operator == "equal":
        first = _canonical(arg[0])
        return all(_canonical(item) == first for item in arg[1:])
    results = (evaluate(item, arg.mark_of(i), join(where, i), depth + 1)
               for i, item in enumerate(arg))
    return all(results) if operator == "and" else any(results)


def _canonical(value: Any) -> Any:
    """Equal means same kind and value: ``true`` is not ``1``, and ``"1"`` is not ``1``."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("nan",) if isinstance(value, float) and math.isnan(value) else ("number", value)
    return freeze(value)


def _matches(arg: Any, mark: Mark, path: str) -> bool:
    if not isinstance(arg, MDict):
        fail(mark, path, f"'matches' takes a map with 'pattern' and 'value', found {kind_of(arg)}")
    for key in arg:
        if key not in ("pattern", "value"):
            fail(arg.key_mark_of(key), join(path, key), f"unknown key '{key}' of 'matches'",
                 did_you_mean(key, ("pattern", "value")))
    for key in ("pattern", "value"):
        if key not in arg:
            fail(arg.mark, path, f"'matches' needs '{key}'")
    pattern = arg["pattern"]
    if not isinstance(pattern, str):
        fail(arg.mark_of("pattern"), join(path, "pattern"),
             f"expected a regular expression, found {kind_of(pattern)}")
    value = arg["value"]
    if isinstance(value, MDict | MList):
        fail(arg.mark_of("value"), join(path, "value"),
             f"expected a string, found {kind_of(value)}")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        fail(arg.mark_of("pattern"), join(path, "pattern"),
             f"invalid regular expression {pattern!r}: {exc}")
    # a Java ``matches``: the whole value must match [CR]
    return compiled.fullmatch(arg.text("value") or "") is not None

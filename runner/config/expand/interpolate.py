"""Interpolation: ``<< parameters.x >>``, ``<< pipeline.parameters.x >>``, ``<< pipeline.* >>``,
``<< matrix.x >>``.

One pass, copy-on-write: a substituted value is never scanned again, and a subtree without ``<<``
is returned as is (a memo of such subtrees makes repeated expansions of one definition cheap).
A scalar that is exactly one reference takes the typed value (``parallelism: << parameters.p >>``
becomes an integer); inside a longer string the value is written as text, booleans as
``true``/``false`` [RC "Parameter types"]. The mustache sections CircleCI also accepts,
``<<# parameters.x >>text<</ parameters.x >>`` (and ``<<^`` for "falsy"), keep their text when the
value is truthy (resp. falsy) [RC, 2021 "Boolean" example].

``\\<<`` is a literal ``<<``: ``circleci orb pack`` writes every ``<<`` of an included script so
(``read -ra A \\<<< "$X"``, here-documents), and ``echo '\\<< parameters.p >>'`` prints the text
``<< parameters.p >>`` [RC "Escaping parameters"; CircleCI-Public/circleci-cli process/orb pack].
Any other ``<<`` that does not open a parameter expression is refused, as CircleCI refuses it
(``Unclosed '<<' tag``; ``'<<' must be escaped as '\\<<'``) — issue 15.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from msgspec import Struct

from runner.config.expand.nodes import ExpandedSteps, ResolvedExecutor, fail, text_of, truthy
from runner.config.reader import join
from runner.config.yaml import MDict, MList
from runner.errors import Mark, did_you_mean

_NAME = r"(?:pipeline|parameters|matrix)\.[A-Za-z0-9_.\-]+?"
_REF = re.compile(r"<<\s*(" + _NAME + r")\s*>>")
_SECTION = re.compile(r"(?<!\\)<<([#^])\s*(" + _NAME + r")\s*>>(.*?)<</\s*\2\s*>>", re.S)
# One left-to-right scan: an escape, a reference, or a stray ``<<`` (an error).
_TOKEN = re.compile(r"\\<<|<<\s*(" + _NAME + r")\s*>>|<<")
_ESCAPE = "\\<<"
_HINT = "'<<' must be escaped as '\\<<' in config v2.1+"
# Pipeline values that may be absent; an absent one "will resolve to an empty string" [PV].
_OPEN_PREFIXES = ("pipeline.trigger_parameters.", "pipeline.event.", "pipeline.schedule.",
                  "pipeline.deploy.", "pipeline.git.branch.is_default")
_PIPELINE_PARAMS = "pipeline.parameters."


class Scope(Struct, frozen=True):
    """What ``<< ... >>`` can see at one place of the config.

    ``params`` is None outside jobs, commands and executors: parameters are lexically scoped and
    never inherited by callees [RC "The scope of parameters"].
    """

    params: Mapping[str, Any] | None = None
    owner: str = ""  # "job 'build'", for messages
    matrix: Mapping[str, Any] | None = None
    in_orb: bool = False  # pipeline parameters are not visible inside orbs [PV]


class Interpolator:
    def __init__(self, pipeline_params: Mapping[str, Any], pipeline_values: Mapping[str, Any]):
        self.pipeline_params = pipeline_params
        self.pipeline_values = pipeline_values
        self._memo: dict[int, tuple[Any, bool]] = {}

    # ------------------------------------------------------------ tree walk

    def needs(self, node: Any) -> bool:
        """Whether ``node`` holds any ``<<`` (memoised for containers: input nodes never change,
        and the memo keeps every node it saw alive, so an ``id`` is never reused)."""
        if isinstance(node, str):
            return "<<" in node
        if not isinstance(node, MDict | MList):
            return False
        hit = self._memo.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        result = False
        if isinstance(node, ExpandedSteps | ResolvedExecutor):
            pass  # already expanded: never interpolated again
        elif isinstance(node, MDict):
            for key, value in node.items():
                if "<<" in key or self.needs(value):
                    result = True
                    break
        else:
            for value in node:
                if self.needs(value):
                    result = True
                    break
        self._memo[id(node)] = (node, result)
        return result

    def tree(self, node: Any, scope: Scope, path: str, mark: Mark) -> Any:
        if isinstance(node, str):
            return self.scalar(node, scope, path, mark) if "<<" in node else node
        if not self.needs(node):
            return node
        return self._walk(node, scope, path)

    def _walk(self, node: MDict | MList, scope: Scope, path: str) -> Any:
        """A copy of ``node``, which holds some ``<<``; untouched children are shared."""
        if isinstance(node, MDict):
            out = MDict(node.mark)
            for key, value in node.items():
                key_mark, mark = node.key_marks[key], node.value_marks[key]
                new_key = key
                if "<<" in key:
                    new_key = self.text(key, scope, join(path, key), key_mark)
                new = self._child(value, scope, path, key, mark)
                out.set(new_key, new, key_mark, mark, node.raw.get(key) if new is value else None)
            return out
        items = MList(node.mark)
        for index, value in enumerate(node):
            mark = node.item_marks[index]
            new = self._child(value, scope, path, index, mark)
            items.add(new, mark, node.raw.get(index) if new is value else None)
        return items

    def _child(self, value: Any, scope: Scope, path: str, key: str | int, mark: Mark) -> Any:
        """Interpolate one child; its key path is built only when there is something to do."""
        if isinstance(value, str):
            return self.scalar(value, scope, join(path, key), mark) if "<<" in value else value
        if isinstance(value, MDict | MList) and self.needs(value):
            return self._walk(value, scope, join(path, key))
        return value

    # ------------------------------------------------------------ strings

    def scalar(self, text: str, scope: Scope, path: str, mark: Mark) -> Any:
        """A whole ``<< ref >>`` gives the typed value; anything else gives text."""
        whole = _REF.fullmatch(text)
        if whole is not None:
            return self.lookup(whole.group(1), scope, path, mark)
        return self.text(text, scope, path, mark)

    def text(self, text: str, scope: Scope, path: str, mark: Mark) -> str:
        if "<<#" in text or "<<^" in text:
            text = _SECTION.sub(lambda m: self._section(m, scope, path, mark), text)
        return _TOKEN.sub(lambda m: self._token(m, scope, path, mark), text)

    def _token(self, match: re.Match[str], scope: Scope, path: str, mark: Mark) -> str:
        if match.group(1) is not None:
            return self._as_text(match.group(1), scope, path, mark)
        if match.group(0) == _ESCAPE:
            return "<<"
        rest = match.string[match.end():]
        shown = match.string[match.start():match.start() + 24].split("\n")[0]
        # CircleCI's words: "Unclosed '<<' tag ('<<' must be escaped as '\<<' in config v2.1+)"
        # (quoted in BLB3DPrinting/filaops#635)
        what = ("Unclosed '<<' tag" if ">>" not in rest
                else "'<<' does not open a parameter expression")
        return fail(mark, path, f"{what}: {shown}", _HINT)

    def _section(self, match: re.Match[str], scope: Scope, path: str, mark: Mark) -> str:
        value = self.lookup(match.group(2), scope, path, mark)
        return match.group(3) if truthy(value) == (match.group(1) == "#") else ""

    def _as_text(self, name: str, scope: Scope, path: str, mark: Mark) -> str:
        value = self.lookup(name, scope, path, mark)
        if isinstance(value, MDict | MList):
            what = "steps" if isinstance(value, MList) else "an executor"
            fail(mark, path, f"'<< {name} >>' is {what} and cannot be placed inside a string",
                 "use it as a whole value")
        return text_of(value)

    # ------------------------------------------------------------ lookups

    def lookup(self, name: str, scope: Scope, path: str, mark: Mark) -> Any:
        if name.startswith(_PIPELINE_PARAMS):
            return self._pipeline_param(name[len(_PIPELINE_PARAMS):], scope, path, mark)
        if name.startswith("pipeline."):
            return self._pipeline_value(name, path, mark)
        if name.startswith("matrix."):
            key = name[len("matrix."):]
            if scope.matrix is None:
                fail(mark, path, f"'<< {name} >>' is only defined in a workflow job with a matrix")
            if key not in scope.matrix:
                fail(mark, path, f"the matrix has no parameter '{key}'",
                     did_you_mean(key, scope.matrix))
            return scope.matrix[key]
        return self._parameter(name[len("parameters."):], scope, path, mark)

    def _parameter(self, key: str, scope: Scope, path: str, mark: Mark) -> Any:
        if scope.params is None:
            hint = (f"did you mean '<< pipeline.parameters.{key} >>'?"
                    if key in self.pipeline_params and not scope.in_orb else
                    "parameters are visible only in the job, command or executor declaring them")
            fail(mark, path, f"'<< parameters.{key} >>' is not defined here", hint)
        if key not in scope.params:
            fail(mark, path, f"{scope.owner or 'this element'} has no parameter '{key}'",
                 did_you_mean(key, scope.params)
                 or ("declare it under 'parameters:'" if not scope.params else None))
        return scope.params[key]

    def _pipeline_param(self, key: str, scope: Scope, path: str, mark: Mark) -> Any:
        if scope.in_orb:
            fail(mark, path, f"pipeline parameter '{key}' is not visible inside an orb",
                 "pass it to the orb's job or command as an argument")
        if key not in self.pipeline_params:
            fail(mark, path, f"unknown pipeline parameter '{key}'",
                 did_you_mean(key, self.pipeline_params)
                 or "declare it under the top-level 'parameters:'")
        return self.pipeline_params[key]

    def _pipeline_value(self, name: str, path: str, mark: Mark) -> Any:
        if name in self.pipeline_values:
            return self.pipeline_values[name]
        if name.startswith(_OPEN_PREFIXES):
            return ""
        return fail(mark, path, f"unknown pipeline value '{name}'",
                    did_you_mean(name, self.pipeline_values))

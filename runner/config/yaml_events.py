"""The config files' YAML parser: PyYAML's event stream built into marked containers.

What :mod:`runner.config.yaml` promises (places, duplicate keys, bounds, no tags, the core
schema) is kept here. It is apart so that reading a config whose parse is kept
(:mod:`runner.config.parsed`) never loads PyYAML: 20-25 ms of every start (issue 17).
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml
from msgspec import Struct, field

from runner.config.marked import MDict, MList, scalar_text
from runner.config.yaml_depth import deeper_than, first_opener, line_col, offset_of
from runner.errors import ConfigError, ConfigProblem, Mark

MAX_DEPTH = 64
MAX_NODES = 1_000_000  # after alias expansion

_CORE_TAG = "tag:yaml.org,2002:"
_INT = re.compile(r"[-+]?[0-9]+\Z")
_INT_OCT = re.compile(r"0o[0-7]+\Z")
_INT_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(nan|NaN|NAN)\Z")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUES = frozenset({"true", "True", "TRUE"})
_FALSES = frozenset({"false", "False", "FALSE"})


class _Frame(Struct):
    mark: Mark
    anchor: str | None
    container: MDict | MList
    flow: bool = False
    weight: int = 1
    # mapping state
    pending: tuple[Any, Mark, str | None] | None = None
    merges: list[tuple[Any, Mark]] = field(default_factory=list)


class _Builder(Struct):
    file: str
    anchors: dict[str, tuple[Any, int]] = field(default_factory=dict)
    stack: list[_Frame] = field(default_factory=list)
    nodes: int = 0
    root: Any = None
    root_set: bool = False

    def mark(self, event: yaml.Event) -> Mark:
        m = event.start_mark
        if m is None:
            return Mark(self.file, 1, 1)
        return Mark(self.file, m.line + 1, m.column + 1)

    def fail(self, mark: Mark, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError([ConfigProblem(mark, self.path(), message, hint)])

    def path(self, frames: list[_Frame] | None = None) -> str:
        parts: list[str] = []
        for frame in self.stack if frames is None else frames:
            c = frame.container
            if isinstance(c, MDict):
                if frame.pending is not None:
                    parts.append(("." if parts else "") + str(frame.pending[0]))
            else:
                parts.append(f"[{len(c)}]")
        if len(parts) > 12:  # a path through thousands of levels helps nobody
            parts = [*parts[:4], f"...({len(parts) - 6} more)...", *parts[-2:]]
        return "".join(parts)

    def count(self, weight: int, mark: Mark) -> None:
        self.nodes += weight
        if self.nodes > MAX_NODES:
            raise self.fail(
                mark,
                f"the document expands to more than {MAX_NODES:,} nodes through aliases",
                "an alias bomb? use fewer nested aliases",
            )

    def push(self, event: yaml.CollectionStartEvent, container: MDict | MList, mark: Mark) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise self.too_deep(mark)
        self.count(1, mark)
        self.stack.append(_Frame(mark, event.anchor, container, bool(event.flow_style)))

    def too_deep(self, mark: Mark) -> ConfigError:
        # The key path stops where the first flow collection starts: the YAML library may not
        # have handed out the events inside it yet (see _too_deep), and a path of 64 '[0]'s helps
        # nobody. So the message is the same whatever the library.
        outer = next((i for i, frame in enumerate(self.stack) if frame.flow), len(self.stack))
        message = f"nesting deeper than {MAX_DEPTH} levels"
        return ConfigError([ConfigProblem(mark, self.path(self.stack[:outer]), message)])

    def deliver(self, value: Any, mark: Mark, raw: str | None, weight: int) -> None:
        if not self.stack:
            self.root, self.root_set = value, True
            return
        top = self.stack[-1]
        top.weight += weight
        c = top.container
        if isinstance(c, MList):
            c.add(value, mark, raw)
            return
        assert isinstance(c, MDict)
        if top.pending is None:
            top.pending = (value, mark, raw)
            return
        key, key_mark, key_raw = top.pending
        top.pending = None
        if key == "<<" and key_raw is None:
            top.merges.append((value, mark))
            return
        name = self.key_name(key, key_mark, key_raw)
        if name in c:
            raise ConfigError(
                [
                    ConfigProblem(
                        key_mark,
                        self.path() + ("." if self.path() else "") + name,
                        f"duplicate key '{name}' (first at line {c.key_mark_of(name).line}"
                        f", column {c.key_mark_of(name).col})",
                    )
                ]
            )
        c.set(name, value, key_mark, mark, raw)

    def key_name(self, key: Any, mark: Mark, raw: str | None) -> str:
        if isinstance(key, str):
            return key
        if isinstance(key, MDict | MList):
            raise self.fail(mark, "a mapping key must be a plain string, not a collection")
        shown = raw if raw is not None else "null" if key is None else scalar_text(key)
        raise self.fail(
            mark,
            f"mapping key {shown or 'null'} is a {_type_name(key)}, not a string",
            f"quote it: '{shown}'",
        )

    def finish_mapping(self, frame: _Frame) -> MDict:
        explicit = frame.container
        assert isinstance(explicit, MDict)
        if not frame.merges:
            return explicit
        # YAML merge keys: explicit keys win, then earlier merged maps win over later ones.
        merged = MDict(explicit.mark)
        sources: list[MDict] = []
        for value, mark in frame.merges:
            items = value if isinstance(value, MList) else [value]
            for item in items:
                if not isinstance(item, MDict):
                    raise self.fail(mark, "a merge key '<<' takes a mapping or a list of mappings")
                sources.append(item)
        for source in sources:
            for key, value in source.items():
                if key not in merged:
                    merged.set(
                        key,
                        value,
                        source.key_mark_of(key),
                        source.mark_of(key),
                        source.raw.get(key),
                    )
        for key, value in explicit.items():
            merged.set(
                key, value, explicit.key_mark_of(key), explicit.mark_of(key), explicit.raw.get(key)
            )
        return merged


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "number"
    if isinstance(value, float):
        return "number"
    return type(value).__name__


_NOT_PLAIN_WORD = frozenset("0123456789+-.~nNtTfF")


def resolve_plain(text: str) -> Any:
    """The YAML 1.2 core schema for an untagged plain scalar."""
    if text and text[0] not in _NOT_PLAIN_WORD:
        return text  # most scalars are words: no number, bool or null starts like this
    if text in _NULLS:
        return None
    if text in _TRUES:
        return True
    if text in _FALSES:
        return False
    if _INT.match(text):
        return int(text)
    if _INT_OCT.match(text):
        return int(text[2:], 8)
    if _INT_HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text


def _tagged(builder: _Builder, event: yaml.ScalarEvent, mark: Mark) -> Any:
    tag = event.tag
    text = event.value
    if tag in ("!", f"{_CORE_TAG}str"):
        return text
    if tag in (f"{_CORE_TAG}int", f"{_CORE_TAG}float", f"{_CORE_TAG}bool", f"{_CORE_TAG}null"):
        value = resolve_plain(text)
        kind = tag.rsplit(":", 1)[-1]
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "null": value is None,
        }[kind]
        if not ok:
            raise builder.fail(mark, f"'{text}' is not a valid !!{kind}")
        return float(value) if kind == "float" else value
    raise builder.fail(
        mark, f"unsupported YAML tag {_short_tag(tag or '')}", "only plain YAML is accepted"
    )


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE_TAG) :] if tag.startswith(_CORE_TAG) else tag


def _check_tag(builder: _Builder, event: yaml.Event, mark: Mark, kind: str) -> None:
    tag = getattr(event, "tag", None)
    if tag not in (None, "!", f"{_CORE_TAG}{kind}"):
        raise builder.fail(
            mark, f"unsupported YAML tag {_short_tag(tag or '')}", "only plain YAML is accepted"
        )


def parse_text(text: str, file: str) -> Any:
    """Parse one YAML document into MDict/MList/scalars; raise ConfigError on any problem."""
    builder = _Builder(file)
    documents = 0
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            _handle(builder, event)
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise builder.fail(builder.mark(event), "only one YAML document is allowed")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(file, mark.line + 1, mark.column + 1) if mark else Mark(file, 1, 1)
        if "maximum nesting depth" in str(exc.problem):
            raise _too_deep(builder, text, where) from None
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise ConfigError([ConfigProblem(where, "", f"invalid YAML: {problem}")]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML forbids (NUL, controls)
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - text.rfind("\n", 0, exc.position)
        code = ord(exc.character) if isinstance(exc.character, str) else exc.character
        raise ConfigError.single(
            Mark(file, line, col), "", f"invalid YAML: unacceptable character #x{code:04x}: "
            f"{exc.reason}"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigProblem(Mark(file, 1, 1), "", f"invalid YAML: {exc}")]) from None
    if not builder.root_set or builder.root is None:
        raise ConfigError([ConfigProblem(Mark(file, 1, 1), "", "the config file is empty")])
    return builder.root


def _too_deep(builder: _Builder, text: str, fallback: Mark) -> ConfigError:
    """runner's own depth error where the YAML library's nesting limit fired first."""
    depth, start = len(builder.stack), 0
    if builder.stack:
        innermost = builder.stack[-1].mark
        start = offset_of(text, innermost.line, innermost.col)
    opener = first_opener(text, start)
    where = fallback
    if opener is not None:
        counted = bool(builder.stack) and opener == start
        found = deeper_than(text, opener, depth if counted else depth + 1, MAX_DEPTH)
        if found is not None:
            where = Mark(fallback.file, *line_col(text, found))
    return builder.too_deep(where)


def _handle(builder: _Builder, event: yaml.Event) -> None:
    value: Any
    if isinstance(event, yaml.ScalarEvent):
        mark = builder.mark(event)
        builder.count(1, mark)
        plain, _ = event.implicit
        raw: str | None = None
        if event.tag is None and plain:
            value = resolve_plain(event.value)
            raw = None if isinstance(value, str) or value is None else event.value
        elif event.tag is None:
            value = event.value  # quoted: always a string
        else:
            value = _tagged(builder, event, mark)
        if event.anchor:
            builder.anchors[event.anchor] = (value, 1)
        builder.deliver(value, mark, raw, 1)
    elif isinstance(event, yaml.AliasEvent):
        mark = builder.mark(event)
        if event.anchor not in builder.anchors:
            raise builder.fail(mark, f"unknown alias *{event.anchor}")
        value, weight = builder.anchors[event.anchor]
        builder.count(weight, mark)
        builder.deliver(value, mark, None, weight)
    elif isinstance(event, yaml.MappingStartEvent):
        mark = builder.mark(event)
        _check_tag(builder, event, mark, "map")
        builder.push(event, MDict(mark), mark)
    elif isinstance(event, yaml.SequenceStartEvent):
        mark = builder.mark(event)
        _check_tag(builder, event, mark, "seq")
        builder.push(event, MList(mark), mark)
    elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
        frame = builder.stack.pop()
        value = (
            builder.finish_mapping(frame) if isinstance(frame.container, MDict) else frame.container
        )
        if frame.anchor:
            builder.anchors[frame.anchor] = (value, frame.weight)
        builder.deliver(value, frame.mark, None, frame.weight)


_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

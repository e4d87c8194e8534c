"""Safe YAML for config files: every node keeps its place, and nothing surprises.

The tree is built from the parser's event stream (never from a ``Loader``), which lets us:

- keep the line and column of every key and value, so every error names ``file:line:col``;
- refuse duplicate keys, naming both places (CircleCI fails builds on them too);
- bound alias expansion ("billion laughs") and nesting depth without recursion;
- refuse every tag but the core ones, so no Python object can be constructed;
- resolve plain scalars with the YAML 1.2 core schema: ``on``/``no``/``yes`` stay strings and
  ``3.10``/``0755`` keep their written text (see :func:`MDict.text`), so CircleCI fields that are
  strings arrive as written. Boolean fields accept the YAML 1.1 words where CircleCI documents
  them (``runner.config.reader.Reader.boolean``).

Containers are :class:`MDict` and :class:`MList` (``runner.config.marked``), re-exported here.
Aliases share one object: consumers must treat the tree as read-only.

The parser itself is :mod:`runner.config.yaml_events`, loaded on the first parse: a file whose
parse is kept (:mod:`runner.config.parsed`), a config's or an orb's, is read without PyYAML
(issue 17).
"""

from __future__ import annotations

import os
from typing import Any

from runner.config.marked import MDict, MList
from runner.config.parsed import ParsedStore, keep_tree, kept_tree, tree_key
from runner.errors import ConfigError, ConfigProblem, Mark

MAX_FILE_BYTES = 16 * 1024 * 1024

__all__ = ["MDict", "MList", "load_file", "parse_kept", "parse_text"]


def parse_text(text: str, file: str) -> Any:
    """Parse one YAML document into MDict/MList/scalars; raise ConfigError on any problem."""
    from runner.config.yaml_events import parse_text as parse

    return parse(text, file)


def load_file(path: str, display: str | None = None, kept: ParsedStore | None = None) -> Any:
    """Read and parse a config file, refusing files too large to be a config. With ``kept``,
    a file parsed before (the same bytes, by the same parser) is not parsed again."""
    shown = display or path
    data = _read(path, shown)
    key = tree_key(data, shown) if kept is not None else ""
    if kept is not None:
        tree = kept_tree(kept, key, shown)
        if tree is not None:
            return tree
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [ConfigProblem(Mark(shown, 1, 1), "", f"the file is not UTF-8 text ({exc.reason})")]
        ) from None
    return _parse_and_keep(text, shown, kept, key)


def parse_kept(text: str, shown: str, kept: ParsedStore | None) -> Any:
    """:func:`parse_text`, through ``kept`` as :func:`load_file` does: an orb's source from
    the orb cache is parsed once, not on every run."""
    if kept is None:
        return parse_text(text, shown)
    key = tree_key(text.encode("utf-8", "surrogatepass"), shown)
    tree = kept_tree(kept, key, shown)
    return tree if tree is not None else _parse_and_keep(text, shown, kept, key)


def _parse_and_keep(text: str, shown: str, kept: ParsedStore | None, key: str) -> Any:
    tree = parse_text(text, shown)
    if kept is not None:
        keep_tree(kept, key, shown, tree)
    return tree


def _read(path: str, shown: str) -> bytes:
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem(None, "", f"cannot read {shown}: {exc.strerror}")]
        ) from None
    if size > MAX_FILE_BYTES:
        raise ConfigError(
            [
                ConfigProblem(
                    Mark(shown, 1, 1),
                    "",
                    f"the file is {size / 1024 / 1024:.1f} MiB; a config may be at most "
                    f"{MAX_FILE_BYTES // 1024 // 1024} MiB",
                )
            ]
        )
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem(None, "", f"cannot read {shown}: {exc.strerror}")]
        ) from None

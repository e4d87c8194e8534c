"""Where a flow collection first nests deeper than runner's limit.

runner refuses nesting deeper than 64 levels while it builds the tree from the parser's events
(``runner.config.yaml``). For flow collections (``[[[...]]]``) a YAML scanner reads ahead before it
hands out the first event: a ``[`` may start a simple key, and a simple key may be up to 1024
characters long. libyaml 0.2.5 as bundled with PyYAML 6.0.4 stops at 1000 levels inside that
look-ahead, so its own "exceeded maximum nesting depth" fires before runner ever sees level 65
(issue 12). This module finds, from the last collection runner saw open, where level 65 is, so the
message and its place are runner's own on every PyYAML version.

The scan only understands what can appear inside flow collections: quoted scalars, plain scalars,
comments and the flow indicators. It is used after the scanner has already refused the text, so
it never decides alone whether a document is acceptable.
"""

from __future__ import annotations

_OPEN = frozenset("[{")
_CLOSE = frozenset("]}")
_BLANK = frozenset(" \t\r\n")


def offset_of(text: str, line: int, col: int) -> int:
    """The index in ``text`` of a 1-based line and column."""
    offset = 0
    for _ in range(line - 1):
        found = text.find("\n", offset)
        if found < 0:
            return len(text)
        offset = found + 1
    return min(offset + col - 1, len(text))


def line_col(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of an index in ``text``."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _skip_quoted(text: str, start: int) -> int:
    """The index just after the quoted scalar that starts at ``start``."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        char = text[i]
        if quote == '"' and char == "\\":
            i += 2
            continue
        if char == quote:
            if quote == "'" and text.startswith("''", i):  # '' is an escaped quote
                i += 2
                continue
            return i + 1
        i += 1
    return i


def deeper_than(text: str, start: int, depth: int, limit: int) -> int | None:
    """The index of the first flow opener past ``limit`` levels, scanning from ``start``.

    ``start`` is the index of an open flow indicator at nesting ``depth`` (counting it).
    """
    i = start + 1
    node_start = True
    while i < len(text) and depth > 0:
        char = text[i]
        if char in _OPEN and node_start:
            depth += 1
            if depth > limit:
                return i
        elif char in _CLOSE:
            depth -= 1
            node_start = False
        elif char == ",":
            node_start = True
        elif char == "#" and text[i - 1] in _BLANK:
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif char in "'\"" and node_start:
            i = _skip_quoted(text, i)
            node_start = False
            continue
        elif char in ":?" and (i + 1 >= len(text) or text[i + 1] in _BLANK | _OPEN):
            node_start = True
        elif char not in _BLANK:
            node_start = False
        i += 1
    return None


def first_opener(text: str, start: int) -> int | None:
    """The first flow opener at or after ``start`` that begins a node (not one inside a word)."""
    i = start
    while True:
        candidates = [found for found in (text.find("[", i), text.find("{", i)) if found >= 0]
        if not candidates:
            return None
        i = min(candidates)
        before = text[:i].rstrip(" \t")
        if i == start or not before or before[-1] in "\n:-?[{,":
            return i
        i += 1

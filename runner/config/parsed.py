"""Config trees kept between runs: a run of an unchanged config (and of unchanged orbs) neither
loads PyYAML nor parses it again (issue 17: PyYAML's import is 20-25 ms of every start here, and
the parse about 11 ms per 1,000 lines of a config or an orb).

The edge gives a :class:`ParsedStore` (``runner.store.parsed``: files in the project's state
directory). A tree is kept under the SHA-256 of everything its parse depends on: the file's
bytes and shown name, this format's version, Python's version, and the identity (size and
modification time) of the parser's files, PyYAML's and runner's own. A change to any of them
means a new parse. Only trees that parsed cleanly are kept: a file with an error is parsed,
and its error said, every time.

A tree is written in ``marshal``'s format as nested tuples: each container with the line and
column of every key and value, and the written text of plain scalars that did not resolve to
strings (``MDict.raw``). ``marshal`` writes an object met twice once, so an alias still shares
one object when read back. Reading checks the shape of every part: anything else (a damaged or
foreign file) counts as not kept, and the file is parsed.
"""

from __future__ import annotations

import functools
import hashlib
import marshal
import sys
from pathlib import Path
from typing import Any, Protocol

from runner.config.marked import MDict, MList
from runner.errors import Mark

FORMAT = b"runner parsed config 1"
_SCALARS = (str, int, float, bool, type(None))


class ParsedStore(Protocol):
    def get(self, key: str) -> bytes | None:
        """What was kept under ``key``, if anything."""

    def put(self, key: str, data: bytes) -> None:
        """Keep ``data`` under ``key``, now or when the caller decides (runner.store.parsed
        writes when a run starts); failing quietly: the file is then parsed next time."""


def kept_tree(store: ParsedStore, key: str, shown: str) -> Any | None:
    """The tree kept under ``key`` (:func:`tree_key`) for a file shown as ``shown``, or None."""
    blob = store.get(key)
    if blob is None:
        return None
    try:
        return _Decoder(shown).value(marshal.loads(blob))
    except (ValueError, EOFError, TypeError):
        return None


def keep_tree(store: ParsedStore, key: str, shown: str, tree: Any) -> None:
    try:
        blob = marshal.dumps(_Encoder(shown).value(tree))
    except (ValueError, TypeError):  # a part it cannot say as it is: not kept
        return
    store.put(key, blob)


def tree_key(data: bytes, shown: str) -> str:
    digest = hashlib.sha256(FORMAT)
    for part in (sys.version.encode(), _parser_identity(), shown.encode("utf-8", "replace")):
        digest.update(len(part).to_bytes(8, "big") + part)
    digest.update(data)
    return digest.hexdigest()


@functools.cache
def _parser_identity() -> bytes:
    """Size and modification time of each file a tree's shape depends on."""
    import importlib.util

    here = Path(__file__).parent
    files = [here / "yaml_events.py", here / "marked.py", Path(__file__)]
    spec = importlib.util.find_spec("yaml")  # finds PyYAML without loading it
    if spec is not None and spec.origin:
        package = Path(spec.origin).parent
        files += [package / "__init__.py", *sorted(package.glob("_yaml*"))]
    parts = []
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            parts.append(f"{file}:missing")
            continue
        parts.append(f"{file}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(parts).encode("utf-8", "replace")


class _Encoder:
    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.done: dict[int, tuple[Any, ...]] = {}  # by id: an alias is written once

    def value(self, value: Any) -> Any:
        if isinstance(value, MDict | MList):
            found = self.done.get(id(value))
            if found is None:
                found = self.done[id(value)] = self.container(value)
            return found
        if not isinstance(value, _SCALARS):
            raise TypeError(f"not a config value: {type(value).__name__}")
        return value

    def container(self, value: MDict | MList) -> tuple[Any, ...]:
        if isinstance(value, MDict):
            items: tuple[Any, ...] = tuple(
                (key, *self.place(value.key_mark_of(key)), self.value(item),
                 *self.place(value.mark_of(key)), value.raw.get(key))
                for key, item in value.items()
            )  # fmt: skip
            return (0, *self.place(value.mark), items)
        items = tuple(
            (self.value(item), *self.place(value.mark_of(i)), value.raw.get(i))
            for i, item in enumerate(value)
        )
        return (1, *self.place(value.mark), items)

    def place(self, mark: Mark) -> tuple[int, int]:
        if mark.file != self.shown:  # every place of one parse is in its file
            raise ValueError("a place in another file")
        return mark.line, mark.col


class _Decoder:
    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.done: dict[int, MDict | MList] = {}  # by id of the written tuple: aliases

    def value(self, value: Any) -> Any:
        if type(value) is tuple:
            found = self.done.get(id(value))
            if found is None:
                found = self.done[id(value)] = self.container(value)
            return found
        if type(value) not in _SCALARS:
            raise TypeError("not a config value")
        return value

    def container(self, written: tuple[Any, ...]) -> MDict | MList:
        kind, line, col, items = written
        if kind == 0:
            mapping = MDict(self.mark(line, col))
            for key, kline, kcol, item, vline, vcol, raw in items:
                if type(key) is not str or key in mapping:
                    raise TypeError("not a mapping key")
                mapping.set(key, self.value(item), self.mark(kline, kcol),
                            self.mark(vline, vcol), self.raw(raw))  # fmt: skip
            return mapping
        if kind == 1:
            sequence = MList(self.mark(line, col))
            for item, iline, icol, raw in items:
                sequence.add(self.value(item), self.mark(iline, icol), self.raw(raw))
            return sequence
        raise TypeError("not a container")

    def mark(self, line: Any, col: Any) -> Mark:
        if type(line) is not int or type(col) is not int:
            raise TypeError("not a place")
        return Mark(self.shown, line, col)

    @staticmethod
    def raw(raw: Any) -> str | None:
        if raw is not None and type(raw) is not str:
            raise TypeError("not a written text")
        return raw

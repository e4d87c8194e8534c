"""Marked containers: the parsed config tree, with the place of every key and value.

``MDict`` and ``MList`` are plain ``dict``/``list`` subclasses, so every consumer can treat the
tree as ordinary data, and every error can still name ``file:line:col``.
"""

from __future__ import annotations

from typing import Any

from runner.errors import Mark


class MDict(dict[str, Any]):
    """A mapping from the file, with the place of itself, of each key and of each value."""

    __slots__ = ("key_marks", "mark", "raw", "value_marks")

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.key_marks: dict[str, Mark] = {}
        self.value_marks: dict[str, Mark] = {}
        self.raw: dict[str, str] = {}  # written text of plain scalars that did not resolve to str

    def set(self, key: str, value: Any, key_mark: Mark, value_mark: Mark, raw: str | None) -> None:
        self[key] = value
        self.key_marks[key] = key_mark
        self.value_marks[key] = value_mark
        if raw is not None:
            self.raw[key] = raw
        else:
            self.raw.pop(key, None)

    def mark_of(self, key: str) -> Mark:
        """Where the value of ``key`` starts (the mapping itself when the key is absent)."""
        return self.value_marks.get(key, self.mark)

    def key_mark_of(self, key: str) -> Mark:
        return self.key_marks.get(key, self.mark)

    def text(self, key: str) -> str | None:
        """The value of ``key`` as a string, as written when it was a plain number or bool."""
        value = self.get(key)
        if value is None and key not in self.raw:
            return None
        if isinstance(value, str):
            return value
        return self.raw.get(key, scalar_text(value))


class MList(list[Any]):
    """A sequence from the file, with the place of itself and of each item."""

    __slots__ = ("item_marks", "mark", "raw")

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.item_marks: list[Mark] = []
        self.raw: dict[int, str] = {}

    def add(self, value: Any, mark: Mark, raw: str | None) -> None:
        if raw is not None:
            self.raw[len(self)] = raw
        self.append(value)
        self.item_marks.append(mark)

    def mark_of(self, index: int) -> Mark:
        return self.item_marks[index] if 0 <= index < len(self.item_marks) else self.mark

    def text(self, index: int) -> str | None:
        value = self[index]
        if isinstance(value, str):
            return value
        if value is None and index not in self.raw:
            return None
        return self.raw.get(index, scalar_text(value))


def scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

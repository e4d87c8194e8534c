"""Typed reads from the marked YAML tree that collect every problem with its place.

Validation reports all problems of a file at once (one line each), not just the first, so a
user fixes a config in one pass. Readers return a usable fallback after recording a problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, overload

from runner.config.yaml import MDict, MList
from runner.errors import ConfigError, ConfigProblem, Mark, did_you_mean

# YAML 1.1 words CircleCI accepts for booleans [RC "boolean"]; the YAML layer keeps them strings.
_TRUE_WORDS = frozenset({"true", "yes", "on", "y"})
_FALSE_WORDS = frozenset({"false", "no", "off", "n"})
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ms|s|m|h)")
_MAX_DURATION = (2**63 - 1) / 1e9  # seconds: Go's time.Duration, about 292 years


def kind_of(value: Any) -> str:
    if isinstance(value, MDict | dict):
        return "a map"
    if isinstance(value, MList | list):
        return "a list"
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string"


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class Reader:
    """Collects problems; every getter takes the parent container and key so it can locate."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[ConfigProblem] = []
        self.warnings: list[ConfigProblem] = []

    def problem(self, mark: Mark | None, path: str, message: str, hint: str | None = None) -> None:
        self.problems.append(ConfigProblem(mark, path, message, hint))

    def warn(self, mark: Mark | None, path: str, message: str, hint: str | None = None) -> None:
        """Something CircleCI accepts and ignores: runner runs the config and says so."""
        self.warnings.append(ConfigProblem(mark, path, message, hint))

    def raise_if_any(self) -> None:
        if self.problems:
            # In file order, as a person reads the file; problems without a place go last.
            ordered = sorted(
                self.problems,
                key=lambda p: (p.mark is None, (p.mark.line, p.mark.col) if p.mark else (0, 0)),
            )
            raise ConfigError(ordered)

    # ------------------------------------------------------------ shapes

    def mapping(self, value: Any, mark: Mark, path: str, what: str = "") -> MDict | None:
        if isinstance(value, MDict):
            return value
        self.problem(mark, path, f"expected a map{what}, found {kind_of(value)}")
        return None

    def sequence(self, node: MDict, key: str, path: str, what: str = "") -> MList | None:
        """``node[key]`` if it is a list; else a problem at the key and None."""
        value = node[key]
        if isinstance(value, MList):
            return value
        message = f"expected a list{what}, found {kind_of(value)}"
        self.problem(node.mark_of(key), join(path, key), message)
        return None

    def keys(
        self,
        node: MDict,
        path: str,
        allowed: Iterable[str],
        required: Iterable[str] = (),
        *,
        what: str = "key",
    ) -> None:
        allowed_set = set(allowed)
        for key in node:
            if key not in allowed_set:
                self.problem(
                    node.key_mark_of(key),
                    join(path, key),
                    f"unknown {what} '{key}'",
                    did_you_mean(key, allowed_set),
                )
        for key in required:
            if key not in node:
                self.problem(node.mark, path, f"missing required key '{key}'")

    # ------------------------------------------------------------ scalars

    @overload
    def string(
        self, node: MDict, key: str, path: str, *, default: str, allow_empty: bool = True
    ) -> str: ...

    @overload
    def string(
        self, node: MDict, key: str, path: str, *, default: None = None, allow_empty: bool = True
    ) -> str | None: ...

    def string(
        self,
        node: MDict,
        key: str,
        path: str,
        *,
        default: str | None = None,
        allow_empty: bool = True,
    ) -> str | None:
        if key not in node:
            return default
        value = node[key]
        if isinstance(value, MDict | MList):
            self.problem(
                node.mark_of(key), join(path, key), f"expected a string, found {kind_of(value)}"
            )
            return default
        text = node.text(key)
        if text is None:
            text = ""
        if not allow_empty and not text.strip():
            self.problem(node.mark_of(key), join(path, key), "must not be empty")
            return default
        return text

    def boolean(self, node: MDict, key: str, path: str, *, default: bool = False) -> bool:
        if key not in node:
            return default
        value = node[key]
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE_WORDS:
                return True
            if word in _FALSE_WORDS:
                return False
        self.problem(node.mark_of(key), join(path, key), f"expected true or false, found {value!r}")
        return default

    def integer(
        self,
        node: MDict,
        key: str,
        path: str,
        *,
        default: int,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        if key not in node:
            return default
        value = node[key]
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and re.fullmatch(r"\s*[-+]?[0-9]+\s*", value):
            number = int(value)  # 2.1 parameters substitute into strings
        if number is None:
            self.problem(
                node.mark_of(key), join(path, key), f"expected a whole number, found {value!r}"
            )
            return default
        if minimum is not None and number < minimum:
            self.problem(
                node.mark_of(key), join(path, key), f"must be at least {minimum}, found {number}"
            )
            return default
        if maximum is not None and number > maximum:
            self.problem(
                node.mark_of(key), join(path, key), f"must be at most {maximum}, found {number}"
            )
            return default
        return number

    def choice(
        self, node: MDict, key: str, path: str, choices: Iterable[str], *, default: str
    ) -> str:
        text = self.string(node, key, path, default=None)
        if text is None:
            return default
        options = tuple(choices)
        if text not in options:
            hint = did_you_mean(text, options) or "one of: " + ", ".join(options)
            self.problem(node.mark_of(key), join(path, key), f"invalid value '{text}'", hint)
            return default
        return text

    def strings(self, node: MDict, key: str, path: str) -> tuple[str, ...] | None:
        """A string or a list of strings (CircleCI accepts both for lists of names)."""
        if key not in node:
            return None
        value = node[key]
        if isinstance(value, MList):
            out: list[str] = []
            for index, item in enumerate(value):
                if isinstance(item, MDict | MList) or item is None:
                    self.problem(
                        value.mark_of(index),
                        join(join(path, key), index),
                        f"expected a string, found {kind_of(item)}",
                    )
                    continue
                out.append(value.text(index) or "")
            return tuple(out)
        if isinstance(value, MDict):
            self.problem(
                node.mark_of(key), join(path, key), "expected a string or a list of strings"
            )
            return None
        return (node.text(key) or "",)

    def command_words(self, node: MDict, key: str, path: str) -> tuple[str, ...] | None:
        """``entrypoint``/``command``: a list, or a string split as a shell would."""
        if key not in node:
            return None
        value = node[key]
        if isinstance(value, str):
            import shlex

            try:
                return tuple(shlex.split(value))
            except ValueError as exc:
                self.problem(node.mark_of(key), join(path, key), f"cannot split: {exc}")
                return None
        return self.strings(node, key, path)

    def duration(self, node: MDict, key: str, path: str, *, default: float) -> float:
        """A Go-style duration such as ``10m``, ``1.25h``, ``5s`` or ``1h30m`` [CR]."""
        text = self.string(node, key, path, default=None)
        if text is None:
            return default
        spec = text.strip()
        total = 0.0
        pos = 0
        for match in _DURATION_PART.finditer(spec):
            if match.start() != pos:
                break
            scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match.group(2)]
            total += float(match.group(1)) * scale
            pos = match.end()
        if pos != len(spec) or not spec:
            self.problem(
                node.mark_of(key),
                join(path, key),
                f"invalid duration '{text}'",
                "use a number and a unit, such as 20m, 1.5h or 90s",
            )
            return default
        if not total <= _MAX_DURATION:  # CircleCI parses durations with Go: int64 nanoseconds
            self.problem(
                node.mark_of(key),
                join(path, key),
                f"invalid duration '{text}': longer than the longest duration (2562047h)",
            )
            return default
        return total

    def environment(self, node: MDict, key: str, path: str) -> dict[str, str]:
        """An ``environment`` map, or the 2.0 list-of-one-key-maps form [ENV-2020]."""
        if key not in node or node[key] is None:
            return {}
        value = node[key]
        out: dict[str, str] = {}
        where = join(path, key)
        if isinstance(value, MList):
            for index, item in enumerate(value):
                if isinstance(item, str) and "=" in item:
                    # docker-compose style ``- NAME=value``, which CircleCI accepts on images
                    # (ory/hydra, ory/kratos)
                    name, _, text = item.partition("=")
                    out[name.strip()] = text
                    continue
                if not isinstance(item, MDict):
                    self.problem(
                        value.mark_of(index),
                        join(where, index),
                        f"expected a map of NAME: value, found {kind_of(item)}",
                    )
                    continue
                out.update(self._env_pairs(item, join(where, index)))
            return out
        if isinstance(value, MDict):
            return self._env_pairs(value, where)
        self.problem(
            node.mark_of(key), where, f"expected a map of NAME: value, found {kind_of(value)}"
        )
        return out

    def _env_pairs(self, node: MDict, path: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in node.items():
            if isinstance(value, MDict | MList):
                self.problem(
                    node.mark_of(name),
                    join(path, name),
                    f"an environment value must be a string, found {kind_of(value)}",
                )
                continue
            out[name] = node.text(name) or ""
        return out

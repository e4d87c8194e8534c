"""Settings files: defaults for ``runner run``'s long options, per project and per user.

``.circleci/runner.yml`` in the project and ``$XDG_CONFIG_HOME/runner/runner.yml``
(``~/.config/runner/runner.yml``) for every project hold option defaults by their long name,
as act's ``.actrc`` and gitlab-ci-local's ``.gitlab-ci-local-env`` do::

    image: ["cimg/python:*=python:*"]
    env-file: .env
    jobs: 4
    pull: never

The project file wins over the user's, and the command line over both. Unknown keys and values
of the wrong kind are errors with ``file:line:col``, read with the config's own YAML reader.
Relative paths are relative to the directory that holds ``.circleci`` (the project) or to the
user file's directory. The CLI says which keys exist (:class:`Kind` per key); this module only
reads and checks files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from msgspec import Struct

from runner.config.reader import Reader, kind_of
from runner.config.yaml import MDict, MList, load_file
from runner.errors import Mark

PROJECT_FILE = Path(".circleci") / "runner.yml"


class Kind(Enum):
    TEXT = "a string"
    INT = "an integer"
    BOOL = "true or false"
    PATH = "a path"
    TEXTS = "a list of strings"
    PATHS = "a list of paths"


class Setting(Struct, frozen=True):
    key: str
    value: Any
    source: str  # ``file:line:col`` of the value


def user_file(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(
        environ.get("HOME", os.path.expanduser("~")), ".config"
    )
    return Path(base) / "runner" / "runner.yml"


def settings_files(project_root: Path, environ: Mapping[str, str]) -> list[tuple[Path, Path]]:
    """(file, directory its relative paths start from), lowest precedence first; those that
    exist."""
    files = [(user_file(environ), user_file(environ).parent),
             (project_root / PROJECT_FILE, project_root)]
    return [(path, base) for path, base in files if path.is_file()]


def load_settings(
    files: list[tuple[Path, Path]], kinds: Mapping[str, Kind], *, display_root: Path
) -> dict[str, Setting]:
    """The settings of these files, later files winning key by key; every problem of a file is
    reported at once (exit 2, nothing started)."""
    settings: dict[str, Setting] = {}
    for path, base in files:
        settings.update(_read(path, base, kinds, _display(path, display_root)))
    return settings


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _read(path: Path, base: Path, kinds: Mapping[str, Kind], shown: str) -> dict[str, Setting]:
    tree = load_file(str(path), shown)
    reader = Reader(shown)
    if tree is None:
        return {}
    node = reader.mapping(tree, Mark(shown, 1, 1), "", " of option names")
    out: dict[str, Setting] = {}
    if node is not None:
        reader.keys(node, "", kinds, what="setting")  # keys: `runner config show`
        for key in node:
            if key in kinds:
                value = _value(reader, node, key, kinds[key], base)
                if value is not None:
                    out[key] = Setting(key, value, str(node.mark_of(key)))
    reader.raise_if_any()
    return out


def _value(reader: Reader, node: MDict, key: str, kind: Kind, base: Path) -> Any:
    value, mark = node[key], node.mark_of(key)
    if kind in (Kind.TEXTS, Kind.PATHS):
        if isinstance(value, MList) and not any(
            isinstance(i, MDict | MList) or i is None for i in value
        ):
            texts = [_item(value, i) for i in range(len(value))]
        elif value is not None and not isinstance(value, MDict | MList):
            texts = [str(node.text(key))]  # one value for a repeatable option
        else:
            reader.problem(mark, key, f"expected {kind.value}, found {kind_of(value)}")
            return None
        return [_path(t, base) for t in texts] if kind is Kind.PATHS else texts
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            reader.problem(mark, key, f"expected {kind.value}, found {kind_of(value)}")
            return None
        return value
    if kind is Kind.INT:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            reader.problem(mark, key, f"expected {kind.value}, found {kind_of(value)}")
            return None
        return value
    if isinstance(value, MDict | MList) or value is None:
        reader.problem(mark, key, f"expected {kind.value}, found {kind_of(value)}")
        return None
    text = str(node.text(key))
    return _path(text, base) if kind is Kind.PATH else text


def _item(items: MList, index: int) -> str:
    text = items.text(index)
    return "" if text is None else text


def _path(text: str, base: Path) -> Path:
    return base / Path(text).expanduser()

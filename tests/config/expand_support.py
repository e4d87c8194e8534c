"""What the 2.1 processing tests share: expand a config text, or get its error."""

from __future__ import annotations

from textwrap import dedent
from typing import Any

import pytest

from runner.config.expand import expand_config
from runner.config.load import LoadOptions
from runner.config.yaml import parse_text
from runner.errors import ConfigError


def plain(node: Any) -> Any:
    """The processed tree as plain dicts and lists, for comparing with literals."""
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node


def expand(text: str, **options: Any) -> Any:
    root = parse_text(dedent(text), "config.yml")
    return plain(expand_config(root, file="config.yml", options=LoadOptions(**options)))


def error(text: str, **options: Any) -> str:
    with pytest.raises(ConfigError) as info:
        expand(text, **options)
    return str(info.value)

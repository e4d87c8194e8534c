"""The processed config as readable YAML, like ``circleci config process`` prints it.

Block style, keys in their order, strings quoted only when a YAML reader would take them for
something else (YAML 1.1 rules, as CircleCI reads YAML: ``on``/``yes`` get quotes), multi-line
strings as ``|`` blocks, and numbers as they were written (``3.10`` stays ``3.10``).
"""

from __future__ import annotations

from typing import Any

import yaml

from runner.config.yaml import MDict, MList

_TAGS = {bool: "bool", int: "int", float: "float", type(None): "null"}


class _Dumper(yaml.SafeDumper):
    """Safe dumping of the marked tree; never an object tag."""

    def ignore_aliases(self, data: Any) -> bool:
        return True  # shared subtrees are written out in full, not as &anchors


def _scalar(dumper: _Dumper, value: Any, raw: str | None) -> yaml.Node:
    if raw is not None and type(value) in _TAGS:
        return yaml.ScalarNode(f"tag:yaml.org,2002:{_TAGS[type(value)]}", raw)
    if isinstance(value, str):
        return _string(dumper, value)
    return dumper.represent_data(value)


def _string(dumper: _Dumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _mapping(dumper: _Dumper, node: MDict) -> yaml.Node:
    pairs = [
        (dumper.represent_data(key), _scalar(dumper, value, node.raw.get(key)))
        for key, value in node.items()
    ]
    return yaml.MappingNode("tag:yaml.org,2002:map", pairs, flow_style=False)


def _sequence(dumper: _Dumper, node: MList) -> yaml.Node:
    items = [_scalar(dumper, value, node.raw.get(index)) for index, value in enumerate(node)]
    return yaml.SequenceNode("tag:yaml.org,2002:seq", items, flow_style=False)


_Dumper.add_multi_representer(MDict, _mapping)
_Dumper.add_multi_representer(MList, _sequence)
_Dumper.add_representer(str, _string)


def dump_processed(tree: MDict) -> str:
    text: str = yaml.dump(
        tree, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
        width=1 << 30,
    )
    return text

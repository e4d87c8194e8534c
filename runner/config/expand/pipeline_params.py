"""Pipeline parameters: top-level ``parameters:``, and ``--param KEY=VALUE`` values given to them.

"Pipeline parameters must have a default" and take only the types string, boolean, integer and
enum [RC][PV]. A value from the command line is text, converted by the declared type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.config.expand.params import (
    FALSE_WORDS,
    PIPELINE_TYPES,
    TRUE_WORDS,
    Param,
    read_params,
)
from runner.config.yaml import MDict
from runner.errors import ConfigError, ConfigProblem, did_you_mean


def read_pipeline_parameters(root: MDict, given: Mapping[str, str]) -> dict[str, Any]:
    specs = read_params(root.get("parameters"), root.mark_of("parameters"), "parameters",
                        types=PIPELINE_TYPES)
    problems: list[ConfigProblem] = []
    values: dict[str, Any] = {}
    for name, param in specs.items():
        if param.has_default:
            values[name] = param.default
        else:
            problems.append(ConfigProblem(param.mark, param.path,
                                          "a pipeline parameter needs a default", "add 'default:'"))
    for name, text in given.items():
        if name in specs:
            try:
                values[name] = convert(specs[name], text)
            except ValueError as exc:
                param = specs[name]
                problems.append(ConfigProblem(param.mark, param.path,
                                              f"--param {name}={text}: {exc.args[0]}", exc.args[1]))
            continue
        where = root.key_mark_of("parameters") if "parameters" in root else None
        problems.append(ConfigProblem(
            where, "parameters" if where else "",
            f"--param {name}={text}: the config declares no pipeline parameter '{name}'",
            did_you_mean(name, specs)
            or ("declared: " + ", ".join(specs) if specs else "its 'parameters:' is empty")))
    if problems:
        raise ConfigError(problems)
    return values


def convert(param: Param, text: str) -> Any:
    """A command-line value as the parameter's type; ValueError(message, hint) when it is not."""
    if param.type == "boolean":
        word = text.strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        raise ValueError("not a boolean", "use true or false")
    if param.type == "integer":
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError("not an integer", "use a whole number") from None
    if param.type == "enum" and text not in param.choices:
        raise ValueError("not one of the enum's values",
                         did_you_mean(text, param.choices) or "one of: " + ", ".join(param.choices))
    return text

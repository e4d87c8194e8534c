"""The settings files (runner.settings) applied to ``runner run``'s options, and shown.

Which keys exist is read from the ``run`` command itself (every long option but ``--config``
and ``--project-dir``, which say where the project file is), so a new option is a setting
without another list to keep. A setting applies only where the option was not given on the
command line (nor through its environment variable): the command line wins.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

import typer

from runner.cli import common
from runner.settings import Kind, Setting

_NOT_SETTINGS = frozenset({"config", "project-dir", "help"})


def option_kinds(command: Any) -> dict[str, tuple[str, Kind]]:
    """Setting key (the long option without ``--``) -> (parameter name, kind of value).
    Duck-typed: typer vendors its own click since 0.28, older ones use click's."""
    out: dict[str, tuple[str, Kind]] = {}
    for param in command.params:
        longs = [o for o in param.opts if o.startswith("--")]
        if param.param_type_name != "option" or not longs or param.name is None:
            continue
        key = longs[0][2:]
        if key not in _NOT_SETTINGS:
            out[key] = (param.name, _kind(param))
    return out


def _kind(param: Any) -> Kind:
    type_name = getattr(param.type, "name", "")
    path = type_name == "path"
    if param.is_flag:
        return Kind.BOOL
    if param.multiple:
        return Kind.PATHS if path else Kind.TEXTS
    if type_name in ("integer", "integer range"):
        return Kind.INT
    return Kind.PATH if path else Kind.TEXT


def read_settings(
    config: Path | None, project_dir: Path | None, kinds: dict[str, tuple[str, Kind]]
) -> tuple[Path, dict[str, Setting]]:
    """The project's directory (found as every command finds it) and its settings."""
    from runner.project import find_project
    from runner.settings import load_settings, settings_files

    project = find_project(config=config, project_dir=project_dir)
    files = settings_files(project.root, os.environ)
    return project.root, load_settings(
        files, {key: kind for key, (_, kind) in kinds.items()}, display_root=project.root
    )


def apply_settings(ctx: typer.Context) -> dict[str, Any]:
    """The command's parameter values, with settings where the command line left a default.
    A bad settings file is exit 2 with file:line:col, before anything starts."""
    kinds = option_kinds(ctx.command)
    root, settings = common.call(lambda: read_settings(
        ctx.params.get("config"), ctx.params.get("project_dir"), kinds
    ))
    values = dict(ctx.params)
    # The directory found here is the project's: the run need not ask git for it again (one
    # `git rev-parse --show-toplevel` less per run, issue 17).
    values["project_dir"] = root
    by_name = {p.name: p for p in ctx.command.params}
    for key, setting in settings.items():
        name = kinds[key][0]
        source = ctx.get_parameter_source(name)
        if source is not None and source.name == "DEFAULT":
            values[name] = common.call(partial(_checked, ctx, by_name[name], setting))
    # ctx.params hold click's values, before typer's conversions: paths as text, lists as tuples
    for name, kind in kinds.values():
        value = values.get(name)
        if kind is Kind.PATH and value is not None:
            values[name] = Path(value)
        elif kind is Kind.PATHS and value is not None:
            values[name] = [Path(v) for v in value]
        elif kind is Kind.TEXTS and value is not None:
            values[name] = list(value)
    return values


def _checked(ctx: typer.Context, param: Any, setting: Setting) -> Any:
    """The value as the option would have parsed it (ranges and types checked by click)."""
    from runner.errors import UsageError

    try:
        value = param.type_cast_value(ctx, setting.value)
    except typer.BadParameter as exc:
        raise UsageError(f"{setting.source}: {setting.key}: {exc.message}") from None
    return value


def describe(
    ctx: typer.Context,
    command: Any,
    settings: dict[str, Setting],
    kinds: dict[str, tuple[str, Kind]],
) -> str:
    """``runner config show``: every setting, its effective value and where it came from."""
    by_name = {p.name: p for p in command.params}
    width = max(len(k) for k in kinds)
    lines = []
    for key, (name, _) in sorted(kinds.items()):
        if key in settings:
            value, source = settings[key].value, settings[key].source
        else:
            value, source = by_name[name].get_default(ctx), "default"
        if key == "env" and value:  # -e values are secrets, masked wherever runner prints
            value = [v if "=" not in v else v.split("=", 1)[0] + "=********" for v in value]
        lines.append(f"{key:<{width}}  {_text(value)}  ({source})")
    return "\n".join(lines) + "\n"


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)

"""Help as click writes it, with the options still grouped in their panels (issue 17, item 3).

typer's rich help imports rich's console, tables, markdown and pygments (about half of what
``runner --help`` loaded, ~130 ms of its ~280 ms); the app uses ``rich_markup_mode=None`` instead,
so help and usage errors are click's plain text. The panels that keep ``runner run --help``
readable at 80 columns (issue 18) survive here: each option's ``rich_help_panel`` becomes a
section of click's own formatter, in the order the panels first appear.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand

OPTIONS = "Options"  # the section of options that name no panel, as typer's rich help calls it


class PanelCommand(TyperCommand):
    """A command whose ``--help`` lists its options panel by panel."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments: list[tuple[str, str]] = []
        panels: dict[str, list[tuple[str, str]]] = {OPTIONS: []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                arguments.append(record)
            else:
                panel = getattr(param, "rich_help_panel", None) or OPTIONS
                panels.setdefault(panel, []).append(record)
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        for title, records in panels.items():
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)


def plain_panelled_help(app: typer.Typer) -> None:
    """Give every command of ``app`` (and of its sub-apps) panelled plain help, unless the
    command chose its own class. Call once, after the commands are registered."""
    for command in app.registered_commands:
        if command.cls in (None, TyperCommand):  # typer's default, not a class of our own
            command.cls = PanelCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            plain_panelled_help(group.typer_instance)

"""The console reporter: live output prefixed by job and node, then a summary and failures.

Lines go out as they arrive; colour only on a terminal (rich honours ``NO_COLOR``). Output
text is never interpreted as markup: every piece goes to rich as a ``Text``. Step output comes
already cleaned of terminal control (:mod:`runner.sanitize`); its colour is kept only when
runner prints colour itself, and names show their control characters as escapes (issue 14).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO

from rich.console import Console
from rich.text import Text

from runner.events import (
    Event,
    JobFinished,
    JobStarted,
    NodeFinished,
    Notice,
    RunFinished,
    RunStarted,
    Status,
    StepFinished,
    StepOutput,
    StepStarted,
)
from runner.report.duration import fmt_duration
from runner.report.summary import RunSummary
from runner.sanitize import strip_sgr, visible

_MARKS = {
    Status.PASSED: ("✓", "green"),
    Status.FAILED: ("✗", "red"),
    Status.TIMED_OUT: ("✗", "red"),
    Status.CANCELLED: ("■", "yellow"),
    Status.SKIPPED: ("-", "dim"),
    Status.NOT_SUPPORTED: ("-", "yellow"),
    Status.BLOCKED: ("⊘", "yellow"),
    Status.WAITING: ("⏸", "yellow"),
    Status.RUNNING: ("…", "cyan"),
}
_PALETTE = ("cyan", "magenta", "blue", "green", "yellow", "bright_cyan", "bright_magenta")
COMMAND_LINES_SHOWN = 6


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich's default raises SystemExit(1), which silently ended the node thread that
        # printed, so the run waited for it for ever (issue 13). Let the event bus see the
        # closed pipe instead: it stops writing here and the run is stopped and cleaned up.
        self.quiet = True
        raise BrokenPipeError(32, "the reader of runner's output went away")


# A dataclass, not a Struct: its console is made after __init__ (``init=False``).
@dataclass
class ConsoleReporter:
    stream: IO[str]
    color: bool | None = None  # None: decide from the stream (a terminal) and NO_COLOR
    show_commands: bool = True
    summary: RunSummary = field(default_factory=RunSummary)
    _console: Console = field(init=False)
    _colors: dict[str, str] = field(default_factory=dict)
    _parallel: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        tty = self.stream.isatty() if hasattr(self.stream, "isatty") else False
        self._console = _Console(
            width=None if tty else 160,
            file=self.stream,
            force_terminal=self.color,
            no_color=self.color is False,
            highlight=False,
            soft_wrap=True,
            emoji=False,
        )

    # ------------------------------------------------------------ helpers

    def _who(self, job: str, node: int | None) -> Text:
        color = self._colors.setdefault(job, _PALETTE[len(self._colors) % len(_PALETTE)])
        label = job if node is None or not self._parallel.get(job) else f"{job}#{node}"
        return Text(visible(label), style=color)

    def _line(self, *parts: Text | str) -> None:
        text = Text()
        for part in parts:
            text.append(part if isinstance(part, Text) else Text(part))
        self._console.print(text)

    # ------------------------------------------------------------ events

    def __call__(self, event: Event) -> None:
        self.summary.add(event)
        handler = getattr(self, "_on_" + event.topic, None)
        if handler is not None:
            handler(event)

    def _on_run_started(self, e: RunStarted) -> None:
        self._line(
            Text(f"runner: run {e.run_id} ", style="bold"), Text(f"({e.state_dir})", style="dim")
        )

    def _on_job_started(self, e: JobStarted) -> None:
        self._parallel[e.job] = e.parallelism > 1
        nodes = f"{len(e.nodes)} of {e.parallelism} nodes" if e.parallelism > 1 else "1 node"
        images = f" ({', '.join(e.substitutions)})" if e.substitutions else ""
        self._line(
            Text("▶ ", style="bold"),
            self._who(e.job, None),
            Text(f"  {e.executor}{images}, {nodes}, build #{e.build_num}", style="dim"),
        )

    def _on_step_started(self, e: StepStarted) -> None:
        who = self._who(e.job, e.node)
        self._line(who, Text(" ▸ ", style="bold"), Text(_first_line(e.name), style="bold"))
        if self.show_commands and e.command is not None:
            lines = e.command.rstrip("\n").splitlines()
            shown = [e.shell or "", *lines[:COMMAND_LINES_SHOWN]]
            if len(lines) > COMMAND_LINES_SHOWN:
                more = len(lines) - COMMAND_LINES_SHOWN
                shown.append(f"... ({more} more line{'s' * (more != 1)})")
            for line in shown:
                self._line(who, Text(" │ ", style="dim"), Text(visible(line), style="dim"))

    def _on_step_output(self, e: StepOutput) -> None:
        if self._console.color_system is None:
            text = strip_sgr(e.text)
            if text.isprintable():
                # The hot path (a step printing millions of lines): rich takes ~50 us to render
                # a line, and without colour, tabs or control characters it would print this.
                label = e.job if not self._parallel.get(e.job) else f"{e.job}#{e.node}"
                self.stream.write(f"{visible(label)} │ {text}\n")
                self.stream.flush()
                return
        else:
            # A step's colour ends with its line, never bleeding into runner's own lines.
            text = e.text + "\x1b[0m" if "\x1b[" in e.text else e.text
        self._line(self._who(e.job, e.node), Text(" │ ", style="dim"), Text(text))

    def _on_step_finished(self, e: StepFinished) -> None:
        mark, style = _MARKS.get(e.outcome.status, ("?", ""))
        parts: list[Text | str] = [
            self._who(e.job, e.node),
            Text(f" {mark} ", style=style),
            Text(_first_line(e.name)),
            Text(f"  {fmt_duration(e.outcome.duration)}", style="dim"),
        ]
        if e.outcome.message:
            parts.append(Text(f"  {visible(e.outcome.message.splitlines()[0])}", style=style))
        self._line(*parts)
        for extra in e.outcome.message.splitlines()[1:]:
            self._line(self._who(e.job, e.node), Text(f"   {visible(extra)}", style=style))

    def _on_node_finished(self, e: NodeFinished) -> None:
        return None

    def _on_job_finished(self, e: JobFinished) -> None:
        mark, style = _MARKS.get(e.status, ("?", ""))
        tail = f" in {fmt_duration(e.duration)}" if e.duration else ""
        message = f"  {visible(e.message)}" if e.message else ""
        self._line(
            Text(f"{mark} ", style=style),
            self._who(e.job, None),
            Text(f" {e.status.value}{tail}{message}", style=style),
        )

    def _on_notice(self, e: Notice) -> None:
        style = {"warning": "yellow", "error": "red"}.get(e.level, "dim")
        prefix = (
            Text(f"{e.level}: ", style=style) if e.level != "info" else Text("note: ", style=style)
        )
        who = [self._who(e.job, e.node), Text(" ")] if e.job else []
        for line in e.text.splitlines() or [""]:
            self._line(*who, prefix, Text(visible(line), style=style if e.level != "info" else ""))

    def _on_run_finished(self, e: RunFinished) -> None:
        self.summary.render(self._console, e)


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    first = visible(lines[0]) if lines else ""
    return first + (" ..." if len(lines) > 1 else "")

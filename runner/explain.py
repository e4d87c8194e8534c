"""Exit codes and signals in words a person can act on."""

from __future__ import annotations

import re
import signal as signals
from collections.abc import Sequence

# How shells say a command is missing: bash "x: command not found", dash and busybox
# "x: not found", zsh "command not found: x".
_NOT_FOUND = (
    re.compile(r"(?:^|: )([^\s:]+): (?:command )?not found\s*$"),
    re.compile(r"command not found: (\S+)\s*$"),
)


def signal_name(number: int) -> str:
    try:
        return signals.Signals(number).name
    except ValueError:
        return f"signal {number}"


def format_duration(seconds: float) -> str:
    """Go's duration format, as in CircleCI's "Too long with no output (exceeded 10m0s)"."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text_secs = f"{secs:g}s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text_secs}"
    if minutes:
        return f"{int(minutes)}m{text_secs}"
    return text_secs


def explain_exit(
    code: int | None,
    sig: int | None,
    *,
    oom: bool = False,
    path: str | None = None,
    tail: Sequence[str] = (),
) -> str:
    """One line: what the exit code or signal most likely means. For 127 (command not found),
    the missing command when the output names it and the PATH the step had, if given."""
    if oom:
        return "out of memory: the kernel killed the step (exit code 137)"
    if sig is not None:
        return f"killed by {signal_name(sig)}"
    if code is None:
        return "did not finish"
    meaning = {
        1: "",
        126: "a command was found but is not executable",
        127: "command not found",
        130: "interrupted (SIGINT)",
        137: "killed (SIGKILL), perhaps out of memory",
        139: "segmentation fault (SIGSEGV)",
        143: "terminated (SIGTERM)",
    }.get(code)
    if meaning is None and code > 128:
        meaning = f"a command was killed by {signal_name(code - 128)}"
    if code == 127:
        meaning = _not_found(tail, path)
    return f"exit code {code}" + (f": {meaning}" if meaning else "")


def _not_found(tail: Sequence[str], path: str | None) -> str:
    text = "command not found"
    for line in reversed(tail):
        for pattern in _NOT_FOUND:
            match = pattern.search(line)
            if match:
                text += f": {match.group(1)}"
                break
        else:
            continue
        break
    if path is not None:
        text += f" (PATH was {path or 'empty'})"
    return text

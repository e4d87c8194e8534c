"""Exit codes and signals in words a person can act on."""

from __future__ import annotations

import signal as signals


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


def explain_exit(code: int | None, sig: int | None, *, oom: bool = False) -> str:
    """One line: what the exit code or signal most likely means."""
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
    return f"exit code {code}" + (f": {meaning}" if meaning else "")

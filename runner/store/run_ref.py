"""``last`` wherever a run number is asked (issue 18): ``runner logs last``, ``runner shell
last``, ``runner artifacts last``, ``runner run --workspace-from last``."""

from __future__ import annotations

from collections.abc import Callable

from runner.errors import UsageError
from runner.store.history import HistoryStore

LAST = "last"
_SCAN = 200  # how far back `last` looks for a run that has what is asked for


def run_number(
    store: HistoryStore,
    text: str,
    *,
    what: str = "RUN",
    having: Callable[[int], bool] | None = None,
    wanted: str = "",
) -> int:
    """A run number from ``text``: a number, or ``last``, the newest recorded run (the newest
    for which ``having`` holds, when given; ``wanted`` says what it looks for)."""
    if text.isdigit():
        return int(text)
    if text != LAST:
        raise UsageError(f"{what} takes a run number or 'last', got {text!r}")
    for row in store.runs(_SCAN):
        if having is None or having(row.run):
            return row.run
    raise UsageError(
        f"there is no run {wanted or 'yet'} to take as 'last'",
        hint="see `runner history`",
    )

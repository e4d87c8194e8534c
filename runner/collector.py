"""Python's cyclic garbage collector, paused while a ``runner`` process starts (issue 17).

Starting a run imports some 600 modules (typer, rich, PyYAML, the docker SDK, runner's own)
and builds the config model: hundreds of thousands of objects, nearly all of which live until
the process ends. The collector, left on, walks them about a hundred times on the way to the
first step, finding nothing to free: 30-45 ms of CPU on every docker one-step job here, a
tenth of what runner adds to ``docker run``. So the executable's entry (:mod:`runner.__main__`)
pauses it first, and it resumes once the command has what it needs: at once for most commands,
at the first step of a run (``runner.cli.run_cmd``).

Resuming freezes what start-up made (``gc.freeze``: the collector never walks it again) before
turning collection back on, as CPython's documentation advises for a pre-forking server
(gc.freeze: "disable the GC early in the parent process, freeze() right before fork()"): the
long-lived objects are never scanned for nothing again, and a long run's own garbage is
collected as usual. Reference counting still frees everything that is not in a cycle; what
cycles start-up leaves (caught exceptions and their frames) stay, a few kilobytes once.

A process that never paused (the tests, a program that imports runner) is left as it is.
"""

from __future__ import annotations

import gc

_paused: list[bool] = []  # holds True while paused by pause()


def pause() -> None:
    """Stop collecting until :func:`resume`, unless the collector is already off."""
    if gc.isenabled() and not _paused:
        gc.disable()
        _paused.append(True)


def resume() -> None:
    """Freeze what start-up made and collect again; once, and only after :func:`pause`.
    Called by the main thread or by the event bus, which calls one subscriber at a time."""
    if _paused:
        _paused.clear()
        gc.freeze()
        gc.enable()


def paused() -> bool:
    return bool(_paused)

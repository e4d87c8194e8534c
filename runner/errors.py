"""Exit codes and the errors that carry them: the one place exit codes are defined.

The core never calls ``sys.exit``; it raises a :class:`RunnerError` (or returns a run
outcome) and the CLI edge turns that into a process exit code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import IntEnum
from typing import NamedTuple


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    JOB_FAILED = 1
    CONFIG = 2  # bad config or usage: nothing was started
    ENVIRONMENT = 3  # the environment failed: no engine, image missing, disk
    INTERRUPTED = 130
    # the reader of runner's output went away (``runner run | head``): the run was stopped and
    # cleaned up as for an interrupt; 128 + SIGPIPE, what a shell shows for a writer whose
    # pipe closed, so ``set -o pipefail`` scripts see the usual status (issue 13)
    OUTPUT_CLOSED = 141


class RunnerError(Exception):
    """An error that ends a command with a message and an exit code, never a traceback."""

    exit_code: ExitCode = ExitCode.ENVIRONMENT

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        return self.message if self.hint is None else f"{self.message}\nhint: {self.hint}"


class UsageError(RunnerError):
    """Wrong arguments on the command line."""

    exit_code = ExitCode.CONFIG


class EnvironmentFailure(RunnerError):
    """Something outside the config failed: no Docker engine, an image, the disk."""

    exit_code = ExitCode.ENVIRONMENT


class NodeLost(EnvironmentFailure):
    """The node itself went away during a step (the Docker engine stopped, the container was
    removed): no later step of the node can run."""


def os_error_text(exc: OSError) -> str:
    """An OSError in words, with the file it concerns: ``No space left on device: /x/y``."""
    text = exc.strerror or str(exc)
    return f"{text}: {exc.filename}" if exc.filename else text


class Interrupted(RunnerError):
    exit_code = ExitCode.INTERRUPTED


class Mark(NamedTuple):
    """Where a node of the config file starts (1-based line and column).

    A named tuple rather than a frozen dataclass: the loader makes one per YAML node, and a
    tuple is several times cheaper to create."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class ConfigProblem(NamedTuple):
    """One located problem in a config file.

    A named tuple, like ``Mark``: this module is the one every command loads (``runner --help``
    too), and a tuple needs no record library."""

    mark: Mark | None
    path: str  # key path such as ``jobs.build.steps[2].run``; empty for the whole file
    message: str
    hint: str | None = None

    def render(self) -> str:
        where = f"{self.mark}: " if self.mark else ""
        at = f"{self.path}: " if self.path else ""
        text = f"{where}{at}{self.message}"
        return text if self.hint is None else f"{text} ({self.hint})"


class ConfigError(RunnerError):
    """One or more problems in a config file; each renders as one located line."""

    exit_code = ExitCode.CONFIG

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(p.render() for p in self.problems))

    @classmethod
    def single(
        cls, mark: Mark | None, path: str, message: str, hint: str | None = None
    ) -> ConfigError:
        return cls([ConfigProblem(mark, path, message, hint)])

    def render(self) -> str:
        count = len(self.problems)
        head = "config error" if count == 1 else f"{count} config errors"
        return f"{head}:\n" + "\n".join(f"  {p.render()}" for p in self.problems)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A "did you mean" hint when a near name exists, as cfgv and git do."""
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.7)
    return f"did you mean '{close[0]}'?" if close else None

"""Build parameters that could never reach a step: refused at the trigger (400), not at exec.

Build parameters become environment variables of every step [ENV-2020]. Linux refuses to start
a process when one ``NAME=value`` string is longer than ``MAX_ARG_STRLEN`` (32 pages: 128 KiB,
``include/uapi/linux/binfmts.h``), or when the arguments and environment together pass the
limit of ``execve(2)`` (``ARG_MAX``, a quarter of the stack limit): the step would die with
"Argument list too long". The whole budget is not theirs: the job's own variables, the
command and runner's variables need room, so build parameters get half of it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from runner.api.errors import bad_request

MAX_ARG_STRLEN = 32 * 4096  # bytes of one NAME=value string, with its NUL [execve(2)]
FALLBACK_ARG_MAX = 2 * 1024 * 1024


def total_budget() -> int:
    """Bytes all build parameters may take together: half of this machine's ``ARG_MAX``."""
    try:
        arg_max = os.sysconf("SC_ARG_MAX")
    except (ValueError, OSError):
        arg_max = -1
    return (arg_max if arg_max > 0 else FALLBACK_ARG_MAX) // 2


def check_sizes(params: Mapping[str, str]) -> None:
    """400 when a parameter, or all of them, would not fit in a process's environment."""
    total = 0
    for name, value in params.items():
        size = len(name.encode()) + 1 + len(value.encode()) + 1  # NAME=value and its NUL
        if size > MAX_ARG_STRLEN:
            raise bad_request(
                f"build parameter {name} is too large to pass to a process: {size} bytes as "
                f"NAME=value, the limit is {MAX_ARG_STRLEN} bytes (MAX_ARG_STRLEN, 128 KiB)"
            )
        total += size + 8  # and its pointer in envp
    budget = total_budget()
    if total > budget:
        raise bad_request(
            f"build parameters are too large to pass to a process: {total} bytes together, the "
            f"limit is {budget} bytes (half of this machine's ARG_MAX)"
        )

"""Programs of the host that runner uses when they are there and work (GNU tar, bubblewrap)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

PROBE_TIMEOUT = 10.0  # seconds: a probe that hangs means the tool is not usable here


def probe(name: str, args: Sequence[str]) -> tuple[str, subprocess.CompletedProcess[bytes]] | None:
    """Where ``name`` is on PATH and what it answered to ``args``; None when it is not there,
    cannot start, or does not answer in time (the caller then takes its slower way)."""
    path = shutil.which(name)
    if path is None:
        return None
    try:
        done = subprocess.run(
            [path, *args], stdin=subprocess.DEVNULL, capture_output=True,
            timeout=PROBE_TIMEOUT, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return path, done

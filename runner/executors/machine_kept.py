"""The machine backend's kept environments: a home directory on this computer."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from runner.executors.base import NodeSpec
from runner.executors.interactive import run_attached
from runner.executors.kept import KeptNode


class MachineKept:
    on_host = True
    restore_note = ""

    def labels(self, spec: NodeSpec) -> dict[str, str]:
        return {}  # the record's home is the place

    def alive(self, kept: KeptNode) -> bool:
        return os.path.isdir(kept.home)

    def enter(
        self, kept: KeptNode, argv: Sequence[str], *, env: Mapping[str, str], tty: bool
    ) -> int:
        cwd = kept.workdir if os.path.isdir(kept.workdir) else kept.home
        return run_attached(argv, env=env, cwd=cwd, stdin_is_tty=tty)

    def archive(self, kept: KeptNode, path: str) -> Iterator[bytes]:
        from runner.archive import tar_stream

        return tar_stream(Path(path))

"""A node environment ``--keep`` left in place, and how its backend reaches it again.

A live run reaches its node through the executor's :class:`~runner.executors.base.Session`; a
kept environment outlives the run and its session, so each backend answers for its own kept
environments with a :class:`KeptPlace` (:func:`runner.executors.registry.kept_place`). The
record is written and read by :mod:`runner.debug.kept`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from msgspec import Struct, field

from runner.executors.base import NodeSpec


class KeptNode(Struct, frozen=True, kw_only=True):
    executor: str  # the backend's kind (registry key)
    run: str
    job: str  # the planned job id
    job_name: str
    node: int
    home: str
    workdir: str
    bash_env: str
    task_data: str
    shell: str  # the configured shell, if any ("" for the default)
    has_bash: bool
    env: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)  # what the backend finds it by
    status: str = ""
    version: int = 1

    @property
    def title(self) -> str:
        return f"run {self.run} {self.job} node {self.node}"

    def matches(self, job: str | None) -> bool:
        return job is None or job in (self.job, self.job_name)


class KeptPlace(Protocol):
    # whether the kept files are paths of this computer (a restore copies them directly)
    on_host: bool
    # what a restore of the home, working directory and BASH_ENV leaves behind, said to the user
    restore_note: str

    def labels(self, spec: NodeSpec) -> dict[str, str]:
        """What the kept record stores so that this node is found again after its run."""

    def alive(self, kept: KeptNode) -> bool: ...

    def enter(
        self, kept: KeptNode, argv: Sequence[str], *, env: Mapping[str, str], tty: bool
    ) -> int: ...

    def archive(self, kept: KeptNode, path: str) -> Iterator[bytes]:
        """A tar stream of ``path`` in the kept environment, named relative to its parent."""

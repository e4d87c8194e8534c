"""``resource_class`` as container limits, so a job that runs out of memory on CircleCI does here.

CircleCI's docker resource classes [CR `resource_class`, docker executor table]:

===============  =====  ========
class            vCPUs  memory
===============  =====  ========
small            1      2 GB
medium (default) 2      4 GB
medium+          3      6 GB
large            4      8 GB
xlarge           8      16 GB
2xlarge          16     32 GB
2xlarge+         20     40 GB
arm.medium       2      8 GB
arm.large        4      16 GB
arm.xlarge       8      32 GB
arm.2xlarge      16     64 GB
===============  =====  ========

Each container of a node gets the class's CPU quota (``NanoCpus``) and memory limit, with swap
at the same value so the limit is the limit; CircleCI shares one budget across all of a job's
containers, which Docker cannot express without a host cgroup, so this is an approximation.
CPUs are capped at the engine's CPU count, with a notice (for a local socket, this machine's count;
an engine in a smaller VM then refuses the container and says its range: use a smaller class or
``--no-resource-limits``). A class runner does not know (a
self-hosted runner class ``namespace/name``, a GPU class) leaves the job unlimited, with a
notice. ``--no-resource-limits`` turns limits off; the PID limit stays, so that a fork bomb in
a step stays inside its container.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from msgspec import Struct, field

GB = 1024**3
DEFAULT_CLASS = "medium"
PIDS_LIMIT = 4096

CLASSES = MappingProxyType(
    {
        "small": (1.0, 2),
        "medium": (2.0, 4),
        "medium+": (3.0, 6),
        "large": (4.0, 8),
        "xlarge": (8.0, 16),
        "2xlarge": (16.0, 32),
        "2xlarge+": (20.0, 40),
        "arm.medium": (2.0, 8),
        "arm.large": (4.0, 16),
        "arm.xlarge": (8.0, 32),
        "arm.2xlarge": (16.0, 64),
    }
)


class Limits(Struct, frozen=True):
    cpus: float | None = None
    memory: int | None = None  # bytes
    pids: int = PIDS_LIMIT

    def host_config(self) -> dict[str, object]:
        config: dict[str, object] = {"pids_limit": self.pids}
        if self.cpus is not None:
            config["nano_cpus"] = int(self.cpus * 1e9)
        if self.memory is not None:
            config["mem_limit"] = self.memory
            config["memswap_limit"] = self.memory
        return config


class LimitPolicy(Struct, frozen=True):
    """How classes become limits; tests pass a smaller table to exercise OOM cheaply."""

    enabled: bool = True
    table: Mapping[str, tuple[float, int]] = field(default_factory=lambda: CLASSES)
    memory_unit: int = GB
    pids: int = PIDS_LIMIT

    def limits_for(
        self, resource_class: str | None, host_cpus: int, notice: Callable[[str], None]
    ) -> Limits:
        if not self.enabled:
            return Limits(pids=self.pids)
        name = resource_class or DEFAULT_CLASS
        if name not in self.table:
            notice(
                f"resource_class {name} has no docker equivalent here: the job runs without "
                "CPU and memory limits"
            )
            return Limits(pids=self.pids)
        cpus, memory = self.table[name]
        if host_cpus and cpus > host_cpus:
            notice(
                f"resource_class {name} asks for {cpus:g} CPUs; the Docker engine has "
                f"{host_cpus}: using {host_cpus}"
            )
            cpus = float(host_cpus)
        return Limits(cpus=cpus, memory=int(memory * self.memory_unit), pids=self.pids)

"""Every executor backend, by the kind a job's config names (``docker:``, ``machine:``).

In the style of pre-commit's ``all_languages.py``: one mapping of kind -> backend, so nothing
outside :mod:`runner.executors` compares kind strings. A backend builds its executor from the
typed :class:`~runner.executors.options.ExecutorOptions`, answers for its own kept
environments, and says what its steps can reach. Backends are imported on first use: the
docker SDK is slow to import and a machine-only run never needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from msgspec import Struct

from runner.errors import EnvironmentFailure
from runner.executors.base import Executor, KillPolicy
from runner.executors.kept import KeptNode, KeptPlace
from runner.executors.options import ExecutorOptions


class Backend(Struct, frozen=True):
    build: Callable[[ExecutorOptions], Executor]
    kept: Callable[[], KeptPlace]
    # Steps reach the host's own Docker: ``setup_remote_docker`` is not for this executor
    # ("setup_remote_docker is not compatible with machine" [CR][RDOCK]).
    own_docker: bool = False
    # ``runner clean``: remove what this backend left for a state directory (its label), and
    # say what it did; None when it leaves nothing outside the state directory
    clean: Callable[[str], list[str]] | None = None


def _machine(options: ExecutorOptions) -> Executor:
    from runner.executors.machine import MachineExecutor

    return MachineExecutor(
        environ=options.environ, pass_env=options.pass_env, keep=options.keep,
        kill=KillPolicy.from_env(options.environ),
    )


def _machine_kept() -> KeptPlace:
    from runner.executors.machine_kept import MachineKept

    return MachineKept()


def _docker(options: ExecutorOptions) -> Executor:
    from runner.executors.docker import DockerExecutor

    return DockerExecutor.from_options(
        environ=options.environ, keep=options.keep, pass_env=options.pass_env,
        options=options.docker,
    )


def _docker_kept() -> KeptPlace:
    from runner.executors.docker.kept import DockerKept

    return DockerKept()


def _docker_clean(state_label: str) -> list[str]:
    try:
        from runner.executors.docker_cleanup import remove_labelled
    except ImportError:
        return []
    return remove_labelled(state_label)


BACKENDS: dict[str, Backend] = {
    "machine": Backend(_machine, _machine_kept, own_docker=True),
    "docker": Backend(_docker, _docker_kept, clean=_docker_clean),
}


def build_executors(kinds: Iterable[str], options: ExecutorOptions) -> dict[str, Executor]:
    """The executors of these kinds, in the registry's order (kinds without a backend here,
    macOS say, get none: the planner has said those jobs cannot run on this machine)."""
    wanted = set(kinds)
    return {kind: b.build(options) for kind, b in BACKENDS.items() if kind in wanted}


def clean_all(state_label: str) -> list[str]:
    """What every backend removed for ``runner clean`` (its lines, in the registry's order)."""
    return [line for b in BACKENDS.values() if b.clean is not None for line in b.clean(state_label)]


def own_docker(kind: str) -> bool:
    backend = BACKENDS.get(kind)
    return backend is not None and backend.own_docker


def kept_place(kind: str) -> KeptPlace | None:
    backend = BACKENDS.get(kind)
    return backend.kept() if backend is not None else None


def place_of(kept: KeptNode) -> KeptPlace:
    place = kept_place(kept.executor)
    if place is None:
        raise EnvironmentFailure(f"{kept.title}: unknown executor {kept.executor!r}")
    return place

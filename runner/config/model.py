"""The normalised, frozen model of a processed config. Pure data: no I/O here.

Everything is already expanded: 2.1 parameters, commands, executors, orbs and matrices are gone
(see ``runner.config.expand``), shorthands are normalised (``- checkout``, ``run: "cmd"``) and
defaults filled in, so executors and the engine never look at YAML. Marks point back to the
original file so that a problem found at run time can still name its line.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import ClassVar, TypeVar

from msgspec import Struct, field

from runner.errors import ConfigProblem, Mark

T = TypeVar("T")

DEFAULT_WORKING_DIRECTORY = "~/project"
DEFAULT_NO_OUTPUT_TIMEOUT = 600.0  # seconds; "no_output_timeout ... 10m" [CR]


def frozen_env(values: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(values or {}))


def frozen_map(values: Mapping[str, T]) -> Mapping[str, T]:
    return MappingProxyType(dict(values))


class Located(Struct, frozen=True, kw_only=True):
    """A part of the config that knows where it was written. Where it was written is not part
    of what it is: two parts equal field by field, apart from ``UNCOMPARED``, are equal (a job
    an orb defines and the same job written out by hand)."""

    UNCOMPARED: ClassVar[frozenset[str]] = frozenset({"mark"})

    def _compared(self) -> tuple[object, ...]:
        return tuple(getattr(self, n) for n in self.__struct_fields__ if n not in self.UNCOMPARED)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Located)
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash(self._compared())


class When(Enum):
    """When a step runs, relative to the failures before it [CR `when`]."""

    ON_SUCCESS = "on_success"
    ALWAYS = "always"
    ON_FAIL = "on_fail"


# ---------------------------------------------------------------- steps


class Step(Located, frozen=True, kw_only=True):
    name: str
    when: When = When.ON_SUCCESS
    mark: Mark | None = None

    KIND: ClassVar[str] = ""  # each kind of step names itself: what ``kind`` answers

    @property
    def kind(self) -> str:
        return self.KIND


class RunStep(Step, frozen=True, kw_only=True):
    """A ``run`` step, or a ``deploy`` step (same keys, run once after every node passed)."""

    command: str
    shell: str | None = None
    environment: Mapping[str, str] = field(default_factory=frozen_env)
    working_directory: str | None = None
    background: bool = False
    no_output_timeout: float = DEFAULT_NO_OUTPUT_TIMEOUT
    deploy: bool = False
    max_auto_reruns: int = 0
    auto_rerun_delay: float = 0.0

    @property
    def kind(self) -> str:
        return "deploy" if self.deploy else "run"


class CheckoutStep(Step, frozen=True, kw_only=True):
    path: str = "."
    method: str = "blobless"

    KIND: ClassVar[str] = "checkout"


class SetupRemoteDockerStep(Step, frozen=True, kw_only=True):
    version: str | None = None
    docker_layer_caching: bool = False

    KIND: ClassVar[str] = "setup_remote_docker"


class SaveCacheStep(Step, frozen=True, kw_only=True):
    paths: tuple[str, ...]
    key: str

    KIND: ClassVar[str] = "save_cache"


class RestoreCacheStep(Step, frozen=True, kw_only=True):
    keys: tuple[str, ...]  # ``key`` first, then ``keys``, in order [CR]

    KIND: ClassVar[str] = "restore_cache"


class PersistToWorkspaceStep(Step, frozen=True, kw_only=True):
    root: str
    paths: tuple[str, ...]

    KIND: ClassVar[str] = "persist_to_workspace"


class AttachWorkspaceStep(Step, frozen=True, kw_only=True):
    at: str

    KIND: ClassVar[str] = "attach_workspace"


class StoreArtifactsStep(Step, frozen=True, kw_only=True):
    path: str
    destination: str | None = None

    KIND: ClassVar[str] = "store_artifacts"


class StoreTestResultsStep(Step, frozen=True, kw_only=True):
    path: str

    KIND: ClassVar[str] = "store_test_results"


class AddSshKeysStep(Step, frozen=True, kw_only=True):
    fingerprints: tuple[str, ...] = ()

    KIND: ClassVar[str] = "add_ssh_keys"


# ---------------------------------------------------------------- executors


class RegistryAuth(Struct, frozen=True, kw_only=True):
    username: str
    password: str


class DockerImage(Located, frozen=True, kw_only=True):
    image: str
    name: str | None = None
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    user: str | None = None
    environment: Mapping[str, str] = field(default_factory=frozen_env)
    auth: RegistryAuth | None = None
    aws_auth: Mapping[str, str] | None = None
    # ``runner run --image FROM=TO`` (runner.config.substitute): the image the config named
    substituted: str | None = None
    mark: Mark | None = None


class DockerExecutor(Struct, frozen=True, kw_only=True):
    images: tuple[DockerImage, ...]

    kind = "docker"

    @property
    def primary(self) -> DockerImage:
        return self.images[0]

    @property
    def services(self) -> tuple[DockerImage, ...]:
        return self.images[1:]


class MachineExecutor(Struct, frozen=True, kw_only=True):
    image: str | None = None  # ``machine: true`` leaves it unset
    docker_layer_caching: bool = False

    kind = "machine"


class ForeignExecutor(Struct, frozen=True, kw_only=True):
    """An executor that cannot run on this machine (macOS, Windows); kept so it can be listed."""

    kind: str  # "macos" | "windows"
    detail: str = ""


Executor = DockerExecutor | MachineExecutor | ForeignExecutor


# ---------------------------------------------------------------- jobs


class Job(Located, frozen=True, kw_only=True):
    name: str
    executor: Executor
    steps: tuple[Step, ...]
    working_directory: str = DEFAULT_WORKING_DIRECTORY
    environment: Mapping[str, str] = field(default_factory=frozen_env)
    shell: str | None = None
    parallelism: int = 1
    resource_class: str | None = None
    mark: Mark | None = None

    @property
    def has_deploy(self) -> bool:
        return any(isinstance(s, RunStep) and s.deploy for s in self.steps)


# ---------------------------------------------------------------- workflows


class Pattern(Struct, frozen=True):
    """A filter pattern: an exact string, or ``/regex/`` matching the entire string [CR]."""

    text: str

    @property
    def is_regex(self) -> bool:
        return len(self.text) >= 2 and self.text.startswith("/") and self.text.endswith("/")

    def matches(self, value: str) -> bool:
        if self.is_regex:
            import re

            return re.fullmatch(self.text[1:-1], value) is not None
        return self.text == value


class RefFilter(Struct, frozen=True, kw_only=True):
    """``filters.branches`` or ``filters.tags``: ``only`` / ``ignore`` lists."""

    only: tuple[Pattern, ...] | None = None
    ignore: tuple[Pattern, ...] = ()

    @property
    def is_set(self) -> bool:
        return self.only is not None or bool(self.ignore)

    def allows(self, value: str) -> bool:
        # "only is considered before ignore" [CR]
        if self.only is not None and not any(p.matches(value) for p in self.only):
            return False
        return not any(p.matches(value) for p in self.ignore)


class Filters(Struct, frozen=True, kw_only=True):
    branches: RefFilter = RefFilter()
    tags: RefFilter = RefFilter()


class WorkflowJob(Located, frozen=True, kw_only=True):
    """One entry of a workflow's ``jobs`` list, after matrix and name expansion."""

    name: str  # unique in the workflow; what ``requires`` refers to
    job: str  # the job it runs (for approvals: the approval's own name)
    requires: tuple[str, ...] = ()
    # newer map form of requires: the statuses that satisfy each requirement [CR]
    requires_status: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    filters: Filters = Filters()
    contexts: tuple[str, ...] = ()
    approval: bool = False
    no_op: bool = False  # ``type: no-op``: runs nothing, passes at once
    aliases: tuple[str, ...] = ()  # matrix alias this entry answers to, besides its name
    mark: Mark | None = None


class Trigger(Struct, frozen=True, kw_only=True):
    cron: str
    filters: Filters = Filters()


class Workflow(Located, frozen=True, kw_only=True):
    name: str
    jobs: tuple[WorkflowJob, ...]
    triggers: tuple[Trigger, ...] = ()
    enabled: bool = True  # False when a 2.1 ``when``/``unless`` turned it off
    mark: Mark | None = None

    @property
    def scheduled(self) -> bool:
        # "a scheduled workflow runs only on schedule, never on commits" [CR][WF]
        return bool(self.triggers)


class Config(Located, frozen=True, kw_only=True):
    version: str  # "2", "2.0" or "2.1"
    jobs: Mapping[str, Job]
    workflows: Mapping[str, Workflow] = field(default_factory=lambda: MappingProxyType({}))
    file: str = ".circleci/config.yml"
    setup: bool = False  # ``setup: true``: a dynamic config's setup file (2.1)
    # What CircleCI accepts but ignores, and what runs but maybe not as the author meant (each
    # located, as a problem is): printed by validate, plan and run, never refused
    warnings: tuple[ConfigProblem, ...] = ()

    UNCOMPARED: ClassVar[frozenset[str]] = frozenset({"warnings"})

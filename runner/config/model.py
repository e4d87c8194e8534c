"""The normalised, frozen model of a processed config. Pure data: no I/O here.

Everything is already expanded: 2.1 parameters, commands, executors, orbs and matrices are gone
(see ``runner.config.expand``), shorthands are normalised (``- checkout``, ``run: "cmd"``) and
defaults filled in, so executors and the engine never look at YAML. Marks point back to the
original file so that a problem found at run time can still name its line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import ClassVar, TypeVar

from runner.errors import ConfigProblem, Mark

T = TypeVar("T")

DEFAULT_WORKING_DIRECTORY = "~/project"
DEFAULT_NO_OUTPUT_TIMEOUT = 600.0  # seconds; "no_output_timeout ... 10m" [CR]


def frozen_env(values: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(values or {}))


def frozen_map(values: Mapping[str, T]) -> Mapping[str, T]:
    return MappingProxyType(dict(values))


class When(Enum):
    """When a step runs, relative to the failures before it [CR `when`]."""

    ON_SUCCESS = "on_success"
    ALWAYS = "always"
    ON_FAIL = "on_fail"


# ---------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    name: str
    when: When = When.ON_SUCCESS
    mark: Mark | None = field(default=None, compare=False)

    KIND: ClassVar[str] = ""  # each kind of step names itself: what ``kind`` answers

    @property
    def kind(self) -> str:
        return self.KIND


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStep(Step):
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


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckoutStep(Step):
    path: str = "."
    method: str = "blobless"

    KIND: ClassVar[str] = "checkout"


@dataclass(frozen=True, slots=True, kw_only=True)
class SetupRemoteDockerStep(Step):
    version: str | None = None
    docker_layer_caching: bool = False

    KIND: ClassVar[str] = "setup_remote_docker"


@dataclass(frozen=True, slots=True, kw_only=True)
class SaveCacheStep(Step):
    paths: tuple[str, ...]
    key: str

    KIND: ClassVar[str] = "save_cache"


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreCacheStep(Step):
    keys: tuple[str, ...]  # ``key`` first, then ``keys``, in order [CR]

    KIND: ClassVar[str] = "restore_cache"


@dataclass(frozen=True, slots=True, kw_only=True)
class PersistToWorkspaceStep(Step):
    root: str
    paths: tuple[str, ...]

    KIND: ClassVar[str] = "persist_to_workspace"


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachWorkspaceStep(Step):
    at: str

    KIND: ClassVar[str] = "attach_workspace"


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreArtifactsStep(Step):
    path: str
    destination: str | None = None

    KIND: ClassVar[str] = "store_artifacts"


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreTestResultsStep(Step):
    path: str

    KIND: ClassVar[str] = "store_test_results"


@dataclass(frozen=True, slots=True, kw_only=True)
class AddSshKeysStep(Step):
    fingerprints: tuple[str, ...] = ()

    KIND: ClassVar[str] = "add_ssh_keys"


# ---------------------------------------------------------------- executors


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistryAuth:
    username: str
    password: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DockerImage:
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
    mark: Mark | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class DockerExecutor:
    images: tuple[DockerImage, ...]

    kind = "docker"

    @property
    def primary(self) -> DockerImage:
        return self.images[0]

    @property
    def services(self) -> tuple[DockerImage, ...]:
        return self.images[1:]


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineExecutor:
    image: str | None = None  # ``machine: true`` leaves it unset
    docker_layer_caching: bool = False

    kind = "machine"


@dataclass(frozen=True, slots=True, kw_only=True)
class ForeignExecutor:
    """An executor that cannot run on this machine (macOS, Windows); kept so it can be listed."""

    kind: str  # "macos" | "windows"
    detail: str = ""


Executor = DockerExecutor | MachineExecutor | ForeignExecutor


# ---------------------------------------------------------------- jobs


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    name: str
    executor: Executor
    steps: tuple[Step, ...]
    working_directory: str = DEFAULT_WORKING_DIRECTORY
    environment: Mapping[str, str] = field(default_factory=frozen_env)
    shell: str | None = None
    parallelism: int = 1
    resource_class: str | None = None
    mark: Mark | None = field(default=None, compare=False)

    @property
    def has_deploy(self) -> bool:
        return any(isinstance(s, RunStep) and s.deploy for s in self.steps)


# ---------------------------------------------------------------- workflows


@dataclass(frozen=True, slots=True)
class Pattern:
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


@dataclass(frozen=True, slots=True, kw_only=True)
class RefFilter:
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Filters:
    branches: RefFilter = RefFilter()
    tags: RefFilter = RefFilter()


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowJob:
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
    mark: Mark | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Trigger:
    cron: str
    filters: Filters = Filters()


@dataclass(frozen=True, slots=True, kw_only=True)
class Workflow:
    name: str
    jobs: tuple[WorkflowJob, ...]
    triggers: tuple[Trigger, ...] = ()
    enabled: bool = True  # False when a 2.1 ``when``/``unless`` turned it off
    mark: Mark | None = field(default=None, compare=False)

    @property
    def scheduled(self) -> bool:
        # "a scheduled workflow runs only on schedule, never on commits" [CR][WF]
        return bool(self.triggers)


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    version: str  # "2", "2.0" or "2.1"
    jobs: Mapping[str, Job]
    workflows: Mapping[str, Workflow] = field(default_factory=lambda: MappingProxyType({}))
    file: str = ".circleci/config.yml"
    setup: bool = False  # ``setup: true``: a dynamic config's setup file (2.1)
    # What CircleCI accepts but ignores, and what runs but maybe not as the author meant (each
    # located, as a problem is): printed by validate, plan and run, never refused
    warnings: tuple[ConfigProblem, ...] = field(default=(), compare=False)

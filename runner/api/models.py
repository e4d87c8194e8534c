"""Pydantic models of request and response bodies: they make ``/openapi.json`` describe every
endpoint. Responses are built as dicts (``shapes_v1``/``shapes_v2``) and checked against them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    message: str = Field(description="What was wrong, as CircleCI words its errors.")


class JobTriggerBody(BaseModel):
    """v1.1 trigger, as JSON; the same fields are accepted as form fields
    (``build_parameters[NAME]=value``, ``revision=...``, ``parallel=...``)."""

    model_config = ConfigDict(extra="allow")
    build_parameters: dict[str, Any] | None = Field(
        default=None, description="Environment variables; CIRCLE_JOB names the job ('build')."
    )
    job: str | None = Field(default=None, description="The job (project endpoint only).")
    revision: str | None = None
    tag: str | None = Field(default=None, description="Project endpoint only; not with revision.")
    branch: str | None = Field(default=None, description="Project endpoint only; not with tag.")
    parallel: int | None = Field(default=None, ge=1, le=100)


class User(BaseModel):
    login: str
    is_user: bool = True


class BuildSummary(BaseModel):
    build_num: int | None
    build_url: str
    status: str
    lifecycle: str
    outcome: str | None
    job_name: str
    workflow_name: str | None = None
    branch: str | None
    vcs_tag: str | None = None
    vcs_revision: str | None
    vcs_url: str | None
    username: str
    reponame: str
    parallel: int
    why: str
    queued_at: str | None
    start_time: str | None
    stop_time: str | None
    build_time_millis: int | None
    canceled: bool
    failed: bool | None
    timedout: bool
    infrastructure_fail: bool
    build_parameters: dict[str, str] | None = None
    retry_of: int | None = None
    previous: dict[str, Any] | None = None
    dont_build: str | None = None
    user: User
    messages: list[str] = []
    run: int = Field(description="runner's run number (see `runner history`).")


class Action(BaseModel):
    name: str
    index: int = Field(description="The node (CIRCLE_NODE_INDEX).")
    step: int
    type: str
    status: str
    exit_code: int | None
    start_time: str | None
    end_time: str | None
    run_time_millis: int | None
    failed: bool | None = None
    timedout: bool | None = None
    canceled: bool | None = None
    infrastructure_fail: bool | None = None
    has_output: bool
    output_url: str = Field(description="The step's output on this node: a JSON list of "
                            "{message, time, type} (text with Accept: text/plain).")
    messages: list[str] = []


class Step(BaseModel):
    name: str
    actions: list[Action]


class BuildDetail(BuildSummary):
    steps: list[Step]


class PipelineTriggerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    branch: str | None = Field(default=None, description="Not with tag.")
    tag: str | None = Field(default=None, description="Not with branch.")
    checkout_sha: str | None = Field(
        default=None, description="The commit to build (a full or short id, or any git "
        "revision); an unknown one is a 400. Default: the tag's commit, the branch's head "
        "when it is not the branch checked out here, else the working tree."
    )
    parameters: dict[str, Any] | None = Field(
        default=None, description="Declared pipeline parameters: at most 100, keys up to 128 and "
        "values up to 512 characters."
    )


class PipelineCreated(BaseModel):
    id: str
    state: str
    number: int
    created_at: str | None


class Actor(BaseModel):
    login: str
    avatar_url: str | None = None


class Trigger(BaseModel):
    type: str
    received_at: str | None
    actor: Actor


class Vcs(BaseModel):
    provider_name: str
    origin_repository_url: str | None
    target_repository_url: str | None
    revision: str | None
    branch: str | None = None
    tag: str | None = None


class Pipeline(BaseModel):
    id: str
    errors: list[dict[str, str]]
    project_slug: str
    number: int
    state: str
    created_at: str | None
    updated_at: str | None
    trigger_parameters: dict[str, Any] = {}
    trigger: Trigger
    vcs: Vcs


class Workflow(BaseModel):
    pipeline_id: str
    id: str
    name: str
    project_slug: str
    status: str
    started_by: str
    pipeline_number: int
    created_at: str | None
    stopped_at: str | None


class WorkflowList(BaseModel):
    items: list[Workflow]
    next_page_token: str | None = None


class Job(BaseModel):
    id: str
    name: str
    job_number: int | None
    project_slug: str
    status: str
    type: str
    dependencies: list[str]
    started_at: str | None
    stopped_at: str | None


class JobList(BaseModel):
    items: list[Job]
    next_page_token: str | None = None


class Message(BaseModel):
    message: str


class OutputMessage(BaseModel):
    """One entry of a step's ``output_url`` answer [APIV1]."""

    message: str
    time: str | None
    type: str = Field(description="out (runner stores stdout and stderr together)")
    truncated: bool = False


class ArtifactV1(BaseModel):
    path: str
    pretty_path: str
    node_index: int
    url: str = Field(description="Downloads the file from this server (token needed).")


class ArtifactV2(BaseModel):
    path: str
    node_index: int
    url: str


class ArtifactList(BaseModel):
    items: list[ArtifactV2]
    next_page_token: str | None = None


class TestCase(BaseModel):
    classname: str
    file: str | None
    name: str
    result: str
    message: str | None
    run_time: float
    source: str


class TestsV1(BaseModel):
    tests: list[TestCase]


class TestList(BaseModel):
    items: list[TestCase]
    next_page_token: str | None = None


class MeV1(BaseModel):
    login: str
    name: str
    admin: bool = False
    basic_email_prefs: str = "none"
    avatar_url: str | None = None
    projects: dict[str, Any] = {}


class MeV2(BaseModel):
    id: str
    login: str
    name: str


class ProjectV1(BaseModel):
    vcs_url: str | None
    vcs_type: str
    username: str
    reponame: str
    default_branch: str | None
    following: bool = True
    oss: bool = False
    branches: dict[str, Any]


class VcsInfo(BaseModel):
    vcs_url: str | None
    provider: str
    default_branch: str | None


class ProjectV2(BaseModel):
    slug: str
    name: str
    id: str
    organization_name: str
    organization_slug: str
    organization_id: str
    vcs_info: VcsInfo


class PipelineList(BaseModel):
    items: list[Pipeline]
    next_page_token: str | None = None


class PipelineConfig(BaseModel):
    source: str = Field(description="The config as the run read it.")
    compiled: str = Field(description="After 2.1 processing, as runner runs it.")
    setup_config: str | None = Field(default=None, alias="setup-config")
    compiled_setup_config: str | None = Field(default=None, alias="compiled-setup-config")


class RerunBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    from_failed: bool = False
    jobs: list[str] | None = None
    enable_ssh: bool = False
    sparse_tree: bool = False


class RerunAnswer(BaseModel):
    workflow_id: str


class JobDetail(BaseModel):
    number: int | None
    name: str
    status: str
    web_url: str
    project: dict[str, Any]
    pipeline: dict[str, Any]
    latest_workflow: dict[str, Any]
    parallel_runs: list[dict[str, Any]]
    parallelism: int
    executor: dict[str, Any]
    contexts: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    organization: dict[str, Any]
    created_at: str | None
    queued_at: str | None
    started_at: str | None
    stopped_at: str | None
    duration: int | None

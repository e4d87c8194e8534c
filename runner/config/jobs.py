"""Jobs and executors of a processed (version 2 shaped) config, into the frozen model.

Keys and defaults follow the configuration reference [CR]; each check cites its rule where it
is not obvious.
"""

from __future__ import annotations

from typing import Any

from runner.config import model as m
from runner.config.reader import Reader, join, kind_of
from runner.config.steps import read_steps
from runner.config.yaml import MDict, MList
from runner.errors import Mark

JOB_KEYS = (
    "docker",
    "machine",
    "macos",
    "resource_class",
    "parallelism",
    "working_directory",
    "environment",
    "shell",
    "steps",
    "branches",
    "type",
    "description",
    "circleci_ip_ranges",
    "retention",
)
# ``ports`` is not in the reference but CircleCI 2.0 accepted it (real configs carry it);
# services share the primary's network namespace here, so every port is reachable anyway.
IMAGE_KEYS = (
    "image",
    "name",
    "entrypoint",
    "command",
    "user",
    "environment",
    "auth",
    "aws_auth",
    "gcp_auth",
    "docker_layer_caching",
    "ports",
)
MACHINE_KEYS = ("image", "docker_layer_caching", "enabled", "shell", "resource_class")
MAX_PARALLELISM = 256


def read_jobs(r: Reader, root: MDict) -> dict[str, m.Job]:
    jobs_node = root.get("jobs")
    if "jobs" not in root:
        r.problem(root.mark, "", "missing required key 'jobs'")
        return {}
    jobs = r.mapping(jobs_node, root.mark_of("jobs"), "jobs")
    if jobs is None:
        return {}
    out: dict[str, m.Job] = {}
    for name, node in jobs.items():
        if not name.strip():  # it could never be named on the command line or in a workflow
            r.problem(jobs.key_mark_of(name), "jobs", f"a job name cannot be blank: '{name}'")
            continue
        job = read_job(r, name, node, jobs.mark_of(name))
        if job is not None:
            out[name] = job
    return out


def read_job(r: Reader, name: str, value: Any, mark: Mark) -> m.Job | None:
    path = join("jobs", name)
    node = r.mapping(value, mark, path, " of job keys")
    if node is None:
        return None
    r.keys(node, path, JOB_KEYS, what="job key")
    job_type = r.string(node, "type", path, default="build")
    if job_type == "approval":
        r.problem(
            node.mark_of("type"),
            join(path, "type"),
            "'approval' is a type of workflow job, not of a job under 'jobs'",
            "set 'type: approval' on the job's entry in the workflow",
        )
    executor = read_executor(r, node, path)
    steps = read_steps(r, node, path)
    working_directory = r.string(
        node, "working_directory", path, default=m.DEFAULT_WORKING_DIRECTORY, allow_empty=False
    )
    if executor is None:
        return None
    return m.Job(
        name=name,
        executor=executor,
        steps=steps,
        working_directory=working_directory,
        environment=m.frozen_env(r.environment(node, "environment", path)),
        shell=r.string(node, "shell", path, default=None, allow_empty=False),
        parallelism=r.integer(
            node, "parallelism", path, default=1, minimum=1, maximum=MAX_PARALLELISM
        ),
        resource_class=r.string(node, "resource_class", path, default=None),
        mark=mark,
    )


# ---------------------------------------------------------------- executors


def read_executor(r: Reader, node: MDict, path: str) -> m.Executor | None:
    present = [k for k in node if k in ("docker", "machine", "macos")]
    if not present:
        r.problem(
            node.mark,
            path,
            "a job needs an executor: 'docker', 'machine' or 'macos'",
        )
        return None
    if len(present) > 1:
        # "If you set more than one, CircleCI returns an error" [CR]
        r.problem(
            node.key_mark_of(present[1]),
            join(path, present[1]),
            f"a job has exactly one executor; found {' and '.join(present)}",
        )
        return None
    kind = present[0]
    if kind == "docker":
        return read_docker(r, node, path)
    if kind == "macos":
        xcode = ""
        macos = node["macos"]
        if isinstance(macos, MDict):
            xcode = macos.text("xcode") or ""
        return m.ForeignExecutor(kind="macos", detail=f"xcode {xcode}".strip())
    return read_machine(r, node, path)


def read_docker(r: Reader, node: MDict, path: str) -> m.DockerExecutor | None:
    where = join(path, "docker")
    images = node["docker"]
    if not isinstance(images, MList) or not images:
        r.problem(
            node.mark_of("docker"),
            where,
            f"expected a list of images, found {kind_of(images)}",
            "docker:\n  - image: cimg/base:stable",
        )
        return None
    out: list[m.DockerImage] = []
    for index, item in enumerate(images):
        image = read_image(r, item, images.mark_of(index), join(where, index))
        if image is not None:
            out.append(image)
    return m.DockerExecutor(images=tuple(out)) if len(out) == len(images) else None


def read_image(r: Reader, value: Any, mark: Mark, path: str) -> m.DockerImage | None:
    node = r.mapping(value, mark, path, " with an 'image' key")
    if node is None:
        return None
    r.keys(node, path, IMAGE_KEYS, required=("image",))
    image = r.string(node, "image", path, default=None, allow_empty=False)
    if image is None:
        return None
    auth = None
    if "auth" in node:
        auth_node = r.mapping(node["auth"], node.mark_of("auth"), join(path, "auth"))
        if auth_node is not None:
            r.keys(
                auth_node, join(path, "auth"), ("username", "password"), ("username", "password")
            )
            auth = m.RegistryAuth(
                username=r.string(auth_node, "username", join(path, "auth"), default=""),
                password=r.string(auth_node, "password", join(path, "auth"), default=""),
            )
    aws_auth = None
    if "aws_auth" in node:
        aws_node = r.mapping(node["aws_auth"], node.mark_of("aws_auth"), join(path, "aws_auth"))
        if aws_node is not None:
            r.keys(
                aws_node,
                join(path, "aws_auth"),
                ("aws_access_key_id", "aws_secret_access_key", "oidc_role_arn"),
            )
            aws_auth = m.frozen_env(r.environment(node, "aws_auth", path))
    return m.DockerImage(
        image=image,
        name=r.string(node, "name", path, default=None, allow_empty=False),
        entrypoint=r.command_words(node, "entrypoint", path),
        command=r.command_words(node, "command", path),
        user=r.string(node, "user", path, default=None, allow_empty=False),
        environment=m.frozen_env(r.environment(node, "environment", path)),
        auth=auth,
        aws_auth=aws_auth,
        mark=mark,
    )


def read_machine(r: Reader, node: MDict, path: str) -> m.Executor | None:
    where = join(path, "machine")
    value = node["machine"]
    if value is True or (isinstance(value, str) and value.lower() in ("true", "yes", "on")):
        return m.MachineExecutor()  # deprecated ``machine: true`` [CR]
    if value is False:
        r.problem(node.mark_of("machine"), where, "'machine: false' gives the job no executor")
        return None
    machine = r.mapping(value, node.mark_of("machine"), where, " or true")
    if machine is None:
        return None
    r.keys(machine, where, MACHINE_KEYS)
    image = r.string(machine, "image", where, default=None, allow_empty=False)
    resource = r.string(node, "resource_class", path, default="") or ""
    if (image or "").startswith("windows") or resource.startswith("windows"):
        return m.ForeignExecutor(kind="windows", detail=image or resource)
    return m.MachineExecutor(
        image=image,
        docker_layer_caching=r.boolean(machine, "docker_layer_caching", where),
    )


# ---------------------------------------------------------------- steps

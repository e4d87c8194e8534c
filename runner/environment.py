"""The environment of one job node, pure: built-in variables and CircleCI's precedence.

Precedence, highest first [ENV]: the step's ``environment``, the job's ``environment`` (executor
environments already merged in by 2.1 processing), built-in variables, contexts, then
project-level variables. runner's ``-e``/``--env-file`` values play the part of project-level
variables, and so do API ``build_parameters``, which "will not override values defined in
config.yml nor in the project settings" [ENV-2020]. The node's own variables (PATH, HOME from
the executor) sit below all of these.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from msgspec import Struct

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class NodeFacts(Struct, frozen=True, kw_only=True):
    """What the built-in variables of one node are made of."""

    job_name: str
    node_index: int
    node_total: int
    build_num: int
    working_directory: str  # as written: CIRCLE_WORKING_DIRECTORY keeps the tilde (#387)
    home: str = ""  # the three places a session knows, filled in once it is open
    bash_env: str = ""
    task_data: str = ""
    branch: str = ""
    sha: str = ""
    tag: str = ""
    repository_url: str = ""
    username: str = ""
    reponame: str = ""
    workflow_id: str = ""
    workflow_job_id: str = ""
    pipeline_id: str = ""
    build_url: str = ""
    user: str = ""


def builtin_variables(facts: NodeFacts) -> dict[str, str]:
    """CircleCI's built-in variables for a node [VARS][BIV-2021]; empty facts are left out."""
    values = {
        "CI": "true",
        "CIRCLECI": "true",
        "CIRCLE_BRANCH": facts.branch,
        "CIRCLE_SHA1": facts.sha,
        "CIRCLE_TAG": facts.tag,
        "CIRCLE_JOB": facts.job_name,
        "CIRCLE_NODE_INDEX": str(facts.node_index),
        "CIRCLE_NODE_TOTAL": str(facts.node_total),
        "CIRCLE_BUILD_NUM": str(facts.build_num),
        "CIRCLE_BUILD_URL": facts.build_url,
        "CIRCLE_WORKING_DIRECTORY": facts.working_directory,
        "CIRCLE_PROJECT_USERNAME": facts.username,
        "CIRCLE_PROJECT_REPONAME": facts.reponame,
        "CIRCLE_REPOSITORY_URL": facts.repository_url,
        "CIRCLE_USERNAME": facts.user,
        "CIRCLE_WORKFLOW_ID": facts.workflow_id,
        "CIRCLE_WORKFLOW_JOB_ID": facts.workflow_job_id,
        "CIRCLE_WORKFLOW_WORKSPACE_ID": facts.workflow_id,
        "CIRCLE_PIPELINE_ID": facts.pipeline_id,
        "CIRCLE_INTERNAL_TASK_DATA": facts.task_data,
        "BASH_ENV": facts.bash_env,
        "CIRCLE_SHELL_ENV": facts.bash_env,
        "HOME": facts.home,
    }
    always = {
        "CI",
        "CIRCLECI",
        "CIRCLE_JOB",
        "CIRCLE_NODE_INDEX",
        "CIRCLE_NODE_TOTAL",
        "CIRCLE_BUILD_NUM",
        "CIRCLE_WORKING_DIRECTORY",
        "BASH_ENV",
        "HOME",
        "CIRCLE_BRANCH",
        "CIRCLE_SHA1",
    }
    return {k: v for k, v in values.items() if v or k in always}


def node_environment(
    *,
    base: Mapping[str, str],
    project: Mapping[str, str],
    contexts: Mapping[str, str],
    builtins: Mapping[str, str],
    job: Mapping[str, str],
) -> dict[str, str]:
    """Lowest first; each layer overrides the ones before it."""
    env: dict[str, str] = {}
    for layer in (base, project, contexts, builtins, job):
        env.update(layer)
    return env


def step_environment(node: Mapping[str, str], step: Mapping[str, str]) -> dict[str, str]:
    # run step ``environment`` is "locally scoped to command" and wins over the job's [CR][ENV]
    return {**node, **step} if step else dict(node)


def parse_assignment(text: str) -> tuple[str, str]:
    """``NAME=value`` (from ``-e``), with a clear error for anything else."""
    name, sep, value = text.partition("=")
    if not sep or not NAME.match(name):
        shown = f"{name}=..." if sep else text  # the value may be a secret: never repeat it
        raise ValueError(f"expected NAME=value with a valid variable name, got {shown!r}")
    return name, value


def parse_env_file(text: str, source: str) -> dict[str, str]:
    """A dotenv file: ``NAME=value`` lines, ``export`` allowed, ``#`` comments, quotes stripped."""
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        try:
            name, value = parse_assignment(line)
        except ValueError as exc:
            raise ValueError(f"{source}:{number}: {exc}") from None
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
            if raw.strip().split("=", 1)[1].strip().startswith('"'):
                value = value.replace("\\n", "\n").replace('\\"', '"')
        out[name] = value
    return out

"""The in-job helper: ``circleci`` and ``circleci-agent`` on the PATH of every job node.

At node start runner puts, under ``$CIRCLE_INTERNAL_TASK_DATA`` (as ``NodeSpec.task_files``,
which each executor writes while it sets the node up): ``bin/circleci`` and
``bin/circleci-agent`` (one POSIX sh script, :file:`runner/assets/circleci`) and, when earlier
successful runs of this job stored test results, ``circle-test-results/results.json`` with
their timings, as the job's snapshot taken when it started (:mod:`runner.store.job_timings`),
the same for every node. ``bin`` goes first on the node's PATH. CircleCI's CLI proxies
``circleci tests`` to the agent inside a job [CLI].
"""

from __future__ import annotations

from collections.abc import MutableMapping
from importlib import resources

from runner.executors.base import Session, TaskFile
from runner.steps.context import RunServices

COMMANDS = ("circleci", "circleci-agent")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def helper_script() -> str:
    return resources.files("runner.assets").joinpath("circleci").read_text()


def task_files(services: RunServices, job_id: str) -> tuple[TaskFile, ...]:
    """The helper under both names, and the timing data this job run started with, if any.

    Executors write these while they set the node up (see ``NodeSpec.task_files``), so the
    helper costs no extra round trip to a container."""
    script = helper_script()
    files = [TaskFile(f"bin/{command}", script, 0o755) for command in COMMANDS]
    timings = services.timings.snapshot(job_id)
    if timings is not None:
        files.append(TaskFile("circle-test-results/results.json", timings.decode(), 0o644))
    return tuple(files)


def prepare_node(session: Session, env: MutableMapping[str, str]) -> None:
    """Put the helper, installed under the node's task data at open, first on the PATH."""
    task_data = session.task_data.rstrip("/")
    env["PATH"] = f"{task_data}/bin:{env.get('PATH') or DEFAULT_PATH}"

"""The in-job helper: ``circleci`` and ``circleci-agent`` on the PATH of every job node.

At node start runner puts, under ``$CIRCLE_INTERNAL_TASK_DATA`` (through ``put_archive``, so
both executors get it the same way): ``bin/circleci`` and ``bin/circleci-agent`` (one POSIX sh
script, :file:`runner/assets/circleci`) and, when earlier successful runs of this job stored
test results, ``circle-test-results/results.json`` with their timings. ``bin`` goes first on
the node's PATH. CircleCI's CLI proxies ``circleci tests`` to the agent inside a job [CLI].
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import MutableMapping
from importlib import resources

from runner.environment import NodeFacts
from runner.executors.base import Session
from runner.steps.context import RunServices
from runner.store.test_results import TimingStore

COMMANDS = ("circleci", "circleci-agent")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def helper_script() -> bytes:
    return resources.files("runner.assets").joinpath("circleci").read_bytes()


def _add(archive: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = int(time.time())
    archive.addfile(info, io.BytesIO(data))


def task_data_archive(timings: bytes | None) -> bytes:
    buffer = io.BytesIO()
    script = helper_script()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for command in COMMANDS:
            _add(archive, f"bin/{command}", script, 0o755)
        if timings is not None:
            _add(archive, "circle-test-results/results.json", timings, 0o644)
    return buffer.getvalue()


def prepare_node(
    session: Session, env: MutableMapping[str, str], services: RunServices, facts: NodeFacts
) -> None:
    """Install the helper and this job's timing data in the node; put the helper on PATH."""
    timings = TimingStore(services.state.root / "timings").results_json(facts.job_name)
    task_data = session.task_data.rstrip("/")
    session.put_archive(task_data, io.BytesIO(task_data_archive(timings)))
    env["PATH"] = f"{task_data}/bin:{env.get('PATH') or DEFAULT_PATH}"

"""A job's stored artifacts and test results, as CircleCI's API lists them [APIV1][APIDEV].

Artifacts are the files ``store_artifacts`` copied to ``runs/<run>/artifacts/<job>/<node>/``;
each is listed with its path (below the ``destination``), its node and a URL that downloads it
from this server (with the token, as circleci.com's artifact URLs need one for private
projects). Tests are the JUnit cases ``store_test_results`` kept, read again from the files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from msgspec import Struct

from runner.api.projects import ServedProject
from runner.names import name_form
from runner.store.history import JobRow
from runner.store.state import StateDir
from runner.store.test_results import parse_results

MAX_LISTED = 10_000  # files per job: enough for any real job, bounded for a hostile one


class Artifact(Struct, frozen=True):
    node: int
    path: str  # relative to the node's artifact folder, with '/'
    file: Path


def _job_dir(project: ServedProject, job: JobRow, kind: str) -> Path:
    # the folder store.artifacts writes: the injective form of the job name (issue 14)
    return StateDir(project.state_root).run_dir(job.run) / kind / name_form(job.job)


def artifacts(project: ServedProject, job: JobRow) -> list[Artifact]:
    base = _job_dir(project, job, "artifacts")
    out: list[Artifact] = []
    nodes = sorted((p for p in base.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)) \
        if base.is_dir() else []
    for node_dir in nodes:
        for path in sorted(node_dir.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue  # links were dropped or kept inside; never served through
            out.append(Artifact(int(node_dir.name), path.relative_to(node_dir).as_posix(), path))
            if len(out) >= MAX_LISTED:
                return out
    return out


def artifact_file(project: ServedProject, job: JobRow, node: int, path: str) -> Path | None:
    """The stored file a download URL names, only if it lies in that node's artifacts."""
    folder = (_job_dir(project, job, "artifacts") / str(node)).resolve()
    candidate = (folder / path).resolve()
    if not candidate.is_relative_to(folder) or candidate == folder or not candidate.is_file():
        return None
    return candidate


def artifact_json(item: Artifact, url_base: str) -> dict[str, Any]:
    """v1.1's and v2's artifact entry: ``path``, ``pretty_path`` (v1.1), ``node_index``,
    ``url``."""
    return {
        "path": item.path,
        "pretty_path": item.path,
        "node_index": item.node,
        "url": f"{url_base}/{item.node}/{quote(item.path)}",
    }


def tests(project: ServedProject, job: JobRow) -> list[dict[str, Any]]:
    """Every test case of the job, as CircleCI's test metadata: ``classname``, ``file``,
    ``name``, ``result``, ``message``, ``run_time``, ``source``."""
    base = _job_dir(project, job, "test-results")
    if not base.is_dir():
        return []
    summary = parse_results(base)
    return [
        {
            "classname": case.classname,
            "file": case.file or None,
            "name": case.name,
            "result": case.result,
            "message": case.message or None,
            "run_time": case.time,
            "source": "unknown",
            "source_type": "unknown",
        }
        for case in summary.cases[:MAX_LISTED]
    ]

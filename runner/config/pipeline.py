"""Pipeline values (``<< pipeline.* >>``) for a local run, keyed by their full dotted name [PV].

CircleCI sets them when it creates a pipeline; the official CLI fabricates them for local use
(``pipeline.id`` ``00000000-0000-0000-0000-000000000001``, ``pipeline.number`` 1, git values from
the checkout) [CLI config/pipeline.go]. The CLI edge reads git; this module only shapes values.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

LOCAL_PIPELINE_ID = "00000000-0000-0000-0000-000000000001"
TRIGGER_SOURCES = ("webhook", "api", "scheduled_pipeline")
_SCHEDULES = uuid.UUID("6f1c1f52-3b3e-4c3a-9d0e-2a6e1d3b7c15")
_HOST = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:[^@/]+@)?([^/:]+)", re.IGNORECASE)


def project_type(git_url: str) -> str:
    """``github``, ``bitbucket`` or ``gitlab`` from the remote's host; ``local`` otherwise."""
    match = _HOST.match(git_url.strip())
    host = match.group(1).lower() if match else ""
    for kind in ("github", "bitbucket", "gitlab"):
        if kind in host:
            return kind
    return "local"


def pipeline_values(
    *, branch: str, tag: str, revision: str, git_url: str, number: int, pipeline_id: str,
    trigger_source: str = "webhook", schedule: str = "",
) -> dict[str, Any]:
    """``trigger_source`` is one of CircleCI's "current values" ``webhook`` (a push: what a plain
    ``runner run`` stands for), ``api`` or ``scheduled_pipeline``; ``schedule`` names the
    schedule of a scheduled pipeline, else "empty string" [PV pipeline-values.adoc]."""
    return {
        "pipeline.id": pipeline_id,
        "pipeline.number": number,
        "pipeline.project.git_url": git_url,
        "pipeline.project.type": project_type(git_url),
        # "pipeline.git.branch" is empty for a tag pipeline [PV]
        "pipeline.git.branch": "" if tag else branch,
        "pipeline.git.tag": tag,
        "pipeline.git.revision": revision,
        "pipeline.git.base_revision": "",  # "not present" for a first build or an API trigger
        "pipeline.trigger_source": trigger_source,
        "pipeline.schedule.name": schedule,
        # a schedule's id is CircleCI's UUID; a stable one derived from its name stands in
        "pipeline.schedule.id": str(uuid.uuid5(_SCHEDULES, schedule)) if schedule else "",
    }


# What ``<< pipeline.* >>`` reads when the caller gave no values (tests, ``config process``).
DEFAULT_VALUES: dict[str, Any] = pipeline_values(
    branch="", tag="", revision="", git_url="", number=1, pipeline_id=LOCAL_PIPELINE_ID)

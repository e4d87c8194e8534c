"""Documented CircleCI endpoints that cannot apply to runner, answered in CircleCI's error shape
(``{"message": ...}``) with what to do instead, never a bare 404 [APIV1][APIDEV].

runner keeps no project settings, environment variables, SSH or checkout keys, contexts or
schedules on a server (they live in files and flags on this machine), and an approval cannot be
given after the run stopped at it. The status is 501 (Not Implemented): the path is right, the
server cannot do it; clients that retry on 5xx answers do not retry on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from runner.api import models
from runner.api.errors import ApiError
from runner.api.routes_v1 import ERRORS

router = APIRouter(tags=["not available locally"], responses=ERRORS)
V1 = "/api/v1.1/project/{vcs}/{org}/{repo}"
V2 = "/api/v2/project/{vcs}/{org}/{repo}"
NOT_HERE: dict[int | str, dict[str, Any]] = {
    501: {"model": models.ErrorBody, "description": "Cannot apply to runner"}
}

# (methods, path, what the answer says)
_ROUTES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("GET", "POST"), V1 + "/envvar",
     "project variables are not kept by the server: pass them to `runner run` with -e NAME "
     "or --env-file FILE"),
    (("GET", "DELETE"), V1 + "/envvar/{name}", "project variables are not kept by the server"),
    (("GET", "POST"), V2 + "/envvar", "project variables are not kept by the server"),
    (("GET", "DELETE"), V2 + "/envvar/{name}", "project variables are not kept by the server"),
    (("GET", "POST"), V1 + "/checkout-key",
     "checkout keys do not apply: checkout copies the local repository"),
    (("GET", "DELETE"), V1 + "/checkout-key/{fingerprint}", "checkout keys do not apply"),
    (("POST",), V1 + "/ssh-key", "SSH keys do not apply: jobs run on this machine"),
    (("POST",), V1 + "/{build_num:int}/ssh",
     "SSH reruns do not apply: use `runner run --shell` (or --shell-on-failure) here"),
    (("POST",), V1 + "/{build_num:int}/ssh-users", "SSH reruns do not apply"),
    (("POST",), V1 + "/follow", "every served project is followed"),
    (("DELETE",), V1 + "/build-cache",
     "caches are cleared with `runner clean --all` on this machine"),
    (("GET", "PUT"), V1 + "/settings", "project settings are not kept by the server"),
    (("GET",), "/api/v1.1/user/repos/{vcs}", "the server knows only the projects it serves: "
     "GET /api/v1.1/projects"),
    (("GET", "POST"), "/api/v2/context",
     "contexts come from the contexts file on this machine (runner run --contexts)"),
    (("GET", "DELETE"), "/api/v2/context/{context_id}", "contexts come from a file here"),
    (("GET",), V2 + "/schedule", "scheduled pipelines do not run locally"),
    (("GET", "PATCH", "DELETE"), "/api/v2/schedule/{schedule_id}",
     "scheduled pipelines do not run locally"),
    (("POST",), "/api/v2/workflow/{workflow_id}/approve/{approval_request_id}",
     "a run stops at an approval nobody gave; approve when you start it: "
     "runner run --approve NAME"),
    (("GET",), "/api/v2/insights/{vcs}/{org}/{repo}/{rest:path}",
     "insights are not computed locally: see `runner history`"),
)


def _refuse(message: str) -> Callable[[], None]:
    def answer() -> None:
        raise ApiError(501, f"not available in runner serve: {message}")

    return answer


for _methods, _path, _message in _ROUTES:
    for _method in _methods:  # one operation each: OpenAPI ids are per method
        router.add_api_route(
            _path, _refuse(_message), methods=[_method], responses=NOT_HERE,
            summary="Not available locally: " + _message.split(":")[0],
            response_model=None, status_code=501,
        )

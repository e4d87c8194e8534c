"""The FastAPI application: routes v1.1 and v2, CircleCI-shaped errors, the request guard."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from runner import __version__
from runner.api import (
    continue_route,
    routes_unsupported,
    routes_v1,
    routes_v1_data,
    routes_v2,
    routes_v2_data,
)
from runner.api.errors import ApiError
from runner.api.guard import Guard, GuardSettings
from runner.api.service import ApiService

DESCRIPTION = (
    "CircleCI's APIs on this machine: API v1.1 jobs "
    "(`curl -u TOKEN: -d build_parameters[CIRCLE_JOB]=JOB .../tree/BRANCH`), their output, "
    "artifacts and tests, and API v2 pipelines, workflows and jobs. Every call needs the "
    "token: Basic auth user, `Circle-Token` header, "
    "`Authorization: Bearer`, or `?circle-token=`."
)


def create_app(service: ApiService, guard: GuardSettings) -> FastAPI:
    app = FastAPI(
        title="runner",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.service = service
    app.include_router(routes_v1.router)
    app.include_router(routes_v1_data.router)
    app.include_router(routes_v2.router)
    app.include_router(routes_v2_data.router)
    app.include_router(routes_unsupported.router)
    app.include_router(continue_route.router)
    app.include_router(routes_v1.web)  # last: its /{vcs}/{org}/{repo}/{n} would shadow others
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_middleware(Guard, settings=guard)
    return app


async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse({"message": exc.message}, status_code=exc.status)


async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
    # 404 for unknown paths, 405 for a wrong method: CircleCI's error shape, the same status.
    return JSONResponse(
        {"message": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
    )


async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's 422 is a malformed request in CircleCI's terms: 400 with a message.
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", ""))
    return JSONResponse({"message": "malformed request: " + "; ".join(parts)}, status_code=400)

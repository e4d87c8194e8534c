"""The OpenAPI document the server serves describes every endpoint it answers."""

from __future__ import annotations

from fastapi.routing import APIRoute

from runner.api import routes_v1, routes_v2
from tests.api.conftest import Api


def test_openapi_describes_every_route(shared_api: Api) -> None:
    response = shared_api.client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    paths = document["paths"]
    routers = (routes_v1.router, routes_v2.router, routes_v1.web)
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) >= 12
    for route in routes:
        path = route.path.replace(":path", "").replace(":int", "")
        assert path in paths, path
        for method in route.methods:
            operation = paths[path][method.lower()]
            assert operation["summary"], (path, method)
            assert "401" in operation["responses"]
    trigger = paths["/api/v1.1/project/{vcs}/{org}/{repo}/tree/{branch}"]["post"]
    content = trigger["requestBody"]["content"]
    assert {"application/json", "application/x-www-form-urlencoded"} <= set(content)
    assert "201" in trigger["responses"]
    pipeline = paths["/api/v2/project/{vcs}/{org}/{repo}/pipeline"]["post"]
    assert "201" in pipeline["responses"] and "requestBody" in pipeline
    schemas = document["components"]["schemas"]
    for name in ("BuildSummary", "BuildDetail", "PipelineCreated", "Pipeline", "WorkflowList",
                 "JobList", "ErrorBody"):
        assert name in schemas
    assert "build_num" in schemas["BuildSummary"]["properties"]

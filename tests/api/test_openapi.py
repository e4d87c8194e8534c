"""The OpenAPI document the server serves describes every endpoint it answers."""

from __future__ import annotations

from fastapi.routing import APIRoute

from runner.api import routes_unsupported, routes_v1, routes_v1_data, routes_v2, routes_v2_data
from tests.api.conftest import Api

V1 = "/api/v1.1/project/{vcs}/{org}/{repo}"
V2 = "/api/v2/project/{vcs}/{org}/{repo}"
ISSUE_16 = [  # the endpoints clients call past the trigger (issue 16)
    ("/api/v1.1/me", "get"), ("/api/v1.1/recent-builds", "get"), ("/api/v1.1/projects", "get"),
    (V1, "get"), (V1 + "/tree/{branch}", "get"), (V1 + "/{build_num}/artifacts", "get"),
    (V1 + "/latest/artifacts", "get"), (V1 + "/{build_num}/artifacts/{node}/{path}", "get"),
    (V1 + "/{build_num}/tests", "get"), (V1 + "/{build_num}/retry", "post"),
    (V1 + "/{build_num}/cancel", "post"), ("/api/v2/me", "get"), (V2, "get"),
    (V2 + "/job/{number}", "get"), (V2 + "/job/{number}/cancel", "post"),
    (V2 + "/pipeline", "get"), (V2 + "/pipeline/{number}", "get"),
    ("/api/v2/pipeline/{pipeline_id}/config", "get"),
    ("/api/v2/workflow/{workflow_id}/rerun", "post"), (V2 + "/{number}/artifacts", "get"),
    (V2 + "/{number}/tests", "get"),
]


def test_openapi_describes_every_route(shared_api: Api) -> None:
    response = shared_api.client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    paths = document["paths"]
    routers = (routes_v1.router, routes_v1_data.router, routes_v2.router, routes_v2_data.router,
               routes_unsupported.router, routes_v1.web)  # every router app.py includes
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) >= 40
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
    for path, method in ISSUE_16:
        assert method in paths[path], (path, method)
    schemas = document["components"]["schemas"]
    for name in ("BuildSummary", "BuildDetail", "PipelineCreated", "Pipeline", "WorkflowList",
                 "JobList", "ErrorBody"):
        assert name in schemas
    assert "build_num" in schemas["BuildSummary"]["properties"]

"""API v2: trigger a pipeline with branch or tag and parameters; read pipeline, workflows, jobs."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api, output_text
from tests.support import make_project

CONFIG = """
version: 2.1
parameters:
  target:
    type: string
    default: staging
  fast:
    type: boolean
    default: false
  slow:
    type: boolean
    default: false
jobs:
  test:
    machine: true
    steps:
      - run: echo "testing for << pipeline.parameters.target >> fast=<< pipeline.parameters.fast >>"
  deploy:
    machine: true
    steps:
      - run: echo "deploying to << pipeline.parameters.target >> from $CIRCLE_BRANCH"
  release:
    machine: true
    steps:
      - run: echo "release $CIRCLE_TAG"
  wait:
    machine: true
    steps:
      - run: sleep 20
workflows:
  slowly:
    when: << pipeline.parameters.slow >>
    jobs: [wait]
  main:
    jobs:
      - test
      - deploy:
          requires: [test]
  tagged:
    jobs:
      - release:
          filters:
            branches: {ignore: /.*/}
            tags: {only: /^v.*/}
"""
SLUG = "/api/v2/project/gh/acme/app"


@pytest.fixture
def api(start_api: Callable[..., Api], tmp_path: Path) -> Api:
    return start_api(make_project(tmp_path / "app", CONFIG, remote="git@github.com:acme/app.git"))


def wait_pipeline(
    api: Api, pipeline_id: str, timeout: float = 60, names: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """The pipeline's workflows once all of them (and at least ``names``) are done.

    A setup pipeline's continued workflows appear only after its setup workflow finished, as on
    CircleCI: a caller that expects them names them, or it could return in between.
    """
    deadline = time.monotonic() + timeout
    while True:
        items: list[dict[str, Any]] = api.client.get(
            f"/api/v2/pipeline/{pipeline_id}/workflow"
        ).json()["items"]
        done = all(w["status"] not in ("running", "failing") for w in items)
        if items and done and names <= {w["name"] for w in items}:
            return items
        assert time.monotonic() < deadline, items
        time.sleep(0.05)


def test_pipeline_runs_the_workflows_with_parameters(api: Api) -> None:
    response = api.client.post(
        f"{SLUG}/pipeline", json={"branch": "feature/x", "parameters": {"target": "prod", "fast": True}}
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"id", "state", "number", "created_at"}
    assert created["state"] == "pending" and created["created_at"].endswith("Z")
    (workflow,) = wait_pipeline(api, created["id"])
    assert (workflow["name"], workflow["status"]) == ("main", "success")
    assert workflow["pipeline_number"] == created["number"]
    assert workflow["project_slug"] == "gh/acme/app"
    jobs = api.client.get(f"/api/v2/workflow/{workflow['id']}/job").json()["items"]
    by_name = {j["name"]: j for j in jobs}
    assert {j["status"] for j in jobs} == {"success"}
    assert by_name["deploy"]["dependencies"] == [by_name["test"]["id"]]
    assert by_name["test"]["type"] == "build" and by_name["test"]["job_number"] >= 1
    pipeline = api.client.get(f"/api/v2/pipeline/{created['id']}").json()
    assert pipeline["state"] == "created" and pipeline["number"] == created["number"]
    assert pipeline["vcs"]["branch"] == "feature/x" and pipeline["trigger"]["type"] == "api"
    assert pipeline["trigger_parameters"] == {"target": "prod", "fast": "true"}
    assert api.client.get(f"/api/v2/workflow/{workflow['id']}").json()["status"] == "success"
    # v2 jobs are v1.1 builds too: their logs are there
    v1 = "/api/v1.1/project/gh/acme/app"
    log = output_text(api.client.get(f"{v1}/{by_name['test']['job_number']}/output/0/0"))
    assert log == "testing for prod fast=true\n"
    log = output_text(api.client.get(f"{v1}/{by_name['deploy']['job_number']}/output/0/0"))
    assert log == "deploying to prod from feature/x\n"


def test_tag_pipeline_runs_the_tag_workflow(api: Api) -> None:
    created = api.client.post(f"{SLUG}/pipeline", json={"tag": "v2.0"}).json()
    (workflow,) = wait_pipeline(api, created["id"])
    assert (workflow["name"], workflow["status"]) == ("tagged", "success")
    pipeline = api.client.get(f"/api/v2/pipeline/{created['id']}").json()
    assert pipeline["vcs"]["tag"] == "v2.0" and pipeline["vcs"]["branch"] is None


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"branch": "main", "tag": "v1"}, "mutually exclusive"),
        ({"parameters": {"nope": 1}}, "Unexpected argument(s): nope"),
        ({"parameters": {"fast": "maybe"}}, "not a boolean"),
        ({"parameters": {"target": "x" * 513}}, "512"),
        ({"parameters": {"k" * 129: "x"}}, "128"),
        ({"parameters": {f"p{i}": "x" for i in range(101)}}, "at most 100"),
        ({"parameters": {"target": ["a"]}}, "strings, integers or booleans"),
        ({"parameters": "target=x"}, "malformed request"),
        ({"branch": 3}, "malformed request"),
        ({"surprise": 1}, "malformed request"),
    ],
)
def test_bad_pipeline_requests(api: Api, body: dict[str, Any], words: str) -> None:
    response = api.client.post(f"{SLUG}/pipeline", json=body)
    assert response.status_code == 400, response.text
    assert words in response.json()["message"]
    assert api.server.service.index.projects[0].store.runs() == []


def test_malformed_json_and_unknown_ids(api: Api) -> None:
    response = api.client.post(
        f"{SLUG}/pipeline", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert api.client.post("/api/v2/project/gh/acme/other/pipeline", json={}).status_code == 404
    assert api.client.get("/api/v2/workflow/abc/job").status_code == 404
    assert api.client.get("/api/v2/workflow/abc").status_code == 404


def test_cancel_a_workflow(api: Api) -> None:
    created = api.client.post(f"{SLUG}/pipeline", json={"parameters": {"slow": True}}).json()
    url = f"/api/v2/pipeline/{created['id']}/workflow"
    deadline = time.monotonic() + 60  # a hang guard: on a loaded machine "main" takes a while
    while {w["status"] for w in api.client.get(url).json()["items"]} != {"running", "success"}:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    slowly = next(w for w in api.client.get(url).json()["items"] if w["name"] == "slowly")
    response = api.client.post(f"/api/v2/workflow/{slowly['id']}/cancel")
    assert (response.status_code, response.json()) == (202, {"message": "Accepted."})
    statuses = {w["name"]: w["status"] for w in wait_pipeline(api, created["id"])}
    assert statuses == {"slowly": "canceled", "main": "success"}
    (job,) = api.client.get(f"/api/v2/workflow/{slowly['id']}/job").json()["items"]
    assert job["status"] == "canceled" and job["stopped_at"]


GATED = """
version: 2.1
jobs:
  push-only:
    machine: true
    steps:
      - run: echo push
  api-only:
    machine: true
    steps:
      - run: echo "source << pipeline.trigger_source >>"
workflows:
  on-push:
    when: {equal: [webhook, << pipeline.trigger_source >>]}
    jobs: [push-only]
  on-api:
    when: {equal: [api, << pipeline.trigger_source >>]}
    jobs: [api-only]
"""


def test_api_pipelines_have_trigger_source_api(
    start_api: Callable[..., Api], tmp_path: Path
) -> None:
    api = start_api(make_project(tmp_path / "app", GATED, remote="git@github.com:acme/app.git"))
    created = api.client.post(f"{SLUG}/pipeline", json={}).json()
    (workflow,) = wait_pipeline(api, created["id"])
    assert (workflow["name"], workflow["status"]) == ("on-api", "success")


SETUP_BY_HAND = """
version: 2.1
setup: true
jobs:
  generate:
    machine: true
    steps:
      - checkout
      - run: |
          python3 -c '
          import json, os
          print(json.dumps({"continuation-key": os.environ["CIRCLE_CONTINUATION_KEY"],
                            "configuration": open(".circleci/next.yml").read(),
                            "parameters": {"who": "the api"}}))' > body.json
          curl -sS -f -XPOST -H "Content-Type: application/json" --data @body.json \\
            "${CIRCLE_API_URL%/api/v1.1}/api/v2/pipeline/continue"
          curl -sS -XPOST -H "Content-Type: application/json" --data @body.json \\
            "${CIRCLE_API_URL%/api/v1.1}/api/v2/pipeline/continue"
workflows:
  setup:
    jobs: [generate]
"""
NEXT = """
version: 2.1
parameters:
  who: {type: string, default: nobody}
jobs:
  hello:
    machine: true
    steps: [run: echo "hello from << pipeline.parameters.who >>"]
workflows:
  continued:
    jobs: [hello]
"""


def test_a_hand_written_continuation_reaches_the_served_pipeline(
    start_api: Callable[..., Api], tmp_path: Path
) -> None:
    project = make_project(tmp_path / "app", SETUP_BY_HAND, {".circleci/next.yml": NEXT},
                           remote="git@github.com:acme/app.git")
    api = start_api(project)
    created = api.client.post(f"{SLUG}/pipeline", json={}).json()
    workflows = wait_pipeline(api, created["id"], names=frozenset({"setup", "continued"}))
    assert {w["name"]: w["status"] for w in workflows} == {
        "setup": "success", "continued": "success"}
    continued = next(w for w in workflows if w["name"] == "continued")
    (job,) = api.client.get(f"/api/v2/workflow/{continued['id']}/job").json()["items"]
    v1 = "/api/v1.1/project/gh/acme/app"
    text = {"Accept": "text/plain"}  # the text stream, not CircleCI's JSON list of messages
    assert api.client.get(f"{v1}/{job['job_number']}/output/0/0", headers=text).text == (
        "hello from the api\n"
    )
    setup = next(w for w in workflows if w["name"] == "setup")
    (generate,) = api.client.get(f"/api/v2/workflow/{setup['id']}/job").json()["items"]
    log = api.client.get(f"{v1}/{generate['job_number']}/output/1/0", headers=text).text
    # the first call is accepted without the server's token; the second one is refused
    assert '{"message":"success"}' in log
    assert '{"message":"this pipeline was already continued"}' in log
    response = api.client.post("/api/v2/pipeline/continue", json={
        "continuation-key": "nope", "configuration": NEXT}, headers={"Circle-Token": ""})
    assert response.status_code == 400
    assert "no running setup pipeline" in response.json()["message"]

"""The endpoints clients call past the trigger, in CircleCI's documented shapes (issue 16):
v1.1 me, projects, build lists (filter, limit, offset), artifacts (and their download),
tests, retry, cancel; v2 me, project, job, job cancel, pipelines (branch, page tokens),
pipeline by number, pipeline config, workflow rerun, artifacts, tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from runner.api import routes_v2_data
from tests.api.conftest import TOKEN, Api
from tests.support import make_project

CONFIG = """
version: 2.1
parameters:
  marker:
    type: string
    default: ""
jobs:
  make:
    machine: true
    steps:
      - run: mkdir -p out/sub results && echo hello > out/a.txt && echo deep > "out/sub/b c.txt"
      - run: |
          printf '%s' '<testsuite name="s"><testcase classname="pkg.T" name="ok" file="t.py" time="0.5"/><testcase classname="pkg.T" name="bad" time="0.1"><failure message="boom">trace</failure></testcase></testsuite>' > results/junit.xml
      - store_artifacts:
          path: out
          destination: dist
      - store_test_results:
          path: results
  flaky:
    machine: true
    steps:
      - run: |
          if [ -e "<< pipeline.parameters.marker >>" ]; then echo second; else touch "<< pipeline.parameters.marker >>"; exit 1; fi
  after:
    machine: true
    steps:
      - run: echo "after ${#BIG}"
  sleeper:
    machine: true
    steps:
      - run: echo "${FOO:-}" && sleep 30
workflows:
  main:
    jobs:
      - make
      - flaky:
          requires: [make]
      - after:
          requires: [flaky]
"""
V1 = "/api/v1.1/project/github/acme/widget"
V2 = "/api/v2/project/gh/acme/widget"


@pytest.fixture
def api(start_api: Callable[..., Api], tmp_path: Path) -> Api:
    return start_api(make_project(tmp_path / "widget", CONFIG))


def trigger(api: Api, job: str, **params: str) -> int:
    form = {"build_parameters[CIRCLE_JOB]": job, **{f"build_parameters[{k}]": v
                                                     for k, v in params.items()}}
    response = api.client.post(f"{V1}/tree/main", data=form)
    assert response.status_code == 201, response.text
    number: int = response.json()["build_num"]
    return number


def wait_running(api: Api, number: int) -> None:
    deadline = time.monotonic() + 20
    while api.build(number)["status"] != "running" or not api.build(number)["steps"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def wait_pipeline(api: Api, pipeline_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while True:
        items: list[dict[str, Any]] = api.client.get(
            f"/api/v2/pipeline/{pipeline_id}/workflow"
        ).json()["items"]
        if items and all(w["status"] not in ("running", "failing") for w in items):
            return items
        assert time.monotonic() < deadline, items
        time.sleep(0.1)


def test_artifacts_list_and_download_and_tests(api: Api) -> None:
    number = trigger(api, "make")
    assert api.wait(number)["status"] == "success"
    artifacts = api.client.get(f"{V1}/{number}/artifacts").json()
    assert [(a["path"], a["pretty_path"], a["node_index"]) for a in artifacts] == [
        ("dist/a.txt", "dist/a.txt", 0), ("dist/sub/b c.txt", "dist/sub/b c.txt", 0)
    ]
    assert artifacts[1]["url"] == f"{api.url}{V1}/{number}/artifacts/0/dist/sub/b%20c.txt"
    assert api.client.get(artifacts[0]["url"]).content == b"hello\n"
    assert api.client.get(artifacts[1]["url"]).content == b"deep\n"
    assert httpx.get(artifacts[0]["url"]).status_code == 401  # downloads need the token
    for bad in ("../../../../history.sqlite", "dist/../../1/dist/a.txt", "dist", "nope"):
        assert api.client.get(f"{V1}/{number}/artifacts/0/{bad}").status_code == 404, bad
    assert api.client.get(f"{V1}/latest/artifacts").json() == artifacts
    assert api.client.get(f"{V1}/latest/artifacts", params={"branch": "main"}).json() == artifacts
    assert api.client.get(f"{V1}/latest/artifacts",
                          params={"filter": "failed"}).status_code == 404
    v2 = api.client.get(f"{V2}/{number}/artifacts").json()
    assert v2 == {"items": [{k: a[k] for k in ("path", "node_index", "url")} for a in artifacts],
                  "next_page_token": None}

    tests = api.client.get(f"{V1}/{number}/tests").json()["tests"]
    assert [(t["classname"], t["name"], t["result"], t["message"], t["file"], t["run_time"])
            for t in tests] == [("pkg.T", "ok", "success", None, "t.py", 0.5),
                                ("pkg.T", "bad", "failure", "boom", None, 0.1)]
    assert api.client.get(f"{V2}/{number}/tests").json() == {"items": tests,
                                                            "next_page_token": None}


def test_build_lists_newest_first_with_filter_limit_offset(api: Api) -> None:
    numbers = [trigger(api, "after"), trigger(api, "flaky"), trigger(api, "after")]
    for n in numbers:
        api.wait(n)
    listed = api.client.get(V1).json()
    assert [b["build_num"] for b in listed] == numbers[::-1]
    assert [b["build_num"] for b in api.client.get(V1, params={"filter": "failed"}).json()] == [
        numbers[1]]
    successful = api.client.get(V1, params={"filter": "successful"}).json()
    assert [b["build_num"] for b in successful] == [numbers[2], numbers[0]]
    assert api.client.get(V1, params={"filter": "running"}).json() == []
    assert len(api.client.get(V1, params={"filter": "completed"}).json()) == 3
    page = api.client.get(V1, params={"limit": 1, "offset": 1}).json()
    assert [b["build_num"] for b in page] == [numbers[1]]
    assert [b["build_num"] for b in api.client.get(f"{V1}/tree/main").json()] == numbers[::-1]
    assert api.client.get(f"{V1}/tree/other").json() == []
    recent = api.client.get("/api/v1.1/recent-builds", params={"limit": 2}).json()
    assert [b["build_num"] for b in recent] == numbers[:0:-1]
    for params in ({"limit": -1}, {"limit": 0}, {"limit": 101}, {"offset": -1},
                   {"filter": "bogus"}):
        response = api.client.get(V1, params=params)
        assert response.status_code == 400, params
        assert set(response.json()) == {"message"}
    # the project's remote is on GitHub: a Bitbucket path does not find it
    bitbucket = api.client.get("/api/v1.1/project/bitbucket/acme/widget")
    assert (bitbucket.status_code, bitbucket.json()) == (404, {"message": "Project not found"})


def test_running_filter_lists_queued_and_running_builds(api: Api) -> None:
    first, second, third = (trigger(api, "sleeper") for _ in range(3))  # concurrency 2
    wait_running(api, first)
    running = [b["build_num"] for b in api.client.get(V1, params={"filter": "running"}).json()]
    assert running == [third, second, first]
    for number in (third, second, first):
        assert api.client.post(f"{V1}/{number}/cancel").json()["status"] == "canceled"
    assert api.client.get(V1, params={"filter": "running"}).json() == []


def test_cancel_answers_cancelled_and_retry_runs_the_job_again(api: Api) -> None:
    number = trigger(api, "sleeper", FOO="bar")
    wait_running(api, number)
    cancelled = api.client.post(f"{V1}/{number}/cancel")
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["lifecycle"]) == ("canceled", "finished")
    retried = api.client.post(f"{V1}/{number}/retry")
    assert retried.status_code == 201, retried.text
    again = retried.json()
    assert again["build_num"] > number and again["retry_of"] == number
    assert (again["job_name"], again["build_parameters"]) == ("sleeper", {"FOO": "bar"})
    wait_running(api, again["build_num"])
    response = api.client.post(f"{V2}/job/{again['build_num']}/cancel")
    assert (response.status_code, response.json()) == (202, {"message": "Accepted."})
    assert api.wait(again["build_num"])["status"] == "canceled"
    done = trigger(api, "after")
    api.wait(done)
    assert api.client.post(f"{V1}/{done}/retry").json()["retry_of"] == done


def test_oversized_build_parameter_is_a_400_with_the_limit(api: Api) -> None:
    response = api.client.post(
        f"{V1}/tree/main",
        data={"build_parameters[CIRCLE_JOB]": "after", "build_parameters[BIG]": "x" * 131_100},
    )
    assert response.status_code == 400
    assert "131072" in response.json()["message"] and "BIG" in response.json()["message"]
    assert api.client.get(V1).json() == []
    fits = trigger(api, "after", BIG="y" * 120_000)
    assert api.wait(fits)["status"] == "success"
    assert api.log(fits) == "after 120000\n"


def test_me_projects_and_project(api: Api) -> None:
    me = api.client.get("/api/v1.1/me").json()
    assert me["login"] and me["name"] == me["login"]
    assert api.client.get("/api/v2/me").json().keys() == {"id", "login", "name"}
    number = trigger(api, "after")
    api.wait(number)
    (project,) = api.client.get("/api/v1.1/projects").json()
    assert (project["vcs_url"], project["username"], project["reponame"]) == (
        "https://github.com/acme/widget", "acme", "widget")
    assert project["branches"]["main"]["recent_builds"][0]["build_num"] == number
    v2 = api.client.get(V2).json()
    assert (v2["slug"], v2["name"], v2["organization_slug"]) == ("gh/acme/widget", "widget",
                                                                 "gh/acme")
    assert v2["vcs_info"]["provider"] == "GitHub"


def test_v2_jobs_pipelines_config_and_rerun_from_failed(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "marker"
    created = api.client.post(f"{V2}/pipeline", json={"parameters": {"marker": str(marker)}})
    assert created.status_code == 201, created.text
    pipeline_id = created.json()["id"]
    (workflow,) = wait_pipeline(api, pipeline_id)
    assert workflow["status"] == "failed"
    jobs = {j["name"]: j for j in
            api.client.get(f"/api/v2/workflow/{workflow['id']}/job").json()["items"]}
    assert {n: j["status"] for n, j in jobs.items()} == {
        "make": "success", "flaky": "failed", "after": "not_run"}
    detail = api.client.get(f"{V2}/job/{jobs['make']['job_number']}").json()
    assert (detail["number"], detail["name"], detail["status"]) == (
        jobs["make"]["job_number"], "make", "success")
    assert detail["pipeline"] == {"id": pipeline_id}
    assert detail["latest_workflow"] == {"id": workflow["id"], "name": "main"}
    assert detail["parallel_runs"] == [{"index": 0, "status": "success"}]
    assert detail["project"]["slug"] == "gh/acme/widget" and detail["duration"] >= 0

    by_number = api.client.get(f"{V2}/pipeline/{created.json()['number']}").json()
    assert by_number["id"] == pipeline_id
    config = api.client.get(f"/api/v2/pipeline/{pipeline_id}/config").json()
    assert "flaky:" in config["source"] and "<< pipeline.parameters.marker >>" in config["source"]
    assert str(marker) in config["compiled"]

    rerun = api.client.post(f"/api/v2/workflow/{workflow['id']}/rerun",
                            json={"from_failed": True})
    assert rerun.status_code == 202, rerun.text
    new_id = rerun.json()["workflow_id"]
    deadline = time.monotonic() + 60
    while api.client.get(f"/api/v2/workflow/{new_id}").json()["status"] in ("running",
                                                                            "failing"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert api.client.get(f"/api/v2/workflow/{new_id}").json()["status"] == "success"
    again = api.client.get(f"/api/v2/workflow/{new_id}/job").json()["items"]
    assert [(j["name"], j["status"]) for j in again] == [("flaky", "success"),
                                                         ("after", "success")]

    listed = api.client.get(f"{V2}/pipeline").json()
    assert [p["number"] for p in listed["items"]] == [2, 1] and listed["next_page_token"] is None
    assert api.client.get(f"{V2}/pipeline", params={"branch": "other"}).json()["items"] == []
    monkeypatch.setattr(routes_v2_data, "PAGE", 1)
    first = api.client.get(f"{V2}/pipeline", params={"branch": "main"}).json()
    assert [p["number"] for p in first["items"]] == [2] and first["next_page_token"]
    second = api.client.get(f"{V2}/pipeline",
                            params={"page-token": first["next_page_token"]}).json()
    assert [p["number"] for p in second["items"]] == [1] and second["next_page_token"] is None
    bad = api.client.get(f"{V2}/pipeline", params={"page-token": "!!"})
    assert bad.status_code == 400
    full = api.client.post(f"/api/v2/workflow/{workflow['id']}/rerun", json={})
    assert full.status_code == 202
    both = api.client.post(f"/api/v2/workflow/{workflow['id']}/rerun",
                           json={"from_failed": True, "jobs": [jobs["make"]["id"]]})
    assert both.status_code == 400


def test_every_new_endpoint_needs_the_token(api: Api) -> None:
    for path in ("/api/v1.1/me", "/api/v1.1/projects", "/api/v1.1/recent-builds",
                 f"{V1}/1/artifacts", f"{V1}/1/tests", "/api/v2/me", V2, f"{V2}/pipeline",
                 f"{V2}/job/1"):
        response = httpx.get(f"{api.url}{path}")
        assert response.status_code == 401, path
    assert httpx.get(f"{api.url}/api/v2/me", headers={"Circle-Token": TOKEN}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "words"),
    [
        ("GET", f"{V1}/envvar", "-e NAME"),
        ("POST", f"{V1}/1/ssh", "runner run --shell"),
        ("DELETE", f"{V1}/build-cache", "runner clean --all"),
        ("GET", f"{V2}/schedule", "scheduled pipelines"),
        ("POST", "/api/v2/workflow/abc/approve/def", "runner run --approve"),
        ("GET", "/api/v2/insights/gh/acme/widget/workflows", "runner history"),
    ],
)
def test_documented_paths_that_cannot_apply_say_so(
    shared_api: Api, method: str, path: str, words: str
) -> None:
    response = shared_api.client.request(method, path)
    assert response.status_code == 501
    assert response.json()["message"].startswith("not available in runner serve: ")
    assert words in response.json()["message"]

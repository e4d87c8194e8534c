"""`runner serve` as a process, driven by a real third-party CircleCI client, unmodified:
``pycircleci`` from PyPI (a dev dependency), pointed at the server by its ``url`` argument, as a
user would point it at a CircleCI server installation. Trigger, poll, output, artifacts,
tests, retry, cancel, and v2 pipelines, workflows and jobs; and the server's log lines.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pycircleci.api import Api as CircleClient

from tests.api.test_endpoints import CONFIG
from tests.api.test_serve_process import serve
from tests.support import make_project

ORG, REPO = "acme", "widget"
BUILD = """
  build:
    machine: true
    steps:
      - run: echo "built on $CIRCLE_BRANCH"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / REPO, CONFIG.replace("\njobs:\n", "\njobs:" + BUILD, 1))


def until(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.1)


def finished(circle: CircleClient, number: int) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        build: dict[str, Any] = circle.get_build_info(ORG, REPO, number)
        return build if build["lifecycle"] == "finished" else None

    result: dict[str, Any] = until(done, f"build {number}")
    return result


def output_of(circle: CircleClient, build: dict[str, Any], step: int, where: Path) -> str:
    url = build["steps"][step]["actions"][0]["output_url"]
    path = circle.download_artifact(url, destdir=str(where), filename=f"out-{step}.json")
    return "".join(m["message"] for m in json.loads(Path(path).read_text()))


def test_a_circleci_client_library_drives_runner_serve(project: Path, tmp_path: Path) -> None:
    with serve(project) as (proc, url, token):
        circle = CircleClient(token=token, url=f"{url}/api")
        # v1.1: trigger, poll, output
        queued = circle.trigger_build(ORG, REPO, branch="main",
                                      params={"build_parameters": {"CIRCLE_JOB": "make"}})
        assert queued["status"] == "queued" or queued["lifecycle"] in ("queued", "running")
        build = finished(circle, queued["build_num"])
        assert build["status"] == "success"
        assert output_of(circle, build, 0, tmp_path) == ""
        # artifacts (and their authenticated download), latest artifacts, tests
        artifacts = circle.get_artifacts(ORG, REPO, build["build_num"])
        assert [a["path"] for a in artifacts] == ["dist/a.txt", "dist/sub/b c.txt"]
        saved = circle.download_artifact(artifacts[0]["url"], destdir=str(tmp_path))
        assert Path(saved).read_text() == "hello\n"
        assert circle.get_latest_artifact(ORG, REPO, branch="main") == artifacts
        tests = circle.get_test_metadata(ORG, REPO, build["build_num"])["tests"]
        assert [(t["name"], t["result"]) for t in tests] == [("ok", "success"),
                                                             ("bad", "failure")]
        # retry; the output of the retried build
        retried = circle.retry_build(ORG, REPO, build["build_num"])
        assert retried["retry_of"] == build["build_num"]
        assert finished(circle, retried["build_num"])["status"] == "success"
        simple = circle.trigger_build(ORG, REPO, branch="main")  # CIRCLE_JOB defaults to build
        assert output_of(circle, finished(circle, simple["build_num"]), 0, tmp_path) == \
            "built on main\n"
        # cancel a running build; wait for "nothing running" as clients do
        sleeper = circle.trigger_build(ORG, REPO, branch="main",
                                       params={"build_parameters": {"CIRCLE_JOB": "sleeper"}})
        until(lambda: circle.get_project_build_summary(ORG, REPO, status_filter="running"),
              "a running build")
        cancelled = circle.cancel_build(ORG, REPO, sleeper["build_num"])
        assert cancelled["status"] == "canceled"
        assert circle.get_project_build_summary(ORG, REPO, status_filter="running") == []
        summary = circle.get_project_build_summary(ORG, REPO, limit=2, branch="main")
        assert [b["build_num"] for b in summary] == [sleeper["build_num"], simple["build_num"]]
        assert circle.get_recent_builds(limit=1)[0]["build_num"] == sleeper["build_num"]
        assert circle.get_user_info()["login"] == circle.get_user_info(api_version="v2")["login"]
        assert circle.get_projects()[0]["reponame"] == REPO
        assert circle.get_project(f"gh/{ORG}/{REPO}")["slug"] == f"gh/{ORG}/{REPO}"

        _v2_calls(circle, tmp_path)
        # every run has ended (and logged its end) before the server stops
        until(lambda: circle.get_project_build_summary(ORG, REPO, status_filter="running") == [],
              "no running build")
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=30)[0]
    _check_log_lines(rest)
    assert token not in rest  # the log lines never show the token


def _v2_calls(circle: CircleClient, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    created = circle.trigger_pipeline(ORG, REPO, branch="main", params={"marker": str(marker)})
    pipeline = circle.get_pipeline(created["id"])
    assert (pipeline["number"], pipeline["vcs"]["branch"]) == (created["number"], "main")
    workflows = until(lambda: [w for w in circle.get_pipeline_workflow(created["id"])
                               if w["status"] not in ("running", "failing")], "the workflow")
    assert [w["status"] for w in workflows] == ["failed"]
    jobs = circle.get_workflow_jobs(workflows[0]["id"])
    assert [(j["name"], j["status"]) for j in jobs] == [
        ("make", "success"), ("flaky", "failed"), ("after", "not_run")]
    job = circle.get_job_details(ORG, REPO, jobs[0]["job_number"])
    assert (job["name"], job["status"]) == ("make", "success")
    assert "flaky" in circle.get_pipeline_config(created["id"])["source"]
    rerun = circle.rerun_workflow(workflows[0]["id"], from_failed=True)
    until(lambda: circle.get_workflow(rerun["workflow_id"])["status"] == "success", "the rerun")
    assert [j["name"] for j in circle.get_workflow_jobs(rerun["workflow_id"])] == [
        "flaky", "after"]
    pipelines = circle.get_project_pipelines(ORG, REPO, branch="main", paginate=True)
    assert [p["number"] for p in pipelines][:2] == [pipelines[0]["number"], created["number"]]
    assert circle.get_project_pipeline(ORG, REPO, created["number"])["id"] == created["id"]
    # cancel a v2 job, then its workflow (already cancelled: still accepted)
    slow = circle.trigger_build(ORG, REPO, branch="main",
                                params={"build_parameters": {"CIRCLE_JOB": "sleeper"}})
    until(lambda: circle.get_build_info(ORG, REPO, slow["build_num"])["status"] == "running",
          "the sleeper")
    assert circle.cancel_job(ORG, REPO, slow["build_num"]) == {"message": "Accepted."}
    assert finished(circle, slow["build_num"])["status"] == "canceled"
    detail = circle.get_job_details(ORG, REPO, slow["build_num"])
    assert circle.cancel_workflow(detail["latest_workflow"]["id"]) == {"message": "Accepted."}


def _check_log_lines(output: str) -> None:
    lines = output.splitlines()
    kinds = [line.split(" ", 2)[1] for line in lines if line[:4].isdigit()]
    # 4 jobs and a retry, a pipeline and its rerun: 7 runs, each triggered and ended once
    assert kinds.count("trigger:") == 7 and kinds.count("end:") == 7, lines
    assert kinds.count("rerun:") == 1 and kinds.count("cancel:") == 2, lines
    assert any("trigger: job make of gh/acme/widget on main at " in line for line in lines)


def test_startup_hint_prints_the_slug_and_a_working_curl_line(project: Path) -> None:
    banner: list[str] = []
    with serve(project, banner=banner) as (proc, url, token):
        line = banner[-1].removeprefix("trigger: ")
        assert line == (f'curl -u "{token}:" -d "build_parameters[CIRCLE_JOB]=build" '
                        f"{url}/api/v1.1/project/github/acme/widget/tree/main")
        done = subprocess.run(["bash", "-c", line + " -s -o /dev/null -w '%{http_code}'"],
                              capture_output=True, text=True, timeout=30, check=False)
        assert done.stdout == "201", done
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert "  project acme/widget: " in "\n".join(banner)

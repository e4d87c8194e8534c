"""API v1.1: triggers in the seed's forms, build parameters as environment, job state, logs."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.api.conftest import PROJECT, TOKEN, Api, output_text
from tests.support import git

TEXT = {"Accept": "text/plain"}  # the live text stream instead of CircleCI's JSON


def curl(*args: str) -> tuple[int, str]:
    """Real curl, as a user or a deploy step runs it; returns (HTTP status, body)."""
    done = subprocess.run(
        ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", *args],
        capture_output=True, text=True, timeout=30, check=False,
    )
    body, _, code = done.stdout.rpartition("\n")
    return int(code), body


def test_seed_curl_form_triggers_the_named_job(api: Api) -> None:
    code, body = curl(
        "-u", f"{TOKEN}:", "-d", "build_parameters[CIRCLE_JOB]=deploy_production",
        f"{api.url}{PROJECT}/tree/main",
    )
    assert code == 201, body
    summary = json.loads(body)
    assert summary["job_name"] == "deploy_production"
    assert summary["status"] in ("queued", "running", "success")
    assert summary["lifecycle"] in ("queued", "running", "finished")
    assert summary["build_url"] == f"{api.url}/gh/acme/widget/{summary['build_num']}"
    assert summary["username"] == "acme" and summary["reponame"] == "widget"
    assert summary["branch"] == "main" and len(summary["vcs_revision"]) == 40
    assert summary["vcs_url"] == "https://github.com/acme/widget"
    assert summary["why"] == "api" and summary["queued_at"].endswith("Z")
    done = api.wait(summary["build_num"])
    assert (done["status"], done["outcome"], done["lifecycle"]) == ("success", "success", "finished")
    assert done["build_time_millis"] >= 0 and done["start_time"] and done["stop_time"]
    log = api.log(summary["build_num"])
    assert log == f"deploying to production {summary['vcs_revision']} on main\n"
    # the build_url answers too, with the same job
    assert api.client.get(done["build_url"]).json()["build_num"] == summary["build_num"]


def test_default_job_is_build_and_build_num_is_circle_build_num(api: Api) -> None:
    response = api.trigger(FOO="bar")
    assert response.status_code == 201
    number = response.json()["build_num"]
    assert response.json()["job_name"] == "build"
    api.wait(number)
    assert api.log(number) == f"build {number} FOO=bar FROM_CONFIG=config-value\n"


def test_build_parameters_never_override_config_and_are_never_shell_text(
    api: Api, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    response = api.client.post(
        f"{PROJECT}/tree/main",
        json={
            "build_parameters": {
                "CIRCLE_JOB": "show_params",
                "JSONISH": {"quux": 1},
                "TRICKY": f"$(touch {marker}); `touch {marker}` ' \"",
                "FROM_CONFIG": "from-the-api",
            },
            "parallel": 2,
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["parallel"] == 2
    done = api.wait(response.json()["build_num"])
    assert done["status"] == "success"
    assert [len(step["actions"]) for step in done["steps"]] == [2]
    expected = f'{{"quux": 1}}|$(touch {marker}); `touch {marker}` \' "|config-value\n'
    assert api.log(done["build_num"], 0, 0) == expected  # [ENV-2020] stringified, not spliced
    assert api.log(done["build_num"], 0, 1) == expected
    assert not marker.exists()


def test_project_endpoint_takes_job_revision_and_tag_in_json(api: Api) -> None:
    sha = git(api.project, "rev-parse", "HEAD")
    response = api.client.post(
        PROJECT, json={"job": "deploy_production", "revision": sha[:10], "branch": "release"}
    )
    assert response.status_code == 201, response.text
    assert (response.json()["branch"], response.json()["vcs_revision"]) == ("release", sha)
    api.wait(response.json()["build_num"])
    assert api.log(response.json()["build_num"]) == f"deploying to production {sha} on release\n"
    tagged = api.client.post(PROJECT, json={"tag": "v1.0", "build_parameters": {"FOO": "t"}})
    assert tagged.status_code == 201
    assert tagged.json()["vcs_tag"] == "v1.0" and tagged.json()["branch"] is None


def test_every_auth_form_works(api: Api) -> None:
    url = f"{api.url}{PROJECT}/tree/main"
    forms = [
        ["-u", f"{TOKEN}:"],
        ["-H", f"Circle-Token: {TOKEN}"],
        ["-H", f"Authorization: Bearer {TOKEN}"],
    ]
    numbers = []
    for form in forms:
        code, body = curl(*form, "-X", "POST", url)
        assert code == 201, body
        numbers.append(json.loads(body)["build_num"])
    code, body = curl("-X", "POST", f"{url}?circle-token={TOKEN}")
    assert code == 201, body
    numbers.append(json.loads(body)["build_num"])
    assert len(set(numbers)) == 4
    for number in numbers:
        api.wait(number)


def test_step_details_and_output_urls(api: Api) -> None:
    number = api.trigger("show_params").json()["build_num"]
    done = api.wait(number)
    (step,) = done["steps"]
    assert [a["index"] for a in step["actions"]] == [0, 1]
    for action in step["actions"]:
        assert action["status"] == "success" and action["exit_code"] == 0
        assert action["type"] == "run" and action["run_time_millis"] >= 0
        assert output_text(api.client.get(action["output_url"])).endswith("|config-value\n")
    assert api.client.get(f"{PROJECT}/{number}/output/5/0").status_code == 404


def test_log_streams_while_the_step_runs(api: Api) -> None:
    number = api.trigger("slow").json()["build_num"]
    deadline = time.monotonic() + 10
    while api.build(number)["status"] != "running" or not api.build(number)["steps"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    seen: list[tuple[float, str]] = []
    with api.client.stream("GET", f"{PROJECT}/{number}/output/0/0", headers=TEXT) as response:
        assert response.headers["content-type"].startswith("text/plain")
        for chunk in response.iter_text():
            seen.append((time.monotonic(), chunk))
    text = "".join(c for _, c in seen)
    assert text == "first\nsecond\n"
    first_at = next(t for t, c in seen if "first" in c)
    second_at = next(t for t, c in seen if "second" in c)
    assert second_at - first_at > 0.5  # "first" arrived while the step was still sleeping


def test_cancel_a_running_job(api: Api) -> None:
    number = api.trigger("sleeper").json()["build_num"]
    deadline = time.monotonic() + 10
    # Wait for the step's first line: a cancel landing between a node's session opening and
    # its step's process starting is not seen by that process (an engine race, reported).
    while not api.build(number)["steps"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with api.client.stream("GET", f"{PROJECT}/{number}/output/0/0", headers=TEXT) as live:
        assert next(live.iter_text()).startswith("started")  # then stop following
    response = api.client.post(f"{PROJECT}/{number}/cancel")
    assert response.status_code == 200
    done = api.wait(number, timeout=15)
    assert (done["status"], done["outcome"], done["canceled"]) == ("canceled", "canceled", True)


def test_concurrent_triggers_all_run_with_bounded_concurrency(api: Api) -> None:
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def fire() -> None:
        with httpx.Client(base_url=api.url, auth=(TOKEN, ""), timeout=30) as client:
            response = client.post(f"{PROJECT}/tree/main", data={"build_parameters[FOO]": "c"})
        with lock:
            results.append(response)

    threads = [threading.Thread(target=fire) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [201] * 8
    numbers = sorted(r.json()["build_num"] for r in results)
    assert len(set(numbers)) == 8
    done = [api.wait(n) for n in numbers]
    assert {d["status"] for d in done} == {"success"}
    for d in done:
        assert api.log(d["build_num"]) == f"build {d['build_num']} FOO=c FROM_CONFIG=config-value\n"
    spans = [(d["start_time"], d["stop_time"]) for d in done]
    most = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert most <= 2  # --concurrency defaults to 2


def test_recent_builds_list(api: Api) -> None:
    first = api.trigger().json()["build_num"]
    second = api.trigger("deploy_production").json()["build_num"]
    api.wait(first)
    api.wait(second)
    listed = api.client.get(PROJECT).json()
    assert [b["build_num"] for b in listed[:2]] == [second, first]


def test_cancel_a_queued_job_before_it_starts(
    start_api: Callable[..., Api], project: Path
) -> None:
    api = start_api(project, concurrency=1)
    blocker = api.trigger("slow").json()["build_num"]
    waiting = api.trigger("deploy_production").json()["build_num"]
    assert api.build(waiting)["status"] == "queued"
    response = api.client.post(f"{PROJECT}/{waiting}/cancel")
    assert (response.status_code, response.json()["status"]) == (200, "canceled")
    assert api.wait(blocker)["status"] == "success"
    time.sleep(0.2)
    done = api.build(waiting)
    assert (done["status"], done["start_time"], done["steps"]) == ("canceled", None, [])


def test_projects_are_found_by_remote_or_directory_name(
    start_api: Callable[..., Api], project: Path, tmp_path: Path
) -> None:
    from tests.support import make_project

    other = make_project(
        tmp_path / "elsewhere" / "Gadget", "version: 2\njobs:\n  build:\n    machine: true\n"
        "    steps:\n      - run: echo gadget $CIRCLE_PROJECT_REPONAME\n", remote=None,
    )
    api = start_api(project, other)
    widget = api.client.post("/api/v1.1/project/gh/ACME/Widget/tree/main")  # case-insensitive
    gadget = api.client.post("/api/v1.1/project/bitbucket/anyone/gadget/tree/main")
    assert (widget.status_code, gadget.status_code) == (201, 201)
    assert api.client.post("/api/v1.1/project/gh/other/widget/tree/main").status_code == 404
    done = api.client.get(f"/api/v1.1/project/bb/x/gadget/{gadget.json()['build_num']}")
    assert done.status_code == 200
    deadline = time.monotonic() + 20
    path = f"/api/v1.1/project/bb/x/gadget/{gadget.json()['build_num']}"
    while api.client.get(path).json()["lifecycle"] != "finished":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert output_text(api.client.get(f"{path}/output/0/0")) == "gadget Gadget\n"
    # both share the test's state directory: each project still sees only its own builds
    assert api.client.get(f"{PROJECT}/{gadget.json()['build_num']}").status_code == 404
    assert [b["job_name"] for b in api.client.get(PROJECT).json()] == ["build"]
    api.wait(widget.json()["build_num"])


def test_a_config_broken_while_queued_fails_the_run_not_the_server(
    start_api: Callable[..., Api], project: Path
) -> None:
    api = start_api(project, concurrency=1)
    blocker = api.trigger("slow").json()["build_num"]
    queued = api.trigger("deploy_production").json()["build_num"]
    deadline = time.monotonic() + 10
    while api.build(blocker)["status"] != "running":  # its config is loaded by now
        assert time.monotonic() < deadline
        time.sleep(0.02)
    (project / ".circleci" / "config.yml").write_text("version: 2\njobs: [broken\n")
    assert api.wait(blocker)["status"] == "success"
    done = api.wait(queued)
    assert (done["status"], done["outcome"], done["lifecycle"]) == ("failed", "failed", "finished")
    assert "config.yml" in done["messages"][0]
    store = api.server.service.index.projects[0].store
    assert store.run(done["run"]).status == "errored"  # type: ignore[union-attr]

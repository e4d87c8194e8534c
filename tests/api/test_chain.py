"""sample_projects/api-chain: build (2 nodes) whose deploy step triggers deploy_docker by curl."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.api.conftest import TOKEN, Api, output_text
from tests.support import make_project, run_cli

SAMPLE = Path(__file__).resolve().parents[2] / "sample_projects" / "api-chain"
V1 = "/api/v1.1/project/github/acme/api-chain"


def test_build_triggers_exactly_one_deploy_docker(
    start_api: Callable[..., Api], tmp_path: Path
) -> None:
    target = tmp_path / "api-chain"
    shutil.copytree(SAMPLE, target)
    config = (target / ".circleci" / "config.yml").read_text()
    project = make_project(target, config, remote="git@github.com:acme/api-chain.git")
    api = start_api(project)
    done = subprocess.run(
        ["curl", "-sS", "-u", f"{TOKEN}:", "-X", "POST", f"{api.url}{V1}/tree/main"],
        capture_output=True, text=True, check=True, timeout=30,
    )
    build = json.loads(done.stdout)
    assert build["job_name"] == "build" and build["parallel"] == 2

    deadline = time.monotonic() + 30
    while True:
        listed = api.client.get(V1).json()
        finished = [b for b in listed if b["lifecycle"] == "finished"]
        if len(finished) == len(listed) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    names = sorted(b["job_name"] for b in listed)
    assert names == ["build", "deploy_docker"], listed  # the deploy step ran once
    assert {b["status"] for b in listed} == {"success"}
    deploy = next(b for b in listed if b["job_name"] == "deploy_docker")
    assert deploy["vcs_revision"] == build["vcs_revision"]  # revision=$CIRCLE_SHA1

    detail = api.client.get(f"{V1}/{build['build_num']}").json()
    trigger_step = next(s for s in detail["steps"] if s["name"] == "Trigger deploy_docker")
    statuses = {a["index"]: a["status"] for a in trigger_step["actions"]}
    assert statuses == {0: "success", 1: "not_run"}  # deploy steps run on node 0 only
    log = output_text(api.client.get(trigger_step["actions"][0]["output_url"]))
    assert log == "deploy_docker triggered: HTTP 201\n"
    deploy_log = output_text(api.client.get(f"{V1}/{deploy['build_num']}/output/1/0"))
    assert deploy_log == (
        f"deploy_docker: image app:1.4.2 from {build['vcs_revision']} "
        f"(job {deploy['build_num']})\n"
    )
    for action in trigger_step["actions"]:  # the callback token never shows
        assert TOKEN not in api.client.get(action["output_url"]).text
    # the CLI reads the same history: two API runs, and their logs
    table = run_cli(["history"], project).stdout.splitlines()
    assert [line.split()[1:3] for line in table[1:]] == [["passed", "api"], ["passed", "api"]]
    logs = run_cli(["logs", str(deploy["run"]), "deploy_docker", "--step", "1"], project)
    assert logs.stdout == deploy_log

"""Issue 14 through the API: a token holder chooses only among the build parameters the project
allows, a browser page cannot trigger a job, and a step's output is served without terminal
control."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from runner.api.server import ApiServer, ServeOptions
from runner.errors import UsageError
from tests.api.conftest import PROJECT, TOKEN, Api
from tests.support import make_project

# The config mentions every dangerous name, as real configs do (PYTHONPATH: src): being
# mentioned must not make them settable.
CONFIG = """
version: 2.1
parameters:
  release-channel:
    type: string
    default: beta
jobs:
  build:
    machine: true
    parameters:
      flavour:
        type: string
        default: plain
    environment:
      PYTHONPATH: src
      FROM_CONFIG: config-value
    steps:
      - run: |
          git init -q . && git status > /dev/null
          echo "MENTIONED=$MENTIONED BRACED=${BRACED} EXTRA=$EXTRA_ALLOWED"
          echo "$GIT_SSH_COMMAND $NODE_OPTIONS $PERL5OPT $LD_PRELOAD $GIT_CONFIG_COUNT"
      - save_cache:
          key: v1-{{ .Environment.CACHE_SALT }}
          paths: [x]
  hostile:
    machine: true
    steps:
      - run: printf 'A\\033]52;c;ZXZpbA==\\007B\\033[6nC\\033[1A\\033[2KD\\302\\2336nE\\033[31mF\\033[0m\\n'
workflows:
  main:
    jobs: [build, hostile]
"""
HOST_CODE = {
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "core.fsmonitor",
    "GIT_CONFIG_VALUE_0": "touch pwned; false",
    "GIT_SSH_COMMAND": "touch pwned",
    "PYTHONPATH": "/tmp/evil",
    "NODE_OPTIONS": "--require /tmp/evil.js",
    "PERL5OPT": "-Mevil",
    "BASH_FUNC_x%%": "() { touch pwned; }",
    "LD_PRELOAD": "/tmp/evil.so",
}


@pytest.fixture
def hostile_api(start_api: Callable[..., Api], tmp_path: Path) -> Api:
    project = make_project(tmp_path / "widget", CONFIG)
    return start_api(project, allow_parameters=("EXTRA_ALLOWED",))


@pytest.mark.parametrize("name", list(HOST_CODE))
def test_each_host_code_name_is_refused_even_when_the_config_mentions_it(
    hostile_api: Api, name: str
) -> None:
    response = hostile_api.trigger("build", **{name: HOST_CODE[name]})
    assert response.status_code == 400, response.text
    assert name in response.json()["message"]
    assert hostile_api.client.get(PROJECT).json() == []  # nothing was queued
    assert not (hostile_api.project / "pwned").exists()


def test_the_git_fsmonitor_trio_together_is_refused(hostile_api: Api) -> None:
    trio = {k: v for k, v in HOST_CODE.items() if k.startswith("GIT_CONFIG")}
    response = hostile_api.trigger("build", **trio)
    assert response.status_code == 400, response.text
    assert "GIT_CONFIG_COUNT" in response.json()["message"]


def test_only_names_the_config_mentions_or_the_server_allows_are_accepted(
    hostile_api: Api,
) -> None:
    response = hostile_api.trigger("build", UNMENTIONED="x")
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert "UNMENTIONED" in message and "--allow-parameter UNMENTIONED" in message

    allowed = {"MENTIONED": "m", "BRACED": "b", "EXTRA_ALLOWED": "e", "CACHE_SALT": "s",
               "FROM_CONFIG": "api", "release_channel": "x", "flavour": "y"}
    response = hostile_api.trigger("build", **allowed)
    # release-channel is not a variable name; its form with '_' is not what the config declares
    assert response.status_code == 400 and "release_channel" in response.json()["message"]
    del allowed["release_channel"]
    response = hostile_api.trigger("build", **allowed)
    assert response.status_code == 201, response.text
    done = hostile_api.wait(response.json()["build_num"])
    assert done["status"] == "success", done
    assert "MENTIONED=m BRACED=b EXTRA=e\n" in hostile_api.log(done["build_num"])


def test_allow_parameter_cannot_name_host_code(tmp_path: Path) -> None:
    project = make_project(tmp_path / "widget", CONFIG)
    for name in ("PYTHONPATH", "GIT_SSH_COMMAND", "LD_PRELOAD", "NODE_OPTIONS", "X-Y"):
        with pytest.raises(UsageError, match=name):
            ApiServer(
                ServeOptions(port=0, projects=(project,), token=TOKEN, allow_parameters=(name,)),
                environ={}, cwd=project,
            )


def test_a_browser_preflight_gets_no_cors_permission(hostile_api: Api) -> None:
    for headers in (
        {},  # a page cannot know the token
        {"Circle-Token": TOKEN},  # nor would a preflight carry it
    ):
        response = hostile_api.client.options(
            f"{PROJECT}/tree/main",
            headers={
                "Origin": "https://evil.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "circle-token, content-type",
                **headers,
            },
        )
        assert response.status_code in (401, 405), response.status_code
        assert not any(k.lower().startswith("access-control-") for k in response.headers)
    # A simple cross-site form post (no preflight) carries no token either: refused.
    response = hostile_api.client.post(
        f"{PROJECT}/tree/main", headers={"Origin": "https://evil.example", "Circle-Token": ""},
        data={"build_parameters[CIRCLE_JOB]": "build"},
    )
    assert response.status_code == 401
    assert "access-control-allow-origin" not in response.headers
    assert hostile_api.client.get(PROJECT).json() == []


def test_step_output_is_served_without_terminal_control(hostile_api: Api) -> None:
    response = hostile_api.trigger("hostile")
    assert response.status_code == 201, response.text
    done = hostile_api.wait(response.json()["build_num"])
    assert done["status"] == "success", done
    assert hostile_api.log(done["build_num"]) == "ABCDE\x1b[31mF\x1b[0m\n"

"""A trigger that names a commit builds that commit, never the working tree (issue 16 item 1).

The project has two commits and an uncommitted change: each trigger's job prints the file the
checkout gave it, ``CIRCLE_SHA1`` and ``git rev-parse HEAD`` inside the job, so the log says
which tree ran and under which name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.api.conftest import Api
from tests.support import git, make_project

CONFIG = """
version: 2.1
parameters:
  unused:
    type: string
    default: ""
jobs:
  build:
    machine: true
    steps:
      - checkout
      - run: echo "$(cat version.txt) $CIRCLE_SHA1 $(git rev-parse HEAD) $CIRCLE_BRANCH"
workflows:
  main:
    jobs: [build]
"""
V1 = "/api/v1.1/project/github/acme/widget"
V2 = "/api/v2/project/gh/acme/widget"


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str, str]:
    """(project, first commit, second commit); the working tree has a third, uncommitted text."""
    root = make_project(tmp_path / "widget", CONFIG, {"version.txt": "one\n"})
    first = git(root, "rev-parse", "HEAD")
    (root / "version.txt").write_text("two\n")
    git(root, "commit", "-qam", "two")
    second = git(root, "rev-parse", "HEAD")
    git(root, "tag", "v1.0", first)
    git(root, "branch", "old", first)
    (root / "version.txt").write_text("uncommitted\n")
    return root, first, second


def _log_of_v1(api: Api, number: int) -> str:
    done = api.wait(number)
    assert done["status"] == "success", done
    return api.log(number, step=1)


def test_revision_builds_that_commit_and_says_so(
    start_api: Callable[..., Api], repo: tuple[Path, str, str]
) -> None:
    root, first, second = repo
    api = start_api(root)
    older = api.client.post(f"{V1}/tree/main", data={"revision": first[:8]})
    assert older.status_code == 201, older.text
    assert older.json()["vcs_revision"] == first
    assert _log_of_v1(api, older.json()["build_num"]) == f"one {first} {first} main\n"

    head = api.client.post(f"{V1}/tree/main", json={"revision": "HEAD"})
    assert _log_of_v1(api, head.json()["build_num"]) == f"two {second} {second} main\n"

    # no revision: the working tree, uncommitted change included (runner run's behaviour)
    tree = api.client.post(f"{V1}/tree/main")
    assert _log_of_v1(api, tree.json()["build_num"]) == f"uncommitted {second} {second} main\n"
    assert (root / "version.txt").read_text() == "uncommitted\n"  # never touched
    assert not list((api.server.service.index.projects[0].state_root / "sources").glob("*"))


@pytest.mark.parametrize("revision", ["0123456789abcdef", "no-such-ref", "--output=x"])
def test_unknown_revision_is_a_400_naming_it_and_queues_nothing(
    start_api: Callable[..., Api], repo: tuple[Path, str, str], revision: str
) -> None:
    api = start_api(repo[0])
    response = api.client.post(f"{V1}/tree/main", data={"revision": revision})
    assert response.status_code == 400
    assert response.json() == {"message": f"revision {revision} is not a commit of this repository"}
    assert api.client.get(V1).json() == []
    pipeline = api.client.post(f"{V2}/pipeline", json={"checkout_sha": revision})
    assert pipeline.status_code == 400 and revision in pipeline.json()["message"]
    assert api.client.get(f"{V2}/pipeline").json()["items"] == []


def _v2_log(api: Api, body: dict[str, str]) -> str:
    created = api.client.post(f"{V2}/pipeline", json=body)
    assert created.status_code == 201, created.text
    (workflow,) = api.client.get(f"/api/v2/pipeline/{created.json()['id']}/workflow").json()[
        "items"
    ]
    (job,) = api.client.get(f"/api/v2/workflow/{workflow['id']}/job").json()["items"]
    api.wait(job["job_number"])
    return api.log(job["job_number"], step=1)


def test_v2_checkout_sha_tag_and_other_branch_select_their_commit(
    start_api: Callable[..., Api], repo: tuple[Path, str, str]
) -> None:
    root, first, second = repo
    api = start_api(root)
    assert _v2_log(api, {"checkout_sha": first, "branch": "main"}) == \
        f"one {first} {first} main\n"
    assert _v2_log(api, {"branch": "old"}) == f"one {first} {first} old\n"
    assert _v2_log(api, {"branch": "main"}) == f"uncommitted {second} {second} main\n"
    # a branch this repository does not have only labels the working tree (filters)
    assert _v2_log(api, {"branch": "elsewhere"}) == f"uncommitted {second} {second} elsewhere\n"


def test_v2_tag_selects_the_tag_commit(
    start_api: Callable[..., Api], tmp_path: Path, repo: tuple[Path, str, str]
) -> None:
    root, _first, _second = repo
    config = CONFIG.replace("jobs: [build]", "jobs: [{build: {filters: {tags: {only: /.*/}}}}]")
    (root / ".circleci" / "config.yml").write_text(config.lstrip())
    git(root, "commit", "-qm", "tags too", "--", ".circleci/config.yml")
    api = start_api(root)
    # the tag's commit has the first config, which has no tag filter: nothing runs for it
    created = api.client.post(f"{V2}/pipeline", json={"tag": "v1.0"})
    assert created.status_code == 201, created.text
    assert api.client.get(f"/api/v2/pipeline/{created.json()['id']}/workflow").json()[
        "items"
    ] == []
    git(root, "tag", "-f", "v2.0", "HEAD")
    log = _v2_log(api, {"tag": "v2.0"})
    head = git(root, "rev-parse", "HEAD")
    assert log == f"two {head} {head} \n"

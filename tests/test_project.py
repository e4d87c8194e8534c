"""Git facts of the project, as CircleCI would know them about the commit."""

from __future__ import annotations

from pathlib import Path

from runner.project import Project
from tests.support import git, make_project


def facts(root: Path) -> tuple[str, str, str, bool]:
    g = Project(root=root, config_path=root / ".circleci" / "config.yml").git
    return g.branch, g.sha, g.tag, g.in_git


def test_branch_commit_and_tag(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", "version: 2\njobs: {}\n")
    sha = git(root, "rev-parse", "HEAD")
    assert facts(root) == ("main", sha, "", True)
    git(root, "tag", "v1.0")
    assert facts(root) == ("main", sha, "v1.0", True)


def test_detached_head_has_no_branch(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", "version: 2\njobs: {}\n")
    git(root, "checkout", "-q", "--detach")
    assert facts(root)[0] == "" and len(facts(root)[1]) == 40


def test_no_commits_yet_and_no_repository(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", "version: 2\njobs: {}\n", commit=False)
    assert facts(root) == ("main", "", "", True)
    plain = tmp_path / "plain"
    plain.mkdir()
    assert facts(plain) == ("", "", "", False)


def test_remote_gives_username_and_reponame(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "p", "version: 2\njobs: {}\n", remote="https://github.com/acme/rocket.git"
    )
    g = Project(root=root, config_path=root).git
    assert (g.username, g.reponame, g.remote_url) == (
        "acme",
        "rocket",
        "https://github.com/acme/rocket.git",
    )


def test_overrides(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", "version: 2\njobs: {}\n")
    project = Project(root=root, config_path=root).with_refs(tag="v2")
    assert (project.git.branch, project.git.tag) == ("", "v2")  # tag pipelines have no branch

"""The project being run: its directory, config file and git facts (branch, sha, tag, remote).

Git is asked once per fact, lazily, through ``git`` itself, so that worktrees, packed refs and
``GIT_DIR`` all behave as the user's own git does.
"""

from __future__ import annotations

import re
import subprocess
from functools import cached_property
from pathlib import Path

from msgspec import Struct
from msgspec.structs import replace

from runner.errors import ConfigError, ConfigProblem, UsageError

CONFIG_RELATIVE = Path(".circleci") / "config.yml"
_REMOTE = re.compile(r"(?:[:/])(?P<user>[^/:]+)/(?P<repo>[^/]+?)(?:\.git)?/?$")


def _git(cwd: Path, *args: str) -> str | None:
    return _git_all(cwd, args)[0]


def _git_all(cwd: Path, *commands: tuple[str, ...]) -> list[str | None]:
    """Run git commands at once (each costs ~3 ms, mostly git's own start); the output of each,
    or None when it failed."""
    started: list[subprocess.Popen[str] | None] = []
    for args in commands:
        try:
            started.append(subprocess.Popen(
                ["git", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL, text=True,
            ))
        except OSError:
            started.append(None)
    out: list[str | None] = []
    for proc in started:
        if proc is None:
            out.append(None)
            continue
        try:
            stdout, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            out.append(None)
            continue
        out.append(stdout.strip() if proc.returncode == 0 else None)
    return out


class GitFacts(Struct, frozen=True):
    """What CircleCI would know about the commit being built."""

    branch: str
    sha: str
    tag: str
    remote_url: str
    username: str
    reponame: str
    in_git: bool


# ``dict=True``: ``git`` is a cached_property, which keeps its answer in an instance dict.
class Project(Struct, frozen=True, kw_only=True, dict=True):
    root: Path  # the project directory (git top level by default)
    config_path: Path
    branch_override: str | None = None
    tag_override: str | None = None
    revision_override: str | None = None

    @property
    def config_display(self) -> str:
        """The config's path as shown in messages: relative to the cwd when it lies below it."""
        try:
            return str(self.config_path.relative_to(Path.cwd()))
        except ValueError:
            return str(self.config_path)

    @cached_property
    def git(self) -> GitFacts:
        # One call answers branch and revision when HEAD has a commit (tag and remote are asked
        # at the same time); a repository without commits, or no repository, needs more calls.
        both, tags, origin = _git_all(
            self.root,
            ("rev-parse", "HEAD", "--symbolic-full-name", "HEAD"),
            ("tag", "--points-at", "HEAD"),
            ("config", "--get", "remote.origin.url"),
        )
        if both is not None:
            sha, _, ref = both.partition("\n")
            in_git = True
            branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else ""
        else:
            branch = _git(self.root, "symbolic-ref", "--short", "-q", "HEAD") or ""
            in_git = bool(branch) or _git(self.root, "rev-parse", "--git-dir") is not None
            sha = ""
        tag = ""
        if in_git and sha and self.tag_override is None and tags:
            tag = tags.splitlines()[0]
        remote = (origin or "") if in_git else ""
        match = _REMOTE.search(remote)
        username = match.group("user") if match else ""
        reponame = match.group("repo") if match else self.root.name
        if self.tag_override is not None:
            tag = self.tag_override
            branch = ""  # tag pipelines have no branch [PV]
        if self.branch_override is not None:
            branch = self.branch_override
        return GitFacts(
            branch=branch,
            sha=self.revision_override or sha,
            tag=tag,
            remote_url=remote,
            username=username,
            reponame=reponame,
            in_git=in_git,
        )

    def with_refs(
        self, *, branch: str | None = None, tag: str | None = None, revision: str | None = None
    ) -> Project:
        return replace(
            self,
            branch_override=branch if branch is not None else self.branch_override,
            tag_override=tag if tag is not None else self.tag_override,
            revision_override=revision if revision is not None else self.revision_override,
        )


def find_project(
    *, config: Path | None = None, project_dir: Path | None = None, cwd: Path | None = None
) -> Project:
    """``-C DIR`` or the git top level of the cwd (else the cwd); ``-c FILE`` or the usual path."""
    here = (cwd or Path.cwd()).resolve()
    if project_dir is not None:
        root = (here / project_dir).resolve()
        if not root.is_dir():
            raise UsageError(f"project directory {project_dir} does not exist")
    else:
        top = _git(here, "rev-parse", "--show-toplevel")
        root = Path(top) if top else here
        if config is None and not (root / CONFIG_RELATIVE).is_file():
            # Not at the top level: a project may live in a subdirectory of a larger repo.
            for candidate in (here, *here.parents):
                if (candidate / CONFIG_RELATIVE).is_file():
                    root = candidate
                    break
                if candidate == root:
                    break
    config_path = (here / config).resolve() if config is not None else root / CONFIG_RELATIVE
    if not config_path.is_file():
        shown = config if config is not None else CONFIG_RELATIVE
        raise ConfigError(
            [
                ConfigProblem(
                    None,
                    "",
                    f"no config file at {shown} (looked in {root})",
                    "run runner in a project with .circleci/config.yml, or pass -c FILE / -C DIR",
                )
            ]
        )
    return Project(root=root, config_path=config_path)

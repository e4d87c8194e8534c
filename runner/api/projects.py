"""The projects a server answers for, found by the ``{org}/{repo}`` of CircleCI's URLs.

Each ``--project DIR`` is matched by its git remote's owner and name (as CircleCI knows it),
case-insensitively as GitHub and Bitbucket do; a project without a remote is matched by its
directory name, whatever the org.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from msgspec import Struct

from runner.errors import UsageError
from runner.project import find_project
from runner.store.history import HistoryStore
from runner.store.state import StateDir, resolve_root

# CircleCI's vcs names in v1.1 paths and v2 slugs [APIV1][APIDEV], to the short form.
VCS = {"github": "gh", "gh": "gh", "bitbucket": "bb", "bb": "bb"}


class ServedProject(Struct, frozen=True):
    root: Path
    org: str  # empty when the project has no remote
    repo: str
    vcs_url: str
    state_root: Path
    state_override: Path | None  # --state-dir, passed on to every run
    vcs: str = "gh"  # "bb" when the remote is on Bitbucket; "" without a remote (either)

    @property
    def store(self) -> HistoryStore:
        return HistoryStore.for_state(self.state_root)

    @property
    def state(self) -> StateDir:
        return StateDir(self.state_root)

    def slug(self, vcs: str = "") -> str:
        short = VCS.get(vcs, vcs) or self.vcs or "gh"
        return f"{short}/{self.org or 'local'}/{self.repo}"


def served_project(
    directory: Path | None, state_dir: Path | None, environ: Mapping[str, str], cwd: Path
) -> ServedProject:
    """``--project DIR``, or (None) the project of ``cwd`` as ``runner run`` finds it."""
    project = find_project(project_dir=directory, cwd=cwd)
    git = project.git
    org = git.username if git.remote_url else ""
    return ServedProject(
        root=project.root,
        org=org,
        repo=git.reponame or project.root.name,
        vcs_url=_https(git.remote_url),
        state_root=resolve_root(project.root, state_dir, environ),
        state_override=state_dir,
        vcs=_vcs_of(git.remote_url),
    )


def _vcs_of(remote: str) -> str:
    """A ``bitbucket/...`` URL finds a project whose remote is on Bitbucket, a ``github/...``
    one any other remote (CircleCI knows only these two in v1.1 paths), both a project without
    a remote."""
    if not remote:
        return ""
    return "bb" if "bitbucket" in remote.lower() else "gh"


def _https(remote: str) -> str:
    """``git@github.com:org/repo.git`` -> ``https://github.com/org/repo``, as CircleCI shows."""
    if remote.startswith("git@") and ":" in remote:
        host, _, path = remote[4:].partition(":")
        remote = f"https://{host}/{path}"
    return remote.removesuffix(".git")


class ProjectIndex:
    def __init__(self, projects: Sequence[ServedProject]) -> None:
        self.projects = tuple({p.root: p for p in projects}.values())  # a directory once
        seen: dict[tuple[str, str], Path] = {}
        for p in self.projects:
            key = (p.org.lower(), p.repo.lower())
            if key in seen and seen[key] != p.root:
                raise UsageError(
                    f"two projects answer to {p.org}/{p.repo}: {seen[key]} and {p.root}"
                )
            seen[key] = p.root

    def find(self, vcs: str, org: str, repo: str) -> ServedProject | None:
        short = VCS.get(vcs.lower())
        if short is None:
            return None
        org, repo = org.lower(), repo.lower()
        for p in self.projects:
            if p.repo.lower() == repo and p.org.lower() == org and p.vcs in (short, ""):
                return p
        for p in self.projects:  # no remote: the directory name alone identifies it
            if not p.org and p.repo.lower() == repo:
                return p
        return None

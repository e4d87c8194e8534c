"""Building the commit a trigger names: v1.1 ``revision``, v2 ``checkout_sha``, and a ``tag`` or
``branch`` that names a commit of the repository [APIV1][APIDEV].

CircleCI builds the commit a trigger names, never anyone's working tree. So does runner: the
commit is cloned from the project's repository (a local clone, which hard-links git's objects)
into ``<state>/sources/<pid>-<id>/<repo>``, checked out there (detached), and the run uses that
directory as its project: the config, the ``checkout`` step, ``CIRCLE_SHA1`` and
``pipeline.git.revision`` all come from that commit. The clone is removed when the run ends.

Without a revision, the working tree is built, as ``runner run`` does: also for a ``branch`` that
is the one checked out (the work in progress before a push), and for a branch or tag this
repository does not have (a label for the config's filters, like ``runner run --branch``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

from msgspec import Struct

from runner.api.errors import ApiError, bad_request
from runner.api.projects import ServedProject
from runner.store.recorder import pid_alive

SOURCES = "sources"  # below the state directory
GIT_TIMEOUT = 120.0


class Source(Struct, frozen=True):
    sha: str  # the full commit id
    directory: Path  # the project directory inside the clone
    clone: Path  # what to remove once the run is over


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT,
            stdin=subprocess.DEVNULL, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def resolve(root: Path, ref: str) -> str | None:
    """The full id of the commit ``ref`` names in the repository of ``root``, or None."""
    if not ref or ref.startswith("-"):
        return None  # never an option of git's
    return _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")


def current_branch(root: Path) -> str:
    return _git(root, "symbolic-ref", "--short", "-q", "HEAD") or ""


def select(
    project: ServedProject, *, revision: str | None, tag: str | None, branch: str | None
) -> str | None:
    """The commit a trigger selects, or None for the working tree. An unknown ``revision`` is
    a 400 naming it: building something else under its name would be a lie."""
    root = project.root
    if revision:
        sha = resolve(root, revision)
        if sha is None:
            if _git(root, "rev-parse", "--git-dir") is None:
                raise bad_request(f"revision {revision}: the project is not a git repository")
            raise bad_request(f"revision {revision} is not a commit of this repository")
        return sha
    if tag:
        return resolve(root, f"refs/tags/{tag}")
    if branch and branch != current_branch(root):
        return resolve(root, f"refs/heads/{branch}")
    return None


def materialize(project: ServedProject, sha: str, tag: str | None = None) -> Source:
    """A clean tree of commit ``sha``, with the project's remote, outside the working tree.

    The clone has no tags but ``tag``: a tag on the commit must not turn a branch pipeline
    into a tag pipeline (runner.project reads the tag of HEAD)."""
    top_text = _git(project.root, "rev-parse", "--show-toplevel")
    if top_text is None:
        raise bad_request("the project is not a git repository: a revision cannot be built")
    top = Path(top_text)
    prefix = _git(project.root, "rev-parse", "--show-prefix") or ""
    clone = project.state_root / SOURCES / f"{os.getpid()}-{uuid.uuid4().hex}"
    tree = clone / top.name  # the directory name is CIRCLE_PROJECT_REPONAME without a remote
    clone.mkdir(parents=True)
    steps: list[tuple[Path, tuple[str, ...]]] = [
        (clone, ("clone", "--quiet", "--no-checkout", "--no-tags", "--", str(top), str(tree))),
        (tree, ("-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", sha)),
    ]
    if tag:
        steps.append((tree, ("tag", "--", tag, sha)))
    origin = _git(top, "config", "--get", "remote.origin.url")
    if origin:
        steps.append((tree, ("remote", "set-url", "origin", origin)))
    else:
        steps.append((tree, ("remote", "remove", "origin")))
    for cwd, args in steps:
        if _git(cwd, *args) is None:
            discard(clone)
            raise ApiError(500, f"could not check out commit {sha} (git {args[0]} failed)")
    return Source(sha=sha, directory=tree / prefix if prefix else tree, clone=clone)


def discard(clone: Path) -> None:
    shutil.rmtree(clone, ignore_errors=True)


def sweep(project: ServedProject, *, own: bool) -> None:
    """Remove this process's clones of the project (``own``: the server stops), or those of
    processes that are gone (it starts). Another server of the same project keeps its own."""
    base = project.state_root / SOURCES
    try:
        clones = list(base.iterdir())
    except OSError:
        return
    for clone in clones:
        pid_text = clone.name.partition("-")[0]
        pid = int(pid_text) if pid_text.isdigit() else 0
        if (pid == os.getpid()) if own else not pid_alive(pid):
            discard(clone)


def clone_of(project: ServedProject, directory: Path | None) -> Path | None:
    """The clone a run's project directory lies in, if it is one of ours."""
    if directory is None:
        return None
    base = project.state_root / SOURCES
    try:
        relative = directory.relative_to(base)
    except ValueError:
        return None
    return base / relative.parts[0] if relative.parts else None

"""Helpers for tests: throwaway git projects, running runner in-process or as a process."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from runner.events import Event, JobFinished, StepFinished, StepOutput, StepStarted
from runner.run_types import RunResult


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.invalid",
        },
    ).stdout.strip()


def make_project(
    root: Path,
    config: str,
    files: Mapping[str, str] | None = None,
    *,
    commit: bool = True,
    branch: str = "main",
    remote: str | None = "git@github.com:acme/widget.git",
) -> Path:
    """A git repository with ``.circleci/config.yml`` (dedented) and some files, committed."""
    root.mkdir(parents=True, exist_ok=True)
    (root / ".circleci").mkdir(exist_ok=True)
    (root / ".circleci" / "config.yml").write_text(textwrap.dedent(config).lstrip("\n"))
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(root, "init", "-q", "-b", branch)
    if remote:
        git(root, "remote", "add", "origin", remote)
    if commit:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "init")
    return root


@dataclass
class Collected:
    """Events of one in-process run, with lookups tests need."""

    events: list[Event] = field(default_factory=list)
    result: RunResult | None = None

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def output(self, job: str | None = None, node: int | None = None) -> list[str]:
        return [
            e.text
            for e in self.events
            if isinstance(e, StepOutput)
            and (job is None or e.job == job)
            and (node is None or e.node == node)
        ]

    def steps(self, job: str | None = None, node: int | None = None) -> list[StepFinished]:
        return [
            e
            for e in self.events
            if isinstance(e, StepFinished)
            and (job is None or e.job == job)
            and (node is None or e.node == node)
        ]

    def step(self, name: str, job: str | None = None, node: int | None = None) -> StepFinished:
        found = [s for s in self.steps(job, node) if s.name == name]
        assert len(found) == 1, (
            f"{len(found)} steps named {name!r}: {[s.name for s in self.steps()]}"
        )
        return found[0]

    def started(self) -> list[StepStarted]:
        return [e for e in self.events if isinstance(e, StepStarted)]

    def job_status(self, job: str) -> str:
        found = [e for e in self.events if isinstance(e, JobFinished) and e.job == job]
        assert found, f"job {job} never finished"
        return found[-1].status.value


def run_in_process(project: Path, **request_fields: object) -> Collected:
    """Run through ``runflow.run`` (the CLI's core call) and collect every event."""
    from runner import runflow

    collected = Collected()
    project_fields = {
        k: request_fields.pop(k)
        for k in list(request_fields)
        if k in ("branch", "tag", "params", "config", "orb_dir", "state_dir", "offline", "orb_host")
    }
    request = runflow.RunRequest(
        project=runflow.ProjectRequest(project_dir=project, **project_fields),  # type: ignore[arg-type]
        **request_fields,  # type: ignore[arg-type]
    )
    collected.result = runflow.run(request, subscribers=[collected], cwd=project)
    return collected


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(
    args: Sequence[str],
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    stdin: str | None = None,
) -> CliResult:
    """``python -m runner ARGS`` as a real process, as a user would run it."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "runner", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        check=False,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


PODMAN_HOST = "unix:///run/podman/podman.sock"  # where .ci/podman-up.sh starts the service


def podman_host() -> str:
    return os.environ.get("RUNNER_PODMAN_HOST") or PODMAN_HOST


def podman_available() -> bool:
    return docker_available(podman_host())


@functools.cache
def docker_available(host: str | None = None) -> bool:
    try:
        import docker

        env = dict(os.environ) if host is None else {**os.environ, "DOCKER_HOST": host}
        client = docker.from_env(timeout=15, environment=env)  # a loaded machine is slow
        client.ping()
        client.close()
    except Exception:
        return False
    return True

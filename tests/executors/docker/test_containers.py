"""The primary and service containers: entrypoints, users, HOME, services, checkout."""

from __future__ import annotations

import io
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.executors.docker.helpers import (
    BUSYBOX,
    DEBIAN,
    Run,
    docker_executor,
    docker_project,
    run_with,
)

pytestmark = pytest.mark.docker

# A service is up when it answers; the job polls, as CircleCI's docs tell users to.
WAIT_FOR = "i=0; until wget -qO- {url}; do i=$((i+1)); [ $i -lt 100 ] || exit 9; sleep 0.05; done"
UNTIL_FILE = "i=0; until [ -e {path} ]; do i=$((i+1)); [ $i -lt 100 ] || exit 9; sleep 0.05; done"
SERVE = "mkdir -p /www && echo hello $GREETING > /www/index.html && exec httpd -f -p {port} -h /www"


def run(project: Path, **fields: object) -> Run:
    return run_with(project, {"docker": docker_executor(**fields)})


def test_services_are_reachable_on_localhost_and_by_name(tmp_path: Path, no_leftovers: str) -> None:
    project = docker_project(tmp_path / "p", f"""
        steps:
          - run: |
              {WAIT_FOR.format(url="http://localhost:8080/")}
              wget -qO- http://web:8080/
              {WAIT_FOR.format(url="http://api:9090/")}
              echo "primary env=[$PRIMARY_ONLY] service env=[$GREETING]"
    """, images=f"""
        - image: {BUSYBOX}
          environment: {{PRIMARY_ONLY: not-for-steps}}
        - image: {BUSYBOX}
          name: web
          environment: {{GREETING: from-web}}
          command: [sh, -c, '{SERVE.format(port=8080)}']
        - image: {BUSYBOX}
          name: api
          environment: {{GREETING: from-api}}
          entrypoint: [sh, -c, '{SERVE.format(port=9090)}']
    """)
    result = run(project)
    assert result.output() == [
        "hello from-web",  # localhost: services share the primary's network namespace [DOCK]
        "hello from-web",  # `name:` is a host name for it [CR]
        "hello from-api",
        "primary env=[] service env=[]",  # image environment is that container's only [CR]
    ], result.output()


def test_a_failing_service_is_reported(tmp_path: Path, no_leftovers: str) -> None:
    project = docker_project(tmp_path / "p", """
        steps:
          - run: echo step
    """, images=f"""
        - image: {BUSYBOX}
        - image: {BUSYBOX}
          name: db
          command: [sh, -c, 'echo cannot start the database; exit 4']
    """)
    result = run(project)
    assert result.output() == ["step"]
    assert any(
        n.startswith("service db exited with code 4") and "cannot start the database" in n
        for n in result.notices()
    ), result.notices()


def test_primary_entrypoint_is_replaced(
    tmp_path: Path, no_leftovers: str, entrypoint_image: str
) -> None:
    project = docker_project(tmp_path / "p", """
        steps:
          - run: |
              # into a file first: under pipefail, `grep -q` quitting early fails the pipe
              cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' '\\n' > /tmp/args || true
              grep -qx 'runner-[i]nit' /tmp/args && echo "runner's keep-alive runs"
              [ ! -e /tmp/entrypoint-ran ] && echo "image entrypoint ignored"
    """, image=entrypoint_image)
    result = run(project)
    assert result.output() == ["runner's keep-alive runs", "image entrypoint ignored"]


def test_config_entrypoint_runs_and_steps_still_exec(tmp_path: Path, no_leftovers: str) -> None:
    project = docker_project(tmp_path / "p", f"""
        steps:
          - run: {UNTIL_FILE.format(path="/tmp/from-config")} && cat /tmp/from-config
    """, images=f"""
        - image: {BUSYBOX}
          entrypoint: [sh, -c, 'echo config entrypoint > /tmp/from-config; exec sleep 600']
    """)
    assert run(project).output() == ["config entrypoint"]


def test_preserve_entrypoint_label_keeps_the_image_entrypoint(
    tmp_path: Path, no_leftovers: str, preserving_image: str
) -> None:
    project = docker_project(tmp_path / "p", f"""
        steps:
          - run: {UNTIL_FILE.format(path="/tmp/entrypoint-ran")} && cat /tmp/entrypoint-ran
    """, image=preserving_image)
    assert run(project).output() == ["image entrypoint ran as root"]


@pytest.mark.parametrize(
    ("image", "user", "expected"),
    [
        (DEBIAN, "circleci", "uid=1000 home=/home/circleci pwd=/home/circleci/project"),
        (BUSYBOX, "circleci", "uid=1000 home=/home/circleci pwd=/home/circleci/project"),
        (BUSYBOX, None, "uid=0 home=/root pwd=/root/project"),
    ],
)
def test_user_home_and_working_directory(
    tmp_path: Path, no_leftovers: str, image: str, user: str | None, expected: str
) -> None:
    project = docker_project(tmp_path / "p", """
        steps:
          - run: echo "uid=$(id -u) home=$HOME pwd=$PWD"
          - run: touch "$HOME/project/writable" && ls -ld . | awk '{print $3}'
    """, images=f"- image: {image}\n" + (f"  user: {user}\n" if user else ""))
    assert run(project).output() == [expected, user or "root"]


def test_a_working_directory_the_user_may_not_enter_is_named(
    tmp_path: Path, no_leftovers: str
) -> None:
    project = docker_project(tmp_path / "p", """
        steps:
          - run: {name: private, working_directory: /root/inside, command: echo never}
          - run: {name: after, when: always, command: echo "still $(id -u) in $PWD"}
    """, images=f"- image: {BUSYBOX}\n  user: circleci\n")
    result = run(project)
    step = result.step("private")
    assert step.outcome.status.value == "failed"
    assert step.outcome.message == (
        "cannot enter the working directory /root/inside as user circleci: it cannot be "
        "created, or that user may not enter it"
    )
    assert result.output() == ["still 1000 in /home/circleci/project"]


def test_checkout_is_owned_by_the_user_and_never_touches_the_project(
    tmp_path: Path, no_leftovers: str
) -> None:
    files = {"src/app.sh": "echo app\n", "README.md": "readme\n"}
    project = docker_project(tmp_path / "p", """
        steps:
          - checkout
          - run: |
              stat -c '%U %a %n' README.md src/app.sh .circleci/config.yml
              git status --porcelain | wc -l
              echo changed > README.md && rm src/app.sh && touch new-file
    """, images=f"- image: {DEBIAN}\n  user: circleci\n", **files)
    os.chmod(project / "src" / "app.sh", 0o755)
    before = _tree(project)
    result = run(project)
    assert result.output()[-4:] == [
        "circleci 644 README.md",
        "circleci 755 src/app.sh",
        "circleci 644 .circleci/config.yml",
        "1",  # the mode change only: the copy is the working tree as it is
    ], result.output()
    assert _tree(project) == before  # what the job changed stayed in its container


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mode)
        for p in root.rglob("*")
        if p.is_file()
    }


# ------------------------------------------------------------------ images built here

ENTRYPOINT = (
    'ENTRYPOINT ["/bin/sh", "-c", "echo image entrypoint ran as $(id -un) > /tmp/entrypoint-ran; '
    'exec sleep 600"]\n'
)


def _built(dockerfile: str, name: str) -> Iterator[str]:
    import docker

    tag = f"runner-test/{name}:{uuid.uuid4().hex[:8]}"
    client = docker.from_env()
    try:
        client.images.build(
            fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True,
            labels={"com.runner.test-image": "true"},
        )
        yield tag
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)
        client.close()


@pytest.fixture(scope="module")
def entrypoint_image() -> Iterator[str]:
    yield from _built(f"FROM {BUSYBOX}\n{ENTRYPOINT}", "entrypoint")


@pytest.fixture(scope="module")
def preserving_image() -> Iterator[str]:
    label = "LABEL com.circleci.preserve-entrypoint=true\n"
    yield from _built(f"FROM {BUSYBOX}\n{label}{ENTRYPOINT}", "preserve")


def test_primary_image_environment_warns_and_reaches_steps_only_when_asked(
    tmp_path: Path, no_leftovers: str
) -> None:
    # issue 15 item 7: since 2020 the primary image's environment is its container's only
    project = docker_project(tmp_path / "p", """
        environment: {SHARED: from-job}
        steps:
          - run: echo "db=[$DATABASE_URL] shared=[$SHARED]"
    """, images=f"""
        - image: {BUSYBOX}
          environment: {{DATABASE_URL: postgres://db, SHARED: from-image}}
    """)
    current = run(project)
    assert current.output() == ["db=[] shared=[from-job]"]
    warned = [n for n in current.notices() if "DATABASE_URL" in n]
    assert len(warned) == 1 and "move it to the job's environment" in warned[0]
    assert not [n for n in current.notices() if "SHARED" in n]  # the job sets it itself
    old = run_with(project, {"docker": docker_executor()}, primary_env_to_steps=True)
    assert old.output() == ["db=[postgres://db] shared=[from-job]"]  # below the job's
    assert not [n for n in old.notices() if "DATABASE_URL" in n]
